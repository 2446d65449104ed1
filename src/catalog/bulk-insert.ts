/**
 * Many rows in one INSERT, the way each database takes them best. SQLite: a multi-row VALUES list
 * (the caller keeps it under SQLite's 32,766 parameters). PostgreSQL: one array per column,
 * `INSERT … SELECT * FROM unnest($1::text[], $2::int8[], …)`, so a 1,000-row statement has a
 * dozen parameters instead of 17,000: what PostgreSQL parses, binds and plans, and what the
 * driver sends, no longer grows with the rows (the import's apply was twice as slow on
 * PostgreSQL as on SQLite with VALUES lists). The builder returned takes `onConflict` and
 * `returning` as any insert does.
 */
import { PostgresAdapter, sql, type Transaction } from "kysely";
import type { Tables } from "../db/tables.ts";

/** PostgreSQL's type of each column, for its array (NULLs need it too). */
export type PgColumnType = "text" | "int8" | "int4" | "float8";

export function insertRows<T extends keyof Tables & string>(
  trx: Transaction<Tables>,
  table: T,
  columns: Readonly<Record<string, PgColumnType>>,
  rows: readonly Record<string, unknown>[],
) {
  const builder = trx.insertInto(table);
  if (!(trx.getExecutor().adapter instanceof PostgresAdapter)) return builder.values(rows as never);
  const names = Object.keys(columns);
  const arrays = names.map((n) => sql`${rows.map((r) => r[n] ?? null)}::${sql.raw(columns[n]!)}[]`);
  return builder.columns(names as never).expression(sql`select * from unnest(${sql.join(arrays)})` as never);
}

export const VARIANT_COLUMNS: Readonly<Record<string, PgColumnType>> = {
  sku: "text",
  barcode: "text",
  title: "text",
  option1: "text",
  option2: "text",
  option3: "text",
  product_id: "int8",
  position: "int4",
  weight_value: "float8",
  weight_unit: "text",
  taxable: "int4",
  inventory_tracked: "int4",
  price_minor: "int8",
  compare_at_price_minor: "int8",
  cost_minor: "int8",
  created_at: "int8",
  updated_at: "int8",
};

export const VARIANT_LINK_COLUMNS: Readonly<Record<string, PgColumnType>> = {
  store_id: "int8",
  variant_id: "int8",
  product_variant_gid: "text",
  inventory_item_gid: "text",
  matched_by: "text",
  linked_at: "int8",
  shopify_product_gid: "text",
  last_seen: "text",
  last_seen_at: "int8",
};

export const PRODUCT_LINK_COLUMNS: Readonly<Record<string, PgColumnType>> = {
  store_id: "int8",
  product_id: "int8",
  shopify_product_gid: "text",
  last_seen: "text",
  last_seen_at: "int8",
  linked_at: "int8",
};

export const PRODUCT_OPTION_COLUMNS: Readonly<Record<string, PgColumnType>> = {
  product_id: "int8",
  position: "int4",
  name: "text",
  option_values: "text",
};

export const PRODUCT_IMAGE_COLUMNS: Readonly<Record<string, PgColumnType>> = {
  product_id: "int8",
  position: "int4",
  url: "text",
  alt: "text",
};

export const PRODUCT_METAFIELD_COLUMNS: Readonly<Record<string, PgColumnType>> = {
  product_id: "int8",
  namespace: "text",
  key: "text",
  type: "text",
  value: "text",
};
