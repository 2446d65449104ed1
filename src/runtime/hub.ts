/**
 * One hub process: database (migrated), context, HTTP server and background workers.
 * `startHub` is what `tillbridge start` runs and what end-to-end tests start in-process.
 */
import type { FastifyInstance } from "fastify";
import { catalogCapability, requirePublishDryRun } from "../catalog/index.ts";
import { PUBLISH_IN_FLIGHT_MAX } from "../catalog/publish/reconciler.ts";
import type { Config } from "../config/config.ts";
import { consolePlugin } from "../console/plugin.ts";
import { type Clock, systemClock } from "../core/clock.ts";
import type { AppContext } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { createLogger, type Logger } from "../core/logger.ts";
import { createMetrics } from "../core/metrics.ts";
import { customersCapability } from "../customers/index.ts";
import { openDatabase } from "../db/database.ts";
import { migrateToLatest } from "../db/migrate.ts";
import { upkeepJob } from "../db/upkeep.ts";
import { fulfillmentCapability } from "../fulfillment/index.ts";
import { buildServer } from "../http/server.ts";
import { inventoryCapability } from "../inventory/index.ts";
import { hasDryRun, warnOfDeltaDifferences } from "../inventory/push/drift.ts";
import { pushOnInventoryMode } from "../inventory/push/inventory-mode.ts";
import { markPushDirty, markStoreDirtyFor } from "../inventory/push/push-store.ts";
import { runStoreJobs } from "../jobs/operator-jobs.ts";
import { createJobRunner } from "../jobs/runner.ts";
import { ordersCapability } from "../orders/index.ts";
import { pricesCapability } from "../prices/index.ts";
import type { ShopifyAdminTransport } from "../shopify/admin-client.ts";
import { createAdminTransport } from "../shopify/admin-client.ts";
import { registerSyncHealth } from "../shops/health-metrics.ts";
import { createShops, shopsCapability } from "../shops/index.ts";
import { openSecretKey } from "../shops/secrets.ts";
import { BASE_WEBHOOK_TOPICS } from "../shops/webhook-subscriptions.ts";
import { type Capability, capabilityTopics, registerWithWorker } from "./capability.ts";
import { fleetCapability } from "./fleet-routes.ts";
import { operatorJobHandlers, operatorJobsCapability } from "./operator-job-handlers.ts";
import { Worker } from "./worker.ts";

/** Shopify calls of one store in flight at once, at most (the bucket bounds them too). */
const STORE_CALLS_IN_FLIGHT = 4;
/**
 * ... across the default lane and the lanes of flows that choose their own concurrency (the
 * catalog publish: up to PUBLISH_IN_FLIGHT_MAX products at once on a large plan).
 */
const STORE_CALLS_IN_FLIGHT_TOTAL = STORE_CALLS_IN_FLIGHT + PUBLISH_IN_FLIGHT_MAX;

export interface Hub {
  readonly ctx: AppContext;
  readonly server: FastifyInstance;
  readonly worker: Worker;
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
  // Before anything else (and before any lease): the key must open the secrets already stored.
  let secretKey: Buffer;
  try {
    secretKey = await openSecretKey(database.db, config, logger, (options.clock ?? systemClock).now());
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
    secretKey,
    stockListeners: [markPushDirty],
    storeStockListeners: [(trx, storeId, now) => markStoreDirtyFor(trx, storeId, "all", now)],
    inventoryModeListeners: [pushOnInventoryMode],
    storeWorkListeners: [],
  };
  // The capabilities whose topics stores subscribe to, each declaring all its parts in one
  // index.ts (src/runtime/capability.ts); shops and operator jobs join them below, once the
  // topics and the job runner they need exist.
  const inventory = inventoryCapability(ctx, { driftIntervalMs: config.driftCheckIntervalMs });
  const orders = ordersCapability(ctx);
  const fulfillment = fulfillmentCapability(ctx);
  const catalog = catalogCapability(ctx);
  const webhookTopics = [
    ...BASE_WEBHOOK_TOPICS,
    ...capabilityTopics([inventory, orders, fulfillment, catalog]),
  ];
  // Store work asked for over HTTP runs as a job under the store's lease (see src/jobs/runner.ts).
  const jobHandlers = operatorJobHandlers(ctx, { webhookTopics });
  const jobs = createJobRunner(ctx, (store) =>
    worker.runNow(store, (transport) => runStoreJobs(ctx, store, transport, jobHandlers)),
  );
  // Webhook health, deprecation notices and the API version's end of life in /metrics (issue 18).
  const syncHealth = registerSyncHealth(ctx);
  const shops = createShops(ctx, {
    key: ctx.secretKey,
    webhookTopics,
    jobs,
    createTransport: (o) =>
      createAdminTransport({
        ...o,
        // A store's calls overlap up to this many, within its budget: with one at a time, a
        // call's latency (not the budget) bounded the push (src/shopify/admin-client.ts).
        maxInFlight: STORE_CALLS_IN_FLIGHT,
        maxInFlightTotal: STORE_CALLS_IN_FLIGHT_TOTAL,
        onDeprecated: (operation, reason) => syncHealth.onDeprecated(o.metricsLabel, operation, reason),
        onCall: (outcome, cost) => {
          ctx.metrics.shopifyCalls.inc({ store: o.metricsLabel, outcome });
          if (cost)
            ctx.metrics.shopifyAvailablePoints.set(
              { store: o.metricsLabel },
              cost.throttleStatus.currentlyAvailable,
            );
        },
      }) satisfies ShopifyAdminTransport,
    async beforeEnable(storeId, flow) {
      if (flow === "catalog_publish") return requirePublishDryRun(database.db, storeId);
      if (flow !== "inventory_push") return;
      if (!(await hasDryRun(database.db, storeId))) {
        throw new AppError(
          "CONFLICT",
          "run a dry run first (POST /api/v1/stores/:domain/inventory/dry-run) and check what the push would change",
        );
      }
      // Enabling makes every linked item due once, so Shopify ends up showing the hub's values.
      await markStoreDirtyFor(database.db, storeId, "all", ctx.clock.now());
      await warnOfDeltaDifferences(database.db, storeId, ctx.clock.now());
    },
  });
  // Listed once, in the order their store passes run (the inventory push first of all, operator
  // jobs last).
  const capabilities: readonly Capability[] = [
    inventory,
    orders,
    fulfillment,
    shopsCapability(ctx, shops, { webhookTopics }),
    catalog,
    pricesCapability(ctx),
    customersCapability(ctx),
    operatorJobsCapability(ctx, jobHandlers, jobs),
    fleetCapability(ctx, () => (config.worker ? worker.workerId : null)),
  ];
  for (const c of capabilities) c.registerWebhooks(shops.webhookHandlers);
  const worker = new Worker(ctx, shops.transportFor, {
    leaseTtlMs: config.leaseTtlMs,
    leaseHeartbeatMs: config.leaseHeartbeatMs,
  });
  registerWithWorker(worker, capabilities);
  // Dead row versions and statistics of the hub's busiest tables, where the server's autovacuum
  // does not keep up (src/db/upkeep.ts).
  if (database.dialect === "postgres") worker.addJob(upkeepJob(database.db, logger));
  // A worker-only process (API=off) serves /healthz and /metrics alone.
  const server = await buildServer(ctx, {
    api: config.api,
    routes: config.api ? capabilities.flatMap((c) => c.routes({ jobs })) : [],
    plugins: config.api ? [shops.webhookPlugin, consolePlugin] : [],
  });
  let url = "";
  if (options.listen !== false) {
    url = await server.listen({ port: config.port, host: config.host });
    logger.info({ url, database: database.dialect }, "Tillbridge is listening");
  } else {
    await server.ready();
  }
  if (config.worker) worker.start();
  let stopped = false;
  return {
    ctx,
    server,
    worker,
    get url() {
      return url;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await worker.stop();
      await server.close();
      await database.close();
    },
  };
}
