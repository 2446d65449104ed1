/**
 * Is a Shopify order importable under its store's settings? A pure function of the order, the
 * settings and the time, used by both the webhook path and the polling backfill.
 *
 * Both paths must judge one Shopify order alike, but they see its fulfillment differently:
 * the webhook's REST `fulfillment_status` knows only null/partial/fulfilled/restocked, while the
 * backfill's GraphQL `displayFulfillmentStatus` also says ON_HOLD, SCHEDULED, IN_PROGRESS,
 * REQUEST_DECLINED... and hides a partial fulfillment behind ON_HOLD. So the status the filters
 * read is derived from what both carry identically, the lines' fulfilled and open quantities
 * (`fulfillmentFilterStatus`). Holds are the shipment's business (shipment-plan parks them), not
 * the intake's: a held order still needs its stock reserved.
 */
import type { OrderSettings } from "./settings.ts";
import type { ShopifyOrder, ShopifyOrderLine } from "./shopify-order.ts";

export type FilterDecision =
  | { readonly importable: true }
  | { readonly importable: false; readonly status: "skipped"; readonly reason: string };

/** The REST words, which both paths can derive: `restocked` = nothing left on the order to ship or shipped. */
export type FulfillmentFilterStatus = "unfulfilled" | "partial" | "fulfilled" | "restocked";

const DAY_MS = 24 * 3600_000;

/** The order's fulfillment status from its lines (gift cards included: Shopify counts them too). */
export function fulfillmentFilterStatus(
  lines: readonly Pick<ShopifyOrderLine, "fulfilledQuantity" | "fulfillableQuantity">[],
): FulfillmentFilterStatus {
  let open = 0;
  let done = 0;
  for (const l of lines) {
    open += l.fulfillableQuantity;
    done += l.fulfilledQuantity;
  }
  if (open === 0) return done === 0 ? "restocked" : "fulfilled";
  return done === 0 ? "unfulfilled" : "partial";
}

/** Lower-case financial status; Shopify's REST and GraphQL words are the same apart from case. */
export function financialFilterStatus(s: string | null | undefined): string | null {
  const t = s?.trim();
  return t ? t.toLowerCase() : null;
}

export function importDecision(
  order: Pick<ShopifyOrder, "fulfillmentStatus" | "financialStatus" | "locationGid" | "updatedAt">,
  settings: Pick<
    OrderSettings,
    "financialStatuses" | "fulfillmentStatuses" | "locationGids" | "importWithoutLocation" | "lastDays"
  >,
  now: number,
): FilterDecision {
  if (!settings.financialStatuses.includes(order.financialStatus ?? "")) {
    return {
      importable: false,
      status: "skipped",
      reason: `financial status ${order.financialStatus ?? "(none)"} is not among the imported ones (${settings.financialStatuses.join(", ")})`,
    };
  }
  if (!(settings.fulfillmentStatuses as readonly string[]).includes(order.fulfillmentStatus)) {
    return {
      importable: false,
      status: "skipped",
      reason: `fulfillment status ${order.fulfillmentStatus} is not among the imported ones (${settings.fulfillmentStatuses.join(", ")})`,
    };
  }
  if (order.locationGid === null) {
    if (!settings.importWithoutLocation)
      return { importable: false, status: "skipped", reason: "the order has no location" };
  } else if (settings.locationGids !== null && !settings.locationGids.includes(order.locationGid)) {
    return {
      importable: false,
      status: "skipped",
      reason: `location ${order.locationGid} is not among the imported locations`,
    };
  }
  if (order.updatedAt < now - settings.lastDays * DAY_MS) {
    return {
      importable: false,
      status: "skipped",
      reason: `last updated more than ${settings.lastDays} days ago`,
    };
  }
  return { importable: true };
}
