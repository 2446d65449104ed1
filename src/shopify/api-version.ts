/**
 * The one place the Shopify Admin API version is pinned, and its lifecycle.
 *
 * Shopify releases a stable version each quarter (`YYYY-01`, `-04`, `-07`, `-10`) and supports
 * each for at least 12 months, so `2026-10` is served until 2027-10-01; after that Shopify
 * answers requests with the oldest supported version, which is when connectors break. The hub
 * warns at start-up within 90 days of the end, exports the days left in /metrics, and records
 * `X-Shopify-API-Deprecated-Reason` answers per store and operation (src/shops/api-deprecations.ts).
 * Moving to the next version: README, "Moving to a new Shopify API version".
 */
export const SHOPIFY_API_VERSION = "2026-10";

/** Warn this many days before the pinned version's end of life. */
export const END_OF_LIFE_WARNING_DAYS = 90;

const DAY_MS = 24 * 3600_000;

/** The first moment a stable version is no longer supported: 12 months after its release month. */
export function endOfLife(version: string): number {
  const m = /^(\d{4})-(01|04|07|10)$/.exec(version);
  if (!m) throw new Error(`not a stable Shopify API version: ${version}`);
  return Date.UTC(Number(m[1]) + 1, Number(m[2]) - 1, 1);
}

/** Whole days from `now` until the version's end of life (negative once past). */
export function daysUntilEndOfLife(version: string, now: number): number {
  return Math.floor((endOfLife(version) - now) / DAY_MS);
}

/** The start-up warning, or null when the end of life is more than 90 days away. */
export function endOfLifeWarning(version: string, now: number): string | null {
  const days = daysUntilEndOfLife(version, now);
  if (days > END_OF_LIFE_WARNING_DAYS) return null;
  const date = new Date(endOfLife(version)).toISOString().slice(0, 10);
  return days < 0
    ? `Shopify API version ${version} reached its end of life on ${date}: Shopify now answers with another version and requests may fail. Move to a supported version (README: "Moving to a new Shopify API version").`
    : `Shopify API version ${version} reaches its end of life on ${date} (in ${days} days). Move to the next version before then (README: "Moving to a new Shopify API version").`;
}
