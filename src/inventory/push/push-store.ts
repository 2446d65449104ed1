/** The inventory push's tables: dirty marks, per-target sync state and the outbox of batches. */
import { sql } from "kysely";
import { chunks } from "../../db/batching.ts";
import type { Db } from "../../db/database.ts";
import type { InventoryMode } from "../../db/tables.ts";
import type { StockChangeListener } from "../ledger-store.ts";
import type { DirtyMark, SyncTarget } from "./planner.ts";
import { itemLocationKey } from "./shopify-inventory.ts";

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
  for (const part of variantIds === "all" ? [null] : chunks(variantIds, 500)) {
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
export const markStoreDirtyFor = (
  db: Db,
  storeId: number,
  variantIds: readonly number[] | "all",
  now: number,
) => markDirty(db, storeId, variantIds, now);

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

/** Clears the marks a push has handled; a mark bumped meanwhile stays for the next cycle. */
export async function clearDirty(db: Db, storeId: number, marks: readonly DirtyMark[]): Promise<void> {
  for (const part of chunks(marks, 200)) {
    await db
      .deleteFrom("push_dirty")
      .where("store_id", "=", storeId)
      .where((eb) =>
        eb.or(
          part.map((m) => eb.and([eb("variant_id", "=", m.variantId), eb("generation", "=", m.generation)])),
        ),
      )
      .execute();
  }
}

/**
 * Desired quantity per linked (item, managed location): sellable summed over the location's
 * warehouses, joined with the last pushed and confirmed values.
 */
export async function loadTargets(
  db: Db,
  storeId: number,
  variantIds: readonly number[] | "all",
): Promise<SyncTarget[]> {
  const out: SyncTarget[] = [];
  const parts = variantIds === "all" ? [null] : chunks(variantIds, 500);
  for (const part of parts) {
    let q = db
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
          "desired",
        ),
      ])
      .where("vl.store_id", "=", storeId)
      .groupBy(["vl.variant_id", "vl.inventory_item_gid", "sl.location_gid"]);
    if (part) q = q.where("vl.variant_id", "in", part);
    const desired = await q.execute();
    let syncQ = db
      .selectFrom("inventory_sync")
      .select(["inventory_item_gid", "location_gid", "pushed", "confirmed"])
      .where("store_id", "=", storeId);
    if (part) syncQ = syncQ.where("variant_id", "in", part);
    const sync = new Map(
      (await syncQ.execute()).map((r) => [itemLocationKey(r.inventory_item_gid, r.location_gid), r]),
    );
    for (const d of desired) {
      const s = sync.get(itemLocationKey(d.inventory_item_gid, d.location_gid));
      out.push({
        variantId: d.variant_id,
        inventoryItemGid: d.inventory_item_gid,
        locationGid: d.location_gid,
        desired: Number(d.desired),
        confirmed: s?.confirmed ?? null,
        pushed: s?.pushed ?? null,
      });
    }
  }
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
    groups.set(shape, [...(groups.get(shape) ?? []), u]);
  }
  for (const group of groups.values()) {
    const sample = group[0]!;
    for (const part of chunks(group, 200)) {
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

/** Writes the batch before it is sent, so a crash resends the same request with the same key. */
export async function savePendingBatch(
  db: Db,
  storeId: number,
  key: string,
  mode: InventoryMode,
  payload: BatchPayload,
  now: number,
): Promise<PendingBatch> {
  const row = await db
    .insertInto("push_batches")
    .values({
      store_id: storeId,
      idempotency_key: key,
      mode,
      payload: JSON.stringify(payload),
      status: "pending",
      attempts: 0,
      last_error: null,
      created_at: now,
      finished_at: null,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return { id: row.id, key, mode, payload, attempts: 0 };
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
