// Shopify's own Node libraries against the emulator: whatever they accept from Shopify they must
// accept from the emulator (OAuth hmac, token exchange, client credentials, online-token users,
// the GraphQL clients, webhook signatures). The libraries address https://{shop}/…; their fetch is
// pointed at the emulator by rewriting that origin, nothing else is stubbed.
import "@shopify/shopify-api/adapters/node";
import { createHmac, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdminApiClient } from "@shopify/admin-api-client";
import { ApiVersion, LogSeverity, RequestedTokenType, type Shopify, shopifyApi } from "@shopify/shopify-api";
import { setAbstractFetchFunc } from "@shopify/shopify-api/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { type Seeded, SHOP, seedShop } from "../emulator/test-helpers.ts";
import { verifyOAuthQueryHmac } from "../src/shopify/hmac.ts";

let emu: Emulator;
let s: Seeded;
let shopify: Shopify;
let hookServer: Server;
let hookUrl = "";
const hooks: { req: IncomingMessage; res: ServerResponse; body: string }[] = [];

/** Send what the library addresses to https://<shop>.myshopify.com/… to the emulator's /<shop>/…. */
function toEmulator(input: string | URL | Request): string {
  const u = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
  return `${emu.url}/${u.host}${u.pathname}${u.search}`;
}
const emulatorFetch: typeof fetch = (input, init) => fetch(toEmulator(input as string), init);

function sessionToken(claims: Record<string, unknown>, secret = s.clientSecret): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const head = enc({ alg: "HS256", typ: "JWT" });
  const now = Math.floor(Date.now() / 1000);
  const body = enc({
    iss: `https://${SHOP}/admin`,
    dest: `https://${SHOP}`,
    aud: s.clientId,
    sub: "1",
    exp: now + 60,
    nbf: now - 5,
    iat: now,
    jti: randomUUID(),
    sid: randomUUID(),
    ...claims,
  });
  const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

beforeAll(async () => {
  emu = await startEmulator({ testOnlyAllowPlainHttpWebhooks: true });
  s = seedShop(emu, SHOP, ["read_products", "write_inventory", "read_locations", "read_orders"]);
  setAbstractFetchFunc(emulatorFetch);
  shopify = shopifyApi({
    apiKey: s.clientId,
    apiSecretKey: s.clientSecret,
    scopes: ["read_products", "write_inventory"],
    hostName: "hub.example.com",
    apiVersion: ApiVersion.April26,
    isEmbeddedApp: false,
    logger: { level: LogSeverity.Error, log: async () => {} },
  });
  hookServer = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => hooks.push({ req, res, body }));
  });
  await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", r));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/webhooks`;
});

afterAll(async () => {
  await emu.close();
  for (const h of hooks) if (!h.res.writableEnded) h.res.end();
  hookServer.closeAllConnections();
  await new Promise((r) => hookServer.close(r));
});

describe("@shopify/shopify-api against the emulator", () => {
  it("validates the OAuth callback hmac, even with a state holding / : = and +", async () => {
    const state = "nonce/part:one=two+three four";
    const authorize = `${emu.url}/${SHOP}/admin/oauth/authorize?client_id=${s.clientId}&scope=read_products&redirect_uri=${encodeURIComponent("https://hub.example.com/auth/callback")}&state=${encodeURIComponent(state)}`;
    const res = await fetch(authorize, { redirect: "manual" });
    expect(res.status).toBe(302);
    const query = Object.fromEntries(new URL(res.headers.get("location")!).searchParams);
    expect(query["state"]).toBe(state);
    expect(await shopify.utils.validateHmac(query)).toBe(true);
    expect(await shopify.utils.validateHmac({ ...query, state: "other" })).toBe(false);
    // The hub's own check of the callback agrees with Shopify's library on the same query.
    expect(verifyOAuthQueryHmac(query, s.clientSecret)).toBe(true);
    expect(verifyOAuthQueryHmac({ ...query, state: "other" }, s.clientSecret)).toBe(false);
  });

  it("exchanges a session token for an offline token and for an online one with the user's fields", async () => {
    const offline = await shopify.auth.tokenExchange({
      shop: SHOP,
      sessionToken: sessionToken({}),
      requestedTokenType: RequestedTokenType.OfflineAccessToken,
    });
    expect(offline.session.isOnline).toBe(false);
    expect(offline.session.accessToken).toMatch(/^shpca_/);
    const online = await shopify.auth.tokenExchange({
      shop: SHOP,
      sessionToken: sessionToken({}),
      requestedTokenType: RequestedTokenType.OnlineAccessToken,
    });
    expect(online.session.isOnline).toBe(true);
    expect(online.session.onlineAccessInfo?.associated_user).toMatchObject({
      email_verified: true,
      locale: "en",
      collaborator: false,
      account_owner: true,
    });
    expect(online.session.expires!.getTime()).toBeGreaterThan(Date.now());
    // A token signed with another secret is refused with the documented 400.
    const forged = await fetch(`${emu.url}/${SHOP}/admin/oauth/access_token`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        client_id: s.clientId,
        client_secret: s.clientSecret,
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token: sessionToken({}, "not-the-secret"),
        subject_token_type: "urn:ietf:params:oauth:token-type:id_token",
        requested_token_type: "urn:shopify:params:oauth:token-type:offline-access-token",
      }),
    });
    expect(forged.status).toBe(400);
    expect(await forged.json()).toMatchObject({ error: "invalid_subject_token" });
  });

  it("answers the client-credentials grant with a 24-hour token", async () => {
    const { session } = await shopify.auth.clientCredentials({ shop: SHOP });
    expect(session.accessToken).toMatch(/^shpat_/);
    const hours = (session.expires!.getTime() - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23.9);
    expect(hours).toBeLessThanOrEqual(24);
    const client = new shopify.clients.Graphql({ session });
    const r = await client.request<{ shop: { myshopifyDomain: string } }>("{ shop { myshopifyDomain } }");
    expect(r.data?.shop.myshopifyDomain).toBe(SHOP);
  });

  it("its GraphQL client reads data and cost extensions (version 2026-04, one of the supported ones)", async () => {
    const session = shopify.session.customAppSession(SHOP);
    session.accessToken = s.token;
    const client = new shopify.clients.Graphql({ session, apiVersion: ApiVersion.April26 });
    const r = await client.request<{ productVariants: { nodes: { sku: string }[] } }>(
      `query($q: String) { productVariants(first: 5, query: $q) { nodes { sku } } }`,
      { variables: { q: `sku:${s.sku}` } },
    );
    expect(r.data?.productVariants.nodes).toEqual([{ sku: s.sku }]);
    // 2 + floor(2 ln 5) × 1
    expect(r.extensions?.cost).toMatchObject({
      requestedQueryCost: 2 + 3,
      throttleStatus: expect.any(Object),
    });
  });

  it("validates the emulator's webhook deliveries", async () => {
    const session = shopify.session.customAppSession(SHOP);
    session.accessToken = s.token;
    const client = new shopify.clients.Graphql({ session });
    const created = await client.request<{
      webhookSubscriptionCreate: { userErrors: unknown[] };
    }>(
      `mutation($uri: String!) { webhookSubscriptionCreate(topic: INVENTORY_LEVELS_UPDATE, webhookSubscription: { uri: $uri }) { userErrors { message } } }`,
      { variables: { uri: hookUrl } },
    );
    expect(created.data?.webhookSubscriptionCreate.userErrors).toEqual([]);
    emu.control.setInventory(SHOP, { sku: s.sku, locationId: s.locationId, quantity: 4 });
    for (let i = 0; i < 200 && hooks.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const h = hooks[0]!;
    const check = await shopify.webhooks.validate({ rawBody: h.body, rawRequest: h.req, rawResponse: h.res });
    h.res.end();
    expect(check).toMatchObject({ valid: true, topic: "INVENTORY_LEVELS_UPDATE", domain: SHOP });
  });
});

describe("@shopify/admin-api-client against the emulator", () => {
  it("requests with the token and reads the answer's cost", async () => {
    const client = createAdminApiClient({
      storeDomain: SHOP,
      apiVersion: "2026-10",
      accessToken: s.token,
      customFetchApi: emulatorFetch,
    });
    const r = await client.request(`{ shop { name } locations(first: 5) { nodes { name } } }`);
    expect(r.errors).toBeUndefined();
    expect(r.data).toMatchObject({ shop: { name: "demo" }, locations: { nodes: [{ name: "Warehouse" }] } });
    expect(r.extensions?.["cost"]).toMatchObject({ requestedQueryCost: 1 + 2 + 3 });
  });
});
