import { sql } from "kysely";
import type { HubMigration } from "../schema-helpers.ts";

/**
 * The operator console's views (issue 14): a small per-store time series (lag, backlog and
 * throughput, sampled every ~30 s and kept for a few days), dismissed failures with their reason,
 * the order a webhook concerns (so an order's history finds its deliveries), and the indexes
 * that let every list page by keyset at 100,000 variants and 1,000,000 orders.
 */
export const consoleViews: HubMigration = {
  name: "0013-console-views",
  async up({ db }) {
    await db.schema
      .createTable("store_series")
      .addColumn("store_id", "bigint", (c) => c.notNull())
      .addColumn("at", "bigint", (c) => c.notNull())
      .addColumn("lag_seconds", "bigint")
      .addColumn("backlog", "bigint", (c) => c.notNull())
      .addColumn("pushed", "bigint", (c) => c.notNull())
      .addColumn("orders_imported", "bigint", (c) => c.notNull())
      // The last activity_log id counted for `pushed` (the next sample counts from there).
      .addColumn("activity_id", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("store_series_pk", ["store_id", "at"])
      .execute();
    await db.schema.createIndex("store_series_at").on("store_series").column("at").execute();

    await db.schema
      .createTable("failure_dismissals")
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("item_id", "text", (c) => c.notNull())
      .addColumn("store_id", "bigint")
      .addColumn("reason", "text", (c) => c.notNull())
      .addColumn("actor", "text", (c) => c.notNull())
      .addColumn("dismissed_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("failure_dismissals_pk", ["kind", "item_id"])
      .execute();

    // The Shopify order a delivery concerns (orders/*, refunds, fulfillments, transactions).
    await db.schema.alterTable("webhook_inbox").addColumn("order_gid", "text").execute();
    await db.schema
      .createIndex("webhook_inbox_order")
      .on("webhook_inbox")
      .columns(["shop", "order_gid", "id"])
      .execute();
    await db.schema
      .createIndex("webhook_inbox_status_id")
      .on("webhook_inbox")
      .columns(["status", "id"])
      .execute();

    // Order search: newest first overall, per store, per status; by number and by email.
    await db.schema
      .createIndex("orders_created")
      .on("orders")
      .columns(["shopify_created_at", "id"])
      .execute();
    await db.schema
      .createIndex("orders_store_created")
      .on("orders")
      .columns(["store_id", "shopify_created_at", "id"])
      .execute();
    await db.schema
      .createIndex("orders_status_created")
      .on("orders")
      .columns(["status", "shopify_created_at", "id"])
      .execute();
    await db.schema
      .createIndex("orders_store_status_created")
      .on("orders")
      .columns(["store_id", "status", "shopify_created_at", "id"])
      .execute();
    await db.schema.createIndex("orders_name").on("orders").columns(["name", "id"]).execute();
    await db.schema.createIndex("orders_email").on("orders").columns(["email", "id"]).execute();
    // Flows and series: the store's latest import and imports per interval.
    await db.schema
      .createIndex("orders_store_imported")
      .on("orders")
      .columns(["store_id", "imported_at"])
      .execute();
    await db.schema.createIndex("orders_status_id").on("orders").columns(["status", "id"]).execute();

    // An order's history.
    await db.schema.createIndex("order_feed_order").on("order_feed").columns(["order_id", "id"]).execute();
    await db.schema
      .createIndex("outbound_events_order")
      .on("outbound_events")
      .columns(["order_id", "id"])
      .execute();
    await db.schema
      .createIndex("outbound_events_store_status")
      .on("outbound_events")
      .columns(["store_id", "status", "id"])
      .execute();
    await db.schema
      .createIndex("outbound_events_status_id")
      .on("outbound_events")
      .columns(["status", "id"])
      .execute();

    // Shipments newest first, per store and status.
    await db.schema.createIndex("shipments_store_id").on("shipments").columns(["store_id", "id"]).execute();
    await db.schema.createIndex("shipments_status_id").on("shipments").columns(["status", "id"]).execute();
    await db.schema
      .createIndex("shipments_store_status_id")
      .on("shipments")
      .columns(["store_id", "status", "id"])
      .execute();

    // Movements newest first per SKU or warehouse (through their ledger entries).
    await db.schema
      .createIndex("ledger_entries_variant_id")
      .on("ledger_entries")
      .columns(["variant_id", "id"])
      .execute();
    await db.schema
      .createIndex("ledger_entries_warehouse_id")
      .on("ledger_entries")
      .columns(["warehouse_id", "id"])
      .execute();

    // Catalog and failures.
    await db.schema
      .createIndex("link_problems_store_sku")
      .on("link_problems")
      .columns(["store_id", "sku"])
      .execute();
    await db.schema
      .createIndex("link_problems_store_id")
      .on("link_problems")
      .columns(["store_id", "id"])
      .execute();
    await db.schema
      .createIndex("inventory_sync_failing")
      .on("inventory_sync")
      .columns(["store_id", "variant_id"])
      .where(sql.ref("error"), "is not", null)
      .execute();
    await db.schema
      .createIndex("operator_jobs_status_id")
      .on("operator_jobs")
      .columns(["status", "id"])
      .execute();

    // Flow status: the oldest waiting change, the latest finished batch.
    await db.schema
      .createIndex("push_dirty_oldest")
      .on("push_dirty")
      .columns(["store_id", "first_marked_at"])
      .execute();
    await db.schema
      .createIndex("push_batches_store_status_id")
      .on("push_batches")
      .columns(["store_id", "status", "id"])
      .execute();
  },
};
