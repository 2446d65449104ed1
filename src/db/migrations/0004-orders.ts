import type { HubMigration } from "../schema-helpers.ts";

/**
 * Order intake: the durable webhook inbox (generic, any topic), orders with lines, customers and
 * companies, reservations, the back-office feed counter, outbound webhooks and Shopify tag jobs
 * (outboxes), per-store order settings and backfill cursors, compliance requests.
 */
export const orders: HubMigration = {
  name: "0004-orders",
  async up({ db, id }) {
    await id(db.schema.createTable("webhook_inbox"))
      .addColumn("webhook_id", "text", (c) => c.notNull().unique())
      .addColumn("shop", "text", (c) => c.notNull())
      .addColumn("topic", "text", (c) => c.notNull())
      .addColumn("body", "text", (c) => c.notNull())
      .addColumn("received_at", "bigint", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull()) // pending | done | failed | dead
      .addColumn("attempts", "integer", (c) => c.notNull())
      .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
      .addColumn("last_error", "text")
      .addColumn("processed_at", "bigint")
      .execute();
    await db.schema
      .createIndex("webhook_inbox_due")
      .on("webhook_inbox")
      .columns(["status", "next_attempt_at"])
      .execute();

    await id(db.schema.createTable("companies"))
      .addColumn("name", "text", (c) => c.notNull().unique())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();

    await id(db.schema.createTable("customers"))
      .addColumn("email", "text", (c) => c.unique()) // lower-cased; null for walk-ins and redacted
      .addColumn("kind", "text", (c) => c.notNull()) // person | company_contact
      .addColumn("name", "text")
      .addColumn("phone", "text")
      .addColumn("company_id", "bigint", (c) => c.references("companies.id"))
      .addColumn("redacted_at", "bigint")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();

    await id(db.schema.createTable("orders"))
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("shopify_order_gid", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("shopify_updated_at", "bigint", (c) => c.notNull())
      .addColumn("shopify_created_at", "bigint", (c) => c.notNull())
      .addColumn("financial_status", "text")
      .addColumn("fulfillment_status", "text")
      .addColumn("cancelled_at", "bigint")
      .addColumn("location_gid", "text")
      .addColumn("warehouse_id", "bigint")
      .addColumn("customer_id", "bigint")
      .addColumn("company_id", "bigint")
      .addColumn("status", "text", (c) => c.notNull()) // skipped | waiting | parked | imported | cancelled
      .addColumn("park_reason", "text")
      .addColumn("email", "text")
      .addColumn("customer_name", "text")
      .addColumn("phone", "text")
      .addColumn("addresses", "text") // JSON { billing, shipping }
      .addColumn("currency", "text")
      .addColumn("total_price", "text")
      .addColumn("source", "text", (c) => c.notNull()) // the normalised ShopifyOrder, JSON
      .addColumn("content_hash", "text", (c) => c.notNull())
      .addColumn("feed_seq", "bigint")
      .addColumn("imported_at", "bigint")
      .addColumn("acked_at", "bigint")
      .addColumn("acked_seq", "bigint")
      .addColumn("finished_at", "bigint") // first seen fulfilled or cancelled (retention clock)
      .addColumn("redacted_at", "bigint")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addUniqueConstraint("orders_store_gid", ["store_id", "shopify_order_gid"])
      .execute();
    await db.schema.createIndex("orders_feed").on("orders").column("feed_seq").execute();
    await db.schema.createIndex("orders_status").on("orders").columns(["store_id", "status"]).execute();
    await db.schema.createIndex("orders_customer").on("orders").column("customer_id").execute();

    await id(db.schema.createTable("order_lines"))
      .addColumn("order_id", "bigint", (c) => c.notNull().references("orders.id"))
      .addColumn("shopify_line_gid", "text", (c) => c.notNull())
      .addColumn("sku", "text")
      .addColumn("title", "text")
      .addColumn("variant_id", "bigint")
      .addColumn("quantity", "integer", (c) => c.notNull())
      .addColumn("current_quantity", "integer", (c) => c.notNull())
      .addColumn("fulfilled_quantity", "integer", (c) => c.notNull())
      .addColumn("fulfillable_quantity", "integer", (c) => c.notNull())
      .addColumn("price", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("order_lines_order").on("order_lines").column("order_id").execute();

    await db.schema
      .createTable("reservations")
      .addColumn("order_id", "bigint", (c) => c.notNull().references("orders.id"))
      .addColumn("variant_id", "bigint", (c) => c.notNull())
      .addColumn("warehouse_id", "bigint", (c) => c.notNull())
      .addColumn("quantity", "integer", (c) => c.notNull())
      .addPrimaryKeyConstraint("reservations_pk", ["order_id", "variant_id", "warehouse_id"])
      .execute();

    // Each change of an imported order takes the next number; orders.feed_seq holds the latest.
    await id(db.schema.createTable("order_feed"))
      .addColumn("order_id", "bigint", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();

    await id(db.schema.createTable("outbound_events"))
      .addColumn("event_id", "text", (c) => c.notNull().unique())
      .addColumn("store_id", "bigint", (c) => c.notNull())
      .addColumn("order_id", "bigint", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull()) // order.created | order.updated | order.cancelled
      .addColumn("payload", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull()) // pending | delivered | dead
      .addColumn("attempts", "integer", (c) => c.notNull())
      .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
      .addColumn("last_error", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("delivered_at", "bigint")
      .execute();
    await db.schema
      .createIndex("outbound_events_due")
      .on("outbound_events")
      .columns(["status", "next_attempt_at"])
      .execute();

    await id(db.schema.createTable("order_tag_jobs"))
      .addColumn("store_id", "bigint", (c) => c.notNull())
      .addColumn("shopify_order_gid", "text", (c) => c.notNull())
      .addColumn("tag", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull()) // pending | done | dead
      .addColumn("attempts", "integer", (c) => c.notNull())
      .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
      .addColumn("last_error", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addUniqueConstraint("order_tag_jobs_key", ["store_id", "shopify_order_gid", "tag"])
      .execute();

    await db.schema
      .createTable("order_settings")
      .addColumn("store_id", "bigint", (c) => c.primaryKey())
      .addColumn("settings", "text", (c) => c.notNull()) // JSON, see src/orders/settings.ts
      .addColumn("backfill_cursor", "bigint") // Shopify updatedAt (ms) of the latest order seen by polling
      .addColumn("backfill_at", "bigint")
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();

    await id(db.schema.createTable("compliance_requests"))
      .addColumn("store_id", "bigint")
      .addColumn("shop", "text", (c) => c.notNull())
      .addColumn("topic", "text", (c) => c.notNull())
      .addColumn("data", "text", (c) => c.notNull()) // JSON: what the hub holds (data_request) or what it erased
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
