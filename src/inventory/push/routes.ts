/** The operator's view of a store's inventory push: status, dry run, drift checks. */
import { z } from "zod";
import type { AppContext } from "../../core/context.ts";
import { AppError } from "../../core/errors.ts";
import { route } from "../../core/route.ts";
import { answerFromJob, type JobRunner, waitMs, waitSecondsParam } from "../../jobs/runner.ts";
import { requireStore } from "../../shops/stores.ts";
import type { PushStore } from "./reconciler.ts";
import { driftParts } from "./summaries.ts";

export interface PushRouteDeps {
  /** Dry runs, drift checks and the initial sync run as jobs under the store's lease. */
  readonly jobs: JobRunner;
}

/** A dry run answered over HTTP keeps up to this many rows (the report's own cap). */
const DRY_RUN_ROUTE_ROWS = 5000;

const storeParams = z.object({ domain: z.string().min(1) });

async function pushStore(ctx: AppContext, domain: string): Promise<PushStore> {
  const s = await requireStore(ctx.database, domain);
  if (s.status !== "active")
    throw new AppError("CONFLICT", `store ${domain} is disconnected; reconnect it first`);
  return { id: s.id, domain: s.domain, mode: s.inventory_mode };
}

export function pushRoutes(ctx: AppContext, deps: PushRouteDeps) {
  const asJob =
    " Runs as a job under the store's lease: 200 with the report once done within `waitSeconds`, else 202 with the job (Location: /api/v1/jobs/:id).";
  return [
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/inventory/status",
      tag: "inventory push",
      auth: "store.read",
      summary:
        "The inventory push of one store: mode, flow state, items waiting, batches in flight or failed, items Shopify refused (with their error and next retry), last drift check.",
      params: storeParams,
      async handler({ params }) {
        const db = ctx.database.db;
        const s = await requireStore(ctx.database, params.domain);
        const flow = await db
          .selectFrom("flows")
          .select("state")
          .where("store_id", "=", s.id)
          .where("flow", "=", "inventory_push")
          .executeTakeFirst();
        const waiting = await db
          .selectFrom("push_dirty")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("store_id", "=", s.id)
          .executeTakeFirstOrThrow();
        const batches = await db
          .selectFrom("push_batches")
          .select(["status", (eb) => eb.fn.countAll<number>().as("n")])
          .where("store_id", "=", s.id)
          .groupBy("status")
          .execute();
        const lastDrift = await db
          .selectFrom("drift_runs")
          .selectAll()
          .where("store_id", "=", s.id)
          .orderBy("id", "desc")
          .limit(1)
          .executeTakeFirst();
        const failed = await db
          .selectFrom("push_batches")
          .select(["id", "idempotency_key", "last_error", "created_at"])
          .where("store_id", "=", s.id)
          .where("status", "=", "failed")
          .orderBy("id", "desc")
          .limit(20)
          .execute();
        const failing = await db
          .selectFrom("inventory_sync as i")
          .innerJoin("variants as v", "v.id", "i.variant_id")
          .leftJoin("store_locations as sl", (j) =>
            j.onRef("sl.store_id", "=", "i.store_id").onRef("sl.location_gid", "=", "i.location_gid"),
          )
          .select([
            "v.sku",
            "i.inventory_item_gid",
            "i.location_gid",
            "sl.name",
            "i.error",
            "i.error_attempts",
            "i.retry_at",
          ])
          .where("i.store_id", "=", s.id)
          .where("i.error", "is not", null)
          .orderBy("v.sku")
          .limit(100)
          .execute();
        return {
          store: params.domain,
          status: s.status,
          mode: s.inventory_mode,
          flow: flow?.state ?? "disabled",
          waitingVariants: Number(waiting.n),
          batches: Object.fromEntries(batches.map((b) => [b.status, Number(b.n)])),
          recentFailures: failed.map((f) => ({
            batchId: f.id,
            key: f.idempotency_key,
            error: f.last_error,
            at: new Date(f.created_at).toISOString(),
          })),
          failingItems: failing.map((f) => ({
            sku: f.sku,
            inventoryItemId: f.inventory_item_gid,
            locationId: f.location_gid,
            location: f.name ?? f.location_gid,
            error: f.error,
            attempts: f.error_attempts,
            retryAt: f.retry_at === null ? null : new Date(f.retry_at).toISOString(),
          })),
          lastDriftCheck: lastDrift
            ? {
                status: lastDrift.status,
                // Parts that add up, also for runs stored before they did (summaries.ts).
                ...driftParts(lastDrift),
                error: lastDrift.error,
                at: new Date(lastDrift.started_at).toISOString(),
              }
            : null,
        };
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/inventory/dry-run",
      tag: "inventory push",
      auth: "store.operate",
      summary: `What the push would change, per SKU and location: Shopify's on hand, available and committed now, what the stock model says they should be, the difference and its likely cause, without writing to Shopify. Required before the inventory flow is enabled.${asJob}`,
      params: storeParams,
      query: z.object({
        onlyDifferences: z.enum(["true", "false"]).optional(),
        waitSeconds: waitSecondsParam,
      }),
      async handler({ params, query, reply }) {
        const store = await pushStore(ctx, params.domain);
        const job = await deps.jobs.run(
          store,
          "dry_run",
          { onlyDifferences: query.onlyDifferences === "true", maxRows: DRY_RUN_ROUTE_ROWS },
          waitMs(query.waitSeconds),
        );
        return answerFromJob(reply, job, (result) => result);
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/inventory/initial-sync",
      tag: "inventory push",
      auth: "store.operate",
      summary: `Delta mode only: read Shopify's count everywhere and send the hub's value once where they differ (the dry run's keptByDelta); afterwards only the hub's own changes go out again.${asJob}`,
      params: storeParams,
      query: z.object({ waitSeconds: waitSecondsParam }),
      async handler({ params, query, reply }) {
        const store = await pushStore(ctx, params.domain);
        const job = await deps.jobs.run(store, "initial_sync", null, waitMs(query.waitSeconds));
        return answerFromJob(reply, job, (result) => result);
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/inventory/drift-check",
      tag: "inventory push",
      auth: "store.operate",
      summary: `Read Shopify's levels for every linked item now and compare them with the stock model (the dry run's comparison): report every difference with its likely cause and, in absolute mode, correct it.${asJob}`,
      params: storeParams,
      query: z.object({ waitSeconds: waitSecondsParam }),
      async handler({ params, query, reply }) {
        const store = await pushStore(ctx, params.domain);
        const job = await deps.jobs.run(store, "drift_check", null, waitMs(query.waitSeconds));
        return answerFromJob(reply, job, (result) => result);
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/inventory/drift-checks",
      tag: "inventory push",
      auth: "store.read",
      summary: "Recent drift checks with their summaries.",
      params: storeParams,
      async handler({ params }) {
        const store = await requireStore(ctx.database, params.domain);
        const runs = await ctx.database.db
          .selectFrom("drift_runs")
          .selectAll()
          .where("store_id", "=", store.id)
          .orderBy("id", "desc")
          .limit(50)
          .execute();
        return {
          items: runs.map((r) => ({
            id: r.id,
            trigger: r.trigger,
            status: r.status,
            ...driftParts(r),
            error: r.error,
            startedAt: new Date(r.started_at).toISOString(),
            finishedAt: r.finished_at === null ? null : new Date(r.finished_at).toISOString(),
          })),
        };
      },
    }),
  ];
}
