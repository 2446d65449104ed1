import { sql } from "kysely";
import type { HubMigration } from "../schema-helpers.ts";

/**
 * The stock model of docs/STOCK-MODEL.md: the hub owns Shopify's `on_hand` (no longer `available`),
 * so every stored Shopify value is re-read and delta baselines are taken again; Shopify's
 * fulfillments are recorded once per fulfillment line; shipment lines know how much of them
 * Shopify has fulfilled; rejected push items wait with their error; `inventory_levels/update`
 * asks for a re-read.
 */
export const stockModel: HubMigration = {
  name: "0007-stock-model",
  async up({ db }) {
    // Values were Shopify's `available`: read `on_hand` afresh, take delta baselines again.
    await db
      .updateTable("inventory_sync")
      .set({ pushed: null, confirmed: null, confirmed_at: null })
      .execute();
    await db.schema.alterTable("inventory_sync").addColumn("error", "text").execute();
    await db.schema
      .alterTable("inventory_sync")
      .addColumn("error_attempts", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable("inventory_sync").addColumn("retry_at", "bigint").execute();
    // 1 when Shopify reported a change there (inventory_levels/update): read before the next push.
    await db.schema
      .alterTable("inventory_sync")
      .addColumn("recheck", "integer", (c) => c.notNull().defaultTo(0))
      .execute();

    // Units of each shipment line that Shopify shows fulfilled (by the hub's fulfillments or adopted).
    await db.schema
      .alterTable("shipment_lines")
      .addColumn("fulfilled_quantity", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
    const done = await db
      .selectFrom("shipment_fulfillments")
      .select(["shipment_id", "lines"])
      .where("status", "=", "done")
      .execute();
    for (const d of done as { shipment_id: number; lines: string }[]) {
      for (const l of JSON.parse(d.lines) as { lineGid: string; quantity: number }[]) {
        await db
          .updateTable("shipment_lines")
          .set({ fulfilled_quantity: sql`fulfilled_quantity + ${l.quantity}` })
          .where("shipment_id", "=", d.shipment_id)
          .where("shopify_line_gid", "=", l.lineGid)
          .execute();
      }
    }

    // Every fulfillment line Shopify holds for a hub order, whoever made it, once.
    await db.schema
      .createTable("fulfillment_records")
      .addColumn("store_id", "bigint", (c) => c.notNull())
      .addColumn("fulfillment_gid", "text", (c) => c.notNull())
      .addColumn("line_gid", "text", (c) => c.notNull())
      .addColumn("order_id", "bigint", (c) => c.notNull())
      .addColumn("variant_id", "bigint")
      .addColumn("location_gid", "text")
      .addColumn("quantity", "integer", (c) => c.notNull())
      // hub: the hub's own fulfillment; shopify: made in Shopify (admin, POS, an app)
      .addColumn("origin", "text", (c) => c.notNull())
      // units that cover units the back office shipped through the hub
      .addColumn("hub_quantity", "integer", (c) => c.notNull())
      // units recorded as a `sale` movement (rule record_in_ledger)
      .addColumn("sale_quantity", "integer", (c) => c.notNull())
      .addColumn("warehouse_id", "bigint")
      .addColumn("cancelled", "integer", (c) => c.notNull())
      .addColumn("occurred_at", "bigint", (c) => c.notNull())
      .addColumn("recorded_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("fulfillment_records_pk", ["store_id", "fulfillment_gid", "line_gid"])
      .execute();
    await db.schema
      .createIndex("fulfillment_records_order")
      .on("fulfillment_records")
      .column("order_id")
      .execute();

    // Fulfillments the hub did not make: record_in_ledger (default) or back_office.
    await db.schema
      .alterTable("fulfillment_settings")
      .addColumn("shopify_fulfillments", "text", (c) => c.notNull().defaultTo("record_in_ledger"))
      .execute();
  },
};
