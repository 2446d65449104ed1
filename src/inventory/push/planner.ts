/**
 * What to push to one store now: a pure function of the desired quantities (from the ledger),
 * what Shopify last confirmed, the store's mode and the clock.
 *
 * - Coalescing: a variant marked dirty is pushed once `windowMs` has passed since its FIRST
 *   mark, so a burst becomes one update and a SKU that changes constantly still goes out
 *   every window (a window restarted on every change would starve it).
 * - The desired value is Shopify's `on_hand` (stock-model.ts): Shopify subtracts its own
 *   orders' committed units itself. Absolute mode sets `on_hand`, compare-and-set against the
 *   last confirmed value. Delta mode sends desired − pushed as a change (of `available`, which
 *   moves `on_hand` by the same amount) and leaves Shopify's own count otherwise untouched; its
 *   first sync only records the baseline.
 */
import type { InventoryMode } from "../../db/tables.ts";
import { backoffCeilingMs, RETRY } from "../../jobs/backoff.ts";
import type { StockFigures } from "./stock-model.ts";

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

export interface SyncTarget extends StockFigures {
  readonly variantId: number;
  readonly inventoryItemGid: string;
  readonly locationGid: string;
  /** The on_hand Shopify should hold: sellable + committed to this store (stock-model.ts). */
  readonly desired: number;
  /** Shopify's `on_hand` as last confirmed; null when never read. */
  readonly confirmed: number | null;
  /** Delta mode's baseline: the desired on_hand Shopify holds, moved by Shopify's own changes; null before the first sync. */
  readonly pushed: number | null;
  /** Shopify reported a change here since it was confirmed: read it unless a set (which compares) is due. */
  readonly recheck: boolean;
  /** Shopify refused the last push of this item-location; it waits until then. */
  readonly retryAt: number | null;
  readonly error: string | null;
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
  /** Absolute-mode on_hand values Shopify must be set to. */
  readonly sets: readonly (SetQuantity & { readonly variantId: number })[];
  /** Delta-mode changes. */
  readonly adjusts: readonly (AdjustChange & { readonly variantId: number; readonly desired: number })[];
  /** Targets whose current value must be read first (absolute mode: never confirmed, or Shopify reported a change). */
  readonly needsRead: readonly SyncTarget[];
  /** Delta mode's first sight of a target: record the baseline, send nothing. */
  readonly baselines: readonly SyncTarget[];
  /** Targets Shopify refused, waiting for their retry time. */
  readonly waiting: readonly SyncTarget[];
};

export function planPush(targets: readonly SyncTarget[], mode: InventoryMode, now: number): PushPlan {
  const sets: PushPlan["sets"][number][] = [];
  const adjusts: PushPlan["adjusts"][number][] = [];
  const needsRead: SyncTarget[] = [];
  const baselines: SyncTarget[] = [];
  const waiting: SyncTarget[] = [];
  for (const t of targets) {
    if (mode === "absolute") {
      if (t.confirmed === null) needsRead.push(t);
      else if (t.confirmed === t.desired) {
        if (t.recheck) needsRead.push(t);
      }
      // Shopify reported a change and a set is due anyway: no read first. The set compares with
      // the on_hand last confirmed (changeFromQuantity), so an edit, fulfillment or restock in
      // Shopify makes it stale, which reads and logs it; Shopify's own orders move `available`,
      // not on_hand, and are not the hub's to send. (Reading first made every echo of a push
      // whose stock had since moved cost a `nodes` call.)
      else if (t.retryAt !== null && t.retryAt > now) waiting.push(t);
      else {
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
    } else if (t.recheck) {
      // Shopify reported a change: read it (delta mode keeps it, but records and reports it).
      needsRead.push(t);
    } else if (t.pushed === t.desired) {
    } else if (t.retryAt !== null && t.retryAt > now) {
      waiting.push(t);
    } else {
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
  return { sets, adjusts, needsRead, baselines, waiting };
}

/** Backoff of an item Shopify refused: the hub's one backoff (src/jobs/backoff.ts), at its ceiling. */
export function itemRetryDelayMs(attempts: number): number {
  return backoffCeilingMs(attempts, RETRY.refusedItem);
}

/**
 * Which items of a batch a userError names: Shopify points at them by index
 * (`["input", "quantities", "3", "quantity"]`); null when an error names none.
 */
export function rejectedIndexes(
  errors: readonly { readonly field: readonly string[] | null }[],
  listName: "quantities" | "changes",
): Set<number> | null {
  const out = new Set<number>();
  for (const e of errors) {
    const at = e.field?.indexOf(listName) ?? -1;
    const index = at >= 0 ? Number(e.field?.[at + 1]) : Number.NaN;
    if (!Number.isInteger(index)) return null;
    out.add(index);
  }
  return out;
}

export function batchesOf<T>(items: readonly T[], size = MAX_QUANTITIES_PER_CALL): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
