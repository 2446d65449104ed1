/**
 * The synchronous catalog publish fills a large plan's budget (issue 16): its calls go in their
 * own lane of the store's transport, with as many products at once as the plan's restore rate
 * allows (`publishInFlight`: 45 on Plus, 4 on Standard), beside the other flows' default lane of
 * 4, and never overdraw the bucket. On both databases, against the emulator with a small latency
 * so that calls overlap.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import {
  PUBLISH_IN_FLIGHT,
  PUBLISH_IN_FLIGHT_MAX,
  publishInFlight,
  runPublishCycle,
} from "../src/catalog/publish/reconciler.ts";
import { systemClock } from "../src/core/clock.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { connectDirectly, emulatedStore } from "./support/shopify.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator?.close());

describe("publishInFlight", () => {
  it("grows with the restore rate, from the default to the lane's maximum", () => {
    expect(publishInFlight(undefined)).toBe(PUBLISH_IN_FLIGHT);
    expect(publishInFlight(100)).toBe(4); // Standard
    expect(publishInFlight(200)).toBe(9); // Advanced
    expect(publishInFlight(1000)).toBe(45); // Plus
    expect(publishInFlight(10_000)).toBe(PUBLISH_IN_FLIGHT_MAX);
  });
});

// Fewer than the bulk path's threshold (200): all go through synchronous productSet calls.
const PRODUCTS = 120;

describe.each(DIALECTS)("synchronous publish in flight on %s", (dialect) => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub(dialect);
    // Batches of at most 100 (the route's limit).
    for (let from = 0; from < PRODUCTS; from += 60) {
      const res = await hub.server.inject({
        method: "PUT",
        url: "/api/v1/products",
        headers: hub.auth,
        payload: {
          products: Array.from({ length: 60 }, (_, j) => from + j).map((i) => ({
            key: `lane-${i}`,
            title: `Lane product ${i}`,
            options: [{ name: "Size", values: ["S", "M"] }],
            variants: [
              { sku: `LANE-${i}-S`, options: ["S"], price: "10.00" },
              { sku: `LANE-${i}-M`, options: ["M"], price: "10.00" },
            ],
          })),
        },
      });
      expect(res.statusCode, res.body).toBe(200);
    }
  });
  afterAll(async () => hub?.close());

  const publishTo = async (plan: "standard" | "plus") => {
    const store = await emulatedStore({
      emulator,
      domain: `lanes-${plan}-${dialect}.myshopify.com`,
      skus: [],
      plan,
    });
    const storeId = await connectDirectly(hub.ctx.database.db, store, [[]], { enabledFlows: [] });
    emulator.control.setFaults(store.domain, { latencyMs: 20 });
    // Calls in flight, counted at the wire: the publish's (its reads and productSets) and in all.
    let now = 0;
    let max = 0;
    const probe: typeof fetch = async (input, init) => {
      now++;
      max = Math.max(max, now);
      try {
        return await fetch(input, init);
      } finally {
        now--;
      }
    };
    // As the hub's transports: a default lane of 4 calls and room for the publish's lane.
    const transport = createAdminTransport({
      store: store.domain,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock: systemClock,
      logger: hub.ctx.logger,
      fetch: probe,
      maxInFlight: 4,
      maxInFlightTotal: 4 + PUBLISH_IN_FLIGHT_MAX,
    });
    // The bucket is known once Shopify answered a call (the hub's transports live across passes).
    await transport.graphql("query { shop { name } }");
    const deps = { db: hub.ctx.database.db, now: () => Date.now(), logger: hub.ctx.logger, windowMs: 0 };
    for (let i = 0; i < 20; i++) {
      const r = await runPublishCycle(deps, { id: storeId, domain: store.domain }, transport);
      expect(r.bulk ?? false).toBe(false);
      if (r.published === 0 && r.refreshed === 0 && !r.remaining) break;
    }
    emulator.control.clearFaults(store.domain);
    const products = emulator.control
      .listProducts(store.domain)
      .filter((p) => p.title.startsWith("Lane product"));
    const sets = emulator.control
      .apiCalls(store.domain)
      .filter((c) => c.rootFields.includes("productSet")).length;
    const throttled = emulator.control.apiCalls(store.domain).filter((c) => c.throttled).length;
    return {
      products: products.length,
      titles: new Set(products.map((p) => p.title)).size,
      sets,
      max,
      throttled,
    };
  };

  it("on Plus, many products at once (more than the default lane's 4), each once, never THROTTLED", async () => {
    const r = await publishTo("plus");
    expect(r.products).toBe(PRODUCTS);
    expect(r.titles).toBe(PRODUCTS);
    expect(r.sets).toBe(PRODUCTS);
    expect(r.throttled).toBe(0);
    expect(r.max).toBeGreaterThan(4);
    expect(r.max).toBeLessThanOrEqual(PUBLISH_IN_FLIGHT_MAX);
  });

  it("on Standard, 4 at once as before", async () => {
    const r = await publishTo("standard");
    expect(r.products).toBe(PRODUCTS);
    expect(r.sets).toBe(PRODUCTS);
    expect(r.throttled).toBe(0);
    expect(r.max).toBeLessThanOrEqual(PUBLISH_IN_FLIGHT);
  });
});
