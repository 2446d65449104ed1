import type { HubMigration } from "../schema-helpers.ts";

/**
 * Links found by variant, whatever the store. Every stock change marks each store that links
 * the changed variants (`markPushDirty`, in the movement's transaction), asking
 * `variant_links` by `variant_id` alone; the primary key starts with `store_id`, so that was a
 * scan of every link (on PostgreSQL a sequential scan per 250 variants of a movement batch: at
 * 100,000 variants in 5 stores, half a million links read for each batch).
 */
export const linksByVariant: HubMigration = {
  name: "0040-links-by-variant",
  async up({ db }) {
    await db.schema.createIndex("variant_links_variant").on("variant_links").column("variant_id").execute();
  },
};
