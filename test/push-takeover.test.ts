/**
 * Issue 13's double application (delta mode, a receipt applied twice in Shopify under a loaded
 * fleet test): an owner paused between planning a delta batch and saving it, while another
 * worker takes the store over and pushes the same change, must not leave its batch pending —
 * the new owner would resend it (its idempotency key is new to Shopify) and Shopify would apply
 * the change a second time. The takeover is made to happen exactly there (PostgreSQL, where
 * processes share the database); Shopify must end with the change applied once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { systemClock } from "../src/core/clock.ts";
import type { Db } from "../src/db/database.ts";
import { type PushDeps, runPushCycle } from "../src/inventory/push/reconciler.ts";
import { fenceLease, takeLease } from "../src/runtime/leases.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { type EmulatedStore, emulatedStore, shopifyAvailable } from "./support/shopify.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator?.close());

describe("a delta push across a takeover (PostgreSQL)", () => {
  let hub: TestHub;
  let store: EmulatedStore;
  let storeId: number;
  /** The location the hub manages. */
  let mapped: string;
  // biome-ignore lint/suspicious/noExplicitAny: test reads of JSON answers
  const call = async (method: "GET" | "POST" | "PUT", url: string, payload?: unknown): Promise<any> => {
    const res = await hub.server.inject({ method, url, headers: hub.auth, ...(payload ? { payload } : {}) });
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
    return res.json();
  };

  beforeAll(async () => {
    store = await emulatedStore({
      emulator,
      domain: "takeover.myshopify.com",
      skus: ["T-1"],
      initial: () => 7,
    });
    hub = await startTestHub("postgres", {
      env: { SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}`, COALESCE_WINDOW_MS: "0" },
    });
    await call("PUT", "/api/v1/warehouses", { warehouses: [{ code: "W", name: "W" }] });
    await call("PUT", "/api/v1/variants", { variants: [{ sku: "T-1" }] });
    await call("POST", "/api/v1/movements", {
      movements: [
        {
          id: "c-1",
          type: "count",
          sku: "T-1",
          warehouse: "W",
          quantity: 20,
          occurredAt: new Date().toISOString(),
        },
      ],
    });
    await call("POST", "/api/v1/stores", { domain: store.domain, accessToken: store.token });
    const { items } = await call("GET", `/api/v1/stores/${store.domain}/locations`);
    mapped = items[0].locationId;
    await call("PUT", `/api/v1/stores/${store.domain}/locations/mapping`, {
      locations: [{ locationId: items[0].locationId, warehouses: ["W"], managed: true, default: true }],
    });
    await call("POST", `/api/v1/stores/${store.domain}/link`);
    await call("PUT", `/api/v1/stores/${store.domain}/inventory-mode`, { mode: "delta" });
    await call("POST", `/api/v1/stores/${store.domain}/inventory/dry-run`);
    await call("POST", `/api/v1/stores/${store.domain}/flows/inventory_push/enable`);
    ({ id: storeId } = await hub.ctx.database.db
      .selectFrom("stores")
      .select("id")
      .where("domain", "=", store.domain)
      .executeTakeFirstOrThrow());
  }, 60_000);
  afterAll(async () => hub?.close());

  const transport = () =>
    createAdminTransport({
      store: store.domain,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
  const depsOf = (fence: (trx: Db) => Promise<void>): PushDeps => ({
    db: hub.ctx.database.db,
    now: () => Date.now(),
    logger: hub.ctx.logger,
    windowMs: 0,
    fence,
  });
  const owner = async (name: string) => {
    const db = hub.ctx.database.db;
    await db.updateTable("store_leases").set({ expires_at: 0 }).where("store_id", "=", storeId).execute();
    const lease = await takeLease(db, storeId, name, Date.now(), 60_000);
    expect(lease).toBeDefined();
    return (trx: Db) =>
      fenceLease(trx, hub.ctx.database.dialect, { storeId, generation: lease!.generation }, name);
  };
  const pushStore = () => ({ id: storeId, domain: store.domain, mode: "delta" as const });

  it("the paused owner's batch is refused; the change reaches Shopify once", async () => {
    const location = mapped;
    // Settle: delta mode keeps Shopify's 7 and sends only the hub's changes from here on.
    const settle = await owner("worker-n");
    await runPushCycle(depsOf(settle), pushStore(), transport());
    const before = shopifyAvailable(store, "T-1", location);

    await call("POST", "/api/v1/movements", {
      movements: [
        {
          id: "r-1",
          type: "receipt",
          sku: "T-1",
          warehouse: "W",
          quantity: 5,
          occurredAt: new Date().toISOString(),
        },
      ],
    });
    // O holds the store and plans +5; before it records its batch, its lease lapses, N takes the
    // store over and pushes the same +5.
    const oFence = await owner("worker-o");
    let tookOver = false;
    const oDeps = depsOf(async (trx) => {
      if (!tookOver) {
        tookOver = true;
        const nFence = await owner("worker-n");
        const r = await runPushCycle(depsOf(nFence), pushStore(), transport());
        expect(r.pushed).toBe(1);
      }
      await oFence(trx);
    });
    await expect(runPushCycle(oDeps, pushStore(), transport())).rejects.toMatchObject({ code: "LEASE_LOST" });
    expect(tookOver).toBe(true);

    // N's next cycles find nothing of O's to resend.
    const nFence = await owner("worker-n");
    await runPushCycle(depsOf(nFence), pushStore(), transport());
    await runPushCycle(depsOf(nFence), pushStore(), transport());
    expect(shopifyAvailable(store, "T-1", location)).toBe(before + 5);
    const batches = await hub.ctx.database.db
      .selectFrom("push_batches")
      .select(["status"])
      .where("store_id", "=", storeId)
      .execute();
    expect(batches.every((b) => b.status === "done")).toBe(true);
  }, 60_000);
});
