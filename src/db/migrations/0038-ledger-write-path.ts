import { sql } from "kysely";
import type { HubMigration } from "../schema-helpers.ts";

/**
 * The ledger's write path on PostgreSQL (issue 13: a ledger that grows with processes). A
 * foreign key is checked row by row: each movement checked its variant and both warehouses, each
 * ledger entry its movement, with a `SELECT … FOR KEY SHARE` on the referenced row. That was a
 * fifth of the database's CPU per movement, and with several processes every batch key-share
 * locked the same few warehouse rows (multixacts on a handful of rows, all writers in one queue).
 *
 * These keys protect nothing the ingest does not: it looks every SKU and warehouse code up and
 * refuses the whole batch for an unknown one, in the transaction that writes the rows; entries
 * are written with the ids the movement insert returned; and variants, warehouses and movements
 * are never deleted. The other tables keep their keys, and SQLite keeps them all (checked in
 * process, without row locks; dropping one there means rebuilding the table).
 */
export const ledgerWritePath: HubMigration = {
  name: "0038-ledger-write-path",
  async up({ db, dialect }) {
    if (dialect !== "postgres") return;
    for (const [table, constraint] of [
      ["movements", "movements_variant_id_fkey"],
      ["movements", "movements_warehouse_id_fkey"],
      ["movements", "movements_to_warehouse_id_fkey"],
      ["ledger_entries", "ledger_entries_movement_id_fkey"],
    ] as const)
      await sql`alter table ${sql.table(table)} drop constraint if exists ${sql.id(constraint)}`.execute(db);
  },
};
