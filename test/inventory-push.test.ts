/**
 * The inventory push end to end: the hub's ledger → reconciler → throttled transport → the
 * emulator, which enforces Shopify's 2026-10 rules (compare-and-set, idempotency keys, cost).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { systemClock } from "../src/core/clock.ts";
import { sellable } from "../src/inventory/ledger.ts";
import { dryRun, runDriftCheck } from "../src/inventory/push/drift.ts";
import { markPushDirty, markStoreDirtyFor } from "../src/inventory/push/push-store.ts";
import { runPushCycle } from "../src/inventory/push/reconciler.ts";
import { noteLevelEvents } from "../src/inventory/push/shopify-level-events.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { ShopifyTransientError } from "../src/shopify/errors.ts";
import type { AdminTransport } from "../src/shopify/transport.ts";
import { setInventoryMode } from "../src/shops/stores.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { connectDirectly, type EmulatedStore, emulatedStore, shopifyAvailable } from "./support/shopify.ts";

const SKUS = Array.from({ length: 30 }, (_, i) => `SKU-${String(i).padStart(3, "0")}`);
const WAREHOUSES = ["W1", "W2", "W3"];
/** Location 0 sells from W1 and W2, location 1 from W3. */
const MAPPING = [["W1", "W2"], ["W3"]];

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator?.close());

describe.each(DIALECTS)("inventory push on %s", (dialect) => {
  let hub: TestHub;
  let store: EmulatedStore;
  let storeId: number;
  let transport: AdminTransport;
  let n = 0;

  const post = async (movements: unknown[]) => {
    const res = await hub.server.inject({
      method: "POST",
      url: "/api/v1/movements",
      headers: hub.auth,
      payload: { movements },
    });
    expect(res.statusCode, res.body).toBe(200);
  };
  const deps = () => ({
    db: hub.ctx.database.db,
    now: () => Date.now(),
    logger: hub.ctx.logger,
    windowMs: 0,
  });
  const storeRow = async () => {
    const s = await hub.ctx.database.db
      .selectFrom("stores")
      .select(["id", "domain", "inventory_mode"])
      .where("id", "=", storeId)
      .executeTakeFirstOrThrow();
    return { id: s.id, domain: s.domain, mode: s.inventory_mode };
  };
  /** Runs cycles until nothing is left to push. */
  const converge = async (t: AdminTransport = transport) => {
    for (let i = 0; i < 20; i++) {
      const r = await runPushCycle(deps(), await storeRow(), t);
      const dirty = await hub.ctx.database.db
        .selectFrom("push_dirty")
        .select("variant_id")
        .where("store_id", "=", storeId)
        .execute();
      if (!r.remaining && dirty.length === 0) return;
    }
    throw new Error("push did not converge in 20 cycles");
  };
  const hubSellable = async (sku: string, warehouses: readonly string[]) => {
    const rows = await hub.ctx.database.db
      .selectFrom("stock_levels as s")
      .innerJoin("variants as v", "v.id", "s.variant_id")
      .innerJoin("warehouses as w", "w.id", "s.warehouse_id")
      .select(["s.on_hand", "s.reserved", "s.safety_stock", "w.code"])
      .where("v.sku", "=", sku)
      .execute();
    return rows
      .filter((r) => warehouses.includes(r.code))
      .reduce(
        (sum, r) => sum + sellable({ onHand: r.on_hand, reserved: r.reserved, safetyStock: r.safety_stock }),
        0,
      );
  };
  /** The inventory item Shopify has for a SKU in the store. */
  const itemOf = async (sku: string) =>
    (
      await hub.ctx.database.db
        .selectFrom("variant_links as l")
        .innerJoin("variants as v", "v.id", "l.variant_id")
        .select("l.inventory_item_gid")
        .where("l.store_id", "=", storeId)
        .where("v.sku", "=", sku)
        .executeTakeFirstOrThrow()
    ).inventory_item_gid;
  /** The data of the store's latest activity of a kind. */
  const lastActivity = async (kind: string) =>
    (
      await hub.ctx.database.db
        .selectFrom("activity_log")
        .select("data")
        .where("store_id", "=", storeId)
        .where("kind", "=", kind)
        .orderBy("id", "desc")
        .executeTakeFirstOrThrow()
    ).data;
  const expectConverged = async () => {
    for (const sku of SKUS) {
      for (const [li, loc] of store.locations.entries()) {
        expect({ sku, loc: loc.name, qty: shopifyAvailable(store, sku, loc.id) }).toEqual({
          sku,
          loc: loc.name,
          qty: await hubSellable(sku, MAPPING[li]!),
        });
      }
    }
  };

  beforeAll(async () => {
    hub = await startTestHub(dialect);
    hub.ctx.stockListeners.push(markPushDirty);
    const domain = `push-${dialect}.myshopify.com`;
    store = await emulatedStore({ emulator, domain, skus: SKUS, initial: (s, l) => (s * 3 + l * 7) % 11 });
    await hub.server.inject({
      method: "PUT",
      url: "/api/v1/warehouses",
      headers: hub.auth,
      payload: { warehouses: WAREHOUSES.map((code) => ({ code, name: code })) },
    });
    await hub.server.inject({
      method: "PUT",
      url: "/api/v1/variants",
      headers: hub.auth,
      payload: { variants: SKUS.map((sku) => ({ sku })) },
    });
    storeId = await connectDirectly(hub.ctx.database.db, store, MAPPING);
    // As enabling the flow does: every linked item is due once, so the hub's view replaces Shopify's.
    await markStoreDirtyFor(hub.ctx.database.db, storeId, "all", Date.now());
    transport = createAdminTransport({
      store: domain,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
  });
  afterAll(async () => hub?.close());
  afterEach(() => emulator.control.clearFaults(store.domain));

  it("after a random stream of movements every linked item and location equals the hub's sellable", async () => {
    let seed = 7;
    const rand = (k: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % k;
    };
    for (let b = 0; b < 6; b++) {
      const movements = Array.from({ length: 80 }, () => {
        const type = ["receipt", "sale", "adjustment", "transfer", "count"][rand(5)]!;
        const q = 1 + rand(6);
        return {
          id: `rand-${n++}`,
          type,
          sku: SKUS[rand(SKUS.length)],
          warehouse: WAREHOUSES[rand(3)],
          ...(type === "transfer" ? { toWarehouse: "W3" } : {}),
          quantity: type === "sale" ? -q : type === "adjustment" ? q - 3 || 1 : type === "count" ? 5 + q : q,
          occurredAt: new Date(Date.UTC(2026, 10, 1) + rand(100_000) * 1000).toISOString(),
        };
      }).filter((m) => !(m.type === "transfer" && m.warehouse === "W3"));
      await post(movements);
      await converge();
    }
    await expectConverged();
    const calls = emulator.control.apiCalls(store.domain);
    expect(calls.some((c) => JSON.stringify(c).includes("inventorySetQuantities"))).toBe(true);
  });

  it("resolves a stale changeFromQuantity by overwriting Shopify's value and logging the drift", async () => {
    const sku = SKUS[4]!;
    emulator.control.setInventory(store.domain, { sku, locationId: store.locations[0]!.id, quantity: 999 });
    await post([
      {
        id: `stale-${n++}`,
        type: "receipt",
        sku,
        warehouse: "W1",
        quantity: 2,
        occurredAt: new Date().toISOString(),
      },
    ]);
    await converge();
    expect(shopifyAvailable(store, sku, store.locations[0]!.id)).toBe(await hubSellable(sku, MAPPING[0]!));
    const log = await hub.ctx.database.db
      .selectFrom("activity_log")
      .selectAll()
      .where("store_id", "=", storeId)
      .where("kind", "=", "stale_corrected")
      .execute();
    expect(log.length).toBeGreaterThan(0);
    expect(log.at(-1)!.data).toContain("999");
  });

  it("a change Shopify reports while a set is due costs no read: the set compares, and an edit is caught and logged", async () => {
    await converge();
    const [echoed, edited] = [SKUS[6]!, SKUS[7]!];
    const location = store.locations[0]!.id;
    const item = { echoed: await itemOf(echoed), edited: await itemOf(edited) };
    const before = {
      echoed: shopifyAvailable(store, echoed, location),
      edited: shopifyAvailable(store, edited, location),
    };
    // The stock moves on, then Shopify's events arrive: the echo of the last push for one, a
    // merchant's edit for the other (Shopify's on_hand is no longer what the hub confirmed).
    await post(
      [echoed, edited].map((sku) => ({
        id: `moved-${n++}`,
        type: "receipt",
        sku,
        warehouse: "W1",
        quantity: 3,
        occurredAt: new Date().toISOString(),
      })),
    );
    emulator.control.setInventory(store.domain, { sku: edited, locationId: location, quantity: 500 });
    const outcomes = await noteLevelEvents(hub.ctx, storeId, [
      { itemGid: item.echoed, locationGid: location, available: before.echoed },
      { itemGid: item.edited, locationGid: location, available: 500 },
    ]);
    expect(outcomes).toEqual(["recheck", "recheck"]);
    const callsBefore = emulator.control.apiCalls(store.domain).length;
    await converge();
    const calls = emulator.control.apiCalls(store.domain).slice(callsBefore);
    // One set, stale for the edited item; one read of that batch; the set again. No read first.
    expect(calls.map((c) => c.rootFields.join(","))).toEqual([
      "inventorySetQuantities",
      "nodes",
      "inventorySetQuantities",
    ]);
    expect(shopifyAvailable(store, echoed, location)).toBe(await hubSellable(echoed, MAPPING[0]!));
    expect(shopifyAvailable(store, edited, location)).toBe(await hubSellable(edited, MAPPING[0]!));
    const drift = await lastActivity("stale_corrected");
    expect(drift).toContain(item.edited);
    expect(drift).not.toContain(item.echoed);
    // Settled by the accepted set: the next cycles read nothing.
    const flagged = await hub.ctx.database.db
      .selectFrom("inventory_sync")
      .select("inventory_item_gid")
      .where("store_id", "=", storeId)
      .where("recheck", "=", 1)
      .execute();
    expect(flagged).toEqual([]);
  });

  it("a change Shopify reports where nothing is due is read and logged as an edit", async () => {
    await converge();
    const sku = SKUS[8]!;
    const location = store.locations[0]!.id;
    const item = await itemOf(sku);
    emulator.control.setInventory(store.domain, { sku, locationId: location, quantity: 400 });
    expect(
      await noteLevelEvents(hub.ctx, storeId, [{ itemGid: item, locationGid: location, available: 400 }]),
    ).toEqual(["recheck"]);
    await converge();
    expect(shopifyAvailable(store, sku, location)).toBe(await hubSellable(sku, MAPPING[0]!));
    expect(await lastActivity("shopify_edit")).toContain(item);
  });

  it("resends the same request after a crash between Shopify applying a batch and the hub recording it", async () => {
    // A transport that lets the call through, then loses the answer: exactly a timeout after
    // Shopify applied the change, or the process dying before it wrote the result.
    let dropAnswers = true;
    const losing: AdminTransport = {
      store: transport.store,
      async graphql(doc, vars, opts) {
        const r = await transport.graphql(doc, vars, opts);
        if (dropAnswers && /mutation/.test(doc))
          throw new ShopifyTransientError("connection reset after send", transport.store, undefined);
        return r as never;
      },
    };
    for (const mode of ["absolute", "delta"] as const) {
      await hub.ctx.database.db
        .updateTable("stores")
        .set({ inventory_mode: mode })
        .where("id", "=", storeId)
        .execute();
      await converge(); // delta mode: records its baseline
      const sku = SKUS[mode === "absolute" ? 7 : 8]!;
      await post([
        {
          id: `crash-${mode}-${n++}`,
          type: "receipt",
          sku,
          warehouse: "W1",
          quantity: 5,
          occurredAt: new Date().toISOString(),
        },
      ]);
      dropAnswers = true;
      const first = await runPushCycle(deps(), await storeRow(), losing);
      expect(first.remaining).toBe(true);
      const pending = await hub.ctx.database.db
        .selectFrom("push_batches")
        .selectAll()
        .where("store_id", "=", storeId)
        .where("status", "=", "pending")
        .execute();
      expect(pending).toHaveLength(1);
      dropAnswers = false;
      await converge(losing);
      // Applied once: Shopify shows the hub's value, not the delta twice.
      expect(shopifyAvailable(store, sku, store.locations[0]!.id)).toBe(await hubSellable(sku, MAPPING[0]!));
    }
    await hub.ctx.database.db
      .updateTable("stores")
      .set({ inventory_mode: "absolute" })
      .where("id", "=", storeId)
      .execute();
  });

  it("in delta mode sends only the hub's change and leaves Shopify's own count otherwise untouched", async () => {
    await hub.ctx.database.db
      .updateTable("stores")
      .set({ inventory_mode: "delta" })
      .where("id", "=", storeId)
      .execute();
    const sku = SKUS[12]!;
    const loc = store.locations[1]!.id;
    await converge();
    emulator.control.setInventory(store.domain, { sku, locationId: loc, quantity: 40 }); // Shopify's own count
    await post([
      {
        id: `delta-${n++}`,
        type: "receipt",
        sku,
        warehouse: "W3",
        quantity: 4,
        occurredAt: new Date().toISOString(),
      },
    ]);
    await converge();
    expect(shopifyAvailable(store, sku, loc)).toBe(44);
    await hub.ctx.database.db
      .updateTable("stores")
      .set({ inventory_mode: "absolute" })
      .where("id", "=", storeId)
      .execute();
  });

  it("switching a store to absolute makes every linked item due, so Shopify ends up showing the hub's values", async () => {
    const db = hub.ctx.database.db;
    await setInventoryMode(hub.ctx, storeId, "delta", Date.now());
    await converge();
    const sku = SKUS[13]!;
    emulator.control.setInventory(store.domain, { sku, locationId: store.locations[0]!.id, quantity: 123 });
    await setInventoryMode(hub.ctx, storeId, "absolute", Date.now());
    const dirty = await db
      .selectFrom("push_dirty")
      .select("variant_id")
      .where("store_id", "=", storeId)
      .execute();
    expect(dirty.length).toBeGreaterThanOrEqual(SKUS.length);
    await converge();
    expect(shopifyAvailable(store, sku, store.locations[0]!.id)).toBe(await hubSellable(sku, MAPPING[0]!));
  });

  it("converges under constant throttling pressure from another app", async () => {
    emulator.control.setThrottlePressure({
      shop: store.domain,
      clientId: store.clientId,
      available: 0,
      drainRate: 60,
    });
    try {
      await post(
        SKUS.map((sku) => ({
          id: `press-${n++}`,
          type: "receipt",
          sku,
          warehouse: "W2",
          quantity: 1,
          occurredAt: new Date().toISOString(),
        })),
      );
      await converge();
    } finally {
      emulator.control.setThrottlePressure({
        shop: store.domain,
        clientId: store.clientId,
        drainRate: 0,
        available: 2000,
      });
    }
    await expectConverged();
  });

  it("converges through injected 5xx errors and dropped connections", async () => {
    emulator.control.setFaults(store.domain, { errorRate: 0.3, dropConnectionRate: 0.1 });
    await post(
      SKUS.map((sku) => ({
        id: `fault-${n++}`,
        type: "sale",
        sku,
        warehouse: "W1",
        quantity: -1,
        occurredAt: new Date().toISOString(),
      })),
    );
    for (let i = 0; i < 10; i++) {
      try {
        await converge();
        break;
      } catch {
        // a cycle may end in a transient failure; the next one resends
      }
    }
    emulator.control.clearFaults(store.domain);
    await converge();
    await expectConverged();
  });

  it("activates an item at a managed location where the store does not stock it yet", async () => {
    const product = emulator.control.createProduct(store.domain, {
      title: "Only in the warehouse",
      variants: [{ sku: "NEW-1", price: "5.00", inventory: { [store.locations[0]!.id]: 4 } }],
    });
    const v = product.variants[0]!;
    expect(
      emulator.control.getInventoryLevel(store.domain, { sku: "NEW-1", locationId: store.locations[1]!.id }),
    ).toBeNull();
    await hub.server.inject({
      method: "PUT",
      url: "/api/v1/variants",
      headers: hub.auth,
      payload: { variants: [{ sku: "NEW-1" }] },
    });
    const db = hub.ctx.database.db;
    const variant = await db
      .selectFrom("variants")
      .select("id")
      .where("sku", "=", "NEW-1")
      .executeTakeFirstOrThrow();
    await db
      .insertInto("variant_links")
      .values({
        store_id: storeId,
        variant_id: variant.id,
        product_variant_gid: v.id,
        inventory_item_gid: v.inventoryItemId,
        matched_by: "sku",
        linked_at: Date.now(),
      })
      .execute();
    await post([
      {
        id: `new-${n++}`,
        type: "receipt",
        sku: "NEW-1",
        warehouse: "W3",
        quantity: 6,
        occurredAt: new Date().toISOString(),
      },
    ]);
    await converge();
    expect(shopifyAvailable(store, "NEW-1", store.locations[1]!.id)).toBe(6);
    expect(shopifyAvailable(store, "NEW-1", store.locations[0]!.id)).toBe(0);
    const log = await db
      .selectFrom("activity_log")
      .select("kind")
      .where("store_id", "=", storeId)
      .where("kind", "=", "activated")
      .execute();
    expect(log).toHaveLength(1);
  });

  it("reports a dry run without writing to Shopify, and a drift check corrects what a merchant changed", async () => {
    const sku = SKUS[20]!;
    const loc = store.locations[0]!.id;
    emulator.control.setInventory(store.domain, { sku, locationId: loc, quantity: 77 });
    const callsBefore = emulator.control.apiCalls(store.domain).length;
    const report = await dryRun(deps(), await storeRow(), transport);
    const hub0 = await hubSellable(sku, MAPPING[0]!);
    expect(report.rows.find((r) => r.sku === sku && r.locationId === loc)).toMatchObject({
      shopify: { onHand: 77, available: 77, committed: 0 },
      hub: { onHand: hub0, available: hub0, committed: 0 },
      difference: hub0 - 77,
      cause: expect.stringContaining("changed in Shopify"),
    });
    expect(report.wouldChange).toBe(1);
    const mutations = emulator.control
      .apiCalls(store.domain)
      .slice(callsBefore)
      .filter((c) => JSON.stringify(c).includes("mutation"));
    expect(mutations).toEqual([]);
    expect(shopifyAvailable(store, sku, loc)).toBe(77);

    const summary = await runDriftCheck(deps(), await storeRow(), transport, "operator");
    // The drift check and the dry run make the same comparison.
    expect(summary).toMatchObject({ checked: report.checked, drifted: report.wouldChange, fixed: 1 });
    // Parts that add up (issue 14 read "18 checked, 0 drifted, 18 fixed").
    expect(report.inSync + report.differing).toBe(report.checked);
    expect(summary.inSync + summary.drifted).toBe(summary.checked);
    expect(summary).toMatchObject({ remaining: 0, inSync: report.checked - 1 });
    const line = await deps()
      .db.selectFrom("activity_log")
      .select("message")
      .where("kind", "=", "drift_check")
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirstOrThrow();
    expect(line.message).toBe(
      `Drift check: ${summary.checked} checked: ${summary.inSync} as the hub says, 1 differed from the hub: 1 corrected, 0 still differ`,
    );
    expect(shopifyAvailable(store, sku, loc)).toBe(await hubSellable(sku, MAPPING[0]!));
  });

  it("reads a large store's levels with one bulk operation for the drift check", async () => {
    const sku = SKUS[21]!;
    const loc = store.locations[1]!.id;
    emulator.control.setInventory(store.domain, { sku, locationId: loc, quantity: 55 });
    const bulkBefore = emulator.control.listBulkOperations(store.domain).length;
    const summary = await runDriftCheck(
      { ...deps(), bulkReadThreshold: 0 },
      await storeRow(),
      transport,
      "schedule",
    );
    expect(summary).toMatchObject({ drifted: 1, fixed: 1 });
    expect(summary.checked).toBeGreaterThanOrEqual(SKUS.length * 2);
    expect(emulator.control.listBulkOperations(store.domain).length).toBe(bulkBefore + 1);
    expect(shopifyAvailable(store, sku, loc)).toBe(await hubSellable(sku, MAPPING[1]!));
  });
});
