import type { HubMigration } from "../schema-helpers.ts";

/**
 * The returns check's cursor per store (issue 17, src/fulfillment/returns-check.ts): the Shopify
 * `updated_at` and hub id of the last order whose returns were read, so a lost `returns/*`
 * webhook is still imported by the next pass.
 */
export const returnChecks: HubMigration = {
  name: "0027-return-checks",
  async up({ db }) {
    await db.schema
      .createTable("return_checks")
      .addColumn("store_id", "bigint", (c) => c.primaryKey().references("stores.id"))
      .addColumn("checked_updated_at", "bigint", (c) => c.notNull())
      .addColumn("checked_order_id", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
