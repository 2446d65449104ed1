import type { HubMigration } from "../schema-helpers.ts";

/** A custom-app store's own webhook secret (encrypted like its token); null for OAuth stores. */
export const shopsExtra: HubMigration = {
  name: "0003-shops-extra",
  async up({ db }) {
    await db.schema.alterTable("stores").addColumn("webhook_secret_enc", "text").execute();
  },
};
