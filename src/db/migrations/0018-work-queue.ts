import type { HubMigration } from "../schema-helpers.ts";

/**
 * The durable-work core (src/jobs/queue.ts) claims queue items: a claim stamps the item with its
 * token (and moves its next attempt ahead by the claim's lifetime), so concurrent workers of
 * several processes never take one item twice, and a settle is recorded only under its claim.
 * Outbound notifications and Shopify tags are claimed queues.
 */
export const workQueue: HubMigration = {
  name: "0018-work-queue",
  async up({ db }) {
    await db.schema.alterTable("outbound_events").addColumn("claimed_by", "text").execute();
    await db.schema.alterTable("order_tag_jobs").addColumn("claimed_by", "text").execute();
    // A store's due tags, in order (the tag pass claims per store).
    await db.schema
      .createIndex("order_tag_jobs_due")
      .on("order_tag_jobs")
      .columns(["store_id", "status", "next_attempt_at"])
      .execute();
  },
};
