/**
 * A stock change recorded in the process that holds the store wakes the worker's loop (its
 * `nudge`), so with room in the store's budget the change does not wait for the next tick: here
 * the tick is a minute long and the change still reaches the emulator (waited for as an event,
 * well inside the tick).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { systemClock } from "../src/core/clock.ts";
import { inventoryCapability } from "../src/inventory/index.ts";
import { markStoreDirtyFor } from "../src/inventory/push/push-store.ts";
import { registerWithWorker } from "../src/runtime/capability.ts";
import { Worker } from "../src/runtime/worker.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { connectDirectly, type EmulatedStore, emulatedStore, shopifyAvailable } from "./support/shopify.ts";

describe("a recorded stock change wakes the push", () => {
  let emulator: Emulator;
  let store: EmulatedStore;
  let hub: TestHub;
  let worker: Worker;

  beforeAll(async () => {
    emulator = await startEmulator();
    store = await emulatedStore({
      emulator,
      domain: "nudge.myshopify.com",
      skus: ["N-1"],
      locations: ["Main"],
    });
    hub = await startTestHub("sqlite");
    for (const [url, payload] of [
      ["/api/v1/warehouses", { warehouses: [{ code: "W1", name: "W1" }] }],
      ["/api/v1/variants", { variants: [{ sku: "N-1" }] }],
    ] as const)
      expect((await hub.server.inject({ method: "PUT", url, headers: hub.auth, payload })).statusCode).toBe(
        200,
      );
    const storeId = await connectDirectly(hub.ctx.database.db, store, [["W1"]], {
      enabledFlows: ["inventory_push"],
    });
    await markStoreDirtyFor(hub.ctx.database.db, storeId, "all", Date.now());
    const transport = createAdminTransport({
      store: store.domain,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
    worker = new Worker(hub.ctx, () => transport, { tickMs: 60_000 });
    registerWithWorker(worker, [inventoryCapability(hub.ctx, { driftIntervalMs: 0 })]);
    worker.start();
    // the first pass (at start) pushes what was marked; then the loop waits a minute
    for (let i = 0; i < 400; i++) {
      const dirty = await hub.ctx.database.db.selectFrom("push_dirty").select("variant_id").execute();
      if (dirty.length === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await hub?.close();
    await emulator?.close();
  });

  it("pushes a receipt without waiting for the minute-long tick", async () => {
    const res = await hub.server.inject({
      method: "POST",
      url: "/api/v1/movements",
      headers: hub.auth,
      payload: {
        movements: [
          {
            id: "n-1",
            type: "receipt",
            sku: "N-1",
            warehouse: "W1",
            quantity: 4,
            occurredAt: new Date().toISOString(),
          },
        ],
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    await expect
      .poll(() => shopifyAvailable(store, "N-1", store.locations[0]!.id), { timeout: 20_000 })
      .toBe(4);
  });
});
