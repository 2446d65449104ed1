/**
 * Recording movements: validate the whole batch, then write movements, ledger entries and
 * stock levels in one transaction, so a batch is either fully present or absent.
 */
import { type Insertable, sql, type Transaction } from "kysely";
import type { StockChangeListener } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { chunks, levelKey } from "../db/batching.ts";
import type { Database } from "../db/database.ts";
import type { Tables } from "../db/tables.ts";
import { applyEntries, type Entry, type LevelState } from "./ledger.ts";
import { entriesOf, MAX_MOVEMENTS_PER_BATCH, planBatch, referencedKeys } from "./movements.ts";

export type Trx = Transaction<Tables>;

export interface IngestResult {
  readonly applied: number;
  readonly duplicates: readonly { index: number; id: string }[];
}

/**
 * Concurrency: writers serialise only on the stock levels they write. Before a batch reads any
 * level it locks every level it will write, in one pass in key order (variant, warehouse), by an
 * upsert that creates missing rows and locks existing ones (ON CONFLICT DO UPDATE takes the row
 * lock and returns the latest committed state). Two batches on disjoint levels run in parallel;
 * two on shared levels queue in the same order and cannot deadlock. The late-movement semantics
 * need no more: a level's entries are only written under its lock.
 */
const IN_CHUNK = 500;
const INSERT_CHUNK = 500;

export async function ingestMovements(
  database: Database,
  items: readonly unknown[],
  now: number,
  onStockChanged?: StockChangeListener,
): Promise<IngestResult> {
  if (items.length === 0) throw new AppError("INVALID_REQUEST", "movements must hold at least one movement");
  if (items.length > MAX_MOVEMENTS_PER_BATCH) {
    throw new AppError(
      "INVALID_REQUEST",
      `a batch holds at most ${MAX_MOVEMENTS_PER_BATCH} movements; this one has ${items.length}: split it`,
    );
  }
  const keys = referencedKeys(items);
  return database.db.transaction().execute(async (trx) => {
    const variantIdBySku = new Map<string, number>();
    for (const part of chunks(keys.skus, IN_CHUNK)) {
      for (const r of await trx
        .selectFrom("variants")
        .select(["id", "sku"])
        .where("sku", "in", part)
        .execute()) {
        variantIdBySku.set(r.sku, r.id);
      }
    }
    const warehouseIdByCode = new Map<string, number>();
    if (keys.warehouses.length > 0) {
      for (const r of await trx
        .selectFrom("warehouses")
        .select(["id", "code"])
        .where("code", "in", keys.warehouses)
        .execute()) {
        warehouseIdByCode.set(r.code, r.id);
      }
    }
    const recorded = async () => {
      const out = new Map<string, string>();
      for (const part of chunks(keys.ids, IN_CHUNK)) {
        const rows = await trx
          .selectFrom("movements")
          .select(["external_id", "content_hash"])
          .where("external_id", "in", part)
          .execute();
        for (const r of rows) out.set(r.external_id, r.content_hash);
      }
      return out;
    };
    let plan = planBatch(
      items,
      { variantIdBySku, warehouseIdByCode, recordedHashById: await recorded() },
      now,
    );
    let current = new Map<string, LevelState>();
    if (plan.ok && plan.apply.length > 0) {
      current = await lockLevels(
        trx,
        plan.apply.flatMap((m) => entriesOf(m, 0).map((e) => [m.variantId, e.warehouseId] as const)),
        now,
      );
      // Under the locks, a concurrent batch may have recorded some of these ids meanwhile: plan
      // again (the levels can only shrink: those movements are now duplicates or conflicts).
      if (database.dialect === "postgres")
        plan = planBatch(
          items,
          { variantIdBySku, warehouseIdByCode, recordedHashById: await recorded() },
          now,
        );
    }
    if (!plan.ok) {
      const bad = new Set(plan.errors.map((e) => e.index)).size;
      throw new AppError(
        "INVALID_MOVEMENTS",
        `${bad} of ${items.length} movements are invalid; nothing was recorded. Fix the listed items and send the batch again.`,
        plan.errors,
      );
    }
    if (plan.apply.length === 0) return { applied: 0, duplicates: plan.duplicates };

    // Movements first: their ids are the ledger's recording order (seq).
    const ids: number[] = [];
    for (const part of chunks(plan.apply, INSERT_CHUNK)) {
      const rows = await trx
        .insertInto("movements")
        .values(
          part.map((m) => ({
            external_id: m.externalId,
            type: m.type,
            variant_id: m.variantId,
            warehouse_id: m.warehouseId,
            to_warehouse_id: m.toWarehouseId,
            quantity: m.quantity,
            occurred_at: m.occurredAt,
            recorded_at: now,
            content_hash: m.contentHash,
          })),
        )
        .returning("id")
        .execute()
        .catch((err: unknown) => {
          // Only a concurrent batch recording the same id with other content gets here.
          if ((err as { code?: string }).code === "23505")
            throw new AppError(
              "CONFLICT",
              "a movement id of this batch was recorded by another request at the same moment with other content; nothing was recorded",
            );
          throw err;
        });
      ids.push(...rows.map((r) => r.id));
    }

    const incoming = new Map<string, { variantId: number; warehouseId: number; entries: Entry[] }>();
    const entryRows: Insertable<Tables["ledger_entries"]>[] = [];
    plan.apply.forEach((m, i) => {
      const seq = ids[i]!;
      for (const { warehouseId, entry } of entriesOf(m, seq)) {
        const key = levelKey(m.variantId, warehouseId);
        let level = incoming.get(key);
        if (!level) {
          level = { variantId: m.variantId, warehouseId, entries: [] };
          incoming.set(key, level);
        }
        level.entries.push(entry);
        entryRows.push({
          movement_id: seq,
          variant_id: m.variantId,
          warehouse_id: warehouseId,
          kind: entry.kind,
          quantity: entry.quantity,
          occurred_at: entry.occurredAt,
        });
      }
    });

    const updates: { variantId: number; warehouseId: number; state: LevelState }[] = [];
    for (const [key, level] of incoming) {
      const before = current.get(key) ?? { onHand: 0, lastCount: null };
      // Sums of earlier deltas are needed only when a new count supersedes the current one;
      // they are read before this batch's entries are written.
      const laterDeltas = new Map<number, number>();
      for (const e of level.entries) {
        if (e.kind === "count" && !laterDeltas.has(e.occurredAt)) {
          const row = await trx
            .selectFrom("ledger_entries")
            .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("quantity"), sql<number>`0`).as("total"))
            .where("variant_id", "=", level.variantId)
            .where("warehouse_id", "=", level.warehouseId)
            .where("kind", "=", "delta")
            .where("occurred_at", ">", e.occurredAt)
            .executeTakeFirstOrThrow();
          laterDeltas.set(e.occurredAt, Number(row.total));
        }
      }
      const state = applyEntries(before, level.entries, (at) => laterDeltas.get(at) ?? 0);
      updates.push({ variantId: level.variantId, warehouseId: level.warehouseId, state });
    }

    for (const part of chunks(entryRows, INSERT_CHUNK))
      await trx.insertInto("ledger_entries").values(part).execute();
    for (const part of chunks(updates, INSERT_CHUNK)) {
      await trx
        .insertInto("stock_levels")
        .values(
          part.map((u) => ({
            variant_id: u.variantId,
            warehouse_id: u.warehouseId,
            on_hand: u.state.onHand,
            reserved: 0,
            safety_stock: 0,
            last_count_at: u.state.lastCount?.at ?? null,
            last_count_seq: u.state.lastCount?.seq ?? null,
            updated_at: now,
          })),
        )
        .onConflict((oc) =>
          oc.columns(["variant_id", "warehouse_id"]).doUpdateSet((eb) => ({
            on_hand: eb.ref("excluded.on_hand"),
            last_count_at: eb.ref("excluded.last_count_at"),
            last_count_seq: eb.ref("excluded.last_count_seq"),
            updated_at: eb.ref("excluded.updated_at"),
          })),
        )
        .execute();
    }
    if (onStockChanged) await onStockChanged(trx, [...new Set(updates.map((u) => u.variantId))], now);
    return { applied: plan.apply.length, duplicates: plan.duplicates };
  });
}

/**
 * Locks the given stock levels in key order and returns their current state: an upsert in
 * sorted order that inserts missing levels and takes the row lock of existing ones.
 */
async function lockLevels(
  trx: Trx,
  pairs: readonly (readonly [number, number])[],
  now: number,
): Promise<Map<string, LevelState>> {
  const unique = new Map<string, readonly [number, number]>();
  for (const p of pairs) unique.set(levelKey(p[0], p[1]), p);
  const sorted = [...unique.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out = new Map<string, LevelState>();
  for (const part of chunks(sorted, INSERT_CHUNK)) {
    const rows = await trx
      .insertInto("stock_levels")
      .values(
        part.map(([variantId, warehouseId]) => ({
          variant_id: variantId,
          warehouse_id: warehouseId,
          on_hand: 0,
          reserved: 0,
          safety_stock: 0,
          last_count_at: null,
          last_count_seq: null,
          updated_at: now,
        })),
      )
      .onConflict((oc) =>
        oc.columns(["variant_id", "warehouse_id"]).doUpdateSet((eb) => ({
          variant_id: eb.ref("stock_levels.variant_id"),
        })),
      )
      .returning(["variant_id", "warehouse_id", "on_hand", "last_count_at", "last_count_seq"])
      .execute();
    for (const r of rows) {
      out.set(levelKey(r.variant_id, r.warehouse_id), {
        onHand: r.on_hand,
        lastCount:
          r.last_count_at === null || r.last_count_seq === null
            ? null
            : { at: r.last_count_at, seq: r.last_count_seq },
      });
    }
  }
  return out;
}
