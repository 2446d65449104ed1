/**
 * HTTP routes of the catalog import: start a run (mode and fields), list runs with their
 * progress, one run, cancel it; preview and apply Shopify's quantities as the opening count. The
 * work runs as operator jobs under the store's lease; the link problems a run leaves are at
 * GET /api/v1/stores/:domain/link-problems; the operator resolves them by linking a variant by hand
 * (POST /api/v1/stores/:domain/variant-links) or unlinking it.
 */
import { z } from "zod";
import { recordAudit } from "../../auth/audit.ts";
import type { AppContext } from "../../core/context.ts";
import { AppError } from "../../core/errors.ts";
import { route } from "../../core/route.ts";
import { cancelJob, getJob, type JobView } from "../../jobs/operator-jobs.ts";
import { answerFromJob, type JobRunner, waitMs, waitSecondsParam } from "../../jobs/runner.ts";
import { requireStore } from "../../shops/stores.ts";
import { checkManualLink, manualLinkInput, unlinkVariant } from "../manual-link.ts";
import { IMPORT_FIELDS, IMPORT_MODES } from "./import-plan.ts";
import { getImportRun, importRunView, listImportRuns } from "./import-store.ts";
import { openingCountInput } from "./opening-count.ts";

const domainParams = z.object({ domain: z.string().min(1).max(255) });
const runParams = z.object({ domain: z.string().min(1).max(255), id: z.coerce.number().int().positive() });

export const startImportInput = z
  .object({
    mode: z
      .enum(IMPORT_MODES)
      .describe(
        "create_only: link what matches and create hub products for what does not, changing nothing that exists; create_and_overwrite: also update existing hub products from Shopify",
      ),
    fields: z
      .array(z.enum(IMPORT_FIELDS))
      .max(IMPORT_FIELDS.length)
      .optional()
      .describe(
        "What the import may write (default: all). variants: option structure and adding Shopify's variants to an existing product; prices: price, compare-at and cost. A created product always takes its title.",
      ),
    waitSeconds: z
      .number()
      .int()
      .min(0)
      .max(60)
      .default(0)
      .describe("Wait up to this long for the run to end."),
  })
  .strict();

export function catalogImportRoutes(ctx: AppContext, deps: { jobs: JobRunner }) {
  const { database } = ctx;
  const db = database.db;
  const activeStore = async (domain: string) => {
    const store = await requireStore(database, domain);
    if (store.status !== "active")
      throw new AppError("STORE_DISCONNECTED", `${store.domain} is disconnected; reconnect it first`);
    return store;
  };
  /** The store's import job waiting or running, if any (one at a time per store). */
  const openImportJob = async (storeId: number) =>
    db
      .selectFrom("operator_jobs")
      .select(["id", "status"])
      .where("store_id", "=", storeId)
      .where("kind", "=", "catalog_import")
      .where("status", "in", ["queued", "running"])
      .orderBy("id")
      .executeTakeFirst();
  const withProgress = async (job: JobView | null, run: Awaited<ReturnType<typeof getImportRun>>) => ({
    ...(run ? importRunView(run) : {}),
    job: job?.id ?? run?.jobId ?? null,
    jobStatus: job?.status ?? null,
    progress: job?.progress ?? null,
  });
  return [
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/variant-links",
      tag: "catalog",
      auth: "store.operate",
      summary:
        "Link a hub variant (by SKU) by hand to a Shopify variant the operator chose, resolving a link problem: the Shopify variant is read from Shopify under the store's lease (404 if it does not exist); refused with 409 VARIANT_LINKED_ELSEWHERE when it is linked to another SKU unless move=true. The link is kept by later links and imports; the variant is marked due for the inventory push. Audited.",
      params: domainParams,
      query: z.object({ waitSeconds: waitSecondsParam }),
      body: manualLinkInput,
      async handler({ params, query, body, reply, principal }) {
        const store = await activeStore(params.domain);
        await checkManualLink(db, store.id, body);
        const job = await deps.jobs.run(store, "link_variant", { ...body }, waitMs(query.waitSeconds));
        // Audited when asked, with the job that does it (it may still run when this answers).
        await recordAudit(
          db,
          {
            principal,
            storeId: store.id,
            action: "variant_link.create",
            target: body.sku,
            after: { ...body, job: job.id, status: job.status, result: job.result ?? null },
          },
          ctx.clock.now(),
        );
        return answerFromJob(reply, job, (result) => result);
      },
    }),
    route({
      method: "DELETE",
      url: "/api/v1/stores/:domain/variant-links/:sku",
      tag: "catalog",
      auth: "store.operate",
      summary:
        "Unlink a hub variant (by SKU) from the store: nothing is pushed for it until it is linked again (a later link or import may match it again). Audited.",
      params: z.object({ domain: z.string().min(1).max(255), sku: z.string().trim().min(1).max(255) }),
      async handler({ params, principal }) {
        const store = await requireStore(database, params.domain);
        const now = ctx.clock.now();
        const removed = await unlinkVariant(db, store.id, params.sku, now);
        await recordAudit(
          db,
          {
            principal,
            storeId: store.id,
            action: "variant_link.delete",
            target: removed.sku,
            before: removed,
          },
          now,
        );
        return { unlinked: removed };
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/catalog-imports",
      tag: "catalog",
      auth: "store.operate",
      summary:
        "Start importing the store's catalog from Shopify (one bulk operation, matched by SKU then barcode, never touching stock): 202 with the job; one run at a time per store (409 while one waits or runs).",
      params: domainParams,
      body: startImportInput,
      async handler({ params, body, reply }) {
        const store = await activeStore(params.domain);
        const open = await openImportJob(store.id);
        if (open)
          throw new AppError(
            "CONFLICT",
            `an import of ${store.domain} is already ${open.status} (job ${open.id}); cancel it or wait for it`,
            [{ code: "IMPORT_RUNNING", message: `job ${open.id}` }],
          );
        const fields = [...new Set(body.fields ?? IMPORT_FIELDS)].sort();
        const job = await deps.jobs.run(
          store,
          "catalog_import",
          { mode: body.mode, fields },
          body.waitSeconds * 1000,
        );
        const run = await db
          .selectFrom("catalog_imports")
          .select("id")
          .where("job_id", "=", job.id)
          .executeTakeFirst();
        if (job.status === "done" || job.status === "failed") reply.code(200);
        else reply.code(202).header("location", `/api/v1/jobs/${job.id}`);
        return {
          job,
          importRun: run ? await withProgress(job, await getImportRun(db, store.id, Number(run.id))) : null,
        };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/catalog-imports",
      tag: "catalog",
      auth: "store.read",
      summary:
        "The store's import runs, newest first: mode, fields, progress (read, matched, created, updated, problems), status.",
      params: domainParams,
      async handler({ params }) {
        const store = await requireStore(database, params.domain);
        const open = await openImportJob(store.id);
        const runs = await listImportRuns(db, store.id);
        const items = await Promise.all(
          runs.map(async (r) =>
            withProgress(open && Number(open.id) === r.jobId ? await getJob(db, r.jobId) : null, r),
          ),
        );
        const waiting =
          open && !runs.some((r) => r.jobId === Number(open.id)) ? await getJob(db, Number(open.id)) : null;
        return { items, waiting };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/catalog-imports/:id",
      tag: "catalog",
      auth: "store.read",
      summary: "One import run with its job's progress.",
      params: runParams,
      async handler({ params }) {
        const store = await requireStore(database, params.domain);
        const run = await getImportRun(db, store.id, params.id);
        if (!run) throw new AppError("NOT_FOUND", `no import run ${params.id} for ${store.domain}`);
        return withProgress(await getJob(db, run.jobId), run);
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/catalog-imports/:id/cancel",
      tag: "catalog",
      auth: "store.operate",
      summary: "Cancel an import run: it stops after the batch it is applying; what was applied stays.",
      params: runParams,
      async handler({ params }) {
        const store = await requireStore(database, params.domain);
        const run = await getImportRun(db, store.id, params.id);
        if (!run) throw new AppError("NOT_FOUND", `no import run ${params.id} for ${store.domain}`);
        const job = await cancelJob(db, run.jobId, ctx.clock.now());
        return withProgress(job, await getImportRun(db, store.id, params.id));
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/opening-count",
      tag: "catalog",
      auth: "store.operate",
      summary:
        "Take Shopify's on-hand quantities as the hub's opening count: apply=false previews the count movements (nothing written); apply=true writes them, dated countedAt, once per store (409 afterwards).",
      params: domainParams,
      query: z.object({ waitSeconds: waitSecondsParam }),
      body: openingCountInput,
      async handler({ params, query, body, reply }) {
        const store = await activeStore(params.domain);
        if (body.apply) {
          const done = await db
            .selectFrom("opening_counts")
            .select("applied_at")
            .where("store_id", "=", store.id)
            .executeTakeFirst();
          if (done)
            throw new AppError(
              "CONFLICT",
              `the opening count of ${store.domain} was taken on ${new Date(Number(done.applied_at)).toISOString()}; it is done once`,
              [{ code: "OPENING_COUNT_DONE", message: "already applied" }],
            );
        }
        const params2: Record<string, unknown> = { apply: body.apply };
        if (body.countedAt) params2.countedAt = body.countedAt;
        const job = await deps.jobs.run(store, "opening_count", params2, waitMs(query.waitSeconds));
        return answerFromJob(reply, job, (result) => result);
      },
    }),
  ];
}
