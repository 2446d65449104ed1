/**
 * Shipments as pure functions: the request's shape, its validation against the hub order (every
 * bad line reported at once), the idempotency hash, the matching of shipped lines to Shopify
 * fulfillment orders at the warehouse's locations, and the tracking input.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { ErrorDetail } from "../core/errors.ts";
import { quantity as boundedQuantity, key } from "../core/input.ts";
import { backoffMs, RETRY } from "../jobs/backoff.ts";

export const MAX_SHIPMENT_LINES = 250;

export const packageInput = z
  .object({
    carrier: z.string().min(1).max(100).optional(),
    trackingNumber: z.string().min(1).max(100),
    trackingUrl: z.string().url().max(1000).optional(),
  })
  .strict();
export type PackageInput = z.infer<typeof packageInput>;

export const shipmentInput = z
  .object({
    id: key(120).describe("The back office's shipment id: the idempotency key."),
    orderId: z
      .union([z.number().int().positive(), z.string().min(1).max(200)])
      .describe("Hub order id; the Shopify order gid or name (#1001) are accepted too."),
    warehouse: key(100).describe("Code of the warehouse the parcels left from."),
    lines: z
      .array(
        z
          .object({
            lineId: z
              .union([z.number().int().positive(), z.string().min(1).max(200)])
              .optional()
              .describe("Hub order line id, or Shopify line item gid."),
            sku: key(255).optional(),
            quantity: boundedQuantity(),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_SHIPMENT_LINES),
    packages: z.array(packageInput).max(50).default([]),
    notifyCustomer: z.boolean().optional().describe("Defaults to the store's fulfillment setting."),
  })
  .strict();
export type ShipmentInput = z.infer<typeof shipmentInput>;

export const packagesPatch = z.object({ packages: z.array(packageInput).max(50) }).strict();

/** Only what the back office sent, in its order: a re-send with the same content has the same hash. */
export function shipmentHash(s: ShipmentInput): string {
  const canonical = {
    orderId: String(s.orderId),
    warehouse: s.warehouse,
    lines: s.lines.map((l) => [l.lineId === undefined ? null : String(l.lineId), l.sku ?? null, l.quantity]),
    packages: s.packages.map((p) => [p.carrier ?? null, p.trackingNumber, p.trackingUrl ?? null]),
    notifyCustomer: s.notifyCustomer ?? null,
  };
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex").slice(0, 32);
}

export interface OrderForShipment {
  readonly status: string;
  readonly cancelledAt: number | null;
  readonly importedAt: number | null;
  readonly name: string;
}

export interface LineForShipment {
  readonly id: number;
  readonly gid: string;
  readonly sku: string | null;
  readonly variantId: number | null;
  readonly currentQuantity: number;
  readonly fulfilledQuantity: number;
}

export interface PlannedShipmentLine {
  readonly gid: string;
  readonly sku: string | null;
  readonly variantId: number;
  readonly quantity: number;
}

export type ShipmentPlan =
  | { readonly ok: true; readonly lines: readonly PlannedShipmentLine[] }
  | { readonly ok: false; readonly errors: readonly ErrorDetail[] };

/**
 * What is still unshipped on a line: what the customer still wants, minus what was shipped,
 * counting both Shopify's fulfilled quantity (as last imported) and the hub's own shipments
 * (which Shopify may not show yet); the larger of the two, so nothing is counted twice.
 */
export function unshipped(line: LineForShipment, shippedByHub: number): number {
  return Math.max(0, line.currentQuantity - Math.max(line.fulfilledQuantity, shippedByHub));
}

export function planShipment(
  input: ShipmentInput,
  order: OrderForShipment,
  lines: readonly LineForShipment[],
  shippedByLine: ReadonlyMap<string, number>,
  warehouse: { readonly known: boolean; readonly mapped: boolean },
): ShipmentPlan {
  const errors: ErrorDetail[] = [];
  if (order.cancelledAt !== null || order.status === "cancelled")
    errors.push({
      path: "orderId",
      code: "ORDER_CANCELLED",
      message: `order ${order.name} is cancelled: nothing can ship`,
    });
  else if (order.importedAt === null)
    errors.push({
      path: "orderId",
      code: "ORDER_NOT_IMPORTED",
      message: `order ${order.name} was not imported (status ${order.status})`,
    });
  if (!warehouse.known)
    errors.push({ path: "warehouse", code: "UNKNOWN_WAREHOUSE", message: `no warehouse ${input.warehouse}` });
  else if (!warehouse.mapped)
    errors.push({
      path: "warehouse",
      code: "WAREHOUSE_MISMATCH",
      message: `warehouse ${input.warehouse} is not mapped to any location of the order's store, so Shopify cannot fulfil from it`,
    });

  const planned: PlannedShipmentLine[] = [];
  const seen = new Set<string>();
  input.lines.forEach((l, i) => {
    const path = `lines[${i}]`;
    let line: LineForShipment | undefined;
    if (l.lineId !== undefined) {
      const ref = String(l.lineId);
      line = lines.find((x) => x.gid === ref || String(x.id) === ref);
      if (!line) {
        errors.push({
          path: `${path}.lineId`,
          index: i,
          code: "UNKNOWN_LINE",
          message: `order ${order.name} has no line ${ref}`,
        });
        return;
      }
      if (l.sku !== undefined && line.sku !== l.sku) {
        errors.push({
          path: `${path}.sku`,
          index: i,
          code: "SKU_MISMATCH",
          message: `line ${ref} is SKU ${line.sku ?? "(none)"}, not ${l.sku}`,
        });
        return;
      }
    } else if (l.sku !== undefined) {
      const matches = lines.filter((x) => x.sku === l.sku);
      if (matches.length === 0) {
        errors.push({
          path: `${path}.sku`,
          index: i,
          code: "UNKNOWN_SKU",
          message: `order ${order.name} has no line with SKU ${l.sku}`,
        });
        return;
      }
      if (matches.length > 1) {
        errors.push({
          path: `${path}.sku`,
          index: i,
          code: "AMBIGUOUS_SKU",
          message: `SKU ${l.sku} is on ${matches.length} lines of order ${order.name}: send lineId`,
        });
        return;
      }
      line = matches[0]!;
    } else {
      errors.push({ path, index: i, code: "MISSING_FIELD", message: "a line needs lineId or sku" });
      return;
    }
    if (seen.has(line.gid)) {
      errors.push({ path, index: i, code: "DUPLICATE_LINE", message: `line ${line.gid} is listed twice` });
      return;
    }
    seen.add(line.gid);
    if (l.quantity <= 0) {
      errors.push({
        path: `${path}.quantity`,
        index: i,
        code: "INVALID_QUANTITY",
        message: "quantity must be at least 1",
      });
      return;
    }
    const left = unshipped(line, shippedByLine.get(line.gid) ?? 0);
    if (l.quantity > left) {
      errors.push({
        path: `${path}.quantity`,
        index: i,
        code: "QUANTITY_EXCEEDS_UNSHIPPED",
        message: `line ${line.sku ?? line.gid}: ${l.quantity} shipped but only ${left} remain unshipped`,
      });
      return;
    }
    if (line.variantId === null) {
      errors.push({ path, index: i, code: "UNLINKED_LINE", message: `line ${line.gid} has no hub variant` });
      return;
    }
    planned.push({ gid: line.gid, sku: line.sku, variantId: line.variantId, quantity: l.quantity });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, lines: planned };
}

// ---- matching to Shopify fulfillment orders ----

export interface FulfillmentOrderNode {
  readonly id: string;
  readonly status: string;
  readonly locationGid: string | null;
  readonly lineItems: readonly {
    id: string;
    remainingQuantity: number;
    lineGid: string;
    sku: string | null;
  }[];
}

export interface FulfillmentGroup {
  readonly fulfillmentOrderGid: string;
  readonly lines: readonly { foLineGid: string; lineGid: string; quantity: number }[];
}

/** Units of one fulfillment order to move to the shipment's location (`fulfillmentOrderMove`). */
export interface FulfillmentOrderMove {
  readonly fulfillmentOrderGid: string;
  readonly lines: readonly { foLineGid: string; quantity: number }[];
}

export type MatchResult =
  | { readonly kind: "ok"; readonly groups: readonly FulfillmentGroup[] }
  | { readonly kind: "move"; readonly locationGid: string; readonly moves: readonly FulfillmentOrderMove[] }
  | { readonly kind: "park" | "reject"; readonly reason: string };

const FULFILLABLE = new Set(["OPEN", "IN_PROGRESS"]);
const WAITING = new Set(["ON_HOLD", "SCHEDULED"]);

/**
 * Every remaining line is taken from fulfillment orders assigned to one of `locationGids`, fully,
 * or nothing is: an order fulfilled from several locations gives one group per fulfillment order.
 * On hold or scheduled → park (it may be released). Units Shopify expects at another location on
 * an open fulfillment order → move them to the shipment's location first: the units left from
 * the shipment's warehouse (the merchant may have moved them in Shopify after the back office
 * read the feed), so that is where Shopify must fulfil and commit them. Closed, in progress
 * elsewhere, too little left → reject.
 */
export function matchFulfillmentOrders(
  remaining: readonly { lineGid: string; sku: string | null; quantity: number }[],
  fulfillmentOrders: readonly FulfillmentOrderNode[],
  locationGids: ReadonlySet<string>,
): MatchResult {
  const groups = new Map<string, { foLineGid: string; lineGid: string; quantity: number }[]>();
  const moves = new Map<string, { foLineGid: string; quantity: number }[]>();
  const left = new Map<string, number>();
  for (const fo of fulfillmentOrders) for (const li of fo.lineItems) left.set(li.id, li.remainingQuantity);
  const isHere = (fo: FulfillmentOrderNode) => fo.locationGid !== null && locationGids.has(fo.locationGid);
  for (const r of remaining) {
    if (r.quantity <= 0) continue;
    let need = r.quantity;
    const label = r.sku ? `${r.sku} (${r.lineGid})` : r.lineGid;
    const holding = fulfillmentOrders.filter((fo) => fo.lineItems.some((li) => li.lineGid === r.lineGid));
    const here = holding.filter(isHere);
    const take = (fo: FulfillmentOrderNode, into: (foLineGid: string, n: number) => void) => {
      for (const li of fo.lineItems) {
        if (li.lineGid !== r.lineGid || need === 0) continue;
        const n = Math.min(need, left.get(li.id) ?? 0);
        if (n <= 0) continue;
        left.set(li.id, (left.get(li.id) ?? 0) - n);
        need -= n;
        into(li.id, n);
      }
    };
    for (const fo of here) {
      if (!FULFILLABLE.has(fo.status)) continue;
      take(fo, (foLineGid, quantity) =>
        groups.set(fo.id, [...(groups.get(fo.id) ?? []), { foLineGid, lineGid: r.lineGid, quantity }]),
      );
    }
    if (need === 0) continue;
    const remainingOf = (fos: readonly FulfillmentOrderNode[]) =>
      fos.reduce(
        (n, fo) =>
          n +
          fo.lineItems
            .filter((li) => li.lineGid === r.lineGid)
            .reduce((m, li) => m + li.remainingQuantity, 0),
        0,
      );
    const waiting = here.find((fo) => WAITING.has(fo.status) && remainingOf([fo]) > 0);
    if (waiting)
      return {
        kind: "park",
        reason: `fulfillment order ${waiting.id} is ${waiting.status.toLowerCase().replace("_", " ")} in Shopify: line ${label} waits until it is released`,
      };
    // Shopify moves only open fulfillment orders; what it cannot move waits or is refused below.
    const movable = holding.filter((fo) => !isHere(fo) && fo.status === "OPEN");
    if (locationGids.size > 0 && remainingOf(movable) >= need) {
      for (const fo of movable)
        take(fo, (foLineGid, quantity) =>
          moves.set(fo.id, [...(moves.get(fo.id) ?? []), { foLineGid, quantity }]),
        );
      continue;
    }
    const heldElsewhere = holding.find(
      (fo) => !isHere(fo) && WAITING.has(fo.status) && remainingOf([fo]) > 0,
    );
    if (heldElsewhere)
      return {
        kind: "park",
        reason: `fulfillment order ${heldElsewhere.id} (location ${heldElsewhere.locationGid ?? "(none)"}) is ${heldElsewhere.status.toLowerCase().replace("_", " ")} in Shopify: line ${label} waits until it is released to move it to the shipment's location`,
      };
    const elsewhere = holding.find(
      (fo) => !isHere(fo) && fo.status === "IN_PROGRESS" && remainingOf([fo]) > 0,
    );
    if (elsewhere)
      return {
        kind: "reject",
        reason: `location mismatch: line ${label} is to be fulfilled from location ${elsewhere.locationGid ?? "(none)"} (fulfillment order ${elsewhere.id}, in progress: Shopify cannot move it), which is not mapped to the shipment's warehouse`,
      };
    const fulfillableHere = remainingOf(here.filter((fo) => FULFILLABLE.has(fo.status)));
    const closed = here.find((fo) => !FULFILLABLE.has(fo.status) && !WAITING.has(fo.status));
    return {
      kind: "reject",
      reason:
        holding.length === 0
          ? `line ${label} is on no fulfillment order of the order in Shopify`
          : `quantity exceeds what remains in Shopify: line ${label} ships ${r.quantity}, ${fulfillableHere} remain to fulfil${movable.length > 0 ? ` here and ${remainingOf(movable)} at other locations` : ""}${closed ? ` (fulfillment order ${closed.id} is ${closed.status.toLowerCase()})` : ""}`,
    };
  }
  if (moves.size > 0) {
    // Where the order already waits at the shipment's warehouse, else its first location.
    const at =
      fulfillmentOrders.find((fo) => isHere(fo) && fo.status !== "CLOSED")?.locationGid ??
      [...locationGids].sort()[0]!;
    return {
      kind: "move",
      locationGid: at,
      moves: [...moves].map(([fulfillmentOrderGid, lines]) => ({ fulfillmentOrderGid, lines })),
    };
  }
  return {
    kind: "ok",
    groups: [...groups].map(([fulfillmentOrderGid, lines]) => ({ fulfillmentOrderGid, lines })),
  };
}

export interface TrackingInput {
  company?: string;
  numbers: string[];
  urls?: string[];
}

/** One tracking input for all packages (Shopify takes one carrier per fulfillment: the first one's). */
export function trackingInput(
  packages: readonly { carrier: string | null; trackingNumber: string | null; trackingUrl: string | null }[],
): TrackingInput | null {
  const withNumber = packages.filter((p) => p.trackingNumber);
  if (withNumber.length === 0) return null;
  const company = withNumber.find((p) => p.carrier)?.carrier ?? undefined;
  const out: TrackingInput = { numbers: withNumber.map((p) => p.trackingNumber!) };
  if (company) out.company = company;
  // URLs pair with numbers by position: send them only when every package has one.
  if (withNumber.every((p) => p.trackingUrl)) out.urls = withNumber.map((p) => p.trackingUrl!);
  return out;
}

/**
 * The wait before a shipment's next attempt: the hub's one backoff (src/jobs/backoff.ts, with
 * jitter and a cap) under the shipments' policy. Prefer `afterFailure` there, which also counts
 * the attempt and says when it is the last.
 */
export function retryDelayMs(attempts: number): number {
  return backoffMs(attempts, RETRY.shipments);
}

export interface ShopifyFulfillment {
  readonly gid: string;
  readonly trackingNumbers: readonly string[];
  readonly lines: readonly { lineGid: string; quantity: number }[];
}

/**
 * `fulfillmentCreate` takes no idempotency key: when an earlier attempt timed out, Shopify may
 * have created the fulfillment anyway. A fulfillment no shipment has recorded, carrying one of
 * this shipment's tracking numbers and only lines it still has to ship, is that attempt's
 * result: adopt it instead of sending (and being refused for) the same items again.
 */
export function adoptableFulfillments(
  remaining: readonly { lineGid: string; quantity: number }[],
  fulfillments: readonly ShopifyFulfillment[],
  knownGids: ReadonlySet<string>,
  trackingNumbers: readonly string[],
): ShopifyFulfillment[] {
  if (trackingNumbers.length === 0) return [];
  const left = new Map(remaining.map((l) => [l.lineGid, l.quantity]));
  const ours = new Set(trackingNumbers);
  const adopted: ShopifyFulfillment[] = [];
  for (const f of fulfillments) {
    if (knownGids.has(f.gid) || !f.trackingNumbers.some((n) => ours.has(n))) continue;
    if (!f.lines.every((l) => (left.get(l.lineGid) ?? 0) >= l.quantity)) continue;
    for (const l of f.lines) left.set(l.lineGid, (left.get(l.lineGid) ?? 0) - l.quantity);
    adopted.push(f);
  }
  return adopted;
}
