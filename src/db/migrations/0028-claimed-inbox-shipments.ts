import { sql } from "kysely";
import type { HubMigration } from "../schema-helpers.ts";

/**
 * The webhook inbox and shipment delivery become claimed queues of the durable-work core
 * (src/jobs/queue.ts, like outbound notifications and tags in 0018): a worker stamps the items
 * it takes with its claim's token, so two processes never apply one delivery or deliver one
 * shipment at once, and an outcome is recorded only under the claim that produced it.
 */
export const claimedInboxShipments: HubMigration = {
  name: "0028-claimed-inbox-shipments",
  async up({ db }) {
    await db.schema.alterTable("webhook_inbox").addColumn("claimed_by", "text").execute();
    await db.schema.alterTable("shipments").addColumn("claimed_by", "text").execute();
    // A store's pass looks for claims a former owner left (few rows: the partial index).
    await db.schema
      .createIndex("shipments_claimed")
      .on("shipments")
      .columns(["store_id", "claimed_by"])
      .where(sql.ref("claimed_by"), "is not", null)
      .execute();
  },
};
