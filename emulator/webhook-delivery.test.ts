// Webhook addresses, deliveries, retries and removal, and the compliance webhooks, as Shopify documents them:
// - HTTPS only: shopify.dev/docs/apps/webhooks/configuration/https ("Your endpoint must be an HTTPS
//   webhook address"), changelog "Non-HTTPS webhooks will no longer be supported".
// - Retries: changelog "Updates to webhook retry mechanism" (2024-09-10): "retried a total of 8 times
//   over 4 hours using an exponential backoff schedule"; after the retries run out a subscription
//   created through the Admin API is deleted (webhooks troubleshooting page).
// - Compliance: shopify.dev/docs/apps/build/compliance/privacy-law-compliance (payload keys; shop/redact
//   48 hours after an uninstall).
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "./index.ts";
import { gql, type Seeded, SHOP, seedShop } from "./test-helpers.ts";
import { signWebhook, WEBHOOK_USER_AGENT } from "./webhooks.ts";

interface Received {
  headers: IncomingMessage["headers"];
  body: string;
}

let emu: Emulator;
let s: Seeded;
let server: Server;
let url = "";
let failing = false;
const received: Received[] = [];

beforeAll(async () => {
  emu = await startEmulator({ testOnlyAllowPlainHttpWebhooks: true });
  s = seedShop(emu);
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.statusCode = failing ? 500 : 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
});
afterAll(async () => {
  await emu.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const CREATE = `mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: { uri: $uri }) {
    webhookSubscription { id uri } userErrors { field message } } }`;

describe("webhook addresses", () => {
  it("refuses plain http:// as Shopify does; the test-only flag admits it on loopback only", async () => {
    const strict = await startEmulator({ testOnlyAllowPlainHttpWebhooks: false });
    try {
      const t = seedShop(strict);
      const r = await gql(strict, t.token, CREATE, {
        topic: "ORDERS_CREATE",
        uri: "http://127.0.0.1:9/hook",
      });
      expect(r.body.data.webhookSubscriptionCreate).toEqual({
        webhookSubscription: null,
        userErrors: [
          { field: ["webhookSubscription", "uri"], message: "Address protocol http:// is not supported" },
        ],
      });
      const ok = await gql(strict, t.token, CREATE, {
        topic: "ORDERS_CREATE",
        uri: "https://hub.example.com/hook",
      });
      expect(ok.body.data.webhookSubscriptionCreate.userErrors).toEqual([]);
    } finally {
      await strict.close();
    }
    const remote = await gql(emu, s.token, CREATE, {
      topic: "ORDERS_CREATE",
      uri: "http://hub.example.com/hook",
    });
    expect(remote.body.data.webhookSubscriptionCreate.userErrors[0].message).toBe(
      "Address protocol http:// is not supported",
    );
    const ftp = await gql(emu, s.token, CREATE, { topic: "ORDERS_CREATE", uri: "ftp://127.0.0.1/hook" });
    expect(ftp.body.data.webhookSubscriptionCreate.userErrors[0].message).toBe("Address is invalid");
  });
});

describe("deliveries", () => {
  it("are sent with Shopify's User-Agent and signed headers", async () => {
    const r = await gql(emu, s.token, CREATE, { topic: "INVENTORY_LEVELS_UPDATE", uri: url });
    expect(r.body.data.webhookSubscriptionCreate.userErrors).toEqual([]);
    received.length = 0;
    emu.control.setInventory(SHOP, { sku: s.sku, locationId: s.locationId, quantity: 7 });
    await emu.control.webhooksIdle();
    const got = received.find((x) => x.headers["x-shopify-topic"] === "inventory_levels/update")!;
    expect(got.headers["user-agent"]).toBe(WEBHOOK_USER_AGENT);
    expect(got.headers["x-shopify-hmac-sha256"]).toBe(signWebhook(got.body, s.clientSecret));
    expect(got.headers["x-shopify-shop-domain"]).toBe(SHOP);
    await gql(
      emu,
      s.token,
      `mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId } }`,
      { id: r.body.data.webhookSubscriptionCreate.webhookSubscription.id },
    );
  });

  it("a subscription whose deliveries fail through the retry schedule is removed (on the emulator's clock)", async () => {
    emu.control.freezeTime(true);
    const r = await gql(emu, s.token, CREATE, { topic: "INVENTORY_LEVELS_UPDATE", uri: `${url}?failing` });
    const subId = r.body.data.webhookSubscriptionCreate.webhookSubscription.id;
    failing = true;
    try {
      emu.control.setInventory(SHOP, { sku: s.sku, locationId: s.locationId, quantity: 3 });
      const mine = () =>
        emu.control
          .webhookDeliveries({ shop: SHOP, topic: "inventory_levels/update" })
          .filter((d) => d.uri.endsWith("?failing"));
      // The first attempt goes at once; the 8 retries wait for the clock (1, 2, 4 … 128 minutes: 4 h 15 min).
      for (let i = 0; i < 100 && mine()[0]?.attempts.length !== 1; i++)
        await new Promise((x) => setTimeout(x, 10));
      expect(mine()[0]!.attempts).toHaveLength(1);
      emu.control.advanceTime(3 * 3600 * 1000);
      for (let i = 0; i < 200 && (mine()[0]?.attempts.length ?? 0) < 8; i++)
        await new Promise((x) => setTimeout(x, 10));
      expect(mine()[0]!.attempts).toHaveLength(8); // due within 3 h: 1 + 1+2+4+8+16+32+64 min
      const still = await gql(emu, s.token, `{ webhookSubscriptions(first: 10) { nodes { id } } }`);
      expect(still.body.data.webhookSubscriptions.nodes.map((n: { id: string }) => n.id)).toContain(subId);
      emu.control.advanceTime(2 * 3600 * 1000);
      for (let i = 0; i < 200 && mine()[0]?.status !== "failed"; i++)
        await new Promise((x) => setTimeout(x, 10));
      expect(mine()[0]!.status).toBe("failed");
      expect(mine()[0]!.attempts).toHaveLength(9);
      const after = await gql(emu, s.token, `{ webhookSubscriptions(first: 10) { nodes { id } } }`);
      expect(after.body.data.webhookSubscriptions.nodes.map((n: { id: string }) => n.id)).not.toContain(
        subId,
      );
      expect(emu.control.removedWebhookSubscriptions(SHOP)).toEqual([
        expect.objectContaining({ topic: "INVENTORY_LEVELS_UPDATE", uri: `${url}?failing` }),
      ]);
    } finally {
      failing = false;
      emu.control.freezeTime(false);
    }
  });
});

describe("compliance webhooks", () => {
  it("customers/data_request, customers/redact and shop/redact reach the app's compliance address", async () => {
    expect(() =>
      emu.control.fireComplianceWebhook(SHOP, { clientId: s.clientId, topic: "shop/redact" }),
    ).toThrow(/compliance webhook address/);
    emu.control.setComplianceWebhooks({ clientId: s.clientId, uri: `${url}?compliance` });
    const order = emu.control.placeOrder(SHOP, {
      lineItems: [{ sku: s.sku, quantity: 1 }],
      customer: { email: "ada@example.com", firstName: "Ada", phone: "+15555550100" },
    });
    received.length = 0;
    const req = emu.control.fireComplianceWebhook(SHOP, {
      clientId: s.clientId,
      topic: "customers/data_request",
      email: "ada@example.com",
    });
    const red = emu.control.fireComplianceWebhook(SHOP, {
      clientId: s.clientId,
      topic: "customers/redact",
      email: "ada@example.com",
    });
    await emu.control.webhooksIdle();
    const byTopic = (t: string) => received.find((x) => x.headers["x-shopify-topic"] === t)!;
    const dr = byTopic("customers/data_request");
    expect(dr.headers["x-shopify-hmac-sha256"]).toBe(signWebhook(dr.body, s.clientSecret));
    const orderId = Number(String(order.id).replace(/\D+/g, ""));
    expect(JSON.parse(dr.body)).toEqual({
      shop_id: expect.any(Number),
      shop_domain: SHOP,
      orders_requested: [orderId],
      customer: { id: expect.any(Number), email: "ada@example.com", phone: "+15555550100" },
      data_request: { id: expect.any(Number) },
    });
    expect(JSON.parse(byTopic("customers/redact").body)).toEqual({
      shop_id: expect.any(Number),
      shop_domain: SHOP,
      customer: { id: expect.any(Number), email: "ada@example.com", phone: "+15555550100" },
      orders_to_redact: [orderId],
    });
    expect(req.payload["shop_id"]).toBe(red.payload["shop_id"]);

    // shop/redact: 48 hours after the app is uninstalled, by the emulator's clock.
    received.length = 0;
    emu.control.uninstallApp({ shop: SHOP, clientId: s.clientId });
    await emu.control.webhooksIdle();
    expect(received.find((x) => x.headers["x-shopify-topic"] === "shop/redact")).toBeUndefined();
    emu.control.advanceTime(48 * 3600 * 1000);
    await emu.control.webhooksIdle();
    const sr = received.find((x) => x.headers["x-shopify-topic"] === "shop/redact")!;
    expect(JSON.parse(sr.body)).toEqual({ shop_id: req.payload["shop_id"], shop_domain: SHOP });
  });
});
