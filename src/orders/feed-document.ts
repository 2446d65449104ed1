/**
 * The order document of the feed (`GET /orders`, `GET /orders/:id`) and of the outbound
 * webhooks, as zod schemas: the OpenAPI document is generated from them (with an example), and
 * test/orders-money-contract.test.ts validates real answers against that OpenAPI description.
 * Version 2 added `version` and `money`.
 */
import { z } from "zod";

const decimal = z
  .string()
  .regex(/^-?\d+\.\d{2,4}$/)
  .meta({ description: "An exact decimal amount (never a binary float)", example: "12.30" });
const amount = z
  .object({ shop: decimal, presentment: decimal })
  .meta({ description: "An amount in the shop currency and in the customer's (presentment) currency" });
const gid = z.string().meta({ example: "gid://shopify/Order/1001" });
const time = z.string().nullable().meta({ description: "ISO 8601" });
const taxLine = z.object({
  title: z.string(),
  rate: z.string().meta({ description: "Decimal fraction, e.g. 0.21" }),
  amount,
  taxCode: z.string().nullable().meta({ description: "The mapped tax code (null: tax lines not mapped)" }),
});
const allocation = z.object({ application: z.number().int(), amount });
const transaction = z.object({
  id: gid,
  kind: z.string().meta({ description: "sale, authorization, capture, refund, void, change" }),
  status: z.string().meta({ description: "success, pending, failure, error" }),
  gateway: z.string().nullable(),
  method: z.enum(["card", "gift_card", "store_credit", "other"]),
  paymentMethod: z.string().nullable().meta({ description: "The mapped payment method" }),
  amount,
  authorization: z.string().nullable(),
  parentId: z.string().nullable(),
  processedAt: time,
});

export const feedMoneySchema = z.object({
  currency: z.string(),
  presentmentCurrency: z.string(),
  taxesIncluded: z.boolean(),
  lines: z.array(
    z.object({
      shopifyLineId: gid,
      sku: z.string().nullable(),
      shopifyVariantId: z.string().nullable(),
      quantity: z.number().int(),
      unitPrice: amount,
      giftCard: z.boolean(),
      properties: z.array(z.object({ name: z.string(), value: z.string() })),
      discountAllocations: z.array(allocation),
      taxLines: z.array(taxLine),
      duties: z.array(
        z.object({
          amount,
          harmonizedSystemCode: z.string().nullable(),
          countryOfOrigin: z.string().nullable(),
        }),
      ),
    }),
  ),
  shippingLines: z.array(
    z.object({
      title: z.string(),
      code: z.string().nullable(),
      carrierIdentifier: z.string().nullable(),
      source: z.string().nullable(),
      price: amount,
      taxLines: z.array(taxLine),
      discountAllocations: z.array(allocation),
      carrierCode: z.string().nullable(),
      serviceCode: z.string().nullable(),
    }),
  ),
  discountApplications: z.array(
    z.object({
      index: z.number().int(),
      type: z.enum(["discount_code", "automatic", "manual", "script"]),
      code: z.string().nullable(),
      title: z.string().nullable(),
      valueType: z.enum(["percentage", "fixed_amount"]),
      value: z.string(),
      allocationMethod: z.string(),
      targetType: z.string(),
    }),
  ),
  discountCodes: z.array(z.string()),
  taxLines: z.array(taxLine),
  totals: z
    .object({
      subtotal: amount,
      discounts: amount,
      shipping: amount,
      tax: amount,
      duties: amount,
      total: amount,
    })
    .meta({
      description:
        "Shopify's totals. total = Σ unit price × quantity − discounts + shipping + tax (unless taxesIncluded) + duties; an order whose parts do not add up is parked, not sent.",
    }),
  source: z.object({
    kind: z.enum(["web", "pos", "draft", "b2b", "other"]),
    name: z.string().nullable(),
    locationId: z.string().nullable(),
    staffMemberId: z.string().nullable(),
    companyId: z.string().nullable(),
    companyLocationId: z.string().nullable(),
    paymentTerms: z
      .object({
        name: z.string(),
        type: z.string(),
        dueInDays: z.number().int().nullable(),
        dueAt: time,
        completedAt: time,
      })
      .nullable(),
    salesChannel: z.string().nullable(),
    branch: z.string().nullable(),
  }),
  payments: z.object({
    gateways: z.array(
      z.object({
        gateway: z.string(),
        method: z.enum(["card", "gift_card", "store_credit", "other"]),
        paymentMethod: z.string().nullable(),
      }),
    ),
    transactions: z.array(transaction),
    received: amount,
    refunded: amount,
  }),
  note: z.string().nullable(),
  noteAttributes: z.array(z.object({ name: z.string(), value: z.string() })),
  customerLocale: z.string().nullable(),
  refunds: z.array(
    z.object({
      id: gid,
      createdAt: time,
      note: z.string().nullable(),
      lines: z.array(
        z.object({ shopifyLineId: gid, quantity: z.number().int(), subtotal: amount, tax: amount }),
      ),
      shipping: z.array(z.object({ subtotal: amount, tax: amount })),
      adjustments: z.array(z.object({ amount, tax: amount, reason: z.string().nullable() })),
      transactions: z.array(transaction),
      total: amount,
    }),
  ),
});

const address = z
  .object({
    name: z.string().nullable(),
    company: z.string().nullable(),
    address1: z.string().nullable(),
    address2: z.string().nullable(),
    city: z.string().nullable(),
    province: z.string().nullable(),
    zip: z.string().nullable(),
    country: z.string().nullable(),
    countryCode: z.string().nullable(),
    phone: z.string().nullable(),
  })
  .nullable();

const hold = z.object({
  reason: z
    .string()
    .meta({ description: "Shopify's FulfillmentHoldReason: AWAITING_PAYMENT, HIGH_RISK_OF_FRAUD, OTHER, …" }),
  note: z.string().nullable(),
});

/** Pickup, holds and where each fulfillment order waits (src/fulfillment/fulfillment-orders.ts). */
export const feedFulfillmentSchema = z
  .object({
    deliveryMethod: z.string().nullable().meta({
      description:
        "pick_up when the customer collects it, else shipping (Shopify's delivery method type, lower case)",
    }),
    pickupLocation: z
      .object({ id: gid, warehouse: z.string().nullable() })
      .nullable()
      .meta({ description: "Where the customer collects it, and the warehouse mapped there" }),
    readyForPickupAt: z.number().nullable(),
    held: z
      .boolean()
      .meta({ description: "An open fulfillment order is on hold: do not ship until released" }),
    holds: z.array(hold),
    fulfillmentOrders: z.array(
      z.object({
        id: gid,
        status: z
          .string()
          .meta({ description: "open, in_progress, on_hold, scheduled, closed, cancelled, incomplete" }),
        deliveryMethod: z.string().nullable(),
        locationId: z.string().nullable(),
        warehouse: z.string().nullable(),
        holds: z.array(hold),
        readyForPickupAt: z.number().nullable(),
        lines: z.array(
          z.object({ shopifyLineId: gid, remaining: z.number().int(), total: z.number().int() }),
        ),
      }),
    ),
  })
  .nullable()
  .meta({ description: "Shopify's fulfillment orders as last read; null until the hub has read them" });

/** Returns and exchanges (src/fulfillment/returns.ts). */
export const feedReturnSchema = z.object({
  id: gid,
  hubId: z.number().int().meta({ description: "Use with POST /api/v1/returns/{id}/receipts" }),
  name: z.string().nullable(),
  status: z.enum(["requested", "open", "declined", "canceled", "closed"]),
  lines: z.array(
    z.object({
      returnLineId: gid,
      shopifyLineId: z.string().nullable(),
      quantity: z.number().int(),
      processed: z.number().int(),
      received: z.number().int(),
      restocked: z.number().int(),
      reason: z.string().nullable(),
      reasonNote: z.string().nullable(),
      customerNote: z.string().nullable(),
    }),
  ),
  exchangeLines: z.array(
    z.object({ shopifyLineId: gid, quantity: z.number().int() }).meta({
      description: "New order lines the customer gets in exchange: reserved and shipped like any line",
    }),
  ),
  dispositions: z.array(
    z.object({
      id: z.string(),
      shopifyLineId: z.string().nullable(),
      quantity: z.number().int(),
      type: z.string().meta({ description: "RESTOCKED, NOT_RESTOCKED, PROCESSING_REQUIRED, MISSING" }),
      locationId: z.string().nullable(),
    }),
  ),
});

export const orderDocumentSchema = z.object({
  version: z.literal(2),
  id: z.number().int(),
  store: z.string(),
  shopifyOrderId: gid,
  name: z.string(),
  status: z.string(),
  parkReason: z.string().nullable(),
  financialStatus: z.string().nullable(),
  fulfillmentStatus: z.string().nullable(),
  cancelledAt: z.number().nullable(),
  shopifyCreatedAt: z.number(),
  shopifyUpdatedAt: z.number(),
  locationId: z.string().nullable(),
  warehouse: z.string().nullable(),
  customer: z
    .object({
      id: z.number().int(),
      kind: z.string(),
      email: z.string().nullable(),
      name: z.string().nullable(),
      phone: z.string().nullable(),
      company: z.string().nullable(),
    })
    .nullable(),
  email: z.string().nullable(),
  customerName: z.string().nullable(),
  phone: z.string().nullable(),
  addresses: z.object({ billing: address, shipping: address }).nullable(),
  currency: z.string().nullable(),
  totalPrice: z.string().nullable(),
  lines: z.array(
    z.object({
      sku: z.string().nullable(),
      title: z.string().nullable(),
      variantId: z.number().int().nullable(),
      quantity: z.number().int(),
      currentQuantity: z.number().int(),
      fulfilledQuantity: z.number().int(),
      fulfillableQuantity: z.number().int(),
      price: z.string(),
      shopifyLineId: gid,
    }),
  ),
  money: feedMoneySchema.nullable(),
  fulfillment: feedFulfillmentSchema.optional(),
  returns: z.array(feedReturnSchema).optional(),
  feedSeq: z.number().int().nullable(),
  importedAt: z.number().nullable(),
  ackedAt: z.number().nullable(),
  redacted: z.boolean(),
  updatedAt: z.number(),
});

const A = (shop: string, presentment = shop) => ({ shop, presentment });

/** One order as the feed shows it: a web order with a code discount, Dutch VAT excluded, shipping. */
export const ORDER_DOCUMENT_EXAMPLE = {
  version: 2,
  id: 42,
  store: "example.myshopify.com",
  shopifyOrderId: "gid://shopify/Order/1001",
  name: "#1001",
  status: "imported",
  parkReason: null,
  financialStatus: "paid",
  fulfillmentStatus: "unfulfilled",
  cancelledAt: null,
  shopifyCreatedAt: 1795000000000,
  shopifyUpdatedAt: 1795000000000,
  locationId: "gid://shopify/Location/1",
  warehouse: "MAIN",
  customer: { id: 7, kind: "person", email: "ann@example.com", name: "Ann Smit", phone: null, company: null },
  email: "ann@example.com",
  customerName: "Ann Smit",
  phone: null,
  addresses: null,
  currency: "EUR",
  totalPrice: "44.17",
  lines: [
    {
      sku: "TEE-S",
      title: "Tee - S",
      variantId: 3,
      quantity: 2,
      currentQuantity: 2,
      fulfilledQuantity: 0,
      fulfillableQuantity: 2,
      price: "17.50",
      shopifyLineId: "gid://shopify/LineItem/11",
    },
  ],
  money: {
    currency: "EUR",
    presentmentCurrency: "EUR",
    taxesIncluded: false,
    lines: [
      {
        shopifyLineId: "gid://shopify/LineItem/11",
        sku: "TEE-S",
        shopifyVariantId: "gid://shopify/ProductVariant/5",
        quantity: 2,
        unitPrice: A("17.50"),
        giftCard: false,
        properties: [{ name: "engraving", value: "A.S." }],
        discountAllocations: [{ application: 0, amount: A("3.50") }],
        taxLines: [{ title: "VAT", rate: "0.21", amount: A("6.62"), taxCode: "V21" }],
        duties: [],
      },
    ],
    shippingLines: [
      {
        title: "Express",
        code: "EXPRESS",
        carrierIdentifier: "dhl",
        source: "shopify",
        price: A("5.00"),
        taxLines: [{ title: "VAT", rate: "0.21", amount: A("1.05"), taxCode: "V21" }],
        discountAllocations: [],
        carrierCode: "DHL",
        serviceCode: "EXP",
      },
    ],
    discountApplications: [
      {
        index: 0,
        type: "discount_code",
        code: "WELCOME10",
        title: null,
        valueType: "percentage",
        value: "10",
        allocationMethod: "across",
        targetType: "line_item",
      },
    ],
    discountCodes: ["WELCOME10"],
    taxLines: [{ title: "VAT", rate: "0.21", amount: A("7.67"), taxCode: "V21" }],
    totals: {
      subtotal: A("31.50"),
      discounts: A("3.50"),
      shipping: A("5.00"),
      tax: A("7.67"),
      duties: A("0.00"),
      total: A("44.17"),
    },
    source: {
      kind: "web",
      name: "web",
      locationId: "gid://shopify/Location/1",
      staffMemberId: null,
      companyId: null,
      companyLocationId: null,
      paymentTerms: null,
      salesChannel: "WEBSHOP",
      branch: null,
    },
    payments: {
      gateways: [{ gateway: "shopify_payments", method: "card", paymentMethod: "CARD" }],
      transactions: [
        {
          id: "gid://shopify/OrderTransaction/21",
          kind: "sale",
          status: "success",
          gateway: "shopify_payments",
          method: "card",
          paymentMethod: "CARD",
          amount: A("44.17"),
          authorization: "AUTH-1",
          parentId: null,
          processedAt: "2026-11-18T09:00:00.000Z",
        },
      ],
      received: A("44.17"),
      refunded: A("0.00"),
    },
    note: null,
    noteAttributes: [{ name: "gift-wrap", value: "yes" }],
    customerLocale: "nl-NL",
    refunds: [],
  },
  feedSeq: 118,
  importedAt: 1795000001000,
  ackedAt: null,
  redacted: false,
  updatedAt: 1795000001000,
};

export const orderDocument = orderDocumentSchema.meta({ examples: [ORDER_DOCUMENT_EXAMPLE] });
export const orderFeedPage = z
  .object({ items: z.array(orderDocumentSchema), nextCursor: z.string().nullable() })
  .meta({ examples: [{ items: [ORDER_DOCUMENT_EXAMPLE], nextCursor: "118" }] });
