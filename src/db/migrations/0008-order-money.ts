import type { HubMigration } from "../schema-helpers.ts";

/**
 * Orders in money (issue 11): the payment transactions Shopify records on an order, which arrive
 * on their own (`order_transactions/create`, or read by the backfill) and may come before the
 * order; and the per-store mapping of payment gateways, shipping lines, tax lines and sources to
 * the back office's codes.
 */
export const orderMoney: HubMigration = {
  name: "0008-order-money",
  async up({ db, id }) {
    await id(db.schema.createTable("order_transactions"))
      .addColumn("store_id", "integer", (c) => c.notNull().references("stores.id"))
      .addColumn("shopify_order_gid", "text", (c) => c.notNull())
      .addColumn("transaction_gid", "text", (c) => c.notNull())
      /** The normalised transaction (money.ts `Transaction`), JSON. */
      .addColumn("data", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addUniqueConstraint("order_transactions_store_gid", ["store_id", "transaction_gid"])
      .execute();
    await db.schema
      .createIndex("order_transactions_order")
      .on("order_transactions")
      .columns(["store_id", "shopify_order_gid"])
      .execute();
    await db.schema
      .createTable("order_mappings")
      .addColumn("store_id", "integer", (c) => c.primaryKey().references("stores.id"))
      /** The mapping settings (mapping.ts schema), JSON. */
      .addColumn("mappings", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
