import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { adaptiveWindowMs, flushReady, maxWindowFor } from "./coalescing.ts";

const bucket = (currentlyAvailable: number) => ({
  maximumAvailable: 2000,
  currentlyAvailable,
  restoreRate: 100,
});

describe("adaptive coalescing window", () => {
  it("sends at once with room, waits the maximum when drained, widens in between", () => {
    expect(adaptiveWindowMs(2000, bucket(2000))).toBe(0);
    expect(adaptiveWindowMs(2000, bucket(1000))).toBe(0);
    expect(adaptiveWindowMs(2000, bucket(600))).toBe(1000);
    expect(adaptiveWindowMs(2000, bucket(200))).toBe(2000);
    expect(adaptiveWindowMs(2000, bucket(0))).toBe(2000);
    expect(adaptiveWindowMs(2000, undefined)).toBe(0);
  });
  it("never exceeds the maximum and never shrinks as the bucket drains", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 2000 }),
        (max, a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const wLo = adaptiveWindowMs(max, bucket(lo));
          const wHi = adaptiveWindowMs(max, bucket(hi));
          return wLo >= wHi && wLo <= max && wHi >= 0;
        },
      ),
    );
  });
  it("takes the store's own maximum before the hub's default", () => {
    expect(maxWindowFor({ coalesceWindowMs: 500 }, 2000)).toBe(500);
    expect(maxWindowFor({ coalesceWindowMs: null }, 2000)).toBe(2000);
    expect(maxWindowFor({}, 2000)).toBe(2000);
  });
});

describe("flushReady", () => {
  const m = (variantId: number, firstMarkedAt: number) => ({ variantId, firstMarkedAt, generation: 1 });
  it("takes every mark once the oldest is due, none before", () => {
    const marks = [m(1, 1000), m(2, 1900), m(3, 2500)];
    expect(flushReady(marks, 2000, 2000)).toEqual({ ready: [], nextAt: 3000 });
    expect(flushReady(marks, 3000, 2000).ready).toHaveLength(3);
    expect(flushReady(marks, 2500, 0).ready).toHaveLength(3);
    expect(flushReady([], 0, 0)).toEqual({ ready: [], nextAt: null });
  });
  it("takes a full batch's worth at once", () => {
    const marks = Array.from({ length: 300 }, (_, i) => m(i, 1000 + i));
    const r = flushReady(marks, 1000, 60_000);
    expect(r.ready.map((x) => x.variantId)).toEqual(marks.slice(0, 250).map((x) => x.variantId));
    expect(r.nextAt).toBe(1250 + 60_000);
  });
});
