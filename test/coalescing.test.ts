/**
 * Adaptive coalescing (issue 18), as behaviour on the emulator's clock (frozen; the transport's
 * waits advance it together with the hub's clock, so nothing here depends on wall time):
 * - light load, a bucket with room: each change goes out at the next push cycle, in small
 *   batches, without waiting for the store's coalescing window;
 * - saturation, a drained bucket: changes wait up to the store's maximum window and leave in
 *   full 250-quantity batches, none refused by Shopify.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { fixedClock } from "../src/core/clock.ts";
import { markPushDirty, markStoreDirtyFor } from "../src/inventory/push/push-store.ts";
import { runPushCycle } from "../src/inventory/push/reconciler.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import type { AdminTransport } from "../src/shopify/transport.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { connectDirectly, type EmulatedStore, emulatedStore, shopifyAvailable } from "./support/shopify.ts";

const SKUS = Array.from({ length: 1200 }, (_, i) => `CO-${i}`);
const MAX_WINDOW_MS = 2000;
const TICK_MS = 200;

describe("adaptive coalescing on the emulator", () => {
  let emulator: Emulator;
  let hub: TestHub;
  let store: EmulatedStore;
  let storeId: number;
  let transport: AdminTransport & {
    throttleState(): { currentlyAvailable: number; maximumAvailable: number };
  };
  let clock: ReturnType<typeof fixedClock>;
  /** Every inventory mutation the hub sent: emulated time and quantities. */
  const sent: { at: number; quantities: number }[] = [];
  let n = 0;

  const advance = (ms: number) => {
    clock.advance(ms);
    emulator.control.advanceTime(ms);
  };
  const receipts = async (skus: readonly string[]) => {
    const res = await hub.server.inject({
      method: "POST",
      url: "/api/v1/movements",
      headers: hub.auth,
      payload: {
        movements: skus.map((sku) => ({
          id: `co-${n++}`,
          type: "receipt",
          sku,
          warehouse: "MAIN",
          quantity: 1,
          occurredAt: new Date(clock.now()).toISOString(),
        })),
      },
    });
    expect(res.statusCode, res.body).toBe(200);
  };
  const cycle = () =>
    runPushCycle(
      { db: hub.ctx.database.db, now: () => clock.now(), logger: hub.ctx.logger, windowMs: MAX_WINDOW_MS },
      { id: storeId, domain: store.domain, mode: "absolute", coalesceWindowMs: null },
      transport,
    );

  beforeAll(async () => {
    emulator = await startEmulator();
    emulator.control.freezeTime();
    clock = fixedClock(Date.parse(emulator.control.now().now));
    store = await emulatedStore({
      emulator,
      domain: "coalesce.myshopify.com",
      skus: SKUS,
      locations: ["Main"],
    });
    hub = await startTestHub("sqlite", { clock });
    hub.ctx.stockListeners.push(markPushDirty);
    for (const [method, url, payload] of [
      ["PUT", "/api/v1/warehouses", { warehouses: [{ code: "MAIN", name: "Main" }] }],
      ["PUT", "/api/v1/variants", { variants: SKUS.slice(0, 600).map((sku) => ({ sku })) }],
      ["PUT", "/api/v1/variants", { variants: SKUS.slice(600).map((sku) => ({ sku })) }],
    ] as const) {
      const res = await hub.server.inject({ method, url, headers: hub.auth, payload });
      expect(res.statusCode, res.body).toBe(200);
    }
    storeId = await connectDirectly(hub.ctx.database.db, store, [["MAIN"]]);
    const inner = createAdminTransport({
      store: store.domain,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock,
      logger: hub.ctx.logger,
      random: () => 0,
      sleep: async (ms) => {
        advance(ms);
        await new Promise((r) => setImmediate(r));
      },
    });
    transport = {
      store: inner.store,
      throttleState: () => inner.throttleState(),
      graphql: (document, variables, options) => {
        const q = (variables as { input?: { quantities?: unknown[] } } | undefined)?.input?.quantities;
        if (document.includes("inventorySetQuantities") && q)
          sent.push({ at: clock.now(), quantities: q.length });
        return inner.graphql(document, variables, options);
      },
    };
    // The first sync: every item read and set once.
    await markStoreDirtyFor(hub.ctx.database.db, storeId, "all", clock.now());
    for (let i = 0; i < 20 && (await cycle()).remaining; i++);
    while ((await cycle()).pushed > 0);
  }, 120_000);
  afterAll(async () => {
    await hub?.close();
    await emulator?.close();
  });

  it("light load with room in the bucket: each change leaves at the next cycle, in a small batch", async () => {
    emulator.control.setThrottlePressure({ shop: store.domain, clientId: store.clientId, available: 2000 });
    await transport.graphql("query CoalesceShop { shop { name } }"); // the model learns the full bucket
    sent.length = 0;
    const delays: number[] = [];
    // 10 movements a second for 3 s, a push cycle every worker tick
    for (let t = 0; t < 3000; t += TICK_MS) {
      const at = clock.now();
      await receipts([SKUS[(t / TICK_MS) % SKUS.length]!, SKUS[(t / TICK_MS + 500) % SKUS.length]!]);
      const before = sent.length;
      await cycle();
      for (const s of sent.slice(before)) delays.push(s.at - at);
      advance(TICK_MS);
    }
    expect(sent.length).toBeGreaterThanOrEqual(14);
    expect(Math.max(...sent.map((s) => s.quantities))).toBeLessThanOrEqual(2);
    // sent in the same cycle as recorded: no coalescing wait, only the call itself
    expect(Math.max(...delays)).toBeLessThan(300);
    expect(shopifyAvailable(store, SKUS[0]!, store.locations[0]!.id)).toBeGreaterThan(0);
  });

  it("saturation, the bucket drained: changes wait for the window and leave in full batches", async () => {
    // Another spender empties the bucket; the model learns it from the next answer.
    emulator.control.setThrottlePressure({ shop: store.domain, clientId: store.clientId, available: 0 });
    await transport.graphql("query CoalesceShop { shop { name } }");
    sent.length = 0;
    const throttledBefore = emulator.control.apiCalls(store.domain).filter((c) => c.throttled).length;
    let sku = 0;
    // 500 movements a second on distinct SKUs for 6 s, a cycle every tick
    for (let t = 0; t < 6000; t += TICK_MS) {
      await receipts(Array.from({ length: 100 }, () => SKUS[sku++ % SKUS.length]!));
      await cycle();
      advance(TICK_MS);
      // keep the bucket drained, as an app that saturates it would
      const b = transport.throttleState();
      if (b.currentlyAvailable > 150) await transport.graphql("query CoalesceShop { shop { name } }");
    }
    const batches = sent.map((s) => s.quantities);
    const full = batches.filter((q) => q === 250).length;
    console.info(
      `saturation: ${batches.length} batches, sizes ${batches.join(",")}; light load sent 1-2 per batch`,
    );
    expect(batches.length).toBeGreaterThan(0);
    // every batch full (the stream never ends here, so no remainder had to be flushed)
    expect(full).toBe(batches.length);
    const throttled =
      emulator.control.apiCalls(store.domain).filter((c) => c.throttled).length - throttledBefore;
    expect(throttled).toBeLessThanOrEqual(1);
  });
});
