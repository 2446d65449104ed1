import { describe, expect, it } from "vitest";
import {
  adoptableFulfillments,
  type FulfillmentOrderNode,
  matchFulfillmentOrders,
  trackingInput,
  unshipped,
} from "./shipment-plan.ts";

const fo = (
  id: string,
  status: string,
  location: string,
  lines: [string, string, number][],
): FulfillmentOrderNode => ({
  id,
  status,
  locationGid: location,
  lineItems: lines.map(([foLine, line, remaining]) => ({
    id: foLine,
    lineGid: line,
    remainingQuantity: remaining,
    sku: null,
  })),
});

describe("matchFulfillmentOrders", () => {
  const here = new Set(["L1"]);
  it("takes each line from the fulfillment orders at the warehouse's locations, one group per fulfillment order", () => {
    const r = matchFulfillmentOrders(
      [
        { lineGid: "A", sku: "a", quantity: 2 },
        { lineGid: "B", sku: "b", quantity: 1 },
      ],
      [
        fo("F1", "OPEN", "L1", [["F1A", "A", 2]]),
        fo("F2", "IN_PROGRESS", "L1", [["F2B", "B", 3]]),
        fo("F3", "OPEN", "L2", [["F3B", "B", 5]]),
      ],
      here,
    );
    expect(r).toEqual({
      kind: "ok",
      groups: [
        { fulfillmentOrderGid: "F1", lines: [{ foLineGid: "F1A", lineGid: "A", quantity: 2 }] },
        { fulfillmentOrderGid: "F2", lines: [{ foLineGid: "F2B", lineGid: "B", quantity: 1 }] },
      ],
    });
  });
  it("parks on hold, rejects other locations, closed orders and quantities above what remains", () => {
    const one = [{ lineGid: "A", sku: "a", quantity: 2 }];
    expect(matchFulfillmentOrders(one, [fo("F1", "ON_HOLD", "L1", [["x", "A", 2]])], here)).toMatchObject({
      kind: "park",
      reason: expect.stringContaining("on hold"),
    });
    expect(matchFulfillmentOrders(one, [fo("F1", "IN_PROGRESS", "L2", [["x", "A", 2]])], here)).toMatchObject(
      {
        kind: "reject",
        reason: expect.stringContaining("location mismatch"),
      },
    );
    expect(matchFulfillmentOrders(one, [fo("F1", "CLOSED", "L1", [["x", "A", 0]])], here)).toMatchObject({
      kind: "reject",
      reason: expect.stringContaining("is closed"),
    });
    expect(matchFulfillmentOrders(one, [fo("F1", "OPEN", "L1", [["x", "A", 1]])], here)).toMatchObject({
      kind: "reject",
      reason: "quantity exceeds what remains in Shopify: line a (A) ships 2, 1 remain to fulfil",
    });
  });
});

describe("units Shopify expects at another location", () => {
  const here = new Set(["L1"]);
  it("moves only the units the shipment lacks, from open fulfillment orders, to where the order waits here", () => {
    // 3 units at L1, the merchant moved 1 to L2 (a split); the back office shipped 3 from L1's warehouse.
    const fos = [fo("F1", "OPEN", "L1", [["F1A", "A", 2]]), fo("F2", "OPEN", "L2", [["F2A", "A", 1]])];
    expect(matchFulfillmentOrders([{ lineGid: "A", sku: "a", quantity: 3 }], fos, here)).toEqual({
      kind: "move",
      locationGid: "L1",
      moves: [{ fulfillmentOrderGid: "F2", lines: [{ foLineGid: "F2A", quantity: 1 }] }],
    });
    // Two shipped: what waits here suffices, nothing moves.
    expect(matchFulfillmentOrders([{ lineGid: "A", sku: "a", quantity: 2 }], fos, here).kind).toBe("ok");
    // Nothing of the order here any more: the first of the warehouse's locations takes it.
    expect(
      matchFulfillmentOrders(
        [{ lineGid: "A", sku: "a", quantity: 2 }],
        [fo("F3", "OPEN", "L3", [["F3A", "A", 5]])],
        new Set(["L9", "L1"]),
      ),
    ).toEqual({
      kind: "move",
      locationGid: "L1",
      moves: [{ fulfillmentOrderGid: "F3", lines: [{ foLineGid: "F3A", quantity: 2 }] }],
    });
  });
  it("parks while the units elsewhere are on hold, refuses when too few are left anywhere", () => {
    const one = [{ lineGid: "A", sku: "a", quantity: 2 }];
    expect(
      matchFulfillmentOrders(
        one,
        [fo("F1", "OPEN", "L1", [["F1A", "A", 1]]), fo("F2", "ON_HOLD", "L2", [["F2A", "A", 1]])],
        here,
      ),
    ).toMatchObject({ kind: "park", reason: expect.stringContaining("on hold") });
    expect(
      matchFulfillmentOrders(
        [{ lineGid: "A", sku: "a", quantity: 3 }],
        [fo("F1", "OPEN", "L1", [["F1A", "A", 1]]), fo("F2", "OPEN", "L2", [["F2A", "A", 1]])],
        here,
      ),
    ).toMatchObject({ kind: "reject", reason: expect.stringContaining("quantity exceeds") });
  });
});

describe("helpers", () => {
  it("counts hub shipments and Shopify fulfilments once", () => {
    const line = { id: 1, gid: "A", sku: "a", variantId: 1, currentQuantity: 5, fulfilledQuantity: 2 };
    expect(unshipped(line, 0)).toBe(3);
    expect(unshipped(line, 2)).toBe(3);
    expect(unshipped(line, 4)).toBe(1);
  });
  it("sends URLs only when every package has one", () => {
    expect(
      trackingInput([
        { carrier: "UPS", trackingNumber: "1", trackingUrl: "https://u/1" },
        { carrier: null, trackingNumber: "2", trackingUrl: null },
      ]),
    ).toEqual({ company: "UPS", numbers: ["1", "2"] });
    expect(trackingInput([])).toBeNull();
  });
});

describe("adopting a fulfillment created by an attempt whose answer was lost", () => {
  const remaining = [
    { lineGid: "L1", quantity: 2 },
    { lineGid: "L2", quantity: 1 },
  ];
  const f = (gid: string, numbers: string[], lines: { lineGid: string; quantity: number }[]) => ({
    gid,
    trackingNumbers: numbers,
    lines,
  });

  it("adopts an unrecorded fulfillment with our tracking number and only lines we still ship", () => {
    const ours = f("F1", ["1Z-1"], [{ lineGid: "L1", quantity: 2 }]);
    expect(adoptableFulfillments(remaining, [ours], new Set(), ["1Z-1"])).toEqual([ours]);
  });

  it("leaves alone fulfillments already recorded, with other tracking, or with more than remains", () => {
    const recorded = f("F1", ["1Z-1"], [{ lineGid: "L1", quantity: 2 }]);
    const other = f("F2", ["OTHER"], [{ lineGid: "L1", quantity: 1 }]);
    const tooMuch = f("F3", ["1Z-1"], [{ lineGid: "L2", quantity: 3 }]);
    expect(adoptableFulfillments(remaining, [recorded, other, tooMuch], new Set(["F1"]), ["1Z-1"])).toEqual(
      [],
    );
    expect(adoptableFulfillments(remaining, [other], new Set(), [])).toEqual([]);
  });
});
