/**
 * `inventory_levels/update`: Shopify says a level changed. Shopify's payload carries only
 * `available`; where it is what the model expects (the echo of the hub's own push, an order the
 * hub has already imported) nothing happens. Otherwise the level is read before the next push:
 * absolute mode then overwrites an edit made in Shopify within the coalescing window (logged as
 * drift), delta mode records it as Shopify's own change. The scheduled drift check stays the
 * backstop for lost deliveries.
 */
import { z } from "zod";
import type { AppContext } from "../../core/context.ts";
import { drainInbox, InboxRejection, type InboxRunResult, markInboxDone } from "../../orders/inbox.ts";
import { loadTargets, markStoreDirtyFor } from "./push-store.ts";
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

/** Applies one level event to a store: asks for a read where Shopify's value is not the model's. */
export async function noteLevelEvent(ctx: AppContext, storeId: number, e: LevelEvent): Promise<LevelOutcome> {
  const db = ctx.database.db;
  const link = await db
    .selectFrom("variant_links")
    .select("variant_id")
    .where("store_id", "=", storeId)
    .where("inventory_item_gid", "=", e.itemGid)
    .executeTakeFirst();
  if (!link) return "ignored";
  const target = (await loadTargets(db, storeId, [link.variant_id])).find(
    (t) => t.inventoryItemGid === e.itemGid && t.locationGid === e.locationGid,
  );
  if (!target) return "ignored"; // not a managed location
  if (e.available === expectedAvailable(target) && target.confirmed === target.desired) return "expected";
  const now = ctx.clock.now();
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable("inventory_sync")
      .set({ recheck: 1 })
      .where("store_id", "=", storeId)
      .where("inventory_item_gid", "=", e.itemGid)
      .where("location_gid", "=", e.locationGid)
      .execute();
    await markStoreDirtyFor(trx, storeId, [link.variant_id], now);
  });
  return "recheck";
}

/** Applies due `inventory_levels/update` deliveries from the inbox. */
export async function processLevelInbox(ctx: AppContext, limit = 500): Promise<InboxRunResult> {
  return drainInbox(ctx, {
    topics: LEVEL_TOPICS,
    limit,
    async apply(row) {
      const store = await ctx.database.db
        .selectFrom("stores")
        .select("id")
        .where("domain", "=", row.shop)
        .executeTakeFirst();
      if (!store) throw new InboxRejection(`store ${row.shop} is not connected to the hub`);
      let body: unknown;
      try {
        body = JSON.parse(row.body);
      } catch {
        throw new InboxRejection("body is not JSON");
      }
      const parsed = fromLevelWebhook(body);
      if (!parsed.ok) throw new InboxRejection(parsed.reason);
      await noteLevelEvent(ctx, store.id, parsed.event);
      await markInboxDone(ctx.database.db, row.id, ctx.clock.now());
    },
  });
}
