import { describe, expect, it } from "vitest";
import { importDecision } from "./filters.ts";
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
  it("makes on-hold and scheduled orders wait", () => {
    for (const s of ["on_hold", "scheduled"])
      expect(importDecision({ ...order, fulfillmentStatus: s }, DEFAULT_SETTINGS, now)).toMatchObject({
        importable: false,
        status: "waiting",
      });
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
