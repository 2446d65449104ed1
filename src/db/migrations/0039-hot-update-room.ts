import { sql } from "kysely";
import type { HubMigration } from "../schema-helpers.ts";

/**
 * Room on each page for the rows the hub rewrites all the time (PostgreSQL only; issue 13). An
 * update that changes no indexed column and finds room on its row's page is a heap-only tuple
 * (HOT): no new index entries, and the old version is pruned in passing. Full pages (the default
 * fillfactor 100) sent two thirds of the push marks' updates and half the sync state's through
 * every index (bench:fleet, 20 stores: 1.05 million mark updates, 34% HOT), and their tables and
 * indexes bloated between vacuums. The marks are bumped by every stock change of every store
 * that links the variant; the sync state by every push and echo; stock levels by every movement.
 * Applies to pages written from now on (a table rewritten by VACUUM FULL takes it whole).
 */
export const hotUpdateRoom: HubMigration = {
  name: "0039-hot-update-room",
  async up({ db, dialect }) {
    if (dialect !== "postgres") return;
    for (const [table, fillfactor] of [
      ["push_dirty", 50],
      ["inventory_sync", 70],
      ["stock_levels", 80],
    ] as const)
      await sql`alter table ${sql.table(table)} set (fillfactor = ${sql.lit(fillfactor)})`.execute(db);
  },
};
