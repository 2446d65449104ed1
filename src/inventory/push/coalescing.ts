/**
 * The adaptive coalescing window: how long a stock change waits before the push sends it, as a
 * pure function of the store's API budget. Coalescing only pays when the budget is scarce: with
 * room in the bucket a change goes out at the next cycle (a few hundred ms: the worker's tick
 * and one call), and as the bucket drains the window widens toward the store's maximum, so
 * changes pile up into full 250-quantity batches and throughput stays at the cost ceiling.
 * (A fixed 2 s window made p99 movement → Shopify 2.18 s even on an idle store.)
 */
import type { ThrottleStatus } from "../../shopify/transport.ts";
import { type DirtyMark, MAX_QUANTITIES_PER_CALL, type Readiness } from "./planner.ts";

/** Bucket share from which on a change is sent without waiting. */
export const ROOMY_SHARE = 0.5;
/** Bucket share at and below which the window is the store's maximum. */
export const DRAINED_SHARE = 0.1;

/**
 * The window for now: 0 with room in the bucket (≥ half full), `maxWindowMs` when it is nearly
 * empty (≤ 10%), linear in between. Unknown budget (no answer from Shopify yet): no wait, the
 * first answer tells.
 */
export function adaptiveWindowMs(maxWindowMs: number, budget: ThrottleStatus | undefined): number {
  const max = Math.max(0, maxWindowMs);
  if (!budget || budget.maximumAvailable <= 0) return 0;
  const share = budget.currentlyAvailable / budget.maximumAvailable;
  if (share >= ROOMY_SHARE) return 0;
  if (share <= DRAINED_SHARE) return max;
  return Math.round((max * (ROOMY_SHARE - share)) / (ROOMY_SHARE - DRAINED_SHARE));
}

/**
 * Which marks a cycle takes: all of them once the oldest has waited `windowMs`; before that,
 * only whole batches' worth (oldest first), else none. Taking each mark when its own window ends would release a
 * steady stream one cycle's worth at a time, in small batches however wide the window; flushing
 * everything when the oldest is due is what fills the batches. A mark still coalesces: its
 * latest value is what is sent. Counted in variants: each has a level at every managed location
 * of the store, so whole variant batches are whole quantity batches.
 */
export function flushReady(
  marks: readonly DirtyMark[],
  now: number,
  windowMs: number,
  fullBatch: number = MAX_QUANTITIES_PER_CALL,
): Readiness {
  if (marks.length === 0) return { ready: [], nextAt: null };
  let oldest = Number.POSITIVE_INFINITY;
  for (const m of marks) oldest = Math.min(oldest, m.firstMarkedAt);
  const due = oldest + Math.max(0, windowMs);
  if (due <= now) return { ready: marks, nextAt: null };
  if (marks.length < fullBatch) return { ready: [], nextAt: due };
  // Full batches need not wait; the rest keeps filling until the oldest is due.
  const whole = marks.length - (marks.length % fullBatch);
  const ready = [...marks].sort((x, y) => x.firstMarkedAt - y.firstMarkedAt).slice(0, whole);
  const left = [...marks].sort((x, y) => x.firstMarkedAt - y.firstMarkedAt).slice(whole);
  return { ready, nextAt: left.length > 0 ? left[0]!.firstMarkedAt + Math.max(0, windowMs) : null };
}

/** The store's maximum: its own setting, else the hub's COALESCE_WINDOW_MS. */
export function maxWindowFor(
  store: { readonly coalesceWindowMs?: number | null },
  defaultMs: number,
): number {
  return store.coalesceWindowMs ?? defaultMs;
}
