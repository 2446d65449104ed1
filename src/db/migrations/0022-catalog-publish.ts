import type { HubMigration } from "../schema-helpers.ts";

/**
 * Publishing the hub's catalog to Shopify (issue 16), level-triggered like the inventory push:
 * - `catalog_publish_settings`: a store's publish rules (JSON, validated by zod before saving)
 *   with their hash, and the GID of the unique-values metafield definition that carries the
 *   hub's product key (`identifier.customId`), created once per store;
 * - `catalog_publish_state`: per store and product, the hash of the desired Shopify product
 *   (after the store's rules) and the hash Shopify last confirmed, the same pair for prices (a
 *   price change is a cheap update, not a whole product), the product content and rules the
 *   desired hashes were computed from, what the hub created in Shopify (variants by SKU with
 *   their inventory items, media, metafields: only these may ever be deleted), and the outcome
 *   of the last attempt (refused with Shopify's userErrors, retried with backoff);
 * - `catalog_publish_dry_runs`: the rows of a dry run (operator job), per product.
 */
export const catalogPublish: HubMigration = {
  name: "0022-catalog-publish",
  async up({ db, id }) {
    await db.schema
      .createTable("catalog_publish_settings")
      .addColumn("store_id", "bigint", (c) => c.notNull().primaryKey().references("stores.id"))
      .addColumn("rules", "text", (c) => c.notNull())
      .addColumn("rules_hash", "text", (c) => c.notNull())
      .addColumn("custom_id_definition_gid", "text")
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("catalog_publish_state")
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("product_id", "bigint", (c) => c.notNull().references("products.id"))
      .addColumn("source_hash", "text", (c) => c.notNull())
      .addColumn("rules_hash", "text", (c) => c.notNull())
      .addColumn("desired_hash", "text", (c) => c.notNull())
      .addColumn("confirmed_hash", "text")
      .addColumn("price_hash", "text", (c) => c.notNull())
      .addColumn("confirmed_price_hash", "text")
      .addColumn("shopify_product_gid", "text")
      .addColumn("owned", "text")
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("error", "text")
      .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
      .addColumn("marked_at", "bigint", (c) => c.notNull())
      .addColumn("published_at", "bigint")
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("catalog_publish_state_pk", ["store_id", "product_id"])
      .execute();
    await db.schema
      .createIndex("catalog_publish_state_due")
      .on("catalog_publish_state")
      .columns(["store_id", "status", "next_attempt_at"])
      .execute();

    await id(db.schema.createTable("catalog_publish_dry_runs"))
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("job_id", "bigint", (c) => c.notNull())
      .addColumn("product_key", "text", (c) => c.notNull())
      .addColumn("outcome", "text", (c) => c.notNull())
      .addColumn("detail", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("catalog_publish_dry_runs_job")
      .on("catalog_publish_dry_runs")
      .columns(["job_id", "id"])
      .execute();
  },
};
