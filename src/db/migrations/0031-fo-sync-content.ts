import type { HubMigration } from "../schema-helpers.ts";

/**
 * The order content a fulfillment-order read saw (`orders.content_hash`). Shopify's `updatedAt`
 * has whole seconds: an exchange added in the same second as the last read kept the version
 * equal, so the new fulfillment order was never read and its reservation stayed elsewhere.
 * Null: read before this column existed (read once more).
 */
export const foSyncContent: HubMigration = {
  name: "0031-fo-sync-content",
  async up({ db }) {
    await db.schema.alterTable("order_fo_sync").addColumn("synced_content", "text").execute();
  },
};
