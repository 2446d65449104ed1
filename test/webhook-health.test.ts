/**
 * Webhook addresses and health, webhook headers and API deprecations (issue 18), against the
 * emulator, which refuses plain-http webhook addresses and sends X-Shopify-API-Deprecated-Reason
 * as Shopify does:
 * - connecting with a PUBLIC_URL that is not HTTPS says so in the connect answer, the store's
 *   health and /metrics; one action saves an https public URL and re-registers;
 * - subscriptions removed in Shopify are found missing by the scheduled check and re-created;
 * - a delivery for a domain that is not <name>.myshopify.com is dead-lettered, one triggered hours
 *   ago is processed and counted late;
 * - a deprecation notice is recorded per store and operation and exported in /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, signWebhook, startEmulator } from "../emulator/index.ts";
import { fixedClock, systemClock } from "../src/core/clock.ts";
import { createMetrics } from "../src/core/metrics.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { endOfLife, SHOPIFY_API_VERSION } from "../src/shopify/api-version.ts";
import { registerSyncHealth } from "../src/shops/health-metrics.ts";
import { ensureWebhooks } from "../src/shops/webhook-subscriptions.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { type EmulatedStore, emulatedStore } from "./support/shopify.ts";

const DOMAIN = "health.myshopify.com";
const WEBHOOK_SECRET = "health-custom-app-secret-0123456789";

describe("webhook health", () => {
  let emulator: Emulator;
  let store: EmulatedStore;
  let hub: TestHub;
  let storeId: number;

  const call = async (method: "GET" | "POST" | "PUT", url: string, payload?: unknown) => {
    const res = await hub.server.inject({ method, url, headers: hub.auth, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
  };
  const metrics = async () => (await hub.server.inject({ method: "GET", url: "/metrics" })).body;
  const subscriptions = async () => {
    const res = await fetch(`${emulator.url}/${DOMAIN}/admin/api/${SHOPIFY_API_VERSION}/graphql.json`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-shopify-access-token": store.token },
      body: JSON.stringify({ query: "{ webhookSubscriptions(first: 50) { nodes { id topic uri } } }" }),
    });
    return (
      (await res.json()) as {
        data: { webhookSubscriptions: { nodes: { id: string; topic: string; uri: string }[] } };
      }
    ).data.webhookSubscriptions.nodes;
  };

  beforeAll(async () => {
    emulator = await startEmulator();
    store = await emulatedStore({ emulator, domain: DOMAIN, skus: ["H-1"] });
    hub = await startTestHub("sqlite", {
      env: { PUBLIC_URL: "http://hub.example.com", SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}` },
    });
  });
  afterAll(async () => {
    await hub?.close();
    await emulator?.close();
  });

  it("a PUBLIC_URL that is not HTTPS is said at connect, in the store's health and in /metrics", async () => {
    const res = await call("POST", "/api/v1/stores", {
      domain: DOMAIN,
      accessToken: store.token,
      webhookSecret: WEBHOOK_SECRET,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.warnings).toEqual([
      { code: "WEBHOOKS_NOT_REGISTERED", message: expect.stringContaining("is not HTTPS") },
    ]);
    storeId = Number(
      (
        await hub.ctx.database.db
          .selectFrom("stores")
          .select("id")
          .where("domain", "=", DOMAIN)
          .executeTakeFirstOrThrow()
      ).id,
    );
    const health = await call("GET", `/api/v1/stores/${DOMAIN}/health`);
    expect(health.body.webhooks).toMatchObject({
      state: "degraded",
      uri: "http://hub.example.com/webhooks/shopify",
      problem: expect.stringContaining("Shopify accepts only https://"),
    });
    // Shopify (the emulator) refused every topic: nothing is registered
    expect(health.body.webhooks.failed.length).toBeGreaterThan(0);
    expect(await subscriptions()).toEqual([]);
    expect(health.body.publicUrl).toEqual({
      url: "http://hub.example.com",
      https: false,
      problem: expect.any(String),
    });
    const m = await metrics();
    expect(m).toContain(`tillbridge_webhooks_degraded{store="${storeId}"} 1`);
    expect(m).toContain("tillbridge_public_url_webhooks_ok 0");
    expect(m).toContain(`tillbridge_shopify_api_version_days_left{version="${SHOPIFY_API_VERSION}"}`);
  });

  it("the operator fixes the public URL and re-registers in one action", async () => {
    const plain = await call("POST", "/api/v1/webhooks/register", {
      publicUrl: "http://still-plain.example.com",
    });
    expect(plain.status).toBe(400);
    expect(plain.body.error.details[0]).toMatchObject({ path: "publicUrl", code: "PUBLIC_URL_NOT_HTTPS" });

    const fixed = await call("POST", "/api/v1/webhooks/register", { publicUrl: "https://hub.example.com/" });
    expect(fixed.status, JSON.stringify(fixed.body)).toBe(200);
    expect(fixed.body.publicUrl).toBe("https://hub.example.com");
    expect(fixed.body.stores).toEqual([
      { domain: DOMAIN, webhooks: expect.objectContaining({ state: "healthy", problem: null, failed: [] }) },
    ]);
    const subs = await subscriptions();
    expect(subs.length).toBeGreaterThan(0);
    expect(new Set(subs.map((s) => s.uri))).toEqual(new Set(["https://hub.example.com/webhooks/shopify"]));
    const audit = await hub.ctx.database.db
      .selectFrom("audit_log")
      .select(["action", "after"])
      .where("action", "=", "public_url.update")
      .execute();
    expect(audit).toHaveLength(1);
    const m = await metrics();
    expect(m).toContain(`tillbridge_webhooks_degraded{store="${storeId}"} 0`);
    expect(m).toContain("tillbridge_public_url_webhooks_ok 1");
  });

  it("subscriptions removed in Shopify are found missing by the scheduled check and re-created", async () => {
    const before = await subscriptions();
    const removed = before.slice(0, 2);
    for (const s of removed) {
      await fetch(`${emulator.url}/${DOMAIN}/admin/api/${SHOPIFY_API_VERSION}/graphql.json`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-shopify-access-token": store.token },
        body: JSON.stringify({
          query:
            "mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { message } } }",
          variables: { id: s.id },
        }),
      });
    }
    expect(await subscriptions()).toHaveLength(before.length - 2);
    const transport = createAdminTransport({
      store: DOMAIN,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
    // the worker's "shops:webhooks" pass
    const topics = before.map((s) => s.topic);
    const r = await ensureWebhooks(hub.ctx, { id: storeId, domain: DOMAIN }, transport, topics);
    expect(new Set(r.created)).toEqual(new Set(removed.map((s) => s.topic)));
    expect(await subscriptions()).toHaveLength(before.length);
    const health = await call("GET", `/api/v1/stores/${DOMAIN}/health`);
    expect(health.body.webhooks).toMatchObject({
      state: "healthy",
      recreated: expect.arrayContaining(r.created),
    });
    const activity = await call("GET", `/api/v1/stores/${DOMAIN}/activity?flow=connection`);
    expect(activity.body.items[0].message).toContain("were missing");
    expect(m(await metrics())).toBe(2);
    function m(text: string) {
      return Number(new RegExp(`tillbridge_webhooks_missing\\{store="${storeId}"\\} (\\d+)`).exec(text)?.[1]);
    }
  });

  it("subscriptions Shopify removed after their deliveries kept failing are re-created by the check", async () => {
    // The hub is not reachable at https://hub.example.com: every delivery fails, retries run out
    // (quickly: the emulator's retry delays shortened) and Shopify deletes the subscription.
    emulator.control.setWebhookOptions({ baseDelayMs: 1, timeoutMs: 300 });
    emulator.control.placeOrder(DOMAIN, {
      lineItems: [{ sku: "H-1", quantity: 1 }],
      customer: { email: "r@example.com" },
    });
    for (
      let i = 0;
      i < 300 &&
      !emulator.control.removedWebhookSubscriptions(DOMAIN).some((r) => r.topic === "ORDERS_CREATE");
      i++
    ) {
      emulator.control.advanceTime(60_000);
      await new Promise((r) => setTimeout(r, 50));
    }
    const removed = [...new Set(emulator.control.removedWebhookSubscriptions(DOMAIN).map((r) => r.topic))];
    expect(removed).toContain("ORDERS_CREATE");
    const transport = createAdminTransport({
      store: DOMAIN,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
    const topics = [...new Set([...(await subscriptions()).map((s) => s.topic), ...removed])];
    const r = await ensureWebhooks(hub.ctx, { id: storeId, domain: DOMAIN }, transport, topics);
    expect(r.created).toEqual(expect.arrayContaining(removed));
    expect((await subscriptions()).map((s) => s.topic)).toEqual(expect.arrayContaining(removed));
    const health = await call("GET", `/api/v1/stores/${DOMAIN}/health`);
    expect(health.body.webhooks.missing).toEqual(expect.arrayContaining(removed));
  });

  it("checks the shop domain header and records late deliveries", async () => {
    const post = (shop: string, triggeredAt: string, id: string) => {
      const raw = JSON.stringify({ id: 1 });
      return hub.server.inject({
        method: "POST",
        url: "/webhooks/shopify",
        headers: {
          "content-type": "application/json",
          "x-shopify-topic": "orders/create",
          "x-shopify-shop-domain": shop,
          "x-shopify-webhook-id": id,
          "x-shopify-triggered-at": triggeredAt,
          "x-shopify-hmac-sha256": signWebhook(raw, WEBHOOK_SECRET),
        },
        payload: raw,
      });
    };
    const bad = await post(`${DOMAIN}.evil.com`, new Date().toISOString(), "wh-bad-domain");
    expect(bad.statusCode).toBe(401); // no secret of a connected store signs for it
    const threeHoursAgo = new Date(Date.now() - 3 * 3600_000).toISOString();
    const late = await post(DOMAIN, threeHoursAgo, "wh-late-1");
    expect(late.statusCode).toBe(200);
    const onTime = await post(DOMAIN, new Date().toISOString(), "wh-on-time-1");
    expect(onTime.statusCode).toBe(200);
    const inbox = await hub.ctx.database.db
      .selectFrom("webhook_inbox")
      .select(["webhook_id", "status"])
      .where("webhook_id", "in", ["wh-late-1", "wh-on-time-1"])
      .execute();
    expect(inbox).toHaveLength(2); // the late one is kept for processing like any other
    const health = await call("GET", `/api/v1/stores/${DOMAIN}/health`);
    expect(health.body.lateDeliveries).toMatchObject({ count: 1, lastTopic: "orders/create" });
    expect(health.body.lateDeliveries.maxLateMs).toBeGreaterThanOrEqual(3 * 3600_000 - 60_000);
    expect(await metrics()).toContain(`tillbridge_webhooks_late_deliveries{store="${storeId}"} 1`);
  });

  it("records Shopify's deprecation notices per store and operation", async () => {
    const ran = await hub.worker.runNow({ id: storeId, domain: DOMAIN }, (transport) =>
      transport.graphql("query TillbridgeTestOldAddress { shop { billingAddress { city } } }"),
    );
    expect(ran).toBe(true);
    // recorded outside the call's path: wait for the row
    for (let i = 0; i < 50; i++) {
      const rows = await hub.ctx.database.db.selectFrom("api_deprecations").selectAll().execute();
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const health = await call("GET", `/api/v1/stores/${DOMAIN}/health`);
    expect(health.body.deprecations).toEqual([
      expect.objectContaining({
        operation: "TillbridgeTestOldAddress",
        apiVersion: SHOPIFY_API_VERSION,
        count: 1,
      }),
    ]);
    // Shopify's header carries a link to its deprecation notes
    expect(health.body.deprecations[0].reason).toMatch(/^https:\/\/shopify\.dev\//);
    expect(await metrics()).toContain(
      `tillbridge_shopify_api_deprecations{store="${storeId}",operation="TillbridgeTestOldAddress"} 1`,
    );
  });

  it("warns at start-up within 90 days of the pinned version's end of life, not before", async () => {
    const day = 24 * 3600_000;
    const warnings = (at: number) => {
      const seen: string[] = [];
      const logger = { ...hub.ctx.logger, warn: (_o: unknown, msg?: string) => void seen.push(String(msg)) };
      registerSyncHealth({
        ...hub.ctx,
        clock: fixedClock(at),
        logger: logger as never,
        metrics: createMetrics(),
      });
      return seen;
    };
    expect(warnings(endOfLife(SHOPIFY_API_VERSION) - 120 * day)).toEqual([]);
    expect(warnings(endOfLife(SHOPIFY_API_VERSION) - 30 * day)).toEqual([
      expect.stringContaining(`reaches its end of life on`),
    ]);
  });
});
