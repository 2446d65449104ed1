/**
 * The emulator's catalog: products with options, variants, images, metafields, SEO, category and
 * collections through productSet and the control API; the import's bulk query over them in
 * Shopify's grouped JSONL shape; products/create|update|delete webhooks; `--catalog` seeding.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { gql, SHOP, seedShop } from "../emulator/test-helpers.ts";
import {
  CATALOG_BULK_QUERY,
  ProductAssembler,
  type ShopifyCatalogProduct,
} from "../src/catalog/shopify-catalog.ts";

const RUN = `mutation Run($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: true) { bulkOperation { id } userErrors { message } }
}`;
const STATUS = `query S($id: ID!) { bulkOperation(id: $id) { status url objectCount } }`;

async function bulkProducts(
  emu: Emulator,
  token: string,
): Promise<{ lines: string[]; products: ShopifyCatalogProduct[] }> {
  const run = await gql(emu, token, RUN, { query: CATALOG_BULK_QUERY });
  expect(run.body.data.bulkOperationRunQuery.userErrors).toEqual([]);
  const id = run.body.data.bulkOperationRunQuery.bulkOperation.id;
  for (;;) {
    const s = await gql(emu, token, STATUS, { id });
    const op = s.body.data.bulkOperation;
    if (op.status === "COMPLETED") {
      const text = op.url ? await (await fetch(op.url)).text() : "";
      const lines = text.split("\n").filter((l) => l.length > 0);
      const a = new ProductAssembler();
      const products: ShopifyCatalogProduct[] = [];
      for (const l of lines) {
        const done = a.push(JSON.parse(l));
        if (done) products.push(done);
      }
      const last = a.finish();
      if (last) products.push(last);
      return { lines, products };
    }
    expect(["CREATED", "RUNNING"]).toContain(op.status);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the emulator's catalog", () => {
  let emu: Emulator;
  let token: string;
  let locationId: string;
  beforeAll(async () => {
    emu = await startEmulator();
    const seeded = seedShop(emu);
    token = seeded.token;
    locationId = seeded.locationId;
  });
  afterAll(async () => emu?.close());

  it("productSet creates a product with options, variants, images, metafields, SEO and category; the bulk query reads it back grouped", async () => {
    const set = await gql(
      emu,
      token,
      `mutation P($input: ProductSetInput!) { productSet(input: $input, synchronous: true) {
        product { id handle variants(first: 10) { nodes { id sku inventoryItem { measurement { weight { value unit } } unitCost { amount } } } } }
        userErrors { field message code } } }`,
      {
        input: {
          title: "Linen shirt",
          descriptionHtml: "<p>Soft</p>",
          vendor: "Acme",
          productType: "Shirts",
          tags: ["linen"],
          category: "gid://shopify/TaxonomyCategory/aa-1-13",
          seo: { title: "Linen shirt | Acme", description: "A shirt" },
          files: [{ originalSource: "https://cdn.example.com/a.jpg", alt: "front", contentType: "IMAGE" }],
          metafields: [{ namespace: "custom", key: "care", type: "single_line_text_field", value: "30C" }],
          productOptions: [{ name: "Size", values: [{ name: "S" }, { name: "M" }] }],
          variants: [
            {
              optionValues: [{ optionName: "Size", name: "S" }],
              sku: "LIN-S",
              barcode: "501",
              price: "40.00",
              compareAtPrice: "50.00",
              inventoryItem: { cost: "12.50", measurement: { weight: { value: 250, unit: "GRAMS" } } },
              inventoryQuantities: [{ locationId, name: "available", quantity: 3 }],
            },
            { optionValues: [{ optionName: "Size", name: "M" }], sku: "LIN-M", price: "40.00" },
          ],
        },
      },
    );
    expect(set.body.errors).toBeUndefined();
    expect(set.body.data.productSet.userErrors).toEqual([]);
    const created = set.body.data.productSet.product;
    expect(created.variants.nodes[0].inventoryItem).toEqual({
      measurement: { weight: { value: 250, unit: "GRAMS" } },
      unitCost: { amount: "12.50" },
    });

    const { lines, products } = await bulkProducts(emu, token);
    // One object per line; children carry their product's id and follow it.
    for (const l of lines) expect(l).not.toContain("\n");
    const p = products.find((x) => x.id === created.id)!;
    expect(p).toMatchObject({
      title: "Linen shirt",
      vendor: "Acme",
      productType: "Shirts",
      category: { id: "gid://shopify/TaxonomyCategory/aa-1-13" },
      seo: { title: "Linen shirt | Acme", description: "A shirt" },
      options: [{ name: "Size", values: ["S", "M"] }],
      images: [{ url: "https://cdn.example.com/a.jpg", alt: "front" }],
      metafields: [{ namespace: "custom", key: "care", type: "single_line_text_field", value: "30C" }],
    });
    expect(p.variants.map((v) => [v.sku, v.barcode, v.price, v.compareAtPrice])).toEqual([
      ["LIN-S", "501", "40.00", "50.00"],
      ["LIN-M", null, "40.00", null],
    ]);
    const childLines = lines.map((l) => JSON.parse(l)).filter((o) => o.__parentId === created.id);
    expect(childLines.length).toBe(4); // 1 image, 1 metafield, 2 variants
  });

  it("fires products/create, products/update and products/delete with the REST body", async () => {
    await gql(
      emu,
      token,
      `mutation W($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
        webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) { userErrors { message } } }`,
      { topic: "PRODUCTS_CREATE", sub: { uri: "http://127.0.0.1:9/hooks" } },
    );
    for (const topic of ["PRODUCTS_UPDATE", "PRODUCTS_DELETE"])
      await gql(
        emu,
        token,
        `mutation W($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
          webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) { userErrors { message } } }`,
        { topic, sub: { uri: "http://127.0.0.1:9/hooks" } },
      );
    const made = emu.control.productSet(SHOP, {
      input: { title: "Cap", variants: [{ optionValues: [], sku: "CAP-1", barcode: "77" }] },
    });
    emu.control.productSet(SHOP, {
      identifier: { id: made.admin_graphql_api_id },
      input: { variants: [{ id: made.variants[0]!.admin_graphql_api_id, optionValues: [], sku: "CAP-2" }] },
    });
    emu.control.deleteProduct(SHOP, made.admin_graphql_api_id);
    const topics = emu.control
      .webhookDeliveries({ shop: SHOP })
      .filter((d) => d.topic.startsWith("products/"))
      .map((d) => {
        const body = JSON.parse(d.body) as { id: number; variants?: { sku: string }[] };
        return [d.topic, body.id, body.variants?.[0]?.sku];
      });
    expect(topics).toEqual([
      ["products/create", made.id, "CAP-1"],
      ["products/update", made.id, "CAP-2"],
      ["products/delete", made.id, undefined],
    ]);
  });

  it("seeds a curated catalog: options, images, metafields, a collection, weights and prices", async () => {
    const seeded = emu.control.seedCatalog(SHOP, {
      variants: 1200,
      variantsPerProduct: 5,
      catalog: true,
      skuPrefix: "CAT-",
      title: "Catalog",
    });
    expect(seeded).toMatchObject({ products: 240, variants: 1200 });
    const { products } = await bulkProducts(emu, token);
    const mine = products.filter((p) => p.title.startsWith("Catalog "));
    expect(mine).toHaveLength(240);
    for (const p of mine.slice(0, 20)) {
      expect(p.variants).toHaveLength(5);
      expect(p.images).toHaveLength(3);
      expect(p.metafields).toHaveLength(2);
      expect(p.collections).toHaveLength(1);
      expect(p.options.length).toBeGreaterThan(0);
      const combos = new Set(p.variants.map((v) => v.selectedOptions.map((o) => o.value).join("/")));
      expect(combos.size).toBe(5);
      expect(p.variants[0]!.inventoryItem.measurement?.weight?.unit).toBe("GRAMS");
    }
  });

  it("groups a product's children after it even when its variants span several pages of the bulk read", async () => {
    emu.control.seedCatalog(SHOP, {
      variants: 900,
      variantsPerProduct: 300,
      catalog: true,
      skuPrefix: "BIGP-",
      title: "Wide",
    });
    const { products } = await bulkProducts(emu, token);
    const wide = products.filter((p) => p.title.startsWith("Wide "));
    expect(wide.map((p) => p.variants.length)).toEqual([300, 300, 300]);
    expect(new Set(wide.flatMap((p) => p.variants.map((v) => v.sku))).size).toBe(900);
  });
});
