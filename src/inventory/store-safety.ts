/**
 * A store's own safety stock: units of every SKU held back from each of the store's managed
 * Shopify locations, on top of the warehouses' own safety stock (a buffer against overselling on
 * a channel that reports its sales late, say). It lowers what the store may sell,
 * `max(0, sellable − held back)`, in every figure derived from `loadTargets` (push, dry run,
 * drift check, the stock view), and never what the hub's ledger holds.
 */
import { z } from "zod";
import type { Db } from "../db/database.ts";
import type { Trx } from "./ledger-store.ts";

export const MAX_STORE_SAFETY_STOCK = 1_000_000;

export const storeStockRulesSchema = z.object({
  safetyStock: z
    .number()
    .int()
    .min(0)
    .max(MAX_STORE_SAFETY_STOCK)
    .meta({ description: "Units of every SKU held back from each of the store's locations (0: none)." }),
});
export type StoreStockRules = z.infer<typeof storeStockRulesSchema>;

export async function loadStoreStockRules(db: Db | Trx, storeId: number): Promise<StoreStockRules> {
  const row = await db
    .selectFrom("store_stock_rules")
    .select("safety_stock")
    .where("store_id", "=", storeId)
    .executeTakeFirst();
  return { safetyStock: row ? Number(row.safety_stock) : 0 };
}

/** What the store may sell at a location: the warehouses' sellable less the store's own hold-back. */
export const sellableToStore = (sellable: number, rules: StoreStockRules): number =>
  Math.max(0, sellable - rules.safetyStock);

/** Saves the rules; returns them as they were and are (the caller marks the store for the push). */
export async function saveStoreStockRules(
  trx: Db | Trx,
  storeId: number,
  rules: StoreStockRules,
  now: number,
): Promise<{ before: StoreStockRules; after: StoreStockRules }> {
  const before = await loadStoreStockRules(trx, storeId);
  await trx
    .insertInto("store_stock_rules")
    .values({ store_id: storeId, safety_stock: rules.safetyStock, updated_at: now })
    .onConflict((oc) =>
      oc.column("store_id").doUpdateSet({ safety_stock: rules.safetyStock, updated_at: now }),
    )
    .execute();
  return { before, after: rules };
}
