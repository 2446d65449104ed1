/**
 * The small time series behind the console's lag and throughput chart: every ~30 s a hub-wide
 * job samples each connected store (the inventory push's lag and backlog, the quantities pushed
 * and the orders imported since the previous sample) into `store_series`; samples older than
 * SERIES_KEEP_MS are dropped, so the table stays bounded (≈ 8,640 rows per store).
 */
import type { Db } from "../db/database.ts";

export const SERIES_SAMPLE_MS = 30_000;
export const SERIES_KEEP_MS = 3 * 24 * 3600_000;
export const SERIES_RANGES = {
  hour: { spanMs: 3600_000, stepSeconds: SERIES_SAMPLE_MS / 1000 },
  day: { spanMs: 24 * 3600_000, stepSeconds: 300 },
} as const;
export type SeriesRange = keyof typeof SERIES_RANGES;

export interface SeriesPoint {
  /** The end of the step (epoch ms). */
  readonly at: number;
  /** The highest lag seen in the step; null when nothing waited. */
  readonly lagSeconds: number | null;
  /** The most items waiting at a sample of the step (0 exactly when lagSeconds is null). */
  readonly backlog: number;
  /** Quantities pushed to Shopify during the step. */
  readonly pushed: number;
  /** Orders imported during the step. */
  readonly ordersImported: number;
}

/** Pushed quantities in the `push` activity lines after `afterId`, and the last id read. */
async function pushedSince(
  db: Db,
  storeId: number,
  afterId: number,
): Promise<{ pushed: number; lastId: number }> {
  const rows = await db
    .selectFrom("activity_log")
    .select(["id", "kind", "data"])
    .where("store_id", "=", storeId)
    .where("id", ">", afterId)
    .orderBy("id")
    .limit(10_000)
    .execute();
  let pushed = 0;
  for (const r of rows) {
    if (r.kind !== "push" || r.data === null) continue;
    const items = (JSON.parse(r.data) as { items?: unknown }).items;
    if (typeof items === "number") pushed += items;
  }
  return { pushed, lastId: rows.length > 0 ? Number(rows.at(-1)!.id) : afterId };
}

/** One sample for every connected store; old samples dropped. Returns the stores sampled. */
export async function sampleSeries(db: Db, now: number): Promise<number> {
  const stores = await db.selectFrom("stores").select("id").where("status", "=", "active").execute();
  for (const s of stores) {
    const storeId = Number(s.id);
    const prev = await db
      .selectFrom("store_series")
      .select(["at", "activity_id"])
      .where("store_id", "=", storeId)
      .orderBy("at", "desc")
      .limit(1)
      .executeTakeFirst();
    if (prev && Number(prev.at) >= now) continue;
    const waiting = await db
      .selectFrom("push_dirty")
      .select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.min("first_marked_at").as("oldest")])
      .where("store_id", "=", storeId)
      .executeTakeFirstOrThrow();
    const backlog = Number(waiting.n);
    const lag =
      backlog > 0 && waiting.oldest !== null
        ? Math.max(0, Math.floor((now - Number(waiting.oldest)) / 1000))
        : null;
    let pushed = 0;
    let activityId: number;
    let ordersImported = 0;
    if (prev) {
      const p = await pushedSince(db, storeId, Number(prev.activity_id));
      pushed = p.pushed;
      activityId = p.lastId;
      const o = await db
        .selectFrom("orders")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("store_id", "=", storeId)
        .where("imported_at", ">", Number(prev.at))
        .where("imported_at", "<=", now)
        .executeTakeFirstOrThrow();
      ordersImported = Number(o.n);
    } else {
      // The first sample starts counting from now on.
      const last = await db
        .selectFrom("activity_log")
        .select("id")
        .where("store_id", "=", storeId)
        .orderBy("id", "desc")
        .limit(1)
        .executeTakeFirst();
      activityId = last ? Number(last.id) : 0;
    }
    await db
      .insertInto("store_series")
      .values({
        store_id: storeId,
        at: now,
        lag_seconds: lag,
        backlog,
        pushed,
        orders_imported: ordersImported,
        activity_id: activityId,
      })
      .onConflict((oc) => oc.columns(["store_id", "at"]).doNothing())
      .execute();
  }
  await db
    .deleteFrom("store_series")
    .where("at", "<", now - SERIES_KEEP_MS)
    .execute();
  return stores.length;
}

/** The store's points over the range, one per step (steps without a sample are left out). */
export async function readSeries(
  db: Db,
  storeId: number,
  range: SeriesRange,
  now: number,
): Promise<{ range: SeriesRange; stepSeconds: number; points: SeriesPoint[] }> {
  const { spanMs, stepSeconds } = SERIES_RANGES[range];
  const rows = await db
    .selectFrom("store_series")
    .select(["at", "lag_seconds", "backlog", "pushed", "orders_imported"])
    .where("store_id", "=", storeId)
    .where("at", ">", now - spanMs)
    .orderBy("at")
    .execute();
  const stepMs = stepSeconds * 1000;
  const points: SeriesPoint[] = [];
  let current: { at: number; lag: number | null; backlog: number; pushed: number; orders: number } | null =
    null;
  for (const r of rows) {
    const at = Number(r.at);
    // Samples are grouped into the step that ends at or after them (aligned to the epoch).
    const end = Math.ceil(at / stepMs) * stepMs;
    const lag = r.lag_seconds === null ? null : Number(r.lag_seconds);
    if (!current || current.at !== end) {
      if (current) points.push(toPoint(current));
      current = { at: end, lag, backlog: Number(r.backlog), pushed: 0, orders: 0 };
    }
    if (lag !== null) current.lag = Math.max(current.lag ?? 0, lag);
    current.backlog = Math.max(current.backlog, Number(r.backlog));
    current.pushed += Number(r.pushed);
    current.orders += Number(r.orders_imported);
  }
  if (current) points.push(toPoint(current));
  return { range, stepSeconds, points };
}

function toPoint(c: {
  at: number;
  lag: number | null;
  backlog: number;
  pushed: number;
  orders: number;
}): SeriesPoint {
  return { at: c.at, lagSeconds: c.lag, backlog: c.backlog, pushed: c.pushed, ordersImported: c.orders };
}
