/**
 * The hub's tables, as Kysely sees them. Glossary (see DESIGN.md "Words we use"):
 * - variant: sellable unit keyed by SKU; warehouse: stock-holding place in the hub.
 * - movement: one back-office ledger document, keyed by the back office's own id (`external_id`).
 * - ledger entry: the effect of a movement on one (variant, warehouse): a delta or an absolute count.
 *   A transfer has two entries, every other movement one.
 * - stock level: the running balance per (variant, warehouse): on hand, reserved, safety stock.
 * Times are epoch milliseconds (bigint), so both dialects compare them the same way.
 */
import type { Generated } from "kysely";

export interface ApiKeyTable {
  id: Generated<number>;
  name: string;
  /** First characters of the key, shown to operators so they can tell keys apart. */
  prefix: string;
  key_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface WarehouseTable {
  id: Generated<number>;
  code: string;
  name: string;
  created_at: number;
  updated_at: number;
}

export interface VariantTable {
  id: Generated<number>;
  sku: string;
  barcode: string | null;
  title: string | null;
  option1: string | null;
  option2: string | null;
  option3: string | null;
  created_at: number;
  updated_at: number;
}

export type MovementType = "receipt" | "sale" | "return" | "adjustment" | "transfer" | "count";

export interface MovementTable {
  id: Generated<number>;
  external_id: string;
  type: MovementType;
  variant_id: number;
  warehouse_id: number;
  to_warehouse_id: number | null;
  quantity: number;
  occurred_at: number;
  recorded_at: number;
  /** Hash of the movement as sent, to tell a harmless re-send from a conflicting one. */
  content_hash: string;
}

export interface LedgerEntryTable {
  id: Generated<number>;
  movement_id: number;
  variant_id: number;
  warehouse_id: number;
  kind: "delta" | "count";
  quantity: number;
  occurred_at: number;
}

export interface StockLevelTable {
  variant_id: number;
  warehouse_id: number;
  on_hand: number;
  reserved: number;
  safety_stock: number;
  /** The count that on hand is based on (occurred_at, movement id), or null before the first count. */
  last_count_at: number | null;
  last_count_seq: number | null;
  updated_at: number;
}

export interface Tables {
  api_keys: ApiKeyTable;
  warehouses: WarehouseTable;
  variants: VariantTable;
  movements: MovementTable;
  ledger_entries: LedgerEntryTable;
  stock_levels: StockLevelTable;
}
