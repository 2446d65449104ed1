// Order-side domain operations shared by the control API (checkout, merchant edits) and the Admin
// API resolvers (fulfillmentCreate, refundCreate, tagsAdd), plus Shopify's REST-shaped webhook payloads.
import { gid } from "./gid.ts";
import {
  type Address,
  ControlError,
  type Customer,
  ensureLevel,
  type FinancialStatus,
  type Fulfillment,
  type FulfillmentOrder,
  type LineItem,
  type Order,
  quantity,
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

export function currentQuantity(li: LineItem): number {
  return Math.max(
    0,
    li.quantity - li.removedQuantity - Math.max(0, li.refundedQuantity - li.removedQuantity),
  );
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
    source_name: "web",
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

export interface PlaceOrderInput {
  lineItems: { variantId?: string | number; sku?: string; quantity: number; price?: string | number }[];
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

/** A checkout: stock moves from available to committed at the order's location. */
export function placeOrder(store: Store, shop: Shop, input: PlaceOrderInput): Order {
  if (!input.lineItems?.length)
    throw new ControlError("INVALID_ORDER", "An order needs at least one line item");
  const locationId =
    toNumericId(input.locationId, "Location") ?? [...shop.locations.values()].find((l) => l.isActive)?.id;
  if (locationId === undefined || !shop.locations.has(locationId)) {
    throw new ControlError("LOCATION_NOT_FOUND", "The shop has no such location (create one first)");
  }
  const at = store.nowIso();
  const lines: LineItem[] = input.lineItems.map((l) => {
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
    };
  });
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
  };
  shop.orders.set(order.id, order);
  for (const li of lines) {
    const v = shop.variants.get(li.variantId!)!;
    const level = ensureLevel(shop, v.inventoryItemId, locationId, at);
    level.q.committed += li.quantity;
    level.updatedAt = at;
    emitLevel(store, shop, level.itemId, level.locationId);
  }
  const fo: FulfillmentOrder = {
    id: store.nextId(),
    orderId: order.id,
    locationId,
    status: "OPEN",
    lineItems: lines.map((li) => ({
      id: store.nextId(),
      lineItemId: li.id,
      totalQuantity: li.quantity,
      remainingQuantity: li.quantity,
    })),
    createdAt: at,
    updatedAt: at,
  };
  shop.fulfillmentOrders.set(fo.id, fo);
  store.emit(shop, "orders/create", orderPayload(shop, order));
  if (order.financialStatus === "paid") store.emit(shop, "orders/paid", orderPayload(shop, order));
  return order;
}

function emitLevel(store: Store, shop: Shop, itemId: number, locationId: number): void {
  const level = shop.levels.get(`${itemId}:${locationId}`);
  if (!level) return;
  store.emit(shop, "inventory_levels/update", {
    inventory_item_id: itemId,
    location_id: locationId,
    available: quantity(level, "available"),
    updated_at: level.updatedAt,
    admin_graphql_api_id: `gid://shopify/InventoryLevel/${locationId}?inventory_item_id=${itemId}`,
  });
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

/** Release what is still committed for a line at the order's location (cancellation / CANCEL restock). */
function releaseCommitted(
  store: Store,
  shop: Shop,
  o: Order,
  li: LineItem,
  qty: number,
  restock: boolean,
): void {
  if (li.variantId === null) return;
  const v = shop.variants.get(li.variantId);
  if (!v) return;
  const at = store.nowIso();
  const level = ensureLevel(shop, v.inventoryItemId, o.locationId, at);
  level.q.committed -= qty;
  if (!restock) level.q.on_hand -= qty;
  level.updatedAt = at;
  emitLevel(store, shop, level.itemId, level.locationId);
  for (const fo of shop.fulfillmentOrders.values()) {
    if (fo.orderId !== o.id) continue;
    const line = fo.lineItems.find((x) => x.lineItemId === li.id);
    if (!line) continue;
    const take = Math.min(line.remainingQuantity, qty);
    line.remainingQuantity -= take;
    line.totalQuantity -= take;
    fo.updatedAt = at;
    if (fo.lineItems.every((x) => x.remainingQuantity === 0) && fo.status !== "CLOSED") {
      fo.status = fo.lineItems.some((x) => x.totalQuantity > 0) ? "CLOSED" : "CANCELLED";
    }
  }
}

export function cancelOrder(
  store: Store,
  shop: Shop,
  o: Order,
  input: { reason?: string; restock?: boolean } = {},
): Order {
  if (o.cancelledAt) throw new ControlError("ALREADY_CANCELLED", "The order is already cancelled");
  for (const li of o.lineItems) {
    const open = fulfillableQuantity(li);
    if (open > 0) {
      releaseCommitted(store, shop, o, li, open, input.restock ?? true);
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

export function createRefund(
  store: Store,
  shop: Shop,
  o: Order,
  lines: RefundLineInput[],
  note: string | null,
): RefundResult {
  const errors: { field: string[]; message: string }[] = [];
  lines.forEach((l, i) => {
    const li = o.lineItems.find((x) => x.id === l.lineItemId);
    if (!li)
      errors.push({
        field: ["refundLineItems", String(i), "lineItemId"],
        message: "Line item does not exist",
      });
    else if (l.quantity <= 0 || l.quantity > li.quantity - li.refundedQuantity) {
      errors.push({
        field: ["refundLineItems", String(i), "quantity"],
        message: "Quantity cannot refund more items than were purchased",
      });
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
  const refund: Refund = { id: store.nextId(), orderId: o.id, note, lineItems: [], createdAt: at };
  for (const l of lines) {
    const li = o.lineItems.find((x) => x.id === l.lineItemId)!;
    const unfulfilled = Math.min(l.quantity, fulfillableQuantity(li));
    let type = l.restockType ?? "NO_RESTOCK";
    if (type === "LEGACY_RESTOCK") type = unfulfilled > 0 ? "CANCEL" : "RETURN";
    let restocked = false;
    const locationId = l.locationId ?? o.locationId;
    if (unfulfilled > 0) {
      // Unfulfilled units leave the fulfillment order; CANCEL puts them back on sale.
      releaseCommitted(store, shop, o, li, unfulfilled, type === "CANCEL" || type === "RETURN");
      li.removedQuantity += unfulfilled;
      restocked = type !== "NO_RESTOCK";
    }
    const fulfilledPart = l.quantity - unfulfilled;
    if (fulfilledPart > 0 && type === "RETURN" && li.variantId !== null) {
      const v = shop.variants.get(li.variantId);
      if (v) {
        const level = ensureLevel(shop, v.inventoryItemId, locationId, at);
        level.q.on_hand += fulfilledPart;
        level.updatedAt = at;
        emitLevel(store, shop, level.itemId, level.locationId);
        restocked = true;
      }
    }
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

/** Ship units: they leave committed and on_hand at the fulfillment order's location. */
export function fulfill(store: Store, shop: Shop, input: FulfillInput): FulfillResult {
  const errors: { field: string[]; message: string }[] = [];
  const planned: { fo: FulfillmentOrder; lineId: number; qty: number }[] = [];
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
      if (!line) {
        errors.push({
          field: [...path, "fulfillmentOrderLineItems", String(j), "id"],
          message: "Fulfillment order line item does not exist.",
        });
      } else if (l.quantity <= 0 || l.quantity > line.remainingQuantity) {
        errors.push({
          field: [...path, "fulfillmentOrderLineItems", String(j), "quantity"],
          message: `Invalid fulfillment order line item quantity requested: ${l.quantity} exceeds the remaining quantity ${line.remainingQuantity}.`,
        });
      } else planned.push({ fo, lineId: line.id, qty: l.quantity });
    });
  });
  if (!order && errors.length === 0)
    errors.push({ field: ["fulfillment"], message: "No fulfillment order line items to fulfill." });
  if (errors.length || !order) return { ok: false, errors };
  const at = store.nowIso();
  const o = order;
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
    fulfillment.lineItems.push({ id: store.nextId(), lineItemId: li.id, quantity: p.qty });
    if (li.variantId !== null) {
      const v = shop.variants.get(li.variantId);
      if (v) {
        const level = ensureLevel(shop, v.inventoryItemId, p.fo.locationId, at);
        level.q.committed -= p.qty;
        level.q.on_hand -= p.qty;
        level.updatedAt = at;
      }
    }
    p.fo.updatedAt = at;
  }
  for (const fo of new Set(planned.map((p) => p.fo))) {
    // Shopify closes a fulfilled fulfillment order; a partial one stays open for the rest.
    fo.status = fo.lineItems.every((l) => l.remainingQuantity === 0) ? "CLOSED" : "IN_PROGRESS";
  }
  shop.fulfillments.set(fulfillment.id, fulfillment);
  o.updatedAt = at;
  store.emit(shop, "fulfillments/create", fulfillmentPayload(shop, fulfillment));
  store.emit(shop, "orders/updated", orderPayload(shop, o));
  return { ok: true, fulfillment };
}
