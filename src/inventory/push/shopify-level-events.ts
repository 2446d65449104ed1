/**
 * `inventory_levels/update`: Shopify says a level changed. Shopify's payload carries only
 * `available`; where it is what the model expects (the echo of the hub's own push, an order the
 * hub has already imported) nothing happens. Otherwise the level is read before the next push:
 * absolute mode then overwrites an edit made in Shopify within the coalescing window (logged as
 * drift), delta mode records it as Shopify's own change. The scheduled drift check stays the
 * backstop for lost deliveries.
 */
import { z } from "zod";
import { yieldToEventLoop } from "../../core/clock.ts";
import type { AppContext } from "../../core/context.ts";
import { chunks } from "../../db/batching.ts";
import { claimDue, settleFailed } from "../../jobs/queue.ts";
import { INBOX_QUEUE, type InboxRunResult } from "../../orders/inbox.ts";
import { loadTargets, markStoreDirtyFor } from "./push-store.ts";
import { itemLocationKey } from "./shopify-inventory.ts";
import { expectedAvailable } from "./stock-model.ts";

export const LEVEL_TOPICS = ["inventory_levels/update"] as const;
export const LEVEL_SUBSCRIPTIONS = ["INVENTORY_LEVELS_UPDATE"] as const;

const levelPayload = z.object({
  inventory_item_id: z.union([z.number(), z.string()]),
  location_id: z.union([z.number(), z.string()]),
  available: z.number().int().nullish(),
});

export type LevelEvent = { itemGid: string; locationGid: string; available: number | null };

export function fromLevelWebhook(
  body: unknown,
): { ok: true; event: LevelEvent } | { ok: false; reason: string } {
  const r = levelPayload.safeParse(body);
  if (!r.success) {
    const first = r.error.issues[0];
    return {
      ok: false,
      reason: `not an inventory level payload: ${first?.path.join(".")} ${first?.message}`,
    };
  }
  return {
    ok: true,
    event: {
      itemGid: `gid://shopify/InventoryItem/${r.data.inventory_item_id}`,
      locationGid: `gid://shopify/Location/${r.data.location_id}`,
      available: r.data.available ?? null,
    },
  };
}

export type LevelOutcome = "ignored" | "expected" | "recheck";

/**
 * Applies level events of one store: asks for a read where Shopify's value is not the model's.
 * Batched: a full push echoes one event per item and location it set.
 */
export async function noteLevelEvents(
  ctx: AppContext,
  storeId: number,
  events: readonly LevelEvent[],
): Promise<LevelOutcome[]> {
  const db = ctx.database.db;
  const variantOf = new Map<string, number>();
  for (const part of chunks([...new Set(events.map((e) => e.itemGid))], 500)) {
    await yieldToEventLoop();
    for (const l of await db
      .selectFrom("variant_links")
      .select(["variant_id", "inventory_item_gid"])
      .where("store_id", "=", storeId)
      .where("inventory_item_gid", "in", part)
      .execute())
      variantOf.set(l.inventory_item_gid, l.variant_id);
  }
  const targets = new Map(
    (await loadTargets(db, storeId, [...new Set(variantOf.values())])).map((t) => [
      itemLocationKey(t.inventoryItemGid, t.locationGid),
      t,
    ]),
  );
  const outcomes = events.map((e): LevelOutcome => {
    if (!variantOf.has(e.itemGid)) return "ignored";
    const t = targets.get(itemLocationKey(e.itemGid, e.locationGid));
    if (!t) return "ignored"; // not a managed location
    // Only an event that matches what the hub wants Shopify to hold is skipped. An echo of an
    // older confirmed push while the stock has moved on is read like any other event: a
    // fulfillment made and cancelled in Shopify leaves `available` where the echo would (7757c14
    // skipped those, and stock-invariant's "Shopify fulfils units the hub shipped, then cancels
    // that fulfillment" ended one unit off).
    return e.available === expectedAvailable(t) && t.confirmed === t.desired ? "expected" : "recheck";
  });
  const recheck = events.filter((_, i) => outcomes[i] === "recheck");
  if (recheck.length > 0) {
    const now = ctx.clock.now();
    await db.transaction().execute(async (trx) => {
      // Per location an `IN` of items: the primary key answers it (an OR of pairs scans).
      for (const [locationGid, items] of itemsByLocation(recheck))
        for (const part of chunks(items, 500))
          await trx
            .updateTable("inventory_sync")
            .set({ recheck: 1 })
            .where("store_id", "=", storeId)
            .where("location_gid", "=", locationGid)
            .where("inventory_item_gid", "in", part)
            .execute();
      await markStoreDirtyFor(trx, storeId, [...new Set(recheck.map((e) => variantOf.get(e.itemGid)!))], now);
    });
  }
  return outcomes;
}

function itemsByLocation(events: readonly LevelEvent[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of events) {
    const list = out.get(e.locationGid);
    if (list) list.push(e.itemGid);
    else out.set(e.locationGid, [e.itemGid]);
  }
  return out;
}

/**
 * Applies due `inventory_levels/update` deliveries from the inbox, a batch per store at a time,
 * yielding between statements (a full push's echo is one delivery per level it set).
 */
export async function processLevelInbox(ctx: AppContext, limit = 5000): Promise<InboxRunResult> {
  // A batch of at most 1,000 at a time, up to `limit` a run (a full push echoes thousands a
  // second; one batch a second let the inbox fall behind by hundreds of thousands of rows).
  const total = { processed: 0, failed: 0, dead: 0 };
  while (total.processed + total.failed + total.dead < limit) {
    const r = await levelInboxBatch(ctx, Math.min(1000, limit - total.processed - total.failed - total.dead));
    total.processed += r.processed;
    total.failed += r.failed;
    total.dead += r.dead;
    if (r.processed + r.failed + r.dead === 0 || r.failed > 0) break;
    await yieldToEventLoop();
  }
  return total;
}

/** Claims of this process's level-event drains (src/jobs/queue.ts). */
const levelOwner = `levels:${process.pid}`;

async function levelInboxBatch(ctx: AppContext, limit: number): Promise<InboxRunResult> {
  const db = ctx.database.db;
  const now = ctx.clock.now();
  // Claimed like the order inbox (FOR UPDATE SKIP LOCKED on PostgreSQL), so every process may
  // drain level events at once and no two apply the same delivery.
  const claim = await claimDue(ctx.database, INBOX_QUEUE, {
    owner: levelOwner,
    now,
    limit,
    narrow: (query) => query.where("q.topic", "in", [...LEVEL_TOPICS]),
  });
  const rows = claim.items;
  if (rows.length === 0) return { processed: 0, failed: 0, dead: 0 };
  const byId = new Map(rows.map((r) => [r.id, r]));
  const byShop = new Map<string, { id: number; event: LevelEvent }[]>();
  const dead: { id: number; reason: string }[] = [];
  for (const r of rows) {
    let parsed: ReturnType<typeof fromLevelWebhook>;
    try {
      parsed = fromLevelWebhook(JSON.parse(r.body));
    } catch {
      parsed = { ok: false, reason: "body is not JSON" };
    }
    if (!parsed.ok) dead.push({ id: r.id, reason: parsed.reason });
    else {
      const list = byShop.get(r.shop) ?? [];
      list.push({ id: r.id, event: parsed.event });
      byShop.set(r.shop, list);
    }
  }
  let processed = 0;
  let failed = 0;
  for (const [shop, list] of byShop) {
    const store = await db.selectFrom("stores").select("id").where("domain", "=", shop).executeTakeFirst();
    if (!store) {
      for (const l of list) dead.push({ id: l.id, reason: `store ${shop} is not connected to the hub` });
      continue;
    }
    try {
      await noteLevelEvents(
        ctx,
        store.id,
        list.map((l) => l.event),
      );
      // Done only while the claim is still this drain's (applying an event again is harmless:
      // it only asks for a read).
      for (const part of chunks(list, 500)) {
        await yieldToEventLoop();
        await db
          .updateTable("webhook_inbox")
          .set({ status: "done", processed_at: ctx.clock.now(), last_error: null, claimed_by: null })
          .where(
            "id",
            "in",
            part.map((l) => l.id),
          )
          .where("claimed_by", "=", claim.token)
          .execute();
      }
      processed += list.length;
    } catch (err) {
      // Nothing was half-applied: the events are tried again after the inbox's backoff.
      failed += list.length;
      ctx.logger.warn(
        { shop, events: list.length, err: (err as Error).message },
        "inventory level events not applied",
      );
      for (const l of list)
        await settleFailed(db, INBOX_QUEUE, byId.get(l.id)!, claim.token, (err as Error).message, now);
    }
    await yieldToEventLoop();
  }
  for (const d of dead)
    await settleFailed(db, INBOX_QUEUE, byId.get(d.id)!, claim.token, d.reason, now, { permanent: true });
  return { processed, failed, dead: dead.length };
}
