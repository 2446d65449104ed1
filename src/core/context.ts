/**
 * What every capability gets from the process that assembles the hub: the database, the
 * clock, the logger, metrics and configuration. Passed in, never imported as globals.
 */
import type { Transaction } from "kysely";
import type { Logger } from "pino";
import type { Config } from "../config/config.ts";
import type { Database, Db } from "../db/database.ts";
import type { InventoryMode, Tables } from "../db/tables.ts";
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

/**
 * Told, after it was saved, that a store's inventory mode changed (shops saves it; the inventory
 * push reacts: in absolute mode every linked item is due once, read back first).
 */
export type InventoryModeListener = (
  db: Db,
  storeId: number,
  mode: InventoryMode,
  now: number,
) => Promise<void>;

/**
 * Told that work for a store's woken pass arrived (a delivery written to its inbox and
 * committed): the worker runs the pass `signal` of the store `shop` soon, in whichever process
 * holds the store (src/runtime/worker.ts `StorePass.wakeOn`).
 */
export type StoreWorkListener = (signal: string, shop: string) => Promise<void>;

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
  /** Listeners told that a store's inventory mode changed. */
  readonly inventoryModeListeners?: InventoryModeListener[];
  /** Listeners told that a store's woken pass has work (the worker registers itself). */
  readonly storeWorkListeners?: StoreWorkListener[];
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

/**
 * Work for the store's pass `signal` was committed: wakes it. Never fails the caller (a webhook
 * already stored): a signal that does not arrive waits for the pass's safety interval.
 */
export async function storeWorkArrived(ctx: AppContext, signal: string, shop: string): Promise<void> {
  for (const listener of ctx.storeWorkListeners ?? []) {
    try {
      await listener(signal, shop);
    } catch (err) {
      ctx.logger.warn(
        { err, signal, shop },
        "store work signal not sent; the pass's safety interval picks the work up",
      );
    }
  }
}
