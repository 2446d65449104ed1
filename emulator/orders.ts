// Order-side domain operations shared by the control API (checkout, merchant edits) and the Admin
// API resolvers (fulfillmentCreate, refundCreate, tagsAdd), plus Shopify's REST-shaped webhook payloads.

import { isoSeconds } from "./clock.ts";
import { holdFulfillmentOrder, scheduleFulfillmentOrder } from "./fulfillment-holds.ts";
import { gid } from "./gid.ts";
import { LevelEvents } from "./level-events.ts";
import {
  allocate,
  type Cents,
  computeTaxes,
  type DiscountInput,
  discountApplications,
  fmt,
  type LineMoney,
  type OrderMoneyState,
  orderTaxLines,
  type PricedLine,
  presentment,
  rateString,
  refundOfLine,
  type TaxLineState,
  type TransactionKind,
  type TransactionState,
  toCents,
  totals,
} from "./order-money.ts";
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

/**
 * The values Shopify produces. The enum also lists three it no longer does (2026-10 schema and
 * shopify.dev's OrderDisplayFulfillmentStatus): OPEN ("Replaced by UNFULFILLED"), RESTOCKED
 * ("Replaced by the UNFULFILLED status") and PENDING_FULFILLMENT ("Replaced by the IN_PROGRESS
 * status"); the emulator answers their replacements, as Shopify does.
 */
export type DisplayFulfillment =
  | "UNFULFILLED"
  | "PARTIALLY_FULFILLED"
  | "FULFILLED"
  | "ON_HOLD"
  | "SCHEDULED"
  | "IN_PROGRESS"
  | "REQUEST_DECLINED"
  | "FULFILLMENT_NOT_REQUIRED";

/**
 * The order's OrderDisplayFulfillmentStatus. With the shop, the state of its fulfillment orders
 * counts as Shopify shows it: ON_HOLD / SCHEDULED when every unfulfilled unit is held / scheduled,
 * IN_PROGRESS / REQUEST_DECLINED while a fulfillment service has the request (submitted or
 * accepted). An order with nothing left to ship and nothing shipped (every unit removed or
 * restocked) is UNFULFILLED (RESTOCKED is a replaced value); REST still says `restocked`.
 */
export function displayFulfillmentStatus(o: Order, shop?: Shop): DisplayFulfillment {
  const fulfilled = o.lineItems.reduce((n, li) => n + li.fulfilledQuantity, 0);
  const open = o.lineItems.reduce((n, li) => n + fulfillableQuantity(li), 0);
  if (fulfilled === 0 && open === 0 && o.lineItems.some((li) => li.removedQuantity > 0)) return "UNFULFILLED";
  if (
    fulfilled === 0 &&
    open === 0 &&
    o.lineItems.length > 0 &&
    o.lineItems.every((li) => !li.requiresShipping)
  )
    return "FULFILLMENT_NOT_REQUIRED";
  if (open > 0 && shop) {
    const pending = [...shop.fulfillmentOrders.values()].filter(
      (fo) =>
        fo.orderId === o.id &&
        fo.lineItems.some((l) => l.remainingQuantity > 0) &&
        fo.status !== "CLOSED" &&
        fo.status !== "CANCELLED" &&
        fo.status !== "INCOMPLETE",
    );
    if (pending.length > 0) {
      if (pending.every((fo) => fo.status === "ON_HOLD")) return "ON_HOLD";
      if (pending.every((fo) => fo.status === "SCHEDULED")) return "SCHEDULED";
      if (pending.some((fo) => fo.requestStatus === "REJECTED")) return "REQUEST_DECLINED";
      if (
        fulfilled === 0 &&
        pending.some((fo) => fo.requestStatus === "SUBMITTED" || fo.requestStatus === "ACCEPTED")
      )
        return "IN_PROGRESS";
    }
  }
  if (fulfilled === 0) return "UNFULFILLED";
  return open === 0 ? "FULFILLED" : "PARTIALLY_FULFILLED";
}

/** REST's `fulfillment_status`: fulfilled, partial, restocked (nothing left, nothing shipped) or null. */
export function restFulfillmentStatus(o: Order): string | null {
  const fulfilled = o.lineItems.reduce((n, li) => n + li.fulfilledQuantity, 0);
  const open = o.lineItems.reduce((n, li) => n + fulfillableQuantity(li), 0);
  if (fulfilled === 0 && open === 0 && o.lineItems.some((li) => li.removedQuantity > 0)) return "restocked";
  const d = displayFulfillmentStatus(o);
  return d === "FULFILLED" ? "fulfilled" : d === "PARTIALLY_FULFILLED" ? "partial" : null;
}

export function orderStatus(o: Order): "open" | "closed" | "cancelled" {
  if (o.cancelledAt) return "cancelled";
  return o.closedAt ? "closed" : "open";
}

export function pricedLines(o: Order): PricedLine[] {
  return o.lineItems.map((li) => ({ priceCents: toCents(li.price), quantity: li.quantity, money: li.money }));
}

/** The order's totals in shop currency (`presentment`: in the customer's currency), integer cents. */
export function orderTotals(o: Order, inPresentment = false) {
  return totals(o.money, pricedLines(o), inPresentment ? (c) => presentment(o.money, c) : undefined);
}

/** The order total in shop currency, as a decimal string. */
export function orderTotal(o: Order): string {
  return fmt(orderTotals(o).total);
}

/** Shopify's REST money set: `{ shop_money, presentment_money }`. */
export function restMoneySet(o: Order, cents: Cents, presentmentCents = presentment(o.money, cents)) {
  return {
    shop_money: { amount: fmt(cents), currency_code: o.currency },
    presentment_money: { amount: fmt(presentmentCents), currency_code: o.money.presentmentCurrency },
  };
}

function restTaxLines(o: Order, lines: TaxLineState[]) {
  return lines.map((t) => ({
    title: t.title,
    rate: Number(t.rate),
    price: fmt(t.cents),
    price_set: restMoneySet(o, t.cents),
    channel_liable: false,
  }));
}

function restAllocations(o: Order, allocs: { applicationIndex: number; cents: Cents }[]) {
  return allocs.map((a) => ({
    amount: fmt(a.cents),
    amount_set: restMoneySet(o, a.cents),
    discount_application_index: a.applicationIndex,
  }));
}

export function transactionPayload(o: Order, t: TransactionState) {
  return {
    id: t.id,
    admin_graphql_api_id: gid("OrderTransaction", t.id),
    order_id: o.id,
    kind: t.kind,
    gateway: t.gateway,
    status: t.status,
    message: null,
    created_at: t.processedAt,
    processed_at: t.processedAt,
    test: o.test,
    authorization: t.authorization,
    parent_id: t.parentId,
    currency: o.currency,
    amount: fmt(t.cents),
    amount_set: restMoneySet(o, t.cents),
    source_name: o.sourceName,
    location_id: o.sourceName === "pos" ? o.locationId : null,
    user_id: o.money.staffMember?.id ?? null,
    receipt: t.authorization ? { authorization: t.authorization } : {},
  };
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

function restLineItem(shop: Shop, o: Order, li: LineItem) {
  const m = li.money;
  const price = toCents(li.price);
  const variant = li.variantId === null ? undefined : shop.variants.get(li.variantId);
  const product = li.productId === null ? undefined : shop.products.get(li.productId);
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
    price_set: restMoneySet(o, price),
    total_discount: fmt(m.allocations.reduce((n, a) => n + a.cents, 0)),
    total_discount_set: restMoneySet(
      o,
      m.allocations.reduce((n, a) => n + a.cents, 0),
      m.allocations.reduce((n, a) => n + presentment(o.money, a.cents), 0),
    ),
    discount_allocations: restAllocations(o, m.allocations),
    tax_lines: restTaxLines(o, m.taxLines),
    duties: m.duty
      ? [
          {
            id: String(m.duty.id),
            admin_graphql_api_id: gid("Duty", m.duty.id),
            harmonized_system_code: m.duty.harmonizedSystemCode,
            country_code_of_origin: m.duty.countryCodeOfOrigin,
            shop_money: { amount: fmt(m.duty.cents), currency_code: o.currency },
            presentment_money: {
              amount: fmt(presentment(o.money, m.duty.cents)),
              currency_code: o.money.presentmentCurrency,
            },
            price_set: restMoneySet(o, m.duty.cents),
            tax_lines: [],
          },
        ]
      : [],
    properties: m.properties,
    vendor: product?.vendor ?? null,
    grams: gramsOf(variant ? shop.inventoryItems.get(variant.inventoryItemId)?.weight : null),
    product_exists: li.productId !== null && product !== undefined,
    fulfillment_service: "manual",
    variant_inventory_management: li.variantId === null ? null : "shopify",
    requires_shipping: li.requiresShipping,
    taxable: m.taxRates.length > 0,
    gift_card: m.giftCard,
  };
}

const GRAMS_PER: Record<string, number> = {
  GRAMS: 1,
  KILOGRAMS: 1000,
  OUNCES: 28.349523125,
  POUNDS: 453.59237,
};

/** A variant's weight in whole grams, as REST line items carry it. */
function gramsOf(w: { value: number; unit: string } | null | undefined): number {
  return w ? Math.round(w.value * (GRAMS_PER[w.unit] ?? 1)) : 0;
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
      return { ...restLineItem(shop, o, li), quantity: fl.quantity };
    }),
  };
}

export function refundPayload(shop: Shop, r: Refund) {
  const o = shop.orders.get(r.orderId)!;
  const m = r.money;
  return {
    id: r.id,
    admin_graphql_api_id: gid("Refund", r.id),
    order_id: r.orderId,
    created_at: r.createdAt,
    processed_at: r.createdAt,
    note: r.note,
    restock: r.lineItems.some((l) => l.restocked),
    // No `return`: Shopify's REST Refund resource has none (GraphQL's Refund.return does).
    ...(shop.refundPayloadReturn && r.returnId
      ? { return: { id: r.returnId, admin_graphql_api_id: gid("Return", r.returnId) } }
      : {}),
    refund_line_items: r.lineItems.map((rl) => {
      const li = o.lineItems.find((x) => x.id === rl.lineItemId)!;
      const lm = m.lines.find((x) => x.lineItemId === rl.lineItemId) ?? { subtotalCents: 0, taxCents: 0 };
      return {
        id: rl.id,
        line_item_id: rl.lineItemId,
        quantity: rl.quantity,
        restock_type: rl.restockType.toLowerCase(),
        location_id: rl.locationId,
        subtotal: fmt(lm.subtotalCents),
        subtotal_set: restMoneySet(o, lm.subtotalCents),
        total_tax: fmt(lm.taxCents),
        total_tax_set: restMoneySet(o, lm.taxCents),
        line_item: restLineItem(shop, o, li),
      };
    }),
    refund_shipping_lines: m.shipping.map((s) => ({
      id: s.shippingLineId,
      shipping_line_id: s.shippingLineId,
      subtotal_amount_set: restMoneySet(o, s.cents),
      tax_amount_set: restMoneySet(o, s.taxCents),
    })),
    transactions: o.money.transactions
      .filter((t) => m.transactionIds.includes(t.id))
      .map((t) => transactionPayload(o, t)),
    order_adjustments: m.adjustments.map((a) => ({
      id: a.id,
      order_id: o.id,
      refund_id: r.id,
      kind: "refund_discrepancy",
      reason: a.reason,
      amount: fmt(-a.cents),
      amount_set: restMoneySet(o, -a.cents),
      tax_amount: fmt(-a.taxCents),
      tax_amount_set: restMoneySet(o, -a.taxCents),
    })),
  };
}

export function orderPayload(shop: Shop, o: Order) {
  const c = o.customerId ? shop.customers.get(o.customerId) : undefined;
  const company = o.companyId ? shop.companies.get(o.companyId) : undefined;
  const t = orderTotals(o);
  const p = orderTotals(o, true);
  const set = (k: keyof typeof t) => restMoneySet(o, t[k], p[k]);
  const m = o.money;
  const lines = pricedLines(o);
  const codes = m.applications.filter((a) => a.kind === "code");
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
    presentment_currency: m.presentmentCurrency,
    taxes_included: m.taxesIncluded,
    total_line_items_price: fmt(t.lineItems),
    total_line_items_price_set: set("lineItems"),
    subtotal_price: fmt(t.subtotal),
    subtotal_price_set: set("subtotal"),
    total_discounts: fmt(t.discounts),
    total_discounts_set: set("discounts"),
    total_shipping_price_set: set("shipping"),
    total_tax: fmt(t.tax),
    total_tax_set: set("tax"),
    original_total_duties_set: t.duties > 0 ? set("duties") : null,
    current_total_duties_set: t.duties > 0 ? set("duties") : null,
    total_price: fmt(t.total),
    total_price_set: set("total"),
    current_total_price: fmt(t.total),
    tax_lines: restTaxLines(o, orderTaxLines(lines, m.shippingLines)),
    discount_applications: m.applications.map((a) => ({
      type: a.kind === "code" ? "discount_code" : a.kind,
      value: a.value,
      value_type: a.valueType,
      allocation_method: a.allocationMethod,
      target_selection: "all",
      target_type: a.target,
      ...(a.kind === "code" ? { code: a.code } : { title: a.title, description: a.title }),
    })),
    discount_codes: codes.map((a) => ({
      code: a.code,
      type: a.valueType === "percentage" ? "percentage" : "fixed_amount",
      amount: fmt(
        [...lines.flatMap((l) => l.money.allocations), ...m.shippingLines.flatMap((s) => s.allocations)]
          .filter((x) => x.applicationIndex === a.index)
          .reduce((n, x) => n + x.cents, 0),
      ),
    })),
    shipping_lines: m.shippingLines.map((sl) => ({
      id: sl.id,
      title: sl.title,
      code: sl.code,
      source: sl.source,
      carrier_identifier: sl.carrierIdentifier,
      price: fmt(sl.cents),
      price_set: restMoneySet(o, sl.cents),
      discounted_price: fmt(sl.cents - sl.allocations.reduce((n, a) => n + a.cents, 0)),
      tax_lines: restTaxLines(o, sl.taxLines),
      discount_allocations: restAllocations(o, sl.allocations),
    })),
    payment_gateway_names: m.paymentGatewayNames,
    payment_terms: m.paymentTerms
      ? {
          id: m.paymentTerms.id,
          payment_terms_name: m.paymentTerms.name,
          payment_terms_type: m.paymentTerms.type.toLowerCase(),
          due_in_days: m.paymentTerms.dueInDays,
          payment_schedules: [
            {
              amount: fmt(m.paymentTerms.cents),
              currency: o.currency,
              issued_at: o.createdAt,
              due_at: m.paymentTerms.dueAt,
              completed_at: m.paymentTerms.completedAt,
            },
          ],
        }
      : null,
    note: o.note,
    note_attributes: m.noteAttributes,
    customer_locale: m.customerLocale,
    tags: o.tags.join(", "),
    test: o.test,
    // Only a point-of-sale order has a location; web orders carry none (Shopify's REST Order).
    location_id: o.sourceName === "pos" ? o.locationId : null,
    user_id: m.staffMember?.id ?? null,
    source_name: o.sourceName,
    line_items: o.lineItems.map((li) => restLineItem(shop, o, li)),
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
    company: company
      ? { id: company.id, location_id: m.companyLocation?.id ?? null, name: company.name }
      : null,
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
  /** Taxes charged on this line (rates as decimal fractions, "0.21"). */
  taxLines?: { title: string; rate: string | number }[];
  /** A gift card sold: no variant needed, issued rather than shipped. */
  giftCard?: boolean;
  /** Title of a gift-card line (or of a custom line). */
  title?: string;
  /** Custom line attributes (Shopify's `properties`). */
  properties?: { name: string; value: string }[];
  /** Import duty charged on this line. */
  duty?: { amount: string | number; harmonizedSystemCode?: string; countryCodeOfOrigin?: string };
}

export interface PaymentInput {
  /** "shopify_payments" (card), "gift_card", "shopify_store_credit", "manual", "bogus"… */
  gateway: string;
  /** Defaults to what is left to pay. */
  amount?: string | number;
  kind?: "sale" | "authorization";
  status?: "success" | "pending" | "failure";
}

export interface MoneyInput {
  taxesIncluded?: boolean;
  presentmentCurrency?: string;
  /** Shop → presentment currency rate (decimal string). */
  exchangeRate?: string;
  discounts?: DiscountInput[];
  shippingLines?: {
    title: string;
    code?: string;
    carrierIdentifier?: string;
    source?: string;
    price: string | number;
    taxLines?: { title: string; rate: string | number }[];
  }[];
  /** Payments at checkout; without, a paid order is paid by card for its total. */
  payments?: PaymentInput[];
  /** Pending payment terms (B2B net terms, bank transfer): nothing is paid at checkout. */
  paymentTerms?: { name?: string; type?: "NET" | "FIXED" | "RECEIPT" | "FULFILLMENT"; dueInDays?: number };
  /** POS staff member who rang the sale up. */
  staffMember?: { id?: number; name: string };
  /** B2B: the company's location that bought. */
  companyLocation?: { name: string };
  noteAttributes?: { name: string; value: string }[];
  customerLocale?: string;
}

export interface PlaceOrderInput extends MoneyInput {
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
  /** A pre-order or subscription: its fulfillment order is SCHEDULED until this moment. */
  fulfillAt?: string;
  /** Held at checkout (fraud check, awaiting payment …): its fulfillment order is ON_HOLD. */
  hold?: { reason?: string; reasonNotes?: string };
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

function lineMoney(store: Store, l: OrderLineInput): LineMoney {
  return {
    giftCard: l.giftCard ?? false,
    properties: (l.properties ?? []).map((p) => ({ name: String(p.name), value: String(p.value) })),
    taxRates: (l.taxLines ?? []).map((t) => ({ title: t.title, rate: rateString(t) })),
    taxLines: [],
    allocations: [],
    duty: l.duty
      ? {
          id: store.nextId(),
          cents: toCents(l.duty.amount, "duty amount"),
          harmonizedSystemCode: l.duty.harmonizedSystemCode ?? null,
          countryCodeOfOrigin: l.duty.countryCodeOfOrigin ?? null,
        }
      : null,
  };
}

/** A new line item for a variant, or a gift card (validated; not yet part of any order). */
function newLineItem(store: Store, shop: Shop, l: OrderLineInput): LineItem {
  if (!(l.quantity > 0) || !Number.isInteger(l.quantity))
    throw new ControlError("INVALID_QUANTITY", "Line item quantity must be a positive whole number");
  if (l.giftCard && l.variantId === undefined && l.sku === undefined) {
    if (l.price === undefined) throw new ControlError("INVALID_ORDER", "A gift-card line needs its price");
    return {
      id: store.nextId(),
      variantId: null,
      productId: null,
      sku: null,
      title: l.title ?? "Gift card",
      variantTitle: null,
      quantity: l.quantity,
      price: fmt(toCents(l.price, "price")),
      requiresShipping: false,
      // A gift card is issued at checkout: nothing to ship, nothing to commit.
      fulfilledQuantity: l.quantity,
      refundedQuantity: 0,
      removedQuantity: 0,
      refundedFulfilledQuantity: 0,
      money: lineMoney(store, l),
    };
  }
  const vid = toNumericId(l.variantId, "ProductVariant");
  const v =
    vid !== undefined
      ? shop.variants.get(vid)
      : [...shop.variants.values()].find((x) => l.sku && x.sku === l.sku);
  if (!v) throw new ControlError("VARIANT_NOT_FOUND", `No variant for ${l.variantId ?? l.sku}`);
  const p = shop.products.get(v.productId)!;
  return {
    id: store.nextId(),
    variantId: v.id,
    productId: p.id,
    sku: v.sku,
    title: l.title ?? p.title,
    variantTitle: variantTitle(v) === "Default Title" ? null : variantTitle(v),
    quantity: l.quantity,
    price: l.price !== undefined ? fmt(toCents(l.price, "price")) : v.price,
    requiresShipping: !l.giftCard,
    fulfilledQuantity: 0,
    refundedQuantity: 0,
    removedQuantity: 0,
    refundedFulfilledQuantity: 0,
    money: lineMoney(store, l),
  };
}

/** Discounts allocated, taxes computed: after placing, and after an edit adds lines. */
function reprice(o: Order, reallocate: boolean): void {
  const lines = pricedLines(o);
  if (reallocate) allocate(o.money.applications, lines, o.money.shippingLines);
  computeTaxes(lines, o.money.shippingLines, o.money.taxesIncluded);
}

function orderMoneyState(store: Store, shop: Shop, input: MoneyInput, at: string): OrderMoneyState {
  const rate = input.exchangeRate ?? "1";
  if (!/^\d+(\.\d+)?$/.test(rate) || Number(rate) === 0)
    throw new ControlError("INVALID_RATE", "exchangeRate must be a positive decimal");
  const terms = input.paymentTerms;
  return {
    presentmentCurrency: input.presentmentCurrency ?? shop.currency,
    rate: input.presentmentCurrency && input.presentmentCurrency !== shop.currency ? rate : "1",
    taxesIncluded: input.taxesIncluded ?? false,
    applications: discountApplications(input.discounts),
    shippingLines: (input.shippingLines ?? []).map((sl) => ({
      id: store.nextId(),
      title: sl.title,
      code: sl.code ?? sl.title,
      carrierIdentifier: sl.carrierIdentifier ?? null,
      source: sl.source ?? "shopify",
      cents: toCents(sl.price, "shipping price"),
      taxRates: (sl.taxLines ?? []).map((t) => ({ title: t.title, rate: rateString(t) })),
      taxLines: [],
      allocations: [],
    })),
    transactions: [],
    paymentGatewayNames: [],
    paymentTerms: terms
      ? {
          id: store.nextId(),
          name: terms.name ?? `Net ${terms.dueInDays ?? 30}`,
          type: terms.type ?? "NET",
          dueInDays: terms.dueInDays ?? 30,
          dueAt: isoSeconds(Date.parse(at) + (terms.dueInDays ?? 30) * 86_400_000),
          completedAt: null,
          cents: 0,
        }
      : null,
    staffMember: input.staffMember
      ? { id: input.staffMember.id ?? store.nextId(), name: input.staffMember.name }
      : null,
    companyLocation: null,
    noteAttributes: (input.noteAttributes ?? []).map((a) => ({
      name: String(a.name),
      value: String(a.value),
    })),
    customerLocale: input.customerLocale ?? null,
  };
}

/** What is left to pay: the total less successful sales and captures. */
export function outstanding(o: Order): Cents {
  const paid = o.money.transactions
    .filter((t) => t.status === "success" && (t.kind === "sale" || t.kind === "capture"))
    .reduce((n, t) => n + t.cents, 0);
  return orderTotals(o).total - paid;
}

/** Adds a transaction to the order and sends `order_transactions/create`. */
export function addTransaction(
  store: Store,
  shop: Shop,
  o: Order,
  t: {
    kind: TransactionKind;
    gateway: string;
    cents: Cents;
    status?: TransactionState["status"];
    parentId?: number | null;
    refundId?: number | null;
  },
): TransactionState {
  const tx: TransactionState = {
    id: store.nextId(),
    kind: t.kind,
    status: t.status ?? "success",
    gateway: t.gateway,
    cents: t.cents,
    authorization: t.gateway === "shopify_payments" ? `AUTH-${store.nextId()}` : null,
    parentId: t.parentId ?? null,
    refundId: t.refundId ?? null,
    processedAt: store.nowIso(),
  };
  o.money.transactions.push(tx);
  if (!o.money.paymentGatewayNames.includes(tx.gateway) && tx.kind !== "refund")
    o.money.paymentGatewayNames.push(tx.gateway);
  store.emit(shop, "order_transactions/create", transactionPayload(o, tx));
  return tx;
}

/** The financial status the order's transactions give it. */
function financialFromTransactions(o: Order): FinancialStatus {
  const ok = o.money.transactions.filter((t) => t.status === "success");
  const paid = ok.filter((t) => t.kind === "sale" || t.kind === "capture").reduce((n, t) => n + t.cents, 0);
  const authorized = ok.filter((t) => t.kind === "authorization").reduce((n, t) => n + t.cents, 0);
  const refunded = ok.filter((t) => t.kind === "refund").reduce((n, t) => n + t.cents, 0);
  const total = orderTotals(o).total;
  if (refunded > 0) return refunded >= paid ? "refunded" : "partially_refunded";
  if (paid >= total && total >= 0 && (paid > 0 || total === 0)) return "paid";
  if (paid > 0) return "partially_paid";
  if (authorized > 0) return "authorized";
  return "pending";
}

/** Checkout payments; a pending order (terms, bank transfer) pays nothing now. */
function payAtCheckout(store: Store, shop: Shop, o: Order, input: PlaceOrderInput): void {
  const total = orderTotals(o).total;
  if (o.money.paymentTerms) {
    o.money.paymentTerms.cents = total;
    if (!input.payments?.length) return;
  }
  const payments =
    input.payments ??
    (input.financialStatus === undefined || input.financialStatus === "paid"
      ? [{ gateway: "shopify_payments" }]
      : input.financialStatus === "authorized"
        ? [{ gateway: "shopify_payments", kind: "authorization" as const }]
        : []);
  for (const p of payments) {
    const left = Math.max(0, outstanding(o));
    const cents = p.amount === undefined ? left : toCents(p.amount, "payment amount");
    if (cents <= 0 && p.amount === undefined) continue;
    addTransaction(store, shop, o, { kind: p.kind ?? "sale", gateway: p.gateway, cents, status: p.status });
  }
  if (input.payments !== undefined || input.financialStatus === undefined)
    o.financialStatus = financialFromTransactions(o);
}

/** A payment recorded later (bank transfer arrived, net terms settled, authorization captured). */
export function recordPayment(
  store: Store,
  shop: Shop,
  o: Order,
  input: { gateway?: string; amount?: string | number; kind?: "sale" | "capture" },
): Order {
  if (o.cancelledAt) throw new ControlError("ORDER_CANCELLED", "A cancelled order can't be paid");
  const left = outstanding(o);
  const cents = input.amount === undefined ? left : toCents(input.amount, "amount");
  if (cents <= 0 || cents > left)
    throw new ControlError("INVALID_PAYMENT", `The order has ${fmt(left)} outstanding, ${fmt(cents)} asked`);
  const wasPaid = o.financialStatus === "paid";
  const auth = o.money.transactions.find((t) => t.kind === "authorization" && t.status === "success");
  const kind = input.kind ?? (auth ? "capture" : "sale");
  addTransaction(store, shop, o, {
    kind,
    gateway: input.gateway ?? auth?.gateway ?? "manual",
    cents,
    parentId: kind === "capture" ? (auth?.id ?? null) : null,
  });
  o.financialStatus = financialFromTransactions(o);
  if (o.money.paymentTerms && o.financialStatus === "paid") o.money.paymentTerms.completedAt = store.nowIso();
  o.updatedAt = store.nowIso();
  if (!wasPaid && o.financialStatus === "paid") store.emit(shop, "orders/paid", orderPayload(shop, o));
  store.emit(shop, "orders/updated", orderPayload(shop, o));
  return o;
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
  const money = orderMoneyState(store, shop, input, at);
  if (input.company)
    money.companyLocation = { id: store.nextId(), name: input.companyLocation?.name ?? input.company.name };
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
    financialStatus: input.financialStatus ?? (input.paymentTerms ? "pending" : "paid"),
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
    sourceName: input.sourceName ?? (input.fulfilled || input.staffMember ? "pos" : "web"),
    money,
  };
  reprice(order, true);
  shop.orders.set(order.id, order);
  payAtCheckout(store, shop, order, input);
  const events = new LevelEvents(store, shop);
  const shipped = lines.filter((li) => !li.money.giftCard);
  for (const li of shipped) commit(events, shop, li, locationId, li.quantity, at);
  const fo = newFulfillmentOrder(store, shop, order, locationId, at);
  for (const li of shipped) addToFulfillmentOrder(store, fo, li.id, li.quantity, at);
  if (input.fulfillAt !== undefined && !input.fulfilled) scheduleFulfillmentOrder(fo, input.fulfillAt);
  let fulfillment: Fulfillment | undefined;
  if (input.fulfilled && shipped.length > 0) {
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
  if (input.hold && !input.fulfilled && shipped.length > 0)
    holdFulfillmentOrder(store, shop, fo.id, input.hold);
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
export interface RefundMoneyInput {
  /** Shipping refunded: `full` gives back every shipping line with its tax, or an amount. */
  shipping?: { full?: boolean; amount?: string | number };
  /** Order-level adjustments (a goodwill amount, a restocking fee as a negative). */
  adjustments?: { amount: string | number; reason?: string }[];
  /** Where the money goes; default: back to the order's payments, gift card first used last. */
  transactions?: { gateway: string; amount: string | number }[];
}

export function createRefund(
  store: Store,
  shop: Shop,
  o: Order,
  lines: RefundLineInput[],
  note: string | null,
  moneyInput: RefundMoneyInput = {},
  returnId: number | null = null,
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
  const refund: Refund = {
    id: store.nextId(),
    orderId: o.id,
    note,
    lineItems: [],
    createdAt: at,
    money: { lines: [], shipping: [], adjustments: [], transactionIds: [] },
    returnId,
  };
  const priced = pricedLines(o);
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
    const share = refundOfLine(priced[o.lineItems.indexOf(li)]!, l.quantity);
    refund.money.lines.push({ lineItemId: li.id, ...share });
    refund.lineItems.push({
      id: store.nextId(),
      lineItemId: li.id,
      quantity: l.quantity,
      restockType: type,
      locationId,
      restocked,
    });
  }
  refundMoney(store, shop, o, refund, moneyInput);
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

/** Shipping and adjustments of a refund, and the transactions paying it out. */
function refundMoney(store: Store, shop: Shop, o: Order, refund: Refund, input: RefundMoneyInput): void {
  const m = refund.money;
  const inc = o.money.taxesIncluded;
  if (input.shipping?.full) {
    for (const sl of o.money.shippingLines) {
      const net = sl.cents - sl.allocations.reduce((n, a) => n + a.cents, 0);
      m.shipping.push({
        shippingLineId: sl.id,
        cents: net,
        taxCents: sl.taxLines.reduce((n, t) => n + t.cents, 0),
      });
    }
  } else if (input.shipping?.amount !== undefined && o.money.shippingLines[0]) {
    m.shipping.push({
      shippingLineId: o.money.shippingLines[0].id,
      cents: toCents(input.shipping.amount, "shipping refund"),
      taxCents: 0,
    });
  }
  for (const a of input.adjustments ?? [])
    m.adjustments.push({
      id: store.nextId(),
      cents: toCents(a.amount, "adjustment"),
      taxCents: 0,
      reason: a.reason ?? "refund_discrepancy",
    });
  const due =
    m.lines.reduce((n, l) => n + l.subtotalCents + (inc ? 0 : l.taxCents), 0) +
    m.shipping.reduce((n, s) => n + s.cents + (inc ? 0 : s.taxCents), 0) +
    m.adjustments.reduce((n, a) => n + a.cents, 0);
  const paidOut = (gateway: string, cents: Cents, parentId: number | null) => {
    if (cents <= 0) return;
    const tx = addTransaction(store, shop, o, {
      kind: "refund",
      gateway,
      cents,
      parentId,
      refundId: refund.id,
    });
    m.transactionIds.push(tx.id);
  };
  if (input.transactions) {
    for (const t of input.transactions) paidOut(t.gateway, toCents(t.amount, "refund amount"), null);
    return;
  }
  // Back to the payments: card first, gift card and store credit last, each up to what it paid.
  const sales = o.money.transactions
    .filter((t) => t.status === "success" && (t.kind === "sale" || t.kind === "capture"))
    .sort((a, b) => Number(a.gateway !== "shopify_payments") - Number(b.gateway !== "shopify_payments"));
  let left = due;
  for (const sale of sales) {
    const already = o.money.transactions
      .filter((t) => t.kind === "refund" && t.parentId === sale.id)
      .reduce((n, t) => n + t.cents, 0);
    const take = Math.min(left, sale.cents - already);
    paidOut(sale.gateway, take, sale.id);
    left -= Math.max(0, take);
  }
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
  if (added.length > 0 || changes.some((c) => c.delta > 0)) reprice(o, false);
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
