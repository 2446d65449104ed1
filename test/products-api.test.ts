/**
 * The back office's product API (issue 15, first slice) on both databases: every validation with
 * its code and path, all-or-nothing batches, idempotency, paging across a cursor boundary,
 * search by SKU, barcode and title prefix, archive, and PUT /variants still working beside it.
 */
import { CompiledQuery, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metafieldProblem } from "../src/catalog/products.ts";
import { prefixUpperBound, productsPageQuery } from "../src/catalog/products-store.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";

type Json = Record<string, unknown>;

const tee = (over: Json = {}): Json => ({
  key: "TEE",
  title: "Organic Tee",
  descriptionHtml: "<p>Soft.</p>",
  vendor: "Acme",
  productType: "Shirts",
  tags: ["summer", "cotton"],
  status: "active",
  category: "gid://shopify/TaxonomyCategory/aa-1-13-8",
  seo: { title: "Organic Tee", description: "A soft tee" },
  options: [
    { name: "Size", values: ["S", "M"] },
    { name: "Color", values: ["Red", "Blue"] },
  ],
  images: [
    { url: "https://cdn.example.com/tee-red.jpg", alt: "Red tee" },
    { url: "https://cdn.example.com/tee-blue.jpg", alt: null },
  ],
  metafields: [
    { namespace: "custom", key: "material", type: "single_line_text_field", value: "cotton" },
    { namespace: "custom", key: "care", type: "json", value: '{"wash":30}' },
  ],
  variants: [
    {
      sku: "TEE-S-RED",
      barcode: "4000000000011",
      options: ["S", "Red"],
      weight: { value: 180, unit: "GRAMS" },
      price: "19.9",
      compareAtPrice: "25.00",
      cost: "7.5",
    },
    { sku: "TEE-M-BLUE", barcode: "4000000000028", options: ["M", "Blue"], price: "19.90", taxable: false },
  ],
  ...over,
});

describe.each(DIALECTS)("products API on %s", (dialect) => {
  let hub: TestHub;
  const call = async (method: "GET" | "PUT" | "DELETE", url: string, payload?: unknown) => {
    const res = await hub.server.inject({ method, url, payload: payload as never, headers: hub.auth });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
  };
  const counts = async () => {
    const { rows } = await sql<Json>`select
      (select count(*) from products) as products,
      (select count(*) from product_options) as options,
      (select count(*) from product_images) as images,
      (select count(*) from product_metafields) as metafields,
      (select count(*) from variants) as variants,
      (select max(updated_at) from products) as touched`.execute(hub.ctx.database.db);
    return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]));
  };
  const refused = async (products: unknown[]) => {
    const before = await counts();
    const r = await call("PUT", "/api/v1/products", { products });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.code).toBe("INVALID_PRODUCTS");
    expect(await counts()).toEqual(before);
    return r.body.error.details as { index: number; path: string; code: string; message: string }[];
  };

  beforeAll(async () => {
    hub = await startTestHub(dialect);
  });
  afterAll(async () => hub?.close());

  it("stores a product with options, variants, images and metafields and reads it back", async () => {
    const r = await call("PUT", "/api/v1/products", { products: [tee()] });
    expect(r).toEqual({ status: 200, body: { created: 1, updated: 0, unchanged: 0 } });
    const got = await call("GET", "/api/v1/products/TEE");
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      key: "TEE",
      title: "Organic Tee",
      tags: ["summer", "cotton"],
      status: "active",
      category: "gid://shopify/TaxonomyCategory/aa-1-13-8",
      seo: { title: "Organic Tee", description: "A soft tee" },
      options: [
        { name: "Size", values: ["S", "M"] },
        { name: "Color", values: ["Red", "Blue"] },
      ],
      images: [
        { url: "https://cdn.example.com/tee-red.jpg", alt: "Red tee" },
        { url: "https://cdn.example.com/tee-blue.jpg", alt: null },
      ],
      metafields: [
        { namespace: "custom", key: "care", type: "json", value: '{"wash":30}' },
        { namespace: "custom", key: "material", type: "single_line_text_field", value: "cotton" },
      ],
      variants: [
        {
          sku: "TEE-S-RED",
          barcode: "4000000000011",
          options: ["S", "Red"],
          weight: { value: 180, unit: "GRAMS" },
          taxable: true,
          inventoryTracked: true,
          price: "19.90",
          compareAtPrice: "25.00",
          cost: "7.50",
        },
        {
          sku: "TEE-M-BLUE",
          options: ["M", "Blue"],
          taxable: false,
          price: "19.90",
          compareAtPrice: null,
          cost: null,
        },
      ],
    });
    // Money is integer minor units in the database.
    const row = await hub.ctx.database.db
      .selectFrom("variants")
      .select(["price_minor", "cost_minor"])
      .where("sku", "=", "TEE-S-RED")
      .executeTakeFirstOrThrow();
    expect([Number(row.price_minor), Number(row.cost_minor)]).toEqual([1990, 750]);
  });

  it("is idempotent: the same product sent twice changes nothing", async () => {
    const before = await counts();
    const again = await call("PUT", "/api/v1/products", { products: [tee()] });
    expect(again.body).toEqual({ created: 0, updated: 0, unchanged: 1 });
    expect(await counts()).toEqual(before);
    // "19.9" and "19.90" are one price; defaults spelled out are the same product.
    const spelled = tee();
    (spelled.variants as Json[])[1] = {
      ...(spelled.variants as Json[])[1],
      price: "19.9",
      inventoryTracked: true,
    };
    expect((await call("PUT", "/api/v1/products", { products: [spelled] })).body).toEqual({
      created: 0,
      updated: 0,
      unchanged: 1,
    });
  });

  it("updates a product in full; a variant dropped from it stays as a SKU-only variant", async () => {
    const changed = tee({
      title: "Organic Tee v2",
      options: [{ name: "Size", values: ["S", "M"] }],
      images: [],
      metafields: [],
      variants: [{ sku: "TEE-S-RED", options: ["S"], price: "21.00" }],
    });
    expect((await call("PUT", "/api/v1/products", { products: [changed] })).body).toEqual({
      created: 0,
      updated: 1,
      unchanged: 0,
    });
    const got = (await call("GET", "/api/v1/products/TEE")).body;
    expect(got.title).toBe("Organic Tee v2");
    expect(got.options).toEqual([{ name: "Size", values: ["S", "M"] }]);
    expect(got.images).toEqual([]);
    expect(got.metafields).toEqual([]);
    expect(got.variants.map((v: Json) => [v.sku, v.options, v.price])).toEqual([
      ["TEE-S-RED", ["S"], "21.00"],
    ]);
    const dropped = await hub.ctx.database.db
      .selectFrom("variants")
      .select(["product_id"])
      .where("sku", "=", "TEE-M-BLUE")
      .executeTakeFirstOrThrow();
    expect(dropped.product_id).toBeNull();
    // Back to the first version.
    expect((await call("PUT", "/api/v1/products", { products: [tee()] })).body.updated).toBe(1);
  });

  it("reports every bad item by index and path with its own code, and saves nothing", async () => {
    const longTitle = "x".repeat(256);
    const details = await refused([
      tee({ key: "OK-1", variants: [{ sku: "OK-1-S", options: ["S", "Red"] }] }),
      tee({
        key: "BAD-OPTIONS",
        options: [
          { name: "A", values: ["1"] },
          { name: "B", values: ["1"] },
          { name: "C", values: ["1"] },
          { name: "D", values: ["1"] },
        ],
        variants: [{ sku: "B-1", options: ["1", "1", "1"] }],
      }),
      tee({
        key: "BAD-FIT",
        variants: [
          { sku: "F-1", options: ["S"] },
          { sku: "F-2", options: ["XL", "Red"] },
          { sku: "F-3", options: ["M", "Red"] },
          { sku: "F-4", options: ["M", "Red"] },
          { sku: "F-3", options: ["S", "Blue"] },
          { sku: "TEE-S-RED", options: ["M", "Blue"] },
        ],
      }),
      tee({ key: "BAD-TITLE", title: longTitle, variants: [{ sku: "T-1", options: ["S", "Red"] }] }),
      tee({
        key: "BAD-CAT",
        category: "gid://shopify/Product/1",
        variants: [{ sku: "C-1", options: ["S", "Red"] }],
        metafields: [{ namespace: "custom", key: "flag", type: "boolean", value: "maybe" }],
      }),
      tee({
        key: "BAD-META",
        variants: [{ sku: "M-1", options: ["S", "Red"] }],
        metafields: [
          { namespace: "custom", key: "count", type: "number_integer", value: "1.5" },
          { namespace: "custom", key: "flag", type: "boolean", value: "yes" },
          { namespace: "custom", key: "when", type: "date", value: "2026-02-30" },
          { namespace: "custom", key: "hue", type: "color", value: "red" },
          { namespace: "custom", key: "blob", type: "json", value: "{nope" },
          { namespace: "custom", key: "link", type: "url", value: "javascript:alert(1)" },
          { namespace: "custom", key: "odd", type: "no_such_type", value: "x" },
        ],
      }),
      tee({
        key: "BAD-IMG",
        variants: [{ sku: "I-1", options: ["S", "Red"] }],
        images: [{ url: "ftp://example.com/a.jpg" }, { url: "javascript:alert(1)" }],
      }),
      tee({
        key: "BAD-PRICE",
        variants: [
          { sku: "P-1", options: ["S", "Red"], price: "-1.00" },
          { sku: "P-2", options: ["M", "Red"], price: "1.999" },
          { sku: "P-3", options: ["S", "Blue"], compareAtPrice: "abc", cost: "1e3" },
        ],
      }),
      tee({
        key: "BAD-MANY",
        options: [{ name: "N", values: Array.from({ length: 2049 }, (_, i) => `v${i}`) }],
        variants: Array.from({ length: 2049 }, (_, i) => ({ sku: `MANY-${i}`, options: [`v${i}`] })),
      }),
      tee({ key: "OK-1", variants: [{ sku: "OK-1-M", options: ["M", "Red"] }] }),
    ]);
    const got = details.map((d) => `${d.index} ${d.path} ${d.code}`);
    expect(got).toEqual(
      expect.arrayContaining([
        "1 products[1].options TOO_MANY_OPTIONS",
        "2 products[2].variants[0].options OPTION_VALUES_MISMATCH",
        "2 products[2].variants[1].options[0] OPTION_VALUES_MISMATCH",
        "2 products[2].variants[3].options DUPLICATE_OPTION_VALUES",
        "2 products[2].variants[4].sku DUPLICATE_SKU_IN_BATCH",
        "2 products[2].variants[5].sku SKU_IN_OTHER_PRODUCT",
        "3 products[3].title TITLE_TOO_LONG",
        "4 products[4].category INVALID_CATEGORY",
        "4 products[4].metafields[0].value INVALID_METAFIELD_VALUE",
        "5 products[5].metafields[0].value INVALID_METAFIELD_VALUE",
        "5 products[5].metafields[1].value INVALID_METAFIELD_VALUE",
        "5 products[5].metafields[2].value INVALID_METAFIELD_VALUE",
        "5 products[5].metafields[3].value INVALID_METAFIELD_VALUE",
        "5 products[5].metafields[4].value INVALID_METAFIELD_VALUE",
        "5 products[5].metafields[5].value INVALID_METAFIELD_VALUE",
        "5 products[5].metafields[6].type INVALID_METAFIELD_TYPE",
        "6 products[6].images[0].url INVALID_IMAGE_URL",
        "6 products[6].images[1].url INVALID_IMAGE_URL",
        "7 products[7].variants[0].price INVALID_PRICE",
        "7 products[7].variants[1].price INVALID_PRICE",
        "7 products[7].variants[2].compareAtPrice INVALID_PRICE",
        "7 products[7].variants[2].cost INVALID_PRICE",
        "8 products[8].variants TOO_MANY_VARIANTS",
        "9 products[9].key DUPLICATE_PRODUCT_KEY",
      ]),
    );
    // The good first item is not saved either, and no item is reported that is fine.
    expect(details.some((d) => d.index === 0)).toBe(false);
    expect((await call("GET", "/api/v1/products/OK-1")).status).toBe(404);
    expect(details.every((d) => typeof d.message === "string" && d.message.length > 0)).toBe(true);
  });

  it("refuses a SKU used twice across two products of one batch, and control characters in keys", async () => {
    const details = await refused([
      tee({ key: "A", variants: [{ sku: "SAME", options: ["S", "Red"] }] }),
      tee({ key: "B", variants: [{ sku: "SAME", options: ["S", "Red"] }] }),
      tee({ key: "C\u0000", variants: [{ sku: "C-1", options: ["S", "Red"] }] }),
      tee({ key: "D", title: "bell\u0007", variants: [{ sku: "D-1", options: ["S", "Red"] }] }),
      tee({ key: "E", unknown: 1, variants: [{ sku: "E-1", options: ["S", "Red"] }] }),
      { key: "F" },
      "not an object",
    ]);
    expect(details.map((d) => `${d.path} ${d.code}`)).toEqual(
      expect.arrayContaining([
        "products[1].variants[0].sku DUPLICATE_SKU_IN_BATCH",
        "products[2].key CONTROL_CHARACTER",
        "products[3].title CONTROL_CHARACTER",
        "products[4] UNKNOWN_FIELD",
        "products[5].title MISSING_FIELD",
        "products[5].variants MISSING_FIELD",
        "products[6] NOT_AN_OBJECT",
      ]),
    );
  });

  it("answers a body without products, and an oversized batch, in the envelope", async () => {
    const none = await call("PUT", "/api/v1/products", { nope: [] });
    expect(none.status).toBe(400);
    expect(none.body.error.details[0]).toMatchObject({ path: "products", code: "MISSING_FIELD" });
    const many = await call("PUT", "/api/v1/products", {
      products: Array.from({ length: 101 }, (_, i) => tee({ key: `K${i}`, variants: [] })),
    });
    expect(many.status).toBe(400);
    expect(many.body.error.details[0]).toMatchObject({ path: "products", code: "BATCH_SIZE" });
  });

  it("keys are NFC-normalised: é typed two ways is one product", async () => {
    const nfd = "CAF\u0045\u0301";
    const nfc = "CAF\u00c9";
    const one = (k: string) => ({ key: k, title: "Café mug", variants: [{ sku: `${k}-MUG` }] });
    expect((await call("PUT", "/api/v1/products", { products: [one(nfd)] })).body.created).toBe(1);
    expect((await call("PUT", "/api/v1/products", { products: [one(nfc)] })).body).toEqual({
      created: 0,
      updated: 0,
      unchanged: 1,
    });
    expect((await call("GET", `/api/v1/products/${encodeURIComponent(nfd)}`)).body.key).toBe(nfc);
    // A key may hold a slash or a space: it is URL-encoded in the path.
    expect((await call("PUT", "/api/v1/products", { products: [one("A/B C")] })).body.created).toBe(1);
    expect((await call("GET", `/api/v1/products/${encodeURIComponent("A/B C")}`)).body.key).toBe("A/B C");
    expect((await call("DELETE", `/api/v1/products/${encodeURIComponent("A/B C")}`)).body.changed).toBe(true);
  });

  it("pages across cursor boundaries and searches by SKU, barcode and title prefix", async () => {
    const products = Array.from({ length: 25 }, (_, i) => ({
      key: `PG-${String(i).padStart(2, "0")}`,
      title: i % 2 === 0 ? `Zebra Print ${i}` : `Ärmel Shirt ${i}`,
      variants: [{ sku: `PG-SKU-${i}`, barcode: `99${String(i).padStart(6, "0")}` }],
    }));
    expect((await call("PUT", "/api/v1/products", { products })).body.created).toBe(25);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await call(
        "GET",
        `/api/v1/products?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      expect(r.status).toBe(200);
      expect(r.body.items.length).toBeLessThanOrEqual(7);
      seen.push(...r.body.items.map((p: Json) => p.key));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    for (const p of products) expect(seen).toContain(p.key);
    expect(pages).toBe(Math.ceil(seen.length / 7)); // a full last page has no empty page after it

    const search = async (q: string, limit = 50) =>
      (await call("GET", `/api/v1/products?q=${encodeURIComponent(q)}&limit=${limit}`)).body;
    expect((await search("PG-SKU-3")).items.map((p: Json) => p.key)).toEqual(["PG-03"]);
    expect((await search("99000004")).items.map((p: Json) => p.key)).toEqual(["PG-04"]);
    expect((await search("4000000000028")).items.map((p: Json) => p.key)).toEqual(["TEE"]);
    expect((await search("PG-SKU")).items).toEqual([]); // SKU and barcode are exact
    const zebra = await search("zEbRa");
    expect(zebra.items).toHaveLength(13);
    expect(zebra.items[0]).toMatchObject({
      key: "PG-00",
      title: "Zebra Print 0",
      variantCount: 1,
      status: "active",
    });
    expect((await search("ärmel")).items).toHaveLength(12);
    expect((await search("ÄRMEL SHIRT 1")).items.map((p: Json) => p.key).sort()).toEqual([
      "PG-01",
      "PG-11",
      "PG-13",
      "PG-15",
      "PG-17",
      "PG-19",
    ]);
    // A search pages too.
    const first = await search("zebra", 10);
    expect(first.items).toHaveLength(10);
    const rest = (
      await call("GET", `/api/v1/products?q=zebra&limit=10&cursor=${encodeURIComponent(first.nextCursor)}`)
    ).body;
    expect(rest.items).toHaveLength(3);
    expect(rest.nextCursor).toBeNull();
    expect((await search("%")).items).toEqual([]);
    const bad = await call("GET", "/api/v1/products?cursor=garbage");
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].code).toBe("INVALID_CURSOR");
  });

  it("serves the title prefix, SKU and barcode search from indexes", async () => {
    const db = hub.ctx.database.db;
    const compiled = productsPageQuery(db, "Zebra", 0, 50).compile();
    let plan: string;
    if (dialect === "sqlite") {
      const r = await db.executeQuery<Json>(
        CompiledQuery.raw(`explain query plan ${compiled.sql}`, [...compiled.parameters]),
      );
      plan = r.rows.map((row) => String(row.detail)).join("\n");
    } else {
      // With sequential scans priced out, a predicate the index cannot serve still shows a Seq Scan.
      plan = await db.transaction().execute(async (trx) => {
        await sql`set local enable_seqscan = off`.execute(trx);
        const r = await trx.executeQuery<Json>(
          CompiledQuery.raw(`explain ${compiled.sql}`, [...compiled.parameters]),
        );
        return r.rows.map((row) => String(row["QUERY PLAN"])).join("\n");
      });
      expect(plan).not.toMatch(/Seq Scan/);
    }
    expect(plan).toMatch(/products_title_lower/);
    expect(plan).toMatch(/variants_sku|sqlite_autoindex_variants/);
    expect(plan).toMatch(/variants_barcode/);
  });

  it("archives on DELETE (nothing deleted); sending the product again restores it", async () => {
    const before = await counts();
    const r = await call("DELETE", "/api/v1/products/TEE");
    expect(r).toEqual({ status: 200, body: { key: "TEE", status: "archived", changed: true } });
    expect((await call("DELETE", "/api/v1/products/TEE")).body.changed).toBe(false);
    expect((await call("GET", "/api/v1/products/TEE")).body.status).toBe("archived");
    const after = await counts();
    expect({ ...after, touched: 0 }).toEqual({ ...before, touched: 0 });
    expect((await call("PUT", "/api/v1/products", { products: [tee()] })).body.updated).toBe(1);
    expect((await call("GET", "/api/v1/products/TEE")).body.status).toBe("active");
    const missing = await call("DELETE", "/api/v1/products/NOPE");
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("NOT_FOUND");
  });

  it("keeps PUT /variants working, and a SKU-only variant can be adopted by a product", async () => {
    const v = await call("PUT", "/api/v1/variants", {
      variants: [{ sku: "LOOSE-1", barcode: "123", title: "Loose", options: ["S"] }, { sku: "TEE-S-RED" }],
    });
    expect(v).toEqual({ status: 200, body: { created: 1, updated: 1 } });
    // The product's variant changed behind its back: the next PUT of the product applies again.
    expect((await call("PUT", "/api/v1/products", { products: [tee()] })).body.updated).toBe(1);
    expect((await call("GET", "/api/v1/products/TEE")).body.variants[0].options).toEqual(["S", "Red"]);
    const adopt = await call("PUT", "/api/v1/products", {
      products: [{ key: "LOOSE", title: "Loose", variants: [{ sku: "LOOSE-1", barcode: "123" }] }],
    });
    expect(adopt.body.created).toBe(1);
    expect((await call("GET", "/api/v1/products/LOOSE")).body.variants).toMatchObject([
      { sku: "LOOSE-1", barcode: "123", options: [] },
    ]);
  });

  it("two requests giving one new SKU to two products at once: one wins, the other saves nothing", async () => {
    for (let round = 0; round < 5; round++) {
      const sku = `RACE-${round}`;
      const one = (k: string) => ({ key: k, title: k, variants: [{ sku }] });
      const [a, b] = await Promise.all([
        call("PUT", "/api/v1/products", { products: [one(`RACE-A-${round}`)] }),
        call("PUT", "/api/v1/products", { products: [one(`RACE-B-${round}`)] }),
      ]);
      const answers = [a, b].map((r) => (r.status === 200 ? "ok" : r.body.error.details[0]?.code));
      expect(
        answers.filter((x) => x === "ok"),
        JSON.stringify([a, b]),
      ).toHaveLength(1);
      expect(answers.filter((x) => x === "SKU_IN_OTHER_PRODUCT" || x === "CONCURRENT_CHANGE")).toHaveLength(
        1,
      );
      const winner = a.status === 200 ? `RACE-A-${round}` : `RACE-B-${round}`;
      const loser = a.status === 200 ? `RACE-B-${round}` : `RACE-A-${round}`;
      expect((await call("GET", `/api/v1/products/${winner}`)).body.variants.map((v: Json) => v.sku)).toEqual(
        [sku],
      );
      expect((await call("GET", `/api/v1/products/${loser}`)).status).toBe(404);
    }
  });

  it("documents the products endpoints in the OpenAPI document", async () => {
    const doc = (await hub.server.inject({ method: "GET", url: "/api/v1/openapi.json" })).json();
    const put = doc.paths["/api/v1/products"].put;
    const product = put.requestBody.content["application/json"].schema.properties.products.items;
    expect(Object.keys(product.properties)).toEqual(
      expect.arrayContaining([
        "key",
        "title",
        "options",
        "variants",
        "images",
        "metafields",
        "category",
        "seo",
      ]),
    );
    expect(product.properties.title.maxLength).toBe(255);
    expect(product.properties.options.maxItems).toBe(3);
    expect(product.properties.variants.maxItems).toBe(2048);
    expect(Object.keys(product.properties.variants.items.properties)).toEqual(
      expect.arrayContaining(["sku", "barcode", "options", "weight", "price", "compareAtPrice", "cost"]),
    );
    expect(doc.paths["/api/v1/products"].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(["q", "cursor", "limit"]),
    );
    expect(Object.keys(doc.paths["/api/v1/products/{key}"])).toEqual(
      expect.arrayContaining(["get", "delete"]),
    );
  });

  it("needs stock.write to change and stock.read to read", async () => {
    const { createApiKey } = await import("../src/auth/api-keys.ts");
    const { key } = await createApiKey(hub.ctx.database, "reader", Date.now(), ["read"]);
    const headers = { authorization: `Bearer ${key}` };
    const get = await hub.server.inject({ method: "GET", url: "/api/v1/products", headers });
    expect(get.statusCode).toBe(200);
    const put = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/products",
      headers,
      payload: { products: [tee()] },
    });
    expect(put.statusCode).toBe(403);
    const del = await hub.server.inject({ method: "DELETE", url: "/api/v1/products/TEE", headers });
    expect(del.statusCode).toBe(403);
  });
});

describe("metafield types and prefix bounds", () => {
  it("accepts Shopify's common types and refuses values that do not fit", () => {
    const ok: [string, string][] = [
      ["single_line_text_field", "hello"],
      ["multi_line_text_field", "a\nb"],
      ["number_integer", "-42"],
      ["number_decimal", "4.25"],
      ["boolean", "false"],
      ["json", '{"a":[1]}'],
      ["url", "https://example.com/x"],
      ["date", "2024-02-29"],
      ["date_time", "2026-11-28T09:30:00Z"],
      ["color", "#A0b1C2"],
      ["weight", '{"value":2.5,"unit":"kg"}'],
      ["money", '{"amount":"5.99","currency_code":"EUR"}'],
      ["product_reference", "gid://shopify/Product/1"],
      ["list.single_line_text_field", '["a","b"]'],
      ["list.number_integer", '["1","2"]'],
    ];
    for (const [type, value] of ok) expect(metafieldProblem(type, value), `${type} ${value}`).toBeUndefined();
    const bad: [string, string, string][] = [
      ["single_line_text_field", "a\nb", "INVALID_METAFIELD_VALUE"],
      ["number_integer", "12345678901234567890", "INVALID_METAFIELD_VALUE"],
      ["number_decimal", "1,5", "INVALID_METAFIELD_VALUE"],
      ["date", "2023-02-29", "INVALID_METAFIELD_VALUE"],
      ["color", "#abc", "INVALID_METAFIELD_VALUE"],
      ["money", '{"amount":5}', "INVALID_METAFIELD_VALUE"],
      ["product_reference", "gid://shopify/Collection/1", "INVALID_METAFIELD_VALUE"],
      ["list.number_integer", '["1","x"]', "INVALID_METAFIELD_VALUE"],
      ["list.single_line_text_field", '"a"', "INVALID_METAFIELD_VALUE"],
      ["list.nope", "[]", "INVALID_METAFIELD_TYPE"],
      ["rich_text_field_typo", "x", "INVALID_METAFIELD_TYPE"],
    ];
    for (const [type, value, code] of bad)
      expect(metafieldProblem(type, value)?.code, `${type} ${value}`).toBe(code);
  });

  it("bounds a prefix by code point", () => {
    expect(prefixUpperBound("abc")).toBe("abd");
    expect(prefixUpperBound("a\u{10ffff}")).toBe("b");
    expect(prefixUpperBound("\ud7ff")).toBe("\ue000");
    expect(prefixUpperBound("")).toBeUndefined();
  });
});
