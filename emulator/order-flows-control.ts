// Control API for order-flows.ts: what tests and the demo do as a customer or in the Shopify
// admin (a pickup checkout, a return request with an exchange, a return made by staff).
import { gid } from "./gid.ts";
import {
  approveReturn,
  type DisposeInput,
  dispose,
  moveFulfillmentOrder,
  placePickupOrder,
  processReturn,
  type ReturnRequestLine,
  requestReturn,
  reverseOf,
} from "./order-flows.ts";
import { type OrderLineInput, type PlaceOrderInput, toNumericId } from "./orders.ts";
import { ControlError, type Order, type ReturnRecord, type Shop, type Store } from "./state.ts";

export class OrderFlowsControl {
  constructor(private readonly store: Store) {}

  private order(shop: Shop, id: string | number): Order {
    const n = toNumericId(id, "Order");
    const o = n === undefined ? undefined : shop.orders.get(n);
    if (!o) throw new ControlError("ORDER_NOT_FOUND", `No order ${id}`, 404);
    return o;
  }

  private ret(shop: Shop, id: string | number): ReturnRecord {
    const n = toNumericId(id, "Return");
    const r = n === undefined ? undefined : shop.returns.get(n);
    if (!r) throw new ControlError("RETURN_NOT_FOUND", `No return ${id}`, 404);
    return r;
  }

  /** A checkout with local pickup at a location; returns the order's gid. */
  placePickupOrder(domain: string, input: PlaceOrderInput & { pickupLocationId: string | number }): string {
    const shop = this.store.shop(domain);
    const loc = toNumericId(input.pickupLocationId, "Location");
    if (loc === undefined || !shop.locations.has(loc))
      throw new ControlError("LOCATION_NOT_FOUND", `No location ${input.pickupLocationId}`, 404);
    return gid("Order", placePickupOrder(this.store, shop, { ...input, pickupLocationId: loc }).id);
  }

  /** A customer asks to return units (by line item gid) and perhaps exchange them; returns the return's gid. */
  requestReturn(
    domain: string,
    orderId: string | number,
    lines: (Omit<ReturnRequestLine, "lineItemId"> & { lineItemId: string | number })[],
    exchange: OrderLineInput[] = [],
  ): string {
    const shop = this.store.shop(domain);
    const o = this.order(shop, orderId);
    const r = requestReturn(
      this.store,
      shop,
      o,
      lines.map((l) => ({ ...l, lineItemId: toNumericId(l.lineItemId, "LineItem") })),
      exchange,
    );
    return gid("Return", r.id);
  }

  /** Staff approve a requested return in the admin. */
  approveReturn(domain: string, returnId: string | number): void {
    const shop = this.store.shop(domain);
    const r = approveReturn(this.store, shop, this.ret(shop, returnId));
    if (!r.ok) throw new ControlError("INVALID_RETURN", r.errors.map((e) => e.message).join("; "));
  }

  /** Staff dispose returned units in the admin (by return line index). */
  disposeReturn(
    domain: string,
    returnId: string | number,
    items: { line: number; quantity: number; type: DisposeInput["type"]; locationId?: string | number }[],
  ): void {
    const shop = this.store.shop(domain);
    const r = this.ret(shop, returnId);
    const rfo = reverseOf(this.store, shop, r);
    if (!rfo) throw new ControlError("INVALID_RETURN", "The return is not approved");
    const out = dispose(
      this.store,
      shop,
      items.map((i) => ({
        reverseLineId: rfo.lines[i.line]?.id ?? -1,
        quantity: i.quantity,
        type: i.type,
        locationId: i.locationId === undefined ? null : (toNumericId(i.locationId, "Location") ?? -1),
      })),
    );
    if (!out.ok) throw new ControlError("INVALID_DISPOSITION", out.errors.map((e) => e.message).join("; "));
  }

  /** Staff process a return's lines in the admin (no dispositions, optionally refunding). */
  processReturn(domain: string, returnId: string | number, refund = false): void {
    const shop = this.store.shop(domain);
    const r = this.ret(shop, returnId);
    const out = processReturn(this.store, shop, r, {
      lines: r.lines.map((l) => ({ returnLineId: l.id, quantity: l.quantity, dispositions: [] })),
      refund,
      note: null,
    });
    if (!out.ok) throw new ControlError("INVALID_RETURN", out.errors.map((e) => e.message).join("; "));
  }

  /**
   * Staff move a fulfillment order to another location in the admin (Shopify's order page, or
   * another app): all of it, or `quantity` units of one order line (a split). Returns the moved
   * fulfillment order's gid.
   */
  moveFulfillmentOrder(
    domain: string,
    fulfillmentOrderId: string | number,
    locationId: string | number,
    line?: { lineItemId: string | number; quantity: number },
  ): string {
    const shop = this.store.shop(domain);
    const foId = toNumericId(fulfillmentOrderId, "FulfillmentOrder") ?? -1;
    const fo = shop.fulfillmentOrders.get(foId);
    const li = line && fo?.lineItems.find((l) => l.lineItemId === toNumericId(line.lineItemId, "LineItem"));
    if (line && !li)
      throw new ControlError("LINE_NOT_FOUND", `No line ${line.lineItemId} on ${fulfillmentOrderId}`);
    const r = moveFulfillmentOrder(
      this.store,
      shop,
      foId,
      toNumericId(locationId, "Location") ?? -1,
      li && line ? [{ id: li.id, quantity: line.quantity }] : null,
    );
    if (!r.ok) throw new ControlError("INVALID_MOVE", r.errors.map((e) => e.message).join("; "));
    return gid("FulfillmentOrder", r.value.moved.id);
  }

  /** The fulfillment orders of an order (status, location, delivery method). */
  fulfillmentOrders(domain: string, orderId: string | number) {
    const shop = this.store.shop(domain);
    const o = this.order(shop, orderId);
    return [...shop.fulfillmentOrders.values()]
      .filter((fo) => fo.orderId === o.id)
      .map((fo) => ({
        id: gid("FulfillmentOrder", fo.id),
        status: fo.status,
        locationId: gid("Location", fo.locationId),
        holds: (fo.holds ?? []).map((h) => ({ reason: h.reason, reasonNotes: h.reasonNotes })),
        lines: fo.lineItems.map((l) => ({
          id: gid("FulfillmentOrderLineItem", l.id),
          lineItemId: gid("LineItem", l.lineItemId),
          remaining: l.remainingQuantity,
        })),
      }));
  }

  returnStatus(domain: string, returnId: string | number): string {
    const shop = this.store.shop(domain);
    return this.ret(shop, returnId).status;
  }
}
