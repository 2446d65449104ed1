/**
 * The hub's durable-work core: a queue is a table of items with a status, attempts, a next
 * attempt time, the last error and (for claimed queues) the claim. Every queue of the hub
 * (outbound notifications, Shopify tags, the webhook inbox's retries, shipment delivery's
 * retries) uses these few operations and the one retry rule of `backoff.ts`:
 *
 * - `claimDue`: takes up to `limit` due items for one worker. On PostgreSQL the pick is
 *   `FOR UPDATE SKIP LOCKED`, so concurrent workers of several processes never take one item
 *   twice; on SQLite the one UPDATE … RETURNING is the single writer's atomic step. A claim
 *   moves the item's next attempt `visibilityMs` ahead and stamps it with the claim's token:
 *   a worker that dies mid-item leaves it to be claimed again once that time passes.
 * - `settleDone` / `settleFailed`: record the attempt's outcome, only while the claim is the
 *   caller's (a claim that timed out and was taken by another worker is not overwritten).
 *   A failed attempt is counted, backed off and dead-lettered after the policy's last attempt.
 * - `releaseClaim`: gives a claimed item back untouched (the store's lease was lost).
 * - `replay`: puts a dead letter back with fresh attempts (the operator's replay).
 *
 * Written once over Kysely with the table as a parameter; the callers keep their typed queries
 * for what is specific to them (the outbound per-order ordering, a store's items).
 */
import { randomBytes } from "node:crypto";
import type { Expression, ExpressionBuilder, Kysely, Selectable, SqlBool, Transaction } from "kysely";
import type { Database, Db } from "../db/database.ts";
import type { Tables } from "../db/tables.ts";
import { type AfterFailure, afterFailure, type RetryPolicy } from "./backoff.ts";

/** The tables that are queues: they have these columns. */
type QueueTableName = {
  [K in keyof Tables]: Tables[K] extends {
    status: unknown;
    attempts: number;
    next_attempt_at: number;
    last_error: string | null;
  }
    ? K
    : never;
}[keyof Tables];

export interface QueueSpec<T extends QueueTableName> {
  readonly table: T;
  readonly policy: RetryPolicy;
  /** Statuses of items waiting for an attempt (due once `next_attempt_at` has come). */
  readonly waiting: readonly Tables[T]["status"][];
  /** The status a failed attempt that is not the last leaves. */
  readonly retry: Tables[T]["status"];
  readonly done: Tables[T]["status"];
  readonly dead: Tables[T]["status"];
  /** Statuses an operator's replay puts back in the queue. */
  readonly replayable: readonly Tables[T]["status"][];
  /** The table has `claimed_by` (claimed queues); without it items are not claimed. */
  readonly claims: boolean;
  /** How long a claim keeps other workers off an item: longer than one attempt can take. */
  readonly visibilityMs: number;
}

export interface Claim<Row> {
  /** Unique per claim: settles are recorded only while the item still carries it. */
  readonly token: string;
  /** The claimed items in queue order (by id). */
  readonly items: readonly Row[];
}

type Executor = Db | Transaction<Tables>;
// biome-ignore lint/suspicious/noExplicitAny: the table is a parameter; callers' types are checked by QueueSpec
type AnyDb = Kysely<any>;
const loose = (db: Executor) => db as unknown as AnyDb;
/** The table's name as the untyped builder takes it. */
const tableOf = (spec: { readonly table: string }): string => spec.table;

/** A settle refused because the item's claim is no longer the caller's (it lapsed and was taken). */
export class ClaimLostError extends Error {
  readonly code = "CLAIM_LOST";
  constructor(
    readonly table: string,
    readonly id: number,
  ) {
    super(`${table} item ${id}: its claim lapsed and another worker took it`);
    this.name = "ClaimLostError";
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the pick query of any queue table, narrowed by the caller
export type PickQuery = any;

/**
 * The claim itself, for any table with `id`, `next_attempt_at` and `claimed_by` (queues whose
 * statuses and errors are their own, like shipments): `pick` narrows the select of candidate
 * rows (alias `q`) to those due; the first `limit` by id are stamped with a new token and moved
 * `visibilityMs` ahead. `FOR UPDATE SKIP LOCKED` on PostgreSQL; one atomic UPDATE on SQLite.
 */
export async function claimRows<Row>(
  database: Pick<Database, "db" | "dialect">,
  table: string,
  options: {
    readonly owner: string;
    readonly now: number;
    readonly limit: number;
    readonly visibilityMs: number;
    readonly pick: (query: PickQuery) => PickQuery;
  },
): Promise<Claim<Row>> {
  const db = loose(database.db);
  const token = `${options.owner}:${randomBytes(6).toString("hex")}`;
  let pick = options.pick(db.selectFrom(`${table} as q`).select("q.id"));
  pick = pick.orderBy("q.id").limit(options.limit);
  if (database.dialect === "postgres") pick = pick.forUpdate().skipLocked();
  const rows = await db
    .updateTable(table)
    .set({ claimed_by: token, next_attempt_at: options.now + options.visibilityMs })
    .where("id", "in", pick)
    .returningAll()
    .execute();
  rows.sort((a, b) => Number(a.id) - Number(b.id));
  return { token, items: rows as Row[] };
}

/**
 * Claims up to `limit` due items. `where` narrows the pick (a store's items, an ordering rule);
 * it sees the queue table under the alias `q`; `narrow` may add to the pick query itself.
 */
export async function claimDue<T extends QueueTableName>(
  database: Pick<Database, "db" | "dialect">,
  spec: QueueSpec<T>,
  options: {
    readonly owner: string;
    readonly now: number;
    readonly limit: number;
    readonly where?: (eb: ExpressionBuilder<Tables & { q: Tables[T] }, "q">) => Expression<SqlBool>;
    readonly narrow?: (query: PickQuery) => PickQuery;
  },
): Promise<Claim<Selectable<Tables[T]>>> {
  if (!spec.claims) throw new Error(`queue ${spec.table} has no claims`);
  return claimRows<Selectable<Tables[T]>>(database, tableOf(spec), {
    owner: options.owner,
    now: options.now,
    limit: options.limit,
    visibilityMs: spec.visibilityMs,
    pick: (query) => {
      let pick = query
        .where("q.status", "in", [...spec.waiting])
        .where("q.next_attempt_at", "<=", options.now);
      if (options.where) pick = pick.where(options.where);
      if (options.narrow) pick = options.narrow(pick);
      return pick;
    },
  });
}

/** Records a successful attempt (with the caller's own columns); false when the claim was lost. */
export async function settleDone<T extends QueueTableName>(
  db: Executor,
  spec: QueueSpec<T>,
  item: { readonly id: number; readonly attempts: number },
  token: string | null,
  extra: Record<string, unknown> = {},
): Promise<boolean> {
  let q = loose(db)
    .updateTable(tableOf(spec))
    .set({
      status: spec.done,
      attempts: item.attempts + 1,
      last_error: null,
      ...(spec.claims ? { claimed_by: null } : {}),
      ...extra,
    })
    .where("id", "=", item.id);
  if (spec.claims && token !== null) q = q.where("claimed_by", "=", token);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Records a failed attempt: counted, due again after the backoff, or dead after the last attempt
 * (at once when `permanent`). `recorded` is false when the claim was lost meanwhile.
 */
export async function settleFailed<T extends QueueTableName>(
  db: Executor,
  spec: QueueSpec<T>,
  item: { readonly id: number; readonly attempts: number },
  token: string | null,
  error: string,
  now: number,
  options: {
    readonly permanent?: boolean;
    readonly random?: () => number;
    readonly policy?: RetryPolicy;
  } = {},
): Promise<AfterFailure & { readonly recorded: boolean }> {
  const outcome = afterFailure(item.attempts, options.policy ?? spec.policy, now, options);
  let q = loose(db)
    .updateTable(tableOf(spec))
    .set({
      status: outcome.dead ? spec.dead : spec.retry,
      attempts: outcome.attempts,
      next_attempt_at: outcome.nextAttemptAt,
      last_error: error.slice(0, 500),
      ...(spec.claims ? { claimed_by: null } : {}),
    })
    .where("id", "=", item.id);
  if (spec.claims && token !== null) q = q.where("claimed_by", "=", token);
  const r = await q.executeTakeFirst();
  return { ...outcome, recorded: Number(r.numUpdatedRows) > 0 };
}

/** Gives a claimed item back as it was, due now (its worker lost the store's lease). */
export async function releaseClaim<T extends QueueTableName>(
  db: Executor,
  spec: QueueSpec<T>,
  ids: readonly number[],
  token: string,
  now: number,
): Promise<void> {
  if (ids.length === 0) return;
  await loose(db)
    .updateTable(tableOf(spec))
    .set({ claimed_by: null, next_attempt_at: now })
    .where("id", "in", [...ids])
    .where("claimed_by", "=", token)
    .execute();
}

/** Puts a dead (or replayable) item back in the queue with fresh attempts; false when it is not one. */
export async function replay<T extends QueueTableName>(
  db: Executor,
  spec: QueueSpec<T>,
  id: number,
  now: number,
): Promise<boolean> {
  const r = await loose(db)
    .updateTable(tableOf(spec))
    .set({
      status: spec.waiting[0],
      attempts: 0,
      next_attempt_at: now,
      last_error: null,
      ...(spec.claims ? { claimed_by: null } : {}),
    })
    .where("id", "=", id)
    .where("status", "in", [...spec.replayable])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
