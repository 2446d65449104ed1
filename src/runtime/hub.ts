/**
 * One hub process: database (migrated), context, HTTP server and background workers.
 * `startHub` is what `tillbridge start` runs and what end-to-end tests start in-process.
 */
import type { FastifyInstance } from "fastify";
import type { Config } from "../config/config.ts";
import { type Clock, systemClock } from "../core/clock.ts";
import type { AppContext } from "../core/context.ts";
import { createLogger, type Logger } from "../core/logger.ts";
import { createMetrics } from "../core/metrics.ts";
import { openDatabase } from "../db/database.ts";
import { migrateToLatest } from "../db/migrate.ts";
import { buildServer } from "../http/server.ts";

export interface Hub {
  readonly ctx: AppContext;
  readonly server: FastifyInstance;
  /** Base URL the server listens on (after `listen`). */
  readonly url: string;
  stop(): Promise<void>;
}

export interface HubOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Listen on the configured port (default) or not at all (tests use `server.inject`). */
  readonly listen?: boolean;
}

export async function startHub(config: Config, options: HubOptions = {}): Promise<Hub> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const database = openDatabase(config.database);
  try {
    const applied = await migrateToLatest(database);
    if (applied.length > 0) logger.info({ migrations: applied }, "database migrated");
  } catch (err) {
    await database.close();
    throw err;
  }
  const ctx: AppContext = {
    config,
    database,
    clock: options.clock ?? systemClock,
    logger,
    metrics: createMetrics({ defaultMetrics: options.listen !== false }),
    stockListeners: [],
  };
  const server = await buildServer(ctx);
  let url = "";
  if (options.listen !== false) {
    url = await server.listen({ port: config.port, host: config.host });
    logger.info({ url, database: database.dialect }, "Tillbridge is listening");
  } else {
    await server.ready();
  }
  let stopped = false;
  return {
    ctx,
    server,
    get url() {
      return url;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      await database.close();
    },
  };
}
