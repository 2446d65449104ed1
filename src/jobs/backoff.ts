/**
 * The one retry rule of the hub's durable work (outbound notifications, Shopify tags, shipment
 * delivery, the webhook inbox, the worker's failed store passes): attempts are counted, the
 * wait before the next attempt is an exponential backoff with jitter and a cap, and an item that
 * used its last attempt — or failed with an error no retry can fix — is a dead letter.
 *
 * Pure: the clock and the random source are passed in. Shopify's own throttle
 * (src/shopify/throttle.ts) keeps its delays, since they model the store's cost bucket.
 */

export interface RetryPolicy {
  /** The wait after the first failure (before jitter). */
  readonly baseMs: number;
  /** No wait is longer than this. */
  readonly capMs: number;
  /** After this many failed attempts the item is dead. */
  readonly maxAttempts: number;
}

/**
 * Capped exponential backoff with jitter over the upper half: the ceiling is
 * min(cap, base · 2^(attempts−1)) and the wait is drawn from [ceiling/2, ceiling], so items
 * that failed together (a back office down for a minute) do not all come back in one instant,
 * and no wait is ever shorter than half its ceiling (no spin).
 */
export function backoffMs(
  attempts: number,
  policy: Pick<RetryPolicy, "baseMs" | "capMs">,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeilingMs(attempts, policy);
  return Math.round(ceiling / 2 + (ceiling / 2) * Math.min(1, Math.max(0, random())));
}

/**
 * The longest wait after `attempts` failures: min(cap, base · 2^(attempts−1)). The jitter of
 * `backoffMs` is drawn below it; a pure planner that must decide the same way on every run
 * (the push's refused items, src/inventory/push/planner.ts) waits exactly this long.
 */
export function backoffCeilingMs(attempts: number, policy: Pick<RetryPolicy, "baseMs" | "capMs">): number {
  const exponent = Math.min(52, Math.max(0, attempts - 1));
  return Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
}

/** What a failed attempt leaves behind: counted, and either due again later or dead. */
export interface AfterFailure {
  readonly attempts: number;
  readonly dead: boolean;
  readonly nextAttemptAt: number;
}

/**
 * The bookkeeping of one failed attempt of an item that had `previousAttempts` before it.
 * `permanent`: the error is one no retry can fix (an unreadable delivery, an unknown store).
 */
export function afterFailure(
  previousAttempts: number,
  policy: RetryPolicy,
  now: number,
  options: { readonly permanent?: boolean; readonly random?: () => number } = {},
): AfterFailure {
  const attempts = previousAttempts + 1;
  return {
    attempts,
    dead: options.permanent === true || attempts >= policy.maxAttempts,
    nextAttemptAt: now + backoffMs(attempts, policy, options.random),
  };
}

/** The policies of the hub's queues, side by side (one formula, their own numbers). */
export const RETRY = {
  /** Back-office notifications: the back office may be down for hours (10 tries ≈ 2.8 h). */
  outbound: { baseMs: 10_000, capMs: 6 * 3600_000, maxAttempts: 10 },
  /** Shopify order tags. */
  tags: { baseMs: 10_000, capMs: 3600_000, maxAttempts: 8 },
  /** Shipments to Shopify fulfillments. */
  shipments: { baseMs: 5_000, capMs: 3600_000, maxAttempts: 10 },
  /** Stored webhook deliveries. */
  inbox: { baseMs: 5_000, capMs: 3600_000, maxAttempts: 8 },
  /**
   * Inventory quantities Shopify refused (the push's planner): 30 s, doubling, at most an hour;
   * never dead (level-triggered: the item is planned again until Shopify takes it).
   */
  refusedItem: { baseMs: 30_000, capMs: 3600_000, maxAttempts: Number.POSITIVE_INFINITY },
} as const satisfies Record<string, RetryPolicy>;
