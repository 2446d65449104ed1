import { sql } from "kysely";
import type { HubMigration } from "../schema-helpers.ts";

/**
 * The hub's catalog model (issue 15): products with their options, images and metafields; the
 * variants stay keyed by SKU in `variants` and gain the product they belong to, their place in
 * it and the fields a product's variant has (weight, taxable, tracked, prices in minor units).
 * `title_lower` serves the case-insensitive title prefix search from an index on both databases:
 * PostgreSQL compares it byte-wise (`collate "C"`), as SQLite's default BINARY collation does, so
 * a range `>= q and < next(q)` is a prefix match served by the index. `product_links` is filled
 * by the Shopify import later.
 */
export const products: HubMigration = {
  name: "0015-products",
  async up({ db, dialect, id }) {
    await id(db.schema.createTable("products"))
      .addColumn("key", "text", (c) => c.notNull().unique())
      .addColumn("title", "text", (c) => c.notNull())
      .addColumn("title_lower", "text", (c) =>
        dialect === "postgres" ? c.notNull().modifyEnd(sql`collate "C"`) : c.notNull(),
      )
      .addColumn("description_html", "text")
      .addColumn("vendor", "text")
      .addColumn("product_type", "text")
      .addColumn("tags", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("category_gid", "text")
      .addColumn("seo_title", "text")
      .addColumn("seo_description", "text")
      .addColumn("content_hash", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("products_title_lower")
      .on("products")
      .columns(["title_lower", "id"])
      .execute();

    await db.schema
      .createTable("product_options")
      .addColumn("product_id", "bigint", (c) => c.notNull().references("products.id"))
      .addColumn("position", "integer", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("option_values", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("product_options_pk", ["product_id", "position"])
      .execute();

    await db.schema
      .createTable("product_images")
      .addColumn("product_id", "bigint", (c) => c.notNull().references("products.id"))
      .addColumn("position", "integer", (c) => c.notNull())
      .addColumn("url", "text", (c) => c.notNull())
      .addColumn("alt", "text")
      .addPrimaryKeyConstraint("product_images_pk", ["product_id", "position"])
      .execute();

    await db.schema
      .createTable("product_metafields")
      .addColumn("product_id", "bigint", (c) => c.notNull().references("products.id"))
      .addColumn("namespace", "text", (c) => c.notNull())
      .addColumn("key", "text", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("value", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("product_metafields_pk", ["product_id", "namespace", "key"])
      .execute();

    await db.schema
      .alterTable("variants")
      .addColumn("product_id", "bigint", (c) => c.references("products.id"))
      .execute();
    for (const [name, type] of [
      ["position", "integer"],
      ["weight_value", "double precision"],
      ["weight_unit", "text"],
      ["taxable", "integer"],
      ["inventory_tracked", "integer"],
      ["price_minor", "bigint"],
      ["compare_at_price_minor", "bigint"],
      ["cost_minor", "bigint"],
    ] as const)
      await db.schema.alterTable("variants").addColumn(name, type).execute();
    await db.schema
      .createIndex("variants_product")
      .on("variants")
      .columns(["product_id", "position"])
      .execute();

    await db.schema
      .createTable("product_links")
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("product_id", "bigint", (c) => c.notNull().references("products.id"))
      .addColumn("shopify_product_gid", "text", (c) => c.notNull())
      .addColumn("last_seen", "text")
      .addColumn("last_seen_at", "bigint")
      .addColumn("linked_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("product_links_pk", ["store_id", "product_id"])
      .addUniqueConstraint("product_links_gid", ["store_id", "shopify_product_gid"])
      .execute();
  },
};
