import type { HubMigration } from "../schema-helpers.ts";

/**
 * Store ownership that is safe by construction (issue 13): a lease generation that fences the
 * writes of a paused or partitioned former owner; the live hub processes (for a fair spread of
 * stores); a flow's permanent failure and its reason; and the hub's own facts (the key check
 * value that proves a process holds the ENCRYPTION_KEY the stored secrets were sealed with).
 */
export const ownership: HubMigration = {
  name: "0009-ownership",
  async up({ db }) {
    await db.schema
      .alterTable("store_leases")
      .addColumn("generation", "bigint", (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createTable("hub_workers")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("started_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.alterTable("flows").addColumn("failure", "text").execute();
    await db.schema.alterTable("flows").addColumn("failed_at", "bigint").execute();
    await db.schema
      .createTable("hub_meta")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("value", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
