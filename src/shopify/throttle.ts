/**
 * A pure model of one store's GraphQL Admin API budget (Shopify's leaky bucket, per app and store).
 *
 * The model is learned from `extensions.cost.throttleStatus` and projected forward with the
 * restore rate; every function takes `now` and returns a new state, so the decisions ("how long
 * must this call wait?", "how long after a THROTTLED?") are testable at fixed moments.
 *
 * Why the projection is safe: Shopify measures `currentlyAvailable` before the response travels
 * back, and charges the next request after it travels there, so refill the model does not know
 * about only ever helps. The small margin covers rounding (Shopify floors the points) and
 * clock granularity. Another spender on the same bucket breaks the model; that shows up as an
 * observation below the projection (or a THROTTLED answer), which carries the real status and
 * resets the model.
 *
 * Waits come from what Shopify reports (`currentlyAvailable`, `restoreRate`), not from guesses:
 * a single drop (another spender emptied the bucket once) only moves `available`; the refill
 * rate is lowered for a foreign drain only once two observations in a row confirm it is still
 * going on. (Counting a one-off drop as a lasting drain once made a call wait 13.7 s where the
 * bucket could afford it after about 0.5 s.)
 */
import type { QueryCost, ThrottleStatus } from "./transport.ts";

export interface ThrottleState {
  readonly maximumAvailable: number;
  readonly restoreRate: number;
  /** Points available at `at` (after the reservations this side has made since). */
  readonly available: number;
  /** When `available` was true (ms, the injected clock). */
  readonly at: number;
  /** False until Shopify has told us the real status (the initial state is a conservative guess). */
  readonly observed: boolean;
  /** When Shopify last told us its status (`at` also moves when a call is reserved). */
  readonly observedAt: number;
  /** Do not send before this moment (Retry-After or a throttling backoff); 0 when free. */
  readonly notBefore: number;
  /** THROTTLED/429 answers in a row; resets on the first success. */
  readonly consecutiveThrottles: number;
  /**
   * Points per second someone else seems to drain from the bucket (a second spender that should
   * not exist: another process during a lease hand-over, a second install). Learned from
   * observations that come in below the projection; decays when they stop. 0 normally.
   */
  readonly foreignDrainRate: number;
  /** Observations in a row that came in below the projection; the drain counts from 2 on. */
  readonly drainStreak: number;
}

/**
 * Before any response we assume Shopify's Standard plan (100 points/s) with half its bucket
 * (Standard's is 2,000 = 20 s of restore) so a restart that finds the bucket half spent by our
 * previous life is still not throttled.
 */
export const INITIAL_RESTORE_RATE = 100;
export const INITIAL_MAXIMUM_AVAILABLE = 1_000;
/** Shopify's ceiling for a single query's requested cost. */
export const MAX_SINGLE_QUERY_COST = 1_000;

export function initialThrottleState(now: number): ThrottleState {
  return {
    maximumAvailable: INITIAL_MAXIMUM_AVAILABLE,
    restoreRate: INITIAL_RESTORE_RATE,
    available: INITIAL_MAXIMUM_AVAILABLE,
    at: now,
    observed: false,
    observedAt: now,
    notBefore: 0,
    consecutiveThrottles: 0,
    foreignDrainRate: 0,
    drainStreak: 0,
  };
}

/**
 * Points kept in reserve: 1, for Shopify flooring `currentlyAvailable`; nothing else needs one
 * with a single spender (refill during a call's flight only ever helps, see the top). Under a
 * confirmed foreign drain the drain's estimate is noisy, so 1% of the bucket is kept as well.
 */
export function safetyMargin(state: ThrottleState): number {
  return drainConfirmed(state) ? 1 + Math.ceil(state.maximumAvailable * 0.01) : 1;
}

/** Observations in a row below the projection before the drain is counted on. */
const DRAIN_CONFIRMATIONS = 2;

function drainConfirmed(state: ThrottleState): boolean {
  return state.drainStreak >= DRAIN_CONFIRMATIONS && state.foreignDrainRate > 0;
}

/** The refill rate the model counts on: the restore rate less a confirmed, lasting foreign drain. */
export function effectiveRestoreRate(state: ThrottleState): number {
  if (!drainConfirmed(state)) return state.restoreRate;
  return Math.max(state.restoreRate * 0.1, state.restoreRate - state.foreignDrainRate);
}

/** The modelled points available at `now` (refill since the last observation, capped at the size). */
export function projectedAvailable(state: ThrottleState, now: number): number {
  const dt = Math.max(0, now - state.at) / 1000;
  return Math.min(state.maximumAvailable, state.available + effectiveRestoreRate(state) * dt);
}

/**
 * Milliseconds to wait before sending a call of `cost` so the bucket can afford it with the
 * safety margin. The projection is not capped at the bucket's size here: a call costing nearly
 * the whole bucket then waits `margin / rate` beyond "full", which covers the refill the model
 * counts between sending and Shopify's charge while the real bucket sat at its cap. (For any
 * cost + margin within the size this is the same as comparing the capped projection.)
 */
export function waitBefore(state: ThrottleState, cost: number, now: number): number {
  const blocked = Math.max(0, state.notBefore - now);
  const need = Math.max(0, cost) + safetyMargin(state);
  const at = now + blocked;
  const rate = effectiveRestoreRate(state);
  const uncapped = state.available + (rate * Math.max(0, at - state.at)) / 1000;
  const missing = need - uncapped;
  if (missing <= 0) return Math.ceil(blocked);
  return Math.ceil(blocked + (missing / rate) * 1000);
}

/** The call of `cost` is being sent at `now`: reserve its points in the model. */
export function reserve(state: ThrottleState, cost: number, now: number): ThrottleState {
  return {
    ...state,
    available: projectedAvailable(state, now) - Math.max(0, cost),
    at: Math.max(now, state.at),
  };
}

/** Below this gap between observations, a shortfall is noise (flooring, latency), not a drain. */
const MIN_DRAIN_SAMPLE_MS = 50;

/**
 * Adopt Shopify's status. `unspent` is what the model reserved for a call Shopify did not charge
 * (a THROTTLED call), added back before comparing the projection with the observation.
 */
function fromStatus(state: ThrottleState, status: ThrottleStatus, now: number, unspent = 0): ThrottleState {
  const dtMs = now - state.observedAt;
  let drain = state.foreignDrainRate / 2;
  let sampled = 0;
  if (state.observed && dtMs >= MIN_DRAIN_SAMPLE_MS) {
    // what the bucket would hold with no foreign drain at all (the projection subtracts the estimate)
    const expected = Math.min(
      state.maximumAvailable,
      projectedAvailable(state, now) + unspent + (state.foreignDrainRate * dtMs) / 1000,
    );
    // Not a drain: Shopify flooring the points (1), and the refill the model counted while the
    // call was in flight that Shopify measured before answering (`at` is the send time when the
    // call was reserved; the answer left Shopify somewhere between then and now).
    const inFlightS = Math.max(0, now - state.at) / 1000;
    const shortfall = expected - status.currentlyAvailable - 1 - effectiveRestoreRate(state) * inFlightS;
    const sample = expected < state.maximumAvailable ? Math.max(0, shortfall) / (dtMs / 1000) : 0;
    sampled = sample;
    drain = (state.foreignDrainRate + Math.min(sample, status.restoreRate)) / 2;
  }
  if (drain < 0.5) drain = 0;
  // A streak needs shortfalls at least a tenth of the restore rate; below that it is noise.
  const short = sampled >= Math.max(0.5, status.restoreRate * 0.1);
  const sampledNow = state.observed && dtMs >= MIN_DRAIN_SAMPLE_MS;
  const drainStreak = short ? state.drainStreak + 1 : sampledNow ? 0 : state.drainStreak;
  return {
    ...state,
    foreignDrainRate: drain,
    drainStreak: drain === 0 ? 0 : drainStreak,
    maximumAvailable: status.maximumAvailable,
    restoreRate: status.restoreRate > 0 ? status.restoreRate : state.restoreRate,
    available: status.currentlyAvailable,
    at: now,
    observed: true,
    observedAt: now,
  };
}

/**
 * A response arrived at `now`. With `cost` (Shopify's `extensions.cost`) the model becomes the
 * observed status; without it (an error without extensions, a timeout) the reservation made by
 * `reserve` stands, which assumes the whole requested cost was spent.
 */
export function afterResponse(
  state: ThrottleState,
  cost: QueryCost | undefined,
  now: number,
  /** What `reserve` took for this call; the difference with what Shopify charged is not a drain. */
  reserved?: number,
): ThrottleState {
  const charged = cost ? (cost.actualQueryCost ?? cost.requestedQueryCost) : 0;
  const unspent = reserved === undefined ? 0 : reserved - charged;
  // Without a status, keep the reservation and count no refill for the time the call was in
  // flight: Shopify charged it somewhere in between, maybe while the bucket sat at its cap.
  const next = cost?.throttleStatus
    ? fromStatus(state, cost.throttleStatus, now, unspent)
    : { ...state, at: Math.max(state.at, now) };
  return { ...next, consecutiveThrottles: 0, notBefore: 0 };
}

/** Exponential backoff with jitter: base·2^(attempt−1) capped, then scaled into [½, 1] by `random`. */
export function backoffMs(
  attempt: number,
  random: () => number,
  options: { baseMs?: number; capMs?: number } = {},
): number {
  const base = options.baseMs ?? 250;
  const cap = options.capMs ?? 30_000;
  const exp = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  return Math.ceil(exp * (0.5 + 0.5 * clamp01(random())));
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0.5;
}

export interface ThrottledInput {
  /** `extensions.cost` of the THROTTLED answer (absent on a 429). */
  readonly cost?: QueryCost | undefined;
  /** The cost of the call that was refused. */
  readonly requestedCost: number;
  /** From a Retry-After header, when there was one. */
  readonly retryAfterMs?: number | undefined;
}

/**
 * THROTTLED or 429 at `now`: learn the real status if it came along, and decide the wait:
 * the longest of Retry-After, the time the bucket needs to afford the call, and an exponential
 * backoff on consecutive throttles (for the case where someone else keeps draining the bucket),
 * plus jitter from `random` (injectable for tests).
 */
export function afterThrottled(
  state: ThrottleState,
  input: ThrottledInput,
  now: number,
  random: () => number = Math.random,
): { state: ThrottleState; waitMs: number } {
  const learned = input.cost?.throttleStatus
    ? fromStatus(state, input.cost.throttleStatus, now, input.requestedCost)
    : { ...state, available: 0, at: now };
  const throttles = state.consecutiveThrottles + 1;
  const requested = input.cost?.requestedQueryCost ?? input.requestedCost;
  const refillWait = waitBefore({ ...learned, notBefore: 0 }, requested, now);
  const backoff = throttles > 1 ? backoffMs(throttles - 1, random, { baseMs: 500 }) : 0;
  const jitter = Math.ceil(clamp01(random()) * 100);
  const waitMs = Math.max(input.retryAfterMs ?? 0, refillWait, backoff) + jitter;
  return {
    state: { ...learned, consecutiveThrottles: throttles, notBefore: now + waitMs },
    waitMs,
  };
}

/** The status as Shopify would report it now, for metrics and the console. */
export function statusAt(
  state: ThrottleState,
  now: number,
): ThrottleStatus & { observed: boolean; foreignDrainRate: number } {
  return {
    maximumAvailable: state.maximumAvailable,
    currentlyAvailable: Math.max(0, Math.floor(projectedAvailable(state, now))),
    restoreRate: state.restoreRate,
    observed: state.observed,
    foreignDrainRate: Math.round(state.foreignDrainRate),
  };
}
