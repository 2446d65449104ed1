import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  batchesOf,
  itemRetryDelayMs,
  planPush,
  readyMarks,
  rejectedIndexes,
  type SyncTarget,
} from "./planner.ts";

const target = (over: Partial<SyncTarget>): SyncTarget => ({
  variantId: 1,
  inventoryItemGid: "gid://shopify/InventoryItem/1",
  locationGid: "gid://shopify/Location/1",
  desired: 5,
  sellable: 5,
  committed: 0,
  confirmed: 5,
  pushed: 5,
  recheck: false,
  retryAt: null,
  error: null,
  ...over,
});

describe("push planner", () => {
  it("waits out the window from the first mark, so bursts coalesce but a busy SKU is not starved", () => {
    const marks = [
      { variantId: 1, firstMarkedAt: 1000, generation: 40 },
      { variantId: 2, firstMarkedAt: 2500, generation: 1 },
    ];
    expect(readyMarks(marks, 2999, 2000)).toEqual({ ready: [], nextAt: 3000 });
    expect(readyMarks(marks, 3000, 2000)).toEqual({ ready: [marks[0]], nextAt: 4500 });
  });

  it("sets absolute quantities compare-and-set against the last confirmed value", () => {
    const plan = planPush(
      [target({ desired: 7, confirmed: 5 }), target({ variantId: 2, desired: 3, confirmed: 3 })],
      "absolute",
      0,
    );
    expect(plan.sets).toEqual([
      {
        variantId: 1,
        inventoryItemId: "gid://shopify/InventoryItem/1",
        locationId: "gid://shopify/Location/1",
        quantity: 7,
        changeFromQuantity: 5,
      },
    ]);
    expect(plan.needsRead).toEqual([]);
  });

  it("reads before setting when Shopify's value was never confirmed", () => {
    const t = target({ confirmed: null });
    expect(planPush([t], "absolute", 0)).toMatchObject({ sets: [], needsRead: [t] });
  });

  it("sends only the hub's change in delta mode, and only records the baseline the first time", () => {
    const first = target({ pushed: null, desired: 9, confirmed: 40 });
    expect(planPush([first], "delta", 0)).toMatchObject({ adjusts: [], baselines: [first] });
    const plan = planPush([target({ pushed: 9, desired: 6, confirmed: 40 })], "delta", 0);
    expect(plan.adjusts).toEqual([
      expect.objectContaining({ delta: -3, changeFromQuantity: null, desired: 6 }),
    ]);
  });

  it("plans nothing for targets already in sync, and every change exactly once", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ desired: fc.nat(50), confirmed: fc.option(fc.nat(50)), pushed: fc.option(fc.nat(50)) }),
          { maxLength: 30 },
        ),
        fc.constantFrom("absolute" as const, "delta" as const),
        (raw, mode) => {
          const targets = raw.map((r, i) =>
            target({ ...r, variantId: i, inventoryItemGid: `gid://shopify/InventoryItem/${i}` }),
          );
          const plan = planPush(targets, mode, 0);
          const planned = [...plan.sets, ...plan.adjusts, ...plan.needsRead, ...plan.baselines].map(
            (p) => p.variantId,
          );
          expect(new Set(planned).size).toBe(planned.length);
          for (const t of targets) {
            const inSync = mode === "absolute" ? t.confirmed === t.desired : t.pushed === t.desired;
            expect(planned.includes(t.variantId)).toBe(!inSync);
          }
        },
      ),
    );
  });

  it("reads where Shopify reported a change and nothing is due, and holds refused items until their retry time", () => {
    const edited = target({ recheck: true, desired: 7, confirmed: 7 });
    const refused = target({ variantId: 2, desired: 7, retryAt: 5000, error: "INVALID" });
    expect(planPush([edited, refused], "absolute", 4000)).toMatchObject({
      sets: [],
      needsRead: [edited],
      waiting: [refused],
    });
    // A set that is due compares with the confirmed on_hand itself: no read first.
    const moved = target({ variantId: 3, recheck: true, desired: 9, confirmed: 7 });
    expect(planPush([moved], "absolute", 4000)).toMatchObject({
      sets: [{ variantId: 3, quantity: 9, changeFromQuantity: 7 }],
      needsRead: [],
    });
    expect(planPush([moved], "delta", 4000).needsRead).toEqual([moved]);
    expect(planPush([refused], "absolute", 5000).sets).toHaveLength(1);
    expect(planPush([target({ pushed: 3, retryAt: 5000 })], "delta", 4000).waiting).toHaveLength(1);
  });

  it("finds the refused items a userError names by index, or none", () => {
    expect(rejectedIndexes([{ field: ["input", "quantities", "3", "quantity"] }], "quantities")).toEqual(
      new Set([3]),
    );
    expect(rejectedIndexes([{ field: ["input", "reason"] }], "quantities")).toBeNull();
    expect(rejectedIndexes([{ field: null }], "changes")).toBeNull();
  });

  it("backs refused items off from 30 s to an hour", () => {
    expect([1, 2, 3, 20].map(itemRetryDelayMs)).toEqual([30_000, 60_000, 120_000, 3_600_000]);
  });

  it("batches at Shopify's 250-quantity limit", () => {
    expect(batchesOf(Array.from({ length: 501 }, (_, i) => i)).map((b) => b.length)).toEqual([250, 250, 1]);
  });
});
