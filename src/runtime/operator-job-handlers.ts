/**
 * What each kind of operator job does, assembled from the capabilities (the jobs core knows none
 * of them). Each runs inside the store's lease with its throttled, lease-guarded transport.
 */

import { runCatalogImport } from "../catalog/import/import-run.ts";
import { runOpeningCount } from "../catalog/import/opening-count.ts";
import { linkVariants, readConfirmedLevels } from "../catalog/linking.ts";
import { manualLinkInput, runManualLink } from "../catalog/manual-link.ts";
import { runPublishDryRun } from "../catalog/publish/index.ts";
import type { AppContext } from "../core/context.ts";
import type { OperatorJobKind } from "../db/tables.ts";
import { dryRun, initialDeltaSync, runDriftCheck } from "../inventory/push/drift.ts";
import type { PushDeps, PushStore } from "../inventory/push/reconciler.ts";
import { type JobHandler, runStoreJobs } from "../jobs/operator-jobs.ts";
import { jobRoutes } from "../jobs/routes.ts";
import type { JobRunner } from "../jobs/runner.ts";
import { syncLocations } from "../shops/locations.ts";
import { afterConnect } from "../shops/routes.ts";
import { BASE_WEBHOOK_TOPICS } from "../shops/webhook-subscriptions.ts";
import type { Capability } from "./capability.ts";

/**
 * A dry run's rows beyond this many stay out of the stored result (the counts cover them all);
 * the dry-run route asks for more (`maxRows`).
 */
const MAX_RESULT_ROWS = 1000;

export function operatorJobHandlers(
  ctx: AppContext,
  options: { webhookTopics?: readonly string[] } = {},
): Record<OperatorJobKind, JobHandler> {
  const deps = (): PushDeps => ({
    db: ctx.database.db,
    now: () => ctx.clock.now(),
    logger: ctx.logger,
    windowMs: ctx.config.coalesceWindowMs,
  });
  const pushStore = async (id: number): Promise<PushStore> => {
    const s = await ctx.database.db
      .selectFrom("stores")
      .select(["id", "domain", "inventory_mode"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    return { id: s.id, domain: s.domain, mode: s.inventory_mode };
  };
  return {
    link: async (store, transport, control) => {
      await control.progress({
        phase: "reading the store's variants and levels, matching by SKU and barcode",
      });
      return linkVariants(ctx.database, transport, store.id, ctx.clock.now());
    },
    dry_run: async (store, transport, control, params) => {
      await control.progress({ phase: "reading Shopify's levels and comparing them with the hub" });
      const onlyDifferences = params.onlyDifferences !== false;
      const maxRows = typeof params.maxRows === "number" ? params.maxRows : MAX_RESULT_ROWS;
      const report = await dryRun(deps(), await pushStore(store.id), transport, onlyDifferences);
      return {
        ...report,
        rows: report.rows.slice(0, maxRows),
        rowsOmitted: report.rowsOmitted + Math.max(0, report.rows.length - maxRows),
      };
    },
    drift_check: async (store, transport, control) => {
      await control.progress({ phase: "reading Shopify's levels, comparing and correcting" });
      return runDriftCheck(deps(), await pushStore(store.id), transport, "operator");
    },
    initial_sync: async (store, transport, control) => {
      await control.progress({ phase: "reading Shopify's levels and taking them as the delta baseline" });
      return initialDeltaSync(deps(), await pushStore(store.id), transport);
    },
    sync_locations: async (store, transport, control) => {
      await control.progress({ phase: "reading the store's locations" });
      await syncLocations(ctx.database, transport, store.id, ctx.clock.now());
      return null;
    },
    read_levels: async (store, transport, control) => {
      await control.progress({ phase: "reading Shopify's quantities at managed locations" });
      return readConfirmedLevels(ctx.database, transport, store.id, ctx.clock.now());
    },
    catalog_import: (store, transport, control, params) =>
      runCatalogImport({ ctx, pollMs: 250 }, store, transport, control, params),
    opening_count: (store, transport, control, params) =>
      runOpeningCount(ctx, store, transport, control, params),
    catalog_publish_dry_run: (store, transport, control, params) =>
      runPublishDryRun(ctx, store, transport, control, params),
    link_variant: (store, transport, _control, params) =>
      runManualLink(ctx.database, transport, store.id, manualLinkInput.parse(params), ctx.clock.now()),
    after_connect: async (store, transport, control, params) => {
      await control.progress({ phase: "registering webhooks and reading locations" });
      await afterConnect(ctx, transport, store, {
        webhooks: params.webhooks === true,
        topics: options.webhookTopics ?? BASE_WEBHOOK_TOPICS,
      });
      return null;
    },
  };
}

/**
 * Operator jobs as a capability (src/runtime/capability.ts): their routes, and the store pass
 * that runs a store's queued jobs (linking, dry runs, drift checks, imports, initial sync) under
 * the store's lease. Last of a store's passes.
 */
export function operatorJobsCapability(
  ctx: AppContext,
  handlers: Record<OperatorJobKind, JobHandler>,
  jobs: JobRunner,
): Capability {
  return {
    name: "operator-jobs",
    webhookTopics: [],
    registerWebhooks: () => {},
    routes: () => jobRoutes(ctx, jobs),
    jobs: [],
    storePasses: [
      {
        name: "jobs:operator",
        flow: null,
        everyMs: 1000,
        run: async (store, transport) => void (await runStoreJobs(ctx, store, transport, handlers)),
      },
    ],
  };
}
