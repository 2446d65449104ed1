/**
 * Every failure an operator can act on, gathered from each capability into one list: webhook
 * deliveries that ran out of attempts (dead letters), outbound notifications that did, parked
 * orders, item-locations Shopify refused, link problems and failed operator jobs. Each comes with
 * the API call that resolves it; an operator may dismiss one with a reason (kept, with who, in
 * `failure_dismissals` and the audit trail), after which it is neither listed nor counted.
 *
 * Each kind pages by its own key; the list walks the kinds in a fixed order, so a cursor is the
 * kind and the key of the page's last item.
 */
import { sql } from "kysely";
import type { Db } from "../db/database.ts";
import { INBOX_MAX_ATTEMPTS } from "../orders/inbox.ts";

export const FAILURE_KINDS = [
  "dead_letter",
  "outbound_dead",
  "parked_order",
  "failing_item",
  "link_problem",
  "failed_job",
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export interface FailureAction {
  readonly label: string;
  readonly method: "POST";
  readonly url: string;
  readonly body?: Record<string, unknown>;
}

export interface FailureItem {
  readonly kind: FailureKind;
  readonly id: string;
  readonly store: string | null;
  readonly summary: string;
  readonly reason: string | null;
  /** When it failed (epoch ms), as far as the hub knows; null when it does not. */
  readonly since: number | null;
  readonly action: FailureAction | null;
}

export interface StoreRef {
  readonly id: number;
  readonly domain: string;
}

interface KindSource {
  /** Rows after `after` (the key of the last item seen, as a string), at most `limit`. */
  list(
    db: Db,
    store: StoreRef | undefined,
    after: string | undefined,
    limit: number,
  ): Promise<(FailureItem & { key: string })[]>;
  count(db: Db, store: StoreRef | undefined): Promise<number>;
}

/** Not dismissed: no row in failure_dismissals for (kind, id). */
const notDismissed = (kind: FailureKind, idSql: ReturnType<typeof sql>) =>
  sql<boolean>`not exists (select 1 from failure_dismissals d where d.kind = ${kind} and d.item_id = ${idSql})`;

const num = (v: unknown) => Number(v);
const afterId = (after: string | undefined) => (after === undefined ? 0 : Number(after));

const deadLetters: KindSource = {
  async list(db, store, after, limit) {
    let q = db
      .selectFrom("webhook_inbox as w")
      .select(["w.id", "w.shop", "w.topic", "w.last_error", "w.received_at", "w.attempts"])
      .where("w.status", "=", "dead")
      .where("w.id", ">", afterId(after))
      .where(notDismissed("dead_letter", sql`cast(w.id as text)`))
      .orderBy("w.id")
      .limit(limit);
    if (store) q = q.where("w.shop", "=", store.domain);
    return (await q.execute()).map((r) => ({
      key: String(r.id),
      kind: "dead_letter" as const,
      id: String(r.id),
      store: r.shop,
      summary: `${r.topic} webhook from ${r.shop} gave up after ${r.attempts} of ${INBOX_MAX_ATTEMPTS} attempts`,
      reason: r.last_error,
      since: num(r.received_at),
      action: { label: "Replay", method: "POST" as const, url: `/api/v1/inbox/${r.id}/replay` },
    }));
  },
  async count(db, store) {
    let q = db
      .selectFrom("webhook_inbox as w")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("w.status", "=", "dead")
      .where(notDismissed("dead_letter", sql`cast(w.id as text)`));
    if (store) q = q.where("w.shop", "=", store.domain);
    return num((await q.executeTakeFirstOrThrow()).n);
  },
};

const outboundDead: KindSource = {
  async list(db, store, after, limit) {
    let q = db
      .selectFrom("outbound_events as e")
      .innerJoin("stores as s", "s.id", "e.store_id")
      .innerJoin("orders as o", "o.id", "e.order_id")
      .select(["e.id", "s.domain", "e.type", "o.name", "e.last_error", "e.created_at", "e.attempts"])
      .where("e.status", "=", "dead")
      .where("e.id", ">", afterId(after))
      .where(notDismissed("outbound_dead", sql`cast(e.id as text)`))
      .orderBy("e.id")
      .limit(limit);
    if (store) q = q.where("e.store_id", "=", store.id);
    return (await q.execute()).map((r) => ({
      key: String(r.id),
      kind: "outbound_dead" as const,
      id: String(r.id),
      store: r.domain,
      summary: `${r.type} notification for ${r.name} not delivered after ${r.attempts} attempts`,
      reason: r.last_error,
      since: num(r.created_at),
      action: { label: "Replay", method: "POST" as const, url: `/api/v1/outbound/${r.id}/replay` },
    }));
  },
  async count(db, store) {
    let q = db
      .selectFrom("outbound_events as e")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("e.status", "=", "dead")
      .where(notDismissed("outbound_dead", sql`cast(e.id as text)`));
    if (store) q = q.where("e.store_id", "=", store.id);
    return num((await q.executeTakeFirstOrThrow()).n);
  },
};

const parkedOrders: KindSource = {
  async list(db, store, after, limit) {
    let q = db
      .selectFrom("orders as o")
      .innerJoin("stores as s", "s.id", "o.store_id")
      .select(["o.id", "s.domain", "o.name", "o.park_reason", "o.updated_at"])
      .where("o.status", "=", "parked")
      .where("o.id", ">", afterId(after))
      .where(notDismissed("parked_order", sql`cast(o.id as text)`))
      .orderBy("o.id")
      .limit(limit);
    if (store) q = q.where("o.store_id", "=", store.id);
    return (await q.execute()).map((r) => ({
      key: String(r.id),
      kind: "parked_order" as const,
      id: String(r.id),
      store: r.domain,
      summary: `order ${r.name} is parked`,
      reason: r.park_reason,
      since: num(r.updated_at),
      action: {
        label: "Reprocess the store's parked orders",
        method: "POST" as const,
        url: `/api/v1/stores/${r.domain}/orders/reprocess`,
      },
    }));
  },
  async count(db, store) {
    let q = db
      .selectFrom("orders as o")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("o.status", "=", "parked")
      .where(notDismissed("parked_order", sql`cast(o.id as text)`));
    if (store) q = q.where("o.store_id", "=", store.id);
    return num((await q.executeTakeFirstOrThrow()).n);
  },
};

/** A failing item's id: `storeId:variantId:locationGid` (one inventory item per variant and store). */
export const failingItemId = (storeId: number, variantId: number, locationGid: string) =>
  `${storeId}:${variantId}:${locationGid}`;
const failingIdSql = sql`cast(i.store_id as text) || ':' || cast(i.variant_id as text) || ':' || i.location_gid`;

const failingItems: KindSource = {
  async list(db, store, after, limit) {
    let q = db
      .selectFrom("inventory_sync as i")
      .innerJoin("stores as s", "s.id", "i.store_id")
      .innerJoin("variants as v", "v.id", "i.variant_id")
      .leftJoin("store_locations as sl", (j) =>
        j.onRef("sl.store_id", "=", "i.store_id").onRef("sl.location_gid", "=", "i.location_gid"),
      )
      .select([
        "i.store_id",
        "i.variant_id",
        "i.location_gid",
        "s.domain",
        "v.sku",
        "sl.name",
        "i.error",
        "i.error_attempts",
        "i.retry_at",
      ])
      .where("i.error", "is not", null)
      .where(notDismissed("failing_item", failingIdSql))
      .orderBy("i.store_id")
      .orderBy("i.variant_id")
      .orderBy("i.location_gid")
      .limit(limit);
    if (store) q = q.where("i.store_id", "=", store.id);
    if (after !== undefined) {
      const [s, v, l] = JSON.parse(after) as [number, number, string];
      q = q.where(sql<boolean>`(i.store_id, i.variant_id, i.location_gid) > (${s}, ${v}, ${l})`);
    }
    return (await q.execute()).map((r) => ({
      key: JSON.stringify([num(r.store_id), num(r.variant_id), r.location_gid]),
      kind: "failing_item" as const,
      id: failingItemId(num(r.store_id), num(r.variant_id), r.location_gid),
      store: r.domain,
      summary: `Shopify refused ${r.sku} at ${r.name ?? r.location_gid} (${r.error_attempts} attempts${r.retry_at === null ? "" : `, next at ${new Date(num(r.retry_at)).toISOString()}`})`,
      reason: r.error,
      since: null,
      action: {
        label: "Retry now",
        method: "POST" as const,
        url: "/api/v1/failures/retry",
        body: { kind: "failing_item", id: failingItemId(num(r.store_id), num(r.variant_id), r.location_gid) },
      },
    }));
  },
  async count(db, store) {
    let q = db
      .selectFrom("inventory_sync as i")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("i.error", "is not", null)
      .where(notDismissed("failing_item", failingIdSql));
    if (store) q = q.where("i.store_id", "=", store.id);
    return num((await q.executeTakeFirstOrThrow()).n);
  },
};

const linkProblems: KindSource = {
  async list(db, store, after, limit) {
    let q = db
      .selectFrom("link_problems as p")
      .innerJoin("stores as s", "s.id", "p.store_id")
      .select(["p.id", "s.domain", "p.kind", "p.sku", "p.barcode", "p.detail", "p.detected_at"])
      .where("p.id", ">", afterId(after))
      .where(notDismissed("link_problem", sql`cast(p.id as text)`))
      .orderBy("p.id")
      .limit(limit);
    if (store) q = q.where("p.store_id", "=", store.id);
    return (await q.execute()).map((r) => ({
      key: String(r.id),
      kind: "link_problem" as const,
      id: String(r.id),
      store: r.domain,
      summary: `${r.sku ?? r.barcode ?? "a variant"} is not linked (${r.kind.replaceAll("_", " ")})`,
      reason: r.detail,
      since: num(r.detected_at),
      action: {
        label: "Link again (after fixing the SKU or barcode)",
        method: "POST" as const,
        url: `/api/v1/stores/${r.domain}/jobs`,
        body: { kind: "link" },
      },
    }));
  },
  async count(db, store) {
    let q = db
      .selectFrom("link_problems as p")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where(notDismissed("link_problem", sql`cast(p.id as text)`));
    if (store) q = q.where("p.store_id", "=", store.id);
    return num((await q.executeTakeFirstOrThrow()).n);
  },
};

const failedJobs: KindSource = {
  async list(db, store, after, limit) {
    let q = db
      .selectFrom("operator_jobs as j")
      .innerJoin("stores as s", "s.id", "j.store_id")
      .select(["j.id", "s.domain", "j.kind", "j.error", "j.finished_at", "j.created_at"])
      .where("j.status", "=", "failed")
      .where("j.id", ">", afterId(after))
      .where(notDismissed("failed_job", sql`cast(j.id as text)`))
      .orderBy("j.id")
      .limit(limit);
    if (store) q = q.where("j.store_id", "=", store.id);
    return (await q.execute()).map((r) => ({
      key: String(r.id),
      kind: "failed_job" as const,
      id: String(r.id),
      store: r.domain,
      summary: `${r.kind.replaceAll("_", " ")} job ${r.id} failed`,
      reason: r.error,
      since: num(r.finished_at ?? r.created_at),
      action: {
        label: "Run again",
        method: "POST" as const,
        url: `/api/v1/stores/${r.domain}/jobs`,
        body: { kind: r.kind },
      },
    }));
  },
  async count(db, store) {
    let q = db
      .selectFrom("operator_jobs as j")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("j.status", "=", "failed")
      .where(notDismissed("failed_job", sql`cast(j.id as text)`));
    if (store) q = q.where("j.store_id", "=", store.id);
    return num((await q.executeTakeFirstOrThrow()).n);
  },
};

const SOURCES: Record<FailureKind, KindSource> = {
  dead_letter: deadLetters,
  outbound_dead: outboundDead,
  parked_order: parkedOrders,
  failing_item: failingItems,
  link_problem: linkProblems,
  failed_job: failedJobs,
};

/** One page over the kinds in order, resuming after (kind, key). */
export async function listFailures(
  db: Db,
  options: {
    store?: StoreRef | undefined;
    kind?: FailureKind | undefined;
    after?: { kind: FailureKind; key: string } | undefined;
    limit: number;
  },
): Promise<{ items: FailureItem[]; next: { kind: FailureKind; key: string } | null }> {
  const kinds = options.kind ? [options.kind] : FAILURE_KINDS;
  const start = options.after ? kinds.indexOf(options.after.kind) : 0;
  const items: (FailureItem & { key: string })[] = [];
  let next: { kind: FailureKind; key: string } | null = null;
  for (let i = Math.max(0, start); i < kinds.length; i++) {
    const kind = kinds[i]!;
    const want = options.limit + 1 - items.length;
    const after = options.after && i === start ? options.after.key : undefined;
    const rows = await SOURCES[kind].list(db, options.store, after, want);
    items.push(...rows);
    if (items.length > options.limit) break;
  }
  if (items.length > options.limit) {
    items.length = options.limit;
    const last = items.at(-1)!;
    next = { kind: last.kind, key: last.key };
  }
  return { items: items.map(({ key: _key, ...item }) => item), next };
}

export async function countFailures(
  db: Db,
  store: StoreRef | undefined,
): Promise<Record<FailureKind, number>> {
  const out = {} as Record<FailureKind, number>;
  for (const kind of FAILURE_KINDS) out[kind] = await SOURCES[kind].count(db, store);
  return out;
}

/** Whether (kind, id) names a failure that exists now (dismissing needs one). */
export async function failureExists(
  db: Db,
  kind: FailureKind,
  id: string,
): Promise<{ storeId: number | null } | null> {
  if (kind === "failing_item") {
    const m = /^(\d+):(\d+):(.+)$/.exec(id);
    if (!m) return null;
    const r = await db
      .selectFrom("inventory_sync")
      .select("store_id")
      .where("store_id", "=", Number(m[1]))
      .where("variant_id", "=", Number(m[2]))
      .where("location_gid", "=", m[3]!)
      .where("error", "is not", null)
      .executeTakeFirst();
    return r ? { storeId: num(r.store_id) } : null;
  }
  if (!/^\d{1,15}$/.test(id)) return null;
  const n = Number(id);
  switch (kind) {
    case "dead_letter": {
      const r = await db
        .selectFrom("webhook_inbox as w")
        .leftJoin("stores as s", "s.domain", "w.shop")
        .select("s.id")
        .where("w.id", "=", n)
        .where("w.status", "=", "dead")
        .executeTakeFirst();
      return r ? { storeId: r.id === null ? null : num(r.id) } : null;
    }
    case "outbound_dead": {
      const r = await db
        .selectFrom("outbound_events")
        .select("store_id")
        .where("id", "=", n)
        .where("status", "=", "dead")
        .executeTakeFirst();
      return r ? { storeId: num(r.store_id) } : null;
    }
    case "parked_order": {
      const r = await db
        .selectFrom("orders")
        .select("store_id")
        .where("id", "=", n)
        .where("status", "=", "parked")
        .executeTakeFirst();
      return r ? { storeId: num(r.store_id) } : null;
    }
    case "link_problem": {
      const r = await db
        .selectFrom("link_problems")
        .select("store_id")
        .where("id", "=", n)
        .executeTakeFirst();
      return r ? { storeId: num(r.store_id) } : null;
    }
    case "failed_job": {
      const r = await db
        .selectFrom("operator_jobs")
        .select("store_id")
        .where("id", "=", n)
        .where("status", "=", "failed")
        .executeTakeFirst();
      return r ? { storeId: num(r.store_id) } : null;
    }
  }
}
