/** HTTP routes of operator jobs: start one on a store, follow its progress, fetch its result, cancel it. */
import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { route } from "../core/route.ts";
import { requireStore } from "../shops/stores.ts";
import { cancelJob, getJob, listJobs, OPERATOR_JOB_KINDS } from "./operator-jobs.ts";
import type { JobRunner } from "./runner.ts";

const domainParams = z.object({ domain: z.string().min(1).max(255) });
const idParams = z.object({ id: z.coerce.number().int().positive() });

const startInput = z
  .object({
    kind: z
      .enum(OPERATOR_JOB_KINDS)
      .describe(
        "link (variants by SKU/barcode), dry_run, drift_check, initial_sync (delta mode), sync_locations",
      ),
    waitSeconds: z
      .number()
      .int()
      .min(0)
      .max(60)
      .default(0)
      .describe("Wait up to this long for the job to end before answering (for scripts and small stores)."),
  })
  .strict();

export function jobRoutes(ctx: AppContext, jobs: JobRunner) {
  const db = ctx.database.db;
  return [
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/jobs",
      tag: "jobs",
      auth: "store.operate",
      summary:
        "Start long work on a store as a job (linking, a dry run, a drift check, delta mode's initial sync): answered at once (202) with the job; the store's worker runs it. The same kind already queued or running is returned instead of a second one.",
      params: domainParams,
      body: startInput,
      async handler({ params, body, reply }) {
        const store = await requireStore(ctx.database, params.domain);
        if (store.status !== "active")
          throw new AppError("STORE_DISCONNECTED", `${store.domain} is disconnected; reconnect it first`);
        const latest = await jobs.run(store, body.kind, null, body.waitSeconds * 1000);
        // 202 while the job is still queued or running; 200 with the result once it has ended.
        if (latest.status === "queued" || latest.status === "running") reply.code(202);
        return latest;
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/jobs",
      tag: "jobs",
      auth: "store.read",
      summary: "The store's latest jobs, newest first, with their status and progress.",
      params: domainParams,
      async handler({ params }) {
        const store = await requireStore(ctx.database, params.domain);
        return { items: await listJobs(db, store) };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/jobs/:id",
      tag: "jobs",
      auth: "store.read",
      summary: "One job: status (queued, running, done, failed, cancelled), progress, result or error.",
      params: idParams,
      handler: async ({ params }) => getJob(db, params.id),
    }),
    route({
      method: "POST",
      url: "/api/v1/jobs/:id/cancel",
      tag: "jobs",
      auth: "store.operate",
      summary: "Cancel a job: a queued one at once, a running one at its next safe point.",
      params: idParams,
      handler: async ({ params }) => cancelJob(db, params.id, ctx.clock.now()),
    }),
  ];
}
