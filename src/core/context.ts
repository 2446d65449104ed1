/**
 * What every capability gets from the process that assembles the hub: the database, the
 * clock, the logger, metrics and configuration. Passed in, never imported as globals.
 */
import type { Logger } from "pino";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/database.ts";
import type { StockChangeListener } from "../inventory/ledger-store.ts";
import type { Clock } from "./clock.ts";
import type { Metrics } from "./metrics.ts";

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
}

export function stockChanged(ctx: AppContext): StockChangeListener {
  return async (trx, variantIds, now) => {
    for (const listener of ctx.stockListeners) await listener(trx, variantIds, now);
  };
}
