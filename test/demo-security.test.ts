/**
 * The demo must never weaken a real installation (issue 13): its webhook secret is random per run
 * and verifies the demo store alone; forged deliveries (the old published secret, another shop,
 * evil.com, customers/redact) are refused; a verified delivery for an unknown or disconnected
 * store is answered and dead-lettered, never processed; restarts leave one live demo key; and the
 * demo switches itself off once a real store is connected. Also: /shopify/install is rate-limited
 * and failed API authentications are limited per address and counted in /metrics.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_SHOP } from "../emulator/demo.ts";
import { signWebhook } from "../emulator/index.ts";
import { adminUrlTemplateFor } from "../src/config/config.ts";
import {
  connectDemoStore,
  DEMO_KEY_NAME,
  type DemoEmulator,
  startDemoEmulator,
  watchForRealStore,
} from "../src/demo/demo.ts";
import { adminBase } from "../src/shops/tokens.ts";
import { DIALECTS, type TestDialect } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";

const REAL_SHOP = "real-outfitters.myshopify.com";

async function postWebhook(
  hub: TestHub,
  shop: string,
  topic: string,
  body: object,
  secret: string,
  id = `wh-${Math.random().toString(36).slice(2)}`,
) {
  const raw = JSON.stringify(body);
  return hub.server.inject({
    method: "POST",
    url: "/webhooks/shopify",
    headers: {
      "content-type": "application/json",
      "x-shopify-topic": topic,
      "x-shopify-shop-domain": shop,
      "x-shopify-webhook-id": id,
      "x-shopify-hmac-sha256": signWebhook(raw, secret),
    },
    payload: raw,
  });
}

const count = async (hub: TestHub, table: "compliance_requests" | "webhook_inbox") =>
  Number(
    (
      await hub.ctx.database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe.each(DIALECTS)("demo security on %s", (dialect: TestDialect) => {
  let demo: DemoEmulator;
  let hub: TestHub;
  let demoKey: string;

  beforeAll(async () => {
    demo = await startDemoEmulator(0);
    // The "real" store of these tests lives in the emulator too: named explicitly, as an operator
    // would for a store of their own (the demo itself points only the demo store there).
    hub = await startTestHub(dialect, {
      env: {
        ...demo.env,
        SHOPIFY_ADMIN_URL_OVERRIDES: `${demo.env.SHOPIFY_ADMIN_URL_OVERRIDES},${REAL_SHOP}=${demo.emulator.url}/{shop}`,
      },
    });
    demoKey = (await connectDemoStore(hub, demo)).apiKey;
  }, 60_000);
  afterAll(async () => {
    await hub?.close();
    await demo?.emulator.close().catch(() => {});
  });

  it("uses a random secret per run and gives the hub no app-wide secret", async () => {
    expect(demo.webhookSecret).not.toBe(DEMO_CLIENT_SECRET);
    expect(demo.webhookSecret.length).toBeGreaterThanOrEqual(40);
    expect(hub.ctx.config.shopifyApp).toBeUndefined();
    const other = await startDemoEmulator(0);
    try {
      expect(other.webhookSecret).not.toBe(demo.webhookSecret);
    } finally {
      await other.emulator.close();
    }
    // The demo store's own deliveries still verify.
    const ok = await postWebhook(hub, DEMO_SHOP, "app/scopes_update", {}, demo.webhookSecret);
    expect(ok.statusCode).toBe(200);
  });

  it("points the demo store alone at the emulator; every other store keeps the real Admin API", () => {
    const config = hub.ctx.config;
    expect(adminUrlTemplateFor(config, DEMO_SHOP)).toBe(`${demo.emulator.url}/{shop}`);
    expect(adminUrlTemplateFor(config, "real-shop.myshopify.com")).toBe("https://{shop}");
    expect(demo.env.SHOPIFY_ADMIN_URL_TEMPLATE).toBeUndefined();
    expect(config.shopifyAdminUrlTemplate).toBe("https://{shop}");
    expect(adminBase(config, "real-shop.myshopify.com")).toBe("https://real-shop.myshopify.com");
  });

  it("refuses webhooks forged with the published demo secret, for the demo store, an unknown shop or evil.com", async () => {
    const before = await count(hub, "webhook_inbox");
    for (const shop of [DEMO_SHOP, "unknown-shop.myshopify.com", "evil.com"]) {
      const res = await postWebhook(hub, shop, "orders/create", { id: 1 }, DEMO_CLIENT_SECRET);
      expect(res.statusCode, shop).toBe(401);
      expect(res.json().error.code).toBe("INVALID_WEBHOOK");
    }
    // The demo secret is the demo store's alone: it does not sign for another shop.
    for (const shop of ["unknown-shop.myshopify.com", "evil.com"]) {
      const res = await postWebhook(hub, shop, "orders/create", { id: 1 }, demo.webhookSecret);
      expect(res.statusCode, shop).toBe(401);
    }
    expect(await count(hub, "webhook_inbox")).toBe(before);
  });

  it("refuses a forged customers/redact and executes nothing", async () => {
    const before = await count(hub, "compliance_requests");
    const res = await postWebhook(
      hub,
      DEMO_SHOP,
      "customers/redact",
      { shop_domain: DEMO_SHOP, customer: { id: 1, email: "ada@example.com" }, orders_to_redact: [] },
      DEMO_CLIENT_SECRET,
    );
    expect(res.statusCode).toBe(401);
    expect(await count(hub, "compliance_requests")).toBe(before);
  });

  it("keeps one live demo key across restarts", async () => {
    const again = await connectDemoStore(hub, demo);
    const live = await hub.ctx.database.db
      .selectFrom("api_keys")
      .select("id")
      .where("name", "=", DEMO_KEY_NAME)
      .where("revoked_at", "is", null)
      .execute();
    expect(live).toHaveLength(1);
    const old = await hub.server.inject({
      method: "GET",
      url: "/api/v1/warehouses",
      headers: { authorization: `Bearer ${demoKey}` },
    });
    expect(old.statusCode).toBe(401);
    demoKey = again.apiKey;
  }, 60_000);

  it("switches itself off once a real store is connected: key revoked, demo store disconnected, its webhooks dead-lettered", async () => {
    const watch = watchForRealStore(hub, demo, 60_000);
    try {
      expect(await watch.check()).toBe(false);
      const control = demo.emulator.control;
      control.createShop({ domain: REAL_SHOP, name: "Real Outfitters", plan: "standard" });
      const { accessToken } = control.mintToken({ shop: REAL_SHOP, clientId: DEMO_CLIENT_ID });
      const connected = await hub.server.inject({
        method: "POST",
        url: "/api/v1/stores",
        headers: hub.auth,
        payload: { domain: REAL_SHOP, accessToken },
      });
      expect(connected.statusCode, connected.body).toBe(201);
      expect(await watch.check()).toBe(true);
    } finally {
      watch.stop();
    }
    const withDemoKey = await hub.server.inject({
      method: "GET",
      url: "/api/v1/warehouses",
      headers: { authorization: `Bearer ${demoKey}` },
    });
    expect(withDemoKey.statusCode).toBe(401);
    const demoStore = await hub.ctx.database.db
      .selectFrom("stores")
      .select(["status", "status_reason"])
      .where("domain", "=", DEMO_SHOP)
      .executeTakeFirstOrThrow();
    expect(demoStore.status).toBe("disconnected");
    expect(demoStore.status_reason).toMatch(/real store/);

    const orders = await count(hub, "webhook_inbox");
    const res = await postWebhook(
      hub,
      DEMO_SHOP,
      "orders/create",
      { id: 7 },
      demo.webhookSecret,
      "wh-late-1",
    );
    expect(res.statusCode).toBe(200);
    const row = await hub.ctx.database.db
      .selectFrom("webhook_inbox")
      .select(["status", "last_error"])
      .where("webhook_id", "=", "wh-late-1")
      .executeTakeFirstOrThrow();
    expect(row.status).toBe("dead");
    expect(row.last_error).toMatch(/disconnected/);
    expect(await count(hub, "webhook_inbox")).toBe(orders + 1);
  }, 60_000);
});

describe("a configured Shopify app on sqlite", () => {
  let hub: TestHub;
  const SECRET = "a-real-app-secret-0123456789";
  beforeAll(async () => {
    hub = await startTestHub("sqlite", {
      env: { SHOPIFY_API_KEY: "real-app", SHOPIFY_API_SECRET: SECRET, PUBLIC_URL: "http://hub.test" },
    });
  });
  afterAll(async () => hub?.close());

  it("dead-letters a verified webhook for an unknown shop with its reason, and never processes it", async () => {
    const before = await count(hub, "compliance_requests");
    for (const [shop, id] of [
      ["unknown-shop.myshopify.com", "wh-unknown-1"],
      ["evil.com", "wh-evil-1"],
    ] as const) {
      const res = await postWebhook(
        hub,
        shop,
        "customers/redact",
        { shop_domain: shop, customer: { id: 1 }, orders_to_redact: [] },
        SECRET,
        id,
      );
      expect(res.statusCode).toBe(200);
      const row = await hub.ctx.database.db
        .selectFrom("webhook_inbox")
        .select(["status", "last_error", "attempts"])
        .where("webhook_id", "=", id)
        .executeTakeFirstOrThrow();
      expect(row.status).toBe("dead");
      expect(row.last_error).toContain(`no store ${shop} is connected`);
    }
    expect(await count(hub, "compliance_requests")).toBe(before);
  });

  it("rate-limits /shopify/install per address and keeps few states", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const res = await hub.server.inject({
        method: "GET",
        url: `/shopify/install?shop=shop-${i}.myshopify.com`,
      });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) expect(res.json().error.code).toBe("RATE_LIMITED");
    }
    expect(statuses.filter((s) => s === 302)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    const states = await hub.ctx.database.db
      .selectFrom("oauth_states")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    expect(Number(states.n)).toBe(20);
  });

  it("limits failed API authentications per address and counts them in /metrics", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) {
      const res = await hub.server.inject({
        method: "GET",
        url: "/api/v1/warehouses",
        headers: { authorization: "Bearer tb_not-a-key", "x-forwarded-for": "203.0.113.9" },
        remoteAddress: "203.0.113.9",
      });
      statuses.push(res.statusCode);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20)).toEqual([429, 429]);
    // Another address with a valid key is not affected.
    const ok = await hub.server.inject({ method: "GET", url: "/api/v1/warehouses", headers: hub.auth });
    expect(ok.statusCode).toBe(200);
    const metrics = (await hub.server.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toMatch(/tillbridge_api_auth_failures_total\{reason="unknown"\} 20/);
    expect(metrics).toMatch(/tillbridge_api_auth_failures_total\{reason="rate_limited"\} 2/);
  });

  it("checks the key before reading the body", async () => {
    const res = await hub.server.inject({
      method: "POST",
      url: "/api/v1/movements",
      headers: { "content-type": "application/json", authorization: "Bearer tb_other" },
      payload: "{not json",
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("UNAUTHORIZED");
  });
});
