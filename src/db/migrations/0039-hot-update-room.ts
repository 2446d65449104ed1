import { sql } from "kysely";
import type { HubMigration } from "../schema-helpers.ts";

/**
 * Room on each page of the push's marks (PostgreSQL only; issue 13). Every stock change bumps
 * the mark of every store that links the variant, so under a stream of movements `push_dirty` is
 * rewritten thousands of times a second. An update that changes no indexed column and finds room
 * on its row's page is a heap-only tuple (HOT): no new index entries, and the old version is
 * pruned in passing. With full pages (the default fillfactor 100) two thirds of 1.05 million mark
 * updates in a bench:fleet minute went through both indexes, and the table and its indexes
 * bloated between vacuums. bench:fleet, 20 stores, 1 process, side by side: 6,798 -> 8,633
 * updates/s, PostgreSQL 105 -> 72 ms per 1,000 updates.
 *
 * The sync state and the stock levels were tried too (70 and 80): 9,012 updates/s, but the
 * whole-store paths (dry run, drift check, first push of 100,000 variants, test/large-store) took
 * half as long again, scanning the emptier pages. They keep the default.
 */
export const hotUpdateRoom: HubMigration = {
  name: "0039-hot-update-room",
  async up({ db, dialect }) {
    if (dialect !== "postgres") return;
    await sql`alter table push_dirty set (fillfactor = 50)`.execute(db);
  },
};
