import type { HubMigration } from "../schema-helpers.ts";

/**
 * Importing a store's catalog from Shopify (issue 15):
 * - `catalog_imports`: one row per import run (an operator job of kind `catalog_import`) with its
 *   mode, the fields it may write, its bulk operation and result file, the JSONL line it has
 *   applied up to (a resumed run skips the lines before it) and its counts;
 * - variant links remember the Shopify product they belong to (a products/delete unlinks them)
 *   and the variant as last seen in Shopify (SKU, barcode);
 * - `opening_counts`: the one time a store's Shopify quantities were taken as the hub's opening
 *   count (never twice).
 */
export const catalogImport: HubMigration = {
  name: "0017-catalog-import",
  async up({ db, id }) {
    await id(db.schema.createTable("catalog_imports"))
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("job_id", "bigint", (c) => c.notNull().unique())
      .addColumn("mode", "text", (c) => c.notNull())
      .addColumn("fields", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("bulk_operation_gid", "text")
      .addColumn("result_url", "text")
      .addColumn("line_offset", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("products_read", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("variants_read", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("matched", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("created", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("updated", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("problems", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("error", "text")
      .addColumn("started_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addColumn("finished_at", "bigint")
      .execute();
    await db.schema
      .createIndex("catalog_imports_store")
      .on("catalog_imports")
      .columns(["store_id", "id"])
      .execute();

    await db.schema.alterTable("variant_links").addColumn("shopify_product_gid", "text").execute();
    await db.schema.alterTable("variant_links").addColumn("last_seen", "text").execute();
    await db.schema.alterTable("variant_links").addColumn("last_seen_at", "bigint").execute();
    await db.schema
      .createIndex("variant_links_product")
      .on("variant_links")
      .columns(["store_id", "shopify_product_gid"])
      .execute();
    await db.schema
      .createIndex("variant_links_shopify_variant")
      .on("variant_links")
      .columns(["store_id", "product_variant_gid"])
      .execute();

    await db.schema
      .createTable("opening_counts")
      .addColumn("store_id", "bigint", (c) => c.notNull().primaryKey().references("stores.id"))
      .addColumn("movements", "bigint", (c) => c.notNull())
      .addColumn("counted_at", "bigint", (c) => c.notNull())
      .addColumn("applied_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
