import { yieldToEventLoop } from "../../core/clock.ts";
import { chunks } from "../../db/batching.ts";
import type { Db } from "../../db/database.ts";
import { runBulkQuery } from "../../shopify/bulk-query.ts";
import type { AdminTransport } from "../../shopify/transport.ts";
import { ALL_LEVELS_BULK, BULK_READ_THRESHOLD, readLevels } from "./shopify-inventory.ts";

/**
 * Reads Shopify's current `on_hand` for every linked item at every managed, active location and
 * stores it as `confirmed` (the push's compare-and-set value; `pushed` is kept). One bulk
 * operation for a large store. Items not stocked at a location get no row. Returns the number of
 * levels stored.
 */
export async function confirmAllLevels(
  db: Db,
  transport: AdminTransport,
  storeId: number,
  now: number,
): Promise<number> {
  const locations = (
    await db
      .selectFrom("store_locations")
      .select("location_gid")
      .where("store_id", "=", storeId)
      .where("managed", "=", 1)
      .where("active_in_shopify", "=", 1)
      .execute()
  ).map((l) => l.location_gid);
  if (locations.length === 0) return 0;
  const linked = await db
    .selectFrom("variant_links")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("store_id", "=", storeId)
    .executeTakeFirstOrThrow();
  if (Number(linked.n) === 0) return 0;
  const expected = Number(linked.n) * locations.length;
  if (expected > BULK_READ_THRESHOLD) return confirmStreamed(db, transport, storeId, locations, now);
  const levels = await readLevels(transport, { now: () => now }, locations, expected);
  // The links a page at a time (keyset on variant id), each page's levels in short statements
  // with the event loop free between them: never one array of every level of the store.
  let stored = 0;
  let after = -1;
  for (;;) {
    const links = await db
      .selectFrom("variant_links")
      .select(["variant_id", "inventory_item_gid"])
      .where("store_id", "=", storeId)
      .where("variant_id", ">", after)
      .orderBy("variant_id")
      .limit(1000)
      .execute();
    if (links.length === 0) break;
    after = Number(links[links.length - 1]!.variant_id);
    const rows = links.flatMap((l) =>
      locations.flatMap((location) => {
        const level = levels.getLevel(l.inventory_item_gid, location);
        return level === undefined
          ? []
          : [{ item: l.inventory_item_gid, location, variantId: Number(l.variant_id), onHand: level.onHand }];
      }),
    );
    await writeConfirmed(db, storeId, rows, now);
    stored += rows.length;
  }
  return stored;
}

type Confirmed = { item: string; location: string; variantId: number; onHand: number };

async function writeConfirmed(db: Db, storeId: number, rows: readonly Confirmed[], now: number) {
  for (const part of chunks(rows, 300)) {
    await db
      .insertInto("inventory_sync")
      .values(
        part.map((r) => ({
          store_id: storeId,
          inventory_item_gid: r.item,
          location_gid: r.location,
          variant_id: r.variantId,
          pushed: null,
          confirmed: r.onHand,
          confirmed_at: now,
        })),
      )
      .onConflict((oc) =>
        oc.columns(["store_id", "inventory_item_gid", "location_gid"]).doUpdateSet((eb) => ({
          variant_id: eb.ref("excluded.variant_id"),
          confirmed: eb.ref("excluded.confirmed"),
          confirmed_at: eb.ref("excluded.confirmed_at"),
        })),
      )
      .execute();
    await yieldToEventLoop();
  }
}

/** Levels taken from the bulk file per write: their items' links are looked up for them alone. */
const STREAM_CHUNK = 500;

/**
 * A large store: the bulk operation's lines are written as they download, a chunk at a time
 * with only that chunk's links looked up, instead of holding every level of the store (and
 * every item's gid) until all are read: at 100,000 × 5 the push's first cycle did that while
 * the first drift check held another such table.
 */
async function confirmStreamed(
  db: Db,
  transport: AdminTransport,
  storeId: number,
  locations: readonly string[],
  now: number,
): Promise<number> {
  const managed = new Set(locations);
  let stored = 0;
  let pending: { item: string; location: string; onHand: number }[] = [];
  const flush = async () => {
    const variantOf = new Map<string, number>();
    for (const part of chunks([...new Set(pending.map((p) => p.item))], 500))
      for (const l of await db
        .selectFrom("variant_links")
        .select(["variant_id", "inventory_item_gid"])
        .where("store_id", "=", storeId)
        .where("inventory_item_gid", "in", part)
        .execute())
        variantOf.set(l.inventory_item_gid, Number(l.variant_id));
    const rows: Confirmed[] = [];
    for (const p of pending) {
      const variantId = variantOf.get(p.item);
      if (variantId !== undefined) rows.push({ ...p, variantId });
    }
    pending = [];
    await writeConfirmed(db, storeId, rows, now);
    stored += rows.length;
  };
  for await (const row of runBulkQuery(transport, ALL_LEVELS_BULK, {
    clock: { now: () => now },
    pollMs: 500,
  })) {
    const location = row.__parentId;
    const item = (row.item as { id?: string } | undefined)?.id;
    if (!location || !item || !managed.has(location)) continue;
    const quantities = (row.quantities as { name: string; quantity: number }[] | undefined) ?? [];
    pending.push({ item, location, onHand: quantities.find((q) => q.name === "on_hand")?.quantity ?? 0 });
    if (pending.length >= STREAM_CHUNK) await flush();
  }
  if (pending.length > 0) await flush();
  return stored;
}
