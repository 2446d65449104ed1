import { describe, expect, it } from "vitest";
import { fulfillmentFilterStatus, importDecision } from "./filters.ts";
import { DEFAULT_SETTINGS } from "./settings.ts";

const now = 100 * 24 * 3600_000;
const order = {
  fulfillmentStatus: "unfulfilled",
  financialStatus: "paid",
  locationGid: "gid://shopify/Location/1",
  updatedAt: now - 1000,
};

describe("importDecision", () => {
  it("imports a paid, unfulfilled, recent order", () => {
    expect(importDecision(order, DEFAULT_SETTINGS, now)).toEqual({ importable: true });
  });
  it("derives the fulfillment status from the lines alike on both paths", () => {
    const l = (fulfilledQuantity: number, fulfillableQuantity: number) => ({
      fulfilledQuantity,
      fulfillableQuantity,
    });
    expect(fulfillmentFilterStatus([l(0, 2)])).toBe("unfulfilled");
    expect(fulfillmentFilterStatus([l(1, 1)])).toBe("partial");
    expect(fulfillmentFilterStatus([l(2, 0), l(0, 0)])).toBe("fulfilled");
    expect(fulfillmentFilterStatus([l(0, 0)])).toBe("restocked");
  });
  it("skips other statuses, locations and old orders with a reason", () => {
    expect(importDecision({ ...order, financialStatus: "pending" }, DEFAULT_SETTINGS, now)).toMatchObject({
      status: "skipped",
      reason: expect.stringContaining("financial status pending"),
    });
    expect(importDecision({ ...order, fulfillmentStatus: "fulfilled" }, DEFAULT_SETTINGS, now)).toMatchObject(
      {
        status: "skipped",
      },
    );
    const only = { ...DEFAULT_SETTINGS, locationGids: ["gid://shopify/Location/2"] };
    expect(importDecision(order, only, now)).toMatchObject({ status: "skipped" });
    expect(importDecision({ ...order, locationGid: null }, only, now)).toEqual({ importable: true });
    expect(
      importDecision({ ...order, locationGid: null }, { ...only, importWithoutLocation: false }, now),
    ).toMatchObject({ status: "skipped", reason: "the order has no location" });
    expect(
      importDecision({ ...order, updatedAt: now - 15 * 24 * 3600_000 }, DEFAULT_SETTINGS, now),
    ).toMatchObject({
      status: "skipped",
    });
  });
});
