// Orders as Shopify makes them (issue 18): web orders without a location and POS orders with one;
// every FulfillmentOrderStatus, OrderDisplayFulfillmentStatus and OrderDisplayFinancialStatus of the
// 2026-10 schema reachable through the control API; holds and schedules with their webhooks; the
// orders/create payload's documented keys (shopify.dev REST Order resource and the orders/create
// webhook example) with times in the shop's offset.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "./index.ts";
import { gql, type Seeded, SHOP, seedShop } from "./test-helpers.ts";

let emu: Emulator;
let s: Seeded;
let receiver: Server;

beforeAll(async () => {
  emu = await startEmulator({ testOnlyAllowPlainHttpWebhooks: true });
  s = seedShop(emu, SHOP);
  emu.control.setInventory(SHOP, { sku: s.sku, locationId: s.locationId, quantity: 1000 });
  receiver = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const uri = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  for (const topic of [
    "ORDERS_CREATE",
    "FULFILLMENT_ORDERS_PLACED_ON_HOLD",
    "FULFILLMENT_ORDERS_HOLD_RELEASED",
    "FULFILLMENT_ORDERS_SCHEDULED_FULFILLMENT_ORDER_READY",
  ]) {
    const r = await gql(
      emu,
      s.token,
      `mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
        webhookSubscriptionCreate(topic: $topic, webhookSubscription: { uri: $uri }) { userErrors { message } } }`,
      { topic, uri },
    );
    expect(r.body.data.webhookSubscriptionCreate.userErrors).toEqual([]);
  }
});
afterAll(async () => {
  await emu.close();
  receiver.closeAllConnections();
  await new Promise((r) => receiver.close(r));
});

// biome-ignore lint/suspicious/noExplicitAny: GraphQL data is inspected ad hoc
async function q(query: string, variables?: Record<string, unknown>): Promise<any> {
  const r = await gql(emu, s.token, query, variables);
  expect(r.body.errors).toBeUndefined();
  return r.body.data;
}

const ORDER = `query($id: ID!) { order(id: $id) { createdAt displayFulfillmentStatus displayFinancialStatus
  retailLocation { id } fulfillmentOrders(first: 5) { nodes { status requestStatus fulfillAt
  fulfillmentHolds { reason reasonNotes } supportedActions { action } } } } }`;

const place = (extra: Record<string, unknown> = {}) =>
  emu.control.placeOrder(SHOP, {
    lineItems: [{ sku: s.sku, quantity: 2 }],
    email: "a@example.com",
    ...extra,
  });
const deliveries = (topic: string) =>
  emu.control.webhookDeliveries({ shop: SHOP, topic }).map((d) => JSON.parse(d.body));

describe("where an order was placed", () => {
  it("a web order has no location; a POS order has its own", async () => {
    const web = place();
    const pos = place({ sourceName: "pos", locationId: s.locationId });
    expect((await q(ORDER, { id: web.id })).order.retailLocation).toBeNull();
    expect((await q(ORDER, { id: pos.id })).order.retailLocation).toEqual({ id: s.locationId });
    expect(emu.control.orderPayload(SHOP, web.id)).toMatchObject({ location_id: null, source_name: "web" });
    expect(emu.control.orderPayload(SHOP, pos.id)).toMatchObject({
      location_id: Number(s.locationId.split("/").pop()),
      source_name: "pos",
    });
  });
});

describe("the orders/create payload", () => {
  it("carries Shopify's documented keys, money sets and times in the shop's offset", async () => {
    const o = place({
      lineItems: [
        {
          sku: s.sku,
          quantity: 2,
          properties: [{ name: "Engraving", value: "Ada" }],
          taxLines: [{ title: "VAT", rate: "0.2" }],
        },
      ],
      discounts: [{ code: "TEN", valueType: "percentage", value: "10" }],
      shippingLines: [{ title: "Standard", price: "5.00" }],
    });
    const body = deliveries("orders/create").find((b) => b.id === Number(o.legacyId))!;
    for (const key of [
      "total_line_items_price",
      "total_line_items_price_set",
      "subtotal_price_set",
      "total_discounts_set",
      "total_shipping_price_set",
      "total_tax_set",
      "total_price_set",
      "tax_lines",
      "discount_codes",
      "discount_applications",
      "shipping_lines",
      "payment_gateway_names",
      "processed_at",
      "currency",
      "presentment_currency",
    ])
      expect(body, key).toHaveProperty(key);
    expect(body.total_price_set).toEqual({
      shop_money: { amount: expect.any(String), currency_code: "USD" },
      presentment_money: { amount: expect.any(String), currency_code: "USD" },
    });
    expect(body.discount_codes).toEqual([{ code: "TEN", type: "percentage", amount: expect.any(String) }]);
    expect(body.payment_gateway_names).toEqual(["shopify_payments"]);
    const line = body.line_items[0];
    for (const key of [
      "price_set",
      "vendor",
      "grams",
      "properties",
      "tax_lines",
      "discount_allocations",
      "sku",
      "variant_id",
    ])
      expect(line, key).toHaveProperty(key);
    expect(line.properties).toEqual([{ name: "Engraving", value: "Ada" }]);
    expect(line.tax_lines[0]).toMatchObject({ title: "VAT", rate: 0.2, price_set: expect.any(Object) });
    expect(typeof line.grams).toBe("number");
    // Times: the shop's offset (America/New_York: -05:00 in winter, -04:00 in summer), never "Z".
    // Whole seconds, as Shopify writes them, in REST and GraphQL alike.
    expect(body.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}-0[45]:00$/);
    const gqlCreated = (await q(ORDER, { id: o.id })).order.createdAt;
    expect(gqlCreated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(Date.parse(body.created_at)).toBe(Date.parse(gqlCreated));
  });
});

describe("fulfillment order and display statuses", () => {
  it("reaches every FulfillmentOrderStatus and display fulfillment status", async () => {
    const seen = new Set<string>();
    const status = async (id: string) => {
      const o = (await q(ORDER, { id })).order;
      seen.add(o.displayFulfillmentStatus);
      return { display: o.displayFulfillmentStatus, fo: o.fulfillmentOrders.nodes[0] };
    };
    const open = place();
    expect(await status(open.id)).toMatchObject({ display: "UNFULFILLED", fo: { status: "OPEN" } });

    const partial = place();
    emu.control.fulfillOrder(SHOP, partial.id, {
      lines: [{ lineItemId: partial.lineItems[0]!.id, quantity: 1 }],
    });
    expect(await status(partial.id)).toMatchObject({
      display: "PARTIALLY_FULFILLED",
      fo: { status: "IN_PROGRESS" },
    });

    const full = place();
    emu.control.fulfillOrder(SHOP, full.id);
    expect(await status(full.id)).toMatchObject({ display: "FULFILLED", fo: { status: "CLOSED" } });

    const cancelled = place();
    emu.control.cancelOrder(SHOP, cancelled.id, { restock: true });
    // RESTOCKED is "Replaced by the UNFULFILLED status" (OrderDisplayFulfillmentStatus); REST keeps `restocked`.
    expect(await status(cancelled.id)).toMatchObject({ display: "UNFULFILLED", fo: { status: "CANCELLED" } });
    expect(emu.control.orderPayload(SHOP, cancelled.id)).toMatchObject({ fulfillment_status: "restocked" });

    const held = place({ hold: { reason: "HIGH_RISK_OF_FRAUD", reasonNotes: "check the card" } });
    expect(await status(held.id)).toMatchObject({
      display: "ON_HOLD",
      fo: {
        status: "ON_HOLD",
        fulfillmentHolds: [{ reason: "HIGH_RISK_OF_FRAUD", reasonNotes: "check the card" }],
        supportedActions: [{ action: "RELEASE_HOLD" }],
      },
    });

    const later = new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString();
    const preorder = place({ fulfillAt: later });
    expect(await status(preorder.id)).toMatchObject({
      display: "SCHEDULED",
      fo: {
        status: "SCHEDULED",
        fulfillAt: `${later.slice(0, 19)}Z`,
      },
    });

    const submitted = place();
    const foOf = (o: { fulfillmentOrders: { id: string }[] }) => o.fulfillmentOrders[0]!.id;
    emu.control.setFulfillmentRequestStatus(SHOP, foOf(submitted), { requestStatus: "SUBMITTED" });
    // PENDING_FULFILLMENT is "Replaced by the IN_PROGRESS status".
    expect(await status(submitted.id)).toMatchObject({
      display: "IN_PROGRESS",
      fo: { status: "OPEN", requestStatus: "SUBMITTED" },
    });
    emu.control.setFulfillmentRequestStatus(SHOP, foOf(submitted), { requestStatus: "ACCEPTED" });
    expect(await status(submitted.id)).toMatchObject({
      display: "IN_PROGRESS",
      fo: { status: "IN_PROGRESS", requestStatus: "ACCEPTED" },
    });
    emu.control.setFulfillmentRequestStatus(SHOP, foOf(submitted), { requestStatus: "CLOSED" });
    expect((await status(submitted.id)).fo).toMatchObject({ status: "INCOMPLETE", requestStatus: "CLOSED" });

    const declined = place();
    emu.control.setFulfillmentRequestStatus(SHOP, foOf(declined), { requestStatus: "REJECTED" });
    expect(await status(declined.id)).toMatchObject({
      display: "REQUEST_DECLINED",
      fo: { requestStatus: "REJECTED" },
    });

    // FULFILLMENT_NOT_REQUIRED (items needing no shipping that Shopify does not fulfil itself) is not modelled.
    // The replaced values are never answered, as on Shopify: OPEN ("Replaced by UNFULFILLED"),
    // RESTOCKED and PENDING_FULFILLMENT.
    for (const replaced of ["OPEN", "RESTOCKED", "PENDING_FULFILLMENT"])
      expect(seen.has(replaced)).toBe(false);
    expect([...seen].sort()).toEqual([
      "FULFILLED",
      "IN_PROGRESS",
      "ON_HOLD",
      "PARTIALLY_FULFILLED",
      "REQUEST_DECLINED",
      "SCHEDULED",
      "UNFULFILLED",
    ]);
  });

  it("reaches every display financial status", async () => {
    const expected: Record<string, string> = {
      pending: "PENDING",
      authorized: "AUTHORIZED",
      partially_paid: "PARTIALLY_PAID",
      paid: "PAID",
      partially_refunded: "PARTIALLY_REFUNDED",
      refunded: "REFUNDED",
      voided: "VOIDED",
      expired: "EXPIRED",
    };
    for (const [financialStatus, display] of Object.entries(expected)) {
      const o = place({ financialStatus });
      expect((await q(ORDER, { id: o.id })).order.displayFinancialStatus, financialStatus).toBe(display);
    }
  });
});

describe("holds and schedules fire Shopify's webhooks", () => {
  it("placed_on_hold and hold_released; a scheduled order opens when the clock reaches fulfillAt", async () => {
    const o = place();
    const fo = o.fulfillmentOrders[0]!.id;
    emu.control.holdFulfillmentOrder(SHOP, fo, { reason: "AWAITING_PAYMENT" });
    const refused = await gql(
      emu,
      s.token,
      `mutation($f: FulfillmentV2Input!) { fulfillmentCreate(fulfillment: $f) { userErrors { message } } }`,
      { f: { lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: fo }] } },
    );
    const userErrors = refused.body.data?.fulfillmentCreate?.userErrors ?? [];
    expect(userErrors.length + (refused.body.errors?.length ?? 0)).toBeGreaterThan(0);
    emu.control.releaseFulfillmentOrderHold(SHOP, fo);
    expect(deliveries("fulfillment_orders/placed_on_hold").at(-1)).toEqual({
      fulfillment_order: {
        id: fo,
        status: "on_hold",
        fulfillment_holds: [{ id: expect.any(String), reason: "awaiting_payment", reason_notes: null }],
      },
      created_fulfillment_hold: { id: expect.any(String), reason: "awaiting_payment", reason_notes: null },
    });
    expect(deliveries("fulfillment_orders/hold_released").at(-1)).toEqual({
      fulfillment_order: { id: fo, status: "open", fulfillment_holds: [] },
    });

    emu.control.freezeTime(true);
    try {
      const at = new Date(Date.parse(emu.control.now().now) + 3600_000).toISOString();
      const pre = place({ fulfillAt: at });
      const preFo = pre.fulfillmentOrders[0]!.id;
      emu.control.advanceTime(3599_000);
      expect((await q(ORDER, { id: pre.id })).order.fulfillmentOrders.nodes[0].status).toBe("SCHEDULED");
      emu.control.advanceTime(1000);
      expect((await q(ORDER, { id: pre.id })).order.fulfillmentOrders.nodes[0].status).toBe("OPEN");
      expect(deliveries("fulfillment_orders/scheduled_fulfillment_order_ready").at(-1)).toEqual({
        fulfillment_order: { id: preFo, status: "open", fulfillment_holds: [] },
      });
    } finally {
      emu.control.freezeTime(false);
    }
  });
});
