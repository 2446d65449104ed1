/**
 * Store work asked for over HTTP (linking, a dry run, a drift check, the initial sync, reading
 * locations, the set-up after a connection) never calls Shopify from the request: it becomes an
 * operator job, run under the store's lease by the process that holds it, so the store's API
 * budget keeps one spender whichever process answered the request.
 *
 * The request starts the job (or joins the same one), and waits a bounded time for it:
 * - this process holds the lease, or nobody does and it can take it: it runs the job itself at
 *   once (through its worker's lease-guarded transport);
 * - another process holds the lease: that process's worker runs it at its next pass.
 * Finished within the wait: 200 with the route's usual answer (or the error envelope the work
 * ended with). Still running: 202 with the job and a Location to poll (GET /api/v1/jobs/:id).
 */
import type { FastifyReply } from "fastify";
import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import type { OperatorJobKind } from "../db/tables.ts";
import { awaitJob, type JobView, startJob } from "./operator-jobs.ts";

/** How long a store route waits for its job by default before answering 202. */
export const DEFAULT_JOB_WAIT_SECONDS = 10;

/** The `waitSeconds` query parameter of the store routes that run a job. */
export const waitSecondsParam = z.coerce
  .number()
  .int()
  .min(0)
  .max(300)
  .optional()
  .describe(
    `Wait up to this long (seconds, default ${DEFAULT_JOB_WAIT_SECONDS}) for the work to end; after that the answer is 202 with the job to poll.`,
  );

/**
 * Runs a store's due jobs now in this process, under the store's lease; resolves true when it
 * ran them, false at once when another process holds the lease (its worker runs them).
 */
export type RunStoreJobsNow = (store: { id: number; domain: string }) => Promise<boolean>;

export interface JobRunner {
  /** Starts the job (or joins the same one queued or running) and waits up to `waitMs` for it. */
  run(
    store: { id: number; domain: string },
    kind: OperatorJobKind,
    params: Record<string, unknown> | null,
    waitMs: number,
  ): Promise<JobView>;
}

export function createJobRunner(ctx: AppContext, runNow: RunStoreJobsNow): JobRunner {
  const db = ctx.database.db;
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  return {
    async run(store, kind, params, waitMs) {
      const { job } = await startJob(db, store, kind, ctx.clock.now(), params);
      if (waitMs <= 0) return job;
      const deadline = Date.now() + waitMs;
      let timer: NodeJS.Timeout | undefined;
      // Run here at once when this process holds the store; either way the job is awaited below.
      await Promise.race([
        runNow(store).catch((err) => {
          ctx.logger.warn(
            { store: store.domain, err: (err as Error).message },
            "running a job at once failed",
          );
          return false;
        }),
        new Promise<false>((r) => {
          timer = setTimeout(() => r(false), waitMs);
        }),
      ]);
      clearTimeout(timer);
      // Ran here or not, the job may still be queued: a run that lost the store's lease mid-way
      // puts it back for the next owner. Answering with it as it was once it had run here
      // answered a connection before its locations were read. (A finished job returns at once.)
      return awaitJob(db, job.id, Math.max(0, deadline - Date.now()), sleep);
    },
  };
}

/**
 * A store route's answer from its job: `done(result)` once it finished, the error envelope it
 * ended with, or 202 with the job (and a Location to poll) while it still runs.
 */
export async function answerFromJob<T>(
  reply: FastifyReply,
  job: JobView,
  done: (result: unknown) => T | Promise<T>,
): Promise<T | JobView> {
  if (job.status === "done") return done(job.result);
  if (job.status === "failed") {
    if (job.errorCode) throw new AppError(job.errorCode, job.error ?? `job ${job.id} failed`);
    throw new Error(job.error ?? `job ${job.id} failed`);
  }
  if (job.status === "cancelled") throw new AppError("CONFLICT", `job ${job.id} was cancelled`);
  reply.code(202).header("location", `/api/v1/jobs/${job.id}`);
  return job;
}

/** Seconds from the query to milliseconds, with the default. */
export const waitMs = (waitSeconds: number | undefined) => (waitSeconds ?? DEFAULT_JOB_WAIT_SECONDS) * 1000;
