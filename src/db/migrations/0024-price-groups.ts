import type { HubMigration } from "../schema-helpers.ts";

/**
 * Price groups (issue 16, seed 004) and the catalog publish's bulk path:
 * - `price_groups`: the back office's price groups by code, each with one currency;
 * - `price_group_prices`: a group's price per variant (decimal strings in the group's currency)
 *   with the hash of what Shopify's price list should hold for it;
 * - `price_list_state`: per store and group, the Shopify price list and catalog the hub created,
 *   and the last failure;
 * - `price_list_prices`: per store, group and variant, what Shopify last confirmed (the hash and
 *   the variant it was set on): the level-triggered pair with `price_group_prices`;
 * - `catalog_publish_bulk`: a first publish running as a bulk mutation, so a crash resumes the
 *   operation it started instead of starting another.
 */
export const priceGroups: HubMigration = {
  name: "0024-price-groups",
  async up({ db, id }) {
    await id(db.schema.createTable("price_groups"))
      .addColumn("code", "text", (c) => c.notNull().unique())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("currency", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("price_group_prices")
      .addColumn("group_id", "bigint", (c) => c.notNull().references("price_groups.id"))
      .addColumn("variant_id", "bigint", (c) => c.notNull().references("variants.id"))
      .addColumn("price", "text", (c) => c.notNull())
      .addColumn("compare_at_price", "text")
      .addColumn("hash", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("price_group_prices_pk", ["group_id", "variant_id"])
      .execute();

    await db.schema
      .createTable("price_list_state")
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("group_id", "bigint", (c) => c.notNull().references("price_groups.id"))
      .addColumn("price_list_gid", "text")
      .addColumn("catalog_gid", "text")
      .addColumn("currency", "text")
      .addColumn("error", "text")
      .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
      .addColumn("synced_at", "bigint")
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("price_list_state_pk", ["store_id", "group_id"])
      .execute();

    await db.schema
      .createTable("price_list_prices")
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("group_id", "bigint", (c) => c.notNull().references("price_groups.id"))
      .addColumn("variant_id", "bigint", (c) => c.notNull())
      .addColumn("product_variant_gid", "text", (c) => c.notNull())
      .addColumn("hash", "text", (c) => c.notNull())
      .addColumn("confirmed_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("price_list_prices_pk", ["store_id", "group_id", "variant_id"])
      .execute();

    await id(db.schema.createTable("catalog_publish_bulk"))
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("operation_gid", "text")
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("lines", "text", (c) => c.notNull())
      .addColumn("error", "text")
      .addColumn("started_at", "bigint", (c) => c.notNull())
      .addColumn("finished_at", "bigint")
      .execute();
    await db.schema
      .createIndex("catalog_publish_bulk_store")
      .on("catalog_publish_bulk")
      .columns(["store_id", "status"])
      .execute();
  },
};
