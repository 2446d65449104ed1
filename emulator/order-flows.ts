// Store pickup, fulfillment-order moves, order cancellation and closing, and the returns
// lifecycle (request → approve/decline → process/dispose → close, or cancel) with reverse
// fulfillment orders and exchanges. Their extra state lives in side tables keyed by the shop, so
// the core order model (orders.ts, state.ts) stays as it is.
import { gid } from "./gid.ts";
import { LevelEvents } from "./level-events.ts";
import {
  cancelOrder,
  createRefund,
  editOrder,
  type OrderLineInput,
  orderPayload,
  type PlaceOrderInput,
  placeOrder,
  touchOrder,
} from "./orders.ts";
import {
  ControlError,
  ensureLevel,
  type FulfillmentOrder,
  type Order,
  type ReturnRecord,
  type Shop,
  type Store,
} from "./state.ts";

export type DispositionType = "RESTOCKED" | "NOT_RESTOCKED" | "PROCESSING_REQUIRED" | "MISSING";

export interface Disposition {
  id: number;
  quantity: number;
  type: DispositionType;
  locationId: number | null;
  createdAt: string;
}

export interface ReverseLine {
  id: number;
  returnLineId: number;
  fulfillmentLineItemId: number;
  lineItemId: number;
  totalQuantity: number;
  dispositions: Disposition[];
}

export interface ReverseFulfillmentOrder {
  id: number;
  returnId: number;
  orderId: number;
  status: "OPEN" | "CLOSED" | "CANCELED";
  lines: ReverseLine[];
}

interface ReturnExtra {
  processed: Map<number, number>;
  /** Exchange lines asked for; their line items once the return is approved. */
  exchange: { input: OrderLineInput; lineItemId: number | null }[];
  declineReason: string | null;
}

interface FlowState {
  /** Fulfillment orders whose delivery method is local pickup, and when they were prepared. */
  pickup: Map<number, { preparedAt: string | null }>;
  reverse: Map<number, ReverseFulfillmentOrder>;
  returns: Map<number, ReturnExtra>;
}

const states = new WeakMap<Shop, FlowState>();

export function flows(shop: Shop): FlowState {
  let s = states.get(shop);
  if (!s) {
    s = { pickup: new Map(), reverse: new Map(), returns: new Map() };
    states.set(shop, s);
  }
  return s;
}

export type FlowResult<T> = { ok: true; value: T } | { ok: false; errors: FlowError[] };
export interface FlowError {
  field: string[];
  message: string;
  code?: string;
}
const fail = <T>(message: string, field: string[], code?: string): FlowResult<T> => ({
  ok: false,
  errors: [{ field, message, ...(code ? { code } : {}) }],
});

// ---- pickup ----

/** A checkout with local pickup at `pickupLocationId`: its fulfillment orders are pickups there. */
export function placePickupOrder(
  store: Store,
  shop: Shop,
  input: PlaceOrderInput & { pickupLocationId: number },
): Order {
  const o = placeOrder(store, shop, { ...input, locationId: input.pickupLocationId });
  for (const fo of shop.fulfillmentOrders.values())
    if (fo.orderId === o.id) flows(shop).pickup.set(fo.id, { preparedAt: null });
  return o;
}

export function deliveryMethodType(shop: Shop, fo: FulfillmentOrder): "PICK_UP" | "SHIPPING" {
  return flows(shop).pickup.has(fo.id) ? "PICK_UP" : "SHIPPING";
}

export function fulfillmentOrderPayload(shop: Shop, fo: FulfillmentOrder) {
  return {
    id: gid("FulfillmentOrder", fo.id),
    order_id: gid("Order", fo.orderId),
    status: fo.status.toLowerCase(),
    assigned_location_id: gid("Location", fo.locationId),
    delivery_method: { method_type: deliveryMethodType(shop, fo).toLowerCase() },
  };
}

/** `fulfillmentOrderLineItemsPreparedForPickup`: the customer is told the order is ready. */
export function prepareForPickup(store: Store, shop: Shop, foIds: number[]): FlowResult<FulfillmentOrder[]> {
  const errors: FlowError[] = [];
  const ready: FulfillmentOrder[] = [];
  foIds.forEach((id, i) => {
    const field = ["input", "lineItemsByFulfillmentOrder", String(i), "fulfillmentOrderId"];
    const fo = shop.fulfillmentOrders.get(id);
    if (!fo)
      errors.push({ field, message: "Fulfillment order does not exist.", code: "FULFILLMENT_ORDER_INVALID" });
    else if (!flows(shop).pickup.has(fo.id))
      errors.push({
        field,
        message: "Fulfillment order is not a local pickup: only pickup line items can be prepared.",
        code: "FULFILLMENT_ORDER_INVALID",
      });
    else if (fo.status !== "OPEN" && fo.status !== "IN_PROGRESS")
      errors.push({
        field,
        message: `Fulfillment order has an unpreparable status= ${fo.status.toLowerCase()}.`,
        code: "FULFILLMENT_ORDER_INVALID",
      });
    else if (fo.lineItems.every((l) => l.remainingQuantity === 0))
      errors.push({
        field,
        message: "No line items to prepare.",
        code: "NO_LINE_ITEMS_TO_PREPARE_FOR_FULFILLMENT_ORDER",
      });
    else ready.push(fo);
  });
  if (errors.length) return { ok: false, errors };
  const at = store.nowIso();
  for (const fo of ready) {
    flows(shop).pickup.set(fo.id, { preparedAt: at });
    fo.updatedAt = at;
    store.emit(shop, "fulfillment_orders/line_items_prepared_for_pickup", {
      fulfillment_order: fulfillmentOrderPayload(shop, fo),
    });
  }
  return { ok: true, value: ready };
}

// ---- moves ----

function foLevel(shop: Shop, o: Order, lineItemId: number, locationId: number, at: string) {
  const li = o.lineItems.find((x) => x.id === lineItemId);
  const v = li?.variantId == null ? undefined : shop.variants.get(li.variantId);
  return v ? ensureLevel(shop, v.inventoryItemId, locationId, at) : undefined;
}

/**
 * `fulfillmentOrderMove`: the units left to fulfil go to another location (their committed units
 * move with them). The whole fulfillment order moves when nothing of it was fulfilled and all of
 * it is asked for; otherwise a new one at the destination takes the asked units.
 */
export function moveFulfillmentOrder(
  store: Store,
  shop: Shop,
  foId: number,
  newLocationId: number,
  lines: { id: number; quantity: number }[] | null,
): FlowResult<{ original: FulfillmentOrder; moved: FulfillmentOrder }> {
  const fo = shop.fulfillmentOrders.get(foId);
  if (!fo) return fail("Fulfillment order does not exist.", ["id"]);
  if (fo.status !== "OPEN")
    return fail(`Cannot move a fulfillment order with status ${fo.status.toLowerCase()}.`, ["id"]);
  const loc = shop.locations.get(newLocationId);
  if (!loc?.isActive) return fail("Location does not exist or is not active.", ["newLocationId"]);
  if (loc.id === fo.locationId)
    return fail("Cannot move a fulfillment order to the location it is assigned to.", ["newLocationId"]);
  const asked = new Map<number, number>();
  if (lines) {
    for (const [i, l] of lines.entries()) {
      const line = fo.lineItems.find((x) => x.id === l.id);
      if (!line)
        return fail("Fulfillment order line item does not exist.", [
          "fulfillmentOrderLineItems",
          String(i),
          "id",
        ]);
      if (l.quantity <= 0 || l.quantity > line.remainingQuantity)
        return fail(`Quantity must be between 1 and ${line.remainingQuantity}.`, [
          "fulfillmentOrderLineItems",
          String(i),
          "quantity",
        ]);
      asked.set(line.id, (asked.get(line.id) ?? 0) + l.quantity);
    }
  } else for (const l of fo.lineItems) if (l.remainingQuantity > 0) asked.set(l.id, l.remainingQuantity);
  const o = shop.orders.get(fo.orderId)!;
  const at = store.nowIso();
  const events = new LevelEvents(store, shop);
  const shiftCommitted = (lineItemId: number, n: number) => {
    const from = foLevel(shop, o, lineItemId, fo.locationId, at);
    const to = foLevel(shop, o, lineItemId, newLocationId, at);
    if (from) {
      events.touch(from);
      from.q.committed -= n;
      from.updatedAt = at;
    }
    if (to) {
      events.touch(to);
      to.q.committed += n;
      to.updatedAt = at;
    }
  };
  const whole =
    fo.lineItems.every((l) => l.remainingQuantity === l.totalQuantity) &&
    fo.lineItems.every((l) => (asked.get(l.id) ?? 0) === l.remainingQuantity);
  let moved: FulfillmentOrder;
  if (whole) {
    for (const l of fo.lineItems)
      if (l.remainingQuantity > 0) shiftCommitted(l.lineItemId, l.remainingQuantity);
    const source = fo.locationId;
    fo.locationId = newLocationId;
    fo.updatedAt = at;
    moved = fo;
    emitMoved(store, shop, fo, fo, source);
  } else {
    moved = {
      id: store.nextId(),
      orderId: fo.orderId,
      locationId: newLocationId,
      status: "OPEN",
      lineItems: [],
      createdAt: at,
      updatedAt: at,
    };
    for (const l of fo.lineItems) {
      const n = asked.get(l.id) ?? 0;
      if (n === 0) continue;
      l.remainingQuantity -= n;
      l.totalQuantity -= n;
      moved.lineItems.push({
        id: store.nextId(),
        lineItemId: l.lineItemId,
        totalQuantity: n,
        remainingQuantity: n,
      });
      shiftCommitted(l.lineItemId, n);
    }
    shop.fulfillmentOrders.set(moved.id, moved);
    if (flows(shop).pickup.has(fo.id)) flows(shop).pickup.set(moved.id, { preparedAt: null });
    if (fo.lineItems.every((l) => l.remainingQuantity === 0)) fo.status = "CLOSED";
    fo.updatedAt = at;
    emitMoved(store, shop, fo, moved, fo.locationId);
  }
  events.flush();
  return { ok: true, value: { original: fo, moved } };
}

function emitMoved(
  store: Store,
  shop: Shop,
  original: FulfillmentOrder,
  moved: FulfillmentOrder,
  source: number,
) {
  store.emit(shop, "fulfillment_orders/moved", {
    original_fulfillment_order: fulfillmentOrderPayload(shop, original),
    moved_fulfillment_order: fulfillmentOrderPayload(shop, moved),
    source_location_id: gid("Location", source),
    destination_location_id: gid("Location", moved.locationId),
  });
}

// ---- cancel and close ----

export interface CancelInput {
  reason: string;
  restock: boolean;
  refund: boolean;
  notifyCustomer: boolean;
  staffNote: string | null;
}

/** `orderCancel`: unfulfilled units are released (restocked or not); the payment refunded when asked. */
export function cancelOrderFlow(store: Store, shop: Shop, o: Order, input: CancelInput): FlowResult<Order> {
  if (o.cancelledAt) return fail("Order has already been cancelled.", ["orderId"], "INVALID");
  if (o.closedAt && !o.cancelledAt) return fail("Order is closed: reopen it first.", ["orderId"], "INVALID");
  if (input.refund && (o.financialStatus === "paid" || o.financialStatus === "partially_refunded"))
    o.financialStatus = "refunded";
  else if (o.financialStatus === "authorized" || o.financialStatus === "pending")
    o.financialStatus = "voided";
  if (input.staffNote) o.note = [o.note, input.staffNote].filter(Boolean).join("\n");
  return { ok: true, value: cancelOrder(store, shop, o, { reason: input.reason, restock: input.restock }) };
}

/** `orderClose`: an order fully dealt with is archived. */
export function closeOrder(store: Store, shop: Shop, o: Order): FlowResult<Order> {
  if (o.closedAt) return { ok: true, value: o };
  o.closedAt = store.nowIso();
  touchOrder(store, shop, o);
  return { ok: true, value: o };
}

// ---- returns ----

/** A return's change is a change of its order (its return status): updated_at moves, orders/updated fires. */
function returnChanged(store: Store, shop: Shop, r: ReturnRecord): void {
  const o = shop.orders.get(r.orderId);
  if (o) touchOrder(store, shop, o);
}

function extra(shop: Shop, r: ReturnRecord): ReturnExtra {
  let e = flows(shop).returns.get(r.id);
  if (!e) {
    e = { processed: new Map(), exchange: [], declineReason: null };
    flows(shop).returns.set(r.id, e);
  }
  return e;
}

/** A return's exchange lines, with their order line items once approved (`Return.exchangeLineItems`). */
export function exchangeLinesOf(
  shop: Shop,
  r: ReturnRecord,
): { id: number; quantity: number; sku: string | null; lineItemId: number | null }[] {
  return extra(shop, r).exchange.map((x, i) => ({
    // Stable per return and position (the emulator keeps no separate id for them).
    id: r.id * 100 + i,
    quantity: x.input.quantity,
    sku: x.input.sku ?? null,
    lineItemId: x.lineItemId,
  }));
}

type ReturnStatus = "REQUESTED" | "OPEN" | "CLOSED" | "CANCELED" | "DECLINED";
const statusOf = (r: ReturnRecord) => r.status as ReturnStatus;
const setStatus = (r: ReturnRecord, s: ReturnStatus) => {
  (r as { status: string }).status = s;
};

export function returnStatus(r: ReturnRecord): ReturnStatus {
  return statusOf(r);
}

export function processedQuantity(shop: Shop, r: ReturnRecord, lineId: number): number {
  return extra(shop, r).processed.get(lineId) ?? 0;
}

/** The reverse fulfillment order of an approved return (made when first needed). */
export function reverseOf(store: Store, shop: Shop, r: ReturnRecord): ReverseFulfillmentOrder | null {
  const s = statusOf(r);
  if (s === "REQUESTED" || s === "DECLINED") return null;
  for (const rfo of flows(shop).reverse.values()) if (rfo.returnId === r.id) return rfo;
  const rfo: ReverseFulfillmentOrder = {
    id: store.nextId(),
    returnId: r.id,
    orderId: r.orderId,
    status: s === "CANCELED" ? "CANCELED" : "OPEN",
    lines: r.lines.map((l) => ({
      id: store.nextId(),
      returnLineId: l.id,
      fulfillmentLineItemId: l.fulfillmentLineItemId,
      lineItemId: l.lineItemId,
      totalQuantity: l.quantity,
      dispositions: [],
    })),
  };
  flows(shop).reverse.set(rfo.id, rfo);
  return rfo;
}

export function returnWebhookPayload(store: Store, shop: Shop, r: ReturnRecord) {
  const e = extra(shop, r);
  const rfo = reverseOf(store, shop, r);
  return {
    id: r.id,
    admin_graphql_api_id: gid("Return", r.id),
    name: r.name,
    status: statusOf(r).toLowerCase(),
    order_id: r.orderId,
    order: { id: r.orderId, admin_graphql_api_id: gid("Order", r.orderId) },
    decline: e.declineReason ? { reason: e.declineReason.toLowerCase() } : null,
    total_return_line_items: r.lines.reduce((n, l) => n + l.quantity, 0),
    return_line_items: r.lines.map((l) => ({
      id: l.id,
      admin_graphql_api_id: gid("ReturnLineItem", l.id),
      fulfillment_line_item: {
        id: l.fulfillmentLineItemId,
        admin_graphql_api_id: gid("FulfillmentLineItem", l.fulfillmentLineItemId),
        line_item: { id: l.lineItemId, admin_graphql_api_id: gid("LineItem", l.lineItemId) },
      },
      quantity: l.quantity,
      processed_quantity: e.processed.get(l.id) ?? 0,
      return_reason: l.returnReason.toLowerCase(),
      return_reason_note: l.returnReasonNote,
      customer_note: l.customerNote,
    })),
    exchange_line_items: e.exchange
      .filter((x) => x.lineItemId !== null)
      .map((x) => ({
        line_item: { id: x.lineItemId, admin_graphql_api_id: gid("LineItem", x.lineItemId!) },
        quantity: x.input.quantity,
      })),
    reverse_fulfillment_orders: rfo ? [{ id: gid("ReverseFulfillmentOrder", rfo.id) }] : [],
  };
}

export interface ReturnRequestLine {
  fulfillmentLineItemId?: number;
  lineItemId?: number;
  quantity: number;
  returnReason?: string;
  customerNote?: string;
}

/** A customer's return request (and exchange), as from the customer account: status REQUESTED. */
export function requestReturn(
  store: Store,
  shop: Shop,
  o: Order,
  lines: ReturnRequestLine[],
  exchange: OrderLineInput[] = [],
): ReturnRecord {
  const taken = (flId: number) => {
    let n = 0;
    for (const r of shop.returns.values()) {
      const s = statusOf(r);
      if (s === "CANCELED" || s === "DECLINED") continue;
      for (const l of r.lines) if (l.fulfillmentLineItemId === flId) n += l.quantity;
    }
    return n;
  };
  const out: ReturnRecord["lines"] = [];
  for (const l of lines) {
    let left = l.quantity;
    for (const f of shop.fulfillments.values()) {
      if (f.orderId !== o.id || f.status === "CANCELLED" || left === 0) continue;
      for (const fl of f.lineItems) {
        if (left === 0) continue;
        if (
          l.fulfillmentLineItemId !== undefined
            ? fl.id !== l.fulfillmentLineItemId
            : fl.lineItemId !== l.lineItemId
        )
          continue;
        const n = Math.min(
          left,
          fl.quantity -
            taken(fl.id) -
            out.filter((x) => x.fulfillmentLineItemId === fl.id).reduce((s, x) => s + x.quantity, 0),
        );
        if (n <= 0) continue;
        out.push({
          id: store.nextId(),
          fulfillmentLineItemId: fl.id,
          lineItemId: fl.lineItemId,
          quantity: n,
          returnReason: l.returnReason ?? "UNKNOWN",
          returnReasonNote: "",
          customerNote: l.customerNote ?? null,
        });
        left -= n;
      }
    }
    if (left > 0)
      throw new ControlError(
        "INVALID_RETURN",
        `Only fulfilled, unreturned units can be returned (${left} too many)`,
      );
  }
  if (out.length === 0 && exchange.length === 0)
    throw new ControlError("INVALID_RETURN", "A return needs lines");
  if (exchange.length > 0 && o.cancelledAt)
    throw new ControlError("INVALID_RETURN", "A cancelled order can't take exchange lines");
  const count = [...shop.returns.values()].filter((r) => r.orderId === o.id).length;
  const r: ReturnRecord = {
    id: store.nextId(),
    orderId: o.id,
    name: `${o.name}-R${count + 1}`,
    status: "OPEN",
    lines: out,
    createdAt: store.nowIso(),
    closedAt: null,
  };
  setStatus(r, "REQUESTED");
  shop.returns.set(r.id, r);
  extra(shop, r).exchange = exchange.map((input) => ({ input, lineItemId: null }));
  returnChanged(store, shop, r);
  store.emit(shop, "returns/request", returnWebhookPayload(store, shop, r));
  return r;
}

export function approveReturn(store: Store, shop: Shop, r: ReturnRecord): FlowResult<ReturnRecord> {
  if (statusOf(r) !== "REQUESTED") return fail("Return is not requested.", ["input", "id"], "INVALID_STATE");
  const e = extra(shop, r);
  const o = shop.orders.get(r.orderId)!;
  if (e.exchange.length > 0 && o.cancelledAt)
    return fail("A cancelled order can't take exchange lines.", ["input", "id"], "INVALID_STATE");
  setStatus(r, "OPEN");
  if (e.exchange.length > 0) {
    // Exchange lines join the order (committed at its location, on an open fulfillment order).
    const before = new Set(o.lineItems.map((l) => l.id));
    editOrder(store, shop, o, { add: e.exchange.map((x) => x.input) });
    const added = o.lineItems.filter((l) => !before.has(l.id));
    e.exchange.forEach((x, i) => {
      x.lineItemId = added[i]?.id ?? null;
    });
  }
  reverseOf(store, shop, r);
  returnChanged(store, shop, r);
  store.emit(shop, "returns/approve", returnWebhookPayload(store, shop, r));
  return { ok: true, value: r };
}

export function declineReturn(
  store: Store,
  shop: Shop,
  r: ReturnRecord,
  reason: string,
): FlowResult<ReturnRecord> {
  if (statusOf(r) !== "REQUESTED") return fail("Return is not requested.", ["input", "id"], "INVALID_STATE");
  setStatus(r, "DECLINED");
  extra(shop, r).declineReason = reason;
  returnChanged(store, shop, r);
  store.emit(shop, "returns/decline", returnWebhookPayload(store, shop, r));
  return { ok: true, value: r };
}

export function cancelReturn(store: Store, shop: Shop, r: ReturnRecord): FlowResult<ReturnRecord> {
  const s = statusOf(r);
  if (s !== "OPEN" && s !== "REQUESTED")
    return fail(`Return is ${s.toLowerCase()}.`, ["id"], "INVALID_STATE");
  const rfo = reverseOf(store, shop, r);
  if (
    [...extra(shop, r).processed.values()].some((n) => n > 0) ||
    rfo?.lines.some((l) => l.dispositions.length > 0)
  )
    return fail("A return with processed items can't be cancelled.", ["id"], "INVALID_STATE");
  setStatus(r, "CANCELED");
  if (rfo) rfo.status = "CANCELED";
  returnChanged(store, shop, r);
  store.emit(shop, "returns/cancel", returnWebhookPayload(store, shop, r));
  return { ok: true, value: r };
}

function maybeClose(store: Store, shop: Shop, r: ReturnRecord): void {
  const e = extra(shop, r);
  if (statusOf(r) !== "OPEN") return;
  if (!r.lines.every((l) => (e.processed.get(l.id) ?? 0) >= l.quantity)) return;
  setStatus(r, "CLOSED");
  r.closedAt = store.nowIso();
  const rfo = reverseOf(store, shop, r);
  if (rfo) rfo.status = "CLOSED";
  returnChanged(store, shop, r);
  store.emit(shop, "returns/close", returnWebhookPayload(store, shop, r));
}

export interface DisposeInput {
  reverseLineId: number;
  quantity: number;
  type: DispositionType;
  locationId: number | null;
}

/**
 * `reverseFulfillmentOrderDispose`: what became of returned units. RESTOCKED puts them back on
 * hand at the location; the others leave stock as it is. Never more than was returned.
 */
export function dispose(
  store: Store,
  shop: Shop,
  inputs: DisposeInput[],
  field: (i: number) => string[] = (i) => ["dispositionInputs", String(i)],
): FlowResult<ReverseLine[]> {
  const errors: FlowError[] = [];
  const asked = new Map<number, number>();
  const found: { rfo: ReverseFulfillmentOrder; line: ReverseLine; input: DisposeInput }[] = [];
  inputs.forEach((d, i) => {
    let hit: { rfo: ReverseFulfillmentOrder; line: ReverseLine } | undefined;
    for (const rfo of flows(shop).reverse.values()) {
      const line = rfo.lines.find((l) => l.id === d.reverseLineId);
      if (line) hit = { rfo, line };
    }
    if (!hit) {
      errors.push({
        field: [...field(i), "reverseFulfillmentOrderLineItemId"],
        message: "Reverse fulfillment order line item does not exist.",
        code: "NOT_FOUND",
      });
      return;
    }
    if (hit.rfo.status !== "OPEN") {
      errors.push({
        field: field(i),
        message: `Reverse fulfillment order is ${hit.rfo.status.toLowerCase()}.`,
        code: "INVALID_STATE",
      });
      return;
    }
    const done = hit.line.dispositions.reduce((n, x) => n + x.quantity, 0) + (asked.get(hit.line.id) ?? 0);
    if (d.quantity <= 0 || done + d.quantity > hit.line.totalQuantity) {
      errors.push({
        field: [...field(i), "quantity"],
        message: `Cannot dispose more than was returned: ${hit.line.totalQuantity - done} left to dispose.`,
        code: "LESS_THAN_OR_EQUAL_TO",
      });
      return;
    }
    if (d.type === "RESTOCKED" && (d.locationId === null || !shop.locations.has(d.locationId))) {
      errors.push({
        field: [...field(i), "locationId"],
        message: "A restock needs an existing location.",
        code: "INVALID",
      });
      return;
    }
    asked.set(hit.line.id, (asked.get(hit.line.id) ?? 0) + d.quantity);
    found.push({ ...hit, input: d });
  });
  if (errors.length) return { ok: false, errors };
  const at = store.nowIso();
  const events = new LevelEvents(store, shop);
  const byRfo = new Map<ReverseFulfillmentOrder, Disposition[]>();
  for (const { rfo, line, input } of found) {
    const d: Disposition = {
      id: store.nextId(),
      quantity: input.quantity,
      type: input.type,
      locationId: input.locationId,
      createdAt: at,
    };
    line.dispositions.push(d);
    if (input.type === "RESTOCKED") {
      const o = shop.orders.get(rfo.orderId)!;
      const level = foLevel(shop, o, line.lineItemId, input.locationId!, at);
      if (level) {
        events.touch(level);
        level.q.on_hand += input.quantity;
        level.updatedAt = at;
      }
    }
    const list = byRfo.get(rfo) ?? [];
    list.push(d);
    byRfo.set(rfo, list);
  }
  events.flush();
  for (const [rfo, ds] of byRfo)
    store.emit(shop, "reverse_fulfillment_orders/dispose", {
      id: rfo.id,
      admin_graphql_api_id: gid("ReverseFulfillmentOrder", rfo.id),
      order_id: rfo.orderId,
      return: { id: rfo.returnId, admin_graphql_api_id: gid("Return", rfo.returnId) },
      dispositions: ds.map((d) => {
        const line = rfo.lines.find((l) => l.dispositions.includes(d))!;
        return {
          id: d.id,
          admin_graphql_api_id: gid("ReverseFulfillmentOrderDisposition", d.id),
          reverse_fulfillment_order_line_item: {
            id: line.id,
            admin_graphql_api_id: gid("ReverseFulfillmentOrderLineItem", line.id),
            return_line_item: { admin_graphql_api_id: gid("ReturnLineItem", line.returnLineId) },
            line_item: { id: line.lineItemId, admin_graphql_api_id: gid("LineItem", line.lineItemId) },
          },
          type: d.type.toLowerCase(),
          quantity: d.quantity,
          location_id: d.locationId,
          location: d.locationId === null ? null : { admin_graphql_api_id: gid("Location", d.locationId) },
        };
      }),
    });
  return { ok: true, value: found.map((f) => f.line) };
}

export interface ProcessInput {
  lines: { returnLineId: number; quantity: number; dispositions: Omit<DisposeInput, never>[] }[];
  /** Refund the processed units (no restock: dispositions restock). */
  refund: boolean;
  note: string | null;
}

/** `returnProcess`: units received are processed (and disposed, refunded when asked); a return fully processed closes. */
export function processReturn(
  store: Store,
  shop: Shop,
  r: ReturnRecord,
  input: ProcessInput,
): FlowResult<ReturnRecord> {
  if (statusOf(r) !== "OPEN")
    return fail(`Return is ${statusOf(r).toLowerCase()}, not open.`, ["input", "returnId"], "INVALID_STATE");
  const e = extra(shop, r);
  const errors: FlowError[] = [];
  const asked = new Map<number, number>();
  input.lines.forEach((l, i) => {
    const line = r.lines.find((x) => x.id === l.returnLineId);
    const field = ["input", "returnLineItems", String(i)];
    if (!line) {
      errors.push({
        field: [...field, "id"],
        message: "Return line item does not exist.",
        code: "NOT_FOUND",
      });
      return;
    }
    const left = line.quantity - (e.processed.get(line.id) ?? 0) - (asked.get(line.id) ?? 0);
    if (l.quantity <= 0 || l.quantity > left) {
      errors.push({
        field: [...field, "quantity"],
        message: `Quantity must be between 1 and ${left}.`,
        code: "LESS_THAN_OR_EQUAL_TO",
      });
      return;
    }
    if (l.dispositions.reduce((n, d) => n + d.quantity, 0) > l.quantity)
      errors.push({
        field: [...field, "dispositions"],
        message: "Dispositions exceed the processed quantity.",
        code: "LESS_THAN_OR_EQUAL_TO",
      });
    asked.set(line.id, (asked.get(line.id) ?? 0) + l.quantity);
  });
  if (errors.length) return { ok: false, errors };
  const all = input.lines.flatMap((l, i) =>
    l.dispositions.map((d, j) => ({
      d,
      path: ["input", "returnLineItems", String(i), "dispositions", String(j)],
    })),
  );
  if (all.length > 0) {
    const r2 = dispose(
      store,
      shop,
      all.map((x) => x.d),
      (k) => all[k]!.path,
    );
    if (!r2.ok) return r2;
  }
  for (const l of input.lines)
    e.processed.set(l.returnLineId, (e.processed.get(l.returnLineId) ?? 0) + l.quantity);
  if (input.refund) {
    const o = shop.orders.get(r.orderId)!;
    const refundLines = input.lines.map((l) => ({
      lineItemId: r.lines.find((x) => x.id === l.returnLineId)!.lineItemId,
      quantity: l.quantity,
      restockType: "NO_RESTOCK" as const,
      locationId: null,
    }));
    const rr = createRefund(store, shop, o, refundLines, input.note, {}, r.id);
    if (!rr.ok) return { ok: false, errors: rr.errors.map((x) => ({ ...x, code: "INVALID" })) };
  }
  returnChanged(store, shop, r);
  store.emit(shop, "returns/process", returnWebhookPayload(store, shop, r));
  maybeClose(store, shop, r);
  return { ok: true, value: r };
}

export function orderOfReturn(shop: Shop, r: ReturnRecord): Order {
  return shop.orders.get(r.orderId)!;
}

export { orderPayload };

// ---- order edits (substitution: one line down, another variant added) ----

export interface EditSession {
  id: number;
  orderId: number;
  sets: Map<number, { quantity: number; restock: boolean }>;
  /** `locationId`: where the added units are committed and fulfilled from (default: the order's location). */
  adds: { id: number; variantId: number; quantity: number; locationId: number | null }[];
}

const edits = new WeakMap<Shop, Map<number, EditSession>>();
const sessionsOf = (shop: Shop) => {
  let m = edits.get(shop);
  if (!m) {
    m = new Map();
    edits.set(shop, m);
  }
  return m;
};

/** `orderEditBegin`: a session of changes applied together at commit. */
export function beginEdit(store: Store, shop: Shop, o: Order): FlowResult<EditSession> {
  if (o.cancelledAt) return fail("A cancelled order can't be edited.", ["id"]);
  const s: EditSession = { id: store.nextId(), orderId: o.id, sets: new Map(), adds: [] };
  sessionsOf(shop).set(s.id, s);
  return { ok: true, value: s };
}

export function editSession(shop: Shop, id: number): EditSession | undefined {
  return sessionsOf(shop).get(id);
}

export function editAddVariant(
  store: Store,
  shop: Shop,
  s: EditSession,
  variantId: number,
  quantity: number,
  locationId: number | null = null,
): FlowResult<number> {
  if (!shop.variants.has(variantId)) return fail("Variant does not exist.", ["variantId"]);
  if (locationId !== null && !shop.locations.has(locationId))
    return fail("Location does not exist.", ["locationId"]);
  if (!Number.isInteger(quantity) || quantity <= 0) return fail("Quantity must be at least 1.", ["quantity"]);
  const id = store.nextId();
  s.adds.push({ id, variantId, quantity, locationId });
  return { ok: true, value: id };
}

export function editSetQuantity(
  shop: Shop,
  s: EditSession,
  lineItemId: number,
  quantity: number,
  restock: boolean,
): FlowResult<number> {
  const o = shop.orders.get(s.orderId)!;
  const li = o.lineItems.find((l) => l.id === lineItemId);
  if (!li) return fail("Line item does not exist.", ["lineItemId"]);
  const fulfilled = li.fulfilledQuantity;
  if (!Number.isInteger(quantity) || quantity < fulfilled)
    return fail(`Quantity can't be lower than the ${fulfilled} fulfilled units.`, ["quantity"]);
  s.sets.set(lineItemId, { quantity, restock });
  return { ok: true, value: lineItemId };
}

/** `orderEditCommit`: the session's changes at once (orders/edited, orders/updated). */
export function commitEdit(store: Store, shop: Shop, s: EditSession): FlowResult<Order> {
  const o = shop.orders.get(s.orderId)!;
  const home = o.locationId;
  const at = (a: EditSession["adds"][number]) => a.locationId ?? home;
  try {
    editOrder(store, shop, o, {
      lines: [...s.sets].map(([lineItemId, v]) => ({ lineItemId, quantity: v.quantity, restock: v.restock })),
      add: s.adds
        .filter((a) => at(a) === home)
        .map((a) => ({ variantId: a.variantId, quantity: a.quantity })),
    });
    // editOrder commits added lines at the order's location: lines for another location are
    // added with the order pointed there for the call.
    for (const loc of new Set(s.adds.map(at).filter((l) => l !== home))) {
      o.locationId = loc;
      try {
        editOrder(store, shop, o, {
          add: s.adds
            .filter((a) => at(a) === loc)
            .map((a) => ({ variantId: a.variantId, quantity: a.quantity })),
        });
      } finally {
        o.locationId = home;
      }
    }
  } catch (err) {
    return fail((err as Error).message, ["id"]);
  }
  sessionsOf(shop).delete(s.id);
  return { ok: true, value: o };
}
