// Fulfillment orders that are not simply open: on hold (fraud check, awaiting payment, an address to
// confirm …), scheduled (pre-orders and subscriptions open at `fulfillAt`), submitted to a
// fulfillment service (pending, accepted = in progress, declined) or closed incomplete. Shopify's
// webhooks for them: fulfillment_orders/placed_on_hold, fulfillment_orders/hold_released,
// fulfillment_orders/scheduled_fulfillment_order_ready (payloads: `fulfillment_order` with its gid,
// lower-case status and holds; `created_fulfillment_hold` on a hold).
import { isoSeconds } from "./clock.ts";
import { gid } from "./gid.ts";
import { touchOrder } from "./orders.ts";
import {
  ControlError,
  type FulfillmentHold,
  type FulfillmentOrder,
  type FulfillmentRequestStatus,
  type Shop,
  type Store,
} from "./state.ts";

export const HOLD_REASONS = [
  "AWAITING_PAYMENT",
  "HIGH_RISK_OF_FRAUD",
  "INCORRECT_ADDRESS",
  "INVENTORY_OUT_OF_STOCK",
  "UNKNOWN_DELIVERY_DATE",
  "ONLINE_STORE_POST_PURCHASE_CROSS_SELL",
  "AWAITING_RETURN_ITEMS",
  "OTHER",
] as const;

function restHold(h: FulfillmentHold) {
  return { id: gid("FulfillmentHold", h.id), reason: h.reason.toLowerCase(), reason_notes: h.reasonNotes };
}

function restFulfillmentOrder(fo: FulfillmentOrder) {
  return {
    id: gid("FulfillmentOrder", fo.id),
    status: fo.status.toLowerCase(),
    fulfillment_holds: (fo.holds ?? []).map(restHold),
  };
}

const REQUEST_TOPICS: Partial<Record<FulfillmentRequestStatus, string>> = {
  SUBMITTED: "fulfillment_orders/fulfillment_request_submitted",
  ACCEPTED: "fulfillment_orders/fulfillment_request_accepted",
  REJECTED: "fulfillment_orders/fulfillment_request_rejected",
};

/** OPEN, or IN_PROGRESS when some of it was fulfilled already. */
function reopenedStatus(fo: FulfillmentOrder): "OPEN" | "IN_PROGRESS" {
  return fo.lineItems.some((l) => l.remainingQuantity < l.totalQuantity) ? "IN_PROGRESS" : "OPEN";
}

function foOf(shop: Shop, id: number): FulfillmentOrder {
  const fo = shop.fulfillmentOrders.get(id);
  if (!fo)
    throw new ControlError(
      "FULFILLMENT_ORDER_NOT_FOUND",
      `No fulfillment order ${id} on ${shop.domain}`,
      404,
    );
  return fo;
}

function changed(store: Store, shop: Shop, fo: FulfillmentOrder): void {
  const at = store.nowIso();
  fo.updatedAt = at;
  const o = shop.orders.get(fo.orderId);
  if (o) touchOrder(store, shop, o);
}

export function holdFulfillmentOrder(
  store: Store,
  shop: Shop,
  foId: number,
  input: { reason?: string; reasonNotes?: string | null },
): FulfillmentOrder {
  const fo = foOf(shop, foId);
  if (
    fo.status !== "OPEN" &&
    fo.status !== "IN_PROGRESS" &&
    fo.status !== "ON_HOLD" &&
    fo.status !== "SCHEDULED"
  )
    throw new ControlError(
      "INVALID_FULFILLMENT_ORDER_STATUS",
      `A ${fo.status} fulfillment order cannot be put on hold`,
    );
  const reason = (input.reason ?? "OTHER").toUpperCase();
  if (!(HOLD_REASONS as readonly string[]).includes(reason))
    throw new ControlError("INVALID_HOLD_REASON", `reason must be one of ${HOLD_REASONS.join(", ")}`);
  const hold: FulfillmentHold = {
    id: store.nextId(),
    reason,
    reasonNotes: input.reasonNotes ?? null,
    heldAt: store.nowIso(),
  };
  fo.holds = [...(fo.holds ?? []), hold];
  fo.status = "ON_HOLD";
  changed(store, shop, fo);
  store.emit(shop, "fulfillment_orders/placed_on_hold", {
    fulfillment_order: restFulfillmentOrder(fo),
    created_fulfillment_hold: restHold(hold),
  });
  return fo;
}

export function releaseFulfillmentOrderHold(store: Store, shop: Shop, foId: number): FulfillmentOrder {
  const fo = foOf(shop, foId);
  if (fo.status !== "ON_HOLD")
    throw new ControlError(
      "INVALID_FULFILLMENT_ORDER_STATUS",
      `The fulfillment order is ${fo.status}, not ON_HOLD`,
    );
  fo.holds = [];
  fo.status = reopenedStatus(fo);
  changed(store, shop, fo);
  store.emit(shop, "fulfillment_orders/hold_released", { fulfillment_order: restFulfillmentOrder(fo) });
  return fo;
}

/** A fulfillment order to fulfil later (pre-order, subscription): SCHEDULED until `fulfillAt`. */
export function scheduleFulfillmentOrder(fo: FulfillmentOrder, fulfillAt: string): void {
  if (Number.isNaN(Date.parse(fulfillAt)))
    throw new ControlError("INVALID_DATE", "fulfillAt must be an ISO date-time");
  fo.fulfillAt = isoSeconds(Date.parse(fulfillAt));
  fo.status = "SCHEDULED";
}

/** Scheduled fulfillment orders whose time came (by the emulator's clock) open now. */
export function openDueScheduled(store: Store): number {
  const now = store.clock.now();
  let n = 0;
  for (const shop of store.shops.values())
    for (const fo of shop.fulfillmentOrders.values()) {
      if (fo.status !== "SCHEDULED" || !fo.fulfillAt || Date.parse(fo.fulfillAt) > now) continue;
      fo.status = reopenedStatus(fo);
      changed(store, shop, fo);
      store.emit(shop, "fulfillment_orders/scheduled_fulfillment_order_ready", {
        fulfillment_order: restFulfillmentOrder(fo),
      });
      n++;
    }
  return n;
}

/**
 * A fulfillment service's answer to a fulfillment request: SUBMITTED (pending), ACCEPTED (the
 * order is in progress), REJECTED (declined, back to the merchant), CLOSED (the service closed it:
 * INCOMPLETE when units were left).
 */
export function setFulfillmentRequestStatus(
  store: Store,
  shop: Shop,
  foId: number,
  requestStatus: FulfillmentRequestStatus,
): FulfillmentOrder {
  const fo = foOf(shop, foId);
  if (fo.status === "CLOSED" || fo.status === "CANCELLED" || fo.status === "INCOMPLETE")
    throw new ControlError(
      "INVALID_FULFILLMENT_ORDER_STATUS",
      `The fulfillment order is ${fo.status} already`,
    );
  fo.requestStatus = requestStatus;
  if (requestStatus === "ACCEPTED") fo.status = "IN_PROGRESS";
  if (requestStatus === "REJECTED" || requestStatus === "SUBMITTED") fo.status = reopenedStatus(fo);
  if (requestStatus === "CLOSED")
    fo.status = fo.lineItems.some((l) => l.remainingQuantity > 0) ? "INCOMPLETE" : "CLOSED";
  changed(store, shop, fo);
  const topic = REQUEST_TOPICS[requestStatus];
  if (topic) store.emit(shop, topic, { fulfillment_order: restFulfillmentOrder(fo) });
  return fo;
}
