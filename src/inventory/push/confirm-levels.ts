import { yieldToEventLoop } from "../../core/clock.ts";
import { chunks } from "../../db/batching.ts";
import type { Db } from "../../db/database.ts";
import type { AdminTransport } from "../../shopify/transport.ts";
import { readLevels } from "./shopify-inventory.ts";

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
  const levels = await readLevels(
    transport,
    { now: () => now },
    locations,
    Number(linked.n) * locations.length,
  );
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
    stored += rows.length;
  }
  return stored;
}
