// A pure leaky bucket (Shopify's "calculated query cost" limiter) for one app on one shop.
// Every operation takes the current time; nothing here reads a clock.

export interface BucketState {
  readonly maximumAvailable: number;
  readonly restoreRate: number;
  /** Points another app-like pressure drains per second (emulator fault; 0 normally). */
  readonly drainRate: number;
  readonly available: number;
  readonly at: number;
}

export function newBucket(maximumAvailable: number, restoreRate: number, at: number): BucketState {
  return { maximumAvailable, restoreRate, drainRate: 0, available: maximumAvailable, at };
}

/** The bucket as it is at `now` after refilling (and draining) since its last update. */
export function refill(b: BucketState, now: number): BucketState {
  const dt = Math.max(0, now - b.at) / 1000;
  const next = b.available + (b.restoreRate - b.drainRate) * dt;
  return { ...b, available: Math.max(0, Math.min(b.maximumAvailable, next)), at: Math.max(now, b.at) };
}

export type ChargeResult = { ok: true; bucket: BucketState } | { ok: false; bucket: BucketState };

/** Charge `cost` up front; refused (bucket unchanged) when it is not all available. */
export function charge(b: BucketState, cost: number, now: number): ChargeResult {
  const cur = refill(b, now);
  if (cost > cur.available) return { ok: false, bucket: cur };
  return { ok: true, bucket: { ...cur, available: cur.available - cost } };
}

/** Give back the difference between the requested and actual cost. */
export function refund(b: BucketState, points: number, now: number): BucketState {
  const cur = refill(b, now);
  return { ...cur, available: Math.min(cur.maximumAvailable, cur.available + Math.max(0, points)) };
}

export function setAvailable(b: BucketState, available: number, now: number): BucketState {
  const cur = refill(b, now);
  return { ...cur, available: Math.max(0, Math.min(cur.maximumAvailable, available)) };
}

export function setDrainRate(b: BucketState, drainRate: number, now: number): BucketState {
  return { ...refill(b, now), drainRate: Math.max(0, drainRate) };
}

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export function throttleStatus(b: BucketState): ThrottleStatus {
  return {
    maximumAvailable: b.maximumAvailable,
    currentlyAvailable: Math.floor(b.available),
    restoreRate: b.restoreRate,
  };
}
