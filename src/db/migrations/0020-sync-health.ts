import type { HubMigration } from "../schema-helpers.ts";

/**
 * Issue 18, the hub's side of behaving like real stores:
 * - `stores.coalesce_window_ms`: the store's longest coalescing window (null: COALESCE_WINDOW_MS);
 *   the push widens toward it only as the store's bucket drains.
 * - `webhook_health`: each store's subscriptions as last checked (missing ones re-created), and
 *   why the store's webhooks cannot work (a PUBLIC_URL Shopify refuses); null problem = healthy.
 * - `webhook_late`: deliveries whose X-Shopify-Triggered-At was far in the past (processed, counted).
 * - `api_deprecations`: X-Shopify-API-Deprecated-Reason answers per store and operation.
 * - `compliance_requests.subject`: a hash of the customer a data-request export is about, so a
 *   later redact finds and empties it without the hub keeping the email to search by.
 */
export const syncHealth: HubMigration = {
  name: "0020-sync-health",
  async up({ db }) {
    await db.schema.alterTable("stores").addColumn("coalesce_window_ms", "integer").execute();
    await db.schema
      .createTable("webhook_health")
      .addColumn("store_id", "bigint", (c) => c.primaryKey())
      .addColumn("checked_at", "bigint", (c) => c.notNull())
      .addColumn("uri", "text", (c) => c.notNull())
      .addColumn("expected", "text", (c) => c.notNull())
      .addColumn("missing", "text", (c) => c.notNull())
      .addColumn("recreated", "text", (c) => c.notNull())
      .addColumn("failed", "text", (c) => c.notNull())
      .addColumn("problem", "text")
      .addColumn("degraded_since", "bigint")
      .execute();
    await db.schema
      .createTable("webhook_late")
      .addColumn("store_id", "bigint", (c) => c.primaryKey())
      .addColumn("count", "bigint", (c) => c.notNull())
      .addColumn("last_topic", "text", (c) => c.notNull())
      .addColumn("last_late_at", "bigint", (c) => c.notNull())
      .addColumn("max_late_ms", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("api_deprecations")
      .addColumn("store_id", "bigint", (c) => c.notNull())
      .addColumn("operation", "text", (c) => c.notNull())
      .addColumn("api_version", "text", (c) => c.notNull())
      .addColumn("reason", "text", (c) => c.notNull())
      .addColumn("first_seen_at", "bigint", (c) => c.notNull())
      .addColumn("last_seen_at", "bigint", (c) => c.notNull())
      .addColumn("count", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("api_deprecations_pk", ["store_id", "operation"])
      .execute();
    await db.schema.alterTable("compliance_requests").addColumn("subject", "text").execute();
    await db.schema
      .createIndex("compliance_requests_subject")
      .on("compliance_requests")
      .columns(["store_id", "subject"])
      .execute();
  },
};
