/**
 * Shipments and refunds end to end against the emulator: a three-line order shipped in two
 * partial shipments with two packages ends FULFILLED with both tracking numbers (PARTIALLY_FULFILLED
 * after the first), replays change nothing, an over-shipment is refused and changes nothing, the
 * reservation becomes a sale exactly once, and a refund with restock raises the ledger once even
 * when its webhook arrives three times.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { systemClock } from "../src/core/clock.ts";
import { deliverStoreShipments } from "../src/fulfillment/deliver.ts";
import {
  FULFILLMENT_WEBHOOK_SUBSCRIPTIONS,
  processRefundInbox,
  registerFulfillmentWebhookHandlers,
  syncRefundsForOrder,
} from "../src/fulfillment/refunds.ts";
import { fulfillmentRoutes } from "../src/fulfillment/routes.ts";
import { buildServer } from "../src/http/server.ts";
import { handleWebhook } from "../src/orders/inbox.ts";
import { importOrder } from "../src/orders/intake.ts";
import { orderRoutes } from "../src/orders/routes.ts";
import { fromWebhookPayload } from "../src/orders/shopify-order.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { ShopifyTransientError } from "../src/shopify/errors.ts";
import type { AdminTransport } from "../src/shopify/transport.ts";
import { registerWebhooks } from "../src/shops/webhook-subscriptions.ts";
import { createWebhookHandlers, shopsWebhookPlugin } from "../src/shops/webhooks.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { connectDirectly, type EmulatedStore, emulatedStore } from "./support/shopify.ts";

const SKUS = ["FUL-A", "FUL-B", "FUL-C"];
const DIALECTS = (process.env.FULFILLMENT_DIALECTS ?? "sqlite,postgres").split(",") as (
  | "sqlite"
  | "postgres"
)[];

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
  emulator.control.setWebhookOptions({ baseDelayMs: 50, timeoutMs: 5000 });
});
afterAll(async () => emulator?.close());

describe.each(DIALECTS)("shipments and refunds on %s", (dialect) => {
  let hub: TestHub;
  let api: FastifyInstance;
  let store: EmulatedStore;
  let storeId: number;
  let transport: AdminTransport;
  const domain = `fulfil-${dialect}.myshopify.com`;

  const call = async (method: "GET" | "POST" | "PUT" | "PATCH", url: string, payload?: unknown) => {
    const res = await api.inject({ method, url, headers: hub.auth, ...(payload ? { payload } : {}) });
    // biome-ignore lint/suspicious/noExplicitAny: test reads of JSON answers
    return { status: res.statusCode, body: res.json() as Record<string, any> };
  };
  const stock = async (sku: string) => {
    const { body } = await call("GET", "/api/v1/stock?limit=500");
    const row = (body.items as { sku: string; warehouse: string; onHand: number; reserved: number }[]).find(
      (r) => r.sku === sku && r.warehouse === "W1",
    );
    return { onHand: row?.onHand ?? 0, reserved: row?.reserved ?? 0 };
  };
  const allStock = async () => Promise.all(SKUS.map(stock));
  const count = async (table: "movements" | "shipments" | "refunds" | "shipment_fulfillments") =>
    Number(
      (
        await hub.ctx.database.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const importFromShopify = async (orderGid: string) => {
    const parsed = fromWebhookPayload(emulator.control.orderPayload(domain, orderGid));
    if (!parsed.ok) throw new Error(parsed.reason);
    return importOrder(hub.ctx, storeId, parsed.order);
  };

  beforeAll(async () => {
    store = await emulatedStore({ emulator, domain, skus: SKUS, initial: () => 10 });
    hub = await startTestHub(dialect, {
      env: { SHOPIFY_API_KEY: store.clientId, SHOPIFY_API_SECRET: store.clientSecret },
    });
    const handlers = createWebhookHandlers(hub.ctx);
    registerFulfillmentWebhookHandlers(hub.ctx, handlers);
    api = await buildServer(hub.ctx, {
      routes: [...orderRoutes(hub.ctx), ...fulfillmentRoutes(hub.ctx)],
      plugins: [shopsWebhookPlugin(hub.ctx, { key: Buffer.alloc(32, 7) }, handlers)],
    });
    const url = await api.listen({ port: 0, host: "127.0.0.1" });
    await call("PUT", "/api/v1/warehouses", {
      warehouses: [
        { code: "W1", name: "Main" },
        { code: "W2", name: "Shop" },
        { code: "RET", name: "Returns" },
      ],
    });
    await call("PUT", "/api/v1/variants", { variants: SKUS.map((sku) => ({ sku })) });
    const received = await call("POST", "/api/v1/movements", {
      movements: SKUS.map((sku) => ({
        id: `receipt-${sku}`,
        type: "receipt",
        sku,
        warehouse: "W1",
        quantity: 10,
        occurredAt: new Date().toISOString(),
      })),
    });
    expect(received.status, JSON.stringify(received.body)).toBe(200);
    storeId = await connectDirectly(hub.ctx.database.db, store, [["W1"], ["W2"]]);
    transport = createAdminTransport({
      store: domain,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
    const reg = await registerWebhooks(
      transport,
      FULFILLMENT_WEBHOOK_SUBSCRIPTIONS,
      `${url}/webhooks/shopify`,
    );
    expect(reg.failed).toEqual([]);
    expect((await call("PUT", `/api/v1/stores/${domain}/order-settings`, { tag: null })).status).toBe(200);
  });
  afterAll(async () => {
    // Deliveries the emulator still sends or retries keep the server's connections open, and
    // close() waits for them: stop them, then close what is left.
    emulator.control.setFaults(domain, { webhookDropRate: 1 });
    await emulator.control.webhooksIdle(30_000).catch(() => {});
    api?.server.closeAllConnections();
    await api?.close();
    await hub?.close();
  }, 120_000);

  it("ships a three-line order in two partial shipments, replays and over-shipments change nothing, refunds restock once", async () => {
    const placed = emulator.control.placeOrder(domain, {
      lineItems: [
        { sku: "FUL-A", quantity: 2 },
        { sku: "FUL-B", quantity: 1 },
        { sku: "FUL-C", quantity: 3 },
      ],
      locationId: store.locations[0]!.id,
      customer: { email: "ship@example.com", firstName: "S", lastName: "Hip" },
    });
    const imported = await importFromShopify(placed.id);
    expect(imported.outcome).toBe("imported");
    const orderId = imported.orderId;
    expect(await allStock()).toEqual([
      { onHand: 10, reserved: 2 },
      { onHand: 10, reserved: 1 },
      { onHand: 10, reserved: 3 },
    ]);
    const lineB = placed.lineItems.find((l) => l.sku === "FUL-B")!.id;

    // First shipment: A×2 (by SKU) and B×1 (by Shopify line id), one package.
    const s1 = {
      id: `S1-${dialect}`,
      orderId,
      warehouse: "W1",
      lines: [
        { sku: "FUL-A", quantity: 2 },
        { lineId: lineB, quantity: 1 },
      ],
      packages: [{ carrier: "UPS", trackingNumber: "1Z-FIRST", trackingUrl: "https://ups.example/1Z-FIRST" }],
      notifyCustomer: true,
    };
    const first = await call("POST", "/api/v1/shipments", s1);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.shipment.status).toBe("pending");
    // Reservation → sale, exactly once: reserved back to 0, on hand down.
    const afterFirst = await allStock();
    expect(afterFirst).toEqual([
      { onHand: 8, reserved: 0 },
      { onHand: 9, reserved: 0 },
      { onHand: 10, reserved: 3 },
    ]);
    const movementsAfterFirst = await count("movements");
    // Shopify has not recorded the fulfillment yet: a new version of the order still shows the
    // shipped units as fulfillable, and must not reserve them again.
    emulator.control.updateOrder(store.domain, placed.id, { note: "gift wrap" });
    await importFromShopify(placed.id);
    expect(await allStock()).toEqual(afterFirst);

    // Replay: same id, same content → 200 duplicate, nothing changes; different content → 409.
    const replay = await call("POST", "/api/v1/shipments", s1);
    expect(replay.status).toBe(200);
    expect(replay.body.duplicate).toBe(true);
    const conflict = await call("POST", "/api/v1/shipments", {
      ...s1,
      lines: [{ sku: "FUL-A", quantity: 1 }],
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe("SHIPMENT_CONFLICT");

    // Over-shipment: refused with a precise reason per line, nothing changes anywhere.
    const before = {
      stock: await allStock(),
      movements: await count("movements"),
      shipments: await count("shipments"),
    };
    const over = await call("POST", "/api/v1/shipments", {
      id: `S-OVER-${dialect}`,
      orderId,
      warehouse: "W1",
      lines: [
        { sku: "FUL-C", quantity: 4 },
        { sku: "FUL-A", quantity: 1 },
        { sku: "NOPE", quantity: 1 },
        { lineId: lineB, quantity: 0 },
      ],
      packages: [],
    });
    expect(over.status).toBe(400);
    expect(over.body.error.code).toBe("INVALID_SHIPMENT");
    expect(over.body.error.details.map((d: { code: string }) => d.code)).toEqual([
      "QUANTITY_EXCEEDS_UNSHIPPED",
      "QUANTITY_EXCEEDS_UNSHIPPED",
      "UNKNOWN_SKU",
      "INVALID_QUANTITY",
    ]);
    expect(over.body.error.details[0].message).toContain("4 shipped but only 3 remain unshipped");
    const wrongWarehouse = await call("POST", "/api/v1/shipments", {
      id: `S-WH-${dialect}`,
      orderId,
      warehouse: "RET",
      lines: [{ sku: "FUL-C", quantity: 1 }],
    });
    expect(wrongWarehouse.status).toBe(400);
    expect(wrongWarehouse.body.error.details[0].code).toBe("WAREHOUSE_MISMATCH");
    const unknownOrder = await call("POST", "/api/v1/shipments", {
      ...s1,
      id: `S-UNK-${dialect}`,
      orderId: 999999,
    });
    expect(unknownOrder.status).toBe(404);
    expect({
      stock: await allStock(),
      movements: await count("movements"),
      shipments: await count("shipments"),
    }).toEqual(before);

    // Delivery: one fulfillment with only the shipped items; Shopify shows partially fulfilled.
    const d1 = await deliverStoreShipments(hub.ctx, transport, storeId);
    expect(d1.applied).toBe(1);
    let shopOrder = emulator.control.getOrder(domain, placed.id);
    expect(shopOrder.displayFulfillmentStatus).toBe("PARTIALLY_FULFILLED");
    expect(shopOrder.fulfillments).toHaveLength(1);
    expect(shopOrder.fulfillments[0]!.tracking.map((t) => t.number)).toEqual(["1Z-FIRST"]);
    const view1 = await call("GET", `/api/v1/shipments/${s1.id}`);
    expect(view1.body.status).toBe("applied");
    expect(view1.body.fulfillments[0].fulfillmentId).toBe(shopOrder.fulfillments[0]!.id);

    // Replays after delivery: nothing new in Shopify or the ledger.
    expect((await call("POST", "/api/v1/shipments", s1)).status).toBe(200);
    const d1again = await deliverStoreShipments(hub.ctx, transport, storeId);
    expect(d1again.applied).toBe(0);
    expect(emulator.control.getOrder(domain, placed.id).fulfillments).toHaveLength(1);
    expect(await count("movements")).toBe(movementsAfterFirst);

    // Shopify's new version of the order (fulfilled A and B) keeps the reservations right.
    await importFromShopify(placed.id);
    expect(await allStock()).toEqual(afterFirst);

    // Second shipment: the rest (C×3), second package.
    const s2 = {
      id: `S2-${dialect}`,
      orderId: placed.id, // the Shopify gid works too
      warehouse: "W1",
      lines: [{ sku: "FUL-C", quantity: 3 }],
      packages: [{ carrier: "UPS", trackingNumber: "1Z-SECOND" }],
    };
    const second = await call("POST", "/api/v1/shipments", s2);
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect(await stock("FUL-C")).toEqual({ onHand: 7, reserved: 0 });
    expect((await deliverStoreShipments(hub.ctx, transport, storeId)).applied).toBe(1);
    shopOrder = emulator.control.getOrder(domain, placed.id);
    expect(shopOrder.displayFulfillmentStatus).toBe("FULFILLED");
    expect(shopOrder.fulfillments.flatMap((f) => f.tracking.map((t) => t.number)).sort()).toEqual([
      "1Z-FIRST",
      "1Z-SECOND",
    ]);
    // Nothing more can ship.
    const more = await call("POST", "/api/v1/shipments", {
      ...s2,
      id: `S3-${dialect}`,
      lines: [{ sku: "FUL-C", quantity: 1 }],
    });
    expect(more.status).toBe(400);

    // Tracking added later.
    const patched = await call("PATCH", `/api/v1/shipments/${s2.id}`, {
      packages: [
        { carrier: "UPS", trackingNumber: "1Z-SECOND" },
        { carrier: "UPS", trackingNumber: "1Z-THIRD" },
      ],
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect((await deliverStoreShipments(hub.ctx, transport, storeId)).trackingUpdated).toBe(1);
    shopOrder = emulator.control.getOrder(domain, placed.id);
    const f2 = shopOrder.fulfillments.find((f) => f.lineItems.some((l) => l.quantity === 3))!;
    expect(f2.tracking.map((t) => t.number)).toEqual(["1Z-SECOND", "1Z-THIRD"]);

    // Refund with restock to the order's warehouse; its webhook delivered three times.
    expect(
      (
        await call("PUT", `/api/v1/stores/${domain}/fulfillment-settings`, {
          notifyCustomer: false,
          restockRule: "order_warehouse",
        })
      ).status,
    ).toBe(200);
    const lineA = placed.lineItems.find((l) => l.sku === "FUL-A")!.id;
    emulator.control.createRefund(domain, placed.id, {
      lineItems: [{ lineItemId: lineA, quantity: 1, restockType: "RETURN" }],
    });
    await emulator.control.webhooksIdle(20_000);
    const delivery = emulator.control
      .webhookDeliveries({ shop: domain, topic: "refunds/create" })
      .find((d) => d.status === "delivered")!;
    expect(delivery).toBeDefined();
    for (const n of [2, 3])
      await handleWebhook(hub.ctx, {
        shop: domain,
        topic: "refunds/create",
        webhookId: `${delivery.webhookId}-redelivery-${n}`,
        rawBody: delivery.body,
      });
    const inbox = await processRefundInbox(hub.ctx, transport);
    expect(inbox).toEqual({ processed: 3, failed: 0, dead: 0 });
    expect(await stock("FUL-A")).toEqual({ onHand: 9, reserved: 0 });
    expect(await count("refunds")).toBe(1);
    // The polling safety net finds nothing new.
    expect(
      await syncRefundsForOrder(hub.ctx, transport, { store_id: storeId, shopify_order_gid: placed.id }),
    ).toEqual({
      recorded: 0,
      known: 1,
    });
    expect(await stock("FUL-A")).toEqual({ onHand: 9, reserved: 0 });
    const refunds = await call("GET", `/api/v1/orders/${orderId}/refunds`);
    expect(refunds.body.items).toHaveLength(1);
    expect(refunds.body.items[0].lines[0]).toMatchObject({ sku: "FUL-A", quantity: 1, restocked: 1 });
    expect(refunds.body.items[0].restockWarehouse).toBe("W1");
  }, 30_000);

  it("records a refund missed by webhooks through polling, without restock by default rule", async () => {
    await call("PUT", `/api/v1/stores/${domain}/fulfillment-settings`, {
      notifyCustomer: false,
      restockRule: "none",
    });
    const placed = emulator.control.placeOrder(domain, {
      lineItems: [{ sku: "FUL-B", quantity: 2 }],
      locationId: store.locations[0]!.id,
    });
    const { orderId } = await importFromShopify(placed.id);
    const s = await call("POST", "/api/v1/shipments", {
      id: `P1-${dialect}`,
      orderId,
      warehouse: "W1",
      lines: [{ sku: "FUL-B", quantity: 2 }],
      packages: [{ trackingNumber: "T-P1" }],
    });
    expect(s.status).toBe(201);
    expect((await deliverStoreShipments(hub.ctx, transport, storeId)).applied).toBe(1);
    const onHand = (await stock("FUL-B")).onHand;
    emulator.control.createRefund(domain, placed.id, {
      lineItems: [{ lineItemId: placed.lineItems[0]!.id, quantity: 2, restockType: "RETURN" }],
    });
    const r = await syncRefundsForOrder(hub.ctx, transport, {
      store_id: storeId,
      shopify_order_gid: placed.id,
    });
    expect(r).toEqual({ recorded: 1, known: 0 });
    expect((await stock("FUL-B")).onHand).toBe(onHand);
    const refunds = await call("GET", `/api/v1/orders/${orderId}/refunds`);
    expect(refunds.body.items[0]).toMatchObject({ restockRule: "none", source: "poll" });
  });
  it("adopts the fulfillment a timed-out attempt created instead of refusing the shipment", async () => {
    const placed = emulator.control.placeOrder(domain, {
      lineItems: [{ sku: "FUL-C", quantity: 2 }],
      locationId: store.locations[0]!.id,
    });
    const { orderId } = await importFromShopify(placed.id);
    const s = await call("POST", "/api/v1/shipments", {
      id: `LOST-${dialect}`,
      orderId,
      warehouse: "W1",
      lines: [{ sku: "FUL-C", quantity: 2 }],
      packages: [{ carrier: "DHL", trackingNumber: "JD-LOST-1" }],
    });
    expect(s.status).toBe(201);
    // Shopify applies fulfillmentCreate, the answer is lost on the way back.
    const losing: AdminTransport = {
      store: transport.store,
      async graphql(doc, vars, opts) {
        const r = await transport.graphql(doc, vars, opts);
        if (doc.includes("fulfillmentCreate"))
          throw new ShopifyTransientError("socket hang up", transport.store, undefined);
        return r as never;
      },
    };
    const first = await deliverStoreShipments(hub.ctx, losing, storeId);
    expect(first.applied).toBe(0);
    await hub.ctx.database.db
      .updateTable("shipments")
      .set({ next_attempt_at: 0 })
      .where("external_id", "=", `LOST-${dialect}`)
      .execute();
    const second = await deliverStoreShipments(hub.ctx, transport, storeId);
    expect(second.applied).toBe(1);
    const order = emulator.control.getOrder(domain, placed.id);
    expect(order.fulfillments).toHaveLength(1);
    expect(order.displayFulfillmentStatus).toBe("FULFILLED");
    const shown = await call("GET", `/api/v1/shipments/LOST-${dialect}`);
    expect(shown.body.status ?? shown.body.shipment?.status).toBe("applied");
  });
});
