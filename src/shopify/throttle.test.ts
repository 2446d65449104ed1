import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  afterResponse,
  afterThrottled,
  backoffMs,
  INITIAL_MAXIMUM_AVAILABLE,
  initialThrottleState,
  projectedAvailable,
  reserve,
  type ThrottleState,
  waitBefore,
} from "./throttle.ts";
import type { QueryCost } from "./transport.ts";

const status = (maximumAvailable: number, currentlyAvailable: number, restoreRate: number) => ({
  maximumAvailable,
  currentlyAvailable,
  restoreRate,
});

const cost = (requested: number, s: ReturnType<typeof status>): QueryCost => ({
  requestedQueryCost: requested,
  actualQueryCost: requested,
  throttleStatus: s,
});

/** Shopify's side: charge the requested cost up front (refused if short), refund to the actual cost. */
class RealBucket {
  constructor(
    readonly max: number,
    readonly rate: number,
    public available: number,
    public at: number,
  ) {}
  refill(now: number) {
    this.available = Math.min(this.max, this.available + (this.rate * Math.max(0, now - this.at)) / 1000);
    this.at = Math.max(this.at, now);
  }
  charge(requested: number, now: number): boolean {
    this.refill(now);
    if (requested > this.available) return false;
    this.available -= requested;
    return true;
  }
  refund(points: number, now: number) {
    this.refill(now);
    this.available = Math.min(this.max, this.available + points);
  }
  status() {
    return status(this.max, Math.floor(this.available), this.rate);
  }
}

describe("throttle model", () => {
  it("starts conservative: Standard restore, a bucket no bigger than Standard's 2,000", () => {
    const s = initialThrottleState(0);
    expect(s.observed).toBe(false);
    expect(s.restoreRate).toBe(100);
    expect(s.maximumAvailable).toBeLessThanOrEqual(2000);
  });

  it("waits for the refill a call needs, plus the margin", () => {
    const s = afterResponse(initialThrottleState(0), cost(10, status(2000, 50, 100)), 1000);
    expect(waitBefore(s, 10, 1000)).toBe(0);
    // 50 available, 200 + 1 margin (Shopify floors the points) needed: 151 points at 100/s = 1,510 ms
    expect(waitBefore(s, 200, 1000)).toBe(1510);
    // half a second later, 500 ms less
    expect(waitBefore(s, 200, 1500)).toBe(1010);
    expect(projectedAvailable(s, 1000 + 60_000)).toBe(2000);
  });

  it("reserves a sent call's points until the answer says otherwise", () => {
    const s = reserve(afterResponse(initialThrottleState(0), cost(1, status(2000, 100, 100)), 0), 80, 0);
    expect(projectedAvailable(s, 0)).toBe(20);
    expect(waitBefore(s, 19, 0)).toBe(0);
    expect(waitBefore(s, 20, 0)).toBe(10);
  });

  it("after THROTTLED waits for the refill the call needs, with jitter, and backs off when it repeats", () => {
    const s0 = initialThrottleState(0);
    const t1 = afterThrottled(s0, { cost: cost(100, status(2000, 0, 100)), requestedCost: 100 }, 0, () => 0);
    expect(t1.waitMs).toBe(1010); // (100 + 1) points at 100/s, jitter 0
    expect(waitBefore(t1.state, 100, 0)).toBe(1010);
    const t1b = afterThrottled(s0, { cost: cost(100, status(2000, 0, 100)), requestedCost: 100 }, 0, () => 1);
    expect(t1b.waitMs).toBe(1110);
    // a 429 with Retry-After and no status
    const r = afterThrottled(s0, { requestedCost: 10, retryAfterMs: 5000 }, 0, () => 0);
    expect(r.waitMs).toBe(5000);
    // repeated throttles grow
    let s: ThrottleState = s0;
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t = afterThrottled(s, { cost: cost(1, status(2000, 2000, 100)), requestedCost: 1 }, 0, () => 1);
      waits.push(t.waitMs);
      s = t.state;
    }
    expect(waits[5]!).toBeGreaterThan(waits[1]!);
    expect(afterResponse(s, undefined, 0).consecutiveThrottles).toBe(0);
  });

  it("learns another spender's drain from observations below the projection, and forgets it", () => {
    // Shopify's side: 100/s restore, 70/s drained by someone else, we spend 30 points a call.
    let now = 0;
    let real = 2000;
    let model = afterResponse(initialThrottleState(0), cost(1, status(2000, 2000, 100)), 0);
    real = 0; // the other spender empties the bucket
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const wait = waitBefore(model, 30, now);
      real = Math.min(2000, real + (30 * wait) / 1000);
      now += wait;
      model = reserve(model, 30, now);
      if (real < 30) {
        refused++;
        const t = afterThrottled(
          model,
          { cost: cost(30, status(2000, Math.floor(real), 100)), requestedCost: 30 },
          now,
          () => 0,
        );
        model = t.state;
        continue;
      }
      real -= 30;
      model = afterResponse(model, cost(30, status(2000, Math.floor(real), 100)), now, 30);
    }
    expect(model.foreignDrainRate).toBeGreaterThan(60);
    expect(model.foreignDrainRate).toBeLessThanOrEqual(100);
    expect(refused).toBeLessThan(8);
    // the drain stops: a few answers with the bucket where the full rate puts it bring it back to 0
    for (let i = 0; i < 12; i++) {
      now += 1000;
      real = Math.min(2000, real + 100);
      model = afterResponse(model, cost(1, status(2000, Math.floor(real), 100)), now, 1);
    }
    expect(model.foreignDrainRate).toBe(0);
  });

  it("backoff is exponential, capped and jittered into [½, 1]", () => {
    expect(backoffMs(1, () => 1)).toBe(250);
    expect(backoffMs(3, () => 1)).toBe(1000);
    expect(backoffMs(3, () => 0)).toBe(500);
    expect(backoffMs(50, () => 1)).toBe(30_000);
  });

  it("property: a single spender following waitBefore is never refused by the real bucket", () => {
    const plan = fc.constantFrom(
      { rate: 100, max: 2000 },
      { rate: 200, max: 4000 },
      { rate: 1000, max: 20_000 },
      { rate: 2000, max: 40_000 },
      { rate: 100, max: 1000 },
    );
    const call = fc.record({
      requested: fc.integer({ min: 1, max: 1000 }),
      actualShare: fc.double({ min: 0, max: 1, noNaN: true }),
      gapMs: fc.integer({ min: 0, max: 3000 }),
      latencyMs: fc.integer({ min: 0, max: 3000 }),
      answered: fc.boolean(),
    });
    fc.assert(
      fc.property(
        plan,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(call, { minLength: 1, maxLength: 80 }),
        (p, startShare, calls) => {
          let now = 1_000_000;
          // A restart may find the bucket partly spent, but never below the model's initial guess.
          const start = INITIAL_MAXIMUM_AVAILABLE + startShare * (p.max - INITIAL_MAXIMUM_AVAILABLE);
          const real = new RealBucket(p.max, p.rate, Math.min(p.max, start), now);
          let model = initialThrottleState(now);
          for (const c of calls) {
            now += c.gapMs;
            now += waitBefore(model, c.requested, now);
            model = reserve(model, c.requested, now);
            // the request travels; Shopify charges on arrival
            const arrival = now + Math.floor(c.latencyMs / 2);
            if (!real.charge(c.requested, arrival)) return false;
            const actual = Math.floor(c.requested * c.actualShare);
            real.refund(c.requested - actual, arrival);
            const observed = real.status();
            now += c.latencyMs;
            // some answers carry no cost (an HTTP error after execution, say): the reservation stands
            model = afterResponse(
              model,
              c.answered
                ? { requestedQueryCost: c.requested, actualQueryCost: actual, throttleStatus: observed }
                : undefined,
              now,
            );
            if (projectedAvailable(model, now) > real.available + 1e-6 && c.answered) return false;
            // latency and refunds are never mistaken for another spender
            if (model.foreignDrainRate !== 0) return false;
          }
          return true;
        },
      ),
      { numRuns: 2000 },
    );
  });
});
