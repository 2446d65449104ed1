/**
 * Property: for random orders (lines, prices, tax rates, taxes included or not, discount codes
 * and automatic discounts on lines and shipping, shipping lines, presentment currencies, partial
 * refunds with or without shipping), the order document in the feed adds up exactly — lines −
 * discounts + shipping + tax (unless included) + duties = total in both currencies, each refund's
 * parts equal the money paid out — and its totals equal the emulator's (Shopify's), on both
 * databases. ORDERS_MONEY_RUNS raises the number of orders (default 20 per database).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import type { PlaceOrderInput } from "../emulator/orders.ts";
import { checkTotals, sum, units } from "../src/orders/money.ts";
import { DIALECTS } from "./support/databases.ts";
import { type Json, MONEY_SKUS, type MoneyWorld, moneyWorld } from "./support/money-world.ts";

const RUNS = Number(process.env.ORDERS_MONEY_RUNS ?? 20);

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
  emulator.control.setWebhookOptions({ baseDelayMs: 20, timeoutMs: 5000 });
});
afterAll(async () => emulator?.close());

const cents = (min: number, max: number) =>
  fc.integer({ min, max }).map((c) => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, "0")}`);
const RATES = ["0.21", "0.09", "0.0625", "0.19", "0.075", "0.2"];
const taxes = fc
  .subarray(RATES, { maxLength: 2 })
  .map((rs) => rs.map((rate) => ({ title: `Tax ${rate}`, rate })));

const orderArb = fc.record({
  lines: fc.array(
    fc.record({
      sku: fc.constantFrom(...MONEY_SKUS),
      quantity: fc.integer({ min: 1, max: 5 }),
      price: cents(1, 50_000),
      taxLines: taxes,
    }),
    { minLength: 1, maxLength: 4 },
  ),
  taxesIncluded: fc.boolean(),
  discounts: fc.array(
    fc.oneof(
      fc.record({
        code: fc.constantFrom("SAVE", "VIP", "FRIENDS"),
        valueType: fc.constant("percentage" as const),
        value: fc.integer({ min: 1, max: 100 }).map(String),
        target: fc.constantFrom("line_item" as const, "shipping_line" as const),
      }),
      fc.record({
        kind: fc.constant("automatic" as const),
        title: fc.constant("Auto"),
        valueType: fc.constant("fixed_amount" as const),
        value: cents(1, 3_000),
        allocationMethod: fc.constantFrom("across" as const, "each" as const),
      }),
    ),
    { maxLength: 2 },
  ),
  shipping: fc.array(fc.record({ price: cents(0, 2_500), taxLines: taxes }), { maxLength: 2 }),
  duty: fc.option(cents(1, 2_000), { nil: undefined }),
  fx: fc.constantFrom("1", "1.0837", "0.9123", "156.25"),
  refund: fc.option(
    fc.record({ line: fc.nat(), quantity: fc.integer({ min: 1, max: 5 }), shipping: fc.boolean() }),
    { nil: undefined },
  ),
});

describe.each(DIALECTS)("feed money adds up on %s", (dialect) => {
  let w: MoneyWorld;
  beforeAll(async () => {
    w = await moneyWorld(emulator, dialect, "money-prop");
  });
  afterAll(async () => w?.close());

  it(`${RUNS} random orders: exact totals equal to the emulator's`, { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(orderArb, async (g) => {
        const input: PlaceOrderInput = {
          lineItems: g.lines.map((l, i) => ({
            ...l,
            ...(i === 0 && g.duty ? { duty: { amount: g.duty, harmonizedSystemCode: "6109.10" } } : {}),
          })),
          taxesIncluded: g.taxesIncluded,
          discounts: g.discounts,
          shippingLines: g.shipping.map((s, i) => ({ title: `Ship ${i}`, code: `ship-${i}`, ...s })),
          ...(g.fx === "1" ? {} : { presentmentCurrency: "EUR", exchangeRate: g.fx }),
          email: "prop@example.com",
        };
        const o = w.place(input);
        if (g.refund) {
          // The order is in the hub before its refund: a refund that cancels every unit first
          // would make it `restocked`, which the store's import filter skips.
          await w.settle();
          const shop = emulator.control.getOrder(w.domain, o.gid);
          const line = shop.lineItems[g.refund.line % shop.lineItems.length]!;
          emulator.control.advanceTime(1000);
          emulator.control.createRefund(w.domain, o.gid, {
            lineItems: [
              {
                lineItemId: line.id,
                quantity: Math.min(g.refund.quantity, line.quantity),
                restockType: "CANCEL",
              },
            ],
            ...(g.refund.shipping ? { shipping: { full: true } } : {}),
          });
        }
        await w.settle();
        const doc: Json = await w.feed(o.gid);
        expect(doc?.status, doc?.parkReason).toBe("imported");
        const m = doc.money;
        const check = checkTotals({
          ...m,
          lines: m.lines.map((l: Json) => ({ ...l, gid: l.shopifyLineId })),
        });
        expect(check.problems).toEqual([]);
        const shop = emulator.control.getOrder(w.domain, o.gid);
        for (const k of ["subtotal", "discounts", "shipping", "tax", "duties", "total"] as const)
          expect(m.totals[k], k).toEqual(shop.totals[k]);
        // Every refund: its parts make what was paid out, and the emulator paid out the same.
        for (const r of m.refunds) {
          const parts = sum([
            ...r.lines.flatMap((l: Json) => [l.subtotal.shop, m.taxesIncluded ? "0" : l.tax.shop]),
            ...r.shipping.flatMap((s: Json) => [s.subtotal.shop, m.taxesIncluded ? "0" : s.tax.shop]),
            ...r.adjustments.map((a: Json) => a.amount.shop),
          ]);
          expect(units(r.total.shop)).toBe(units(parts));
        }
        const refunded = shop.transactions.filter((t) => t.kind === "refund").map((t) => t.amount);
        expect(units(m.payments.refunded.shop)).toBe(units(sum(refunded)));
        expect(units(sum(m.refunds.map((r: Json) => r.total.shop)))).toBe(units(sum(refunded)));
      }),
      { numRuns: RUNS, seed: Number(process.env.ORDERS_MONEY_SEED ?? 20261111) },
    );
  });
});
