// Orders, line items, fulfillment orders, fulfillments, refunds, customers and companies, and the
// mutations the hub sends on the order side: fulfillmentCreate, fulfillmentCancel,
// fulfillmentTrackingInfoUpdate, tagsAdd/tagsRemove and refundCreate.
import { gid, gidType, parseGid } from "../gid.ts";
import {
  cancelFulfillment,
  createRefund,
  currentQuantity,
  displayFulfillmentStatus,
  fulfill,
  fulfillableQuantity,
  fulfillmentPayload,
  orderStatus,
  orderTotal,
  restFulfillmentStatus,
  touchOrder,
} from "../orders.ts";
import { matches, parseSearch } from "../search.ts";
import type {
  Company,
  Customer,
  Fulfillment,
  FulfillmentHold,
  FulfillmentOrder,
  FulfillmentOrderLine,
  LineItem,
  Order,
  Refund,
  RestockType,
  Shop,
  TrackingInfo,
} from "../state.ts";
import { variantTitle } from "../state.ts";
import {
  type Ctx,
  connection,
  gqlError,
  moneyBag,
  type PageArgs,
  type ResolverMap,
  sortKey,
  tag,
  userError,
} from "./kit.ts";
import { addressFields } from "./shop.ts";

const ORDER_SEARCH = new Set([
  "status",
  "financial_status",
  "fulfillment_status",
  "updated_at",
  "created_at",
  "processed_at",
  "name",
  "email",
  "tag",
  "id",
  "sku",
  "location_id",
  "test",
  "customer_id",
]);

const FULFILLMENT_SEARCH: Record<string, string[]> = {
  UNFULFILLED: ["unshipped", "unfulfilled"],
  PARTIALLY_FULFILLED: ["partial", "unfulfilled"],
  FULFILLED: ["shipped", "fulfilled"],
  ON_HOLD: ["on_hold", "unshipped", "unfulfilled"],
  SCHEDULED: ["scheduled", "unshipped", "unfulfilled"],
  IN_PROGRESS: ["in_progress", "unshipped", "unfulfilled"],
  REQUEST_DECLINED: ["request_declined", "unshipped", "unfulfilled"],
  FULFILLMENT_NOT_REQUIRED: ["fulfillment_not_required"],
};

function orderFields(o: Order, shop: Shop) {
  return {
    status: [orderStatus(o), "any"],
    financial_status: [o.financialStatus, "any"],
    fulfillment_status: [
      ...(FULFILLMENT_SEARCH[displayFulfillmentStatus(o, shop)] ?? []),
      ...(restFulfillmentStatus(o) === "restocked" ? ["restocked"] : []),
      "any",
    ],
    updated_at: o.updatedAt,
    created_at: o.createdAt,
    processed_at: o.processedAt,
    name: [o.name, o.name.replace(/^#/, "")],
    email: o.email,
    tag: o.tags,
    id: String(o.id),
    sku: o.lineItems.map((l) => l.sku ?? ""),
    location_id: String(o.locationId),
    test: String(o.test),
    customer_id: o.customerId === null ? null : String(o.customerId),
  };
}

/** Without `read_all_orders`, Shopify only shows orders from the last 60 days. */
export const RECENT_ORDERS_MS = 60 * 24 * 3600 * 1000;

function visible(ctx: Ctx, o: Order): boolean {
  if (ctx.scopes.has("read_all_orders")) return true;
  return Date.parse(o.createdAt) >= ctx.store.clock.now() - RECENT_ORDERS_MS;
}

function ordersOf(
  ctx: Ctx,
  args: PageArgs & { query?: string | null; sortKey?: string | null },
  only?: (o: Order) => boolean,
) {
  const q = parseSearch(args.query);
  const list = [...ctx.shop.orders.values()].filter(
    (o) =>
      visible(ctx, o) &&
      (!only || only(o)) &&
      matches(q, orderFields(o, ctx.shop), [o.name, o.email ?? ""], ORDER_SEARCH),
  );
  const key: (o: Order) => string | number =
    args.sortKey === "UPDATED_AT"
      ? (o) => sortKey(o.updatedAt, o.id)
      : args.sortKey === "CREATED_AT"
        ? (o) => sortKey(o.createdAt, o.id)
        : args.sortKey === "PROCESSED_AT"
          ? (o) => sortKey(o.processedAt, o.id)
          : args.sortKey === "ORDER_NUMBER"
            ? (o) => o.number
            : (o) => o.id;
  return connection(list, args, ctx, key);
}

function byGid<T>(map: Map<number, T>, id: string, type: string): T | null {
  const n = parseGid(id, type);
  return n === undefined ? null : (map.get(n) ?? null);
}

const FINANCIAL: Record<string, string> = {
  pending: "PENDING",
  authorized: "AUTHORIZED",
  partially_paid: "PARTIALLY_PAID",
  paid: "PAID",
  partially_refunded: "PARTIALLY_REFUNDED",
  refunded: "REFUNDED",
  voided: "VOIDED",
  expired: "EXPIRED",
};

function supportedActions(fo: FulfillmentOrder): { action: string }[] {
  if (fo.status === "ON_HOLD") return [{ action: "RELEASE_HOLD" }];
  if (fo.status === "SCHEDULED") return [{ action: "MARK_AS_OPEN" }];
  if (fo.status === "OPEN")
    return ["CREATE_FULFILLMENT", "REPORT_PROGRESS", "MOVE", "HOLD", "SPLIT"].map((action) => ({ action }));
  if (fo.status === "IN_PROGRESS")
    return ["CREATE_FULFILLMENT", "MARK_AS_OPEN", "HOLD"].map((action) => ({ action }));
  return [];
}

interface LineRef {
  order: Order;
  li: LineItem;
}

function lineRef(order: Order, li: LineItem): LineRef {
  return tag({ order, li }, "LineItem");
}

function foLineRef(fo: FulfillmentOrder, line: FulfillmentOrderLine) {
  return tag({ fo, line }, "FulfillmentOrderLineItem");
}

interface FulfillmentCreateArgs {
  fulfillment: {
    lineItemsByFulfillmentOrder: {
      fulfillmentOrderId: string;
      fulfillmentOrderLineItems?: { id: string; quantity: number }[] | null;
    }[];
    trackingInfo?: {
      company?: string | null;
      number?: string | null;
      numbers?: string[] | null;
      url?: string | null;
      urls?: string[] | null;
    } | null;
    notifyCustomer?: boolean | null;
  };
}

function tracking(t: FulfillmentCreateArgs["fulfillment"]["trackingInfo"]): TrackingInfo[] {
  if (!t) return [];
  const numbers = t.numbers?.length ? t.numbers : t.number ? [t.number] : [];
  const urls = t.urls?.length ? t.urls : t.url ? [t.url] : [];
  if (numbers.length === 0)
    return t.company || urls.length
      ? [{ company: t.company ?? null, number: null, url: urls[0] ?? null }]
      : [];
  return numbers.map((n, i) => ({ company: t.company ?? null, number: n, url: urls[i] ?? urls[0] ?? null }));
}

function fulfillmentCreate(ctx: Ctx, args: FulfillmentCreateArgs) {
  const groups = args.fulfillment.lineItemsByFulfillmentOrder.map((g) => ({
    fulfillmentOrderId: parseGid(g.fulfillmentOrderId, "FulfillmentOrder") ?? -1,
    lines: g.fulfillmentOrderLineItems
      ? g.fulfillmentOrderLineItems.map((l) => ({
          id: parseGid(l.id, "FulfillmentOrderLineItem") ?? -1,
          quantity: l.quantity,
        }))
      : null,
  }));
  const r = fulfill(ctx.store, ctx.shop, {
    lineItemsByFulfillmentOrder: groups,
    tracking: tracking(args.fulfillment.trackingInfo),
    notifyCustomer: args.fulfillment.notifyCustomer ?? false,
  });
  if (!r.ok) return { fulfillment: null, userErrors: r.errors.map((e) => userError(e.message, e.field)) };
  return { fulfillment: r.fulfillment, userErrors: [] };
}

function tagsChange(ctx: Ctx, args: { id: string; tags: string[] }, add: boolean) {
  const type = gidType(args.id);
  const n = type ? parseGid(args.id, type) : undefined;
  const normalized = args.tags
    .flatMap((t) => t.split(","))
    .map((t) => t.trim())
    .filter(Boolean);
  const apply = (tags: string[]) =>
    add
      ? [...tags, ...normalized.filter((t) => !tags.includes(t))]
      : tags.filter((t) => !normalized.includes(t));
  if (type === "Order" && n !== undefined && ctx.shop.orders.has(n)) {
    const o = ctx.shop.orders.get(n)!;
    o.tags = apply(o.tags);
    touchOrder(ctx.store, ctx.shop, o);
    return { node: tag(o, "Order"), userErrors: [] };
  }
  if (type === "Product" && n !== undefined && ctx.shop.products.has(n)) {
    const p = ctx.shop.products.get(n)!;
    p.tags = apply(p.tags);
    p.updatedAt = ctx.now;
    return { node: tag(p, "Product"), userErrors: [] };
  }
  if (type === "Customer" && n !== undefined && ctx.shop.customers.has(n)) {
    const c = ctx.shop.customers.get(n)!;
    c.tags = apply(c.tags);
    c.updatedAt = ctx.now;
    return { node: tag(c, "Customer"), userErrors: [] };
  }
  return { node: null, userErrors: [userError("Resource does not exist", ["id"])] };
}

interface RefundArgs {
  input: {
    orderId: string;
    note?: string | null;
    refundLineItems?:
      | {
          lineItemId: string;
          quantity: number;
          restockType?: RestockType | null;
          locationId?: string | null;
        }[]
      | null;
  };
}

function refundCreate(ctx: Ctx, args: RefundArgs) {
  const o = byGid(ctx.shop.orders, args.input.orderId, "Order");
  if (!o) return { refund: null, order: null, userErrors: [userError("Order does not exist", ["orderId"])] };
  const lines = (args.input.refundLineItems ?? []).map((l) => ({
    lineItemId: parseGid(l.lineItemId, "LineItem") ?? -1,
    quantity: l.quantity,
    restockType: l.restockType ?? "NO_RESTOCK",
    locationId: l.locationId ? (parseGid(l.locationId, "Location") ?? -1) : null,
  }));
  const r = createRefund(ctx.store, ctx.shop, o, lines, args.input.note ?? null);
  if (!r.ok)
    return { refund: null, order: o, userErrors: r.errors.map((e) => userError(e.message, e.field)) };
  return { refund: r.refund, order: o, userErrors: [] };
}

function money(ctx: Ctx, n: number | string) {
  return moneyBag(typeof n === "number" ? n.toFixed(2) : n, ctx.shop.currency);
}

export const orderResolvers: ResolverMap = {
  QueryRoot: {
    orders: (_s, args, ctx) => ordersOf(ctx, args),
    order: (_s, args: { id: string }, ctx) => {
      const o = byGid(ctx.shop.orders, args.id, "Order");
      return o && visible(ctx, o) ? o : null;
    },
    fulfillmentOrder: (_s, args: { id: string }, ctx) =>
      byGid(ctx.shop.fulfillmentOrders, args.id, "FulfillmentOrder"),
    fulfillment: (_s, args: { id: string }, ctx) => byGid(ctx.shop.fulfillments, args.id, "Fulfillment"),
    refund: (_s, args: { id: string }, ctx) => byGid(ctx.shop.refunds, args.id, "Refund"),
    customers: (_s, args: PageArgs & { query?: string | null }, ctx) => {
      const q = parseSearch(args.query);
      const known = new Set([
        "email",
        "id",
        "first_name",
        "last_name",
        "phone",
        "tag",
        "updated_at",
        "created_at",
      ]);
      const list = [...ctx.shop.customers.values()].filter((c) =>
        matches(
          q,
          {
            email: c.email,
            id: String(c.id),
            first_name: c.firstName,
            last_name: c.lastName,
            phone: c.phone,
            tag: c.tags,
            updated_at: c.updatedAt,
            created_at: c.createdAt,
          },
          [c.email ?? "", c.firstName ?? "", c.lastName ?? ""],
          known,
        ),
      );
      return connection(list, args, ctx, (c) => c.id);
    },
    customer: (_s, args: { id: string }, ctx) => byGid(ctx.shop.customers, args.id, "Customer"),
    companies: (_s, args: PageArgs & { query?: string | null }, ctx) => {
      const q = parseSearch(args.query);
      const list = [...ctx.shop.companies.values()].filter((c) =>
        matches(
          q,
          { name: c.name, external_id: c.externalId, id: String(c.id) },
          [c.name],
          new Set(["name", "external_id", "id"]),
        ),
      );
      return connection(list, args, ctx, (c) => c.id);
    },
    company: (_s, args: { id: string }, ctx) => byGid(ctx.shop.companies, args.id, "Company"),
  },
  Mutation: {
    fulfillmentCreate: (_s, args, ctx) => fulfillmentCreate(ctx, args),
    fulfillmentTrackingInfoUpdate: (
      _s,
      args: {
        fulfillmentId: string;
        trackingInfoInput: FulfillmentCreateArgs["fulfillment"]["trackingInfo"];
        notifyCustomer?: boolean | null;
      },
      ctx,
    ) => {
      const f = byGid(ctx.shop.fulfillments, args.fulfillmentId, "Fulfillment");
      if (!f)
        return {
          fulfillment: null,
          userErrors: [userError("Fulfillment does not exist.", ["fulfillmentId"])],
        };
      f.tracking = tracking(args.trackingInfoInput);
      f.updatedAt = ctx.now;
      ctx.store.emit(ctx.shop, "fulfillments/update", fulfillmentPayload(ctx.shop, f));
      return { fulfillment: f, userErrors: [] };
    },
    fulfillmentCancel: (_s, args: { id: string }, ctx) => {
      const f = byGid(ctx.shop.fulfillments, args.id, "Fulfillment");
      if (!f) return { fulfillment: null, userErrors: [userError("Fulfillment does not exist.", ["id"])] };
      const r = cancelFulfillment(ctx.store, ctx.shop, f);
      if (!r.ok) return { fulfillment: f, userErrors: r.errors.map((e) => userError(e.message, e.field)) };
      return { fulfillment: r.fulfillment, userErrors: [] };
    },
    tagsAdd: (_s, args, ctx) => tagsChange(ctx, args, true),
    tagsRemove: (_s, args, ctx) => tagsChange(ctx, args, false),
    refundCreate: (_s, args: RefundArgs, ctx) => refundCreate(ctx, args),
  },
  FulfillmentCreatePayload: { fulfillment: (p) => p.fulfillment, userErrors: (p) => p.userErrors },
  FulfillmentTrackingInfoUpdatePayload: {
    fulfillment: (p) => p.fulfillment,
    userErrors: (p) => p.userErrors,
  },
  FulfillmentCancelPayload: { fulfillment: (p) => p.fulfillment, userErrors: (p) => p.userErrors },
  TagsAddPayload: { node: (p) => p.node, userErrors: (p) => p.userErrors },
  TagsRemovePayload: { node: (p) => p.node, userErrors: (p) => p.userErrors },
  RefundCreatePayload: {
    refund: (p) => p.refund,
    order: (p) => p.order ?? null,
    userErrors: (p) => p.userErrors,
  },
  Order: {
    id: (o: Order) => gid("Order", o.id),
    legacyResourceId: (o: Order) => String(o.id),
    name: (o: Order) => o.name,
    number: (o: Order) => o.number - 1000,
    email: (o: Order) => o.email,
    phone: (o: Order) => o.phone,
    note: (o: Order) => o.note,
    tags: (o: Order) => o.tags,
    test: (o: Order) => o.test,
    confirmed: () => true,
    closed: (o: Order) => o.closedAt !== null,
    closedAt: (o: Order) => o.closedAt,
    cancelledAt: (o: Order) => o.cancelledAt,
    cancelReason: (o: Order) => (o.cancelReason ? o.cancelReason.toUpperCase() : null),
    createdAt: (o: Order) => o.createdAt,
    updatedAt: (o: Order) => o.updatedAt,
    processedAt: (o: Order) => o.processedAt,
    currencyCode: (o: Order) => o.currency,
    presentmentCurrencyCode: (o: Order) => o.currency,
    displayFinancialStatus: (o: Order) => FINANCIAL[o.financialStatus] ?? null,
    displayFulfillmentStatus: (o: Order, _a, ctx) => displayFulfillmentStatus(o, ctx.shop),
    fullyPaid: (o: Order) => o.financialStatus === "paid",
    unpaid: (o: Order) => o.financialStatus === "pending" || o.financialStatus === "authorized",
    fulfillable: (o: Order) => !o.cancelledAt && o.lineItems.some((l) => fulfillableQuantity(l) > 0),
    requiresShipping: (o: Order) => o.lineItems.some((l) => l.requiresShipping),
    sourceName: (o: Order) => o.sourceName,
    subtotalLineItemsQuantity: (o: Order) => o.lineItems.reduce((n, l) => n + l.quantity, 0),
    currentSubtotalLineItemsQuantity: (o: Order) => o.lineItems.reduce((n, l) => n + currentQuantity(l), 0),
    totalPriceSet: (o: Order, _a, ctx) => money(ctx, orderTotal(o)),
    subtotalPriceSet: (o: Order, _a, ctx) => money(ctx, orderTotal(o)),
    currentTotalPriceSet: (o: Order, _a, ctx) =>
      money(
        ctx,
        o.lineItems.reduce((n, l) => n + Number(l.price) * currentQuantity(l), 0),
      ),
    totalTaxSet: (_o: Order, _a, ctx) => money(ctx, 0),
    totalShippingPriceSet: (_o: Order, _a, ctx) => money(ctx, 0),
    totalDiscountsSet: (_o: Order, _a, ctx) => money(ctx, 0),
    customer: (o: Order, _a, ctx) =>
      o.customerId === null ? null : (ctx.shop.customers.get(o.customerId) ?? null),
    purchasingEntity: (o: Order, _a, ctx) => {
      if (o.companyId !== null) {
        const company = ctx.shop.companies.get(o.companyId);
        if (company) return tag({ company }, "PurchasingCompany");
      }
      const c = o.customerId === null ? undefined : ctx.shop.customers.get(o.customerId);
      return c ? tag(c, "Customer") : null;
    },
    billingAddress: (o: Order) => addressFields(o.billingAddress),
    shippingAddress: (o: Order) => addressFields(o.shippingAddress),
    physicalLocation: () => null,
    // The location the order was placed at (POS), as the REST payload's location_id.
    // Only point-of-sale orders have one; web orders answer null (as on Shopify).
    retailLocation: (o: Order, _a, ctx) =>
      o.sourceName === "pos" ? (ctx.shop.locations.get(o.locationId) ?? null) : null,
    lineItems: (o: Order, args: PageArgs, ctx) =>
      connection(
        o.lineItems.map((li) => lineRef(o, li)),
        args,
        ctx,
        (r) => r.li.id,
      ),
    fulfillmentOrders: (o: Order, args: PageArgs, ctx) =>
      connection(
        [...ctx.shop.fulfillmentOrders.values()].filter((fo) => fo.orderId === o.id),
        args,
        ctx,
        (fo) => fo.id,
      ),
    fulfillments: (o: Order, args: { first?: number | null }, ctx) =>
      [...ctx.shop.fulfillments.values()].filter((f) => f.orderId === o.id).slice(0, args.first ?? undefined),
    refunds: (o: Order, args: { first?: number | null }, ctx) =>
      [...ctx.shop.refunds.values()].filter((r) => r.orderId === o.id).slice(0, args.first ?? undefined),
  },
  PurchasingCompany: {
    company: (p: { company: Company }) => p.company,
    contact: () => null,
    location: () => {
      throw gqlError(
        "Tillbridge emulator: field PurchasingCompany.location is not implemented",
        "NOT_IMPLEMENTED",
      );
    },
  },
  MailingAddress: {
    ...Object.fromEntries(
      [
        "address1",
        "address2",
        "city",
        "company",
        "country",
        "countryCode",
        "firstName",
        "lastName",
        "name",
        "phone",
        "province",
        "provinceCode",
        "zip",
        "formatted",
      ].map((k) => [k, (a: Record<string, unknown>) => a[k] ?? null]),
    ),
    countryCodeV2: (a: Record<string, unknown>) => a["countryCode"] ?? null,
    id: () => gid("MailingAddress", 1),
  },
  LineItem: {
    id: (r: LineRef) => gid("LineItem", r.li.id),
    sku: (r: LineRef) => r.li.sku,
    title: (r: LineRef) => r.li.title,
    name: (r: LineRef) => (r.li.variantTitle ? `${r.li.title} - ${r.li.variantTitle}` : r.li.title),
    variantTitle: (r: LineRef) => r.li.variantTitle,
    quantity: (r: LineRef) => r.li.quantity,
    currentQuantity: (r: LineRef) => currentQuantity(r.li),
    fulfillableQuantity: (r: LineRef) => fulfillableQuantity(r.li),
    unfulfilledQuantity: (r: LineRef) => fulfillableQuantity(r.li),
    nonFulfillableQuantity: (r: LineRef) => r.li.removedQuantity,
    refundableQuantity: (r: LineRef) => r.li.quantity - r.li.refundedQuantity,
    fulfillmentStatus: (r: LineRef) =>
      r.li.fulfilledQuantity === 0
        ? "unfulfilled"
        : fulfillableQuantity(r.li) === 0
          ? "fulfilled"
          : "partial",
    requiresShipping: (r: LineRef) => r.li.requiresShipping,
    restockable: () => true,
    taxable: () => true,
    isGiftCard: () => false,
    customAttributes: () => [],
    vendor: (r: LineRef, _a, ctx) =>
      r.li.productId === null ? null : (ctx.shop.products.get(r.li.productId)?.vendor ?? null),
    variant: (r: LineRef, _a, ctx) =>
      r.li.variantId === null ? null : (ctx.shop.variants.get(r.li.variantId) ?? null),
    product: (r: LineRef, _a, ctx) =>
      r.li.productId === null ? null : (ctx.shop.products.get(r.li.productId) ?? null),
    originalUnitPriceSet: (r: LineRef, _a, ctx) => money(ctx, r.li.price),
    discountedUnitPriceSet: (r: LineRef, _a, ctx) => money(ctx, r.li.price),
    originalTotalSet: (r: LineRef, _a, ctx) => money(ctx, Number(r.li.price) * r.li.quantity),
    discountedTotalSet: (r: LineRef, _a, ctx) => money(ctx, Number(r.li.price) * r.li.quantity),
  },
  FulfillmentHold: {
    id: (h: FulfillmentHold) => gid("FulfillmentHold", h.id),
    reason: (h: FulfillmentHold) => h.reason,
    reasonNotes: (h: FulfillmentHold) => h.reasonNotes,
    displayReason: (h: FulfillmentHold) =>
      h.reason.charAt(0) + h.reason.slice(1).toLowerCase().replace(/_/g, " "),
    heldByRequestingApp: () => false,
    handle: () => null,
  },
  FulfillmentOrder: {
    id: (fo: FulfillmentOrder) => gid("FulfillmentOrder", fo.id),
    status: (fo: FulfillmentOrder) => fo.status,
    requestStatus: (fo: FulfillmentOrder) => fo.requestStatus ?? "UNSUBMITTED",
    orderId: (fo: FulfillmentOrder) => gid("Order", fo.orderId),
    orderName: (fo: FulfillmentOrder, _a, ctx) => ctx.shop.orders.get(fo.orderId)?.name ?? "",
    order: (fo: FulfillmentOrder, _a, ctx) => ctx.shop.orders.get(fo.orderId) ?? null,
    createdAt: (fo: FulfillmentOrder) => fo.createdAt,
    updatedAt: (fo: FulfillmentOrder) => fo.updatedAt,
    fulfillAt: (fo: FulfillmentOrder) => fo.fulfillAt ?? null,
    fulfillBy: () => null,
    fulfillmentHolds: (fo: FulfillmentOrder) => (fo.holds ?? []).map((h) => tag(h, "FulfillmentHold")),
    supportedActions: (fo: FulfillmentOrder) => supportedActions(fo),
    assignedLocation: (fo: FulfillmentOrder, _a, ctx) => {
      const l = ctx.shop.locations.get(fo.locationId);
      return {
        name: l?.name ?? "",
        location: l ?? null,
        address1: l?.address.address1 ?? null,
        address2: l?.address.address2 ?? null,
        city: l?.address.city ?? null,
        province: l?.address.province ?? null,
        zip: l?.address.zip ?? null,
        phone: l?.address.phone ?? null,
        countryCode: l?.address.countryCode ?? "US",
      };
    },
    lineItems: (fo: FulfillmentOrder, args: PageArgs, ctx) =>
      connection(
        fo.lineItems.filter((l) => l.totalQuantity > 0).map((l) => foLineRef(fo, l)),
        args,
        ctx,
        (r) => r.line.id,
      ),
    fulfillments: (fo: FulfillmentOrder, args: PageArgs, ctx) =>
      connection(
        [...ctx.shop.fulfillments.values()].filter((f) => f.fulfillmentOrderIds.includes(fo.id)),
        args,
        ctx,
        (f) => f.id,
      ),
  },
  FulfillmentOrderAssignedLocation: {
    ...Object.fromEntries(
      ["name", "location", "address1", "address2", "city", "province", "zip", "phone", "countryCode"].map(
        (k) => [k, (a: Record<string, unknown>) => a[k] ?? null],
      ),
    ),
  },
  FulfillmentOrderSupportedAction: { action: (a) => a.action, externalUrl: () => null },
  FulfillmentOrderLineItem: {
    id: (r: { line: FulfillmentOrderLine }) => gid("FulfillmentOrderLineItem", r.line.id),
    remainingQuantity: (r: { line: FulfillmentOrderLine }) => r.line.remainingQuantity,
    totalQuantity: (r: { line: FulfillmentOrderLine }) => r.line.totalQuantity,
    lineItem: (r: { fo: FulfillmentOrder; line: FulfillmentOrderLine }, _a, ctx) => {
      const o = ctx.shop.orders.get(r.fo.orderId)!;
      return lineRef(o, o.lineItems.find((li) => li.id === r.line.lineItemId)!);
    },
    sku: (r: { fo: FulfillmentOrder; line: FulfillmentOrderLine }, _a, ctx) =>
      ctx.shop.orders.get(r.fo.orderId)?.lineItems.find((li) => li.id === r.line.lineItemId)?.sku ?? null,
    variant: (r: { fo: FulfillmentOrder; line: FulfillmentOrderLine }, _a, ctx) => {
      const li = ctx.shop.orders.get(r.fo.orderId)?.lineItems.find((x) => x.id === r.line.lineItemId);
      return li?.variantId == null ? null : (ctx.shop.variants.get(li.variantId) ?? null);
    },
    inventoryItemId: (r: { fo: FulfillmentOrder; line: FulfillmentOrderLine }, _a, ctx) => {
      const li = ctx.shop.orders.get(r.fo.orderId)?.lineItems.find((x) => x.id === r.line.lineItemId);
      const v = li?.variantId == null ? undefined : ctx.shop.variants.get(li.variantId);
      return v ? gid("InventoryItem", v.inventoryItemId) : null;
    },
    productTitle: (r: { fo: FulfillmentOrder; line: FulfillmentOrderLine }, _a, ctx) =>
      ctx.shop.orders.get(r.fo.orderId)?.lineItems.find((x) => x.id === r.line.lineItemId)?.title ?? "",
    variantTitle: (r: { fo: FulfillmentOrder; line: FulfillmentOrderLine }, _a, ctx) => {
      const li = ctx.shop.orders.get(r.fo.orderId)?.lineItems.find((x) => x.id === r.line.lineItemId);
      const v = li?.variantId == null ? undefined : ctx.shop.variants.get(li.variantId);
      return v ? variantTitle(v) : null;
    },
    requiresShipping: () => true,
  },
  Fulfillment: {
    id: (f: Fulfillment) => gid("Fulfillment", f.id),
    legacyResourceId: (f: Fulfillment) => String(f.id),
    name: (f: Fulfillment) => f.name,
    status: (f: Fulfillment) => f.status,
    displayStatus: (f: Fulfillment) => (f.status === "SUCCESS" ? "FULFILLED" : "CANCELED"),
    createdAt: (f: Fulfillment) => f.createdAt,
    updatedAt: (f: Fulfillment) => f.updatedAt,
    deliveredAt: () => null,
    inTransitAt: () => null,
    estimatedDeliveryAt: () => null,
    requiresShipping: () => true,
    totalQuantity: (f: Fulfillment) => f.lineItems.reduce((n, l) => n + l.quantity, 0),
    location: (f: Fulfillment, _a, ctx) => ctx.shop.locations.get(f.locationId) ?? null,
    order: (f: Fulfillment, _a, ctx) => ctx.shop.orders.get(f.orderId) ?? null,
    trackingInfo: (f: Fulfillment, args: { first?: number | null }) =>
      f.tracking.slice(0, args.first ?? undefined),
    fulfillmentLineItems: (f: Fulfillment, args: PageArgs, ctx) => {
      const o = ctx.shop.orders.get(f.orderId)!;
      const rows = f.lineItems.map((l) =>
        tag(
          { ...l, ref: lineRef(o, o.lineItems.find((li) => li.id === l.lineItemId)!) },
          "FulfillmentLineItem",
        ),
      );
      return connection(rows, args, ctx, (r) => r.id);
    },
    fulfillmentOrders: (f: Fulfillment, args: PageArgs, ctx) =>
      connection(
        f.fulfillmentOrderIds.map((id) => ctx.shop.fulfillmentOrders.get(id)!).filter(Boolean),
        args,
        ctx,
        (fo) => fo.id,
      ),
  },
  FulfillmentTrackingInfo: {
    company: (t: TrackingInfo) => t.company,
    number: (t: TrackingInfo) => t.number,
    url: (t: TrackingInfo) => t.url,
  },
  FulfillmentLineItem: {
    id: (r: { id: number }) => gid("FulfillmentLineItem", r.id),
    quantity: (r: { quantity: number }) => r.quantity,
    lineItem: (r: { ref: LineRef }) => r.ref,
  },
  Refund: {
    id: (r: Refund) => gid("Refund", r.id),
    legacyResourceId: (r: Refund) => String(r.id),
    note: (r: Refund) => r.note,
    createdAt: (r: Refund) => r.createdAt,
    updatedAt: (r: Refund) => r.createdAt,
    processedAt: (r: Refund) => r.createdAt,
    order: (r: Refund, _a, ctx) => ctx.shop.orders.get(r.orderId) ?? null,
    return: (r: Refund, _a, ctx) => (r.returnId ? (ctx.shop.returns.get(r.returnId) ?? null) : null),
    totalRefundedSet: (r: Refund, _a, ctx) => {
      const o = ctx.shop.orders.get(r.orderId)!;
      return money(
        ctx,
        r.lineItems.reduce(
          (n, l) => n + Number(o.lineItems.find((li) => li.id === l.lineItemId)?.price ?? 0) * l.quantity,
          0,
        ),
      );
    },
    refundLineItems: (r: Refund, args: PageArgs, ctx) => {
      const o = ctx.shop.orders.get(r.orderId)!;
      const rows = r.lineItems.map((l) =>
        tag({ ...l, ref: lineRef(o, o.lineItems.find((li) => li.id === l.lineItemId)!) }, "RefundLineItem"),
      );
      return connection(rows, args, ctx, (x) => x.id);
    },
  },
  RefundLineItem: {
    id: (r: { id: number }) => gid("RefundLineItem", r.id),
    quantity: (r: { quantity: number }) => r.quantity,
    restockType: (r: { restockType: string }) => r.restockType,
    restocked: (r: { restocked: boolean }) => r.restocked,
    location: (r: { locationId: number | null }, _a, ctx) =>
      r.locationId === null ? null : (ctx.shop.locations.get(r.locationId) ?? null),
    lineItem: (r: { ref: LineRef }) => r.ref,
    priceSet: (r: { ref: LineRef }, _a, ctx) => money(ctx, r.ref.li.price),
    subtotalSet: (r: { ref: LineRef; quantity: number }, _a, ctx) =>
      money(ctx, Number(r.ref.li.price) * r.quantity),
  },
  Customer: {
    id: (c: Customer) => gid("Customer", c.id),
    legacyResourceId: (c: Customer) => String(c.id),
    email: (c: Customer) => c.email,
    firstName: (c: Customer) => c.firstName,
    lastName: (c: Customer) => c.lastName,
    displayName: (c: Customer) => [c.firstName, c.lastName].filter(Boolean).join(" ") || c.email || "",
    phone: (c: Customer) => c.phone,
    tags: (c: Customer) => c.tags,
    note: () => null,
    state: () => "ENABLED",
    createdAt: (c: Customer) => c.createdAt,
    updatedAt: (c: Customer) => c.updatedAt,
    defaultAddress: (c: Customer) => addressFields(c.defaultAddress),
    defaultEmailAddress: (c: Customer) => (c.email ? { emailAddress: c.email } : null),
    numberOfOrders: (c: Customer, _a, ctx) =>
      String([...ctx.shop.orders.values()].filter((o) => o.customerId === c.id).length),
    orders: (c: Customer, args, ctx) => ordersOf(ctx, args, (o) => o.customerId === c.id),
  },
  CustomerEmailAddress: { emailAddress: (e) => e.emailAddress },
  Company: {
    id: (c: Company) => gid("Company", c.id),
    name: (c: Company) => c.name,
    externalId: (c: Company) => c.externalId,
    note: () => null,
    createdAt: (c: Company) => c.createdAt,
    updatedAt: (c: Company) => c.updatedAt,
    customerSince: (c: Company) => c.createdAt,
    orders: (c: Company, args, ctx) => ordersOf(ctx, args, (o) => o.companyId === c.id),
  },
};
