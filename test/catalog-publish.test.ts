/**
 * The catalog publish end to end, on both databases, against the emulator: first publish, a
 * changed price (a cheap update, not the whole product), a changed option, a merchant's variant
 * and a protected description surviving, a 300-character title under both rules, a crash in the
 * middle of a publish and a duplicated publish (never a second product).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { VARIANT_CREATION_LIMIT } from "../emulator/resolvers/publish.ts";
import { runPublishDryRun } from "../src/catalog/publish/dry-run.ts";
import { publishDb } from "../src/catalog/publish/publish-store.ts";
import { runPublishCycle } from "../src/catalog/publish/reconciler.ts";
import { readCurrentProduct, readPublications } from "../src/catalog/publish/shopify-publish.ts";
import { systemClock } from "../src/core/clock.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import type { AdminTransport } from "../src/shopify/transport.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { connectDirectly, type EmulatedStore, emulatedStore } from "./support/shopify.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator?.close());

const tee = (over: Record<string, unknown> = {}) => ({
  key: "tee",
  title: "Organic tee",
  descriptionHtml: "<p>Soft.</p>",
  vendor: "Acme",
  tags: ["summer"],
  options: [{ name: "Size", values: ["S", "M"] }],
  images: [{ url: "https://cdn.example.com/tee.jpg", alt: "Tee" }],
  metafields: [{ namespace: "specs", key: "fabric", type: "single_line_text_field", value: "cotton" }],
  variants: [
    { sku: "TEE-S", options: ["S"], price: "19.90", cost: "7.00" },
    { sku: "TEE-M", options: ["M"], price: "19.90", cost: "7.00" },
  ],
  ...over,
});

describe.each(DIALECTS)("catalog publish on %s", (dialect) => {
  let hub: TestHub;
  let store: EmulatedStore;
  let storeId: number;
  let transport: AdminTransport;

  const deps = () => ({
    db: hub.ctx.database.db,
    now: () => Date.now(),
    logger: hub.ctx.logger,
    windowMs: 0,
  });
  const put = async (products: unknown[]) => {
    const res = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/products",
      headers: hub.auth,
      payload: { products },
    });
    expect(res.statusCode, res.body).toBe(200);
  };
  const rules = async (body: Record<string, unknown>) => {
    const res = await hub.server.inject({
      method: "PUT",
      url: `/api/v1/stores/${store.domain}/catalog-publish/settings`,
      headers: hub.auth,
      payload: body,
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const converge = async (t: AdminTransport = transport) => {
    for (let i = 0; i < 20; i++) {
      const r = await runPublishCycle(deps(), { id: storeId, domain: store.domain }, t);
      if (r.refreshed === 0 && r.published === 0 && r.priced === 0 && !r.remaining) return;
    }
    throw new Error("publish did not converge");
  };
  const calls = () => emulator.control.apiCalls(store.domain).map((c) => JSON.stringify(c));
  const mutationsSince = (before: number) =>
    calls()
      .slice(before)
      .flatMap((c) => (/productSet|productVariantsBulkUpdate/.exec(c) ?? []).map((m) => m));
  const shopify = (key: string) => readCurrentProduct(transport, { key });
  const state = (key: string) =>
    publishDb(hub.ctx.database.db)
      .selectFrom("catalog_publish_state as s")
      .innerJoin("products as p", "p.id", "s.product_id")
      .select(["s.status", "s.error"])
      .where("s.store_id", "=", storeId)
      .where("p.key", "=", key)
      .executeTakeFirstOrThrow();
  const productsTitled = (prefix: string) =>
    emulator.control.listProducts(store.domain).filter((p) => p.title.startsWith(prefix)).length;

  beforeAll(async () => {
    hub = await startTestHub(dialect);
    store = await emulatedStore({ emulator, domain: `publish-${dialect}.myshopify.com`, skus: [] });
    storeId = await connectDirectly(hub.ctx.database.db, store, [[]], { enabledFlows: [] });
    transport = createAdminTransport({
      store: store.domain,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
  });
  afterAll(async () => hub?.close());

  it("publishes a new product whole, once; an unchanged product is never sent again", async () => {
    await put([tee(), { key: "mug", title: "Mug", variants: [{ sku: "MUG", price: "8.00" }] }]);
    await converge();
    const p = (await shopify("tee"))!;
    expect(p.title).toBe("Organic tee");
    expect(p.status).toBe("DRAFT"); // the store's status for new products
    expect(p.variants.map((v) => [v.sku, v.price, v.cost])).toEqual([
      ["TEE-S", "19.90", "7.00"],
      ["TEE-M", "19.90", "7.00"],
    ]);
    expect(p.metafields.map((m) => `${m.namespace}.${m.key}=${m.value}`).sort()).toEqual([
      "specs.fabric=cotton",
      "tillbridge.product_key=tee",
    ]);
    expect(p.media).toHaveLength(1);
    expect((await shopify("mug"))!.variants.map((v) => v.sku)).toEqual(["MUG"]);
    expect((await state("tee")).status).toBe("done");

    const before = calls().length;
    await put([tee()]); // same content: nothing to send
    await converge();
    expect(mutationsSince(before)).toEqual([]);
  });

  it("links the published variants so their stock is the inventory push's job", async () => {
    const links = await hub.ctx.database.db
      .selectFrom("variant_links as l")
      .innerJoin("variants as v", "v.id", "l.variant_id")
      .select(["v.sku", "l.inventory_item_gid"])
      .where("l.store_id", "=", storeId)
      .orderBy("v.sku")
      .execute();
    const p = (await shopify("tee"))!;
    expect(links.filter((l) => l.sku.startsWith("TEE")).map((l) => [l.sku, l.inventory_item_gid])).toEqual(
      p.variants.map((v) => [v.sku, v.inventoryItemId]).sort(),
    );
    const dirty = await hub.ctx.database.db
      .selectFrom("push_dirty")
      .select("variant_id")
      .where("store_id", "=", storeId)
      .execute();
    expect(dirty.length).toBeGreaterThanOrEqual(3);
  });

  it("a changed price is a price-only update (productVariantsBulkUpdate), not a whole product", async () => {
    const before = calls().length;
    await put([
      tee({
        variants: [
          { sku: "TEE-S", options: ["S"], price: "17.50", compareAtPrice: "19.90", cost: "6.50" },
          { sku: "TEE-M", options: ["M"], price: "19.90", cost: "7.00" },
        ],
      }),
    ]);
    await converge();
    expect(mutationsSince(before)).toEqual(["productVariantsBulkUpdate"]);
    const p = (await shopify("tee"))!;
    expect(p.variants.map((v) => [v.sku, v.price, v.compareAtPrice, v.cost])).toEqual([
      ["TEE-S", "17.50", "19.90", "6.50"],
      ["TEE-M", "19.90", null, "7.00"],
    ]);
  });

  it("a changed option republishes the product with the new variant", async () => {
    const mediaBefore = (await shopify("tee"))!.media.map((m) => m.id);
    await put([
      tee({
        options: [{ name: "Size", values: ["S", "M", "L"] }],
        variants: [
          { sku: "TEE-S", options: ["S"], price: "17.50", compareAtPrice: "19.90", cost: "6.50" },
          { sku: "TEE-M", options: ["M"], price: "19.90", cost: "7.00" },
          { sku: "TEE-L", options: ["L"], price: "21.00" },
        ],
      }),
    ]);
    await converge();
    const p = (await shopify("tee"))!;
    expect(p.variants.map((v) => [v.sku, v.selectedOptions[0]!.value])).toEqual([
      ["TEE-S", "S"],
      ["TEE-M", "M"],
      ["TEE-L", "L"],
    ]);
    expect(productsTitled("Organic tee")).toBe(1);
    // Images the hub did not change are not uploaded again.
    expect(p.media.map((m) => m.id)).toEqual(mediaBefore);
  });

  it("a variant the merchant added in Shopify survives a publish; a protected description stays the merchant's", async () => {
    await rules({ fields: { descriptionHtml: "create_only" } });
    const p = (await shopify("tee"))!;
    emulator.control.productSet(store.domain, {
      identifier: { id: p.id },
      input: {
        descriptionHtml: "<p>Written by the merchant.</p>",
        variants: [
          ...p.variants.map((v) => ({
            id: v.id,
            optionValues: v.selectedOptions.map((o) => ({ optionName: o.name, name: o.value })),
          })),
          { sku: "MERCHANT-XL", price: "25.00", optionValues: [{ optionName: "Size", name: "XL" }] },
        ],
      },
    });
    await put([
      tee({
        title: "Organic tee, new",
        descriptionHtml: "<p>The back office's text.</p>",
        options: [{ name: "Size", values: ["S", "M", "L"] }],
        variants: [
          { sku: "TEE-S", options: ["S"], price: "17.50", compareAtPrice: "19.90", cost: "6.50" },
          { sku: "TEE-M", options: ["M"], price: "19.90", cost: "7.00" },
          { sku: "TEE-L", options: ["L"], price: "21.00" },
        ],
      }),
    ]);
    await converge();
    const after = (await shopify("tee"))!;
    expect(after.title).toBe("Organic tee, new");
    expect(after.descriptionHtml).toBe("<p>Written by the merchant.</p>");
    expect(after.variants.map((v) => v.sku)).toEqual(["TEE-S", "TEE-M", "TEE-L", "MERCHANT-XL"]);
    await rules({});
  });

  it("a 300-character title: refused under 'fail' (the other products go on), cut to 255 under 'truncate'", async () => {
    await rules({ titleTemplate: "{title} {vendor}", titleTooLong: "fail" });
    await put([
      {
        key: "long",
        title: "L".repeat(250),
        vendor: "V".repeat(49),
        variants: [{ sku: "LONG-1", price: "1.00" }],
      },
      { key: "short", title: "Short", vendor: "Acme", variants: [{ sku: "SHORT-1", price: "1.00" }] },
    ]);
    await converge();
    const refused = await state("long");
    expect(refused.status).toBe("refused");
    expect(JSON.parse(refused.error!)).toMatchObject({ key: "long", code: "TITLE_TOO_LONG", field: "title" });
    expect(await shopify("long")).toBeNull();
    expect((await shopify("short"))!.title).toBe("Short Acme");

    await rules({ titleTemplate: "{title} {vendor}", titleTooLong: "truncate" });
    await converge();
    const cut = (await shopify("long"))!;
    // Cut at 255, back to the last word boundary when one is near (here the space before the vendor).
    expect(cut.title).toBe("L".repeat(250));
    expect((await state("long")).status).toBe("done");
    await rules({});
    await converge();
  });

  it("Shopify's userErrors are kept per product with its key and field; the other products go on", async () => {
    // The hub product is linked (by an import) to one Shopify product while another already holds its key.
    const a = emulator.control.productSet(store.domain, { input: { title: "Linked A" } }) as {
      admin_graphql_api_id: string;
    };
    emulator.control.productSet(store.domain, {
      input: {
        title: "Holder B",
        metafields: [
          { namespace: "tillbridge", key: "product_key", type: "single_line_text_field", value: "clash" },
        ],
      },
    });
    await put([
      { key: "clash", title: "Clash", variants: [{ sku: "CLASH-1", price: "2.00" }] },
      { key: "fine", title: "Fine", variants: [{ sku: "FINE-1", price: "2.00" }] },
    ]);
    const clash = await hub.ctx.database.db
      .selectFrom("products")
      .select("id")
      .where("key", "=", "clash")
      .executeTakeFirstOrThrow();
    await hub.ctx.database.db
      .insertInto("product_links")
      .values({
        store_id: storeId,
        product_id: Number(clash.id),
        shopify_product_gid: a.admin_graphql_api_id,
        linked_at: Date.now(),
      })
      .execute();
    await converge();
    const refused = await state("clash");
    expect(refused.status).toBe("refused");
    expect(JSON.parse(refused.error!)).toMatchObject({
      key: "clash",
      code: "SHOPIFY_USER_ERRORS",
      field: "input.metafields.0.value",
      userErrors: [{ code: "DUPLICATED_METAFIELD_VALUE" }],
    });
    expect((await state("fine")).status).toBe("done");
  });

  it("an archived hub product is archived in Shopify, never deleted", async () => {
    const res = await hub.server.inject({ method: "DELETE", url: "/api/v1/products/mug", headers: hub.auth });
    expect(res.statusCode, res.body).toBe(200);
    await converge();
    expect((await shopify("mug"))!.status).toBe("ARCHIVED");
  });

  it("publishes to the store's sales channels by the rule (Point of Sale: sellable at the till); an unknown one refuses", async () => {
    await rules({ salesChannels: ["Online Store", "Point of Sale"] });
    await converge();
    const pubs = await readPublications(transport);
    const tee = (await shopify("tee"))!;
    for (const title of ["Online Store", "Point of Sale"]) {
      const r = await transport.graphql<{ product: { publishedOnPublication: boolean } }>(
        "query($id: ID!, $p: ID!) { product(id: $id) { publishedOnPublication(publicationId: $p) } }",
        { id: tee.id, p: pubs.get(title) },
      );
      expect({ title, published: r.data.product.publishedOnPublication }).toEqual({ title, published: true });
    }
    await rules({ salesChannels: ["Wholesale"] });
    await converge();
    expect(JSON.parse((await state("tee")).error!)).toMatchObject({
      code: "UNKNOWN_SALES_CHANNEL",
      field: "salesChannels",
    });
    await rules({});
    await converge();
    expect((await state("tee")).status).toBe("done");
  });

  it("maps the back office's product type to a taxonomy category and writes attributes under the store's namespace", async () => {
    await rules({
      categoryByProductType: { Shirts: "gid://shopify/TaxonomyCategory/aa-1-13" },
      metafieldNamespace: "attributes",
    });
    await put([tee({ productType: "Shirts", category: "gid://shopify/TaxonomyCategory/aa-1" })]);
    await converge();
    const p = (await shopify("tee"))!;
    expect(p.category).toBe("gid://shopify/TaxonomyCategory/aa-1-13");
    expect(p.metafields.map((m) => `${m.namespace}.${m.key}`).sort()).toEqual([
      "attributes.fabric",
      "tillbridge.product_key",
    ]);
    await rules({});
    await converge();
  });

  it("a category Shopify's taxonomy does not hold refuses that product with Shopify's error (key, field); the others go on", async () => {
    const unknown = "gid://shopify/TaxonomyCategory/aa-1-13-999";
    await put([
      { key: "odd-cat", title: "Odd", category: unknown, variants: [{ sku: "ODD-1", price: "3.00" }] },
      {
        key: "good-cat",
        title: "Good",
        category: "gid://shopify/TaxonomyCategory/aa-1-13-8",
        variants: [{ sku: "GOOD-1", price: "3.00" }],
      },
    ]);
    // The dry run says so before anything is sent (asked once per category).
    const control = { jobId: 99_016, progress: async () => {}, cancelled: async () => false };
    await runPublishDryRun(hub.ctx, { id: storeId, domain: store.domain }, transport, control, {});
    const dry = await publishDb(hub.ctx.database.db)
      .selectFrom("catalog_publish_dry_runs")
      .select(["product_key", "outcome", "detail"])
      .where("job_id", "=", 99_016)
      .where("product_key", "in", ["odd-cat", "good-cat"])
      .orderBy("product_key")
      .execute();
    expect(dry.map((r) => [r.product_key, r.outcome, JSON.parse(r.detail).code ?? null])).toEqual([
      ["good-cat", "create", null],
      ["odd-cat", "refused", "UNKNOWN_CATEGORY"],
    ]);
    await converge();
    const refused = await state("odd-cat");
    expect(refused.status).toBe("refused");
    expect(JSON.parse(refused.error!)).toMatchObject({
      key: "odd-cat",
      code: "SHOPIFY_USER_ERRORS",
      field: "input.category",
      userErrors: [{ code: "INVALID_INPUT", field: ["input", "category"] }],
    });
    expect(JSON.parse(refused.error!).message).toContain(unknown);
    expect((await state("good-cat")).status).toBe("done");
    expect((await shopify("odd-cat")) ?? null).toBeNull();
    // The operator fixes the category in the back office: the product publishes.
    await put([
      {
        key: "odd-cat",
        title: "Odd",
        category: "gid://shopify/TaxonomyCategory/aa-1-13",
        variants: [{ sku: "ODD-1", price: "3.00" }],
      },
    ]);
    await converge();
    expect((await state("odd-cat")).status).toBe("done");
  });

  it("Shopify's daily allowance of new variants in a large store: the product waits for the next day, reported, no loop", async () => {
    // Lowered for the test: this store counts as large and may create 2 new variants a day.
    const saved = { ...VARIANT_CREATION_LIMIT };
    Object.assign(VARIANT_CREATION_LIMIT, { storeVariants: 3, perDay: 2 });
    try {
      await put([
        {
          key: "bulky",
          title: "Bulky",
          options: [{ name: "Size", values: ["S", "M", "L"] }],
          variants: ["S", "M", "L"].map((s) => ({ sku: `BULKY-${s}`, options: [s], price: "5.00" })),
        },
      ]);
      const before = calls().length;
      await converge();
      await converge(); // a second pass the same day sends nothing
      expect(mutationsSince(before)).toEqual(["productSet"]);
      const waiting = await publishDb(hub.ctx.database.db)
        .selectFrom("catalog_publish_state as s")
        .innerJoin("products as p", "p.id", "s.product_id")
        .select(["s.status", "s.error", "s.next_attempt_at"])
        .where("s.store_id", "=", storeId)
        .where("p.key", "=", "bulky")
        .executeTakeFirstOrThrow();
      expect(waiting.status).toBe("pending");
      expect(JSON.parse(waiting.error!)).toMatchObject({ key: "bulky", code: "DAILY_VARIANT_LIMIT" });
      expect(Number(waiting.next_attempt_at) % 86_400_000).toBe(0);
      expect(Number(waiting.next_attempt_at)).toBeGreaterThan(Date.now());
      const log = await hub.ctx.database.db
        .selectFrom("activity_log")
        .select("message")
        .where("store_id", "=", storeId)
        .where("kind", "=", "daily_variant_limit")
        .execute();
      expect(log.length).toBe(1);
    } finally {
      Object.assign(VARIANT_CREATION_LIMIT, saved);
    }
    // The next day.
    await publishDb(hub.ctx.database.db)
      .updateTable("catalog_publish_state")
      .set({ next_attempt_at: 0 })
      .where("store_id", "=", storeId)
      .where("status", "=", "pending")
      .execute();
    await converge();
    expect((await shopify("bulky"))!.variants.map((v) => v.sku)).toEqual(["BULKY-S", "BULKY-M", "BULKY-L"]);
  });

  it("a crash after Shopify applied productSet but before the hub recorded it: the retry updates the same product", async () => {
    // The answer is lost on the way back, as in a crash between Shopify's write and the hub's.
    const crashing: AdminTransport = {
      ...transport,
      graphql: async (doc, vars, opts) => {
        const r = await transport.graphql(doc, vars, opts);
        if (doc.includes("productSet(")) throw new Error("the hub died here");
        return r as never;
      },
    };
    await put([{ key: "crash", title: "Crash test", variants: [{ sku: "CRASH-1", price: "3.00" }] }]);
    await runPublishCycle(deps(), { id: storeId, domain: store.domain }, crashing).catch(() => {});
    expect(productsTitled("Crash test")).toBe(1);
    expect((await state("crash")).status).toBe("pending");
    // Retried after its backoff.
    await publishDb(hub.ctx.database.db)
      .updateTable("catalog_publish_state")
      .set({ next_attempt_at: 0 })
      .where("store_id", "=", storeId)
      .execute();
    await converge();
    expect(productsTitled("Crash test")).toBe(1);
    expect((await state("crash")).status).toBe("done");
  });

  it("a duplicated publish (two runs at once) creates one product", async () => {
    await put([{ key: "dup", title: "Duplicate test", variants: [{ sku: "DUP-1", price: "3.00" }] }]);
    const store1 = { id: storeId, domain: store.domain };
    await Promise.all([
      runPublishCycle(deps(), store1, transport),
      runPublishCycle(deps(), store1, transport),
    ]);
    await converge();
    expect(productsTitled("Duplicate test")).toBe(1);
    expect((await shopify("dup"))!.variants.map((v) => v.sku)).toEqual(["DUP-1"]);
  });
});
