import type { HubMigration } from "../schema-helpers.ts";

/**
 * Fulfillment: shipments from the back office (the shipment row is the outbox entry of its
 * Shopify fulfillments: status pending + next attempt), their lines and packages, the
 * fulfillments created in Shopify, refunds recorded against hub orders, per-store settings.
 */
export const fulfillment: HubMigration = {
  name: "0006-fulfillment",
  async up({ db, id }) {
    await id(db.schema.createTable("shipments"))
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("order_id", "bigint", (c) => c.notNull().references("orders.id"))
      .addColumn("external_id", "text", (c) => c.notNull().unique()) // the back office's shipment id
      .addColumn("content_hash", "text", (c) => c.notNull())
      .addColumn("warehouse_id", "bigint", (c) => c.notNull())
      .addColumn("notify_customer", "integer", (c) => c.notNull())
      // pending | applied | partially_applied | parked | rejected | failed
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("reason", "text")
      .addColumn("attempts", "integer", (c) => c.notNull())
      .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
      .addColumn("tracking_pending", "integer", (c) => c.notNull()) // 1: packages changed since the fulfillments
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("shipments_due")
      .on("shipments")
      .columns(["status", "next_attempt_at"])
      .execute();
    await db.schema.createIndex("shipments_order").on("shipments").column("order_id").execute();

    await id(db.schema.createTable("shipment_lines"))
      .addColumn("shipment_id", "bigint", (c) => c.notNull().references("shipments.id"))
      // Shopify's line gid: order_lines rows are rewritten on every order version, their ids are not stable.
      .addColumn("shopify_line_gid", "text", (c) => c.notNull())
      .addColumn("sku", "text")
      .addColumn("variant_id", "bigint", (c) => c.notNull())
      .addColumn("quantity", "integer", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("shipment_lines_shipment")
      .on("shipment_lines")
      .column("shipment_id")
      .execute();

    await id(db.schema.createTable("shipment_packages"))
      .addColumn("shipment_id", "bigint", (c) => c.notNull().references("shipments.id"))
      .addColumn("carrier", "text")
      .addColumn("tracking_number", "text")
      .addColumn("tracking_url", "text")
      .execute();
    await db.schema
      .createIndex("shipment_packages_shipment")
      .on("shipment_packages")
      .column("shipment_id")
      .execute();

    await id(db.schema.createTable("shipment_fulfillments"))
      .addColumn("shipment_id", "bigint", (c) => c.notNull().references("shipments.id"))
      .addColumn("fulfillment_order_gid", "text", (c) => c.notNull())
      .addColumn("fulfillment_gid", "text")
      .addColumn("lines", "text", (c) => c.notNull()) // JSON [{ lineGid, quantity }]
      .addColumn("status", "text", (c) => c.notNull()) // done | failed
      .addColumn("last_error", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("shipment_fulfillments_shipment")
      .on("shipment_fulfillments")
      .column("shipment_id")
      .execute();

    await id(db.schema.createTable("refunds"))
      .addColumn("store_id", "bigint", (c) => c.notNull())
      .addColumn("order_id", "bigint", (c) => c.notNull().references("orders.id"))
      .addColumn("shopify_refund_gid", "text", (c) => c.notNull())
      .addColumn("restock_rule", "text", (c) => c.notNull()) // none | order_warehouse | returns_warehouse
      .addColumn("restock_warehouse_id", "bigint")
      .addColumn("lines", "text", (c) => c.notNull()) // JSON [{ lineGid, sku, quantity, restockType, restocked }]
      .addColumn("source", "text", (c) => c.notNull()) // webhook | poll
      .addColumn("shopify_created_at", "bigint", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addUniqueConstraint("refunds_store_gid", ["store_id", "shopify_refund_gid"])
      .execute();
    await db.schema.createIndex("refunds_order").on("refunds").column("order_id").execute();

    await db.schema
      .createTable("fulfillment_settings")
      .addColumn("store_id", "bigint", (c) => c.primaryKey())
      .addColumn("notify_customer", "integer", (c) => c.notNull())
      .addColumn("restock_rule", "text", (c) => c.notNull())
      .addColumn("returns_warehouse_id", "bigint")
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
