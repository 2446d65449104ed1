/**
 * Operator jobs: long work on one store that an operator starts — linking, a dry run, a drift
 * check, delta mode's initial sync. The API records the job and answers at once; the worker that
 * holds the store's lease runs it (so the store's API budget keeps one spender), reports
 * progress, stores the result, honours a cancellation between phases, and a job left running by
 * a process that died is picked up again after a restart.
 */
import type { AppContext } from "../core/context.ts";
import { AppError, type ErrorCode } from "../core/errors.ts";
import type { Db } from "../db/database.ts";
import type { OperatorJobKind, OperatorJobStatus } from "../db/tables.ts";
import { shopifyFailure } from "../shopify/errors.ts";
import type { AdminTransport } from "../shopify/transport.ts";

/** The kinds an operator may start through POST /api/v1/stores/:domain/jobs. */
export const OPERATOR_JOB_KINDS = [
  "link",
  "dry_run",
  "drift_check",
  "initial_sync",
  "sync_locations",
] as const;

/** A job whose runner died is retried this often, then failed with its last error. */
const MAX_ATTEMPTS = 3;

export interface JobProgress {
  readonly phase: string;
  readonly done?: number;
  readonly total?: number;
}

export interface JobView {
  readonly id: number;
  readonly store: string;
  readonly kind: OperatorJobKind;
  readonly status: OperatorJobStatus;
  readonly progress: JobProgress | null;
  readonly params: Record<string, unknown> | null;
  readonly result: unknown;
  readonly error: string | null;
  /** The error envelope's code of a failed job (null: an unexpected failure, or no failure). */
  readonly errorCode: ErrorCode | null;
  readonly cancelRequested: boolean;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

/** What a job's code gets: a way to report progress, and to learn it was cancelled. */
export interface JobControl {
  /** The job's id (work that keeps its own state per run, such as an import, finds it by this). */
  readonly jobId: number;
  progress(p: JobProgress): Promise<void>;
  /** True once an operator asked to cancel; the job stops at its next safe point. */
  cancelled(): Promise<boolean>;
}

export type JobHandler = (
  store: { id: number; domain: string },
  transport: AdminTransport,
  control: JobControl,
  params: Record<string, unknown>,
) => Promise<unknown>;

export class JobCancelled extends Error {
  constructor() {
    super("cancelled by the operator");
  }
}

type JobRow = {
  id: number;
  store_id: number;
  kind: OperatorJobKind;
  status: OperatorJobStatus;
  progress: string | null;
  params?: string | null;
  result: string | null;
  error: string | null;
  error_code?: string | null;
  cancel_requested: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
};

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

function view(r: JobRow, domain: string): JobView {
  return {
    id: r.id,
    store: domain,
    kind: r.kind,
    status: r.status,
    progress: r.progress ? (JSON.parse(r.progress) as JobProgress) : null,
    params: r.params ? (JSON.parse(r.params) as Record<string, unknown>) : null,
    result: r.result ? JSON.parse(r.result) : null,
    error: r.error,
    errorCode: (r.error_code as ErrorCode | null | undefined) ?? null,
    cancelRequested: r.cancel_requested === 1,
    createdAt: new Date(r.created_at).toISOString(),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

/**
 * Queues a job; a job of the same kind and parameters already queued or running for the store is
 * returned instead (asking twice never runs the work twice).
 */
export async function startJob(
  db: Db,
  store: { id: number; domain: string },
  kind: OperatorJobKind,
  now: number,
  params: Record<string, unknown> | null = null,
): Promise<{ job: JobView; existing: boolean }> {
  const paramsText = params === null ? null : JSON.stringify(params);
  return db.transaction().execute(async (trx) => {
    let q = trx
      .selectFrom("operator_jobs")
      .selectAll()
      .where("store_id", "=", store.id)
      .where("kind", "=", kind)
      .where("status", "in", ["queued", "running"]);
    q = paramsText === null ? q.where("params", "is", null) : q.where("params", "=", paramsText);
    const open = await q.orderBy("id").executeTakeFirst();
    if (open) return { job: view(open as JobRow, store.domain), existing: true };
    const row = await trx
      .insertInto("operator_jobs")
      .values({
        store_id: store.id,
        kind,
        status: "queued",
        progress: JSON.stringify({ phase: "waiting for the store's worker" }),
        params: paramsText,
        result: null,
        error: null,
        cancel_requested: 0,
        attempts: 0,
        created_at: now,
        started_at: null,
        finished_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { job: view(row as JobRow, store.domain), existing: false };
  });
}

export async function getJob(db: Db, id: number): Promise<JobView> {
  const row = await db
    .selectFrom("operator_jobs as j")
    .innerJoin("stores as s", "s.id", "j.store_id")
    .selectAll("j")
    .select("s.domain")
    .where("j.id", "=", id)
    .executeTakeFirst();
  if (!row) throw new AppError("NOT_FOUND", `no job ${id}`);
  return view(row as JobRow, row.domain);
}

export async function listJobs(
  db: Db,
  store: { id: number; domain: string },
  limit = 20,
): Promise<JobView[]> {
  const rows = await db
    .selectFrom("operator_jobs")
    .selectAll()
    .where("store_id", "=", store.id)
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
  return rows.map((r) => view(r as JobRow, store.domain));
}

/** Asks a job to stop: a queued one is cancelled at once, a running one at its next safe point. */
export async function cancelJob(db: Db, id: number, now: number): Promise<JobView> {
  await db
    .updateTable("operator_jobs")
    .set({ status: "cancelled", finished_at: now, cancel_requested: 1 })
    .where("id", "=", id)
    .where("status", "=", "queued")
    .execute();
  await db
    .updateTable("operator_jobs")
    .set({ cancel_requested: 1 })
    .where("id", "=", id)
    .where("status", "=", "running")
    .execute();
  return getJob(db, id);
}

/** Runs of a store's jobs in this process, per database: one at a time per store. */
const runsInProcess = new WeakMap<object, Map<number, Promise<number>>>();

/**
 * Runs the store's due jobs, one at a time, oldest first. Call it only while holding the store's
 * lease. A job found `running` was left by a process that died (this one holds the lease now):
 * it starts again, at most MAX_ATTEMPTS times. Within one process, runs for one store follow
 * each other (the worker's pass and a request's run never work the same job twice).
 */
export async function runStoreJobs(
  ctx: AppContext,
  store: { id: number; domain: string },
  transport: AdminTransport,
  handlers: Readonly<Record<OperatorJobKind, JobHandler>>,
): Promise<number> {
  let runs = runsInProcess.get(ctx.database);
  if (!runs) {
    runs = new Map();
    runsInProcess.set(ctx.database, runs);
  }
  const before = runs.get(store.id);
  const run = (before ?? Promise.resolve(0))
    .catch(() => 0)
    .then(() => drainStoreJobs(ctx, store, transport, handlers));
  runs.set(store.id, run);
  try {
    return await run;
  } finally {
    if (runs.get(store.id) === run) runs.delete(store.id);
  }
}

/** The code and message a failed job answers with: Shopify's failures as the routes always did. */
function failureOf(err: unknown, kind: OperatorJobKind): { code: ErrorCode | null; message: string } {
  if (err instanceof AppError) return { code: err.code, message: err.message };
  try {
    shopifyFailure(err, JOB_WHAT[kind]);
  } catch (mapped) {
    if (mapped instanceof AppError) return { code: mapped.code, message: mapped.message };
  }
  return { code: null, message: err instanceof Error ? err.message : String(err) };
}

const JOB_WHAT: Record<OperatorJobKind, string> = {
  link: "linking variants",
  dry_run: "dry run",
  drift_check: "drift check",
  initial_sync: "initial sync",
  sync_locations: "reading locations",
  read_levels: "reading levels",
  after_connect: "after connecting",
  catalog_import: "importing the catalog",
  opening_count: "taking Shopify's quantities as the opening count",
  catalog_publish_dry_run: "publish dry run",
  link_variant: "linking a variant by hand",
};

async function drainStoreJobs(
  ctx: AppContext,
  store: { id: number; domain: string },
  transport: AdminTransport,
  handlers: Readonly<Record<OperatorJobKind, JobHandler>>,
): Promise<number> {
  const db = ctx.database.db;
  let ran = 0;
  for (;;) {
    const row = await db
      .selectFrom("operator_jobs")
      .select(["id", "kind", "attempts", "status", "error", "params"])
      .where("store_id", "=", store.id)
      .where("status", "in", ["queued", "running"])
      .orderBy("id")
      .limit(1)
      .executeTakeFirst();
    if (!row) return ran;
    const now = ctx.clock.now();
    if (row.attempts >= MAX_ATTEMPTS) {
      await db
        .updateTable("operator_jobs")
        .set({
          status: "failed",
          error: row.error ?? `gave up after ${row.attempts} attempts (the worker running it stopped)`,
          finished_at: now,
        })
        .where("id", "=", row.id)
        .execute();
      continue;
    }
    await db
      .updateTable("operator_jobs")
      .set((eb) => ({
        status: "running",
        started_at: now,
        attempts: eb("attempts", "+", 1),
        progress: JSON.stringify({ phase: "starting" }),
      }))
      .where("id", "=", row.id)
      .execute();
    const control: JobControl = {
      jobId: row.id,
      progress: async (p) => {
        await db
          .updateTable("operator_jobs")
          .set({ progress: JSON.stringify(p) })
          .where("id", "=", row.id)
          .execute();
      },
      cancelled: async () => {
        const r = await db
          .selectFrom("operator_jobs")
          .select("cancel_requested")
          .where("id", "=", row.id)
          .executeTakeFirst();
        return r?.cancel_requested === 1;
      },
    };
    const log = ctx.logger.child({ store: store.domain, job: row.id, kind: row.kind });
    try {
      if (await control.cancelled()) throw new JobCancelled();
      const params = row.params ? (JSON.parse(row.params) as Record<string, unknown>) : {};
      const result = await handlers[row.kind](store, transport, control, params);
      await db
        .updateTable("operator_jobs")
        .set({
          status: "done",
          result: JSON.stringify(result ?? null),
          progress: JSON.stringify({ phase: "done" }),
          error: null,
          error_code: null,
          finished_at: ctx.clock.now(),
        })
        .where("id", "=", row.id)
        .execute();
      log.info("operator job done");
    } catch (err) {
      // The store moved to another worker mid-job: the job goes back to the queue for the new
      // owner, without spending an attempt (unless the new owner has started it already).
      if ((err as { code?: string }).code === "LEASE_LOST") {
        await db
          .updateTable("operator_jobs")
          .set((eb) => ({ status: "queued", attempts: eb("attempts", "-", 1) }))
          .where("id", "=", row.id)
          .where("status", "=", "running")
          .where("started_at", "=", now)
          .execute()
          .catch(() => {});
        throw err;
      }
      const cancelled = err instanceof JobCancelled;
      const { code, message } = cancelled
        ? { code: null, message: (err as Error).message }
        : failureOf(err, row.kind);
      await db
        .updateTable("operator_jobs")
        .set({
          status: cancelled ? "cancelled" : "failed",
          error: message.slice(0, 1000),
          error_code: code,
          finished_at: ctx.clock.now(),
        })
        .where("id", "=", row.id)
        .execute();
      log.warn({ err: message.slice(0, 300) }, cancelled ? "operator job cancelled" : "operator job failed");
    }
    ran++;
  }
}

/** Waits up to `waitMs` for a job to end (scripts and small stores); returns its latest view. */
export async function awaitJob(
  db: Db,
  id: number,
  waitMs: number,
  sleep: (ms: number) => Promise<void>,
): Promise<JobView> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const job = await getJob(db, id);
    if (job.status !== "queued" && job.status !== "running") return job;
    if (Date.now() >= deadline) return job;
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
  }
}
