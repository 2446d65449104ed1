import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "./index.ts";
import { gql, type Seeded, SHOP, seedShop } from "./test-helpers.ts";

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

let emu: Emulator;
let s: Seeded;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
let failNextReceives = 0;

beforeAll(async () => {
  emu = await startEmulator();
  s = seedShop(emu);
  emu.control.freezeTime();
  emu.control.setWebhookOptions({ baseDelayMs: 10 });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (failNextReceives > 0) {
        failNextReceives--;
        res.statusCode = 500;
        res.end();
        return;
      }
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.end("ok");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks`;
});
afterAll(async () => {
  await emu.close();
  await new Promise((r) => receiver.close(r));
});

async function subscribe(topic: string, token = s.token) {
  const r = await gql(
    emu,
    token,
    `mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
      webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) { webhookSubscription { id topic uri } userErrors { field message } }
    }`,
    { topic, sub: { uri: receiverUrl } },
  );
  expect(r.body.data.webhookSubscriptionCreate.userErrors).toEqual([]);
  return r.body.data.webhookSubscriptionCreate.webhookSubscription.id as string;
}

describe("throttling", () => {
  it("throttles over budget and refills at the plan's restore rate", async () => {
    const c = emu.control;
    c.setThrottlePressure({ shop: SHOP, clientId: s.clientId, available: 0 });
    const q = "{ products(first: 250) { nodes { id } } }"; // requested 2 + floor(2 ln 250) × 1 = 13
    const r = await gql(emu, s.token, q);
    expect(r.body.errors[0]).toMatchObject({ message: "Throttled", extensions: { code: "THROTTLED" } });
    expect(r.body.data).toBeUndefined();
    expect(r.body.extensions.cost.requestedQueryCost).toBe(13);
    expect(r.body.extensions.cost.throttleStatus.currentlyAvailable).toBe(0);
    c.advanceTime(100); // standard plan: 100 points/s → 10 points
    expect((await gql(emu, s.token, q)).body.errors[0].extensions.code).toBe("THROTTLED");
    c.advanceTime(40); // 14 points now
    const ok = await gql(emu, s.token, q);
    expect(ok.body.errors).toBeUndefined();
    // 13 charged, refunded to actual (2 + 1 product) = 3 → 14 - 3 = 11
    expect(ok.body.extensions.cost.actualQueryCost).toBe(3);
    expect(ok.body.extensions.cost.throttleStatus.currentlyAvailable).toBe(11);
    c.advanceTime(60_000);
    expect(c.throttleStatus({ shop: SHOP, clientId: s.clientId }).currentlyAvailable).toBe(2000);
  });

  it("refuses a single query above 1,000 points", async () => {
    const r = await gql(
      emu,
      s.token,
      `{ products(first: 250) { nodes { variants(first: 250) { nodes {
        inventoryItem { inventoryLevels(first: 250) { nodes { id location { id } } } } } } } } }`,
    );
    expect(r.body.errors[0].extensions.code).toBe("MAX_COST_EXCEEDED");
  });

  it("drains under pressure from another spender", async () => {
    const c = emu.control;
    c.setThrottlePressure({ shop: SHOP, clientId: s.clientId, available: 2000, drainRate: 150 });
    c.advanceTime(1000);
    expect(c.throttleStatus({ shop: SHOP, clientId: s.clientId }).currentlyAvailable).toBe(1950);
    c.setThrottlePressure({ shop: SHOP, clientId: s.clientId, drainRate: 0, available: 2000 });
  });
});

describe("OAuth", () => {
  it("exchanges a code for an expiring token, refreshes it, and expires it", async () => {
    const app = emu.control.createApp({ name: "Public", scopes: ["read_products"] });
    const redirect = "http://127.0.0.1:1/callback";
    const authUrl = `${emu.url}/${SHOP}/admin/oauth/authorize?client_id=${app.clientId}&scope=read_products,write_inventory&redirect_uri=${encodeURIComponent(redirect)}&state=nonce-1`;
    const res = await fetch(authUrl, { redirect: "manual" });
    expect(res.status).toBe(302);
    const loc = new URL(res.headers.get("location")!);
    const params = Object.fromEntries(loc.searchParams);
    expect(params).toMatchObject({ shop: SHOP, state: "nonce-1" });
    const { hmac, ...rest } = params;
    const msg = Object.keys(rest)
      .sort()
      .map((k) => `${k}=${rest[k]}`)
      .join("&");
    expect(hmac).toBe(createHmac("sha256", app.clientSecret).update(msg).digest("hex"));

    const tokenUrl = `${emu.url}/${SHOP}/admin/oauth/access_token`;
    const post = (body: Record<string, string>) =>
      fetch(tokenUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    const ex = await post({
      client_id: app.clientId,
      client_secret: app.clientSecret,
      code: params["code"]!,
      expiring: "1",
    });
    expect(ex.status).toBe(200);
    const tok = (await ex.json()) as Record<string, unknown>;
    expect(tok).toMatchObject({
      scope: "read_products,write_inventory",
      expires_in: 3600,
      refresh_token_expires_in: 7776000,
    });
    // The code is single use.
    const again = await post({
      client_id: app.clientId,
      client_secret: app.clientSecret,
      code: params["code"]!,
    });
    expect(again.status).toBe(400);

    expect((await gql(emu, tok["access_token"] as string, "{ shop { name } }")).status).toBe(200);
    emu.control.advanceTime(3600 * 1000);
    expect((await gql(emu, tok["access_token"] as string, "{ shop { name } }")).status).toBe(401);

    const form = new URLSearchParams({
      client_id: app.clientId,
      client_secret: app.clientSecret,
      grant_type: "refresh_token",
      refresh_token: tok["refresh_token"] as string,
    });
    const rf = await fetch(tokenUrl, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: form,
    });
    const refreshed = (await rf.json()) as Record<string, unknown>;
    expect(rf.status).toBe(200);
    expect(refreshed["refresh_token"]).not.toBe(tok["refresh_token"]);
    expect((await gql(emu, refreshed["access_token"] as string, "{ shop { name } }")).status).toBe(200);
    // Once the new token is in use the old refresh token is dead.
    const stale = await fetch(tokenUrl, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: form,
    });
    expect(stale.status).toBe(400);
  });

  it("shows an Install page when the shop asks for approval", async () => {
    emu.control.updateShop(SHOP, { oauthMode: "page" });
    const res = await fetch(
      `${emu.url}/${SHOP}/admin/oauth/authorize?client_id=${s.clientId}&scope=read_products&redirect_uri=${encodeURIComponent("http://127.0.0.1:1/cb")}&state=x`,
      { redirect: "manual" },
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('id="install"');
    emu.control.updateShop(SHOP, { oauthMode: "auto" });
  });
});

function verify(r: Received, secret: string): boolean {
  const expected = createHmac("sha256", secret).update(r.body, "utf8").digest();
  const given = Buffer.from(String(r.headers["x-shopify-hmac-sha256"]), "base64");
  return expected.length === given.length && timingSafeEqual(expected, given);
}

describe("orders, webhooks and fulfillment", () => {
  it("delivers orders/create signed with the app secret, with Shopify's headers", async () => {
    await subscribe("ORDERS_CREATE");
    await subscribe("FULFILLMENTS_CREATE");
    await subscribe("REFUNDS_CREATE");
    received.length = 0;
    const order = emu.control.placeOrder(SHOP, {
      lineItems: [{ sku: "SKU-1", quantity: 3 }],
      customer: { email: "ann@example.com", firstName: "Ann", lastName: "Lee" },
      shippingAddress: {
        firstName: "Ann",
        lastName: "Lee",
        address1: "1 Road",
        city: "Town",
        countryCode: "US",
        zip: "1",
      },
    });
    await emu.control.webhooksIdle();
    const hit = received.find((r) => r.headers["x-shopify-topic"] === "orders/create")!;
    expect(hit).toBeDefined();
    expect(verify(hit, s.clientSecret)).toBe(true);
    expect(verify(hit, "wrong")).toBe(false);
    expect(hit.headers).toMatchObject({
      "x-shopify-shop-domain": SHOP,
      "x-shopify-api-version": "2026-10",
      "content-type": "application/json",
    });
    expect(hit.headers["x-shopify-webhook-id"]).toBeTruthy();
    expect(hit.headers["x-shopify-event-id"]).toBeTruthy();
    expect(hit.headers["x-shopify-triggered-at"]).toBeTruthy();
    const payload = JSON.parse(hit.body);
    expect(payload).toMatchObject({
      id: order.legacyId,
      admin_graphql_api_id: order.id,
      email: "ann@example.com",
      financial_status: "paid",
    });
    expect(payload.line_items[0]).toMatchObject({ sku: "SKU-1", quantity: 3 });

    const level = emu.control.getInventoryLevel(SHOP, { sku: "SKU-1", locationId: s.locationId })!;
    expect(level.committed).toBe(3);
  });

  it("retries a failed delivery with backoff", async () => {
    failNextReceives = 2;
    received.length = 0;
    emu.control.placeOrder(SHOP, { lineItems: [{ sku: "SKU-1", quantity: 1 }], email: "bob@example.com" });
    for (let i = 0; i < 100 && !received.some((r) => r.headers["x-shopify-topic"] === "orders/create"); i++) {
      await emu.control.webhooksIdle();
      await new Promise((r) => setTimeout(r, 10));
    }
    const d = emu.control.webhookDeliveries({ topic: "orders/create" }).at(-1)!;
    expect(d.status).toBe("delivered");
    expect(d.attempts.map((a) => a.status)).toEqual([500, 500, 200]);
  });

  it("queries orders with search syntax, then fulfills and refunds through the Admin API", async () => {
    const list = await gql(
      emu,
      s.token,
      `query($q: String) { orders(first: 10, query: $q, sortKey: UPDATED_AT) {
        nodes { id name email displayFinancialStatus displayFulfillmentStatus
          customer { email firstName } shippingAddress { city countryCode }
          lineItems(first: 5) { nodes { id sku quantity fulfillableQuantity unfulfilledQuantity variant { id } } }
          fulfillmentOrders(first: 5) { nodes { id status supportedActions { action } assignedLocation { location { id } }
            lineItems(first: 5) { nodes { id remainingQuantity lineItem { id } } } } } }
        pageInfo { hasNextPage endCursor } } }`,
      { q: "status:open fulfillment_status:unfulfilled email:ann@example.com" },
    );
    expect(list.body.errors).toBeUndefined();
    const orders = list.body.data.orders.nodes;
    expect(orders).toHaveLength(1);
    const o = orders[0];
    expect(o).toMatchObject({
      displayFinancialStatus: "PAID",
      displayFulfillmentStatus: "UNFULFILLED",
      customer: { email: "ann@example.com" },
    });
    const fo = o.fulfillmentOrders.nodes[0];
    expect(fo.assignedLocation.location.id).toBe(s.locationId);
    expect(fo.supportedActions.map((a: { action: string }) => a.action)).toContain("CREATE_FULFILLMENT");
    const foLine = fo.lineItems.nodes[0];

    const FULFILL = `mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
      fulfillment { id status trackingInfo { company number url } } userErrors { field message } } }`;
    const tooMany = await gql(emu, s.token, FULFILL, {
      f: {
        lineItemsByFulfillmentOrder: [
          { fulfillmentOrderId: fo.id, fulfillmentOrderLineItems: [{ id: foLine.id, quantity: 4 }] },
        ],
      },
    });
    expect(tooMany.body.data.fulfillmentCreate.userErrors[0].message).toMatch(
      /exceeds the remaining quantity/,
    );

    received.length = 0;
    const part = await gql(emu, s.token, FULFILL, {
      f: {
        lineItemsByFulfillmentOrder: [
          { fulfillmentOrderId: fo.id, fulfillmentOrderLineItems: [{ id: foLine.id, quantity: 2 }] },
        ],
        trackingInfo: { company: "UPS", number: "1Z1", url: "https://ups.example/1Z1" },
        notifyCustomer: false,
      },
    });
    expect(part.body.data.fulfillmentCreate).toMatchObject({
      fulfillment: {
        status: "SUCCESS",
        trackingInfo: [{ company: "UPS", number: "1Z1", url: "https://ups.example/1Z1" }],
      },
      userErrors: [],
    });
    expect(emu.control.getOrder(SHOP, o.id).displayFulfillmentStatus).toBe("PARTIALLY_FULFILLED");
    await gql(emu, s.token, FULFILL, { f: { lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: fo.id }] } });
    const after = emu.control.getOrder(SHOP, o.id);
    expect(after.displayFulfillmentStatus).toBe("FULFILLED");
    expect(after.fulfillmentOrders[0]!.status).toBe("CLOSED");
    await emu.control.webhooksIdle();
    expect(received.filter((r) => r.headers["x-shopify-topic"] === "fulfillments/create")).toHaveLength(2);

    const tags = await gql(
      emu,
      s.token,
      `mutation($id: ID!) { tagsAdd(id: $id, tags: ["synced"]) { node { id } userErrors { message } } }`,
      {
        id: o.id,
      },
    );
    expect(tags.body.data.tagsAdd.node.id).toBe(o.id);
    expect(emu.control.getOrder(SHOP, o.id).tags).toEqual(["synced"]);

    const before = emu.control.getInventoryLevel(SHOP, { sku: "SKU-1", locationId: s.locationId })!;
    const REFUND = `mutation($input: RefundInput!) { refundCreate(input: $input) @idempotent(key: "refund-1") {
      refund { id refundLineItems(first: 5) { nodes { quantity restockType lineItem { sku } } } } userErrors { field message } } }`;
    const input = {
      orderId: o.id,
      refundLineItems: [
        { lineItemId: o.lineItems.nodes[0].id, quantity: 1, restockType: "RETURN", locationId: s.locationId },
      ],
    };
    const refund = await gql(emu, s.token, REFUND, { input });
    expect(refund.body.data.refundCreate.userErrors).toEqual([]);
    const replay = await gql(emu, s.token, REFUND, { input });
    expect(replay.body.data).toEqual(refund.body.data);
    const level = emu.control.getInventoryLevel(SHOP, { sku: "SKU-1", locationId: s.locationId })!;
    expect(level.on_hand).toBe(before.on_hand + 1);
    expect(emu.control.getOrder(SHOP, o.id).financialStatus).toBe("partially_refunded");
    await emu.control.webhooksIdle();
    expect(received.filter((r) => r.headers["x-shopify-topic"] === "refunds/create")).toHaveLength(1);
  });

  it("creates and closes a return of fulfilled units", async () => {
    const orders = await gql(
      emu,
      s.token,
      `{ orders(first: 5, query: "fulfillment_status:shipped") { nodes { id fulfillments(first: 5) { fulfillmentLineItems(first: 5) { nodes { id quantity } } } } } }`,
    );
    const o = orders.body.data.orders.nodes[0];
    const fli = o.fulfillments[0].fulfillmentLineItems.nodes[0];
    const CREATE = `mutation($input: ReturnInput!) { returnCreate(returnInput: $input) {
      return { id name status totalQuantity returnLineItems(first: 5) { nodes { ... on ReturnLineItem { quantity returnReason fulfillmentLineItem { id } } } } }
      userErrors { code field message } } }`;
    const tooMany = await gql(emu, s.token, CREATE, {
      input: {
        orderId: o.id,
        returnLineItems: [
          { fulfillmentLineItemId: fli.id, quantity: fli.quantity + 1, returnReason: "DEFECTIVE" },
        ],
      },
    });
    expect(tooMany.body.data.returnCreate.userErrors[0].field).toEqual([
      "returnInput",
      "returnLineItems",
      "0",
      "quantity",
    ]);
    const ok = await gql(emu, s.token, CREATE, {
      input: {
        orderId: o.id,
        returnLineItems: [{ fulfillmentLineItemId: fli.id, quantity: 1, returnReason: "DEFECTIVE" }],
      },
    });
    expect(ok.body.data.returnCreate).toMatchObject({
      return: {
        status: "OPEN",
        totalQuantity: 1,
        returnLineItems: {
          nodes: [{ quantity: 1, returnReason: "DEFECTIVE", fulfillmentLineItem: { id: fli.id } }],
        },
      },
      userErrors: [],
    });
    const closed = await gql(
      emu,
      s.token,
      `mutation($id: ID!) { returnClose(id: $id) { return { status } userErrors { message } } }`,
      {
        id: ok.body.data.returnCreate.return.id,
      },
    );
    expect(closed.body.data.returnClose.return.status).toBe("CLOSED");
  });

  it("pages orders by updated_at with cursors", async () => {
    const q = `query($after: String) { orders(first: 1, after: $after, sortKey: UPDATED_AT) { nodes { id } pageInfo { hasNextPage endCursor } } }`;
    const p1 = await gql(emu, s.token, q);
    expect(p1.body.data.orders.pageInfo.hasNextPage).toBe(true);
    const p2 = await gql(emu, s.token, q, { after: p1.body.data.orders.pageInfo.endCursor });
    expect(p2.body.data.orders.nodes[0].id).not.toBe(p1.body.data.orders.nodes[0].id);
    expect(p2.body.data.orders.pageInfo.hasNextPage).toBe(false);
  });

  it("fires app/uninstalled and kills the tokens on uninstall", async () => {
    await subscribe("APP_UNINSTALLED");
    received.length = 0;
    emu.control.uninstallApp({ shop: SHOP, clientId: s.clientId });
    await emu.control.webhooksIdle();
    const hit = received.find((r) => r.headers["x-shopify-topic"] === "app/uninstalled");
    expect(hit && verify(hit, s.clientSecret)).toBe(true);
    expect((await gql(emu, s.token, "{ shop { name } }")).status).toBe(401);
  });
});

describe("webhook faults", () => {
  it("duplicates deliveries with the same webhook id, and can drop them", async () => {
    const c = emu.control;
    c.createShop({ domain: "faulty.myshopify.com" });
    const loc = c.createLocation("faulty.myshopify.com", { name: "W" });
    c.createProduct("faulty.myshopify.com", {
      title: "T",
      variants: [{ sku: "F-1", inventory: { [loc.id]: 5 } }],
    });
    const { accessToken } = c.mintToken({ shop: "faulty.myshopify.com", clientId: s.clientId });
    const r = await gql(
      emu,
      accessToken,
      `mutation($sub: WebhookSubscriptionInput!) { webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: $sub) { userErrors { message } } }`,
      { sub: { uri: receiverUrl } },
      "faulty.myshopify.com",
    );
    expect(r.body.data.webhookSubscriptionCreate.userErrors).toEqual([]);
    received.length = 0;
    c.setFaults("faulty.myshopify.com", { webhookDuplicateRate: 1 });
    c.placeOrder("faulty.myshopify.com", { lineItems: [{ sku: "F-1", quantity: 1 }] });
    await c.webhooksIdle();
    const hits = received.filter((x) => x.headers["x-shopify-shop-domain"] === "faulty.myshopify.com");
    expect(hits).toHaveLength(2);
    expect(hits[0]!.headers["x-shopify-webhook-id"]).toBe(hits[1]!.headers["x-shopify-webhook-id"]);

    received.length = 0;
    c.setFaults("faulty.myshopify.com", { webhookDuplicateRate: 0, webhookDropRate: 1 });
    c.placeOrder("faulty.myshopify.com", { lineItems: [{ sku: "F-1", quantity: 1 }] });
    await c.webhooksIdle();
    expect(
      received.filter((x) => x.headers["x-shopify-shop-domain"] === "faulty.myshopify.com"),
    ).toHaveLength(0);
    expect(c.webhookDeliveries({ shop: "faulty.myshopify.com" }).at(-1)!.status).toBe("dropped");
  });

  it("sends a burst to one endpoint a few at a time, each delivered at its first attempt", async () => {
    const c = emu.control;
    const shop = "burst.myshopify.com";
    c.createShop({ domain: shop });
    const loc = c.createLocation(shop, { name: "W" });
    c.createProduct(shop, { title: "T", variants: [{ sku: "B-1", inventory: { [loc.id]: 1000 } }] });
    let open = 0;
    let peak = 0;
    let hits = 0;
    // A slow receiver: each answer takes a few milliseconds.
    const slow = createServer((req, res) => {
      open++;
      peak = Math.max(peak, open);
      req.resume();
      req.on("end", () =>
        setTimeout(() => {
          open--;
          hits++;
          res.end("ok");
        }, 3),
      );
    });
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
    const { accessToken } = c.mintToken({ shop, clientId: s.clientId });
    const r = await gql(
      emu,
      accessToken,
      `mutation($sub: WebhookSubscriptionInput!) { webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: $sub) { userErrors { message } } }`,
      { sub: { uri: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/webhooks` } },
      shop,
    );
    expect(r.body.data.webhookSubscriptionCreate.userErrors).toEqual([]);
    const before = c.setWebhookOptions({});
    c.setWebhookOptions({ maxConcurrentPerUri: 8 });
    try {
      for (let i = 0; i < 200; i++) c.placeOrder(shop, { lineItems: [{ sku: "B-1", quantity: 1 }] });
      await c.webhooksIdle(30_000);
      const ds = c.webhookDeliveries({ shop });
      expect(ds).toHaveLength(200);
      expect(ds.every((d) => d.status === "delivered" && d.attempts.length === 1)).toBe(true);
      expect(hits).toBe(200);
      expect(peak).toBeLessThanOrEqual(8);
    } finally {
      c.setWebhookOptions(before);
      slow.closeAllConnections();
      await new Promise((done) => slow.close(done));
    }
  });

  it("keeps a bounded queue in memory: the rest waits in a file and arrives in order, each once", async () => {
    const c = emu.control;
    const shop = "backlog.myshopify.com";
    c.createShop({ domain: shop });
    const loc = c.createLocation(shop, { name: "W" });
    c.createProduct(shop, { title: "T", variants: [{ sku: "Q-1", inventory: { [loc.id]: 1000 } }] });
    const orderIds: number[] = [];
    const slow = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => {
        body += d;
      });
      req.on("end", () =>
        setTimeout(() => {
          orderIds.push((JSON.parse(body) as { id: number }).id);
          res.end("ok");
        }, 1),
      );
    });
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
    const { accessToken } = c.mintToken({ shop, clientId: s.clientId });
    const r = await gql(
      emu,
      accessToken,
      `mutation($sub: WebhookSubscriptionInput!) { webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: $sub) { userErrors { message } } }`,
      { sub: { uri: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/webhooks` } },
      shop,
    );
    expect(r.body.data.webhookSubscriptionCreate.userErrors).toEqual([]);
    const before = c.setWebhookOptions({});
    c.setWebhookOptions({ maxConcurrentPerUri: 1, maxWaitingInMemoryPerUri: 5 });
    try {
      const placed = Array.from(
        { length: 120 },
        () => c.placeOrder(shop, { lineItems: [{ sku: "Q-1", quantity: 1 }] }).legacyId,
      );
      await new Promise((done) => setTimeout(done, 5));
      const queued = c.webhookQueue();
      expect(queued.inMemory).toBeLessThanOrEqual(5);
      expect(queued.inFiles).toBeGreaterThan(50);
      await c.webhooksIdle(30_000);
      expect(orderIds).toEqual(placed);
      // The logged deliveries are the ones sent (read back from the file as the same records).
      const ds = c.webhookDeliveries({ shop });
      expect(ds).toHaveLength(120);
      expect(ds.every((d) => d.status === "delivered" && d.attempts.length === 1)).toBe(true);
      expect(c.webhookQueue()).toEqual({ inMemory: 0, inFiles: 0 });
    } finally {
      c.setWebhookOptions(before);
      slow.closeAllConnections();
      await new Promise((done) => slow.close(done));
    }
  });

  it("lists and deletes the app's subscriptions", async () => {
    const c = emu.control;
    const { accessToken } = c.mintToken({ shop: "faulty.myshopify.com", clientId: s.clientId });
    const list = await gql(
      emu,
      accessToken,
      `{ webhookSubscriptions(first: 10, topics: [ORDERS_CREATE]) { nodes { id topic uri endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } } } }`,
      undefined,
      "faulty.myshopify.com",
    );
    const subs = list.body.data.webhookSubscriptions.nodes;
    expect(subs).toEqual([
      {
        id: expect.any(String),
        topic: "ORDERS_CREATE",
        uri: receiverUrl,
        endpoint: { __typename: "WebhookHttpEndpoint", callbackUrl: receiverUrl },
      },
    ]);
    const del = await gql(
      emu,
      accessToken,
      `mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { message } } }`,
      { id: subs[0].id },
      "faulty.myshopify.com",
    );
    expect(del.body.data.webhookSubscriptionDelete.deletedWebhookSubscriptionId).toBe(subs[0].id);
  });
});

describe("merchant-side order changes", () => {
  it("cancelling an order releases committed stock and fires orders/cancelled", async () => {
    const c = emu.control;
    const shop = "faulty.myshopify.com";
    c.setFaults(shop, { webhookDropRate: 0 });
    const { accessToken } = c.mintToken({ shop, clientId: s.clientId });
    const sub = await gql(
      emu,
      accessToken,
      `mutation($sub: WebhookSubscriptionInput!) { webhookSubscriptionCreate(topic: ORDERS_CANCELLED, webhookSubscription: $sub) { userErrors { message } } }`,
      { sub: { uri: receiverUrl } },
      shop,
    );
    expect(sub.body.data.webhookSubscriptionCreate.userErrors).toEqual([]);
    const loc = c.listLocations(shop)[0]!;
    const before = c.getInventoryLevel(shop, { sku: "F-1", locationId: loc.id })!;
    const o = c.placeOrder(shop, { lineItems: [{ sku: "F-1", quantity: 2 }], financialStatus: "pending" });
    expect(c.getInventoryLevel(shop, { sku: "F-1", locationId: loc.id })!.available).toBe(
      before.available - 2,
    );
    const updated = c.updateOrder(shop, o.id, { financialStatus: "paid", note: "called" });
    expect(updated.financialStatus).toBe("paid");
    const cancelled = c.cancelOrder(shop, o.id, { reason: "customer" });
    expect(cancelled.cancelledAt).not.toBeNull();
    const after = c.getInventoryLevel(shop, { sku: "F-1", locationId: loc.id })!;
    expect(after.available).toBe(before.available);
    expect(after.committed).toBe(before.committed);
    await c.webhooksIdle();
    const d = c.webhookDeliveries({ shop, topic: "orders/cancelled" });
    expect(d).toHaveLength(1);
    expect(d[0]!.status).toBe("delivered");
    expect(JSON.parse(d[0]!.body)).toMatchObject({
      id: o.legacyId,
      cancel_reason: "customer",
      financial_status: "paid",
    });
  });
});
