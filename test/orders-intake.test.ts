/**
 * Order intake end to end against the emulator: signed webhooks (duplicated, reordered, partly
 * dropped) into the durable inbox, the polling backfill, reservations in the stock the inventory
 * push reads, parked orders, tagging, the back-office feed, outbound webhooks, personal data.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { systemClock } from "../src/core/clock.ts";
import { buildServer } from "../src/http/server.ts";
import { markPushDirty } from "../src/inventory/push/push-store.ts";
import { backfillOrders } from "../src/orders/backfill.ts";
import { handleOrderWebhook, processInbox } from "../src/orders/inbox.ts";
import { reprocessParked } from "../src/orders/intake.ts";
import { deliverOutbound, verifyOutbound } from "../src/orders/outbound.ts";
import { applyRetention, forgetOverwritten } from "../src/orders/personal-data.ts";
import { orderRoutes } from "../src/orders/routes.ts";
import { processTagJobs } from "../src/orders/tagging.ts";
import { ORDER_WEBHOOK_SUBSCRIPTIONS, registerOrderWebhookHandlers } from "../src/orders/webhooks.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { webhookHmac } from "../src/shopify/hmac.ts";
import type { AdminTransport } from "../src/shopify/transport.ts";
import { registerWebhooks } from "../src/shops/webhook-subscriptions.ts";
import { createWebhookHandlers, shopsWebhookPlugin } from "../src/shops/webhooks.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { connectDirectly, type EmulatedStore, emulatedStore } from "./support/shopify.ts";

const SKUS = Array.from({ length: 20 }, (_, i) => `OSKU-${String(i).padStart(2, "0")}`);
const LATE_SKU = "OSKU-LATE";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
  emulator.control.setWebhookOptions({ baseDelayMs: 50, timeoutMs: 5000 });
});
afterAll(async () => emulator?.close());

/** Deterministic pseudo-random numbers. */
function rng(seed: number) {
  let s = seed;
  return (k: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % k;
  };
}

describe.each(DIALECTS)("order intake on %s", (dialect) => {
  // Enough orders for every fault to hit many times (about a third of deliveries dropped, more
  // duplicated); volume itself is bench:webhooks' job.
  const N = Number(process.env.ORDERS_INTAKE_N ?? 400);
  let hub: TestHub;
  let api: FastifyInstance;
  let webhookUrl: string;
  let store: EmulatedStore;
  let storeId: number;
  let transport: AdminTransport;
  const domain = `orders-${dialect}.myshopify.com`;

  const call = async (method: "GET" | "POST" | "PUT", url: string, payload?: unknown) => {
    const res = await api.inject({ method, url, headers: hub.auth, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> & { items?: unknown[] } };
  };
  const drainInbox = async () => {
    for (;;) {
      const r = await processInbox(hub.ctx, 500);
      if (r.processed + r.failed + r.dead === 0) return;
    }
  };
  const deliverAll = async () => {
    await emulator.control.webhooksIdle(60_000);
    await drainInbox();
  };
  const hubOrder = (gid: string) =>
    hub.ctx.database.db
      .selectFrom("orders")
      .selectAll()
      .where("store_id", "=", storeId)
      .where("shopify_order_gid", "=", gid)
      .executeTakeFirst();
  const stockOf = async (sku: string, warehouse: string) => {
    const { body } = await call("GET", `/api/v1/stock?limit=500`);
    return (
      body.items as { sku: string; warehouse: string; reserved: number; sellable: number; onHand: number }[]
    ).find((r) => r.sku === sku && r.warehouse === warehouse);
  };

  beforeAll(async () => {
    store = await emulatedStore({ emulator, domain, skus: [...SKUS, LATE_SKU], plan: "plus" });
    // The app's secret signs the deliveries; the shops webhook plugin verifies it.
    hub = await startTestHub(dialect, {
      env: { SHOPIFY_API_KEY: store.clientId, SHOPIFY_API_SECRET: store.clientSecret },
    });
    hub.ctx.stockListeners.push(markPushDirty);
    const handlers = createWebhookHandlers(hub.ctx);
    registerOrderWebhookHandlers(hub.ctx, handlers);
    api = await buildServer(hub.ctx, {
      routes: orderRoutes(hub.ctx),
      plugins: [shopsWebhookPlugin(hub.ctx, { key: Buffer.alloc(32, 7) }, handlers)],
    });
    const url = await api.listen({ port: 0, host: "127.0.0.1" });
    webhookUrl = `${url}/webhooks/shopify`;
    await call("PUT", "/api/v1/warehouses", {
      warehouses: [
        { code: "W1", name: "Main" },
        { code: "W2", name: "Shop" },
      ],
    });
    await call("PUT", "/api/v1/variants", { variants: SKUS.map((sku) => ({ sku })) });
    storeId = await connectDirectly(hub.ctx.database.db, store, [["W1"], ["W2"]]);
    transport = createAdminTransport({
      store: domain,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
    const reg = await registerWebhooks(transport, ORDER_WEBHOOK_SUBSCRIPTIONS, webhookUrl);
    expect(reg.failed).toEqual([]);
    const put = await call("PUT", `/api/v1/stores/${domain}/order-settings`, { tag: null });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
  });
  afterAll(async () => {
    // Deliveries still retried by the emulator would keep the server's connections busy.
    emulator.control.setFaults(domain, { webhookDropRate: 1 });
    await emulator.control.webhooksIdle(30_000).catch(() => {});
    api?.server.closeAllConnections();
    await api?.close();
    await hub?.close();
  }, 120_000);

  it(`${N} orders through duplicated, reordered and dropped webhooks plus backfill equal the emulator's latest versions`, async () => {
    const started = Date.now();
    emulator.control.setFaults(domain, {
      webhookDropRate: 0.1,
      webhookDuplicateRate: 0.2,
      webhookReorderWindowMs: 300,
    });
    const rand = rng(42);
    const placed: string[] = [];
    for (let i = 0; i < N; i++) {
      const lines = Array.from({ length: 1 + rand(3) }, () => ({
        sku: SKUS[rand(SKUS.length)]!,
        quantity: 1 + rand(3),
      }));
      const kind = rand(10);
      const o = emulator.control.placeOrder(domain, {
        lineItems: lines,
        // POS orders carry their location (web orders have none since the emulator follows Shopify).
        sourceName: "pos",
        locationId: store.locations[rand(2)]!.id,
        ...(kind === 0
          ? {}
          : {
              customer: { email: `buyer${rand(200)}@example.com`, firstName: "B", lastName: `N${i}` },
              shippingAddress: {
                firstName: "B",
                lastName: `N${i}`,
                address1: `${i} Road`,
                city: "Town",
                countryCode: "US",
              },
            }),
        ...(kind === 1 ? { company: { name: `Company ${rand(20)}` } } : {}),
      });
      placed.push(o.id);
      if (i % 10 === 3) emulator.control.updateOrder(domain, o.id, { note: `changed ${i}` });
      if (i % 20 === 7) emulator.control.cancelOrder(domain, o.id, { reason: "customer" });
    }
    // Later edits of earlier orders, while deliveries are still in flight.
    for (let i = 0; i < N; i += 25) {
      emulator.control.advanceTime(1);
      emulator.control.updateOrder(domain, placed[i]!, { note: `late ${i}` });
    }
    await deliverAll();
    const dropped = emulator.control
      .webhookDeliveries({ shop: domain })
      .filter((d) => d.status === "dropped").length;
    const duplicated = emulator.control
      .webhookDeliveries({ shop: domain })
      .filter((d) => d.duplicated).length;
    const beforeBackfill = Number(
      (
        await hub.ctx.database.db
          .selectFrom("orders")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("store_id", "=", storeId)
          .executeTakeFirstOrThrow()
      ).n,
    );
    const webhookMs = Date.now() - started;
    const b = await backfillOrders(hub.ctx, transport, storeId);
    await drainInbox();
    const backfillMs = Date.now() - started - webhookMs;

    const emulated = emulator.control.listOrders(domain);
    expect(emulated).toHaveLength(N);
    const rows = await hub.ctx.database.db
      .selectFrom("orders")
      .selectAll()
      .where("store_id", "=", storeId)
      .execute();
    expect(rows).toHaveLength(N);
    const byGid = new Map(rows.map((r) => [r.shopify_order_gid, r]));
    const lines = await hub.ctx.database.db.selectFrom("order_lines").selectAll().execute();
    const linesByOrder = new Map<number, typeof lines>();
    for (const l of lines) linesByOrder.set(l.order_id, [...(linesByOrder.get(l.order_id) ?? []), l]);
    const expectedReserved = new Map<string, number>();
    for (const e of emulated) {
      const h = byGid.get(e.id);
      expect(h, e.id).toBeDefined();
      expect(h!.shopify_updated_at).toBe(Date.parse(e.updatedAt));
      expect(h!.cancelled_at).toBe(e.cancelledAt ? Date.parse(e.cancelledAt) : null);
      expect(h!.status).toBe(e.cancelledAt ? "cancelled" : "imported");
      expect(h!.financial_status).toBe(e.financialStatus);
      const hl = (linesByOrder.get(h!.id) ?? []).map((l) => [
        l.shopify_line_gid,
        l.sku,
        l.quantity,
        l.fulfillable_quantity,
      ]);
      expect(hl).toEqual(e.lineItems.map((l) => [l.id, l.sku, l.quantity, l.fulfillableQuantity]));
      if (!e.cancelledAt) {
        const wh = e.locationId === store.locations[0]!.id ? "W1" : "W2";
        for (const l of e.lineItems) {
          const k = `${l.sku}:${wh}`;
          expectedReserved.set(k, (expectedReserved.get(k) ?? 0) + l.fulfillableQuantity);
        }
      }
    }
    // The reservation is in the stock levels the inventory push reads.
    for (const [k, q] of expectedReserved) {
      const [sku, wh] = k.split(":") as [string, string];
      expect((await stockOf(sku, wh))?.reserved, k).toBe(q);
    }
    // The feed holds every imported order once, in a stable order.
    const seen = new Set<number>();
    let after: string | null = null;
    for (;;) {
      const page = await call("GET", `/api/v1/orders?limit=200${after ? `&after=${after}` : ""}`);
      const items = page.body.items as { id: number }[];
      if (items.length === 0) break;
      for (const it of items) seen.add(it.id);
      after = page.body.nextCursor as string;
    }
    // Every imported order once; a cancelled order the hub never imported (its create webhook
    // lost or late) stays out of the back office's feed.
    const importedIds = rows.filter((r) => r.imported_at !== null).map((r) => r.id);
    expect([...seen].sort((x, y) => x - y)).toEqual(importedIds.sort((x, y) => x - y));
    expect(rows.filter((r) => r.cancelled_at === null).every((r) => r.imported_at !== null)).toBe(true);
    console.log(
      `[orders ${dialect}] ${N} orders, ${dropped} deliveries dropped, ${duplicated} duplicated; ${beforeBackfill} orders from webhooks in ${webhookMs} ms; backfill read ${b.read} (${JSON.stringify(b.outcomes)}) in ${backfillMs} ms`,
    );
    emulator.control.clearFaults(domain);
    // Order payloads carry their money (taxes, discounts, shipping, payments) and every payment
    // is one more webhook (order_transactions/create): on a loaded 2-core machine this run took
    // up to ~100 s of webhooks alone.
  }, 240_000);

  it("concurrent duplicate deliveries create one order and one reservation", async () => {
    const o = emulator.control.placeOrder(domain, {
      lineItems: [{ sku: SKUS[0]!, quantity: 2 }],
      locationId: store.locations[0]!.id,
    });
    await emulator.control.webhooksIdle();
    await hub.ctx.database.db.deleteFrom("webhook_inbox").where("status", "!=", "done").execute();
    const before = (await stockOf(SKUS[0]!, "W1"))?.reserved ?? 0;
    const rawBody = JSON.stringify(emulator.control.orderPayload(domain, o.id));
    const same = await Promise.all(
      Array.from({ length: 8 }, () =>
        handleOrderWebhook(hub.ctx, {
          shop: domain,
          topic: "orders/create",
          webhookId: `dup-${o.id}`,
          rawBody,
        }),
      ),
    );
    expect(same.filter((r) => r.stored)).toHaveLength(1);
    // Different webhook ids, same order, processed by two workers at once.
    await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        handleOrderWebhook(hub.ctx, {
          shop: domain,
          topic: "orders/paid",
          webhookId: `dup-${o.id}-${i}`,
          rawBody,
        }),
      ),
    );
    await Promise.all([processInbox(hub.ctx), processInbox(hub.ctx), processInbox(hub.ctx)]);
    const rows = await hub.ctx.database.db
      .selectFrom("orders")
      .select("id")
      .where("shopify_order_gid", "=", o.id)
      .execute();
    expect(rows).toHaveLength(1);
    expect((await stockOf(SKUS[0]!, "W1"))?.reserved).toBe(before + 2);
  });

  it("refuses a forged signature and stores nothing; a good one is stored once", async () => {
    const body = JSON.stringify({ id: 1, name: "#forged" });
    const count = async () =>
      Number(
        (
          await hub.ctx.database.db
            .selectFrom("webhook_inbox")
            .select((eb) => eb.fn.countAll().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await count();
    const post = (hmac: string, id: string) =>
      fetch(webhookUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-shopify-topic": "orders/create",
          "x-shopify-shop-domain": domain,
          "x-shopify-webhook-id": id,
          "x-shopify-hmac-sha256": hmac,
        },
        body,
      });
    expect((await post(webhookHmac(body, "not-the-secret"), "forged-1")).status).toBe(401);
    expect(await count()).toBe(before);
    expect((await post(webhookHmac(body, store.clientSecret), "signed-1")).status).toBe(200);
    expect((await post(webhookHmac(body, store.clientSecret), "signed-1")).status).toBe(200);
    expect(await count()).toBe(before + 1);
    // Not an order: dead-lettered with its reason, never retried, nothing imported.
    await drainInbox();
    const row = await hub.ctx.database.db
      .selectFrom("webhook_inbox")
      .selectAll()
      .where("webhook_id", "=", "signed-1")
      .executeTakeFirstOrThrow();
    expect(row.status).toBe("dead");
    expect(row.last_error).toMatch(/not an order payload/);
  });

  it("an older version never overwrites a newer one", async () => {
    const o = emulator.control.placeOrder(domain, {
      lineItems: [{ sku: SKUS[1]!, quantity: 1 }],
      locationId: store.locations[1]!.id,
    });
    const v1 = JSON.stringify(emulator.control.orderPayload(domain, o.id));
    emulator.control.advanceTime(1000);
    emulator.control.cancelOrder(domain, o.id);
    const v2 = JSON.stringify(emulator.control.orderPayload(domain, o.id));
    await emulator.control.webhooksIdle();
    await drainInbox();
    await handleOrderWebhook(hub.ctx, {
      shop: domain,
      topic: "orders/create",
      webhookId: `old-${o.id}`,
      rawBody: v1,
    });
    await drainInbox();
    const h = await hubOrder(o.id);
    expect(h?.status).toBe("cancelled");
    expect(h?.shopify_updated_at).toBe(Date.parse(JSON.parse(v2).updated_at));
  });

  it("an order already cancelled when first seen reaches the feed and order problems, reserving nothing", async () => {
    const o = emulator.control.placeOrder(domain, {
      lineItems: [{ sku: SKUS[3]!, quantity: 2 }],
      locationId: store.locations[0]!.id,
    });
    emulator.control.advanceTime(1000);
    emulator.control.cancelOrder(domain, o.id, { reason: "customer" });
    const cancelled = JSON.stringify(emulator.control.orderPayload(domain, o.id));
    // Only the cancelled version arrives (its create webhook was lost).
    await handleOrderWebhook(hub.ctx, {
      shop: domain,
      topic: "orders/cancelled",
      webhookId: `cancelled-first-${o.id}`,
      rawBody: cancelled,
    });
    await drainInbox();
    const h = await hubOrder(o.id);
    expect(h?.status).toBe("cancelled");
    expect(h?.imported_at).not.toBeNull();
    expect(h?.feed_seq).not.toBeNull();
    const problems = await call("GET", `/api/v1/order-problems?store=${domain}&status=cancelled`);
    const items = problems.body.items as { id: number; reason: string }[];
    expect(items.map((p) => p.id)).toContain(h!.id);
    expect(items.find((p) => p.id === h!.id)!.reason).toMatch(
      /cancelled in Shopify .* before the hub imported it/,
    );
    const reservations = await hub.ctx.database.db
      .selectFrom("reservations")
      .select("quantity")
      .where("order_id", "=", h!.id)
      .execute();
    expect(reservations.every((r) => r.quantity === 0)).toBe(true);
  });

  it("parks an order with an unknown SKU and imports it once the SKU is linked", async () => {
    const o = emulator.control.placeOrder(domain, {
      lineItems: [
        { sku: LATE_SKU, quantity: 2 },
        { sku: SKUS[2]!, quantity: 1 },
      ],
      locationId: store.locations[0]!.id,
    });
    await deliverAll();
    let h = await hubOrder(o.id);
    expect(h?.status).toBe("parked");
    expect(h?.park_reason).toContain(LATE_SKU);
    const problems = await call("GET", `/api/v1/order-problems?store=${domain}&status=parked`);
    expect((problems.body.items as { shopifyOrderId: string }[]).map((p) => p.shopifyOrderId)).toContain(
      o.id,
    );
    expect(await stockOf(LATE_SKU, "W1")).toBeUndefined();

    await call("PUT", "/api/v1/variants", { variants: [{ sku: LATE_SKU }] });
    const r = await reprocessParked(hub.ctx, storeId);
    expect(r.imported).toBeGreaterThanOrEqual(1);
    h = await hubOrder(o.id);
    expect(h?.status).toBe("imported");
    expect((await stockOf(LATE_SKU, "W1"))?.reserved).toBe(2);
  });

  it("reservations lower sellable stock and cancellation releases them", async () => {
    const sku = SKUS[19]!;
    const mv = await call("POST", "/api/v1/movements", {
      movements: [
        {
          id: `recv-${dialect}`,
          type: "receipt",
          sku,
          warehouse: "W2",
          quantity: 10,
          occurredAt: new Date().toISOString(),
        },
      ],
    });
    expect(mv.status, JSON.stringify(mv.body)).toBe(200);
    const base = (await stockOf(sku, "W2"))!;
    const o = emulator.control.placeOrder(domain, {
      lineItems: [{ sku, quantity: 3 }],
      sourceName: "pos",
      locationId: store.locations[1]!.id,
    });
    await deliverAll();
    const after = (await stockOf(sku, "W2"))!;
    expect(after.reserved).toBe(base.reserved + 3);
    expect(after.sellable).toBe(Math.max(0, base.sellable - 3));
    // The inventory push was told, in the same transaction: the variant is marked for every store.
    const variant = await hub.ctx.database.db
      .selectFrom("variants")
      .select("id")
      .where("sku", "=", sku)
      .executeTakeFirstOrThrow();
    const dirty = await hub.ctx.database.db
      .selectFrom("push_dirty")
      .selectAll()
      .where("variant_id", "=", variant.id)
      .execute();
    expect(dirty.length).toBeGreaterThan(0);
    emulator.control.advanceTime(1000);
    emulator.control.cancelOrder(domain, o.id);
    await deliverAll();
    const released = (await stockOf(sku, "W2"))!;
    expect(released.reserved).toBe(base.reserved);
    expect(released.sellable).toBe(base.sellable);
  });

  it("tags imported orders in Shopify through the transport (outbox)", async () => {
    await call("PUT", `/api/v1/stores/${domain}/order-settings`, { tag: "tillbridge-imported" });
    const o = emulator.control.placeOrder(domain, {
      lineItems: [{ sku: SKUS[3]!, quantity: 1 }],
      locationId: store.locations[0]!.id,
    });
    await deliverAll();
    const r = await processTagJobs(hub.ctx, transport, storeId);
    expect(r).toEqual({ done: 1, failed: 0 });
    expect(emulator.control.getOrder(domain, o.id).tags).toContain("tillbridge-imported");
    // The tag's own orders/updated webhook changes nothing for the back office.
    const seq = (await hubOrder(o.id))?.feed_seq;
    await deliverAll();
    expect((await hubOrder(o.id))?.feed_seq).toBe(seq);
    await call("PUT", `/api/v1/stores/${domain}/order-settings`, { tag: null });
  });

  it("signs outbound webhooks, retries them, dead-letters and replays", async () => {
    const secret = "s3cret-s3cret-s3cret";
    let failuresLeft = 2;
    let mode: "flaky" | "down" | "up" = "flaky";
    const received: { type: string; ok: boolean; orderId: number }[] = [];
    const server: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const ok = verifyOutbound(
          body,
          req.headers["x-tillbridge-signature"] as string,
          secret,
          Math.floor(Date.now() / 1000),
        );
        const fail = mode === "down" || (mode === "flaky" && failuresLeft-- > 0);
        if (!fail) received.push({ type: JSON.parse(body).type, ok, orderId: JSON.parse(body).order.id });
        res.statusCode = fail ? 503 : 200;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const put = await call("PUT", `/api/v1/stores/${domain}/order-settings`, {
        tag: null,
        outboundUrl: url,
        outboundSecret: secret,
      });
      expect(put.status).toBe(200);
      expect(put.body).not.toHaveProperty("outboundSecret");
      const stored = await hub.ctx.database.db
        .selectFrom("order_settings")
        .select("settings")
        .where("store_id", "=", storeId)
        .executeTakeFirstOrThrow();
      expect(stored.settings).not.toContain(secret); // encrypted at rest
      const o = emulator.control.placeOrder(domain, {
        lineItems: [{ sku: SKUS[4]!, quantity: 1 }],
        locationId: store.locations[0]!.id,
      });
      await deliverAll();
      const options = { baseDelayMs: 1, maxAttempts: 4 };
      for (let i = 0; i < 10 && received.length === 0; i++) {
        await deliverOutbound(hub.ctx, options);
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(received).toEqual([{ type: "order.created", ok: true, orderId: (await hubOrder(o.id))!.id }]);

      mode = "down";
      emulator.control.advanceTime(1000);
      emulator.control.cancelOrder(domain, o.id);
      await deliverAll();
      for (let i = 0; i < 10; i++) {
        await deliverOutbound(hub.ctx, options);
        await new Promise((r) => setTimeout(r, 10));
      }
      const dead = await call("GET", "/api/v1/outbound/dead");
      const items = dead.body.items as { id: number; type: string; attempts: number; lastError: string }[];
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({
        type: "order.cancelled",
        attempts: 4,
        lastError: "back office answered HTTP 503",
      });

      mode = "up";
      expect((await call("POST", `/api/v1/outbound/${items[0]!.id}/replay`)).status).toBe(200);
      await deliverOutbound(hub.ctx, options);
      expect(received.at(-1)).toMatchObject({ type: "order.cancelled", ok: true });
      expect((await call("GET", "/api/v1/outbound/dead")).body.items).toHaveLength(0);
    } finally {
      await call("PUT", `/api/v1/stores/${domain}/order-settings`, { tag: null });
      server.close();
    }
  });

  it("answers compliance requests and erases personal data after the retention period", async () => {
    const email = `privacy-${dialect}@example.com`;
    const o = emulator.control.placeOrder(domain, {
      lineItems: [{ sku: SKUS[5]!, quantity: 1 }],
      customer: { email, firstName: "Pri", lastName: "Vacy" },
      shippingAddress: {
        firstName: "Pri",
        lastName: "Vacy",
        address1: "1 Secret St",
        city: "X",
        countryCode: "US",
      },
    });
    await deliverAll();
    const legacyId = Number(o.id.split("/").pop());
    await handleOrderWebhook(hub.ctx, {
      shop: domain,
      topic: "customers/data_request",
      webhookId: `dr-${dialect}`,
      rawBody: JSON.stringify({
        shop_domain: domain,
        customer: { id: 1, email },
        orders_requested: [legacyId],
        data_request: { id: 77 },
      }),
    });
    await drainInbox();
    const reqs = await call("GET", "/api/v1/compliance/requests");
    const dr = (
      reqs.body.items as {
        topic: string;
        data: { dataRequestId: number; orders: { name: string; email: string }[] };
      }[]
    ).find((r) => r.topic === "customers/data_request" && r.data.dataRequestId === 77);
    expect(dr?.data.orders.map((x) => x.email)).toEqual([email]);

    await handleOrderWebhook(hub.ctx, {
      shop: domain,
      topic: "customers/redact",
      webhookId: `cr-${dialect}`,
      rawBody: JSON.stringify({
        shop_domain: domain,
        customer: { id: 1, email },
        orders_to_redact: [legacyId],
      }),
    });
    await drainInbox();
    const h = await hubOrder(o.id);
    expect(h).toMatchObject({ email: null, customer_name: null, addresses: null });
    expect(h?.source).not.toContain("Secret St");
    const cust = await hub.ctx.database.db
      .selectFrom("customers")
      .selectAll()
      .where("email", "=", email)
      .execute();
    expect(cust).toHaveLength(0);

    // Retention: cancelled orders are erased once past the store's retention period.
    await call("PUT", `/api/v1/stores/${domain}/order-settings`, { tag: null, retentionDays: 0 });
    await forgetOverwritten(hub.ctx); // what the compliance requests above left
    expect(await forgetOverwritten(hub.ctx)).toBe(false);
    const r = await applyRetention(hub.ctx, Date.now() + 1000);
    expect(r.orders).toBeGreaterThan(0);
    // The old row versions go too (SQLite: WAL truncated; PostgreSQL: the tables vacuumed).
    expect(await forgetOverwritten(hub.ctx)).toBe(true);
    const left = await hub.ctx.database.db
      .selectFrom("orders")
      .select("id")
      .where("cancelled_at", "is not", null)
      .where("redacted_at", "is", null)
      .execute();
    expect(left).toHaveLength(0);
    await call("PUT", `/api/v1/stores/${domain}/order-settings`, { tag: null });
  });
});
