import type { HubMigration } from "../schema-helpers.ts";

/** A worker's time-limited ownership of a store's flows (several workers on PostgreSQL). */
export const leases: HubMigration = {
  name: "0005-leases",
  async up({ db }) {
    await db.schema
      .createTable("store_leases")
      .addColumn("store_id", "bigint", (c) => c.primaryKey())
      .addColumn("owner", "text", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
