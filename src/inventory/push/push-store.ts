/** The inventory push's tables: dirty marks, per-target sync state and the outbox of batches. */
import { type Expression, PostgresAdapter, type SqlBool, sql } from "kysely";
import { yieldToEventLoop } from "../../core/clock.ts";
import type { StockChangeListener } from "../../core/context.ts";
import { chunks } from "../../db/batching.ts";
import type { Db } from "../../db/database.ts";
import type { InventoryMode } from "../../db/tables.ts";
import { loadStoreStockRules, sellableToStore } from "../store-safety.ts";
import { type DirtyMark, itemRetryDelayMs, type SyncTarget } from "./planner.ts";
import { itemLocationKey } from "./shopify-inventory.ts";
import { desiredOnHand, inTransit, type ShippedLine } from "./stock-model.ts";

/**
 * PostgreSQL takes a list of ids as one array parameter (`= any($1)`): what it parses and plans,
 * and what Kysely builds and the driver sends, no longer grows with the list, so the push reads
 * and writes a cycle's variants in a few statements. SQLite keeps `IN (…)` lists in parts.
 */
const onPostgres = (db: Db) => db.getExecutor().adapter instanceof PostgresAdapter;

function idIn(db: Db, column: string, ids: readonly number[]): Expression<SqlBool> {
  return onPostgres(db)
    ? sql<SqlBool>`${sql.ref(column)} = any(${[...ids]}::int8[])`
    : sql<SqlBool>`${sql.ref(column)} in (${sql.join(ids)})`;
}

/**
 * Marks every store that links these variants as needing a push, inside the transaction that
 * changed their stock. Marks keep their first time (coalescing) and bump their generation.
 */
export const markPushDirty: StockChangeListener = (trx, variantIds, now) =>
  markDirty(trx, null, variantIds, now);

async function markDirty(
  db: Db,
  storeId: number | null,
  variantIds: readonly number[] | "all",
  now: number,
): Promise<void> {
  for (const [i, part] of (variantIds === "all" ? [null] : chunks(variantIds, 500)).entries()) {
    // Linking 100,000 variants marks them all: the event loop runs between statements.
    if (i > 0) await yieldToEventLoop();
    await db
      .insertInto("push_dirty")
      .columns(["store_id", "variant_id", "first_marked_at", "generation"])
      .expression((eb) => {
        let q = eb
          .selectFrom("variant_links")
          .select([
            "store_id",
            "variant_id",
            sql<number>`${sql.lit(now)}`.as("first_marked_at"),
            sql<number>`1`.as("generation"),
          ]);
        if (storeId !== null) q = q.where("store_id", "=", storeId);
        // A WHERE is always present: SQLite needs one to parse INSERT … SELECT … ON CONFLICT.
        return part ? q.where("variant_id", "in", part) : q.where("store_id", "=", storeId ?? -1);
      })
      .onConflict((oc) =>
        oc
          .columns(["store_id", "variant_id"])
          .doUpdateSet((eb) => ({ generation: sql<number>`${eb.ref("push_dirty.generation")} + 1` })),
      )
      .execute();
  }
}

/**
 * Marks linked variants of one store (all of them, or the ones given): drift correction, a
 * mapping change, a resumed flow.
 */
export async function markStoreDirtyFor(
  db: Db,
  storeId: number,
  variantIds: readonly number[] | "all",
  now: number,
  /** Links marked a statement when all are (tests make it small). */
  pageSize = MARK_ALL_PAGE,
): Promise<void> {
  if (variantIds !== "all") return markDirty(db, storeId, variantIds, now);
  // A range of 5,000 links at a time, the event loop free between: one statement marking 100,000
  // variants held SQLite's one connection (and /healthz) for most of a second.
  for await (const range of linkRanges(db, storeId, pageSize))
    await db
      .insertInto("push_dirty")
      .columns(["store_id", "variant_id", "first_marked_at", "generation"])
      .expression((eb) => {
        let q = eb
          .selectFrom("variant_links")
          .select([
            "store_id",
            "variant_id",
            sql<number>`${sql.lit(now)}`.as("first_marked_at"),
            sql<number>`1`.as("generation"),
          ])
          .where("store_id", "=", storeId)
          .where("variant_id", ">", range.after);
        if (range.last !== undefined) q = q.where("variant_id", "<=", range.last);
        return q;
      })
      .onConflict((oc) =>
        oc
          .columns(["store_id", "variant_id"])
          .doUpdateSet((eb) => ({ generation: sql<number>`${eb.ref("push_dirty.generation")} + 1` })),
      )
      .execute();
}

/**
 * A store's linked variant ids as ranges (after, last] of `pageSize` links each, the last one
 * open (last undefined); the event loop runs between ranges. For whole-store statements that
 * must not hold SQLite's one connection for long.
 */
export async function* linkRanges(
  db: Db,
  storeId: number,
  pageSize = MARK_ALL_PAGE,
): AsyncGenerator<{ after: number; last: number | undefined }> {
  let after = -1;
  for (;;) {
    const last = await db
      .selectFrom("variant_links")
      .select("variant_id")
      .where("store_id", "=", storeId)
      .where("variant_id", ">", after)
      .orderBy("variant_id")
      .offset(pageSize - 1)
      .limit(1)
      .executeTakeFirst();
    yield { after, last: last?.variant_id };
    if (!last) return;
    after = last.variant_id;
    await yieldToEventLoop();
  }
}

const MARK_ALL_PAGE = 5000;

export async function loadDirty(db: Db, storeId: number, limit: number): Promise<DirtyMark[]> {
  const rows = await db
    .selectFrom("push_dirty")
    .select(["variant_id", "first_marked_at", "generation"])
    .where("store_id", "=", storeId)
    .orderBy("first_marked_at")
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    variantId: r.variant_id,
    firstMarkedAt: r.first_marked_at,
    generation: r.generation,
  }));
}

/**
 * Clears the marks a push has handled; a mark bumped meanwhile stays for the next cycle.
 * Marks are grouped by generation (nearly all share a few), so each statement is a primary-key
 * `variant_id IN (…)`: an OR of (variant, generation) pairs made SQLite scan every mark of the
 * store per statement (2 s per 200 marks at 20,000 variants, blocking the event loop).
 */
export async function clearDirty(db: Db, storeId: number, marks: readonly DirtyMark[]): Promise<void> {
  if (marks.length === 0) return;
  if (onPostgres(db)) {
    // One statement: the (variant, generation) pairs as two arrays. A mark locked by a stock
    // change still being recorded is skipped, not waited for: that change bumps its generation
    // (so it stays anyway), or rolls back and the mark is pushed once more, which is harmless.
    // Waiting made every cycle queue behind the movement batches in flight.
    // The marks to delete are found once (an array, a primary-key lookup per mark), then deleted
    // by key. Written as `variant_id IN (… (variant, generation) IN (unnest …))`, the plan
    // depended on the statistics: taken while the table was nearly empty (the upkeep or
    // autovacuum analyses it whenever it changed), they made PostgreSQL run the whole subquery
    // again for every mark of the store (3 processes in bench:fleet: 1.7 CPU-s/s on this one
    // statement, 1,163 updates/s).
    await sql`delete from push_dirty where store_id = ${storeId} and variant_id = any(array(
        select d.variant_id
        from unnest(${marks.map((m) => m.variantId)}::int8[], ${marks.map((m) => m.generation)}::int8[]) as m(variant_id, generation)
        join push_dirty d on d.store_id = ${storeId} and d.variant_id = m.variant_id and d.generation = m.generation
        for update of d skip locked))`.execute(db);
    return;
  }
  const byGeneration = new Map<number, number[]>();
  for (const m of marks) {
    const list = byGeneration.get(m.generation);
    if (list) list.push(m.variantId);
    else byGeneration.set(m.generation, [m.variantId]);
  }
  let statements = 0;
  for (const [generation, variantIds] of byGeneration)
    for (const part of chunks(variantIds, 500)) {
      if (statements++ > 0) await yieldToEventLoop();
      await db
        .deleteFrom("push_dirty")
        .where("store_id", "=", storeId)
        .where("variant_id", "in", part)
        .where("generation", "=", generation)
        .execute();
    }
}

/**
 * Desired on_hand per linked (item, managed location), with the figures it comes from and the
 * last pushed and confirmed values (see stock-model.ts). Read in one repeatable-read
 * transaction, so a delta baseline moved by a Shopify fulfillment is never paired with the
 * stock from before it.
 */
export async function loadTargets(
  db: Db,
  storeId: number,
  variantIds: readonly number[] | "all",
): Promise<SyncTarget[]> {
  const out: SyncTarget[] = [];
  // 250 variants a part: some 30 ms of SQLite at 5 locations (500 held the loop twice as long).
  // PostgreSQL reads the whole list in one snapshot (its statements do not hold the event loop).
  const parts = variantIds === "all" ? [null] : onPostgres(db) ? [variantIds] : chunks(variantIds, 250);
  for (const [i, part] of parts.entries()) {
    // A variant's figures are read together in one short transaction per part (not one for the
    // whole list): on SQLite a transaction holds the one connection, so /healthz and the API
    // would wait for all of it. Between parts the event loop runs.
    if (i > 0) await yieldToEventLoop();
    await db
      .transaction()
      .setIsolationLevel("repeatable read")
      .execute(async (trx) => {
        const locationsOf = await warehouseLocations(trx, storeId);
        // The store's own hold-back (store-safety.ts), read in the same snapshot as the stock.
        const rules = await loadStoreStockRules(trx, storeId);
        const committed = await committedToStore(trx, storeId, part, locationsOf);
        let q = trx
          .selectFrom("variant_links as vl")
          .innerJoin("store_locations as sl", (j) =>
            j
              .onRef("sl.store_id", "=", "vl.store_id")
              .on("sl.managed", "=", 1)
              .on("sl.active_in_shopify", "=", 1),
          )
          .leftJoin("location_warehouses as lw", "lw.store_location_id", "sl.id")
          .leftJoin("stock_levels as lv", (j) =>
            j.onRef("lv.variant_id", "=", "vl.variant_id").onRef("lv.warehouse_id", "=", "lw.warehouse_id"),
          )
          .select([
            "vl.variant_id",
            "vl.inventory_item_gid",
            "sl.location_gid",
            sql<number>`coalesce(sum(case when lv.on_hand - lv.reserved - lv.safety_stock > 0 then lv.on_hand - lv.reserved - lv.safety_stock else 0 end), 0)`.as(
              "sellable",
            ),
          ])
          .where("vl.store_id", "=", storeId)
          .groupBy(["vl.variant_id", "vl.inventory_item_gid", "sl.location_gid"]);
        if (part) q = q.where(idIn(trx, "vl.variant_id", part));
        const rows = await q.execute();
        let syncQ = trx
          .selectFrom("inventory_sync")
          .select([
            "inventory_item_gid",
            "location_gid",
            "pushed",
            "confirmed",
            "recheck",
            "retry_at",
            "error",
          ])
          .where("store_id", "=", storeId);
        if (part) syncQ = syncQ.where(idIn(trx, "variant_id", part));
        const sync = new Map(
          (await syncQ.execute()).map((r) => [itemLocationKey(r.inventory_item_gid, r.location_gid), r]),
        );
        for (const d of rows) {
          const s = sync.get(itemLocationKey(d.inventory_item_gid, d.location_gid));
          const figures = {
            sellable: sellableToStore(Number(d.sellable), rules),
            committed: committed.get(`${d.variant_id}|${d.location_gid}`) ?? 0,
          };
          out.push({
            variantId: d.variant_id,
            inventoryItemGid: d.inventory_item_gid,
            locationGid: d.location_gid,
            ...figures,
            desired: desiredOnHand(figures),
            confirmed: s?.confirmed ?? null,
            pushed: s?.pushed ?? null,
            recheck: (s?.recheck ?? 0) === 1,
            retryAt: s?.retry_at ?? null,
            error: s?.error ?? null,
          });
        }
      });
  }
  return out;
}

/**
 * Every linked target of a store, a page of variants at a time (yielding between pages), so a
 * store of 100,000 variants is never one query, one array or one long block of the event loop.
 */
export async function* targetPages(
  db: Db,
  storeId: number,
  variantsPerPage = 1000,
): AsyncGenerator<SyncTarget[]> {
  let after = -1;
  for (;;) {
    const ids = (
      await db
        .selectFrom("variant_links")
        .select("variant_id")
        .where("store_id", "=", storeId)
        .where("variant_id", ">", after)
        .orderBy("variant_id")
        .limit(variantsPerPage)
        .execute()
    ).map((r) => r.variant_id);
    if (ids.length === 0) return;
    after = ids[ids.length - 1]!;
    yield await loadTargets(db, storeId, ids);
    await yieldToEventLoop();
  }
}

/** warehouse id → the store's managed, active locations it is mapped to. */
async function warehouseLocations(trx: Db, storeId: number): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const r of await trx
    .selectFrom("location_warehouses as lw")
    .innerJoin("store_locations as sl", "sl.id", "lw.store_location_id")
    .select(["lw.warehouse_id", "sl.location_gid"])
    .where("sl.store_id", "=", storeId)
    .where("sl.managed", "=", 1)
    .where("sl.active_in_shopify", "=", 1)
    .execute()) {
    const list = out.get(r.warehouse_id);
    if (list) list.push(r.location_gid);
    else out.set(r.warehouse_id, [r.location_gid]);
  }
  return out;
}

/**
 * Units of this store's orders that Shopify holds as committed, as the hub knows them, per
 * `variant|location`: the reservations, plus units shipped through the hub not yet fulfilled.
 */
async function committedToStore(
  trx: Db,
  storeId: number,
  variantIds: readonly number[] | null,
  locationsOf: ReadonlyMap<number, readonly string[]>,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const add = (variantId: number, warehouseId: number, n: number) => {
    if (n <= 0) return;
    for (const location of locationsOf.get(warehouseId) ?? []) {
      const k = `${variantId}|${location}`;
      out.set(k, (out.get(k) ?? 0) + n);
    }
  };
  let rq = trx
    .selectFrom("reservations as r")
    .innerJoin("orders as o", "o.id", "r.order_id")
    .select(["r.variant_id", "r.warehouse_id", (eb) => eb.fn.sum<number>("r.quantity").as("n")])
    .where("o.store_id", "=", storeId)
    .groupBy(["r.variant_id", "r.warehouse_id"]);
  if (variantIds) rq = rq.where(idIn(trx, "r.variant_id", variantIds));
  for (const r of await rq.execute()) add(r.variant_id, r.warehouse_id, Number(r.n));

  let tq = trx
    .selectFrom("shipment_lines as l")
    .innerJoin("shipments as s", "s.id", "l.shipment_id")
    .innerJoin("orders as o", "o.id", "s.order_id")
    .leftJoin("order_lines as ol", (j) =>
      j.onRef("ol.order_id", "=", "s.order_id").onRef("ol.shopify_line_gid", "=", "l.shopify_line_gid"),
    )
    .select([
      "s.order_id",
      "l.shopify_line_gid",
      "l.variant_id",
      "s.warehouse_id",
      "l.quantity",
      "l.fulfilled_quantity",
      "o.cancelled_at",
      "ol.fulfillable_quantity",
    ])
    .where("s.store_id", "=", storeId)
    .whereRef("l.quantity", ">", "l.fulfilled_quantity");
  if (variantIds) tq = tq.where(idIn(trx, "l.variant_id", variantIds));
  const lines = new Map<string, { variantId: number; warehouseId: number; line: ShippedLine }>();
  for (const r of await tq.execute()) {
    const k = `${r.order_id}|${r.shopify_line_gid}|${r.warehouse_id}`;
    const prev = lines.get(k)?.line;
    lines.set(k, {
      variantId: r.variant_id,
      warehouseId: r.warehouse_id,
      line: {
        shipped: (prev?.shipped ?? 0) + r.quantity,
        fulfilled: (prev?.fulfilled ?? 0) + r.fulfilled_quantity,
        fulfillable: r.cancelled_at !== null ? 0 : (r.fulfillable_quantity ?? 0),
      },
    });
  }
  for (const l of lines.values()) add(l.variantId, l.warehouseId, inTransit(l.line));
  return out;
}

export interface SyncUpdate {
  readonly variantId: number;
  readonly inventoryItemGid: string;
  readonly locationGid: string;
  readonly pushed?: number;
  readonly confirmed?: number;
}

/** Records what was pushed and/or confirmed; fields left out keep their stored value. */
export async function recordSync(
  db: Db,
  storeId: number,
  updates: readonly SyncUpdate[],
  now: number,
): Promise<void> {
  const groups = new Map<string, SyncUpdate[]>();
  for (const u of updates) {
    const shape = `${u.pushed !== undefined}${u.confirmed !== undefined}`;
    const group = groups.get(shape);
    if (group) group.push(u);
    else groups.set(shape, [u]);
  }
  let statements = 0;
  const postgres = onPostgres(db);
  for (const group of groups.values()) {
    const sample = group[0]!;
    const update = {
      pushed: sample.pushed !== undefined,
      confirmed: sample.confirmed !== undefined,
    };
    // PostgreSQL: one statement per group, one array per column.
    if (postgres) {
      for (const part of chunks(group, 5000)) {
        if (statements++ > 0) await yieldToEventLoop();
        await upsertSyncRows(db, storeId, part, now, update);
      }
      continue;
    }
    for (const part of chunks(group, 200)) {
      // A drift check's page is 5,000 levels: the event loop runs between its statements.
      if (statements++ > 0) await yieldToEventLoop();
      await db
        .insertInto("inventory_sync")
        .values(
          part.map((u) => ({
            store_id: storeId,
            inventory_item_gid: u.inventoryItemGid,
            location_gid: u.locationGid,
            variant_id: u.variantId,
            pushed: u.pushed ?? null,
            confirmed: u.confirmed ?? null,
            confirmed_at: u.confirmed === undefined ? null : now,
          })),
        )
        .onConflict((oc) =>
          oc.columns(["store_id", "inventory_item_gid", "location_gid"]).doUpdateSet((eb) => ({
            ...(sample.pushed !== undefined ? { pushed: eb.ref("excluded.pushed") } : {}),
            ...(sample.confirmed !== undefined
              ? { confirmed: eb.ref("excluded.confirmed"), confirmed_at: eb.ref("excluded.confirmed_at") }
              : {}),
            variant_id: eb.ref("excluded.variant_id"),
          })),
        )
        .execute();
    }
  }
}

/** recordSync on PostgreSQL: `INSERT … SELECT FROM unnest(…)` of one group of updates. */
async function upsertSyncRows(
  db: Db,
  storeId: number,
  rows: readonly SyncUpdate[],
  now: number,
  update: { pushed: boolean; confirmed: boolean },
): Promise<void> {
  const sets = [
    ...(update.pushed ? [sql`pushed = excluded.pushed`] : []),
    ...(update.confirmed
      ? [sql`confirmed = excluded.confirmed`, sql`confirmed_at = excluded.confirmed_at`]
      : []),
    sql`variant_id = excluded.variant_id`,
  ];
  await sql`insert into inventory_sync (store_id, inventory_item_gid, location_gid, variant_id, pushed, confirmed, confirmed_at)
    select ${storeId}::int8, * from unnest(
      ${rows.map((u) => u.inventoryItemGid)}::text[],
      ${rows.map((u) => u.locationGid)}::text[],
      ${rows.map((u) => u.variantId)}::int8[],
      ${rows.map((u) => u.pushed ?? null)}::int8[],
      ${rows.map((u) => u.confirmed ?? null)}::int8[],
      ${rows.map((u) => (u.confirmed === undefined ? null : now))}::int8[])
    on conflict (store_id, inventory_item_gid, location_gid) do update set ${sql.join(sets)}`.execute(db);
}

export type BatchPayload =
  | {
      readonly kind: "set";
      readonly quantities: readonly {
        variantId: number;
        inventoryItemId: string;
        locationId: string;
        quantity: number;
        changeFromQuantity: number;
      }[];
    }
  | {
      readonly kind: "adjust";
      readonly changes: readonly {
        variantId: number;
        inventoryItemId: string;
        locationId: string;
        delta: number;
        changeFromQuantity: null;
        desired: number;
      }[];
    };

export interface PendingBatch {
  readonly id: number;
  readonly key: string;
  readonly mode: InventoryMode;
  readonly payload: BatchPayload;
  readonly attempts: number;
}

/**
 * Writes a cycle's batches before they are sent (one statement), so a crash resends the same
 * requests with the same keys.
 */
export async function savePendingBatches(
  db: Db,
  storeId: number,
  mode: InventoryMode,
  batches: readonly { key: string; payload: BatchPayload }[],
  now: number,
): Promise<PendingBatch[]> {
  if (batches.length === 0) return [];
  const rows = await db
    .insertInto("push_batches")
    .values(
      batches.map((b) => ({
        store_id: storeId,
        idempotency_key: b.key,
        mode,
        payload: JSON.stringify(b.payload),
        status: "pending" as const,
        attempts: 0,
        last_error: null,
        created_at: now,
        finished_at: null,
      })),
    )
    .returning(["id", "idempotency_key"])
    .execute();
  const idOf = new Map(rows.map((r) => [r.idempotency_key, r.id]));
  return batches.map((b) => ({ id: idOf.get(b.key)!, key: b.key, mode, payload: b.payload, attempts: 0 }));
}

export async function loadPendingBatches(db: Db, storeId: number): Promise<PendingBatch[]> {
  const rows = await db
    .selectFrom("push_batches")
    .select(["id", "idempotency_key", "mode", "payload", "attempts"])
    .where("store_id", "=", storeId)
    .where("status", "=", "pending")
    .orderBy("id")
    .execute();
  return rows.map((r) => ({
    id: r.id,
    key: r.idempotency_key,
    mode: r.mode,
    payload: JSON.parse(r.payload) as BatchPayload,
    attempts: r.attempts,
  }));
}

export async function finishBatch(
  db: Db,
  id: number,
  status: "done" | "failed",
  error: string | null,
  now: number,
): Promise<void> {
  await db
    .updateTable("push_batches")
    .set({ status, last_error: error, finished_at: now })
    .where("id", "=", id)
    .execute();
}

export async function countBatchSend(db: Db, id: number): Promise<void> {
  await db
    .updateTable("push_batches")
    .set((eb) => ({ attempts: eb("attempts", "+", 1) }))
    .where("id", "=", id)
    .execute();
}

export async function noteBatchError(db: Db, id: number, error: string): Promise<void> {
  await db.updateTable("push_batches").set({ last_error: error }).where("id", "=", id).execute();
}

type ItemLocation = { readonly inventoryItemGid: string; readonly locationGid: string };

async function updateItems(
  db: Db,
  storeId: number,
  items: readonly ItemLocation[],
  set: Partial<{ error: string | null; error_attempts: number; retry_at: number | null; recheck: number }>,
  only: "error" | "recheck",
): Promise<void> {
  if (items.length === 0) return;
  // Nearly always no row is flagged: one indexed look first spares a large OR per batch.
  const flagged = await db
    .selectFrom("inventory_sync")
    .select("variant_id")
    .where("store_id", "=", storeId)
    .where(only === "error" ? sql<boolean>`error is not null` : sql<boolean>`recheck = 1`)
    .limit(1)
    .executeTakeFirst();
  if (!flagged) return;
  // Per location an `IN` of items, which the primary key answers (an OR of pairs scans).
  const byLocation = new Map<string, string[]>();
  for (const i of items) {
    const list = byLocation.get(i.locationGid);
    if (list) list.push(i.inventoryItemGid);
    else byLocation.set(i.locationGid, [i.inventoryItemGid]);
  }
  for (const [locationGid, itemGids] of byLocation)
    for (const part of chunks(itemGids, 500))
      await db
        .updateTable("inventory_sync")
        .set(set)
        .where("store_id", "=", storeId)
        .where(only === "error" ? sql<boolean>`error is not null` : sql<boolean>`recheck = 1`)
        .where("location_gid", "=", locationGid)
        .where("inventory_item_gid", "in", part)
        .execute();
}

/** Items Shopify accepted: no error, no wait. */
export const clearItemErrors = (db: Db, storeId: number, items: readonly ItemLocation[]) =>
  updateItems(db, storeId, items, { error: null, error_attempts: 0, retry_at: null }, "error");

/** Items just read from Shopify. */
export const clearRecheck = (db: Db, storeId: number, items: readonly ItemLocation[]) =>
  updateItems(db, storeId, items, { recheck: 0 }, "recheck");

/** Items Shopify refused: their error, and a retry time that backs off with each refusal. */
export async function noteItemErrors(
  db: Db,
  storeId: number,
  items: readonly (ItemLocation & { variantId: number; error: string })[],
  now: number,
): Promise<void> {
  for (const i of items) {
    const row = await db
      .selectFrom("inventory_sync")
      .select("error_attempts")
      .where("store_id", "=", storeId)
      .where("inventory_item_gid", "=", i.inventoryItemGid)
      .where("location_gid", "=", i.locationGid)
      .executeTakeFirst();
    const attempts = (row?.error_attempts ?? 0) + 1;
    const values = {
      error: i.error.slice(0, 500),
      error_attempts: attempts,
      retry_at: now + itemRetryDelayMs(attempts),
    };
    await db
      .insertInto("inventory_sync")
      .values({
        store_id: storeId,
        inventory_item_gid: i.inventoryItemGid,
        location_gid: i.locationGid,
        variant_id: i.variantId,
        pushed: null,
        confirmed: null,
        confirmed_at: null,
        ...values,
      })
      .onConflict((oc) => oc.columns(["store_id", "inventory_item_gid", "location_gid"]).doUpdateSet(values))
      .execute();
  }
}

/** Marks of variants held by a refused item become due when it may be retried. */
export async function delayMarks(
  db: Db,
  storeId: number,
  dueAt: ReadonlyMap<number, number>,
  windowMs: number,
): Promise<void> {
  for (const [variantId, at] of dueAt)
    await db
      .updateTable("push_dirty")
      .set({ first_marked_at: at - windowMs })
      .where("store_id", "=", storeId)
      .where("variant_id", "=", variantId)
      .execute();
}

/**
 * Shopify moved its own on_hand (a fulfillment: −n; a restock of returned units: +n): in delta
 * mode the baseline follows, in the transaction that records the event, so the change is never
 * sent back. Absolute mode needs nothing: its compare-and-set notices and re-reads.
 */
export async function followShopifyChange(
  trx: Db,
  storeId: number,
  changes: readonly { variantId: number; locationGid: string; delta: number }[],
): Promise<void> {
  for (const c of changes) {
    if (c.delta === 0) continue;
    await trx
      .updateTable("inventory_sync")
      .set({ pushed: sql`pushed + ${c.delta}` })
      .where("store_id", "=", storeId)
      .where("variant_id", "=", c.variantId)
      .where("location_gid", "=", c.locationGid)
      .where("pushed", "is not", null)
      .execute();
  }
}
