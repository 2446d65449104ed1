/**
 * The audit trail: who changed which setting or access right, when, and from what to what.
 * Values are settings and ids, never secrets: callers pass redacted copies.
 */
import type { Db } from "../db/database.ts";
import { actorLabel, type Principal } from "./principal.ts";

export interface AuditEntry {
  readonly principal: Principal | null;
  readonly storeId: number | null;
  /** `order_settings.update`, `account.create`, `flow.pause`… */
  readonly action: string;
  readonly target?: string | null;
  readonly before?: unknown;
  readonly after?: unknown;
}

export async function recordAudit(db: Db, entry: AuditEntry, now: number): Promise<void> {
  await db
    .insertInto("audit_log")
    .values({
      at: now,
      actor: actorLabel(entry.principal),
      store_id: entry.storeId,
      action: entry.action,
      target: entry.target ?? null,
      before: entry.before === undefined ? null : JSON.stringify(entry.before),
      after: entry.after === undefined ? null : JSON.stringify(entry.after),
    })
    .execute();
}

export interface AuditRow {
  readonly id: number;
  readonly at: number;
  readonly actor: string;
  readonly storeId: number | null;
  readonly action: string;
  readonly target: string | null;
  readonly before: unknown;
  readonly after: unknown;
  /** Keys whose value differs between before and after (top level). */
  readonly changed: string[];
}

const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

function changedKeys(before: unknown, after: unknown): string[] {
  if (!before || !after || typeof before !== "object" || typeof after !== "object") return [];
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  return [...new Set([...Object.keys(b), ...Object.keys(a)])].filter(
    (k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]),
  );
}

/** Newest first; `before` pages backwards by id. */
export async function listAudit(
  db: Db,
  query: { storeId?: number | undefined; before?: number | undefined; limit: number },
): Promise<AuditRow[]> {
  let q = db.selectFrom("audit_log").selectAll().orderBy("id", "desc").limit(query.limit);
  if (query.storeId !== undefined) q = q.where("store_id", "=", query.storeId);
  if (query.before !== undefined) q = q.where("id", "<", query.before);
  const rows = await q.execute();
  return rows.map((r) => {
    const before = parse(r.before);
    const after = parse(r.after);
    return {
      id: r.id,
      at: r.at,
      actor: r.actor,
      storeId: r.store_id,
      action: r.action,
      target: r.target,
      before,
      after,
      changed: changedKeys(before, after),
    };
  });
}
