/**
 * The order document as a contract: the OpenAPI document describes the feed, the order detail,
 * the outbound event and the mappings with examples, and real answers (orders of every kind,
 * a late payment, a refund) validate against that description — so a back office can be built
 * from the OpenAPI document alone.
 */
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { ORDER_DOCUMENT_EXAMPLE } from "../src/orders/feed-document.ts";
import { checkTotals } from "../src/orders/money.ts";
import { type Json, type MoneyWorld, moneyWorld } from "./support/money-world.ts";

let emulator: Emulator;
let w: MoneyWorld;
beforeAll(async () => {
  emulator = await startEmulator();
  emulator.control.setWebhookOptions({ baseDelayMs: 20, timeoutMs: 5000 });
  w = await moneyWorld(emulator, "sqlite", "contract");
});
afterAll(async () => {
  await w?.close();
  await emulator?.close();
});

/** The success schema of an operation, with OpenAPI 3.0's `nullable` turned into JSON Schema. */
function responseSchema(doc: Json, path: string, method: string): Json {
  const op = doc.paths[path]?.[method];
  expect(op, `${method.toUpperCase()} ${path} in the OpenAPI document`).toBeDefined();
  return toJsonSchema(op.responses["200"].content["application/json"].schema);
}

function toJsonSchema(s: Json): Json {
  if (Array.isArray(s)) return s.map(toJsonSchema);
  if (s === null || typeof s !== "object") return s;
  const out: Json = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === "nullable" || k === "example" || k === "examples") continue;
    out[k] =
      k === "properties"
        ? Object.fromEntries(Object.entries(v as object).map(([p, x]) => [p, toJsonSchema(x)]))
        : toJsonSchema(v);
  }
  if (s.nullable === true) return { anyOf: [out, { type: "null" }] };
  return out;
}

describe("the order document against its OpenAPI description", () => {
  it("describes the feed, the order, the outbound event and the mappings, with examples that add up", async () => {
    const { body: doc } = await w.call("GET", "/api/v1/openapi.json");
    const order = doc.paths["/api/v1/orders/{id}"].get.responses["200"].content["application/json"].schema;
    expect(JSON.stringify(order)).toContain("examples");
    expect(order.properties.money).toBeDefined();
    expect(doc.paths["/api/v1/outbound/events/{id}"].get).toBeDefined();
    expect(doc.paths["/api/v1/stores/{domain}/order-mappings"].put.requestBody).toBeDefined();
    const ajv = new Ajv({ strict: false, allErrors: true });
    const valid = ajv.compile(responseSchema(doc, "/api/v1/orders/{id}", "get"));
    expect(valid(ORDER_DOCUMENT_EXAMPLE), JSON.stringify(valid.errors)).toBe(true);
    const m = ORDER_DOCUMENT_EXAMPLE.money;
    expect(
      checkTotals({
        ...m,
        lines: m.lines.map((l) => ({ ...l, gid: l.shopifyLineId, variantGid: null })),
      } as Json).problems,
    ).toEqual([]);
  });

  it("real answers validate: orders of every kind, a late payment, a refund, the feed page and outbound bodies", async () => {
    const NL = { firstName: "A", lastName: "B", address1: "Dam 1", city: "Amsterdam", countryCode: "NL" };
    const VAT = [{ title: "VAT", rate: "0.21" }];
    const gids = [
      w.place({
        lineItems: [
          {
            sku: "MSKU-0",
            quantity: 2,
            price: "12.50",
            taxLines: VAT,
            properties: [{ name: "size", value: "L" }],
          },
        ],
        discounts: [{ code: "TEN", valueType: "percentage", value: "10" }],
        shippingLines: [
          { title: "PostNL", code: "postnl", carrierIdentifier: "postnl", price: "4.95", taxLines: VAT },
        ],
        shippingAddress: NL,
        email: "c1@example.com",
        noteAttributes: [{ name: "ref", value: "X1" }],
        customerLocale: "nl",
      }).gid,
      w.place({
        lineItems: [
          { giftCard: true, quantity: 1, price: "50.00" },
          { sku: "MSKU-1", quantity: 1, price: "9.99", duty: { amount: "1.20" } },
        ],
        payments: [{ gateway: "shopify_store_credit", amount: "10.00" }, { gateway: "shopify_payments" }],
        taxesIncluded: true,
        presentmentCurrency: "USD",
        exchangeRate: "1.08",
        email: "c2@example.com",
      }).gid,
      w.place({ lineItems: [{ sku: "MSKU-2", quantity: 1 }], staffMember: { name: "Till" }, fulfilled: true })
        .gid,
      w.place({
        lineItems: [{ sku: "MSKU-3", quantity: 4, price: "3.00" }],
        company: { name: "Contract BV" },
        paymentTerms: { dueInDays: 14 },
        email: "b2b@example.com",
      }).gid,
    ];
    await w.settle();
    emulator.control.advanceTime(1000);
    emulator.control.payOrder(w.domain, gids[3]!, { gateway: "bank_transfer" });
    const first = emulator.control.getOrder(w.domain, gids[0]!);
    emulator.control.createRefund(w.domain, gids[0]!, {
      lineItems: [{ lineItemId: first.lineItems[0]!.id, quantity: 1 }],
      shipping: { full: true },
    });
    await w.settle();

    const { body: doc } = await w.call("GET", "/api/v1/openapi.json");
    const ajv = new Ajv({ strict: false, allErrors: true });
    const one = ajv.compile(responseSchema(doc, "/api/v1/orders/{id}", "get"));
    const page = ajv.compile(responseSchema(doc, "/api/v1/orders", "get"));
    const event = ajv.compile(responseSchema(doc, "/api/v1/outbound/events/{id}", "get"));
    const mappings = ajv.compile(responseSchema(doc, "/api/v1/stores/{domain}/order-mappings", "get"));
    for (const gid of gids) {
      const order = await w.feed(gid);
      expect(one(order), `${gid}: ${JSON.stringify(one.errors)}`).toBe(true);
      expect(order.money).not.toBeNull();
    }
    const feed = await w.call("GET", "/api/v1/orders?limit=500");
    expect(page(feed.body), JSON.stringify(page.errors)).toBe(true);
    const events = await w.hub.ctx.database.db.selectFrom("outbound_events").select("id").execute();
    expect(events.length).toBeGreaterThanOrEqual(gids.length + 2);
    for (const e of events) {
      const got = await w.call("GET", `/api/v1/outbound/events/${e.id}`);
      expect(event(got.body), `event ${e.id}: ${JSON.stringify(event.errors)}`).toBe(true);
    }
    // What the back office receives is the same body as the one described.
    for (const sent of w.outbound)
      expect(
        event({
          id: 1,
          eventId: "x",
          type: sent.type,
          status: "delivered",
          attempts: 1,
          lastError: null,
          body: sent.body,
        }),
        JSON.stringify(event.errors),
      ).toBe(true);
    const got = await w.call("GET", `/api/v1/stores/${w.domain}/order-mappings`);
    expect(mappings(got.body), JSON.stringify(mappings.errors)).toBe(true);
  });
});
