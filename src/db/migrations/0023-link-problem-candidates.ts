import type { HubMigration } from "../schema-helpers.ts";

/**
 * The Shopify variants a link problem could be resolved with (issue 15, "pick one"): a JSON array
 * of variant GIDs for a SKU carried by several Shopify variants or a hub variant matching two, so
 * the console offers them without reading Shopify. Null: nothing to pick from.
 */
export const linkProblemCandidates: HubMigration = {
  name: "0023-link-problem-candidates",
  async up({ db }) {
    await db.schema.alterTable("link_problems").addColumn("candidates", "text").execute();
  },
};
