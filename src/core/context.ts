/**
 * What every capability gets from the process that assembles the hub: the database, the
 * clock, the logger, metrics and configuration. Passed in, never imported as globals.
 */
import type { Transaction } from "kysely";
import type { Logger } from "pino";
import type { Config } from "../config/config.ts";
import type { Database, Db } from "../db/database.ts";
import type { Tables } from "../db/tables.ts";
import type { Clock } from "./clock.ts";
import type { Metrics } from "./metrics.ts";

/**
 * Told, inside the transaction that changed it, whose stock changed (the ledger's writers call
 * it; the inventory push marks the variants due). Here, below both, so the capabilities that
 * change stock and the one that pushes it need not import each other.
 */
export type StockChangeListener = (
  trx: Transaction<Tables>,
  variantIds: readonly number[],
  now: number,
) => Promise<void>;

/**
 * Told, inside the writing transaction, that what a store should show changed for every variant
 * it links (its location mapping changed): the inventory push marks them all due.
 */
export type StoreStockListener = (trx: Db, storeId: number, now: number) => Promise<void>;

export interface AppContext {
  readonly config: Config;
  readonly database: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** AES-256-GCM key for secrets at rest (Shopify tokens, outbound webhook secrets). */
  readonly secretKey: Buffer;
  /** Listeners told, inside the writing transaction, which variants' stock changed. */
  readonly stockListeners: StockChangeListener[];
  /** Listeners told that all of a store's linked variants must be pushed again. */
  readonly storeStockListeners?: StoreStockListener[];
}

export function stockChanged(ctx: AppContext): StockChangeListener {
  return async (trx, variantIds, now) => {
    for (const listener of ctx.stockListeners) await listener(trx, variantIds, now);
  };
}

export function storeStockChanged(ctx: AppContext): StoreStockListener {
  return async (trx, storeId, now) => {
    for (const listener of ctx.storeStockListeners ?? []) await listener(trx, storeId, now);
  };
}
