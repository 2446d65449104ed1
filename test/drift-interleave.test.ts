/**
 * A drift check runs the store's push between its steps (drift.ts). The operator may switch the
 * store's mode while a check runs (minutes for a large store): the push between the steps, and
 * the check's own correction, must follow the mode the store has now, not the one it had when
 * the check began. With the mode captured at the start, a check begun in delta mode kept
 * pushing deltas after a switch to absolute and cleared the switch's marks, so the absolute
 * values never went out (seen in test/push-crash.test.ts). A small store with the bulk-read
 * threshold lowered to 0 takes the large store's path (a bulk read, held here).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { systemClock } from "../src/core/clock.ts";
import { type DriftSummary, runDriftCheck } from "../src/inventory/push/drift.ts";
import { markStoreDirtyFor } from "../src/inventory/push/push-store.ts";
import { runPushCycle } from "../src/inventory/push/reconciler.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { setInventoryMode } from "../src/shops/stores.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub } from "./support/hub.ts";
import { connectDirectly, emulatedStore, shopifyLevel } from "./support/shopify.ts";

const SKUS = Array.from({ length: 20 }, (_, i) => `DI-${String(i).padStart(2, "0")}`);
const shopifyInitial = (i: number) => i % 4;
const hubCount = (i: number) => 10 + (i % 5);
const sale = (i: number) => -(1 + (i % 2));

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator?.close());

const until = async (what: string, done: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 300; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe.each(DIALECTS)("a drift check on %s", (dialect) => {
  it("pushes in the mode the store has now when it is switched during the check", async () => {
    const hub = await startTestHub(dialect);
    const domain = `interleave-${dialect}.myshopify.com`;
    try {
      const store = await emulatedStore({
        emulator,
        domain,
        skus: SKUS,
        locations: ["Warehouse"],
        initial: (s) => shopifyInitial(s),
        plan: "plus",
      });
      const location = store.locations[0]!.id;
      const call = async (method: "PUT" | "POST", url: string, payload: unknown) => {
        const res = await hub.server.inject({ method, url, headers: hub.auth, payload: payload as never });
        expect(res.statusCode, res.body).toBe(200);
      };
      let moveId = 0;
      const post = (movements: { sku: string; type: string; quantity: number }[]) =>
        call("POST", "/api/v1/movements", {
          movements: movements.map((m) => ({
            ...m,
            id: `m-${moveId++}`,
            warehouse: "W1",
            occurredAt: new Date().toISOString(),
          })),
        });
      await call("PUT", "/api/v1/warehouses", { warehouses: [{ code: "W1", name: "Main" }] });
      await call("PUT", "/api/v1/variants", { variants: SKUS.map((sku) => ({ sku })) });
      await post(SKUS.map((sku, i) => ({ sku, type: "count", quantity: hubCount(i) })));
      const db = hub.ctx.database.db;
      const storeId = await connectDirectly(db, store, [["W1"]], { mode: "delta" });
      const transport = createAdminTransport({
        store: domain,
        urlTemplate: `${emulator.url}/{shop}`,
        getAccessToken: async () => store.token,
        clock: systemClock,
        logger: hub.ctx.logger,
      });
      const deps = { db, now: () => Date.now(), logger: hub.ctx.logger, windowMs: 0, bulkReadThreshold: 0 };
      const storeRow = async () => {
        const s = await db
          .selectFrom("stores")
          .select(["id", "domain", "inventory_mode"])
          .where("id", "=", storeId)
          .executeTakeFirstOrThrow();
        return { id: s.id, domain: s.domain, mode: s.inventory_mode };
      };
      // Delta mode's first push records the baselines and sends nothing.
      await markStoreDirtyFor(db, storeId, "all", Date.now());
      await runPushCycle(deps, await storeRow(), transport);
      const mutations = (field: string) =>
        emulator.control.apiCalls(domain).filter((c) => c.status === 200 && c.rootFields.includes(field))
          .length;
      expect(mutations("inventoryAdjustQuantities")).toBe(0);

      // The check begins in delta mode and waits on its (held) bulk read.
      emulator.control.holdBulkOperations(domain, true);
      const bulkBefore = emulator.control.listBulkOperations(domain).length;
      let summary: DriftSummary | undefined;
      const check = runDriftCheck(deps, await storeRow(), transport, "operator").then((s) => {
        summary = s;
      });
      // Awaited below; a failure before then must not outlive the hub as an unhandled rejection.
      check.catch(() => {});
      try {
        await until(
          "the check's bulk read",
          () => emulator.control.listBulkOperations(domain).length > bulkBefore,
        );
        // Meanwhile the operator switches to absolute, and stock leaves the warehouse.
        await setInventoryMode(hub.ctx, storeId, "absolute", Date.now());
        await post(SKUS.map((sku, i) => ({ sku, type: "sale", quantity: sale(i) })));
        // The push between the check's polls sets the hub's values (absolute), as the pass would.
        const hubValue = (i: number) => hubCount(i) + sale(i);
        await until("the hub's values in Shopify", () =>
          SKUS.every((sku, i) => shopifyLevel(store, sku, location).onHand === hubValue(i)),
        );
        expect(summary).toBeUndefined();
        expect(mutations("inventoryAdjustQuantities")).toBe(0);
        expect(mutations("inventorySetQuantities")).toBeGreaterThan(0);
      } finally {
        emulator.control.holdBulkOperations(domain, false);
      }
      await check;
      // Every level was confirmed by the push after the read began: none is compared with the
      // older read, and none is left drifted.
      expect(summary).toMatchObject({ checked: 0, drifted: 0, fixed: 0, pushedMeanwhile: SKUS.length });
      const dirty = await db
        .selectFrom("push_dirty")
        .select("variant_id")
        .where("store_id", "=", storeId)
        .execute();
      expect(dirty).toEqual([]);
    } finally {
      await hub.close();
    }
  }, 60_000);
});
