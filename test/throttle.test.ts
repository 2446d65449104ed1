// The throttle waits only as long as Shopify's own `throttleStatus` says it must. Issue 18: after
// another spender emptied the bucket once, the hub counted the drop as a lasting foreign drain
// and kept a 21-point margin, and a call waited 13.7 s where about 0.5 s would do.
// Against the emulator with its clock frozen: the transport's sleeps advance both clocks, so
// every wait is measured exactly on the emulated clock (no wall-clock time in the assertions).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { fixedClock } from "../src/core/clock.ts";
import { createLogger } from "../src/core/logger.ts";
import { type CallOutcome, createAdminTransport } from "../src/shopify/admin-client.ts";
import { graphql } from "../src/shopify/graphql.ts";
import {
  afterResponse,
  afterThrottled,
  initialThrottleState,
  reserve,
  waitBefore,
} from "../src/shopify/throttle.ts";

const PRODUCTS_PAGE = graphql`
  query ThrottleTestProducts {
    products(first: 50) {
      nodes {
        id
        title
      }
    }
  }
`;

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
  emu.control.freezeTime();
});
afterAll(async () => {
  await emu?.close();
});

const status = (currentlyAvailable: number) => ({
  maximumAvailable: 2000,
  currentlyAvailable,
  restoreRate: 100,
});

describe("throttle waits from Shopify's throttleStatus", () => {
  it("model: a one-off drop to an empty bucket waits cost / restoreRate, not for a guessed drain", () => {
    let m = afterResponse(
      initialThrottleState(0),
      { requestedQueryCost: 50, actualQueryCost: 50, throttleStatus: status(1950) },
      0,
      50,
    );
    // 1 s later the bucket is empty: another spender took it all once
    m = reserve(m, 50, 1000);
    m = afterResponse(
      m,
      { requestedQueryCost: 50, actualQueryCost: 50, throttleStatus: status(0) },
      1000,
      50,
    );
    expect(waitBefore(m, 50, 1000)).toBe(510); // 51 points at 100/s
    // the same drop reported by a THROTTLED answer
    const t = afterThrottled(
      reserve(m, 0, 1000),
      {
        cost: { requestedQueryCost: 50, actualQueryCost: null, throttleStatus: status(0) },
        requestedCost: 50,
      },
      1000,
      () => 0,
    );
    expect(t.waitMs).toBe(510);
  });

  it("against the emulator: after the bucket is emptied once, calls resume as soon as it refills", async () => {
    const domain = "throttle-once.myshopify.com";
    const app = emu.control.createApp({ scopes: ["read_products"] });
    emu.control.createShop({ domain, plan: "standard" });
    for (let i = 0; i < 50; i++)
      emu.control.createProduct(domain, { title: `P${i}`, variants: [{ sku: `S-${i}` }] });
    const { accessToken } = emu.control.mintToken({ shop: domain, clientId: app.clientId });
    const clock = fixedClock(Date.parse(emu.control.now().now));
    const slept: number[] = [];
    const outcomes: CallOutcome[] = [];
    const transport = createAdminTransport({
      store: domain,
      urlTemplate: `${emu.url}/{shop}`,
      getAccessToken: async () => accessToken,
      clock,
      logger: createLogger("silent"),
      sleep: async (ms) => {
        slept.push(ms);
        clock.advance(ms);
        emu.control.advanceTime(ms);
        await new Promise((r) => setImmediate(r));
      },
      random: () => 0,
      onCall: (o) => outcomes.push(o),
    });
    const first = await transport.graphql(PRODUCTS_PAGE);
    const cost = first.cost?.requestedQueryCost ?? 0;
    expect(cost).toBeGreaterThan(0);

    emu.control.setThrottlePressure({ shop: domain, clientId: app.clientId, available: 0 });
    const start = clock.now();
    const n = 10;
    for (let i = 0; i < n; i++) await transport.graphql(PRODUCTS_PAGE);
    const elapsedMs = clock.now() - start;
    // the bucket refills at 100 points/s from empty: n calls need n·cost points
    const idealMs = (n * cost * 1000) / 100;
    console.info(
      `after a one-off drain: ${n} calls of ${cost} points in ${elapsedMs} ms emulated, ideal ${idealMs} ms (${(idealMs / elapsedMs).toFixed(3)}); longest single wait ${Math.max(...slept)} ms; outcomes ${outcomes.join(",")}`,
    );
    // at most the first call is refused (the drop is learned from its THROTTLED answer) ...
    expect(outcomes.filter((o) => o === "throttled").length).toBeLessThanOrEqual(1);
    // ... and no wait is longer than one call's refill plus the jitter and margin
    expect(Math.max(...slept)).toBeLessThanOrEqual(Math.ceil(((cost + 1) * 1000) / 100) + 100);
    expect(idealMs / elapsedMs).toBeGreaterThan(0.9);
    expect(transport.throttleState().foreignDrainRate).toBeLessThanOrEqual(100);
  });
});
