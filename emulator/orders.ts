// Order-side domain operations shared by the control API (checkout, merchant edits) and the Admin
// API resolvers (fulfillmentCreate, refundCreate, tagsAdd), plus Shopify's REST-shaped webhook payloads.
import { gid } from "./gid.ts";
import { LevelEvents } from "./level-events.ts";
import {
  type Address,
  ControlError,
  type Customer,
  ensureLevel,
  type FinancialStatus,
  type Fulfillment,
  type FulfillmentOrder,
  type InventoryLevel,
  type LineItem,
  type Order,
  type Refund,
  type RestockType,
  type Shop,
  type Store,
  type TrackingInfo,
  variantTitle,
} from "./state.ts";

export function fulfillableQuantity(li: LineItem): number {
  return Math.max(0, li.quantity - li.fulfilledQuantity - li.removedQuantity);
}

/** Units ordered, less those removed before fulfilment and fulfilled units refunded since. */
export function currentQuantity(li: LineItem): number {
  return Math.max(0, li.quantity - li.removedQuantity - li.refundedFulfilledQuantity);
}

export type DisplayFulfillment = "UNFULFILLED" | "PARTIALLY_FULFILLED" | "FULFILLED" | "RESTOCKED";

export function displayFulfillmentStatus(o: Order): DisplayFulfillment {
  const fulfilled = o.lineItems.reduce((n, li) => n + li.fulfilledQuantity, 0);
  const open = o.lineItems.reduce((n, li) => n + fulfillableQuantity(li), 0);
  if (fulfilled === 0 && open === 0 && o.lineItems.some((li) => li.removedQuantity > 0)) return "RESTOCKED";
  if (fulfilled === 0) return "UNFULFILLED";
  return open === 0 ? "FULFILLED" : "PARTIALLY_FULFILLED";
}

export function restFulfillmentStatus(o: Order): string | null {
  const d = displayFulfillmentStatus(o);
  return d === "FULFILLED"
    ? "fulfilled"
    : d === "PARTIALLY_FULFILLED"
      ? "partial"
      : d === "RESTOCKED"
        ? "restocked"
        : null;
}

export function orderStatus(o: Order): "open" | "closed" | "cancelled" {
  if (o.cancelledAt) return "cancelled";
  return o.closedAt ? "closed" : "open";
}

export function orderTotal(o: Order): number {
  return o.lineItems.reduce((n, li) => n + Number(li.price) * li.quantity, 0);
}

function restAddress(a: Address | null) {
  if (!a) return null;
  return {
    first_name: a.firstName ?? null,
    last_name: a.lastName ?? null,
    name: [a.firstName, a.lastName].filter(Boolean).join(" ") || null,
    company: a.company ?? null,
    address1: a.address1 ?? null,
    address2: a.address2 ?? null,
    city: a.city ?? null,
    province: a.province ?? null,
    province_code: a.provinceCode ?? null,
    country: a.country ?? null,
    country_code: a.countryCode ?? null,
    zip: a.zip ?? null,
    phone: a.phone ?? null,
  };
}

function restLineItem(li: LineItem) {
  return {
    id: li.id,
    admin_graphql_api_id: gid("LineItem", li.id),
    variant_id: li.variantId,
    product_id: li.productId,
    sku: li.sku,
    title: li.title,
    variant_title: li.variantTitle,
    name: li.variantTitle ? `${li.title} - ${li.variantTitle}` : li.title,
    quantity: li.quantity,
    current_quantity: currentQuantity(li),
    fulfillable_quantity: fulfillableQuantity(li),
    fulfillment_status:
      li.fulfilledQuantity === 0 ? null : fulfillableQuantity(li) === 0 ? "fulfilled" : "partial",
    price: li.price,
    requires_shipping: li.requiresShipping,
    taxable: true,
    gift_card: false,
  };
}

export function fulfillmentPayload(shop: Shop, f: Fulfillment) {
  const o = shop.orders.get(f.orderId)!;
  const first = f.tracking[0];
  return {
    id: f.id,
    admin_graphql_api_id: gid("Fulfillment", f.id),
    order_id: f.orderId,
    name: f.name,
    status: f.status === "SUCCESS" ? "success" : "cancelled",
    created_at: f.createdAt,
    updated_at: f.updatedAt,
    location_id: f.locationId,
    tracking_company: first?.company ?? null,
    tracking_number: first?.number ?? null,
    tracking_numbers: f.tracking.map((t) => t.number).filter(Boolean),
    tracking_url: first?.url ?? null,
    tracking_urls: f.tracking.map((t) => t.url).filter(Boolean),
    notify_customer: f.notifyCustomer,
    line_items: f.lineItems.map((fl) => {
      const li = o.lineItems.find((x) => x.id === fl.lineItemId)!;
      return { ...restLineItem(li), quantity: fl.quantity };
    }),
  };
}

export function refundPayload(shop: Shop, r: Refund) {
  const o = shop.orders.get(r.orderId)!;
  return {
    id: r.id,
    admin_graphql_api_id: gid("Refund", r.id),
    order_id: r.orderId,
    created_at: r.createdAt,
    processed_at: r.createdAt,
    note: r.note,
    restock: r.lineItems.some((l) => l.restocked),
    refund_line_items: r.lineItems.map((rl) => {
      const li = o.lineItems.find((x) => x.id === rl.lineItemId)!;
      return {
        id: rl.id,
        line_item_id: rl.lineItemId,
        quantity: rl.quantity,
        restock_type: rl.restockType.toLowerCase(),
        location_id: rl.locationId,
        subtotal: (Number(li.price) * rl.quantity).toFixed(2),
        total_tax: "0.00",
        line_item: restLineItem(li),
      };
    }),
    transactions: [],
    order_adjustments: [],
  };
}

export function orderPayload(shop: Shop, o: Order) {
  const c = o.customerId ? shop.customers.get(o.customerId) : undefined;
  const company = o.companyId ? shop.companies.get(o.companyId) : undefined;
  const total = orderTotal(o).toFixed(2);
  return {
    id: o.id,
    admin_graphql_api_id: gid("Order", o.id),
    name: o.name,
    number: o.number - 1000,
    order_number: o.number,
    email: o.email,
    contact_email: o.email,
    phone: o.phone,
    created_at: o.createdAt,
    updated_at: o.updatedAt,
    processed_at: o.processedAt,
    cancelled_at: o.cancelledAt,
    cancel_reason: o.cancelReason,
    closed_at: o.closedAt,
    financial_status: o.financialStatus,
    fulfillment_status: restFulfillmentStatus(o),
    confirmed: true,
    currency: o.currency,
    presentment_currency: o.currency,
    total_price: total,
    subtotal_price: total,
    current_total_price: total,
    total_tax: "0.00",
    total_discounts: "0.00",
    note: o.note,
    tags: o.tags.join(", "),
    test: o.test,
    location_id: o.locationId,
    source_name: o.sourceName,
    line_items: o.lineItems.map(restLineItem),
    customer: c
      ? {
          id: c.id,
          admin_graphql_api_id: gid("Customer", c.id),
          email: c.email,
          first_name: c.firstName,
          last_name: c.lastName,
          phone: c.phone,
          created_at: c.createdAt,
          updated_at: c.updatedAt,
          tags: c.tags.join(", "),
        }
      : null,
    company: company ? { id: company.id, location_id: null, name: company.name } : null,
    billing_address: restAddress(o.billingAddress),
    shipping_address: restAddress(o.shippingAddress),
    fulfillments: [...shop.fulfillments.values()]
      .filter((f) => f.orderId === o.id)
      .map((f) => fulfillmentPayload(shop, f)),
    refunds: [...shop.refunds.values()].filter((r) => r.orderId === o.id).map((r) => refundPayload(shop, r)),
  };
}

export interface OrderLineInput {
  variantId?: string | number;
  sku?: string;
  quantity: number;
  price?: string | number;
}

export interface PlaceOrderInput {
  lineItems: OrderLineInput[];
  locationId?: string | number;
  email?: string;
  phone?: string;
  customer?: { email?: string; firstName?: string; lastName?: string; phone?: string };
  company?: { name: string; externalId?: string };
  billingAddress?: Address;
  shippingAddress?: Address;
  financialStatus?: FinancialStatus;
  note?: string;
  tags?: string[];
  test?: boolean;
  /** "web" (the default) or "pos"; an order fulfilled at checkout is "pos" unless given. */
  sourceName?: string;
  /** A POS sale handed over at checkout: placed and fulfilled at once at its location. */
  fulfilled?: boolean;
}

export function toNumericId(v: string | number | undefined, type: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number") return v;
  const m = new RegExp(`^gid://shopify/${type}/(\\d+)`).exec(v);
  if (m) return Number(m[1]);
  return /^\d+$/.test(v) ? Number(v) : undefined;
}

function findOrCreateCustomer(store: Store, shop: Shop, input: PlaceOrderInput): Customer | undefined {
  const email = input.customer?.email ?? input.email;
  if (!email && !input.customer) return undefined;
  const existing = email
    ? [...shop.customers.values()].find((c) => c.email?.toLowerCase() === email.toLowerCase())
    : undefined;
  if (existing) return existing;
  const at = store.nowIso();
  const c: Customer = {
    id: store.nextId(),
    email: email ?? null,
    firstName: input.customer?.firstName ?? input.shippingAddress?.firstName ?? null,
    lastName: input.customer?.lastName ?? input.shippingAddress?.lastName ?? null,
    phone: input.customer?.phone ?? input.phone ?? null,
    tags: [],
    defaultAddress: input.shippingAddress ?? input.billingAddress ?? null,
    createdAt: at,
    updatedAt: at,
  };
  shop.customers.set(c.id, c);
  store.emit(shop, "customers/create", {
    id: c.id,
    email: c.email,
    admin_graphql_api_id: gid("Customer", c.id),
  });
  return c;
}

/** A new line item for a variant (validated; not yet part of any order). */
function newLineItem(store: Store, shop: Shop, l: OrderLineInput): LineItem {
  const vid = toNumericId(l.variantId, "ProductVariant");
  const v =
    vid !== undefined
      ? shop.variants.get(vid)
      : [...shop.variants.values()].find((x) => l.sku && x.sku === l.sku);
  if (!v) throw new ControlError("VARIANT_NOT_FOUND", `No variant for ${l.variantId ?? l.sku}`);
  if (!(l.quantity > 0)) throw new ControlError("INVALID_QUANTITY", "Line item quantity must be positive");
  const p = shop.products.get(v.productId)!;
  return {
    id: store.nextId(),
    variantId: v.id,
    productId: p.id,
    sku: v.sku,
    title: p.title,
    variantTitle: variantTitle(v) === "Default Title" ? null : variantTitle(v),
    quantity: l.quantity,
    price: l.price !== undefined ? Number(l.price).toFixed(2) : v.price,
    requiresShipping: true,
    fulfilledQuantity: 0,
    refundedQuantity: 0,
    removedQuantity: 0,
    refundedFulfilledQuantity: 0,
  };
}

/** The level of a line's inventory item at a location (none for a line without a variant). */
function lineLevel(shop: Shop, li: LineItem, locationId: number, at: string): InventoryLevel | undefined {
  if (li.variantId === null) return undefined;
  const v = shop.variants.get(li.variantId);
  return v ? ensureLevel(shop, v.inventoryItemId, locationId, at) : undefined;
}

/** Units of an order move from available to committed at a location. */
function commit(events: LevelEvents, shop: Shop, li: LineItem, locationId: number, qty: number, at: string) {
  const level = lineLevel(shop, li, locationId, at);
  if (!level) return;
  events.touch(level);
  level.q.committed += qty;
  level.updatedAt = at;
}

/** The order's open fulfillment order at a location, or a new one there. */
function openFulfillmentOrderAt(store: Store, shop: Shop, o: Order, locationId: number, at: string) {
  for (const fo of shop.fulfillmentOrders.values()) {
    if (
      fo.orderId === o.id &&
      fo.locationId === locationId &&
      (fo.status === "OPEN" || fo.status === "IN_PROGRESS")
    )
      return fo;
  }
  return newFulfillmentOrder(store, shop, o, locationId, at);
}

function newFulfillmentOrder(store: Store, shop: Shop, o: Order, locationId: number, at: string) {
  const fo: FulfillmentOrder = {
    id: store.nextId(),
    orderId: o.id,
    locationId,
    status: "OPEN",
    lineItems: [],
    createdAt: at,
    updatedAt: at,
  };
  shop.fulfillmentOrders.set(fo.id, fo);
  return fo;
}

/** New units of a line to fulfil from a fulfillment order. */
function addToFulfillmentOrder(
  store: Store,
  fo: FulfillmentOrder,
  lineItemId: number,
  qty: number,
  at: string,
) {
  let line = fo.lineItems.find((x) => x.lineItemId === lineItemId);
  if (!line) {
    line = { id: store.nextId(), lineItemId, totalQuantity: 0, remainingQuantity: 0 };
    fo.lineItems.push(line);
  }
  line.totalQuantity += qty;
  line.remainingQuantity += qty;
  fo.updatedAt = at;
}

/**
 * A checkout: stock moves from available to committed at the order's location. With `fulfilled`
 * (a POS sale handed over at checkout) the order is fulfilled at once, so the net effect is
 * available −n, committed ±0, on_hand −n.
 */
export function placeOrder(store: Store, shop: Shop, input: PlaceOrderInput): Order {
  if (!input.lineItems?.length)
    throw new ControlError("INVALID_ORDER", "An order needs at least one line item");
  const locationId =
    toNumericId(input.locationId, "Location") ?? [...shop.locations.values()].find((l) => l.isActive)?.id;
  if (locationId === undefined || !shop.locations.has(locationId)) {
    throw new ControlError("LOCATION_NOT_FOUND", "The shop has no such location (create one first)");
  }
  const at = store.nowIso();
  const lines = input.lineItems.map((l) => newLineItem(store, shop, l));
  const customer = findOrCreateCustomer(store, shop, input);
  let companyId: number | null = null;
  if (input.company) {
    let co = [...shop.companies.values()].find((c) => c.name === input.company!.name);
    if (!co) {
      co = {
        id: store.nextId(),
        name: input.company.name,
        externalId: input.company.externalId ?? null,
        createdAt: at,
        updatedAt: at,
      };
      shop.companies.set(co.id, co);
    }
    companyId = co.id;
  }
  const number = shop.nextOrderNumber++;
  const order: Order = {
    id: store.nextId(),
    number,
    name: `#${number}`,
    email: input.customer?.email ?? input.email ?? null,
    phone: input.phone ?? null,
    customerId: customer?.id ?? null,
    companyId,
    billingAddress: input.billingAddress ?? input.shippingAddress ?? null,
    shippingAddress: input.shippingAddress ?? null,
    financialStatus: input.financialStatus ?? "paid",
    lineItems: lines,
    locationId,
    note: input.note ?? null,
    tags: input.tags ?? [],
    currency: shop.currency,
    createdAt: at,
    updatedAt: at,
    processedAt: at,
    cancelledAt: null,
    cancelReason: null,
    closedAt: null,
    test: input.test ?? false,
    sourceName: input.sourceName ?? (input.fulfilled ? "pos" : "web"),
  };
  shop.orders.set(order.id, order);
  const events = new LevelEvents(store, shop);
  for (const li of lines) commit(events, shop, li, locationId, li.quantity, at);
  const fo = newFulfillmentOrder(store, shop, order, locationId, at);
  for (const li of lines) addToFulfillmentOrder(store, fo, li.id, li.quantity, at);
  let fulfillment: Fulfillment | undefined;
  if (input.fulfilled) {
    const r = fulfill(
      store,
      shop,
      {
        lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: fo.id, lines: null }],
        tracking: [],
        notifyCustomer: false,
      },
      { events, emit: false },
    );
    if (!r.ok) throw new ControlError("INVALID_ORDER", r.errors.map((e) => e.message).join("; "));
    fulfillment = r.fulfillment;
  }
  events.flush();
  store.emit(shop, "orders/create", orderPayload(shop, order));
  if (order.financialStatus === "paid") store.emit(shop, "orders/paid", orderPayload(shop, order));
  if (fulfillment) {
    store.emit(shop, "fulfillments/create", fulfillmentPayload(shop, fulfillment));
    store.emit(shop, "orders/updated", orderPayload(shop, order));
  }
  return order;
}

export function touchOrder(store: Store, shop: Shop, o: Order): void {
  o.updatedAt = store.nowIso();
  store.emit(shop, "orders/updated", orderPayload(shop, o));
}

export interface UpdateOrderInput {
  note?: string | null;
  tags?: string[];
  email?: string | null;
  shippingAddress?: Address | null;
  financialStatus?: FinancialStatus;
  closed?: boolean;
}

export function updateOrder(store: Store, shop: Shop, o: Order, input: UpdateOrderInput): Order {
  const wasPaid = o.financialStatus === "paid";
  if (input.note !== undefined) o.note = input.note;
  if (input.tags !== undefined) o.tags = input.tags;
  if (input.email !== undefined) o.email = input.email;
  if (input.shippingAddress !== undefined) o.shippingAddress = input.shippingAddress;
  if (input.financialStatus !== undefined) o.financialStatus = input.financialStatus;
  if (input.closed !== undefined) o.closedAt = input.closed ? store.nowIso() : null;
  touchOrder(store, shop, o);
  if (!wasPaid && o.financialStatus === "paid") store.emit(shop, "orders/paid", orderPayload(shop, o));
  return o;
}

/**
 * Unfulfilled units of a line leave its fulfillment orders and committed, at the fulfillment
 * orders' location (cancellation, CANCEL restock, order edit). With `restock` they go back to
 * available; without, they leave on_hand too.
 */
function releaseCommitted(
  events: LevelEvents,
  store: Store,
  shop: Shop,
  o: Order,
  li: LineItem,
  qty: number,
  restock: boolean,
): void {
  const at = store.nowIso();
  const release = (locationId: number, n: number) => {
    const level = lineLevel(shop, li, locationId, at);
    if (!level || n === 0) return;
    events.touch(level);
    level.q.committed -= n;
    if (!restock) level.q.on_hand -= n;
    level.updatedAt = at;
  };
  let left = qty;
  for (const fo of shop.fulfillmentOrders.values()) {
    if (fo.orderId !== o.id || left === 0) continue;
    const line = fo.lineItems.find((x) => x.lineItemId === li.id);
    if (!line) continue;
    const take = Math.min(line.remainingQuantity, left);
    if (take === 0) continue;
    line.remainingQuantity -= take;
    line.totalQuantity -= take;
    left -= take;
    release(fo.locationId, take);
    fo.updatedAt = at;
    if (fo.lineItems.every((x) => x.remainingQuantity === 0) && fo.status !== "CLOSED") {
      fo.status = fo.lineItems.some((x) => x.totalQuantity > 0) ? "CLOSED" : "CANCELLED";
    }
  }
  release(o.locationId, left);
}

export function cancelOrder(
  store: Store,
  shop: Shop,
  o: Order,
  input: { reason?: string; restock?: boolean } = {},
): Order {
  if (o.cancelledAt) throw new ControlError("ALREADY_CANCELLED", "The order is already cancelled");
  const events = new LevelEvents(store, shop);
  for (const li of o.lineItems) {
    const open = fulfillableQuantity(li);
    if (open > 0) {
      releaseCommitted(events, store, shop, o, li, open, input.restock ?? true);
      li.removedQuantity += open;
    }
  }
  for (const fo of shop.fulfillmentOrders.values()) {
    if (fo.orderId === o.id && (fo.status === "OPEN" || fo.status === "IN_PROGRESS")) fo.status = "CANCELLED";
  }
  o.cancelledAt = store.nowIso();
  o.cancelReason = (input.reason ?? "other").toLowerCase();
  o.closedAt = o.cancelledAt;
  o.updatedAt = o.cancelledAt;
  events.flush();
  store.emit(shop, "orders/cancelled", orderPayload(shop, o));
  store.emit(shop, "orders/updated", orderPayload(shop, o));
  return o;
}

export interface RefundLineInput {
  lineItemId: number;
  quantity: number;
  restockType?: RestockType;
  locationId?: number | null;
}

export type RefundResult =
  | { ok: true; refund: Refund }
  | { ok: false; errors: { field: string[]; message: string }[] };

/**
 * A refund. Its units are taken first from what is still unfulfilled (they leave the order:
 * committed −n, and available +n unless NO_RESTOCK), then from fulfilled units (RETURN puts them
 * back on hand at the refund's location) or units already removed (cancelled, edited away: no stock
 * moves again).
 */
export function createRefund(
  store: Store,
  shop: Shop,
  o: Order,
  lines: RefundLineInput[],
  note: string | null,
): RefundResult {
  const errors: { field: string[]; message: string }[] = [];
  const pending = new Map<number, number>();
  lines.forEach((l, i) => {
    const li = o.lineItems.find((x) => x.id === l.lineItemId);
    if (!li)
      errors.push({
        field: ["refundLineItems", String(i), "lineItemId"],
        message: "Line item does not exist",
      });
    else {
      const asked = (pending.get(li.id) ?? 0) + l.quantity;
      pending.set(li.id, asked);
      if (l.quantity <= 0 || asked > li.quantity - li.refundedQuantity) {
        errors.push({
          field: ["refundLineItems", String(i), "quantity"],
          message: "Quantity cannot refund more items than were purchased",
        });
      }
    }
    if (l.locationId != null && !shop.locations.has(l.locationId)) {
      errors.push({
        field: ["refundLineItems", String(i), "locationId"],
        message: "Location does not exist",
      });
    }
  });
  if (errors.length) return { ok: false, errors };
  const at = store.nowIso();
  const events = new LevelEvents(store, shop);
  const refund: Refund = { id: store.nextId(), orderId: o.id, note, lineItems: [], createdAt: at };
  for (const l of lines) {
    const li = o.lineItems.find((x) => x.id === l.lineItemId)!;
    const unfulfilled = Math.min(l.quantity, fulfillableQuantity(li));
    let type = l.restockType ?? "NO_RESTOCK";
    if (type === "LEGACY_RESTOCK") type = unfulfilled > 0 ? "CANCEL" : "RETURN";
    const fulfilledLeft = li.fulfilledQuantity - li.refundedFulfilledQuantity;
    const removedLeft = Math.max(
      0,
      li.removedQuantity - (li.refundedQuantity - li.refundedFulfilledQuantity),
    );
    const rest = l.quantity - unfulfilled;
    const fromFulfilled = Math.min(fulfilledLeft, type === "RETURN" ? rest : Math.max(0, rest - removedLeft));
    let restocked = false;
    const locationId = l.locationId ?? o.locationId;
    if (unfulfilled > 0) {
      releaseCommitted(events, store, shop, o, li, unfulfilled, type !== "NO_RESTOCK");
      li.removedQuantity += unfulfilled;
      restocked = type !== "NO_RESTOCK";
    }
    if (fromFulfilled > 0 && type === "RETURN") {
      const level = lineLevel(shop, li, locationId, at);
      if (level) {
        events.touch(level);
        level.q.on_hand += fromFulfilled;
        level.updatedAt = at;
        restocked = true;
      }
    }
    li.refundedFulfilledQuantity += fromFulfilled;
    li.refundedQuantity += l.quantity;
    refund.lineItems.push({
      id: store.nextId(),
      lineItemId: li.id,
      quantity: l.quantity,
      restockType: type,
      locationId,
      restocked,
    });
  }
  shop.refunds.set(refund.id, refund);
  const allRefunded = o.lineItems.every((li) => li.refundedQuantity >= li.quantity);
  if (o.financialStatus === "paid" || o.financialStatus === "partially_refunded") {
    o.financialStatus = allRefunded ? "refunded" : "partially_refunded";
  }
  o.updatedAt = at;
  events.flush();
  store.emit(shop, "refunds/create", refundPayload(shop, refund));
  store.emit(shop, "orders/updated", orderPayload(shop, o));
  return { ok: true, refund };
}

export interface FulfillInput {
  lineItemsByFulfillmentOrder: {
    fulfillmentOrderId: number;
    lines: { id: number; quantity: number }[] | null;
  }[];
  tracking: TrackingInfo[];
  notifyCustomer: boolean;
}

export type FulfillResult =
  | { ok: true; fulfillment: Fulfillment }
  | { ok: false; errors: { field: string[]; message: string }[] };

/**
 * Ship units: they leave committed and on_hand at the fulfillment order's location. Every
 * fulfilment goes through here (fulfillmentCreate, control.fulfillOrder, a POS sale fulfilled at
 * checkout). `events`: the caller's level snapshots (it flushes them); `emit: false`: the caller
 * sends fulfillments/create and orders/updated itself.
 */
export function fulfill(
  store: Store,
  shop: Shop,
  input: FulfillInput,
  opts: { events?: LevelEvents; emit?: boolean } = {},
): FulfillResult {
  const errors: { field: string[]; message: string }[] = [];
  const planned: { fo: FulfillmentOrder; lineId: number; qty: number }[] = [];
  const asked = new Map<number, number>();
  let order: Order | undefined;
  input.lineItemsByFulfillmentOrder.forEach((g, i) => {
    const fo = shop.fulfillmentOrders.get(g.fulfillmentOrderId);
    const path = ["fulfillment", "lineItemsByFulfillmentOrder", String(i)];
    if (!fo) {
      errors.push({ field: [...path, "fulfillmentOrderId"], message: "Fulfillment order does not exist." });
      return;
    }
    if (fo.status !== "OPEN" && fo.status !== "IN_PROGRESS") {
      errors.push({
        field: [...path, "fulfillmentOrderId"],
        message: `Fulfillment order ${gid("FulfillmentOrder", fo.id)} has an unfulfillable status= ${fo.status.toLowerCase()}.`,
      });
      return;
    }
    const o = shop.orders.get(fo.orderId)!;
    if (order && order.id !== o.id) {
      errors.push({
        field: [...path, "fulfillmentOrderId"],
        message: "All fulfillment orders must belong to the same order.",
      });
      return;
    }
    order = o;
    const lines =
      g.lines ??
      fo.lineItems
        .filter((l) => l.remainingQuantity > 0)
        .map((l) => ({ id: l.id, quantity: l.remainingQuantity }));
    lines.forEach((l, j) => {
      const line = fo.lineItems.find((x) => x.id === l.id);
      const total = (line ? (asked.get(line.id) ?? 0) : 0) + l.quantity;
      if (!line) {
        errors.push({
          field: [...path, "fulfillmentOrderLineItems", String(j), "id"],
          message: "Fulfillment order line item does not exist.",
        });
      } else if (l.quantity <= 0 || total > line.remainingQuantity) {
        errors.push({
          field: [...path, "fulfillmentOrderLineItems", String(j), "quantity"],
          message: `Invalid fulfillment order line item quantity requested: ${l.quantity} exceeds the remaining quantity ${line.remainingQuantity}.`,
        });
      } else {
        asked.set(line.id, total);
        planned.push({ fo, lineId: line.id, qty: l.quantity });
      }
    });
  });
  if (!order && errors.length === 0)
    errors.push({ field: ["fulfillment"], message: "No fulfillment order line items to fulfill." });
  if (errors.length === 0 && planned.length === 0)
    errors.push({ field: ["fulfillment"], message: "No fulfillment order line items to fulfill." });
  if (errors.length || !order) return { ok: false, errors };
  const at = store.nowIso();
  const o = order;
  const events = opts.events ?? new LevelEvents(store, shop);
  const count = [...shop.fulfillments.values()].filter((f) => f.orderId === o.id).length;
  const fulfillment: Fulfillment = {
    id: store.nextId(),
    orderId: o.id,
    locationId: planned[0]!.fo.locationId,
    name: `${o.name}-F${count + 1}`,
    status: "SUCCESS",
    lineItems: [],
    fulfillmentOrderIds: [...new Set(planned.map((p) => p.fo.id))],
    tracking: input.tracking,
    notifyCustomer: input.notifyCustomer,
    createdAt: at,
    updatedAt: at,
  };
  for (const p of planned) {
    const line = p.fo.lineItems.find((x) => x.id === p.lineId)!;
    line.remainingQuantity -= p.qty;
    const li = o.lineItems.find((x) => x.id === line.lineItemId)!;
    li.fulfilledQuantity += p.qty;
    fulfillment.lineItems.push({
      id: store.nextId(),
      lineItemId: li.id,
      quantity: p.qty,
      fulfillmentOrderId: p.fo.id,
      fulfillmentOrderLineId: line.id,
    });
    const level = lineLevel(shop, li, p.fo.locationId, at);
    if (level) {
      events.touch(level);
      level.q.committed -= p.qty;
      level.q.on_hand -= p.qty;
      level.updatedAt = at;
    }
    p.fo.updatedAt = at;
  }
  for (const fo of new Set(planned.map((p) => p.fo))) {
    // Shopify closes a fulfilled fulfillment order; a partial one stays open for the rest.
    fo.status = fo.lineItems.every((l) => l.remainingQuantity === 0) ? "CLOSED" : "IN_PROGRESS";
  }
  shop.fulfillments.set(fulfillment.id, fulfillment);
  o.updatedAt = at;
  if (!opts.events) events.flush();
  if (opts.emit !== false) {
    store.emit(shop, "fulfillments/create", fulfillmentPayload(shop, fulfillment));
    store.emit(shop, "orders/updated", orderPayload(shop, o));
  }
  return { ok: true, fulfillment };
}

/**
 * Cancel a fulfilment: its units go back to committed and on_hand at its location and are to be
 * fulfilled again. As Shopify documents for fulfillmentCancel: a fulfillment order that is still
 * open takes the units back into its remaining quantities; a closed (entirely fulfilled) one stays
 * closed and a new fulfillment order at the fulfilment's location gets them.
 */
export function cancelFulfillment(store: Store, shop: Shop, f: Fulfillment): FulfillResult {
  const o = shop.orders.get(f.orderId)!;
  const fail = (message: string): FulfillResult => ({ ok: false, errors: [{ field: ["id"], message }] });
  if (f.status === "CANCELLED") return fail("Fulfillment has already been cancelled.");
  if (o.cancelledAt) return fail("A fulfillment of a cancelled order can't be cancelled.");
  const perLine = new Map<number, number>();
  for (const fl of f.lineItems) perLine.set(fl.lineItemId, (perLine.get(fl.lineItemId) ?? 0) + fl.quantity);
  for (const [lineItemId, qty] of perLine) {
    const li = o.lineItems.find((x) => x.id === lineItemId)!;
    if (li.fulfilledQuantity - li.refundedFulfilledQuantity < qty)
      return fail("The fulfillment can't be cancelled: some of its units have been refunded.");
  }
  const flIds = new Set(f.lineItems.map((fl) => fl.id));
  for (const r of shop.returns.values()) {
    if (
      r.orderId === o.id &&
      r.status !== "CANCELED" &&
      r.lines.some((l) => flIds.has(l.fulfillmentLineItemId))
    )
      return fail("The fulfillment can't be cancelled: some of its units are being returned.");
  }
  const at = store.nowIso();
  const events = new LevelEvents(store, shop);
  let reopened: FulfillmentOrder | undefined;
  for (const fl of f.lineItems) {
    const li = o.lineItems.find((x) => x.id === fl.lineItemId)!;
    li.fulfilledQuantity -= fl.quantity;
    const level = lineLevel(shop, li, f.locationId, at);
    if (level) {
      events.touch(level);
      level.q.committed += fl.quantity;
      level.q.on_hand += fl.quantity;
      level.updatedAt = at;
    }
    const fo = shop.fulfillmentOrders.get(fl.fulfillmentOrderId);
    const line = fo?.lineItems.find((x) => x.id === fl.fulfillmentOrderLineId);
    if (fo && line && (fo.status === "OPEN" || fo.status === "IN_PROGRESS")) {
      line.remainingQuantity += fl.quantity;
      fo.updatedAt = at;
      fo.status = fo.lineItems.every((x) => x.remainingQuantity === x.totalQuantity) ? "OPEN" : "IN_PROGRESS";
    } else {
      reopened ??= newFulfillmentOrder(store, shop, o, f.locationId, at);
      addToFulfillmentOrder(store, reopened, li.id, fl.quantity, at);
    }
  }
  f.status = "CANCELLED";
  f.updatedAt = at;
  o.updatedAt = at;
  events.flush();
  store.emit(shop, "fulfillments/update", fulfillmentPayload(shop, f));
  store.emit(shop, "orders/updated", orderPayload(shop, o));
  return { ok: true, fulfillment: f };
}

export interface EditOrderInput {
  /** New current quantities of existing lines (units not yet fulfilled can be removed). */
  lines?: { lineItemId: number; quantity: number; restock?: boolean }[];
  /** New lines, committed at the order's location. */
  add?: OrderLineInput[];
  notifyCustomer?: boolean;
  staffNote?: string;
}

/**
 * Shopify's order edit. Lowering a line's current quantity removes unfulfilled units (committed
 * −n, available +n unless `restock: false`, the fulfillment order line shrinks); raising it or
 * adding a line commits units at the order's location (available −n, committed +n) and puts them
 * on an open fulfillment order there. Emits orders/edited and orders/updated.
 */
export function editOrder(store: Store, shop: Shop, o: Order, input: EditOrderInput): Order {
  if (o.cancelledAt) throw new ControlError("ORDER_CANCELLED", "A cancelled order can't be edited");
  const changes: { li: LineItem; delta: number; restock: boolean }[] = [];
  for (const l of input.lines ?? []) {
    const li = o.lineItems.find((x) => x.id === l.lineItemId);
    if (!li) throw new ControlError("LINE_ITEM_NOT_FOUND", `No line item ${l.lineItemId} on ${o.name}`, 404);
    if (changes.some((c) => c.li === li))
      throw new ControlError("INVALID_EDIT", `Line item ${li.id} is given twice`);
    if (!Number.isInteger(l.quantity) || l.quantity < 0)
      throw new ControlError("INVALID_QUANTITY", "A line's new quantity must be a whole number, 0 or more");
    const delta = l.quantity - currentQuantity(li);
    if (-delta > fulfillableQuantity(li)) {
      throw new ControlError(
        "INVALID_EDIT",
        `Line item ${li.id} can't go below its ${currentQuantity(li) - fulfillableQuantity(li)} fulfilled units`,
      );
    }
    if (delta !== 0) changes.push({ li, delta, restock: l.restock ?? true });
  }
  const added = (input.add ?? []).map((l) => newLineItem(store, shop, l));
  if (changes.length === 0 && added.length === 0)
    throw new ControlError("INVALID_EDIT", "The edit changes nothing");
  const at = store.nowIso();
  const events = new LevelEvents(store, shop);
  const additions: { id: number; delta: number }[] = [];
  const removals: { id: number; delta: number }[] = [];
  const grow = (li: LineItem, n: number) => {
    commit(events, shop, li, o.locationId, n, at);
    addToFulfillmentOrder(store, openFulfillmentOrderAt(store, shop, o, o.locationId, at), li.id, n, at);
    additions.push({ id: li.id, delta: n });
  };
  for (const c of changes) {
    if (c.delta < 0) {
      releaseCommitted(events, store, shop, o, c.li, -c.delta, c.restock);
      c.li.removedQuantity += -c.delta;
      removals.push({ id: c.li.id, delta: -c.delta });
    } else {
      c.li.quantity += c.delta;
      grow(c.li, c.delta);
    }
  }
  for (const li of added) {
    o.lineItems.push(li);
    grow(li, li.quantity);
  }
  o.updatedAt = at;
  events.flush();
  store.emit(shop, "orders/edited", {
    order_edit: {
      id: store.nextId(),
      app_id: null,
      created_at: at,
      notify_customer: input.notifyCustomer ?? false,
      order_id: o.id,
      staff_note: input.staffNote ?? "",
      user_id: null,
      line_items: { additions, removals },
      discounts: { additions: [], removals: [] },
      shipping_lines: { additions: [], removals: [] },
    },
  });
  store.emit(shop, "orders/updated", orderPayload(shop, o));
  return o;
}
