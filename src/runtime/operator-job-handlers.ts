/**
 * What each kind of operator job does, assembled from the capabilities (the jobs core knows none
 * of them). Each runs inside the store's lease with its throttled, lease-guarded transport.
 */
import type { AppContext } from "../core/context.ts";
import type { OperatorJobKind } from "../db/tables.ts";
import { dryRun, initialDeltaSync, runDriftCheck } from "../inventory/push/drift.ts";
import type { PushDeps, PushStore } from "../inventory/push/reconciler.ts";
import type { JobHandler } from "../jobs/operator-jobs.ts";
import { linkVariants } from "../shops/linking.ts";

/** A dry run's rows beyond this many stay out of the stored result (the counts cover them all). */
const MAX_RESULT_ROWS = 1000;

export function operatorJobHandlers(ctx: AppContext): Record<OperatorJobKind, JobHandler> {
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
    dry_run: async (store, transport, control) => {
      await control.progress({ phase: "reading Shopify's levels and comparing them with the hub" });
      const report = await dryRun(deps(), await pushStore(store.id), transport, true);
      return {
        ...report,
        rows: report.rows.slice(0, MAX_RESULT_ROWS),
        rowsOmitted: report.rowsOmitted + Math.max(0, report.rows.length - MAX_RESULT_ROWS),
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
  };
}
