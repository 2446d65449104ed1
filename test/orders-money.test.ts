/**
 * Orders in money end to end (issue 11): each kind of order placed in the emulator reaches the
 * feed and the outbound notification with its taxes, discounts, shipping, duties, totals,
 * source, payments and refunds, exactly as the emulator (Shopify) states them; the GraphQL
 * backfill reads the same document; mapping misses park an order and adding the mapping
 * releases it; a late payment updates the order with its transaction; totals that do not add up
 * park the order with the numbers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { backfillOrders } from "../src/orders/backfill.ts";
import { importOrder } from "../src/orders/intake.ts";
import { checkTotals } from "../src/orders/money.ts";
import { fromWebhookPayload } from "../src/orders/shopify-order.ts";
import { DIALECTS } from "./support/databases.ts";
import { type Json, type MoneyWorld, moneyWorld } from "./support/money-world.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
  emulator.control.setWebhookOptions({ baseDelayMs: 20, timeoutMs: 5000 });
});
afterAll(async () => emulator?.close());

const NL = { firstName: "Ann", lastName: "Smit", address1: "Dam 1", city: "Amsterdam", countryCode: "NL" };
const VAT = [{ title: "VAT 21%", rate: "0.21" }];

describe.each(DIALECTS)("orders in money on %s", (dialect) => {
  let w: MoneyWorld;
  beforeAll(async () => {
    w = await moneyWorld(emulator, dialect, "money");
  });
  afterAll(async () => w?.close());

  /** The feed's money equals the emulator's totals, adds up, and the last outbound body carries the same document. */
  async function expectExact(gid: string) {
    const doc = await w.feed(gid);
    expect(doc, `order ${gid} in the hub`).toBeDefined();
    expect(doc.status, doc.parkReason).toBe("imported");
    const shop = emulator.control.getOrder(w.domain, gid);
    for (const k of ["subtotal", "discounts", "shipping", "tax", "duties", "total"] as const)
      expect(doc.money.totals[k], k).toEqual(shop.totals[k]);
    expect(doc.money.currency).toBe(shop.currency);
    expect(doc.money.presentmentCurrency).toBe(shop.presentmentCurrency);
    const check = checkTotals({
      ...doc.money,
      lines: doc.money.lines.map((l: Json) => ({ ...l, gid: l.shopifyLineId })),
    });
    expect(check.problems).toEqual([]);
    const sent = w.outbound.filter((o) => (o.body.order as Json)?.shopifyOrderId === gid).at(-1);
    expect(sent, "an outbound notification").toBeDefined();
    expect(sent!.body.version).toBe(2);
    expect((sent!.body.order as Json).money).toEqual(doc.money);
    return doc;
  }

  it("a web order: code and automatic discounts on lines, VAT excluded with two rates, shipping with carrier and tax, properties, note attributes, presentment currency", async () => {
    const o = w.place({
      lineItems: [
        {
          sku: "MSKU-0",
          quantity: 3,
          price: "19.99",
          taxLines: [
            { title: "State", rate: "0.0625" },
            { title: "County", rate: "0.0125" },
          ],
          properties: [{ name: "engraving", value: "A.S." }],
        },
        { sku: "MSKU-1", quantity: 1, price: "5.55", taxLines: [{ title: "State", rate: "0.0625" }] },
      ],
      discounts: [
        { code: "WELCOME10", valueType: "percentage", value: "10" },
        { kind: "automatic", title: "Spend more", valueType: "fixed_amount", value: "3.33" },
      ],
      shippingLines: [
        {
          title: "UPS Ground",
          code: "ups_ground",
          carrierIdentifier: "ups",
          price: "7.90",
          taxLines: [{ title: "State", rate: "0.0625" }],
        },
      ],
      noteAttributes: [{ name: "gift-wrap", value: "yes" }],
      note: "leave at the door",
      customerLocale: "en-US",
      presentmentCurrency: "CAD",
      exchangeRate: "1.3712",
      email: "web@example.com",
      shippingAddress: { ...NL, countryCode: "US", province: "California" },
    });
    await w.settle();
    const doc = await expectExact(o.gid);
    expect(doc.money.discountCodes).toEqual(["WELCOME10"]);
    expect(doc.money.discountApplications.map((a: Json) => a.type)).toEqual(["discount_code", "automatic"]);
    expect(doc.money.lines[0].discountAllocations.length).toBe(2);
    expect(doc.money.lines[0].taxLines.map((t: Json) => t.title)).toEqual(["State", "County"]);
    expect(doc.money.lines[0].properties).toEqual([{ name: "engraving", value: "A.S." }]);
    expect(doc.money.shippingLines[0]).toMatchObject({
      code: "ups_ground",
      carrierIdentifier: "ups",
      price: { shop: "7.90" },
    });
    expect(doc.money.noteAttributes).toEqual([{ name: "gift-wrap", value: "yes" }]);
    expect(doc.money.note).toBe("leave at the door");
    expect(doc.money.customerLocale).toBe("en-US");
    expect(doc.money.source.kind).toBe("web");
    expect(doc.money.payments.transactions).toMatchObject([
      { kind: "sale", status: "success", gateway: "shopify_payments", method: "card" },
    ]);
    expect(doc.money.payments.received).toEqual(doc.money.totals.total);
    expect(doc.money.taxesIncluded).toBe(false);
  });

  it("taxes included in prices: Shopify's per-line rounding, tax not added to the total", async () => {
    const o = w.place({
      lineItems: [
        { sku: "MSKU-2", quantity: 3, price: "9.99", taxLines: VAT },
        { sku: "MSKU-3", quantity: 1, price: "0.05", taxLines: VAT },
      ],
      taxesIncluded: true,
      discounts: [
        {
          kind: "manual",
          title: "Staff",
          valueType: "fixed_amount",
          value: "1.00",
          allocationMethod: "each",
        },
      ],
      shippingAddress: NL,
      email: "incl@example.com",
    });
    await w.settle();
    const doc = await expectExact(o.gid);
    expect(doc.money.taxesIncluded).toBe(true);
    // 3 × 9.99 = 29.97 − 3.00 = 26.97 incl. 21 % → 26.97 × 21/121 = 4.6806… → 4.68; 0.05 − 0.05 → 0.00
    expect(doc.money.lines[0].taxLines[0].amount.shop).toBe("4.68");
    expect(doc.money.totals.total.shop).toBe("26.97");
  });

  it("a gift card sold and paid by gift card and store credit: issued, never reserved, payments shown as such", async () => {
    const before = await w.call("GET", "/api/v1/stock?limit=500");
    const o = w.place({
      lineItems: [
        { giftCard: true, title: "Gift card €25", quantity: 1, price: "25.00" },
        { sku: "MSKU-4", quantity: 1, price: "30.00" },
      ],
      payments: [
        { gateway: "gift_card", amount: "20.00" },
        { gateway: "shopify_store_credit", amount: "15.00" },
        { gateway: "shopify_payments" },
      ],
      email: "gift@example.com",
    });
    await w.settle();
    const doc = await expectExact(o.gid);
    expect(doc.money.lines.map((l: Json) => l.giftCard)).toEqual([true, false]);
    expect(doc.money.payments.transactions.map((t: Json) => [t.method, t.amount.shop])).toEqual([
      ["gift_card", "20.00"],
      ["store_credit", "15.00"],
      ["card", "20.00"],
    ]);
    const after = await w.call("GET", "/api/v1/stock?limit=500");
    const reserved = (b: Json) => b.items.reduce((n: number, r: Json) => n + r.reserved, 0);
    expect(reserved(after.body) - reserved(before.body)).toBe(1);
  });

  it("duties on a cross-border order", async () => {
    const o = w.place({
      lineItems: [
        {
          sku: "MSKU-5",
          quantity: 2,
          price: "40.00",
          duty: { amount: "6.40", harmonizedSystemCode: "6109.10", countryCodeOfOrigin: "PT" },
        },
      ],
      shippingLines: [
        { title: "DHL Express", code: "dhl_express", carrierIdentifier: "dhl", price: "12.00" },
      ],
      email: "duty@example.com",
    });
    await w.settle();
    const doc = await expectExact(o.gid);
    expect(doc.money.lines[0].duties).toEqual([
      {
        amount: { shop: "6.40", presentment: "6.40" },
        harmonizedSystemCode: "6109.10",
        countryOfOrigin: "PT",
      },
    ]);
    expect(doc.money.totals.total.shop).toBe("98.40");
  });

  it("a POS sale with its location and staff member; a draft order", async () => {
    const pos = w.place({
      lineItems: [{ sku: "MSKU-6", quantity: 1, price: "12.00" }],
      locationId: w.store.locations[1]!.id,
      staffMember: { name: "Sam Till" },
      fulfilled: true,
    });
    const draft = w.place({
      lineItems: [{ sku: "MSKU-6", quantity: 1 }],
      sourceName: "shopify_draft_order",
      email: "draft@example.com",
    });
    await w.settle();
    const p = await expectExact(pos.gid);
    expect(p.money.source).toMatchObject({ kind: "pos", name: "pos", locationId: w.store.locations[1]!.id });
    expect(p.money.source.staffMemberId).toMatch(/^gid:\/\/shopify\/StaffMember\/\d+$/);
    const d = await expectExact(draft.gid);
    expect(d.money.source.kind).toBe("draft");
  });

  it("a B2B order on net terms, paid later: imported pending, updated with the transaction when Shopify records the payment", async () => {
    const o = w.place({
      lineItems: [{ sku: "MSKU-7", quantity: 10, price: "8.00", taxLines: VAT }],
      company: { name: "Acme BV" },
      companyLocation: { name: "Acme Rotterdam" },
      paymentTerms: { type: "NET", dueInDays: 30 },
      email: "buyer@acme.example",
      shippingAddress: NL,
    });
    await w.settle();
    const first = await expectExact(o.gid);
    expect(first.financialStatus).toBe("pending");
    expect(first.money.source).toMatchObject({
      kind: "b2b",
      paymentTerms: { type: "net", dueInDays: 30, completedAt: null },
    });
    expect(first.money.source.companyLocationId).toMatch(/CompanyLocation/);
    expect(first.money.payments.transactions).toEqual([]);
    const seqBefore = first.feedSeq;
    emulator.control.advanceTime(1000);
    emulator.control.payOrder(w.domain, o.gid, { gateway: "bank_transfer" });
    await w.settle();
    const paid = await expectExact(o.gid);
    expect(paid.financialStatus).toBe("paid");
    expect(paid.feedSeq).toBeGreaterThan(seqBefore);
    expect(paid.money.payments.transactions).toMatchObject([
      { kind: "sale", status: "success", gateway: "bank_transfer", amount: first.money.totals.total },
    ]);
    expect(paid.money.source.paymentTerms.completedAt).not.toBeNull();
    // The back office was told, with the new transaction.
    const told = w.outbound.filter(
      (e) => (e.body.order as Json)?.shopifyOrderId === o.gid && e.type === "order.updated",
    );
    expect(told.some((e) => (e.body.order as Json).money.payments.transactions.length === 1)).toBe(true);
  });

  it("a partial refund carries the money refunded per line, shipping and the transactions that paid it out", async () => {
    const o = w.place({
      lineItems: [
        { sku: "MSKU-8", quantity: 2, price: "50.00", taxLines: VAT },
        { sku: "MSKU-9", quantity: 1, price: "20.00", taxLines: VAT },
      ],
      shippingLines: [{ title: "Standard", code: "std", price: "4.95", taxLines: VAT }],
      payments: [{ gateway: "gift_card", amount: "10.00" }, { gateway: "shopify_payments" }],
      shippingAddress: NL,
      email: "refund@example.com",
    });
    await w.settle();
    emulator.control.advanceTime(1000);
    const shop = emulator.control.getOrder(w.domain, o.gid);
    emulator.control.createRefund(w.domain, o.gid, {
      lineItems: [{ lineItemId: shop.lineItems[0]!.id, quantity: 1, restockType: "CANCEL" }],
      shipping: { full: true },
    });
    await w.settle();
    const doc = await w.feed(o.gid);
    expect(doc.money.refunds).toHaveLength(1);
    const r = doc.money.refunds[0];
    expect(r.lines).toEqual([
      {
        shopifyLineId: shop.lineItems[0]!.id,
        quantity: 1,
        subtotal: { shop: "50.00", presentment: "50.00" },
        tax: { shop: "10.50", presentment: "10.50" },
      },
    ]);
    expect(r.shipping).toEqual([
      { subtotal: { shop: "4.95", presentment: "4.95" }, tax: { shop: "1.04", presentment: "1.04" } },
    ]);
    expect(r.total.shop).toBe("66.49");
    expect(r.transactions).toMatchObject([
      { kind: "refund", gateway: "shopify_payments", method: "card", amount: { shop: "66.49" } },
    ]);
    expect(w.outbound.some((e) => (e.body.order as Json)?.money?.refunds?.length === 1)).toBe(true);
  });

  it("the GraphQL backfill reads the same document as the webhooks (nothing changes)", async () => {
    const r = await backfillOrders(w.hub.ctx, w.transport, w.storeId, { rereadMoney: true });
    expect(r.outcomes.unreadable ?? 0).toBe(0);
    expect(r.outcomes.updated ?? 0).toBe(0);
    expect(r.outcomes.unchanged).toBeGreaterThan(5);
  });

  it("an order whose parts do not add up is parked with the numbers", async () => {
    const o = w.place({
      lineItems: [{ sku: "MSKU-0", quantity: 1, price: "10.00" }],
      email: "bad@example.com",
    });
    await w.settle();
    const body = emulator.control.orderPayload(w.domain, o.gid) as Json;
    const bad = {
      ...body,
      updated_at: new Date(Date.parse(body.updated_at) + 5000).toISOString(),
      total_price: "10.01",
      total_price_set: { shop_money: { amount: "10.01" }, presentment_money: { amount: "10.01" } },
    };
    const parsed = fromWebhookPayload(bad);
    if (!parsed.ok) throw new Error(parsed.reason);
    await importOrder(w.hub.ctx, w.storeId, parsed.order);
    const problems = await w.call("GET", `/api/v1/order-problems?store=${w.domain}`);
    const p = problems.body.items.find((i: Json) => i.shopifyOrderId === o.gid);
    expect(p.reason).toContain("total does not add up");
    expect(p.reason).toContain("= 10.00, Shopify says 10.01");
  });
});

describe.each(DIALECTS)("mapping misses on %s", (dialect) => {
  let w: MoneyWorld;
  beforeAll(async () => {
    w = await moneyWorld(emulator, dialect, "mapping");
  });
  afterAll(async () => w?.close());

  const full = () => ({
    paymentGateways: { shopify_payments: "CARD" },
    shippingLines: [{ code: "std", carrier: "POSTNL", service: "STD" }],
    taxLines: [{ title: "VAT 21%", rate: "0.21", country: "NL", taxCode: "V21" }],
    sources: { web: "WEB", pos: "SHOP" },
    posLocations: { [w.store.locations[1]!.id]: "BRANCH-1" },
  });

  async function parkedThenReleased(
    input: Parameters<MoneyWorld["place"]>[0],
    without: Record<string, unknown>,
    reason: string,
  ) {
    const put = await w.call("PUT", `/api/v1/stores/${w.domain}/order-mappings`, without);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const o = w.place(input);
    await w.settle();
    let doc = await w.feed(o.gid);
    expect(doc?.status ?? (await statusOf(o.gid))).toBe("parked");
    const problems = await w.call("GET", `/api/v1/order-problems?store=${w.domain}&status=parked`);
    expect(problems.body.items.find((i: Json) => i.shopifyOrderId === o.gid).reason).toContain(reason);
    const release = await w.call("PUT", `/api/v1/stores/${w.domain}/order-mappings`, full());
    expect(release.status).toBe(200);
    expect(release.body.reprocessed.imported ?? 0).toBeGreaterThanOrEqual(1);
    await w.settle();
    doc = await w.feed(o.gid);
    expect(doc.status).toBe("imported");
    expect(
      w.outbound.some((e) => e.type === "order.created" && (e.body.order as Json).shopifyOrderId === o.gid),
    ).toBe(true);
    return doc;
  }
  const statusOf = async (gid: string) =>
    (
      await w.hub.ctx.database.db
        .selectFrom("orders")
        .select("status")
        .where("shopify_order_gid", "=", gid)
        .executeTakeFirstOrThrow()
    ).status;

  it("a tax line without a tax code", async () => {
    const doc = await parkedThenReleased(
      {
        lineItems: [{ sku: "MSKU-1", quantity: 1, price: "10.00", taxLines: VAT }],
        shippingAddress: NL,
        email: "t@example.com",
      },
      { ...full(), taxLines: [{ title: "VAT 9%", rate: "0.09", country: "NL", taxCode: "V9" }] },
      "tax line 'VAT 21%' at 21% for NL has no tax code",
    );
    expect(doc.money.lines[0].taxLines[0].taxCode).toBe("V21");
    expect(doc.money.payments.gateways).toEqual([
      { gateway: "shopify_payments", method: "card", paymentMethod: "CARD" },
    ]);
    expect(doc.money.source.salesChannel).toBe("WEB");
  });

  it("a payment gateway without a payment method", async () => {
    await parkedThenReleased(
      {
        lineItems: [{ sku: "MSKU-1", quantity: 1, price: "10.00" }],
        payments: [{ gateway: "shopify_payments" }],
        email: "g@example.com",
      },
      { ...full(), paymentGateways: { gift_card: "GC" } },
      "payment gateway 'shopify_payments' has no payment method",
    );
  });

  it("a shipping line without carrier and service codes", async () => {
    const doc = await parkedThenReleased(
      {
        lineItems: [{ sku: "MSKU-1", quantity: 1, price: "10.00" }],
        shippingLines: [{ title: "Standard", code: "std", price: "3.00" }],
        email: "s@example.com",
      },
      { ...full(), shippingLines: [{ code: "express", carrier: "DHL", service: "EXP" }] },
      "shipping line 'Standard' (code std) has no carrier and service code",
    );
    expect(doc.money.shippingLines[0]).toMatchObject({ carrierCode: "POSTNL", serviceCode: "STD" });
  });

  it("a source and a POS location without a sales channel and a branch", async () => {
    const doc = await parkedThenReleased(
      {
        lineItems: [{ sku: "MSKU-1", quantity: 1, price: "10.00" }],
        locationId: w.store.locations[1]!.id,
        staffMember: { name: "Kim" },
        fulfilled: true,
      },
      { ...full(), sources: { web: "WEB" }, posLocations: {} },
      "source 'pos' has no sales channel",
    );
    expect(doc.money.source).toMatchObject({ kind: "pos", salesChannel: "SHOP", branch: "BRANCH-1" });
  });

  it("mappings are validated and read back", async () => {
    const bad = await w.call("PUT", `/api/v1/stores/${w.domain}/order-mappings`, {
      taxLines: [{ title: "VAT", rate: "21%", taxCode: "X" }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBeDefined();
    const got = await w.call("GET", `/api/v1/stores/${w.domain}/order-mappings`);
    expect(got.body.paymentGateways).toEqual({ shopify_payments: "CARD" });
    const unknown = await w.call("GET", "/api/v1/stores/nope.myshopify.com/order-mappings");
    expect(unknown.status).toBe(404);
  });
});
