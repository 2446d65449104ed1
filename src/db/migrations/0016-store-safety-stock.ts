import type { HubMigration } from "../schema-helpers.ts";

/**
 * A store's own safety stock (issue 14, "safety stock defaults" per store): units of every SKU
 * held back from each of the store's Shopify locations, on top of the warehouses' safety stock.
 * No row: 0, nothing held back.
 */
export const storeSafetyStock: HubMigration = {
  name: "0016-store-safety-stock",
  async up({ db }) {
    await db.schema
      .createTable("store_stock_rules")
      .addColumn("store_id", "bigint", (c) => c.primaryKey())
      .addColumn("safety_stock", "integer", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
