/**
 * The stock model end to end (docs/STOCK-MODEL.md), in both modes and on both databases: a
 * store's own orders are counted once, by Shopify, through their whole life (placed, imported,
 * shipped by the hub, fulfilled in Shopify, sold at a POS till, cancelled, refunded, edited),
 * and Shopify ends every sequence holding exactly what the hub says, with no drift reported.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../emulator/index.ts";
import { dryRun, initialDeltaSync, runDriftCheck } from "../src/inventory/push/drift.ts";
import { DIALECTS } from "./support/databases.ts";
import type { TestHub } from "./support/hub.ts";
import { shopifyLevel } from "./support/shopify.ts";
import { createWorld, startWorldEmulator, startWorldHub, type World } from "./support/stock-world.ts";

let emulator: Emulator;
let app: { clientId: string; clientSecret: string };
beforeAll(async () => {
  ({ emulator, app } = await startWorldEmulator());
});
afterAll(async () => emulator?.close());

describe.each(DIALECTS)("stock through an order's life on %s", (dialect) => {
  let hub: TestHub;
  let n = 0;
  beforeAll(async () => {
    hub = await startWorldHub(dialect, app);
  });
  afterAll(async () => hub?.close());

  const world = (
    mode: "absolute" | "delta",
    initial: number,
    extra: {
      restockRule?: "none" | "order_warehouse";
      shopifyFulfillments?: "record_in_ledger" | "back_office";
    } = {},
  ) =>
    createWorld({
      emulator,
      hub,
      app,
      domain: `stock-${dialect}-${mode}-${++n}.myshopify.com`,
      skus: [`${dialect}-${mode}-${n}-A`, `${dialect}-${mode}-${n}-B`],
      mode,
      initial,
      ...extra,
    });
  const level = (w: World, sku: string, i = 0) => shopifyLevel(w.store, sku, w.locations[i]!.id);
  const stock = async (w: World, sku: string, warehouse = "W1") => {
    const { body } = await w.call(
      "GET",
      `/api/v1/stock?sku=${encodeURIComponent(sku)}&warehouse=${warehouse}`,
    );
    const row = body.items[0] as { onHand: number; reserved: number; sellable: number };
    return { onHand: row.onHand, reserved: row.reserved, sellable: row.sellable };
  };
  const orderId = async (w: World, shopifyOrderId: string) => {
    const row = await hub.ctx.database.db
      .selectFrom("orders")
      .select("id")
      .where("store_id", "=", w.storeId)
      .where("shopify_order_gid", "=", shopifyOrderId)
      .executeTakeFirstOrThrow();
    return row.id;
  };
  const expectNoDrift = async (w: World) => {
    await w.expectShopifyAsModel();
    const summary = await runDriftCheck(w.pushDeps(), await w.pushStore(), w.transport, "operator");
    expect(summary).toMatchObject({ drifted: 0, fixed: 0 });
    expect(summary.checked).toBe(4);
  };
  /** Movement ids of this world's SKUs. */
  const movementIds = async (w: World, prefix: string) =>
    (
      await hub.ctx.database.db
        .selectFrom("movements as m")
        .innerJoin("variants as v", "v.id", "m.variant_id")
        .select("m.external_id")
        .where("m.external_id", "like", `${prefix}%`)
        .where(
          "v.sku",
          "in",
          w.store.variants.map((v) => v.sku),
        )
        .execute()
    ).map((m) => m.external_id);

  describe.each(["delta", "absolute"] as const)("in %s mode", (mode) => {
    it("an order placed in Shopify, imported and shipped through the hub leaves Shopify as the hub says", async () => {
      const w = await world(mode, 41);
      const sku = w.store.variants[1]!.sku;
      const placed = emulator.control.placeOrder(w.store.domain, {
        lineItems: [{ sku, quantity: 3 }],
        locationId: w.locations[0]!.id,
      });
      await w.settle();
      // Shopify commits the 3 itself; the hub reserves them and sends nothing on top.
      expect(level(w, sku)).toEqual({ available: 38, committed: 3, onHand: 41 });
      expect(await stock(w, sku)).toEqual({ onHand: 41, reserved: 3, sellable: 38 });
      await expectNoDrift(w);

      const shipped = await w.call("POST", "/api/v1/shipments", {
        id: `ship-${w.store.domain}`,
        orderId: await orderId(w, placed.id),
        warehouse: "W1",
        lines: [{ sku, quantity: 3 }],
      });
      expect(shipped.status, JSON.stringify(shipped.body)).toBe(201);
      // Shipped in the hub, not yet fulfilled in Shopify: still committed there, nothing to send.
      expect(await stock(w, sku)).toEqual({ onHand: 38, reserved: 0, sellable: 38 });
      await w.step(5);
      expect(level(w, sku)).toEqual({ available: 38, committed: 3, onHand: 41 });
      await w.settle();
      expect(level(w, sku)).toEqual({ available: 38, committed: 0, onHand: 38 });
      expect(await stock(w, sku)).toEqual({ onHand: 38, reserved: 0, sellable: 38 });
      await expectNoDrift(w);
    });

    it("an order fulfilled in Shopify itself becomes one sale in the ledger, never two", async () => {
      const w = await world(mode, 40);
      const sku = w.store.variants[0]!.sku;
      const placed = emulator.control.placeOrder(w.store.domain, {
        lineItems: [{ sku, quantity: 2 }],
        locationId: w.locations[0]!.id,
      });
      await w.settle();
      expect(level(w, sku)).toEqual({ available: 38, committed: 2, onHand: 40 });
      expect(await stock(w, sku)).toEqual({ onHand: 40, reserved: 2, sellable: 38 });

      emulator.control.fulfillOrder(w.store.domain, placed.id);
      await w.settle();
      expect(level(w, sku)).toEqual({ available: 38, committed: 0, onHand: 38 });
      expect(await stock(w, sku)).toEqual({ onHand: 38, reserved: 0, sellable: 38 });
      expect(await movementIds(w, "fulfillment:")).toEqual([
        expect.stringContaining(placed.lineItems[0]!.id),
      ]);

      // The back office cannot ship the same units again.
      const again = await w.call("POST", "/api/v1/shipments", {
        id: `late-${w.store.domain}`,
        orderId: await orderId(w, placed.id),
        warehouse: "W1",
        lines: [{ sku, quantity: 2 }],
      });
      expect(again.status).toBe(400);
      expect(again.body.error.code).toBe("INVALID_SHIPMENT");
      await expectNoDrift(w);
    });

    it("a POS sale fulfilled at checkout, a cancellation and an edit are counted once", async () => {
      const w = await world(mode, 20);
      const [a, b] = w.store.variants.map((v) => v.sku) as [string, string];
      emulator.control.placeOrder(w.store.domain, {
        lineItems: [{ sku: a, quantity: 4 }],
        locationId: w.locations[1]!.id,
        fulfilled: true,
      });
      const cancelled = emulator.control.placeOrder(w.store.domain, {
        lineItems: [{ sku: b, quantity: 5 }],
        locationId: w.locations[0]!.id,
      });
      const edited = emulator.control.placeOrder(w.store.domain, {
        lineItems: [{ sku: a, quantity: 6 }],
        locationId: w.locations[0]!.id,
      });
      await w.settle();
      expect(level(w, a, 1)).toEqual({ available: 16, committed: 0, onHand: 16 });
      expect(await stock(w, a, "W2")).toEqual({ onHand: 16, reserved: 0, sellable: 16 });
      expect(level(w, b, 0)).toEqual({ available: 15, committed: 5, onHand: 20 });

      emulator.control.cancelOrder(w.store.domain, cancelled.id, { restock: true });
      emulator.control.editOrder(w.store.domain, edited.id, {
        lines: [{ lineItemId: edited.lineItems[0]!.id, quantity: 2 }],
      });
      await w.settle();
      expect(level(w, b, 0)).toEqual({ available: 20, committed: 0, onHand: 20 });
      expect(level(w, a, 0)).toEqual({ available: 18, committed: 2, onHand: 20 });
      expect(await stock(w, a)).toEqual({ onHand: 20, reserved: 2, sellable: 18 });
      await expectNoDrift(w);
    });

    it("refunds: a restock the hub follows, a restock it does not, and units cancelled before shipping", async () => {
      const follow = await world(mode, 10, { restockRule: "order_warehouse" });
      const keep = await world(mode, 10, { restockRule: "none" });
      for (const w of [follow, keep]) {
        const sku = w.store.variants[0]!.sku;
        const placed = emulator.control.placeOrder(w.store.domain, {
          lineItems: [{ sku, quantity: 4 }],
          locationId: w.locations[0]!.id,
        });
        await w.settle();
        emulator.control.fulfillOrder(w.store.domain, placed.id, {
          lines: [{ lineItemId: placed.lineItems[0]!.id, quantity: 3 }],
        });
        await w.settle();
        expect(await stock(w, sku)).toEqual({ onHand: 7, reserved: 1, sellable: 6 });
        emulator.control.createRefund(w.store.domain, placed.id, {
          lineItems: [{ lineItemId: placed.lineItems[0]!.id, quantity: 1, restockType: "CANCEL" }],
        });
        await w.settle();
        expect(await stock(w, sku)).toEqual({ onHand: 7, reserved: 0, sellable: 7 });
        emulator.control.createRefund(w.store.domain, placed.id, {
          lineItems: [{ lineItemId: placed.lineItems[0]!.id, quantity: 2, restockType: "RETURN" }],
        });
        await w.settle();
        const expected = w === follow ? 9 : 7;
        expect(await stock(w, sku)).toEqual({ onHand: expected, reserved: 0, sellable: expected });
        // Shopify restocked 2 by itself; the push takes them back where the hub does not follow.
        expect(level(w, sku)).toEqual({ available: expected, committed: 0, onHand: expected });
        await expectNoDrift(w);
      }
    });

    it("notices a merchant's edit in Shopify within the coalescing window", async () => {
      const w = await world(mode, 12);
      const sku = w.store.variants[0]!.sku;
      emulator.control.setInventory(w.store.domain, { sku, locationId: w.locations[0]!.id, quantity: 30 });
      await w.settle();
      const edits = await hub.ctx.database.db
        .selectFrom("activity_log")
        .select(["kind", "message"])
        .where("store_id", "=", w.storeId)
        .where("kind", "=", "shopify_edit")
        .execute();
      expect(edits).toHaveLength(1);
      if (mode === "absolute") {
        // Overwritten with the hub's value, logged as drift.
        expect(level(w, sku)).toEqual({ available: 12, committed: 0, onHand: 12 });
        await expectNoDrift(w);
      } else {
        // Delta mode keeps Shopify's own change, and the drift check says so.
        expect(level(w, sku)).toEqual({ available: 30, committed: 0, onHand: 30 });
        const summary = await runDriftCheck(w.pushDeps(), await w.pushStore(), w.transport, "operator");
        expect(summary).toMatchObject({ checked: 4, drifted: 1, fixed: 0 });
        // The hub's own changes still go out on top of it.
        const r = await w.call("POST", "/api/v1/movements", {
          movements: [
            {
              id: `${w.store.domain}-r`,
              type: "receipt",
              sku,
              warehouse: "W1",
              quantity: 5,
              occurredAt: new Date().toISOString(),
            },
          ],
        });
        expect(r.status).toBe(200);
        await w.settle();
        expect(level(w, sku)).toEqual({ available: 35, committed: 0, onHand: 35 });
      }
    });

    it("fulfillments the back office posts itself: Shopify shows the hub's count until the sale arrives", async () => {
      const w = await world(mode, 10, { shopifyFulfillments: "back_office" });
      const sku = w.store.variants[0]!.sku;
      const placed = emulator.control.placeOrder(w.store.domain, {
        lineItems: [{ sku, quantity: 2 }],
        locationId: w.locations[0]!.id,
      });
      await w.settle();
      emulator.control.fulfillOrder(w.store.domain, placed.id);
      await w.settle();
      // Not in the ledger yet: the hub still holds 10, and Shopify is brought back to it.
      expect(await stock(w, sku)).toEqual({ onHand: 10, reserved: 0, sellable: 10 });
      expect(level(w, sku)).toEqual({ available: 10, committed: 0, onHand: 10 });
      expect(await movementIds(w, "fulfillment:")).toEqual([]);
      const r = await w.call("POST", "/api/v1/movements", {
        movements: [
          {
            id: `${w.store.domain}-pos`,
            type: "sale",
            sku,
            warehouse: "W1",
            quantity: -2,
            occurredAt: new Date().toISOString(),
          },
        ],
      });
      expect(r.status).toBe(200);
      await w.settle();
      expect(level(w, sku)).toEqual({ available: 8, committed: 0, onHand: 8 });
      await expectNoDrift(w);
    });
  });

  it("delta mode says what Shopify keeps, and an initial sync sends the hub's values once", async () => {
    const w = await world("delta", 9);
    const sku = w.store.variants[0]!.sku;
    emulator.control.setInventory(w.store.domain, { sku, locationId: w.locations[0]!.id, quantity: 4 });
    await w.settle();
    // (The world's store row carries no token: the operations are called as the routes call them.)
    const dry = await dryRun(w.pushDeps(), await w.pushStore(), w.transport, true);
    expect(dry).toMatchObject({ mode: "delta", wouldChange: 0, keptByDelta: 1 });
    expect(dry.rows).toEqual([
      expect.objectContaining({ sku, difference: 5, cause: expect.stringContaining("delta mode keeps it") }),
    ]);
    expect(await initialDeltaSync(w.pushDeps(), await w.pushStore(), w.transport)).toEqual({
      read: 4,
      toSend: 1,
    });
    await w.settle();
    expect(level(w, sku)).toEqual({ available: 9, committed: 0, onHand: 9 });
    await expectNoDrift(w);
    // Absolute mode needs none.
    const absolute = await world("absolute", 3);
    const refused = await absolute.call(
      "POST",
      `/api/v1/stores/${absolute.store.domain}/inventory/initial-sync`,
    );
    expect(refused.status).toBe(409);
  });

  it("an item Shopify refuses waits with its error and retries; the rest of its batch is confirmed", async () => {
    const w = await world("absolute", 5);
    const [a, b] = w.store.variants.map((v) => v.sku) as [string, string];
    const at = new Date().toISOString();
    // The hub takes at most 10^9 units a movement; three of 400,000,000 make more than Shopify holds.
    const post = (id: string, sku: string, quantity: number) =>
      w.call("POST", "/api/v1/movements", {
        movements: [0, 1, 2].map((i) => ({
          id: `${w.store.domain}-${id}-${i}`,
          type: quantity > 0 ? "receipt" : "adjustment",
          sku,
          warehouse: "W1",
          quantity: quantity / 3,
          occurredAt: at,
        })),
      });
    // Shopify refuses quantities above 1,000,000,000.
    expect((await post("huge", a, 1_200_000_000)).status).toBe(200);
    expect((await post("fine", b, 3)).status).toBe(200);
    await w.step(5);
    expect(level(w, b)).toEqual({ available: 8, committed: 0, onHand: 8 });
    expect(level(w, a)).toEqual({ available: 5, committed: 0, onHand: 5 });
    const status = await w.call("GET", `/api/v1/stores/${w.store.domain}/inventory/status`);
    expect(status.body.failingItems).toEqual([
      expect.objectContaining({
        sku: a,
        attempts: 1,
        error: expect.stringContaining("INVALID_QUANTITY_TOO_HIGH"),
      }),
    ]);
    // Still waiting: the mark stays until the item's retry time.
    expect(status.body.waitingVariants).toBe(1);
    // A batch Shopify refuses whole (its only item) keeps its mark too.
    expect((await post("huge-b", b, 1_200_000_000)).status).toBe(200);
    await w.step(5);
    const both = await w.call("GET", `/api/v1/stores/${w.store.domain}/inventory/status`);
    expect(both.body.failingItems.map((f: { sku: string }) => f.sku).sort()).toEqual([a, b].sort());
    expect(both.body.waitingVariants).toBe(2);
    expect((await post("fix-b", b, -1_200_000_000)).status).toBe(200);
    // The back office corrects its mistake; the item goes out at its retry and the error clears.
    expect((await post("fix", a, -1_200_000_000)).status).toBe(200);
    await w.settle();
    expect(level(w, a)).toEqual({ available: 5, committed: 0, onHand: 5 });
    const after = await w.call("GET", `/api/v1/stores/${w.store.domain}/inventory/status`);
    expect(after.body.failingItems).toEqual([]);
  });

  it("absolute mode: an order placed in Shopify before the hub imports it is never overwritten by a push", async () => {
    const w = await world("absolute", 10);
    const sku = w.store.variants[0]!.sku;
    emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku, quantity: 4 }],
      locationId: w.locations[0]!.id,
    });
    await emulator.control.webhooksIdle(5000);
    // A receipt is pushed before the order's webhook is processed.
    const r = await w.call("POST", "/api/v1/movements", {
      movements: [
        {
          id: `${w.store.domain}-r`,
          type: "receipt",
          sku,
          warehouse: "W1",
          quantity: 5,
          occurredAt: new Date().toISOString(),
        },
      ],
    });
    expect(r.status).toBe(200);
    await w.step(5);
    expect(level(w, sku)).toEqual({ available: 11, committed: 4, onHand: 15 });
    await w.settle();
    expect(level(w, sku)).toEqual({ available: 11, committed: 4, onHand: 15 });
    expect(await stock(w, sku)).toEqual({ onHand: 15, reserved: 4, sellable: 11 });
    await expectNoDrift(w);
  });
});
