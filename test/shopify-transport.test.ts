// The Admin transport against the emulator (real HTTP, real schema validation, real bucket). The
// emulator's clock is frozen and the transport's `sleep` advances it together with the hub's
// clock, so throttling waits cost no real time and every wait is measured exactly.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { fixedClock } from "../src/core/clock.ts";
import { createLogger } from "../src/core/logger.ts";
import { type CallOutcome, createAdminTransport } from "../src/shopify/admin-client.ts";
import { collectBulkQuery, RUN_BULK_QUERY } from "../src/shopify/bulk-query.ts";
import {
  ShopifyAuthError,
  ShopifyQueryError,
  ShopifyThrottledError,
  ShopifyTransientError,
} from "../src/shopify/errors.ts";
import { graphql } from "../src/shopify/graphql.ts";
import type { QueryCost } from "../src/shopify/transport.ts";

const SHOP_NAME = graphql`
  query ShopName {
    shop {
      name
    }
  }
`;

const PRODUCTS_PAGE = graphql`
  query ProductsPage {
    products(first: 50) {
      nodes {
        id
        title
      }
    }
  }
`;

const ORDERS_PAGE = graphql`
  query OrdersPage {
    orders(first: 1) {
      nodes {
        id
      }
    }
  }
`;

let emu: Emulator;
let shopSeq = 0;
const logger = createLogger("silent");
const SCOPES = ["read_products", "write_products", "read_inventory", "read_locations"];

beforeAll(async () => {
  emu = await startEmulator();
  emu.control.freezeTime();
});
afterAll(async () => {
  await emu?.close();
});

interface Harness {
  domain: string;
  clientId: string;
  token: string;
  clock: ReturnType<typeof fixedClock>;
  sleep: (ms: number) => Promise<void>;
  slept: number[];
  outcomes: CallOutcome[];
  costs: (QueryCost | undefined)[];
  fetches: { at: number; inFlightAtStart: number }[];
  maxInFlight: () => number;
  fetch: typeof fetch;
}

/** A fresh shop on the shared emulator, a token, a clock in step with the emulator's, and probes. */
function harness(
  options: { plan?: "standard" | "plus"; bucketSize?: number; products?: number } = {},
): Harness {
  const domain = `shop-${++shopSeq}.myshopify.com`;
  const app = emu.control.createApp({ scopes: SCOPES });
  emu.control.createShop({
    domain,
    plan: options.plan ?? "standard",
    ...(options.bucketSize ? { bucketSize: options.bucketSize } : {}),
  });
  for (let i = 0; i < (options.products ?? 0); i++)
    emu.control.createProduct(domain, {
      title: `P${i}`,
      variants: [{ sku: `SKU-${i}-A` }, { sku: `SKU-${i}-B` }],
    });
  const { accessToken } = emu.control.mintToken({ shop: domain, clientId: app.clientId });
  const clock = fixedClock(Date.parse(emu.control.now().now));
  const slept: number[] = [];
  const sleep = async (ms: number) => {
    slept.push(ms);
    clock.advance(ms);
    emu.control.advanceTime(ms);
    await new Promise((r) => setImmediate(r));
  };
  let inFlight = 0;
  let maxInFlight = 0;
  const fetches: Harness["fetches"] = [];
  const probe: typeof fetch = async (input, init) => {
    fetches.push({ at: clock.now(), inFlightAtStart: inFlight });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      return await fetch(input, init);
    } finally {
      inFlight--;
    }
  };
  return {
    domain,
    clientId: app.clientId,
    token: accessToken,
    clock,
    sleep,
    slept,
    outcomes: [],
    costs: [],
    fetches,
    maxInFlight: () => maxInFlight,
    fetch: probe,
  };
}

function transportFor(
  h: Harness,
  extra: { maxAttempts?: number; timeoutMs?: number; fetch?: typeof fetch; maxInFlight?: number } = {},
) {
  return createAdminTransport({
    store: h.domain,
    urlTemplate: `${emu.url}/{shop}`,
    getAccessToken: async () => h.token,
    clock: h.clock,
    logger,
    fetch: extra.fetch ?? h.fetch,
    sleep: h.sleep,
    random: () => 0.5,
    onCall: (outcome, cost) => {
      h.outcomes.push(outcome);
      h.costs.push(cost);
    },
    ...(extra.maxAttempts ? { maxAttempts: extra.maxAttempts } : {}),
    ...(extra.timeoutMs ? { timeoutMs: extra.timeoutMs } : {}),
    ...(extra.maxInFlight ? { maxInFlight: extra.maxInFlight } : {}),
  });
}

const throttledCalls = (domain: string) => emu.control.apiCalls(domain).filter((c) => c.throttled).length;

describe("Admin transport against the emulator", () => {
  it("sends a query to the store's URL and reads its cost and the bucket", async () => {
    const h = harness();
    const t = transportFor(h);
    expect(t.throttleState().observed).toBe(false);
    const r = await t.graphql<{ shop: { name: string } }>(SHOP_NAME);
    expect(r.data.shop.name).toBe(h.domain.split(".")[0]);
    expect(r.cost?.requestedQueryCost).toBe(1);
    expect(r.cost?.throttleStatus).toMatchObject({ maximumAvailable: 2000, restoreRate: 100 });
    expect(t.throttleState()).toMatchObject({ observed: true, maximumAvailable: 2000, restoreRate: 100 });
    expect(h.outcomes).toEqual(["ok"]);
  });

  it("as the only spender, spends a small bucket down and never draws a THROTTLED", async () => {
    const h = harness({ bucketSize: 300, products: 50 });
    const t = transportFor(h);
    const start = h.clock.now();
    const n = 40;
    const results = await Promise.all(Array.from({ length: n }, () => t.graphql(PRODUCTS_PAGE)));
    expect(results).toHaveLength(n);
    expect(throttledCalls(h.domain)).toBe(0);
    expect(h.outcomes.every((o) => o === "ok")).toBe(true);
    // Each call is charged 52 requested; Shopify refunds to the actual cost (52 with 50 products).
    const spent = results.reduce((s, r) => s + (r.cost?.actualQueryCost ?? 0), 0);
    const elapsedS = (h.clock.now() - start) / 1000;
    // the ceiling: the first 300 points are free, the rest come at 100 points/s
    const ideal = (spent - 300) / 100;
    console.info(
      `only spender: ${n} calls, ${spent} points, ${elapsedS.toFixed(2)} s emulated vs ${ideal.toFixed(2)} s ideal (${(ideal / elapsedS).toFixed(3)} of the ceiling)`,
    );
    expect(elapsedS).toBeGreaterThanOrEqual(ideal);
    expect(ideal / elapsedS).toBeGreaterThan(0.8);
  });

  it("under another spender's pressure, handles every THROTTLED, learns the drain and still succeeds", async () => {
    const h = harness({ products: 50 });
    const t = transportFor(h, { maxAttempts: 8 });
    await t.graphql(PRODUCTS_PAGE); // learn the bucket and the document's cost
    const pressureStart = h.clock.now();
    // someone else empties the bucket and keeps draining 80 of its 100 points/s
    emu.control.setThrottlePressure({ shop: h.domain, clientId: h.clientId, available: 0, drainRate: 80 });
    const n = 15;
    const results = await Promise.all(Array.from({ length: n }, () => t.graphql(PRODUCTS_PAGE)));
    emu.control.setThrottlePressure({ shop: h.domain, clientId: h.clientId, drainRate: 0 });
    expect(results).toHaveLength(n);
    const throttled = throttledCalls(h.domain);
    const elapsedS = (h.clock.now() - pressureStart) / 1000;
    const ideal = (n * 52) / 20; // 20 points/s are left for us
    console.info(
      `under pressure: ${throttled} THROTTLED answers handled over ${n} calls (${h.outcomes.length} attempts), ${elapsedS.toFixed(2)} s emulated vs ${ideal.toFixed(2)} s ideal; learned drain ${t.throttleState().foreignDrainRate}/s`,
    );
    expect(throttled).toBeGreaterThan(0);
    // every THROTTLED the emulator answered was seen and handled by the transport
    expect(h.outcomes.filter((o) => o === "throttled")).toHaveLength(throttled);
    expect(h.outcomes.filter((o) => o === "ok")).toHaveLength(n + 1);
    // once the drain is learned, calls stop being refused: far fewer refusals than calls
    expect(throttled).toBeLessThan(n / 2);
    expect(t.throttleState().foreignDrainRate).toBeGreaterThan(40);
  });

  it("retries injected 503s and succeeds", async () => {
    const h = harness();
    const t = transportFor(h);
    emu.control.setFaults(h.domain, { failNext: 2, errorStatuses: [503] });
    const r = await t.graphql<{ shop: { name: string } }>(SHOP_NAME);
    expect(r.data.shop.name).toBeTruthy();
    expect(h.outcomes).toEqual(["server_error", "server_error", "ok"]);
    expect(emu.control.apiCalls(h.domain).map((c) => c.status)).toEqual([503, 503, 200]);
    // exponential backoff between the attempts (jitter fixed at 0.5 → ¾ of 250, 500)
    expect(h.slept.slice(0, 2)).toEqual([188, 375]);
  });

  it("gives up on dropped connections after maxAttempts with a ShopifyTransientError", async () => {
    const h = harness();
    const t = transportFor(h, { maxAttempts: 3 });
    emu.control.setFaults(h.domain, { dropConnectionRate: 1 });
    const err = await t.graphql(SHOP_NAME).catch((e: unknown) => e);
    emu.control.clearFaults(h.domain);
    expect(err).toBeInstanceOf(ShopifyTransientError);
    expect(h.outcomes).toEqual(["network_error", "network_error", "network_error"]);
    // the queue goes on after a failure
    await expect(t.graphql(SHOP_NAME)).resolves.toBeTruthy();
  });

  it("times out a slow answer and retries", async () => {
    const h = harness();
    const t = transportFor(h, { maxAttempts: 2, timeoutMs: 50 });
    emu.control.setFaults(h.domain, { latencyMs: 300 });
    const err = await t.graphql(SHOP_NAME).catch((e: unknown) => e);
    emu.control.clearFaults(h.domain);
    expect(err).toBeInstanceOf(ShopifyTransientError);
    expect(h.outcomes).toEqual(["timeout", "timeout"]);
  });

  it("honours Retry-After on a 429", async () => {
    const h = harness();
    let first = true;
    const once429: typeof fetch = async (input, init) => {
      if (first) {
        first = false;
        return new Response(JSON.stringify({ errors: "Exceeded 2 calls per second for api client." }), {
          status: 429,
          headers: { "retry-after": "2.0" },
        });
      }
      return h.fetch(input, init);
    };
    const t = transportFor(h, { fetch: once429 });
    await t.graphql(SHOP_NAME);
    expect(h.outcomes).toEqual(["rate_limited", "ok"]);
    expect(h.slept.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2000);
  });

  it("a revoked token is a ShopifyAuthError at once, without retries", async () => {
    const h = harness();
    const t = transportFor(h);
    emu.control.revokeTokens({ token: h.token });
    const err = await t.graphql(SHOP_NAME).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShopifyAuthError);
    expect((err as ShopifyAuthError).status).toBe(401);
    expect(h.fetches).toHaveLength(1);
    expect(String((err as Error).message)).not.toContain(h.token);
  });

  it("a missing scope is a ShopifyAuthError naming the scope", async () => {
    const h = harness();
    const t = transportFor(h);
    const err = await t.graphql(ORDERS_PAGE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShopifyAuthError);
    expect((err as ShopifyAuthError).missingScope).toBe("read_orders");
    expect(h.fetches).toHaveLength(1);
  });

  it("an invalid document is a ShopifyQueryError, not retried", async () => {
    const h = harness();
    const t = transportFor(h);
    // deliberately not tagged: it must not be picked up by the schema test
    const err = await t.graphql("query { shop { noSuchField } }").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShopifyQueryError);
    expect((err as ShopifyQueryError).errors[0]?.message).toContain("noSuchField");
    expect(h.fetches).toHaveLength(1);
  });

  it("serializes concurrent callers: never two requests of one store in flight, in call order", async () => {
    const h = harness();
    const t = transportFor(h);
    emu.control.setFaults(h.domain, { latencyMs: 15 });
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        t.graphql(SHOP_NAME).then(() => {
          order.push(i);
        }),
      ),
    );
    emu.control.clearFaults(h.domain);
    expect(h.maxInFlight()).toBe(1);
    expect(h.fetches.every((f) => f.inFlightAtStart === 0)).toBe(true);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(t.pending()).toBe(0);
  });

  it("with maxInFlight, overlaps up to that many calls and still never overdraws the bucket", async () => {
    const h = harness({ bucketSize: 300, products: 50 });
    const t = transportFor(h, { maxInFlight: 3 });
    emu.control.setFaults(h.domain, { latencyMs: 15 });
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => t.graphql(PRODUCTS_PAGE).then(() => void order.push(i))),
    );
    emu.control.clearFaults(h.domain);
    expect(h.maxInFlight()).toBe(3);
    expect(throttledCalls(h.domain)).toBe(0);
    expect(h.outcomes.every((o) => o === "ok")).toBe(true);
    // Started in call order (answers may overtake each other).
    expect(order).toHaveLength(60);
    // More than the bucket held: the overlapped calls waited for the refill like serial ones.
    expect(h.slept.length).toBeGreaterThan(0);
    expect(t.pending()).toBe(0);
  });

  it("a call in its own lane overlaps up to the lane's limit beside the default lane, within the total and the bucket", async () => {
    const h = harness({ bucketSize: 400, products: 50 });
    // In flight per document: ShopName in the default lane, ProductsPage in the lane "publish".
    const now = { default: 0, lane: 0 };
    const max = { default: 0, lane: 0, total: 0 };
    const probe: typeof fetch = async (input, init) => {
      const k = String(init?.body).includes("ProductsPage") ? "lane" : "default";
      now[k]++;
      max[k] = Math.max(max[k], now[k]);
      max.total = Math.max(max.total, now.default + now.lane);
      try {
        return await h.fetch(input, init);
      } finally {
        now[k]--;
      }
    };
    const t = createAdminTransport({
      store: h.domain,
      urlTemplate: `${emu.url}/{shop}`,
      getAccessToken: async () => h.token,
      clock: h.clock,
      logger,
      fetch: probe,
      sleep: h.sleep,
      random: () => 0.5,
      onCall: (outcome) => void h.outcomes.push(outcome),
      maxInFlight: 2,
      maxInFlightTotal: 7,
    });
    emu.control.setFaults(h.domain, { latencyMs: 15 });
    const laneOrder: number[] = [];
    await Promise.all([
      ...Array.from({ length: 6 }, () => t.graphql(SHOP_NAME)),
      ...Array.from({ length: 60 }, (_, i) =>
        t
          .graphql(PRODUCTS_PAGE, undefined, { lane: { name: "publish", inFlight: 6 } })
          .then(() => void laneOrder.push(i)),
      ),
    ]);
    emu.control.clearFaults(h.domain);
    expect(max.default).toBe(2);
    expect(max.lane).toBe(6);
    // The total caps the two lanes together (2 + 6 would be 8).
    expect(max.total).toBe(7);
    expect(laneOrder).toHaveLength(60);
    expect(throttledCalls(h.domain)).toBe(0);
    expect(h.outcomes.every((o) => o === "ok")).toBe(true);
    // More than the bucket held: the lane's calls waited for the refill too.
    expect(h.slept.length).toBeGreaterThan(0);
    expect(t.pending()).toBe(0);
  });

  it("runs a bulk query and returns its JSONL rows with __parentId", async () => {
    const h = harness({ products: 3 });
    const t = transportFor(h);
    const rows = await collectBulkQuery(
      t,
      `{ products { edges { node { id title variants { edges { node { id sku } } } } } } }`,
      { clock: h.clock, sleep: h.sleep, pollMs: 500 },
    );
    const products = rows.filter((r) => r.__parentId === undefined);
    const variants = rows.filter((r) => r.__parentId !== undefined);
    expect(products).toHaveLength(3);
    expect(variants).toHaveLength(6);
    const ids = new Set(products.map((p) => p["id"]));
    expect(variants.every((v) => ids.has(v.__parentId))).toBe(true);
    expect(variants.map((v) => v["sku"]).sort()).toContain("SKU-0-A");
  });

  it("a bulk query refused with LIMIT_REACHED (the app's five already run) waits for one to end; gives up retriably", async () => {
    const h = harness({ products: 2 });
    const t = transportFor(h);
    const INNER = `{ products { edges { node { id } } } }`;
    // Five of this app's operations held running (say, left by jobs of a crashed process).
    emu.control.holdBulkOperations(h.domain, true);
    for (let i = 0; i < 5; i++) await t.graphql(RUN_BULK_QUERY, { query: INNER, groupObjects: false });
    const realPause = async (ms: number) => {
      h.clock.advance(ms);
      await new Promise((r) => setTimeout(r, 20));
    };
    // Never ending: after busyWaitMs a retriable ShopifyThrottledError, nothing started.
    let waits = 0;
    const err = await collectBulkQuery(t, INNER, {
      clock: h.clock,
      sleep: async (ms) => {
        waits++;
        await realPause(ms);
      },
      busyRetryMs: 5_000,
      busyWaitMs: 20_000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShopifyThrottledError);
    expect((err as ShopifyThrottledError).retriable).toBe(true);
    expect((err as Error).message).toMatch(/Bulk operations limit reached/);
    expect(waits).toBe(4);
    expect(emu.control.listBulkOperations(h.domain)).toHaveLength(5);
    // Released: the five end, and the next try starts and reads the store.
    let released = false;
    const rows = await collectBulkQuery(t, INNER, {
      clock: h.clock,
      sleep: async (ms) => {
        if (!released) emu.control.holdBulkOperations(h.domain, false);
        released = true;
        await realPause(ms);
      },
      pollMs: 100,
      busyWaitMs: 600_000,
    });
    expect(released).toBe(true);
    expect(rows).toHaveLength(2);
    expect(emu.control.listBulkOperations(h.domain)).toHaveLength(6);
  });
});
