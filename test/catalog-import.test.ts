/**
 * Importing a store's catalog from Shopify, end to end against the emulator, on both databases:
 * both modes, each matching rule (SKU, barcode) and each link-problem reason, the field choice,
 * no movement ever written, a crash in the middle of a run (resumes at the stored line offset,
 * nothing doubled), one run at a time, product webhooks (update, SKU change, delete) keeping
 * links current, and the opening count taken once after a preview.
 */

import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { gql } from "../emulator/test-helpers.ts";
import { IMPORT_FIELDS } from "../src/catalog/import/import-plan.ts";
import { runCatalogImport } from "../src/catalog/import/import-run.ts";
import { CATALOG_WEBHOOK_SUBSCRIPTIONS, processCatalogInbox } from "../src/catalog/import/index.ts";
import { CATALOG_BULK_QUERY } from "../src/catalog/shopify-catalog.ts";
import { systemClock } from "../src/core/clock.ts";
import { JobCancelled, type JobControl } from "../src/jobs/operator-jobs.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { startAndAwaitBulkQuery } from "../src/shopify/bulk-query.ts";
import type { AdminTransport } from "../src/shopify/transport.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { APP_SCOPES } from "./support/shopify.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator?.close());

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

const opt = (name: string, value: string) => ({ optionName: name, name: value });

describe.each(DIALECTS)("catalog import from Shopify on %s", (dialect) => {
  const domain = `import-${dialect}.myshopify.com`;
  let hub: TestHub;
  let token: string;
  let location: string;
  const ids: Record<string, { product: string; variants: string[] }> = {};
  // biome-ignore lint/suspicious/noExplicitAny: test reads of JSON answers
  const call = async (method: "GET" | "POST" | "PUT", url: string, payload?: unknown): Promise<any> => {
    const res = await hub.server.inject({ method, url, headers: hub.auth, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.body ? res.json() : undefined };
  };
  const set = (title: string, input: Record<string, unknown>) => {
    const p = emulator.control.productSet(domain, { input: { title, ...input } as never });
    ids[title] = { product: p.admin_graphql_api_id, variants: p.variants.map((v) => v.admin_graphql_api_id) };
    return p;
  };
  const problems = async () =>
    (await call("GET", `/api/v1/stores/${domain}/link-problems`)).body.items.map(
      (p: { kind: string; sku: string | null; barcode: string | null }) =>
        `${p.kind}:${p.sku ?? p.barcode ?? "-"}`,
    );
  const links = async () =>
    Object.fromEntries(
      (
        await hub.ctx.database.db
          .selectFrom("variant_links as l")
          .innerJoin("variants as v", "v.id", "l.variant_id")
          .select(["v.sku", "l.product_variant_gid", "l.matched_by", "l.shopify_product_gid"])
          .where("l.store_id", "=", (await storeRow()).id)
          .execute()
      ).map((r) => [r.sku, r]),
    );
  const storeRow = async () =>
    hub.ctx.database.db
      .selectFrom("stores")
      .select(["id"])
      .where("domain", "=", domain)
      .executeTakeFirstOrThrow();
  const noStockWritten = async () => {
    const db = hub.ctx.database.db;
    expect(await db.selectFrom("movements").select("id").execute()).toEqual([]);
    expect(await db.selectFrom("ledger_entries").select("id").execute()).toEqual([]);
  };
  const runImport = async (body: Record<string, unknown>) => {
    const r = await call("POST", `/api/v1/stores/${domain}/catalog-imports`, { waitSeconds: 60, ...body });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.job.status, JSON.stringify(r.body.job)).toBe("done");
    return r.body;
  };

  beforeAll(async () => {
    const app = emulator.control.createApp({ name: "Tillbridge", scopes: [...APP_SCOPES] });
    emulator.control.createShop({ domain, plan: "plus" });
    location = emulator.control.createLocation(domain, { name: "Main" }).id;
    token = emulator.control.mintToken({ shop: domain, clientId: app.clientId }).accessToken;
    // The hub's own subscriptions (made when the store connects) point at its PUBLIC_URL: a port
    // chosen before it starts.
    const port = await freePort();
    hub = await startTestHub(dialect, {
      listen: true,
      env: {
        SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}`,
        HOST: "127.0.0.1",
        PORT: String(port),
        PUBLIC_URL: `http://127.0.0.1:${port}`,
      },
    });

    set("Tee", {
      handle: "tee",
      descriptionHtml: "<p>Cotton</p>",
      vendor: "Acme",
      tags: ["summer"],
      seo: { title: "Tee | Acme", description: "A tee" },
      files: [{ originalSource: "https://cdn.example.com/tee.jpg", alt: "Tee" }],
      metafields: [{ namespace: "custom", key: "care", type: "single_line_text_field", value: "30C" }],
      productOptions: [{ name: "Size", values: [{ name: "S" }, { name: "M" }] }],
      variants: [
        {
          optionValues: [opt("Size", "S")],
          sku: "TEE-S",
          barcode: "111",
          price: "20.00",
          inventoryQuantities: [{ locationId: location, name: "available", quantity: 4 }],
        },
        {
          optionValues: [opt("Size", "M")],
          sku: "TEE-M",
          barcode: "222",
          price: "21.00",
          compareAtPrice: "30.00",
          inventoryItem: { measurement: { weight: { value: 180, unit: "GRAMS" } } },
        },
      ],
    });
    set("Cap", { handle: "cap", variants: [{ optionValues: [], barcode: "333", price: "9.00" }] });
    set("Dup A", { variants: [{ optionValues: [], sku: "DUP" }] });
    set("Dup B", { variants: [{ optionValues: [], sku: "DUP" }] });
    set("Blank", { variants: [{ optionValues: [], price: "1.00" }] });
    set("Two", { variants: [{ optionValues: [], sku: "TWO", barcode: "444" }] });
    // Two SKU-less Shopify variants sharing the barcode of a hub variant: neither is guessed.
    set("Bar A", { variants: [{ optionValues: [], barcode: "666" }] });
    set("Bar B", { variants: [{ optionValues: [], barcode: "666" }] });
    set("Other", { variants: [{ optionValues: [], sku: "OTHER-2", barcode: "555" }] });
    set("Existing", {
      handle: "existing-in-shopify",
      descriptionHtml: "<p>From Shopify</p>",
      files: [{ originalSource: "https://cdn.example.com/ex.jpg", alt: null }],
      productOptions: [{ name: "Color", values: [{ name: "Red" }, { name: "Blue" }] }],
      variants: [
        { optionValues: [opt("Color", "Red")], sku: "EX-1", price: "9.00" },
        { optionValues: [opt("Color", "Blue")], sku: "EX-2", price: "9.50" },
      ],
    });

    expect(
      (await call("PUT", "/api/v1/warehouses", { warehouses: [{ code: "W", name: "Main" }] })).status,
    ).toBe(200);
    const variants = await call("PUT", "/api/v1/variants", {
      variants: [
        { sku: "TEE-S" },
        { sku: "CAP-HUB", barcode: "333" },
        { sku: "DUP" },
        { sku: "TWO", barcode: "555" },
        { sku: "BAR-HUB", barcode: "666" },
        { sku: "SPARE" },
        { sku: "HUB-ONLY" },
      ],
    });
    expect(variants.status, JSON.stringify(variants.body)).toBe(200);
    const product = await call("PUT", "/api/v1/products", {
      products: [
        {
          key: "existing",
          title: "Existing (hub)",
          options: [{ name: "Color", values: ["Red"] }],
          variants: [{ sku: "EX-1", options: ["Red"], price: "5.00" }],
        },
      ],
    });
    expect(product.status, JSON.stringify(product.body)).toBe(200);
    const connected = await call("POST", "/api/v1/stores", {
      domain,
      accessToken: token,
      webhookSecret: app.clientSecret,
    });
    expect(connected.status, JSON.stringify(connected.body)).toBe(201);
    const { body: locations } = await call("GET", `/api/v1/stores/${domain}/locations`);
    const mapped = await call("PUT", `/api/v1/stores/${domain}/locations/mapping`, {
      locations: [
        { locationId: locations.items[0].locationId, warehouses: ["W"], managed: true, default: true },
      ],
    });
    expect(mapped.status, JSON.stringify(mapped.body)).toBe(200);
    const subscribed = await gql(
      emulator,
      token,
      "{ webhookSubscriptions(first: 50) { nodes { topic } } }",
      {},
      domain,
    );
    expect(subscribed.body.data.webhookSubscriptions.nodes.map((n: { topic: string }) => n.topic)).toEqual(
      expect.arrayContaining([...CATALOG_WEBHOOK_SUBSCRIPTIONS]),
    );
  }, 120_000);
  afterAll(async () => {
    emulator.control.setFaults(domain, { webhookDropRate: 1 });
    await emulator.control.webhooksIdle(30_000).catch(() => {});
    hub?.server.server.closeAllConnections();
    await hub?.close();
  }, 120_000);

  it("create only: links by SKU and by barcode, creates what is missing, changes nothing existing, lists each problem with its reason, writes no movement", async () => {
    const r = await runImport({ mode: "create_only" });
    expect(r.job.result).toMatchObject({ status: "done", productsRead: 10, variantsRead: 12 });
    const l = await links();
    expect(l["TEE-S"]).toMatchObject({
      matched_by: "sku",
      product_variant_gid: ids.Tee!.variants[0],
      shopify_product_gid: ids.Tee!.product,
    });
    expect(l["TEE-M"]).toMatchObject({ matched_by: "sku", product_variant_gid: ids.Tee!.variants[1] });
    expect(l["CAP-HUB"]).toMatchObject({ matched_by: "barcode", product_variant_gid: ids.Cap!.variants[0] });
    expect(l["EX-1"]).toMatchObject({ matched_by: "sku" });
    expect(Object.keys(l).sort()).toEqual(["CAP-HUB", "EX-1", "TEE-M", "TEE-S"]);
    expect((await problems()).sort()).toEqual(
      [
        "duplicate_sku_in_shopify:DUP",
        "duplicate_barcode_in_shopify:666",
        "hub_variant_matches_two:TWO",
        "no_sku_or_barcode:-",
        "not_in_hub:EX-2",
        "not_in_shopify:HUB-ONLY",
        "not_in_shopify:SPARE",
      ].sort(),
    );

    // The Tee was new to the hub: created with Shopify's fields; TEE-S (known by SKU only) adopted
    // with its own (empty) values, TEE-M created with Shopify's.
    const tee = (await call("GET", "/api/v1/products/tee")).body;
    expect(tee).toMatchObject({
      title: "Tee",
      descriptionHtml: "<p>Cotton</p>",
      vendor: "Acme",
      tags: ["summer"],
      seo: { title: "Tee | Acme", description: "A tee" },
      options: [{ name: "Size", values: ["S", "M"] }],
      images: [{ url: "https://cdn.example.com/tee.jpg", alt: "Tee" }],
      metafields: [{ namespace: "custom", key: "care", type: "single_line_text_field", value: "30C" }],
    });
    expect(
      tee.variants.map((v: { sku: string; price: string | null; options: string[] }) => [
        v.sku,
        v.price,
        v.options,
      ]),
    ).toEqual([
      ["TEE-S", null, ["S"]],
      ["TEE-M", "21.00", ["M"]],
    ]);
    expect(tee.variants[1]).toMatchObject({ compareAtPrice: "30.00", weight: { value: 180, unit: "GRAMS" } });
    expect(
      (await call("GET", "/api/v1/products/cap")).body.variants.map((v: { sku: string }) => v.sku),
    ).toEqual(["CAP-HUB"]);
    // The existing product is untouched in create-only mode.
    const existing = (await call("GET", "/api/v1/products/existing")).body;
    expect(existing).toMatchObject({ title: "Existing (hub)", images: [] });
    expect(existing.variants).toEqual([expect.objectContaining({ sku: "EX-1", price: "5.00" })]);
    // Product links with the state last seen in Shopify.
    const pl = await hub.ctx.database.db.selectFrom("product_links").selectAll().execute();
    expect(pl).toHaveLength(3);
    const teeLink = pl.find((p) => p.shopify_product_gid === ids.Tee!.product)!;
    expect(JSON.parse(teeLink.last_seen!)).toMatchObject({
      title: "Tee",
      handle: "tee",
      variants: [{ sku: "TEE-S" }, { sku: "TEE-M" }],
    });
    await noStockWritten();

    const list = await call("GET", `/api/v1/stores/${domain}/catalog-imports`);
    expect(list.body.items[0]).toMatchObject({
      status: "done",
      mode: "create_only",
      variantsRead: 12,
      matched: 3,
      created: 1,
      problems: 7,
    });
    const activity = await call("GET", `/api/v1/stores/${domain}/activity?flow=catalog_import`);
    expect(activity.body.items.map((a: { kind: string }) => a.kind)).toEqual(
      expect.arrayContaining(["import_started", "import_done"]),
    );
  });

  it("create and overwrite: updates existing products with the chosen fields only, adds Shopify's variants, creates nothing twice", async () => {
    const before = await hub.ctx.database.db.selectFrom("products").select("key").execute();
    await runImport({ mode: "create_and_overwrite", fields: ["title", "description", "images", "variants"] });
    const existing = (await call("GET", "/api/v1/products/existing")).body;
    expect(existing).toMatchObject({
      title: "Existing",
      descriptionHtml: "<p>From Shopify</p>",
      images: [{ url: "https://cdn.example.com/ex.jpg", alt: null }],
      options: [{ name: "Color", values: ["Red", "Blue"] }],
    });
    // Prices were not chosen: EX-1 keeps the hub's; EX-2 is created without one.
    expect(existing.variants.map((v: { sku: string; price: string | null }) => [v.sku, v.price])).toEqual([
      ["EX-1", "5.00"],
      ["EX-2", null],
    ]);
    expect((await links())["EX-2"]).toMatchObject({ matched_by: "sku" });
    expect(await problems()).not.toContain("not_in_hub:EX-2");
    const after = await hub.ctx.database.db.selectFrom("products").select("key").execute();
    expect(after.map((p) => p.key).sort()).toEqual(before.map((p) => p.key).sort());

    await runImport({ mode: "create_and_overwrite", fields: [...IMPORT_FIELDS] });
    const again = (await call("GET", "/api/v1/products/existing")).body;
    expect(again.variants.map((v: { sku: string; price: string | null }) => [v.sku, v.price])).toEqual([
      ["EX-1", "9.00"],
      ["EX-2", "9.50"],
    ]);
    expect((await call("GET", "/api/v1/products/tee")).body.variants[0].price).toBe("20.00");
    await noStockWritten();
  });

  it("refuses a second run while one waits, and bad input with the field named", async () => {
    const bad = await call("POST", `/api/v1/stores/${domain}/catalog-imports`, { mode: "everything" });
    expect(bad.status).toBe(400);
    const badField = await call("POST", `/api/v1/stores/${domain}/catalog-imports`, {
      mode: "create_only",
      fields: ["stock"],
    });
    expect(badField.status).toBe(400);
    const first = await call("POST", `/api/v1/stores/${domain}/catalog-imports`, { mode: "create_only" });
    expect(first.status).toBe(202);
    const second = await call("POST", `/api/v1/stores/${domain}/catalog-imports`, {
      mode: "create_and_overwrite",
    });
    expect(second.status).toBe(409);
    expect(second.body.error.details[0].code).toBe("IMPORT_RUNNING");
    const cancelled = await call("POST", `/api/v1/jobs/${first.body.job.id}/cancel`);
    expect(cancelled.body.status).toBe("cancelled");
  });

  it("product webhooks: an update keeps links, a SKU change re-links or becomes a problem, a deletion unlinks without touching the rest", async () => {
    const storeId = (await storeRow()).id;
    const before = await links();
    // TEE-M's SKU changes to one no hub variant has; TEE-S's to SPARE (a hub variant not linked).
    emulator.control.productSet(domain, {
      identifier: { id: ids.Tee!.product },
      input: {
        title: "Tee (new)",
        variants: [
          { id: ids.Tee!.variants[0], optionValues: [opt("Size", "S")], sku: "SPARE" },
          { id: ids.Tee!.variants[1], optionValues: [opt("Size", "M")], sku: "TEE-M-NEW" },
        ],
      },
    });
    emulator.control.deleteProduct(domain, ids.Cap!.product);
    const mine = () =>
      emulator.control
        .webhookDeliveries({ shop: domain })
        .filter(
          (d) => d.uri.startsWith(hub.url) && d.topic.startsWith("products/") && d.status === "delivered",
        );
    for (let i = 0; i < 200 && mine().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(mine().map((d) => d.topic)).toEqual(["products/update", "products/delete"]);
    for (let i = 0; i < 3; i++) await processCatalogInbox(hub.ctx);
    const after = await links();
    expect(after.SPARE).toMatchObject({ product_variant_gid: ids.Tee!.variants[0], matched_by: "sku" });
    expect(after["TEE-S"]).toBeUndefined();
    expect(after["TEE-M"]).toBeUndefined();
    expect(after["CAP-HUB"]).toBeUndefined();
    // Every other link is as it was.
    expect(after["EX-1"]).toEqual(before["EX-1"]);
    expect(after["EX-2"]).toEqual(before["EX-2"]);
    const kinds = await problems();
    expect(kinds).toEqual(
      expect.arrayContaining(["sku_changed_in_shopify:TEE-M-NEW", "deleted_in_shopify:CAP-HUB"]),
    );
    const link = await hub.ctx.database.db
      .selectFrom("product_links")
      .select("last_seen")
      .where("store_id", "=", storeId)
      .where("shopify_product_gid", "=", ids.Tee!.product)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(link.last_seen!)).toMatchObject({ title: "Tee (new)" });
    const activity = await call("GET", `/api/v1/stores/${domain}/activity?flow=catalog_import`);
    expect(activity.body.items.map((a: { kind: string }) => a.kind)).toEqual(
      expect.arrayContaining(["product_changed", "product_deleted"]),
    );
    await noStockWritten();
  });

  it("opening count: a preview writes nothing, applying writes count movements once", async () => {
    const preview = await call("POST", `/api/v1/stores/${domain}/opening-count?waitSeconds=30`, {
      apply: false,
    });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(preview.body.applied).toBe(false);
    expect(preview.body.rows).toEqual(
      expect.arrayContaining([{ sku: "SPARE", warehouse: "W", quantity: 4 }]),
    );
    await noStockWritten();
    const applied = await call("POST", `/api/v1/stores/${domain}/opening-count?waitSeconds=30`, {
      apply: true,
      countedAt: "2026-01-01T00:00:00Z",
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    const movements = await hub.ctx.database.db
      .selectFrom("movements")
      .select(["type", "external_id"])
      .execute();
    expect(movements.length).toBe(applied.body.movements);
    expect(new Set(movements.map((m) => m.type))).toEqual(new Set(["count"]));
    const twice = await call("POST", `/api/v1/stores/${domain}/opening-count?waitSeconds=30`, {
      apply: true,
    });
    expect(twice.status).toBe(409);
    expect((await hub.ctx.database.db.selectFrom("movements").select("id").execute()).length).toBe(
      movements.length,
    );
  });
});

describe.each(DIALECTS)("an import run interrupted on %s", (dialect) => {
  const domain = `resume-${dialect}.myshopify.com`;
  let hub: TestHub;
  let transport: AdminTransport;

  beforeAll(async () => {
    const app = emulator.control.createApp({ name: "Tillbridge", scopes: [...APP_SCOPES] });
    emulator.control.createShop({ domain, plan: "plus" });
    emulator.control.seedCatalog(domain, {
      variants: 1500,
      variantsPerProduct: 5,
      catalog: true,
      skuPrefix: "R-",
    });
    const token = emulator.control.mintToken({ shop: domain, clientId: app.clientId }).accessToken;
    hub = await startTestHub(dialect, { env: { SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}` } });
    const r = await hub.server.inject({
      method: "POST",
      url: "/api/v1/stores",
      headers: hub.auth,
      payload: { domain, accessToken: token },
    });
    expect(r.statusCode, r.body).toBe(201);
    transport = createAdminTransport({
      store: domain,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
  }, 120_000);
  afterAll(async () => hub?.close());

  it("resumes after a crash from the stored line offset, without doubling anything", async () => {
    const db = hub.ctx.database.db;
    const store = await db
      .selectFrom("stores")
      .select(["id", "domain"])
      .where("domain", "=", domain)
      .executeTakeFirstOrThrow();
    const control: JobControl = { jobId: 424242, progress: async () => {}, cancelled: async () => false };
    const params = { mode: "create_only", fields: [...IMPORT_FIELDS] };
    const crash = Object.assign(new Error("the process died"), { code: "LEASE_LOST" });
    let batches = 0;
    await expect(
      runCatalogImport(
        {
          ctx: hub.ctx,
          pollMs: 20,
          batchSize: 100,
          afterBatch: () => {
            batches++;
            if (batches === 2) throw crash;
          },
        },
        { id: Number(store.id), domain },
        transport,
        control,
        params,
      ),
    ).rejects.toThrow("the process died");
    const mid = await db.selectFrom("catalog_imports").selectAll().executeTakeFirstOrThrow();
    expect(mid.status).toBe("running");
    expect(Number(mid.products_read)).toBe(200);
    expect(Number(mid.line_offset)).toBeGreaterThan(0);
    const linesBefore = Number(mid.line_offset);

    const resumedReads: number[] = [];
    const summary = await runCatalogImport(
      {
        ctx: hub.ctx,
        pollMs: 20,
        batchSize: 100,
        afterBatch: (run) => void resumedReads.push(run.productsRead),
      },
      { id: Number(store.id), domain },
      transport,
      control,
      params,
    );
    // The resumed run started at product 201 (its first batch brought the count to 300).
    expect(resumedReads[0]).toBe(300);
    expect(summary).toMatchObject({ status: "done", productsRead: 300, variantsRead: 1500, created: 1500 });
    const done = await db.selectFrom("catalog_imports").selectAll().executeTakeFirstOrThrow();
    expect(Number(done.line_offset)).toBeGreaterThan(linesBefore);
    // Nothing doubled: 300 products, 1,500 variants, each linked once; no movement.
    expect((await db.selectFrom("products").select("id").execute()).length).toBe(300);
    expect((await db.selectFrom("variants").select("id").execute()).length).toBe(1500);
    expect((await db.selectFrom("variant_links").select("variant_id").execute()).length).toBe(1500);
    expect((await db.selectFrom("product_links").select("product_id").execute()).length).toBe(300);
    expect((await db.selectFrom("product_images").select("product_id").execute()).length).toBe(900);
    expect((await db.selectFrom("movements").select("id").execute()).length).toBe(0);
    // A bulk operation was started once: the resumed run found the first one's file again.
    expect(emulator.control.listBulkOperations(domain).length).toBe(1);
  });

  it("a run resumed after its result file expired reads the store again and still doubles nothing", async () => {
    const db = hub.ctx.database.db;
    const store = await db
      .selectFrom("stores")
      .select(["id"])
      .where("domain", "=", domain)
      .executeTakeFirstOrThrow();
    const control: JobControl = { jobId: 434343, progress: async () => {}, cancelled: async () => false };
    const params = { mode: "create_and_overwrite", fields: ["title", "images"] };
    const crash = Object.assign(new Error("the process died"), { code: "LEASE_LOST" });
    await expect(
      runCatalogImport(
        {
          ctx: hub.ctx,
          pollMs: 20,
          batchSize: 100,
          afterBatch: () => {
            throw crash;
          },
        },
        { id: Number(store.id), domain },
        transport,
        control,
        params,
      ),
    ).rejects.toThrow("the process died");
    // Shopify keeps a shop's latest results only (the emulator: 3): three more reads expire it.
    for (let i = 0; i < 3; i++) {
      const { url } = await startAndAwaitBulkQuery(transport, CATALOG_BULK_QUERY, {
        clock: systemClock,
        pollMs: 20,
        groupObjects: true,
      });
      expect(url).not.toBeNull();
    }
    const before = emulator.control.listBulkOperations(domain).length;
    const summary = await runCatalogImport(
      { ctx: hub.ctx, pollMs: 20, batchSize: 100 },
      { id: Number(store.id), domain },
      transport,
      control,
      params,
    );
    expect(summary).toMatchObject({ status: "done", variantsRead: 1500 });
    // One new bulk operation: the expired file was read again from the start.
    expect(emulator.control.listBulkOperations(domain).length).toBe(before + 1);
    expect((await db.selectFrom("products").select("id").execute()).length).toBe(300);
    expect((await db.selectFrom("variants").select("id").execute()).length).toBe(1500);
    expect((await db.selectFrom("variant_links").select("variant_id").execute()).length).toBe(1500);
    expect((await db.selectFrom("product_links").select("product_id").execute()).length).toBe(300);
    expect((await db.selectFrom("product_images").select("product_id").execute()).length).toBe(900);
  });

  it("a running import stops at the next batch when cancelled, marked cancelled with what it applied", async () => {
    const db = hub.ctx.database.db;
    const store = await db
      .selectFrom("stores")
      .select(["id"])
      .where("domain", "=", domain)
      .executeTakeFirstOrThrow();
    let asked = false;
    const control: JobControl = { jobId: 454545, progress: async () => {}, cancelled: async () => asked };
    await expect(
      runCatalogImport(
        {
          ctx: hub.ctx,
          pollMs: 20,
          batchSize: 100,
          afterBatch: () => {
            asked = true;
          },
        },
        { id: Number(store.id), domain },
        transport,
        control,
        { mode: "create_only", fields: ["title"] },
      ),
    ).rejects.toThrow(JobCancelled);
    const run = await db
      .selectFrom("catalog_imports")
      .selectAll()
      .where("job_id", "=", 454545)
      .executeTakeFirstOrThrow();
    expect(run.status).toBe("cancelled");
    expect(Number(run.products_read)).toBe(100);
    const logged = await db
      .selectFrom("activity_log")
      .select("kind")
      .where("store_id", "=", Number(store.id))
      .where("kind", "=", "import_cancelled")
      .execute();
    expect(logged).toHaveLength(1);
  });
});
