import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { gql } from "../emulator/test-helpers.ts";
import { decryptSecret, sealedAt } from "../src/shops/secrets.ts";
import { KEY, type ShopsHub, startShopsHub } from "./shops-helpers.ts";
import { DIALECTS } from "./support/databases.ts";

const SHOP = "mapping.myshopify.com";

describe.each(DIALECTS)("custom-app stores, flows, mapping and linking on %s", (dialect) => {
  let emu: Emulator;
  let hub: ShopsHub;
  let token: string;
  let main: string;
  let outlet: string;
  let closed: string;
  let twoVariantProduct: { id: string; variants: { id: string }[] };

  beforeAll(async () => {
    emu = await startEmulator();
    const c = emu.control;
    const app = c.createApp({
      scopes: ["read_products", "write_products", "write_inventory", "read_locations", "write_orders"],
    });
    c.createShop({ domain: SHOP, name: "Mapping Co" });
    main = c.createLocation(SHOP, { name: "Main" }).id;
    outlet = c.createLocation(SHOP, { name: "Outlet" }).id;
    closed = c.createLocation(SHOP, { name: "Closed", isActive: false }).id;
    c.createProduct(SHOP, {
      title: "Tee",
      variants: [
        { sku: "TEE-S", barcode: "111", inventory: { [main]: 5, [outlet]: 2 } },
        { sku: "TEE-M-SHOPIFY", barcode: "222", inventory: { [main]: 7 } },
      ],
    });
    c.createProduct(SHOP, { title: "Dup A", variants: [{ sku: "DUP", barcode: "333" }] });
    c.createProduct(SHOP, { title: "Dup B", variants: [{ sku: "DUP" }] });
    c.createProduct(SHOP, { title: "Only in Shopify", variants: [{ sku: "SHOP-ONLY" }] });
    twoVariantProduct = c.createProduct(SHOP, {
      title: "Mug",
      variants: [
        { sku: "MUG", options: [{ name: "Title", value: "Mug" }] },
        { sku: "GONE", options: [{ name: "Title", value: "Gone" }], inventory: { [main]: 1 } },
      ],
    });
    token = c.mintToken({ shop: SHOP, clientId: app.clientId }).accessToken;
    hub = await startShopsHub(dialect, { emulatorUrl: emu.url });
    expect(
      (
        await hub.call("PUT", "/api/v1/warehouses", {
          warehouses: [
            { code: "MAIN", name: "Main" },
            { code: "B", name: "Backroom" },
          ],
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await hub.call("PUT", "/api/v1/variants", {
          variants: [
            { sku: "TEE-S", barcode: "111" },
            { sku: "TEE-M", barcode: "222" },
            { sku: "DUP", barcode: "333" },
            { sku: "HUB-ONLY", barcode: "999" },
            { sku: "MUG" },
            { sku: "GONE" },
          ],
        })
      ).status,
    ).toBe(200);
  });
  afterAll(async () => {
    await hub?.close();
    await emu?.close();
  });

  it("refuses a bad custom-app token and a foreign domain, storing nothing", async () => {
    let r = await hub.call("POST", "/api/v1/stores", { domain: SHOP, accessToken: "shpat_not_a_real_token" });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("INVALID_SHOPIFY_TOKEN");
    r = await hub.call("POST", "/api/v1/stores", { domain: "evil.com", accessToken: token });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("INVALID_SHOP_DOMAIN");
    expect(await hub.ctx.database.db.selectFrom("stores").selectAll().execute()).toEqual([]);
  });

  it("connects with a good custom-app token (verified, encrypted, no token in output) and reads locations", async () => {
    const r = await hub.call("POST", "/api/v1/stores", {
      domain: SHOP,
      accessToken: token,
      webhookSecret: "whsec",
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({
      domain: SHOP,
      name: "Mapping Co",
      authKind: "custom_app",
      status: "active",
    });
    const row = await hub.ctx.database.db.selectFrom("stores").selectAll().executeTakeFirstOrThrow();
    expect(row.access_token_enc).not.toContain(token);
    expect(
      decryptSecret(row.access_token_enc!, KEY, sealedAt.storeColumn("access_token_enc", row.domain)),
    ).toBe(token);
    expect(
      decryptSecret(row.webhook_secret_enc!, KEY, sealedAt.storeColumn("webhook_secret_enc", row.domain)),
    ).toBe("whsec");
    const list = await hub.call("GET", "/api/v1/stores");
    expect(list.body.items).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(token);
    const locs = await hub.call("GET", `/api/v1/stores/${SHOP}/locations`);
    expect(
      locs.body.items.map((l: { name: string; activeInShopify: boolean }) => [l.name, l.activeInShopify]),
    ).toEqual([
      ["Closed", false],
      ["Main", true],
      ["Outlet", true],
    ]);
  });

  it("validates the location mapping atomically and reports every problem", async () => {
    const bad = await hub.call("PUT", `/api/v1/stores/${SHOP}/locations/mapping`, {
      locations: [
        { locationId: main, warehouses: ["MAIN", "NOPE"], managed: true, default: true },
        { locationId: "gid://shopify/Location/424242", warehouses: ["B"], managed: true },
        { locationId: outlet, warehouses: ["B"], managed: true, default: true },
        { locationId: closed, warehouses: ["B"], managed: true },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("INVALID_MAPPING");
    expect(bad.body.error.details.map((d: { code: string }) => d.code).sort()).toEqual([
      "INACTIVE_LOCATION",
      "MULTIPLE_DEFAULTS",
      "UNKNOWN_LOCATION",
      "UNKNOWN_WAREHOUSE",
    ]);
    const locs = await hub.call("GET", `/api/v1/stores/${SHOP}/locations`);
    expect(
      locs.body.items.every(
        (l: { managed: boolean; warehouses: string[] }) => !l.managed && !l.warehouses.length,
      ),
    ).toBe(true);

    const ok = await hub.call("PUT", `/api/v1/stores/${SHOP}/locations/mapping`, {
      locations: [
        { locationId: main, warehouses: ["MAIN", "B"], managed: true, default: true },
        { locationId: outlet, warehouses: ["B"], managed: false },
      ],
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const byName = Object.fromEntries(ok.body.items.map((l: { name: string }) => [l.name, l]));
    expect(byName.Main).toMatchObject({ managed: true, default: true, warehouses: ["B", "MAIN"] });
    expect(byName.Outlet).toMatchObject({ managed: false, default: false, warehouses: ["B"] });
    // Moving the default clears the previous one.
    await hub.call("PUT", `/api/v1/stores/${SHOP}/locations/mapping`, {
      locations: [{ locationId: outlet, warehouses: ["B"], managed: false, default: true }],
    });
    const after = (await hub.call("GET", `/api/v1/stores/${SHOP}/locations`)).body.items;
    expect(after.filter((l: { default: boolean }) => l.default).map((l: { name: string }) => l.name)).toEqual(
      ["Outlet"],
    );
    // A re-sync keeps the mapping.
    await hub.call("POST", `/api/v1/stores/${SHOP}/locations/sync`);
    const resynced = (await hub.call("GET", `/api/v1/stores/${SHOP}/locations`)).body.items;
    expect(resynced.find((l: { name: string }) => l.name === "Main")).toMatchObject({
      managed: true,
      warehouses: ["B", "MAIN"],
    });
  });

  it("links by SKU then barcode, lists problems, reads confirmed levels and marks new links dirty", async () => {
    const r = await hub.call("POST", `/api/v1/stores/${SHOP}/link`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ linked: 4, bySku: 3, byBarcode: 1, problems: 3 });
    const problems = (await hub.call("GET", `/api/v1/stores/${SHOP}/link-problems`)).body.items;
    const kinds = problems.map((p: { kind: string; sku: string }) => `${p.kind}:${p.sku}`).sort();
    // TEE-M-SHOPIFY is linked to TEE-M by barcode, so it is no problem.
    expect(kinds).toEqual([
      "duplicate_sku_in_shopify:DUP",
      "not_in_hub:SHOP-ONLY",
      "not_in_shopify:HUB-ONLY",
    ]);
    const dup = problems.find((p: { kind: string }) => p.kind === "duplicate_sku_in_shopify");
    expect(dup.detail.match(/gid:\/\/shopify\/ProductVariant\/\d+/g)).toHaveLength(2);

    const db = hub.ctx.database.db;
    const links = await db
      .selectFrom("variant_links as l")
      .innerJoin("variants as v", "v.id", "l.variant_id")
      .select(["v.sku", "l.matched_by"])
      .orderBy("v.sku")
      .execute();
    expect(links.map((l) => `${l.sku}:${l.matched_by}`)).toEqual([
      "GONE:sku",
      "MUG:sku",
      "TEE-M:barcode",
      "TEE-S:sku",
    ]);
    const sync = await db
      .selectFrom("inventory_sync as s")
      .innerJoin("variants as v", "v.id", "s.variant_id")
      .select(["v.sku", "s.location_gid", "s.confirmed", "s.pushed"])
      .orderBy("v.sku")
      .execute();
    // Only the managed location (Main); Outlet is not managed.
    expect(sync.map((s) => [s.sku, s.location_gid, s.confirmed, s.pushed])).toEqual([
      ["GONE", main, 1, null],
      ["TEE-M", main, 7, null],
      ["TEE-S", main, 5, null],
    ]);
    const dirty = await db.selectFrom("push_dirty").select(["variant_id", "generation"]).execute();
    expect(dirty).toHaveLength(4);

    // Running again changes nothing and keeps the same problems.
    const again = await hub.call("POST", `/api/v1/stores/${SHOP}/link`);
    expect(again.body).toMatchObject({ linked: 4, newlyLinked: 0, problems: 3 });
    expect((await hub.call("GET", `/api/v1/stores/${SHOP}/link-problems`)).body.items).toHaveLength(3);
  });

  it("reports variants deleted in Shopify and removes their link", async () => {
    const mug = twoVariantProduct.variants[0]!.id;
    const set = await gql(
      emu,
      token,
      `mutation ($input: ProductSetInput!) { productSet(input: $input, synchronous: true) { product { id } userErrors { message } } }`,
      {
        input: {
          id: twoVariantProduct.id,
          variants: [{ id: mug, sku: "MUG", optionValues: [{ optionName: "Title", name: "Mug" }] }],
        },
      },
      SHOP,
    );
    expect(set.body.errors, JSON.stringify(set.body)).toBeUndefined();
    const r = await hub.call("POST", `/api/v1/stores/${SHOP}/link`);
    expect(r.body).toMatchObject({ linked: 3, removed: 1 });
    const problems = (await hub.call("GET", `/api/v1/stores/${SHOP}/link-problems`)).body.items;
    expect(problems.find((p: { kind: string }) => p.kind === "deleted_in_shopify")).toMatchObject({
      sku: "GONE",
    });
    const gone = await hub.ctx.database.db
      .selectFrom("inventory_sync as s")
      .innerJoin("variants as v", "v.id", "s.variant_id")
      .select("v.sku")
      .where("v.sku", "=", "GONE")
      .execute();
    expect(gone).toEqual([]);
  });

  it("checks scopes when enabling a flow, pauses and resumes, switches mode, and disconnect stops every flow", async () => {
    let r = await hub.call("POST", `/api/v1/stores/${SHOP}/flows/inventory_push/enable`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // Scopes unknown for this custom app (emulator): simulate a store missing write_inventory.
    await hub.ctx.database.db.updateTable("stores").set({ scopes: "read_products,read_locations" }).execute();
    r = await hub.call("POST", `/api/v1/stores/${SHOP}/flows/order_intake/enable`);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("MISSING_SCOPE");
    expect(r.body.error.message).toContain("read_orders");
    r = await hub.call("POST", `/api/v1/stores/${SHOP}/flows/inventory_push/pause`);
    expect(r.body.flows.find((f: { flow: string }) => f.flow === "inventory_push").state).toBe("paused");
    r = await hub.call("POST", `/api/v1/stores/${SHOP}/flows/inventory_push/resume`);
    expect(r.status).toBe(409);
    expect(r.body.error.message).toContain("write_inventory");
    await hub.ctx.database.db.updateTable("stores").set({ scopes: "" }).execute();
    r = await hub.call("POST", `/api/v1/stores/${SHOP}/flows/inventory_push/resume`);
    expect(r.body.flows.find((f: { flow: string }) => f.flow === "inventory_push").state).toBe("enabled");

    r = await hub.call("PUT", `/api/v1/stores/${SHOP}/inventory-mode`, { mode: "absolute" });
    expect(r.body.inventoryMode).toBe("absolute");

    r = await hub.call("POST", `/api/v1/stores/${SHOP}/disconnect`, {});
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "disconnected", statusReason: "disconnected by the operator" });
    expect(r.body.flows.find((f: { flow: string }) => f.flow === "inventory_push").state).toBe("paused");
    const row = await hub.ctx.database.db.selectFrom("stores").selectAll().executeTakeFirstOrThrow();
    expect(row.access_token_enc).toBeNull();
    expect(await hub.ctx.database.db.selectFrom("variant_links").selectAll().execute()).toHaveLength(3);
    const activity = (await hub.call("GET", `/api/v1/stores/${SHOP}/activity?limit=2`)).body.items;
    expect(activity[0]).toMatchObject({ kind: "disconnected", level: "warn" });
    const older = (await hub.call("GET", `/api/v1/stores/${SHOP}/activity?before=${activity[1].id}`)).body
      .items;
    expect(older.every((a: { id: number }) => a.id < activity[1].id)).toBe(true);
    r = await hub.call("POST", `/api/v1/stores/${SHOP}/link`);
    expect(r.body.error.code).toBe("STORE_DISCONNECTED");
  });

  it("verifies custom-app webhooks with the stored webhook secret", async () => {
    const body = JSON.stringify({ id: 1 });
    const { signWebhook } = await import("../emulator/index.ts");
    const send = (secret: string, topic = "shop/update") =>
      hub.server.inject({
        method: "POST",
        url: "/webhooks/shopify",
        headers: {
          "content-type": "application/json",
          "x-shopify-topic": topic,
          "x-shopify-shop-domain": SHOP,
          "x-shopify-hmac-sha256": signWebhook(body, secret),
        },
        payload: body,
      });
    expect((await send("whsec")).statusCode).toBe(200);
    const bad = await send("other");
    expect(bad.statusCode).toBe(401);
    expect(JSON.parse(bad.body).error.code).toBe("INVALID_WEBHOOK");
  });
});
