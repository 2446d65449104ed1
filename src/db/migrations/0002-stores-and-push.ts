import type { HubMigration } from "../schema-helpers.ts";

/** Connected stores, location ↔ warehouse mapping, variant links, flows and the inventory push. */
export const storesAndPush: HubMigration = {
  name: "0002-stores-and-push",
  async up({ db, id }) {
    await id(db.schema.createTable("stores"))
      .addColumn("domain", "text", (c) => c.notNull().unique())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("auth_kind", "text", (c) => c.notNull()) // oauth | custom_app
      .addColumn("access_token_enc", "text")
      .addColumn("access_token_expires_at", "bigint")
      .addColumn("refresh_token_enc", "text")
      .addColumn("refresh_token_expires_at", "bigint")
      .addColumn("scopes", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull()) // active | disconnected
      .addColumn("status_reason", "text")
      .addColumn("inventory_mode", "text", (c) => c.notNull()) // delta | absolute
      .addColumn("connected_at", "bigint", (c) => c.notNull())
      .addColumn("disconnected_at", "bigint")
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("oauth_states")
      .addColumn("state", "text", (c) => c.primaryKey())
      .addColumn("shop", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .addColumn("used_at", "bigint")
      .execute();

    await id(db.schema.createTable("store_locations"))
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("location_gid", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("active_in_shopify", "integer", (c) => c.notNull())
      .addColumn("managed", "integer", (c) => c.notNull())
      .addColumn("is_default", "integer", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addUniqueConstraint("store_locations_gid", ["store_id", "location_gid"])
      .execute();

    await db.schema
      .createTable("location_warehouses")
      .addColumn("store_location_id", "bigint", (c) => c.notNull().references("store_locations.id"))
      .addColumn("warehouse_id", "bigint", (c) => c.notNull().references("warehouses.id"))
      .addPrimaryKeyConstraint("location_warehouses_pk", ["store_location_id", "warehouse_id"])
      .execute();

    await db.schema
      .createTable("variant_links")
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("variant_id", "bigint", (c) => c.notNull().references("variants.id"))
      .addColumn("product_variant_gid", "text", (c) => c.notNull())
      .addColumn("inventory_item_gid", "text", (c) => c.notNull())
      .addColumn("matched_by", "text", (c) => c.notNull()) // sku | barcode
      .addColumn("linked_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("variant_links_pk", ["store_id", "variant_id"])
      .addUniqueConstraint("variant_links_item", ["store_id", "inventory_item_gid"])
      .execute();

    await id(db.schema.createTable("link_problems"))
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("sku", "text")
      .addColumn("barcode", "text")
      .addColumn("product_variant_gid", "text")
      .addColumn("detail", "text", (c) => c.notNull())
      .addColumn("detected_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("link_problems_store").on("link_problems").column("store_id").execute();

    await db.schema
      .createTable("flows")
      .addColumn("store_id", "bigint", (c) => c.notNull().references("stores.id"))
      .addColumn("flow", "text", (c) => c.notNull())
      .addColumn("state", "text", (c) => c.notNull()) // disabled | enabled | paused
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("flows_pk", ["store_id", "flow"])
      .execute();

    // Variants whose desired quantity may differ from what the store shows. `generation` grows
    // with every mark, so a push only clears the marks it has seen.
    await db.schema
      .createTable("push_dirty")
      .addColumn("store_id", "bigint", (c) => c.notNull())
      .addColumn("variant_id", "bigint", (c) => c.notNull())
      .addColumn("first_marked_at", "bigint", (c) => c.notNull())
      .addColumn("generation", "integer", (c) => c.notNull())
      .addPrimaryKeyConstraint("push_dirty_pk", ["store_id", "variant_id"])
      .execute();

    // Per (store, inventory item, location): what the hub last pushed and what Shopify confirmed.
    await db.schema
      .createTable("inventory_sync")
      .addColumn("store_id", "bigint", (c) => c.notNull())
      .addColumn("inventory_item_gid", "text", (c) => c.notNull())
      .addColumn("location_gid", "text", (c) => c.notNull())
      .addColumn("variant_id", "bigint", (c) => c.notNull())
      .addColumn("pushed", "integer") // hub sellable at the last push (delta mode's baseline)
      .addColumn("confirmed", "integer") // Shopify's `available` as last confirmed
      .addColumn("confirmed_at", "bigint")
      .addPrimaryKeyConstraint("inventory_sync_pk", ["store_id", "inventory_item_gid", "location_gid"])
      .execute();
    await db.schema
      .createIndex("inventory_sync_variant")
      .on("inventory_sync")
      .columns(["store_id", "variant_id"])
      .execute();

    // Outbox of inventory mutations: written before the call, so a crash resends the very same
    // request (same idempotency key) instead of computing a new one.
    await id(db.schema.createTable("push_batches"))
      .addColumn("store_id", "bigint", (c) => c.notNull())
      .addColumn("idempotency_key", "text", (c) => c.notNull().unique())
      .addColumn("mode", "text", (c) => c.notNull())
      .addColumn("payload", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull()) // pending | done | failed
      .addColumn("attempts", "integer", (c) => c.notNull())
      .addColumn("last_error", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("finished_at", "bigint")
      .execute();
    await db.schema
      .createIndex("push_batches_pending")
      .on("push_batches")
      .columns(["store_id", "status"])
      .execute();

    await id(db.schema.createTable("activity_log"))
      .addColumn("store_id", "bigint")
      .addColumn("flow", "text", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("level", "text", (c) => c.notNull()) // info | warn | error
      .addColumn("message", "text", (c) => c.notNull())
      .addColumn("data", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("activity_log_store")
      .on("activity_log")
      .columns(["store_id", "id"])
      .execute();

    await id(db.schema.createTable("drift_runs"))
      .addColumn("store_id", "bigint", (c) => c.notNull())
      .addColumn("trigger", "text", (c) => c.notNull()) // schedule | operator
      .addColumn("status", "text", (c) => c.notNull()) // running | done | failed
      .addColumn("checked", "integer", (c) => c.notNull())
      .addColumn("drifted", "integer", (c) => c.notNull())
      .addColumn("fixed", "integer", (c) => c.notNull())
      .addColumn("error", "text")
      .addColumn("started_at", "bigint", (c) => c.notNull())
      .addColumn("finished_at", "bigint")
      .execute();
  },
};
