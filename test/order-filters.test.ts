/**
 * The webhook path and the polling backfill judge one Shopify order alike, whatever its statuses.
 * A Shopify order is generated as Shopify holds it (lines with fulfilled, open and removed units,
 * each open line's fulfillment-order state, the payment state, web or POS), then written both
 * ways Shopify would send it: the REST `orders/*` webhook payload (`fulfillment_status` only
 * null/partial/fulfilled/restocked) and the GraphQL node the backfill reads
 * (`displayFulfillmentStatus` with ON_HOLD, SCHEDULED, IN_PROGRESS... by Shopify's precedence).
 * Both are parsed by the hub and filtered with arbitrary settings: the decisions must be equal.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { systemClock } from "../src/core/clock.ts";
import { createLogger } from "../src/core/logger.ts";
import { ORDERS_PAGE, ORDERS_UPDATED_SINCE_QUERY } from "../src/orders/backfill.ts";
import { importDecision } from "../src/orders/filters.ts";
import { FULFILLMENT_FILTER, orderSettingsSchema } from "../src/orders/settings.ts";
import { fromGraphqlOrder, fromWebhookPayload, type GraphqlOrderNode } from "../src/orders/shopify-order.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { type EmulatedStore, emulatedStore } from "./support/shopify.ts";

const FINANCIAL = [
  "AUTHORIZED",
  "EXPIRED",
  "PAID",
  "PARTIALLY_PAID",
  "PARTIALLY_REFUNDED",
  "PENDING",
  "REFUNDED",
  "VOIDED",
] as const;
/** The state of a line's open units' fulfillment order (FulfillmentOrderStatus, open ones). */
const FO_STATES = ["OPEN", "IN_PROGRESS", "ON_HOLD", "SCHEDULED", "INCOMPLETE", "DECLINED"] as const;
type FoState = (typeof FO_STATES)[number];

interface TruthLine {
  quantity: number;
  removed: number;
  fulfilled: number;
  state: FoState;
}

const line = fc
  .record({
    quantity: fc.integer({ min: 1, max: 5 }),
    removedShare: fc.double({ min: 0, max: 1, noNaN: true }),
    fulfilledShare: fc.double({ min: 0, max: 1, noNaN: true }),
    state: fc.constantFrom(...FO_STATES),
  })
  .map(({ quantity, removedShare, fulfilledShare, state }): TruthLine => {
    const removed = Math.floor(quantity * removedShare);
    const fulfilled = Math.floor((quantity - removed) * fulfilledShare);
    return { quantity, removed, fulfilled, state };
  });

const truth = fc.record({
  lines: fc.array(line, { minLength: 1, maxLength: 4 }),
  financial: fc.constantFrom(...FINANCIAL),
  pos: fc.boolean(),
  ageDays: fc.integer({ min: 0, max: 40 }),
});
type Truth = typeof truth extends fc.Arbitrary<infer T> ? T : never;

const NOW = Date.parse("2026-11-28T12:00:00Z");
const DAY = 24 * 3600_000;
const open = (l: TruthLine) => l.quantity - l.removed - l.fulfilled;

/** Shopify's REST word: derived from fulfillments only. */
function restStatus(t: Truth): string | null {
  const done = t.lines.reduce((s, l) => s + l.fulfilled, 0);
  const left = t.lines.reduce((s, l) => s + open(l), 0);
  if (left === 0) return done === 0 ? "restocked" : "fulfilled";
  return done === 0 ? null : "partial";
}

/** Shopify's display status: what the open units' fulfillment orders say comes first. */
function displayStatus(t: Truth): string {
  const rest = restStatus(t);
  if (rest === "fulfilled") return "FULFILLED";
  if (rest === "restocked") return "UNFULFILLED"; // RESTOCKED is a replaced value Shopify no longer answers
  const states = new Set(t.lines.filter((l) => open(l) > 0).map((l) => l.state));
  const only = (s: FoState) => states.size === 1 && states.has(s);
  if (only("ON_HOLD")) return "ON_HOLD";
  if (only("SCHEDULED")) return "SCHEDULED";
  if (only("IN_PROGRESS")) return "IN_PROGRESS";
  if (states.has("DECLINED")) return "REQUEST_DECLINED";
  return rest === "partial" ? "PARTIALLY_FULFILLED" : "UNFULFILLED";
}

function restPayload(t: Truth) {
  const at = new Date(NOW - t.ageDays * DAY).toISOString();
  return {
    id: 1001,
    name: "#1001",
    email: "ann@example.com",
    created_at: at,
    updated_at: at,
    cancelled_at: null,
    financial_status: t.financial.toLowerCase(),
    fulfillment_status: restStatus(t),
    currency: "EUR",
    total_price: "10.00",
    tags: "",
    location_id: t.pos ? 7 : null,
    line_items: t.lines.map((l, i) => ({
      id: 500 + i,
      sku: `SKU-${i}`,
      title: "Thing",
      quantity: l.quantity,
      current_quantity: l.quantity - l.removed,
      fulfillable_quantity: open(l),
      fulfillment_status: open(l) === 0 && l.fulfilled > 0 ? "fulfilled" : l.fulfilled > 0 ? "partial" : null,
      price: "1.00",
    })),
  };
}

function graphqlNode(t: Truth): GraphqlOrderNode {
  const at = new Date(NOW - t.ageDays * DAY).toISOString();
  return {
    id: "gid://shopify/Order/1001",
    name: "#1001",
    createdAt: at,
    updatedAt: at,
    cancelledAt: null,
    displayFinancialStatus: t.financial,
    displayFulfillmentStatus: displayStatus(t),
    email: "ann@example.com",
    phone: null,
    currencyCode: "EUR",
    tags: [],
    totalPriceSet: { shopMoney: { amount: "10.0" } },
    customer: null,
    purchasingEntity: null,
    billingAddress: null,
    shippingAddress: null,
    retailLocation: t.pos ? { id: "gid://shopify/Location/7" } : null,
    lineItems: {
      nodes: t.lines.map((l, i) => ({
        id: `gid://shopify/LineItem/${500 + i}`,
        sku: `SKU-${i}`,
        name: "Thing",
        quantity: l.quantity,
        currentQuantity: l.quantity - l.removed,
        unfulfilledQuantity: open(l),
        originalUnitPriceSet: { shopMoney: { amount: "1.0" } },
      })),
      pageInfo: { hasNextPage: false },
    },
  };
}

const lowerFinancial = FINANCIAL.map((f) => f.toLowerCase());
const settings = fc
  .record({
    financialStatuses: fc.subarray(lowerFinancial, { minLength: 1 }),
    fulfillmentStatuses: fc.subarray([...FULFILLMENT_FILTER], { minLength: 1 }),
    locationGids: fc.constantFrom(null, ["gid://shopify/Location/7"], ["gid://shopify/Location/8"]),
    importWithoutLocation: fc.boolean(),
    lastDays: fc.integer({ min: 1, max: 30 }),
  })
  .map((s) => orderSettingsSchema.parse(s));

describe("order filters: webhook and backfill paths agree", () => {
  it("for every combination of fulfillment-order states, payment states, locations and settings", () => {
    fc.assert(
      fc.property(truth, settings, (t, s) => {
        const fromHook = fromWebhookPayload(restPayload(t));
        const fromPoll = fromGraphqlOrder(graphqlNode(t));
        if (!fromHook.ok) throw new Error(fromHook.reason);
        if (!fromPoll.ok) throw new Error(fromPoll.reason);
        expect(fromPoll.order.fulfillmentStatus).toBe(fromHook.order.fulfillmentStatus);
        expect(fromPoll.order.financialStatus).toBe(fromHook.order.financialStatus);
        expect(importDecision(fromPoll.order, s, NOW)).toEqual(importDecision(fromHook.order, s, NOW));
      }),
      { numRuns: 2000 },
    );
  });

  it("imports held and scheduled orders like any unfulfilled one (holds park the shipment, not the reservation)", () => {
    const s = orderSettingsSchema.parse({});
    for (const state of ["ON_HOLD", "SCHEDULED", "IN_PROGRESS"] as const) {
      const t: Truth = {
        lines: [{ quantity: 2, removed: 0, fulfilled: 0, state }],
        financial: "PAID",
        pos: false,
        ageDays: 1,
      };
      expect(displayStatus(t)).toBe(state);
      const parsed = fromGraphqlOrder(graphqlNode(t));
      if (!parsed.ok) throw new Error(parsed.reason);
      expect(parsed.order.fulfillmentStatus).toBe("unfulfilled");
      expect(importDecision(parsed.order, s, NOW)).toEqual({ importable: true });
    }
  });

  it("sees a partial fulfillment behind ON_HOLD as partial on both paths", () => {
    const t: Truth = {
      lines: [
        { quantity: 2, removed: 0, fulfilled: 2, state: "OPEN" },
        { quantity: 1, removed: 0, fulfilled: 0, state: "ON_HOLD" },
      ],
      financial: "PAID",
      pos: true,
      ageDays: 0,
    };
    expect(displayStatus(t)).toBe("ON_HOLD");
    expect(restStatus(t)).toBe("partial");
    const a = fromGraphqlOrder(graphqlNode(t));
    const b = fromWebhookPayload(restPayload(t));
    expect(a.ok && a.order.fulfillmentStatus).toBe("partial");
    expect(b.ok && b.order.fulfillmentStatus).toBe("partial");
  });
});

describe("order filters against the emulator: every status Shopify's control API reaches", () => {
  let emulator: Emulator;
  let store: EmulatedStore;
  beforeAll(async () => {
    emulator = await startEmulator();
    store = await emulatedStore({
      emulator,
      domain: "filters.myshopify.com",
      skus: ["F-1", "F-2"],
      initial: () => 100,
    });
  });
  afterAll(async () => emulator?.close());

  it("the webhook payload and the backfill's read of each order give the same decision", async () => {
    const fo = (o: { fulfillmentOrders: { id: string }[] }) => o.fulfillmentOrders[0]!.id;
    const twoLines = [
      { sku: "F-1", quantity: 2 },
      { sku: "F-2", quantity: 1 },
    ];
    const place = (extra: Record<string, unknown> = {}) =>
      emulator.control.placeOrder(store.domain, { lineItems: twoLines, email: "f@example.com", ...extra });
    const orders = [
      place(),
      place({ sourceName: "pos", locationId: store.locations[0]!.id }),
      place({ fulfillAt: new Date(Date.now() + 86_400_000).toISOString() }),
      ...[
        "pending",
        "authorized",
        "partially_paid",
        "partially_refunded",
        "refunded",
        "voided",
        "expired",
      ].map((f) => place({ financialStatus: f })),
    ];
    const held = place();
    emulator.control.holdFulfillmentOrder(store.domain, fo(held), { reason: "AWAITING_PAYMENT" });
    const submitted = place();
    emulator.control.setFulfillmentRequestStatus(store.domain, fo(submitted), { requestStatus: "SUBMITTED" });
    const accepted = place();
    emulator.control.setFulfillmentRequestStatus(store.domain, fo(accepted), { requestStatus: "SUBMITTED" });
    emulator.control.setFulfillmentRequestStatus(store.domain, fo(accepted), { requestStatus: "ACCEPTED" });
    const rejected = place();
    emulator.control.setFulfillmentRequestStatus(store.domain, fo(rejected), { requestStatus: "REJECTED" });
    const fulfilled = place();
    emulator.control.fulfillOrder(store.domain, fulfilled.id);
    const partial = place();
    emulator.control.fulfillOrder(store.domain, partial.id, {
      lines: [
        { lineItemId: emulator.control.getOrder(store.domain, partial.id).lineItems[0]!.id, quantity: 2 },
      ],
    });
    orders.push(held, submitted, accepted, rejected, fulfilled, partial);

    const transport = createAdminTransport({
      store: store.domain,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock: systemClock,
      logger: createLogger("silent"),
    });
    const { data } = await transport.graphql<{ orders: { nodes: GraphqlOrderNode[] } }>(
      ORDERS_UPDATED_SINCE_QUERY,
      {
        first: ORDERS_PAGE,
        query: "updated_at:>'2000-01-01T00:00:00Z'",
      },
    );
    const byId = new Map(data.orders.nodes.map((n) => [n.id, n]));
    const displays = new Set<string>();
    const now = Date.now();
    const wide = orderSettingsSchema.parse({
      financialStatuses: FINANCIAL.map((f) => f.toLowerCase()),
      fulfillmentStatuses: [...FULFILLMENT_FILTER],
    });
    const narrow = orderSettingsSchema.parse({
      locationGids: [store.locations[0]!.id],
      importWithoutLocation: false,
    });
    for (const o of orders) {
      const node = byId.get(o.id);
      if (!node) throw new Error(`order ${o.id} not read`);
      displays.add(`${node.displayFulfillmentStatus}/${node.displayFinancialStatus}`);
      const hook = fromWebhookPayload(emulator.control.orderPayload(store.domain, o.id));
      const poll = fromGraphqlOrder(node);
      if (!hook.ok) throw new Error(hook.reason);
      if (!poll.ok) throw new Error(poll.reason);
      for (const settings of [orderSettingsSchema.parse({}), wide, narrow])
        expect(importDecision(poll.order, settings, now), `${o.id} ${node.displayFulfillmentStatus}`).toEqual(
          importDecision(hook.order, settings, now),
        );
    }
    // the statuses the two paths used to disagree on were all reached
    for (const d of ["ON_HOLD", "SCHEDULED", "IN_PROGRESS", "REQUEST_DECLINED", "PARTIALLY_FULFILLED"])
      expect(
        [...displays].some((x) => x.startsWith(`${d}/`)),
        d,
      ).toBe(true);
  });
});
