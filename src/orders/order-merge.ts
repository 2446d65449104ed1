/**
 * Versions and reservations, as pure functions.
 * - An older Shopify `updatedAt` never overwrites a newer one. Two deliveries of the same
 *   instant (Shopify's timestamps are coarse) are ordered by progress: cancelled beats open,
 *   more shipped beats less, so a retried "older" body of the same instant cannot undo a step.
 *   A version read from the API is Shopify's current state and wins at the same instant.
 * - The reservation of an order is what it still has to ship, per (variant, warehouse);
 *   `reservationChanges` is what to add to `stock_levels.reserved` to go from one to the other.
 */
import { createHash } from "node:crypto";
import type { ShopifyOrder } from "./shopify-order.ts";

export interface StoredVersion {
  readonly updatedAt: number;
  readonly progress: number;
  readonly contentHash: string;
}

export type VersionVerdict = "newer" | "same" | "older";

/** How far an order has gone; only used to order two versions with the same `updatedAt`. */
export function progressOf(o: Pick<ShopifyOrder, "cancelledAt" | "lines">): number {
  const shipped = o.lines.reduce((n, l) => n + l.fulfilledQuantity, 0);
  const removed = o.lines.reduce((n, l) => n + (l.quantity - l.currentQuantity), 0);
  return (o.cancelledAt !== null ? 1_000_000_000 : 0) + shipped * 1000 + removed;
}

/** What changes for the back office: everything but Shopify's version stamp and tags (our own tag edits). */
export function contentHash(o: ShopifyOrder): string {
  const { updatedAt: _u, tags: _t, ...content } = o;
  return createHash("sha256").update(JSON.stringify(content)).digest("hex").slice(0, 32);
}

/**
 * `authoritative`: the version was just read from Shopify's API (the backfill), so it is Shopify's
 * current state; at an equal `updatedAt` it wins whatever its progress (a fulfillment cancelled
 * within the same instant lowers progress, which a webhook body cannot be trusted to do).
 */
export function compareVersion(
  incoming: ShopifyOrder,
  stored: StoredVersion | undefined,
  authoritative = false,
): VersionVerdict {
  if (!stored) return "newer";
  if (incoming.updatedAt > stored.updatedAt) return "newer";
  if (incoming.updatedAt < stored.updatedAt) return "older";
  if (contentHash(incoming) === stored.contentHash) return "same";
  if (authoritative) return "newer";
  return progressOf(incoming) >= stored.progress ? "newer" : "older";
}

export interface Reservation {
  readonly variantId: number;
  readonly warehouseId: number;
  readonly quantity: number;
}

export interface LinkedLine {
  readonly variantId: number | null;
  readonly fulfillableQuantity: number;
  /**
   * Where Shopify holds the line's open units when its fulfillment orders sit at several locations
   * (a move that left a held fulfillment order behind, a substitute served elsewhere): so many units
   * at each warehouse, in order; the rest wait at the order's warehouse.
   */
  readonly at?: readonly { readonly warehouseId: number; readonly quantity: number }[];
}

/**
 * Units to hold for an active order, summed per variant and warehouse: each line's units where
 * its fulfillment orders wait (`at`), the rest at the order's warehouse; nothing when inactive.
 */
export function desiredReservations(
  lines: readonly LinkedLine[],
  warehouseId: number | null,
  active: boolean,
): Reservation[] {
  if (!active || warehouseId === null) return [];
  const held = new Map<string, Reservation>();
  const add = (variantId: number, w: number, n: number) => {
    if (n <= 0) return;
    const k = `${variantId}:${w}`;
    held.set(k, { variantId, warehouseId: w, quantity: (held.get(k)?.quantity ?? 0) + n });
  };
  for (const l of lines) {
    if (l.variantId === null || l.fulfillableQuantity <= 0) continue;
    let left = l.fulfillableQuantity;
    for (const p of l.at ?? []) {
      const n = Math.min(left, Math.max(0, p.quantity));
      add(l.variantId, p.warehouseId, n);
      left -= n;
    }
    add(l.variantId, warehouseId, left);
  }
  return [...held.values()];
}

/**
 * A line's open units per warehouse with those at `last` moved to the end: the reservation fills
 * from the front, so what it does not hold (units shipped, not fulfilled yet) comes off `last`.
 */
export function lastAt<T extends { warehouseId: number }>(
  at: readonly T[] | undefined,
  last: ReadonlySet<number> | undefined,
): T[] | undefined {
  if (!at || !last) return at ? [...at] : undefined;
  return [...at.filter((p) => !last.has(p.warehouseId)), ...at.filter((p) => last.has(p.warehouseId))];
}

const key = (r: Pick<Reservation, "variantId" | "warehouseId">) => `${r.variantId}:${r.warehouseId}`;

/** Deltas (non-zero) to apply to `reserved` so `current` becomes `desired`. */
export function reservationChanges(
  current: readonly Reservation[],
  desired: readonly Reservation[],
): Reservation[] {
  const delta = new Map<string, Reservation>();
  const add = (r: Reservation, sign: 1 | -1) => {
    const k = key(r);
    const q = (delta.get(k)?.quantity ?? 0) + sign * r.quantity;
    delta.set(k, { variantId: r.variantId, warehouseId: r.warehouseId, quantity: q });
  };
  for (const r of current) add(r, -1);
  for (const r of desired) add(r, 1);
  return [...delta.values()].filter((r) => r.quantity !== 0);
}
