/**
 * What a change of a store's inventory mode means to the push (registered with the hub as an
 * inventory mode listener, src/core/context.ts; shops saves the mode and tells it).
 */
import type { InventoryModeListener } from "../../core/context.ts";
import { linkRanges, markStoreDirtyFor } from "./push-store.ts";

/**
 * Absolute means Shopify shows the hub's values: every linked item is due once, now, and is read
 * back first, since in delta mode Shopify's own count moved without the hub knowing. A range of
 * links a statement, outside the mode's transaction: one transaction over 500,000 levels held
 * SQLite's one connection (and /healthz) for 571 ms. A crash part way leaves absolute mode with
 * some items unmarked: the drift check that runs at once after a start compares every level and
 * corrects them, and a confirmed value left over is only a compare-and-set that Shopify answers as
 * stale (then read again).
 */
export const pushOnInventoryMode: InventoryModeListener = async (db, storeId, mode, now) => {
  if (mode !== "absolute") return;
  for await (const range of linkRanges(db, storeId)) {
    let forget = db
      .updateTable("inventory_sync")
      .set({ confirmed: null, confirmed_at: null })
      .where("store_id", "=", storeId)
      .where("variant_id", ">", range.after);
    if (range.last !== undefined) forget = forget.where("variant_id", "<=", range.last);
    await forget.execute();
  }
  await markStoreDirtyFor(db, storeId, "all", now);
};
