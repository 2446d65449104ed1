/**
 * Is a Shopify order importable under its store's settings? A pure function of the order, the
 * settings and the time. Orders on hold or scheduled wait (re-evaluated on their next version);
 * others that do not match are skipped with the reason an operator reads.
 */
import type { OrderSettings } from "./settings.ts";
import type { ShopifyOrder } from "./shopify-order.ts";

export type FilterDecision =
  | { readonly importable: true }
  | { readonly importable: false; readonly status: "waiting" | "skipped"; readonly reason: string };

const DAY_MS = 24 * 3600_000;
const WAITING = new Set(["on_hold", "scheduled"]);

export function importDecision(
  order: Pick<ShopifyOrder, "fulfillmentStatus" | "financialStatus" | "locationGid" | "updatedAt">,
  settings: Pick<
    OrderSettings,
    "financialStatuses" | "fulfillmentStatuses" | "locationGids" | "importWithoutLocation" | "lastDays"
  >,
  now: number,
): FilterDecision {
  if (WAITING.has(order.fulfillmentStatus)) {
    return {
      importable: false,
      status: "waiting",
      reason: `fulfillment status is ${order.fulfillmentStatus}; imported once it becomes unfulfilled`,
    };
  }
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
