/**
 * The per-store, per-flow activity log: every push, stale correction, connection change and
 * failure, with the ids involved. `data` holds ids only (JSON) — never tokens or personal data.
 */
import type { Db } from "../db/database.ts";
import type { ActivityLogTable } from "../db/tables.ts";

export type ActivityLevel = ActivityLogTable["level"];

export interface ActivityEntry {
  readonly storeId: number | null;
  /** A flow name (`inventory_push`…) or `connection` for store-level events. */
  readonly flow: string;
  /** Short machine-readable kind, e.g. `push`, `stale_corrected`, `disconnected`. */
  readonly kind: string;
  readonly level?: ActivityLevel;
  readonly message: string;
  /** Ids involved (variant ids, gids, batch ids…). Serialised as JSON. */
  readonly data?: Record<string, unknown> | null;
}

export interface ActivityRow {
  readonly id: number;
  readonly storeId: number | null;
  readonly flow: string;
  readonly kind: string;
  readonly level: ActivityLevel;
  readonly message: string;
  readonly data: unknown;
  readonly createdAt: number;
}

/** Appends one entry; works with the database or inside a transaction (`trx`). */
export async function logActivity(db: Db, entry: ActivityEntry, now: number): Promise<void> {
  await db
    .insertInto("activity_log")
    .values({
      store_id: entry.storeId,
      flow: entry.flow,
      kind: entry.kind,
      level: entry.level ?? "info",
      message: entry.message,
      data: entry.data == null ? null : JSON.stringify(entry.data),
      created_at: now,
    })
    .execute();
}

export interface ActivityQuery {
  readonly flow?: string | undefined;
  readonly limit?: number | undefined;
  /** Only entries with an id below this one (paging backwards). */
  readonly before?: number | undefined;
}

/** Newest first. */
export async function listActivity(
  db: Db,
  storeId: number,
  query: ActivityQuery = {},
): Promise<ActivityRow[]> {
  let q = db.selectFrom("activity_log").selectAll().where("store_id", "=", storeId);
  if (query.flow) q = q.where("flow", "=", query.flow);
  if (query.before !== undefined) q = q.where("id", "<", query.before);
  const rows = await q
    .orderBy("id", "desc")
    .limit(Math.min(Math.max(query.limit ?? 100, 1), 1000))
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    storeId: r.store_id === null ? null : Number(r.store_id),
    flow: r.flow,
    kind: r.kind,
    level: r.level,
    message: r.message,
    data: r.data === null ? null : JSON.parse(r.data),
    createdAt: Number(r.created_at),
  }));
}
