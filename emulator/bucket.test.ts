import { describe, expect, it } from "vitest";
import { charge, newBucket, refill, refund, setAvailable, setDrainRate, throttleStatus } from "./bucket.ts";

describe("leaky bucket", () => {
  it("charges up front and refuses when the cost is not available", () => {
    const b = newBucket(2000, 100, 0);
    const r1 = charge(b, 1500, 0);
    expect(r1.ok).toBe(true);
    const r2 = charge(r1.bucket, 600, 0);
    expect(r2.ok).toBe(false);
    expect(throttleStatus(r2.bucket).currentlyAvailable).toBe(500);
  });

  it("refills at the restore rate and never above the maximum", () => {
    const b = setAvailable(newBucket(2000, 100, 0), 0, 0);
    expect(refill(b, 1000).available).toBe(100);
    expect(refill(b, 2500).available).toBe(250);
    expect(refill(b, 1_000_000).available).toBe(2000);
  });

  it("refunds the difference between requested and actual cost", () => {
    const r = charge(newBucket(1000, 50, 0), 102, 0);
    expect(r.ok && refund(r.bucket, 100, 0).available).toBe(998);
  });

  it("drains under pressure from another spender", () => {
    const b = setDrainRate(newBucket(1000, 50, 0), 150, 0);
    expect(refill(b, 2000).available).toBe(800);
    expect(refill(b, 100_000).available).toBe(0);
  });
});
