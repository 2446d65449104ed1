import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { fixedClock } from "../src/core/clock.ts";
import { oauthQueryHmac } from "../src/shopify/hmac.ts";
import { decryptSecret, sealedAt } from "../src/shops/secrets.ts";
import { FLOWS, storeById } from "../src/shops/stores.ts";
import {
  installRedirect,
  KEY,
  PUBLIC_URL,
  type ShopsHub,
  sendCallback,
  startShopsHub,
} from "./shops-helpers.ts";
import { DIALECTS } from "./support/databases.ts";

const APP = { clientId: "tillbridge-test-app", clientSecret: "shpss_test_secret_0123456789" };
const SHOP = "acme.myshopify.com";
const OTHER = "other.myshopify.com";

describe.each(DIALECTS)("OAuth install on %s", (dialect) => {
  let emu: Emulator;
  let hub: ShopsHub;
  const stores = () => hub.ctx.database.db.selectFrom("stores").selectAll().execute();

  beforeAll(async () => {
    emu = await startEmulator();
    emu.control.createApp({ ...APP, scopes: [] });
    emu.control.createShop({ domain: SHOP });
    emu.control.createShop({ domain: OTHER });
    emu.control.createLocation(SHOP, { name: "Main street" });
    hub = await startShopsHub(dialect, { emulatorUrl: emu.url, app: APP });
  });
  afterAll(async () => {
    await hub?.close();
    await emu?.close();
  });

  it("redirects to Shopify's authorization screen with the scopes, callback and a state", async () => {
    const res = await hub.server.inject({ method: "GET", url: `/shopify/install?shop=${SHOP}` });
    expect(res.statusCode).toBe(302);
    const url = new URL(String(res.headers.location));
    expect(url.origin + url.pathname).toBe(`${emu.url}/${SHOP}/admin/oauth/authorize`);
    expect(url.searchParams.get("client_id")).toBe(APP.clientId);
    expect(url.searchParams.get("redirect_uri")).toBe(`${PUBLIC_URL}/shopify/callback`);
    expect(url.searchParams.get("scope")).toContain("write_inventory");
    expect(url.searchParams.get("state")).toMatch(/^[\w-]+\.[\w-]+$/);
  });

  it("refuses a foreign or invalid shop domain and stores nothing", async () => {
    for (const shop of ["evil.com", "acme.myshopify.com.evil.com", "-x.myshopify.com", ""]) {
      const res = await hub.server.inject({
        method: "GET",
        url: `/shopify/install?shop=${encodeURIComponent(shop)}`,
      });
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body).error.code).toBe("INVALID_SHOP_DOMAIN");
    }
    // A callback naming a foreign domain (correctly signed) is refused too.
    const callback = await installRedirect(hub, SHOP);
    callback.searchParams.set("shop", "evil.com");
    const q = Object.fromEntries(callback.searchParams);
    callback.searchParams.set("hmac", oauthQueryHmac(q, APP.clientSecret));
    const res = await sendCallback(hub, callback);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error.code).toBe("INVALID_SHOP_DOMAIN");
    expect(await stores()).toEqual([]);
  });

  it("refuses a forged hmac and stores nothing", async () => {
    const callback = await installRedirect(hub, SHOP);
    const hmac = callback.searchParams.get("hmac")!;
    callback.searchParams.set("hmac", `${hmac.slice(0, -1)}${hmac.endsWith("0") ? "1" : "0"}`);
    let res = await sendCallback(hub, callback);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).error.code).toBe("INVALID_OAUTH_CALLBACK");
    // Tampering with a parameter breaks the signature as well.
    callback.searchParams.set("hmac", hmac);
    callback.searchParams.set("code", "stolen-code");
    res = await sendCallback(hub, callback);
    expect(res.status).toBe(401);
    expect(await stores()).toEqual([]);
  });

  it("refuses an unknown state and a state issued for another shop", async () => {
    const forOther = await installRedirect(hub, OTHER); // state issued for OTHER…
    const forShop = await installRedirect(hub, SHOP);
    // …presented on a callback Shopify signed for SHOP.
    const mixed = new URL(forShop);
    mixed.searchParams.set("state", forOther.searchParams.get("state")!);
    const q = Object.fromEntries(mixed.searchParams);
    mixed.searchParams.set("hmac", oauthQueryHmac(q, APP.clientSecret));
    let res = await sendCallback(hub, mixed);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).error.details[0].code).toBe("STATE_SHOP_MISMATCH");

    const unknown = new URL(forShop);
    unknown.searchParams.set("state", "made-up.state");
    unknown.searchParams.set(
      "hmac",
      oauthQueryHmac(Object.fromEntries(unknown.searchParams), APP.clientSecret),
    );
    res = await sendCallback(hub, unknown);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).error.details[0].code).toBe("UNKNOWN_STATE");
    expect(await stores()).toEqual([]);
  });

  it("refuses a state older than its 10-minute lifetime and stores nothing", async () => {
    const callback = await installRedirect(hub, SHOP);
    // As if the merchant came back from Shopify's screen eleven minutes later.
    await hub.ctx.database.db
      .updateTable("oauth_states")
      .set({ expires_at: Date.now() - 60_000 })
      .where("state", "=", callback.searchParams.get("state")!)
      .execute();
    const res = await sendCallback(hub, callback);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body).error.code).toBe("INVALID_OAUTH_CALLBACK");
    expect(await stores()).toEqual([]);
  });

  it("connects: encrypted expiring token, refresh token, scopes, flows, webhook and locations; a reused state is refused", async () => {
    const callback = await installRedirect(hub, SHOP);
    const res = await sendCallback(hub, callback);
    expect(res.status, res.body).toBe(200);
    expect(res.body).toContain(`${SHOP} is connected`);

    const [row] = await stores();
    expect(row).toMatchObject({
      domain: SHOP,
      auth_kind: "oauth",
      status: "active",
      inventory_mode: "delta",
    });
    const token = decryptSecret(row!.access_token_enc!, KEY, sealedAt.storeColumn("access_token_enc", SHOP));
    expect(token).toMatch(/^shpca_/);
    expect(row!.access_token_enc).not.toContain(token);
    expect(row!.refresh_token_enc).toMatch(/^v2:/);
    expect(
      decryptSecret(row!.refresh_token_enc!, KEY, sealedAt.storeColumn("refresh_token_enc", SHOP)),
    ).toMatch(/^shprt_/);
    expect(Number(row!.access_token_expires_at)).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(row!.scopes.split(",")).toContain("write_inventory");

    const view = await hub.call("GET", `/api/v1/stores/${SHOP}`);
    expect(view.status).toBe(200);
    expect(JSON.stringify(view.body)).not.toContain(token);
    // Every flow the hub has starts disabled: nothing moves before the operator says so.
    expect(view.body.flows.map((f: { flow: string; state: string }) => [f.flow, f.state])).toEqual(
      FLOWS.map((flow) => [flow, "disabled"]),
    );
    expect(view.body.flows.every((f: { missingScopes: string[] }) => f.missingScopes.length === 0)).toBe(
      true,
    );

    const subs = emu.control.getShop(SHOP);
    expect(subs.installedApps).toHaveLength(1);
    const locations = await hub.call("GET", `/api/v1/stores/${SHOP}/locations`);
    expect(locations.body.items.map((l: { name: string }) => l.name)).toEqual(["Main street"]);
    const activity = await hub.call("GET", `/api/v1/stores/${SHOP}/activity?flow=connection`);
    expect(activity.body.items.map((a: { kind: string }) => a.kind)).toEqual(
      expect.arrayContaining(["connected", "webhooks_registered", "locations_synced"]),
    );
    expect(JSON.stringify(activity.body)).not.toContain(token);

    // The very same callback again: the state is single-use.
    const again = await sendCallback(hub, callback);
    expect(again.status).toBe(401);
    expect(JSON.parse(again.body).error.details[0].code).toBe("STATE_REUSED");
    expect(
      decryptSecret(
        (await stores())[0]!.access_token_enc!,
        KEY,
        sealedAt.storeColumn("access_token_enc", SHOP),
      ),
    ).toBe(token);
  });

  it("app/uninstalled (real delivery, signed with the app secret) disconnects the store and keeps its data", async () => {
    const store = (await stores())[0]!;
    await hub.call("POST", `/api/v1/stores/${SHOP}/flows/catalog_import/enable`);
    // Webhook deliveries go to PUBLIC_URL, which the emulator cannot reach: replay the signed delivery.
    emu.control.uninstallApp({ shop: SHOP, clientId: APP.clientId });
    const [delivery] = emu.control.webhookDeliveries({ shop: SHOP, topic: "app/uninstalled" });
    expect(delivery?.uri).toBe(`${PUBLIC_URL}/webhooks/shopify`);
    const { signWebhook } = await import("../emulator/index.ts");
    const headers = {
      "content-type": "application/json",
      "x-shopify-topic": "app/uninstalled",
      "x-shopify-shop-domain": SHOP,
      "x-shopify-webhook-id": delivery!.webhookId,
      "x-shopify-triggered-at": delivery!.triggeredAt,
    };
    const forged = await hub.server.inject({
      method: "POST",
      url: "/webhooks/shopify",
      headers: { ...headers, "x-shopify-hmac-sha256": signWebhook(delivery!.body, "wrong-secret") },
      payload: delivery!.body,
    });
    expect(forged.statusCode).toBe(401);
    expect((await storeById(hub.ctx.database, Number(store.id)))!.status).toBe("active");

    const res = await hub.server.inject({
      method: "POST",
      url: "/webhooks/shopify",
      headers: { ...headers, "x-shopify-hmac-sha256": signWebhook(delivery!.body, APP.clientSecret) },
      payload: delivery!.body,
    });
    expect(res.statusCode).toBe(200);
    const after = await hub.call("GET", `/api/v1/stores/${SHOP}`);
    expect(after.body).toMatchObject({ status: "disconnected", statusReason: "uninstalled in Shopify" });
    expect(after.body.flows.find((f: { flow: string }) => f.flow === "catalog_import").state).toBe("paused");
    expect((await hub.call("GET", `/api/v1/stores/${SHOP}/locations`)).body.items).toHaveLength(1);
    const enable = await hub.call("POST", `/api/v1/stores/${SHOP}/flows/catalog_import/resume`);
    expect(enable.status).toBe(409);
    expect(enable.body.error.code).toBe("STORE_DISCONNECTED");
  });
});

describe("expiring token refresh", () => {
  let emu: Emulator;
  let hub: ShopsHub;
  beforeAll(async () => {
    emu = await startEmulator();
    emu.control.createApp({ ...APP, scopes: [] });
    emu.control.createShop({ domain: SHOP });
    const { now } = emu.control.freezeTime();
    hub = await startShopsHub("sqlite", {
      emulatorUrl: emu.url,
      app: APP,
      clock: fixedClock(Date.parse(now)),
    });
  });
  afterAll(async () => {
    await hub?.close();
    await emu?.close();
  });

  it("refreshes a token lapsing within 5 minutes, once for concurrent callers, and the new one works", async () => {
    const clock = hub.ctx.clock as ReturnType<typeof fixedClock>;
    expect((await sendCallback(hub, await installRedirect(hub, SHOP))).status).toBe(200);
    const row = await hub.ctx.database.db.selectFrom("stores").selectAll().executeTakeFirstOrThrow();
    const id = Number(row.id);
    const first = await hub.shops.tokens.getAccessToken(hub.ctx.database, id);
    expect(first).toBe(
      decryptSecret(row.access_token_enc!, KEY, sealedAt.storeColumn("access_token_enc", row.domain)),
    );
    // 56 minutes later: within the 5-minute margin of the 60-minute expiry.
    clock.advance(56 * 60_000);
    emu.control.advanceTime(56 * 60_000);
    const [a, b, c] = await Promise.all(
      [1, 2, 3].map(() => hub.shops.tokens.getAccessToken(hub.ctx.database, id)),
    );
    expect(a).not.toBe(first);
    expect(b).toBe(a);
    expect(c).toBe(a);
    const after = await hub.ctx.database.db.selectFrom("stores").selectAll().executeTakeFirstOrThrow();
    expect(Number(after.access_token_expires_at)).toBe(clock.now() + 3600_000);
    expect(after.refresh_token_enc).not.toBe(row.refresh_token_enc);
    // The refreshed token is accepted by Shopify (the transport uses getAccessToken).
    const r = await hub.shops
      .transportFor({ id, domain: SHOP })
      .graphql<{ shop: { name: string } }>("query { shop { name } }");
    expect(r.data.shop.name).toBe("acme");
  });
});
