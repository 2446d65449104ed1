/**
 * The numbers of a dry run or a drift check, as parts that add up, and the sentences built from
 * them (pure). An operator once read "18 checked, 0 drifted, 18 fixed": every summary now says
 * how the whole splits, and a stored run whose numbers do not add up (from before this was so)
 * is shown clamped to what can be true.
 *
 *   checked = inSync + drifted        drifted = fixed + remaining
 */
import type { InventoryMode } from "../../db/tables.ts";

export interface DriftParts {
  /** Item-locations compared. */
  readonly checked: number;
  /** Of those, where Shopify holds what the model says. */
  readonly inSync: number;
  /** Of those, where Shopify's on_hand differed from the model. */
  readonly drifted: number;
  /** Of the drifted, corrected by this check (absolute mode; delta mode corrects none). */
  readonly fixed: number;
  /** Of the drifted, still different after the check. */
  readonly remaining: number;
}

const whole = (n: number) => (Number.isFinite(n) ? Math.max(0, Math.trunc(n)) : 0);

export function driftParts(r: { checked: number; drifted: number; fixed: number }): DriftParts {
  const checked = whole(r.checked);
  const drifted = Math.min(whole(r.drifted), checked);
  const fixed = Math.min(whole(r.fixed), drifted);
  return { checked, inSync: checked - drifted, drifted, fixed, remaining: drifted - fixed };
}

export function driftMessage(mode: InventoryMode, p: DriftParts): string {
  if (p.drifted === 0) return `Drift check: ${p.checked} checked, all ${p.inSync} as the hub says`;
  const head = `Drift check: ${p.checked} checked: ${p.inSync} as the hub says, ${p.drifted} differed from the hub`;
  if (mode === "delta") return `${head} (delta mode keeps Shopify's own changes; none corrected)`;
  return `${head}: ${p.fixed} corrected, ${p.remaining} still differ${p.remaining === 1 ? "s" : ""}`;
}

export interface DryRunParts {
  readonly checked: number;
  /** Item-locations where Shopify holds what the model says. */
  readonly inSync: number;
  /** Item-locations where Shopify's on_hand differs from the model (checked = inSync + differing). */
  readonly differing: number;
  /**
   * What the push would change: absolute mode, every differing item-location; delta mode, the
   * item-locations with a change of the hub's own waiting to be sent.
   */
  readonly wouldChange: number;
  /** Delta mode: the differing item-locations where Shopify keeps its own count; 0 in absolute mode. */
  readonly keptByDelta: number;
}

export function dryRunParts(
  mode: InventoryMode,
  r: { checked: number; differing: number; deltaSends: number },
): DryRunParts {
  const checked = whole(r.checked);
  const differing = Math.min(whole(r.differing), checked);
  return {
    checked,
    inSync: checked - differing,
    differing,
    wouldChange: mode === "absolute" ? differing : Math.min(whole(r.deltaSends), checked),
    keptByDelta: mode === "delta" ? differing : 0,
  };
}

export function dryRunMessage(mode: InventoryMode, p: DryRunParts): string {
  const head = `Dry run: ${p.checked} item-locations checked: ${p.inSync} as the hub says, ${p.differing} differ`;
  if (mode === "absolute") return `${head}; the push would change those ${p.wouldChange}`;
  return `${head}; delta mode keeps Shopify's own count at those ${p.keptByDelta} (an initial sync would send the hub's values once) and would send ${p.wouldChange} change(s) of the hub's own`;
}
