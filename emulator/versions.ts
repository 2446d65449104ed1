// Which Admin API versions the emulated Shopify serves, by the emulator's clock.
//
// shopify.dev/docs/api/usage/versioning: a stable version is released every quarter (January,
// April, July, October) and "supported for a minimum of 12 months"; the next one is available as a
// release candidate three months before its release; "If your app targets an inaccessible version,
// Shopify falls forward and responds using the oldest accessible stable version", and the
// `X-Shopify-API-Version` response header names the version that answered. `unstable` is always there.
// The emulator holds one schema (API_VERSION's); every version is answered with it (a stated limit).
import { API_VERSION } from "./schema.ts";

export interface VersionInfo {
  handle: string;
  /** First day it is served as stable (UTC). */
  releasedAt: Date;
  /** First day it is no longer supported (release + 12 months). */
  endOfLifeAt: Date;
}

const VERSION_RE = /^(\d{4})-(01|04|07|10)$/;

export function versionInfo(handle: string): VersionInfo | undefined {
  const m = VERSION_RE.exec(handle);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]) - 1;
  return { handle, releasedAt: new Date(Date.UTC(y, mo, 1)), endOfLifeAt: new Date(Date.UTC(y + 1, mo, 1)) };
}

function quarterStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), Math.floor(now.getUTCMonth() / 3) * 3, 1));
}

function handleOf(d: Date): string {
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

function addMonths(d: Date, n: number): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));
}

/** The stable versions supported at `now`, oldest first, and the release candidate. */
export function supportedVersions(now: Date): { stable: string[]; releaseCandidate: string } {
  const latest = quarterStart(now);
  const stable = [-9, -6, -3, 0].map((k) => handleOf(addMonths(latest, k)));
  return { stable, releaseCandidate: handleOf(addMonths(latest, 3)) };
}

export type VersionAnswer = { kind: "served"; handle: string; supported: boolean } | { kind: "not_found" };

/**
 * How a request for `requested` is answered at `now`: by that version, by the oldest supported
 * one (fall-forward for an unsupported version), or 404 (not a version, or not released yet).
 */
export function resolveVersion(requested: string, now: Date): VersionAnswer {
  if (requested === "unstable") return { kind: "served", handle: "unstable", supported: false };
  const info = versionInfo(requested);
  if (!info) return { kind: "not_found" };
  const { stable, releaseCandidate } = supportedVersions(now);
  if (stable.includes(requested)) return { kind: "served", handle: requested, supported: true };
  if (requested === releaseCandidate) return { kind: "served", handle: requested, supported: false };
  if (info.releasedAt.getTime() > now.getTime()) return { kind: "not_found" };
  return { kind: "served", handle: stable[0] ?? API_VERSION, supported: true };
}

/** Shopify's documentation link sent in `X-Shopify-API-Deprecated-Reason`. */
export const DEPRECATED_REASON_URL = "https://shopify.dev/api/usage/versioning#deprecation-practices";
