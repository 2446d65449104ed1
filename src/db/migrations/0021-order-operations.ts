import type { HubMigration } from "../schema-helpers.ts";

/**
 * Store pickup, ship-from-store, holds, cancellations and returns (src/fulfillment/):
 * - `order_fulfillment_orders`: Shopify's fulfillment orders of each hub order as last read
 *   (status, location, delivery method, holds, ready for pickup), shown in the feed;
 *   `order_fo_sync` says which orders are due a read (a new version, a fulfillment-order webhook).
 * - `orders.fulfil_warehouse_id`: the warehouse the order's reservation follows once its
 *   fulfillment orders moved to another location (a move, a pickup elsewhere).
 * - `order_actions`: the back office's requests that change an order in Shopify (ready for
 *   pickup, move, cancel, cancel lines, close, dispose returned units): an outbox run under the
 *   store's lease, idempotent by the back office's request id.
 * - `order_returns`, `return_receipts`, `return_dispositions`: Shopify returns with their lines
 *   and reasons; what the back office received and in which condition (the only source of
 *   `return` movements for returns); Shopify's dispositions, each followed once.
 */
export const orderOperations: HubMigration = {
  name: "0021-order-operations",
  async up({ db, id }) {
    await db.schema.alterTable("orders").addColumn("fulfil_warehouse_id", "bigint").execute();

    await id(db.schema.createTable("order_fulfillment_orders"))
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("order_id", "bigint", (c) => c.notNull().references("orders.id"))
      .addColumn("fulfillment_order_gid", "text", (c) => c.notNull())
      .addColumn("location_gid", "text")
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("delivery_method", "text")
      .addColumn("holds", "text", (c) => c.notNull()) // JSON [{ reason, note }]
      .addColumn("lines", "text", (c) => c.notNull()) // JSON [{ id, lineGid, remaining, total }]
      .addColumn("prepared_at", "bigint")
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("order_fulfillment_orders_gid")
      .on("order_fulfillment_orders")
      .columns(["store_id", "fulfillment_order_gid"])
      .unique()
      .execute();
    await db.schema
      .createIndex("order_fulfillment_orders_order")
      .on("order_fulfillment_orders")
      .column("order_id")
      .execute();

    await db.schema
      .createTable("order_fo_sync")
      .addColumn("order_id", "bigint", (c) => c.primaryKey().references("orders.id"))
      .addColumn("store_id", "bigint", (c) => c.notNull())
      .addColumn("due", "integer", (c) => c.notNull())
      .addColumn("synced_version", "bigint")
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("order_fo_sync_due")
      .on("order_fo_sync")
      .columns(["store_id", "due"])
      .execute();

    await id(db.schema.createTable("order_actions"))
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("order_id", "bigint", (c) => c.notNull().references("orders.id"))
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("request_id", "text", (c) => c.notNull())
      .addColumn("content_hash", "text", (c) => c.notNull())
      .addColumn("input", "text", (c) => c.notNull())
      // pending | done | failed
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("attempts", "integer", (c) => c.notNull())
      .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
      .addColumn("error_code", "text")
      .addColumn("last_error", "text")
      .addColumn("result", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("order_actions_request")
      .on("order_actions")
      .columns(["kind", "request_id"])
      .unique()
      .execute();
    await db.schema
      .createIndex("order_actions_due")
      .on("order_actions")
      .columns(["store_id", "status", "next_attempt_at"])
      .execute();
    await db.schema.createIndex("order_actions_order").on("order_actions").column("order_id").execute();

    await id(db.schema.createTable("order_returns"))
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("order_id", "bigint", (c) => c.notNull().references("orders.id"))
      .addColumn("return_gid", "text", (c) => c.notNull())
      .addColumn("name", "text")
      // requested | open | declined | canceled | closed
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("lines", "text", (c) => c.notNull()) // JSON, see returns.ts
      .addColumn("exchange_lines", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("order_returns_gid")
      .on("order_returns")
      .columns(["store_id", "return_gid"])
      .unique()
      .execute();
    await db.schema.createIndex("order_returns_order").on("order_returns").column("order_id").execute();

    await id(db.schema.createTable("return_receipts"))
      .addColumn("store_id", "bigint", (c) => c.notNull())
      .addColumn("return_id", "bigint", (c) => c.notNull().references("order_returns.id"))
      .addColumn("external_id", "text", (c) => c.notNull().unique())
      .addColumn("content_hash", "text", (c) => c.notNull())
      .addColumn("lines", "text", (c) => c.notNull()) // JSON, see returns.ts
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("return_receipts_return").on("return_receipts").column("return_id").execute();

    await id(db.schema.createTable("return_dispositions"))
      .addColumn("store_id", "bigint", (c) => c.notNull())
      .addColumn("disposition_gid", "text", (c) => c.notNull())
      .addColumn("order_id", "bigint", (c) => c.notNull())
      .addColumn("return_gid", "text")
      .addColumn("line_gid", "text")
      .addColumn("quantity", "integer", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("location_gid", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("return_dispositions_gid")
      .on("return_dispositions")
      .columns(["store_id", "disposition_gid"])
      .unique()
      .execute();
    await db.schema
      .createIndex("return_dispositions_order")
      .on("return_dispositions")
      .column("order_id")
      .execute();
  },
};
