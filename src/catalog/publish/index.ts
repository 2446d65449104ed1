/**
 * The catalog publish (issue 16): what the hub assembles from this folder — the store pass that
 * runs the reconciler under the store's lease, the dry-run job, the routes and the check that a
 * dry run came before enabling.
 */
import type { AppContext } from "../../core/context.ts";
import { AppError } from "../../core/errors.ts";
import type { Db } from "../../db/database.ts";
import type { StorePass } from "../../runtime/worker.ts";
import { runPublishCycle } from "./reconciler.ts";

export { runPublishDryRun } from "./dry-run.ts";
export { publishQueue } from "./publish-store.ts";
export { runPublishCycle } from "./reconciler.ts";
export { catalogPublishRoutes } from "./routes.ts";

/** Products changed within this window wait, so a burst of back-office edits is one publish. */
export const PUBLISH_COALESCE_MS = 2000;

export function catalogPublishStorePass(ctx: AppContext): StorePass {
  return {
    name: "catalog:publish",
    flow: "catalog_publish",
    everyMs: 1000,
    run: async (store, transport) => {
      const deps = {
        db: ctx.database.db,
        now: () => ctx.clock.now(),
        logger: ctx.logger,
        windowMs: PUBLISH_COALESCE_MS,
      };
      // Keep going while whole cycles are due, within the pass (the lease guards every call).
      for (let i = 0; i < 20; i++) {
        const r = await runPublishCycle(deps, store, transport);
        if (!r.remaining) break;
      }
    },
  };
}

/** Enabling the flow needs a finished dry run of the store first. */
export async function requirePublishDryRun(db: Db, storeId: number): Promise<void> {
  const done = await db
    .selectFrom("operator_jobs")
    .select("id")
    .where("store_id", "=", storeId)
    .where("kind", "=", "catalog_publish_dry_run")
    .where("status", "=", "done")
    .limit(1)
    .executeTakeFirst();
  if (!done)
    throw new AppError(
      "CONFLICT",
      "run a publish dry run first (POST /api/v1/stores/:domain/catalog-publish/dry-run) and check what publishing would change",
    );
}
