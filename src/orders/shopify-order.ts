/**
 * The one internal shape of a Shopify order, whichever way it arrived: a REST-shaped webhook
 * payload (`fromWebhookPayload`) or an Admin GraphQL node read by the polling backfill
 * (`fromGraphqlOrder`). Everything downstream (filters, merge, import) sees only this.
 *
 * Glossary: gid = Shopify global id (`gid://shopify/Order/123`); `updatedAt` is Shopify's own
 * version of the order, in epoch ms; quantities are Shopify's current view of each line.
 */
import { z } from "zod";
import { financialFilterStatus, fulfillmentFilterStatus } from "./filters.ts";
import { moneyFromRest, type OrderMoney } from "./money.ts";

export interface ShopifyAddress {
  readonly name: string | null;
  readonly company: string | null;
  readonly address1: string | null;
  readonly address2: string | null;
  readonly city: string | null;
  readonly province: string | null;
  readonly zip: string | null;
  readonly country: string | null;
  readonly countryCode: string | null;
  readonly phone: string | null;
}

export interface ShopifyOrderLine {
  readonly gid: string;
  readonly sku: string | null;
  readonly title: string | null;
  readonly quantity: number;
  /** Quantity after removals (cancellations, edits, refunds of unfulfilled units). */
  readonly currentQuantity: number;
  readonly fulfilledQuantity: number;
  /** Units still to ship: what the hub reserves. */
  readonly fulfillableQuantity: number;
  readonly price: string;
  /** A gift card sold: issued, not shipped, never reserved. */
  readonly giftCard?: boolean;
}

/** Lower-case Shopify statuses: financial `paid`...; fulfillment `unfulfilled` | `partial` | `fulfilled` | `restocked`, derived from the lines alike on both paths (filters.ts). */
export interface ShopifyOrder {
  readonly gid: string;
  readonly name: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly cancelledAt: number | null;
  readonly financialStatus: string | null;
  readonly fulfillmentStatus: string;
  readonly locationGid: string | null;
  readonly email: string | null;
  readonly phone: string | null;
  readonly customerName: string | null;
  readonly companyName: string | null;
  readonly currency: string | null;
  readonly totalPrice: string | null;
  readonly tags: readonly string[];
  readonly billingAddress: ShopifyAddress | null;
  readonly shippingAddress: ShopifyAddress | null;
  readonly lines: readonly ShopifyOrderLine[];
  /** Taxes, discounts, shipping, payments, source and refunds in money (money.ts); null when not read yet. */
  readonly money?: OrderMoney | null;
}

/** The order with its money; lines learn whether they are gift cards. */
export function withMoney(order: ShopifyOrder, money: OrderMoney): ShopifyOrder {
  const gift = new Set(money.lines.filter((l) => l.giftCard).map((l) => l.gid));
  return { ...order, money, lines: order.lines.map((l) => ({ ...l, giftCard: gift.has(l.gid) })) };
}

export type ParseResult = { ok: true; order: ShopifyOrder } | { ok: false; reason: string };

const str = z.string().nullish();
const num = z.union([z.number(), z.string()]).nullish();

const restAddress = z
  .object({
    name: str,
    first_name: str,
    last_name: str,
    company: str,
    address1: str,
    address2: str,
    city: str,
    province: str,
    zip: str,
    country: str,
    country_code: str,
    phone: str,
  })
  .nullish();

const restOrder = z.object({
  id: z.union([z.number(), z.string()]),
  admin_graphql_api_id: z.string().optional(),
  name: z.string(),
  email: str,
  contact_email: str,
  phone: str,
  created_at: z.string(),
  updated_at: z.string(),
  cancelled_at: str,
  financial_status: str,
  fulfillment_status: str,
  currency: str,
  total_price: str,
  tags: str,
  location_id: num,
  customer: z.object({ first_name: str, last_name: str, email: str, phone: str }).nullish(),
  company: z.object({ name: str }).nullish(),
  billing_address: restAddress,
  shipping_address: restAddress,
  line_items: z.array(
    z.object({
      id: z.union([z.number(), z.string()]),
      admin_graphql_api_id: z.string().optional(),
      sku: str,
      title: str,
      name: str,
      quantity: z.number().int(),
      current_quantity: z.number().int().nullish(),
      fulfillable_quantity: z.number().int().nullish(),
      fulfillment_status: str,
      price: z.union([z.string(), z.number()]),
    }),
  ),
});

function time(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

const clean = (s: string | null | undefined) => (s && s.trim() !== "" ? s.trim() : null);

export function normaliseEmail(email: string | null | undefined): string | null {
  const e = clean(email);
  return e ? e.toLowerCase() : null;
}

function joinName(first: string | null | undefined, last: string | null | undefined): string | null {
  return clean([first, last].filter(Boolean).join(" "));
}

function address(a: z.infer<typeof restAddress>): ShopifyAddress | null {
  if (!a) return null;
  return {
    name: clean(a.name) ?? joinName(a.first_name, a.last_name),
    company: clean(a.company),
    address1: clean(a.address1),
    address2: clean(a.address2),
    city: clean(a.city),
    province: clean(a.province),
    zip: clean(a.zip),
    country: clean(a.country),
    countryCode: clean(a.country_code),
    phone: clean(a.phone),
  };
}

const gidOf = (type: string, id: string | number, given?: string) => given ?? `gid://shopify/${type}/${id}`;

/** Parses an `orders/*` webhook body (REST shape). Personal data stays in the result, never in the reason. */
export function fromWebhookPayload(body: unknown): ParseResult {
  const r = restOrder.safeParse(body);
  if (!r.success) {
    const first = r.error.issues[0];
    return { ok: false, reason: `not an order payload: ${first?.path.join(".")} ${first?.message}` };
  }
  const o = r.data;
  const createdAt = time(o.created_at);
  const updatedAt = time(o.updated_at);
  if (createdAt === null || updatedAt === null)
    return { ok: false, reason: "created_at/updated_at unreadable" };
  const money = moneyFromRest(body);
  if (!money.ok) return { ok: false, reason: money.reason };
  const fulfilled = (li: (typeof o.line_items)[number]) => {
    const current = li.current_quantity ?? li.quantity;
    const open = li.fulfillable_quantity ?? (li.fulfillment_status === "fulfilled" ? 0 : current);
    return Math.max(0, current - open);
  };
  const lines = o.line_items.map((li) => ({
    gid: gidOf("LineItem", li.id, li.admin_graphql_api_id),
    sku: clean(li.sku),
    title: clean(li.name ?? li.title),
    quantity: li.quantity,
    currentQuantity: li.current_quantity ?? li.quantity,
    fulfilledQuantity: fulfilled(li),
    fulfillableQuantity:
      li.fulfillable_quantity ??
      (li.fulfillment_status === "fulfilled" ? 0 : (li.current_quantity ?? li.quantity)),
    price: typeof li.price === "number" ? li.price.toFixed(2) : li.price,
  }));
  return {
    ok: true,
    order: withMoney(
      {
        gid: gidOf("Order", o.id, o.admin_graphql_api_id),
        name: o.name,
        createdAt,
        updatedAt,
        cancelledAt: time(o.cancelled_at),
        financialStatus: financialFilterStatus(o.financial_status),
        fulfillmentStatus: fulfillmentFilterStatus(lines),
        locationGid:
          o.location_id === null || o.location_id === undefined ? null : gidOf("Location", o.location_id),
        email: normaliseEmail(o.email ?? o.contact_email ?? o.customer?.email),
        phone: clean(o.phone ?? o.customer?.phone),
        customerName:
          joinName(o.customer?.first_name, o.customer?.last_name) ??
          address(o.billing_address)?.name ??
          address(o.shipping_address)?.name ??
          null,
        companyName: clean(o.company?.name) ?? clean(o.billing_address?.company),
        currency: clean(o.currency),
        totalPrice: o.total_price ?? null,
        tags: (o.tags ?? "")
          .split(",")
          .map((t) => t.trim())
          .filter(Boolean),
        billingAddress: address(o.billing_address),
        shippingAddress: address(o.shipping_address),
        lines,
      },
      money.money,
    ),
  };
}

/** The Order node the backfill query selects (see backfill.ts). */
export interface GraphqlOrderNode {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  cancelledAt: string | null;
  displayFinancialStatus: string | null;
  displayFulfillmentStatus: string | null;
  email: string | null;
  phone: string | null;
  currencyCode: string | null;
  tags: string[];
  totalPriceSet: { shopMoney: { amount: string } } | null;
  customer: { firstName: string | null; lastName: string | null; email: string | null } | null;
  purchasingEntity: { __typename: string; company?: { name: string } | null } | null;
  billingAddress: GraphqlAddress | null;
  shippingAddress: GraphqlAddress | null;
  /** The POS location that took the order; the REST payload's `location_id`. Null for web orders. */
  retailLocation: { id: string } | null;
  lineItems: {
    nodes: {
      id: string;
      sku: string | null;
      name: string | null;
      quantity: number;
      currentQuantity: number;
      unfulfilledQuantity: number;
      originalUnitPriceSet: { shopMoney: { amount: string } } | null;
    }[];
    pageInfo: { hasNextPage: boolean; endCursor?: string | null };
  };
}

export interface GraphqlAddress {
  name: string | null;
  company: string | null;
  address1: string | null;
  address2: string | null;
  city: string | null;
  province: string | null;
  zip: string | null;
  country: string | null;
  countryCodeV2: string | null;
  phone: string | null;
}

function gqlAddress(a: GraphqlAddress | null): ShopifyAddress | null {
  if (!a) return null;
  return {
    name: clean(a.name),
    company: clean(a.company),
    address1: clean(a.address1),
    address2: clean(a.address2),
    city: clean(a.city),
    province: clean(a.province),
    zip: clean(a.zip),
    country: clean(a.country),
    countryCode: clean(a.countryCodeV2),
    phone: clean(a.phone),
  };
}

/** Money as Shopify's REST payloads print it (two decimals). */
const money = (amount: string | undefined | null) =>
  amount === undefined || amount === null ? null : Number(amount).toFixed(2);

export function fromGraphqlOrder(n: GraphqlOrderNode): ParseResult {
  const createdAt = time(n.createdAt);
  const updatedAt = time(n.updatedAt);
  if (createdAt === null || updatedAt === null)
    return { ok: false, reason: "createdAt/updatedAt unreadable" };
  if (n.lineItems.pageInfo.hasNextPage) return { ok: false, reason: "more line items than one page holds" };
  const company =
    n.purchasingEntity?.__typename === "PurchasingCompany" ? clean(n.purchasingEntity.company?.name) : null;
  const lines = n.lineItems.nodes.map((li) => ({
    gid: li.id,
    sku: clean(li.sku),
    title: clean(li.name),
    quantity: li.quantity,
    currentQuantity: li.currentQuantity,
    fulfilledQuantity: Math.max(0, li.currentQuantity - li.unfulfilledQuantity),
    fulfillableQuantity: li.unfulfilledQuantity,
    price: money(li.originalUnitPriceSet?.shopMoney.amount) ?? "0.00",
  }));
  return {
    ok: true,
    order: {
      gid: n.id,
      name: n.name,
      createdAt,
      updatedAt,
      cancelledAt: time(n.cancelledAt),
      financialStatus: financialFilterStatus(n.displayFinancialStatus),
      fulfillmentStatus: fulfillmentFilterStatus(lines),
      // Same meaning as the webhook's `location_id`, so both paths reserve at the same warehouse.
      locationGid: n.retailLocation?.id ?? null,
      email: normaliseEmail(n.email ?? n.customer?.email),
      phone: clean(n.phone),
      customerName:
        joinName(n.customer?.firstName, n.customer?.lastName) ??
        clean(n.billingAddress?.name) ??
        clean(n.shippingAddress?.name),
      companyName: company ?? clean(n.billingAddress?.company),
      currency: clean(n.currencyCode),
      totalPrice: money(n.totalPriceSet?.shopMoney.amount),
      tags: n.tags,
      billingAddress: gqlAddress(n.billingAddress),
      shippingAddress: gqlAddress(n.shippingAddress),
      lines,
    },
  };
}
