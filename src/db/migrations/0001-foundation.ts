import type { HubMigration } from "../schema-helpers.ts";

export const foundation: HubMigration = {
  name: "0001-foundation",
  async up({ db, id }) {
    await id(db.schema.createTable("api_keys"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("prefix", "text", (c) => c.notNull())
      .addColumn("key_hash", "text", (c) => c.notNull().unique())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("last_used_at", "bigint")
      .addColumn("revoked_at", "bigint")
      .execute();

    await id(db.schema.createTable("warehouses"))
      .addColumn("code", "text", (c) => c.notNull().unique())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();

    await id(db.schema.createTable("variants"))
      .addColumn("sku", "text", (c) => c.notNull().unique())
      .addColumn("barcode", "text")
      .addColumn("title", "text")
      .addColumn("option1", "text")
      .addColumn("option2", "text")
      .addColumn("option3", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("variants_barcode").on("variants").column("barcode").execute();

    await id(db.schema.createTable("movements"))
      .addColumn("external_id", "text", (c) => c.notNull().unique())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("variant_id", "bigint", (c) => c.notNull().references("variants.id"))
      .addColumn("warehouse_id", "bigint", (c) => c.notNull().references("warehouses.id"))
      .addColumn("to_warehouse_id", "bigint", (c) => c.references("warehouses.id"))
      .addColumn("quantity", "integer", (c) => c.notNull())
      .addColumn("occurred_at", "bigint", (c) => c.notNull())
      .addColumn("recorded_at", "bigint", (c) => c.notNull())
      .addColumn("content_hash", "text", (c) => c.notNull())
      .execute();

    await id(db.schema.createTable("ledger_entries"))
      .addColumn("movement_id", "bigint", (c) => c.notNull().references("movements.id"))
      .addColumn("variant_id", "bigint", (c) => c.notNull())
      .addColumn("warehouse_id", "bigint", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("quantity", "integer", (c) => c.notNull())
      .addColumn("occurred_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("ledger_entries_by_level")
      .on("ledger_entries")
      .columns(["variant_id", "warehouse_id", "occurred_at"])
      .execute();

    await db.schema
      .createTable("stock_levels")
      .addColumn("variant_id", "bigint", (c) => c.notNull().references("variants.id"))
      .addColumn("warehouse_id", "bigint", (c) => c.notNull().references("warehouses.id"))
      .addColumn("on_hand", "integer", (c) => c.notNull())
      .addColumn("reserved", "integer", (c) => c.notNull())
      .addColumn("safety_stock", "integer", (c) => c.notNull())
      .addColumn("last_count_at", "bigint")
      .addColumn("last_count_seq", "bigint")
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("stock_levels_pk", ["variant_id", "warehouse_id"])
      .execute();
    await db.schema
      .createIndex("stock_levels_by_warehouse")
      .on("stock_levels")
      .column("warehouse_id")
      .execute();
  },
};
