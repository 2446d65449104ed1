/**
 * A hub with order intake wired to an emulated store by signed webhooks, for the order-money
 * tests: place orders in the emulator, let webhooks (orders and transactions) reach the inbox,
 * read the feed, catch the outbound notifications.
 */
import type { FastifyInstance } from "fastify";
import { expect } from "vitest";
import type { Emulator } from "../../emulator/index.ts";
import type { PlaceOrderInput } from "../../emulator/orders.ts";
import { systemClock } from "../../src/core/clock.ts";
import { buildServer } from "../../src/http/server.ts";
import { processInbox } from "../../src/orders/inbox.ts";
import { deliverOutbound } from "../../src/orders/outbound.ts";
import { orderRoutes } from "../../src/orders/routes.ts";
import { ORDER_WEBHOOK_SUBSCRIPTIONS, registerOrderWebhookHandlers } from "../../src/orders/webhooks.ts";
import { createAdminTransport } from "../../src/shopify/admin-client.ts";
import type { AdminTransport } from "../../src/shopify/transport.ts";
import { registerWebhooks } from "../../src/shops/webhook-subscriptions.ts";
import { createWebhookHandlers, shopsWebhookPlugin } from "../../src/shops/webhooks.ts";
import type { TestDialect } from "./databases.ts";
import { startTestHub, type TestHub } from "./hub.ts";
import { connectDirectly, type EmulatedStore, emulatedStore } from "./shopify.ts";

/** A JSON answer of one of several endpoints, read by the tests field by field. */
// biome-ignore lint/suspicious/noExplicitAny: JSON answers of several endpoints
export type Json = any;

export const MONEY_SKUS = Array.from({ length: 10 }, (_, i) => `MSKU-${i}`);

export interface MoneyWorld {
  hub: TestHub;
  api: FastifyInstance;
  store: EmulatedStore;
  storeId: number;
  domain: string;
  transport: AdminTransport;
  /** Outbound bodies received by the "back office", in order. */
  outbound: { type: string; body: Record<string, unknown> }[];
  call(
    method: "GET" | "POST" | "PUT",
    url: string,
    payload?: unknown,
  ): Promise<{ status: number; body: Json }>;
  /** Waits for every webhook, applies the inbox, delivers outbound events. */
  settle(): Promise<void>;
  place(input: PlaceOrderInput): { gid: string; lineIds: string[] };
  /** The feed document of a Shopify order. */
  feed(gid: string): Promise<Json>;
  close(): Promise<void>;
}

export async function moneyWorld(
  emulator: Emulator,
  dialect: TestDialect,
  name: string,
): Promise<MoneyWorld> {
  const domain = `${name}-${dialect}.myshopify.com`;
  const store = await emulatedStore({ emulator, domain, skus: MONEY_SKUS, plan: "plus", initial: () => 100 });
  const hub = await startTestHub(dialect, {
    env: { SHOPIFY_API_KEY: store.clientId, SHOPIFY_API_SECRET: store.clientSecret },
  });
  const handlers = createWebhookHandlers(hub.ctx);
  registerOrderWebhookHandlers(hub.ctx, handlers);
  const api = await buildServer(hub.ctx, {
    routes: orderRoutes(hub.ctx),
    plugins: [shopsWebhookPlugin(hub.ctx, { key: Buffer.alloc(32, 7) }, handlers)],
  });
  const url = await api.listen({ port: 0, host: "127.0.0.1" });
  const call = async (method: "GET" | "POST" | "PUT", path: string, payload?: unknown) => {
    const res = await api.inject({ method, url: path, headers: hub.auth, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json() };
  };
  await call("PUT", "/api/v1/warehouses", {
    warehouses: [
      { code: "W1", name: "Main" },
      { code: "W2", name: "Shop" },
    ],
  });
  await call("PUT", "/api/v1/variants", { variants: MONEY_SKUS.map((sku) => ({ sku })) });
  const storeId = await connectDirectly(hub.ctx.database.db, store, [["W1"], ["W2"]]);
  const transport = createAdminTransport({
    store: domain,
    urlTemplate: `${emulator.url}/{shop}`,
    getAccessToken: async () => store.token,
    clock: systemClock,
    logger: hub.ctx.logger,
  });
  const reg = await registerWebhooks(transport, ORDER_WEBHOOK_SUBSCRIPTIONS, `${url}/webhooks/shopify`);
  expect(reg.failed).toEqual([]);
  const put = await call("PUT", `/api/v1/stores/${domain}/order-settings`, {
    tag: null,
    financialStatuses: ["paid", "partially_paid", "authorized", "partially_refunded", "refunded", "pending"],
    fulfillmentStatuses: ["unfulfilled", "partial", "fulfilled"],
    outboundUrl: "https://back-office.example/hook",
    outboundSecret: "s3cret-s3cret-s3cret",
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  const outbound: MoneyWorld["outbound"] = [];
  const fakeFetch = (async (_u: string, init: RequestInit) => {
    const body = JSON.parse(String(init.body));
    outbound.push({ type: body.type, body });
    return new Response("ok", { status: 200 });
  }) as unknown as typeof fetch;
  return {
    hub,
    api,
    store,
    storeId,
    domain,
    transport,
    outbound,
    call,
    async settle() {
      await emulator.control.webhooksIdle(60_000);
      for (;;) {
        const r = await processInbox(hub.ctx, 500);
        if (r.processed + r.failed + r.dead === 0) break;
      }
      for (;;) {
        const r = await deliverOutbound(hub.ctx, { fetch: fakeFetch });
        if (r.delivered + r.failed + r.dead === 0) break;
      }
    },
    place(input) {
      const o = emulator.control.placeOrder(domain, input);
      return { gid: o.id, lineIds: o.lineItems.map((l) => l.id) };
    },
    async feed(gid) {
      const row = await hub.ctx.database.db
        .selectFrom("orders")
        .select("id")
        .where("store_id", "=", storeId)
        .where("shopify_order_gid", "=", gid)
        .executeTakeFirst();
      if (!row) return undefined;
      return (await call("GET", `/api/v1/orders/${row.id}`)).body;
    },
    async close() {
      // Deliveries still sent or retried keep the server's connections open and close() waits.
      emulator.control.setFaults(domain, { webhookDropRate: 1 });
      await emulator.control.webhooksIdle(20_000).catch(() => {});
      api.server.closeAllConnections();
      await api.close();
      await hub.close();
    },
  };
}
