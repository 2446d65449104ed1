/**
 * What to push to one store now: a pure function of the desired quantities (from the ledger),
 * what Shopify last confirmed, the store's mode and the clock.
 *
 * - Coalescing: a variant marked dirty is pushed once `windowMs` has passed since its FIRST
 *   mark, so a burst becomes one update and a SKU that changes constantly still goes out
 *   every window (a window restarted on every change would starve it).
 * - Absolute mode sets `available` to the desired value, compare-and-set against the last
 *   confirmed value. Delta mode sends desired − pushed (the hub's value at the last push) and
 *   leaves Shopify's own count otherwise untouched; its first sync only records the baseline.
 */
import type { InventoryMode } from "../../db/tables.ts";

/** Shopify's limit on `quantities` / `changes` per inventory mutation. */
export const MAX_QUANTITIES_PER_CALL = 250;

export interface DirtyMark {
  readonly variantId: number;
  readonly firstMarkedAt: number;
  readonly generation: number;
}

export interface Readiness {
  readonly ready: readonly DirtyMark[];
  /** When the next waiting mark becomes ready; null when none waits. */
  readonly nextAt: number | null;
}

export function readyMarks(marks: readonly DirtyMark[], now: number, windowMs: number): Readiness {
  const ready: DirtyMark[] = [];
  let nextAt: number | null = null;
  for (const m of marks) {
    const due = m.firstMarkedAt + windowMs;
    if (due <= now) ready.push(m);
    else if (nextAt === null || due < nextAt) nextAt = due;
  }
  return { ready, nextAt };
}

export interface SyncTarget {
  readonly variantId: number;
  readonly inventoryItemGid: string;
  readonly locationGid: string;
  /** Sellable summed over the warehouses mapped to the location. */
  readonly desired: number;
  /** Shopify's `available` as last confirmed; null when never read. */
  readonly confirmed: number | null;
  /** The hub's value at the last push (delta mode's baseline); null before the first. */
  readonly pushed: number | null;
}

export interface SetQuantity {
  readonly inventoryItemId: string;
  readonly locationId: string;
  readonly quantity: number;
  readonly changeFromQuantity: number;
}

export interface AdjustChange {
  readonly inventoryItemId: string;
  readonly locationId: string;
  readonly delta: number;
  /** Explicit null: delta mode does not compare, Shopify's own count may have moved. */
  readonly changeFromQuantity: null;
}

export type PushPlan = {
  /** Absolute-mode quantities Shopify must be set to. */
  readonly sets: readonly (SetQuantity & { readonly variantId: number })[];
  /** Delta-mode changes. */
  readonly adjusts: readonly (AdjustChange & { readonly variantId: number; readonly desired: number })[];
  /** Targets whose current value must be read first (absolute mode, never confirmed). */
  readonly needsRead: readonly SyncTarget[];
  /** Delta mode's first sight of a target: record the baseline, send nothing. */
  readonly baselines: readonly SyncTarget[];
};

export function planPush(targets: readonly SyncTarget[], mode: InventoryMode): PushPlan {
  const sets: PushPlan["sets"][number][] = [];
  const adjusts: PushPlan["adjusts"][number][] = [];
  const needsRead: SyncTarget[] = [];
  const baselines: SyncTarget[] = [];
  for (const t of targets) {
    if (mode === "absolute") {
      if (t.confirmed === null) needsRead.push(t);
      else if (t.confirmed !== t.desired) {
        sets.push({
          variantId: t.variantId,
          inventoryItemId: t.inventoryItemGid,
          locationId: t.locationGid,
          quantity: t.desired,
          changeFromQuantity: t.confirmed,
        });
      }
    } else if (t.pushed === null) {
      baselines.push(t);
    } else if (t.pushed !== t.desired) {
      adjusts.push({
        variantId: t.variantId,
        inventoryItemId: t.inventoryItemGid,
        locationId: t.locationGid,
        delta: t.desired - t.pushed,
        changeFromQuantity: null,
        desired: t.desired,
      });
    }
  }
  return { sets, adjusts, needsRead, baselines };
}

export function batchesOf<T>(items: readonly T[], size = MAX_QUANTITIES_PER_CALL): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
