import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compareVersion,
  contentHash,
  desiredReservations,
  lastAt,
  progressOf,
  type Reservation,
  reservationChanges,
} from "./order-merge.ts";
import type { ShopifyOrder } from "./shopify-order.ts";

const base: ShopifyOrder = {
  gid: "gid://shopify/Order/1",
  name: "#1001",
  createdAt: 1_000,
  updatedAt: 2_000,
  cancelledAt: null,
  financialStatus: "paid",
  fulfillmentStatus: "unfulfilled",
  locationGid: "gid://shopify/Location/1",
  email: "a@example.com",
  phone: null,
  customerName: "A B",
  companyName: null,
  currency: "USD",
  totalPrice: "10.00",
  tags: [],
  billingAddress: null,
  shippingAddress: null,
  lines: [
    {
      gid: "gid://shopify/LineItem/1",
      sku: "S1",
      title: "t",
      quantity: 2,
      currentQuantity: 2,
      fulfilledQuantity: 0,
      fulfillableQuantity: 2,
      price: "5.00",
    },
  ],
};
const stored = (o: ShopifyOrder) => ({
  updatedAt: o.updatedAt,
  progress: progressOf(o),
  contentHash: contentHash(o),
});

describe("compareVersion", () => {
  it("never lets an older updatedAt win", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e12 }),
        fc.integer({ min: 1, max: 1e9 }),
        fc.boolean(),
        (t, d, cancel) => {
          const newer = { ...base, updatedAt: t + d };
          const older = { ...base, updatedAt: t, cancelledAt: cancel ? t : null };
          expect(compareVersion(older, stored(newer))).toBe("older");
          expect(compareVersion(newer, stored(older))).toBe("newer");
        },
      ),
    );
  });
  it("treats a re-delivery as the same version, and a tag-only change as content-equal", () => {
    expect(compareVersion(base, stored(base))).toBe("same");
    expect(compareVersion({ ...base, tags: ["x"] }, stored(base))).toBe("same");
  });
  it("orders two versions of the same instant by progress", () => {
    const cancelled = { ...base, cancelledAt: 2_000 };
    expect(compareVersion(cancelled, stored(base))).toBe("newer");
    expect(compareVersion(base, stored(cancelled))).toBe("older");
  });
});

describe("reservations", () => {
  it("reserve what is left to ship, released when inactive (cancelled)", () => {
    const lines = [
      { variantId: 1, fulfillableQuantity: 2 },
      { variantId: 1, fulfillableQuantity: 1 },
      { variantId: null, fulfillableQuantity: 5 },
      { variantId: 2, fulfillableQuantity: 0 },
    ];
    expect(desiredReservations(lines, 7, true)).toEqual([{ variantId: 1, warehouseId: 7, quantity: 3 }]);
    expect(desiredReservations(lines, 7, false)).toEqual([]);
    expect(reservationChanges([{ variantId: 1, warehouseId: 7, quantity: 3 }], [])).toEqual([
      { variantId: 1, warehouseId: 7, quantity: -3 },
    ]);
  });
  it("a line's units wait where its fulfillment orders are, the rest at the order's warehouse", () => {
    const lines = [
      { variantId: 1, fulfillableQuantity: 2, at: [{ warehouseId: 8, quantity: 1 }] },
      { variantId: 1, fulfillableQuantity: 1, at: [{ warehouseId: 8, quantity: 3 }] },
      { variantId: 2, fulfillableQuantity: 1, at: [] },
    ];
    expect(desiredReservations(lines, 7, true)).toEqual([
      { variantId: 1, warehouseId: 8, quantity: 2 },
      { variantId: 1, warehouseId: 7, quantity: 1 },
      { variantId: 2, warehouseId: 7, quantity: 1 },
    ]);
  });
  it("applying the changes to the current reservation gives the desired one", () => {
    const res = fc.array(
      fc.record({
        variantId: fc.integer({ min: 1, max: 4 }),
        warehouseId: fc.integer({ min: 1, max: 2 }),
        quantity: fc.integer({ min: 1, max: 9 }),
      }),
      { maxLength: 6 },
    );
    const total = (rs: readonly Reservation[]) => {
      const m = new Map<string, number>();
      for (const r of rs)
        m.set(
          `${r.variantId}:${r.warehouseId}`,
          (m.get(`${r.variantId}:${r.warehouseId}`) ?? 0) + r.quantity,
        );
      for (const [k, v] of m) if (v === 0) m.delete(k);
      return m;
    };
    fc.assert(
      fc.property(res, res, (current, desired) => {
        const changes = reservationChanges(current, desired);
        expect(total([...current, ...changes])).toEqual(total(desired));
      }),
    );
  });
});

describe("a split line with units shipped, not fulfilled yet", () => {
  it("reserves what is left where Shopify will still commit it after the delivery", () => {
    // 3 units: 2 wait at W2, 1 at W1 (the merchant moved it); 2 shipped from W1, 1 left to reserve.
    // Delivery fulfils both at W1 (moving one there from W2), so the last unit waits at W2.
    const at = [
      { warehouseId: 1, quantity: 1 },
      { warehouseId: 2, quantity: 2 },
    ];
    expect(
      desiredReservations([{ variantId: 7, fulfillableQuantity: 1, at: lastAt(at, new Set([1])) }], 1, true),
    ).toEqual([{ variantId: 7, warehouseId: 2, quantity: 1 }]);
    expect(lastAt(at, undefined)).toEqual(at);
    expect(lastAt(undefined, new Set([1]))).toBeUndefined();
  });
});
