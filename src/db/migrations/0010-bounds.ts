import type { HubMigration } from "../schema-helpers.ts";

/**
 * Columns that hold every value the API accepts (issue 13): a movement's quantity is bounded to
 * ±10^9 at the edge, but stock levels sum many of them, so quantities are 64-bit on both
 * databases. SQLite's INTEGER already is; on PostgreSQL `integer` (int4) columns become `bigint`.
 */
const QUANTITY_COLUMNS: readonly (readonly [table: string, columns: readonly string[]])[] = [
  ["movements", ["quantity"]],
  ["ledger_entries", ["quantity"]],
  ["stock_levels", ["on_hand", "reserved", "safety_stock"]],
  ["inventory_sync", ["pushed", "confirmed"]],
  ["order_lines", ["quantity", "current_quantity", "fulfilled_quantity", "fulfillable_quantity"]],
  ["reservations", ["quantity"]],
  ["shipment_lines", ["quantity", "fulfilled_quantity"]],
  ["fulfillment_records", ["quantity", "hub_quantity", "sale_quantity"]],
];

export const bounds: HubMigration = {
  name: "0010-bounds",
  async up({ db, dialect }) {
    if (dialect !== "postgres") return;
    for (const [table, columns] of QUANTITY_COLUMNS) {
      let alter = db.schema.alterTable(table);
      for (const column of columns) {
        await alter.alterColumn(column, (c) => c.setDataType("bigint")).execute();
        alter = db.schema.alterTable(table);
      }
    }
  },
};
