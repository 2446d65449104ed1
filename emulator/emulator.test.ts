import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "./index.ts";
import { gql, type Seeded, SHOP, seedShop } from "./test-helpers.ts";

let emu: Emulator;
let s: Seeded;

beforeAll(async () => {
  emu = await startEmulator();
  s = seedShop(emu);
});
afterAll(async () => {
  await emu.close();
});

const SET = `mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}`;

describe("Admin API basics", () => {
  it("answers a shop query with cost extensions", async () => {
    const r = await gql(emu, s.token, "{ shop { name myshopifyDomain } }");
    expect(r.status).toBe(200);
    expect(r.body.data.shop).toEqual({ name: "demo", myshopifyDomain: SHOP });
    expect(r.body.extensions.cost).toMatchObject({
      requestedQueryCost: 1,
      actualQueryCost: 1,
      throttleStatus: { maximumAvailable: 2000, restoreRate: 100 },
    });
  });

  it("rejects a document the real schema rejects", async () => {
    const r = await gql(emu, s.token, "{ shop { name notAField } }");
    expect(r.status).toBe(200);
    expect(r.body.data).toBeUndefined();
    expect(r.body.errors[0].message).toMatch(/notAField/);
    expect(r.body.errors[0].locations).toBeDefined();
    expect(r.body.errors[0].extensions.code).toBe("undefinedField");
  });

  it("names a field that is valid but not implemented", async () => {
    const r = await gql(emu, s.token, "{ shop { name analyticsToken } }");
    expect(r.body.errors[0].message).toBe(
      "Tillbridge emulator: field Shop.analyticsToken is not implemented",
    );
    expect(r.body.errors[0].extensions.code).toBe("NOT_IMPLEMENTED");
  });

  it("answers 401 without a valid token, falls forward from an unsupported version, 404s an unreleased one", async () => {
    const r = await gql(emu, "shpat_nope", "{ shop { name } }");
    expect(r.status).toBe(401);
    expect(r.body).toEqual({
      errors: "[API] Invalid API key or access token (unrecognized login or wrong password)",
    });
    const at = (v: string) =>
      fetch(`${emu.url}/${SHOP}/admin/api/${v}/graphql.json`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Shopify-Access-Token": s.token },
        body: JSON.stringify({ query: "{ shop { name } }" }),
      });
    const old = await at("2024-01");
    expect(old.status).toBe(200);
    expect(old.headers.get("x-shopify-api-version")).not.toBe("2024-01");
    expect((await at("2099-04")).status).toBe(404);
  });

  it("finds variants by sku and barcode", async () => {
    const q = `query($q: String) { productVariants(first: 5, query: $q) { nodes { id sku barcode price inventoryItem { id } } } }`;
    const bySku = await gql(emu, s.token, q, { q: "sku:SKU-1" });
    expect(bySku.body.data.productVariants.nodes).toEqual([
      {
        id: s.variantId,
        sku: "SKU-1",
        barcode: "111",
        price: "10.00",
        inventoryItem: { id: s.inventoryItemId },
      },
    ]);
    const byBarcode = await gql(emu, s.token, q, { q: "barcode:999" });
    expect(byBarcode.body.data.productVariants.nodes).toEqual([]);
  });
});

describe("inventorySetQuantities", () => {
  const level = () =>
    emu.control.getInventoryLevel(SHOP, { inventoryItemId: s.inventoryItemId, locationId: s.locationId })!;
  const q = (quantity: number, changeFromQuantity?: number | null) => ({
    inventoryItemId: s.inventoryItemId,
    locationId: s.locationId,
    quantity,
    ...(changeFromQuantity === undefined ? {} : { changeFromQuantity }),
  });

  it("sets with a matching changeFromQuantity", async () => {
    const before = level().available;
    const r = await gql(emu, s.token, SET, {
      input: { name: "available", reason: "correction", quantities: [q(before + 5, before)] },
      key: "k-ok",
    });
    expect(r.body.data.inventorySetQuantities.userErrors).toEqual([]);
    expect(level().available).toBe(before + 5);
  });

  it("changes nothing when one changeFromQuantity is stale", async () => {
    const other = emu.control.createProduct(SHOP, {
      title: "Hat",
      variants: [{ sku: "HAT", inventory: { [s.locationId]: 3 } }],
    });
    const hatItem = other.variants[0]!.inventoryItemId;
    const before = level().available;
    const r = await gql(emu, s.token, SET, {
      input: {
        name: "available",
        reason: "correction",
        quantities: [
          { inventoryItemId: hatItem, locationId: s.locationId, quantity: 7, changeFromQuantity: 3 },
          q(99, before - 1),
        ],
      },
      key: "k-stale",
    });
    const errs = r.body.data.inventorySetQuantities.userErrors;
    expect(errs).toHaveLength(1);
    expect(errs[0].code).toBe("CHANGE_FROM_QUANTITY_STALE");
    expect(errs[0].field).toEqual(["input", "quantities", "1", "changeFromQuantity"]);
    expect(level().available).toBe(before);
    expect(
      emu.control.getInventoryLevel(SHOP, { inventoryItemId: hatItem, locationId: s.locationId })!.available,
    ).toBe(3);
  });

  it("requires changeFromQuantity to be present (null opts out)", async () => {
    const missing = await gql(emu, s.token, SET, {
      input: { name: "available", reason: "correction", quantities: [q(1)] },
      key: "k-missing",
    });
    expect(missing.body.data.inventorySetQuantities.userErrors[0].code).toBe("COMPARE_QUANTITY_REQUIRED");
    const optOut = await gql(emu, s.token, SET, {
      input: { name: "available", reason: "correction", quantities: [q(4, null)] },
      key: "k-null",
    });
    expect(optOut.body.data.inventorySetQuantities.userErrors).toEqual([]);
    expect(level().available).toBe(4);
  });

  it("requires the @idempotent directive", async () => {
    const r = await gql(
      emu,
      s.token,
      `mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { code } } }`,
      { input: { name: "available", reason: "correction", quantities: [q(4, null)] } },
    );
    expect(r.body.errors[0].message).toMatch(/@idempotent/);
    expect(r.body.data.inventorySetQuantities).toBeNull();
  });

  it("replays a repeated idempotency key without applying twice", async () => {
    const input = { name: "available", reason: "correction", quantities: [q(20, null)] };
    const first = await gql(emu, s.token, SET, { input, key: "k-replay" });
    emu.control.setInventory(SHOP, {
      inventoryItemId: s.inventoryItemId,
      locationId: s.locationId,
      quantity: 11,
    });
    const again = await gql(emu, s.token, SET, { input, key: "k-replay" });
    expect(again.body.data).toEqual(first.body.data);
    expect(level().available).toBe(11);
    const mismatch = await gql(emu, s.token, SET, {
      input: { ...input, quantities: [q(21, null)] },
      key: "k-replay",
    });
    expect(mismatch.body.data.inventorySetQuantities.userErrors[0].code).toBe(
      "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
    );
  });

  it("rejects input lists over 250 items", async () => {
    const quantities = Array.from({ length: 251 }, () => q(1, null));
    const r = await gql(emu, s.token, SET, {
      input: { name: "available", reason: "correction", quantities },
      key: "k-big",
    });
    expect(r.body.errors[0].extensions.code).toBe("MAX_INPUT_SIZE_EXCEEDED");
  });

  it("denies the mutation to a token without write_inventory", async () => {
    const { accessToken } = emu.control.mintToken({
      shop: SHOP,
      clientId: s.clientId,
      scopes: ["read_products"],
    });
    const r = await gql(emu, accessToken, SET, {
      input: { name: "available", reason: "correction", quantities: [q(1, null)] },
      key: "k-denied",
    });
    expect(r.body.errors[0].extensions.code).toBe("ACCESS_DENIED");
  });
});

describe("productSet and productVariantsBulkUpdate", () => {
  it("replaces variants wholesale: the ones left out are deleted", async () => {
    const p = emu.control.createProduct(SHOP, {
      title: "Mug",
      variants: [
        { sku: "MUG-R", options: [{ name: "Color", value: "Red" }] },
        { sku: "MUG-B", options: [{ name: "Color", value: "Blue" }] },
      ],
    });
    const keep = p.variants[0]!;
    const r = await gql(
      emu,
      s.token,
      `mutation($input: ProductSetInput!, $id: ID!) { productSet(input: $input, identifier: { id: $id }, synchronous: true) {
        product { id title variants(first: 10) { nodes { id sku price selectedOptions { name value } } } }
        userErrors { code field message } } }`,
      {
        id: p.id,
        input: {
          title: "Mug 2",
          productOptions: [{ name: "Color", values: [{ name: "Red" }, { name: "Green" }] }],
          variants: [
            { id: keep.id, optionValues: [{ optionName: "Color", name: "Red" }], price: "5.00" },
            { optionValues: [{ optionName: "Color", name: "Green" }], sku: "MUG-G", price: "6.00" },
          ],
        },
      },
    );
    expect(r.body.data.productSet.userErrors).toEqual([]);
    const vs = r.body.data.productSet.product.variants.nodes;
    expect(vs.map((v: { sku: string }) => v.sku)).toEqual(["MUG-R", "MUG-G"]);
    expect(vs[0].id).toBe(keep.id);
    expect(
      emu.control
        .listProducts(SHOP)
        .find((x) => x.id === p.id)!
        .variants.map((v) => v.sku),
    ).toEqual(["MUG-R", "MUG-G"]);
    const gone = await gql(
      emu,
      s.token,
      `{ productVariants(first: 5, query: "sku:MUG-B") { nodes { id } } }`,
    );
    expect(gone.body.data.productVariants.nodes).toEqual([]);
  });

  it("updates prices and barcodes in bulk", async () => {
    const r = await gql(
      emu,
      s.token,
      `mutation($pid: ID!, $v: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate(productId: $pid, variants: $v) {
        productVariants { id price barcode } userErrors { code field message } } }`,
      {
        pid: emu.control.listProducts(SHOP)[0]!.id,
        v: [{ id: s.variantId, price: "12.50", barcode: "222" }],
      },
    );
    expect(r.body.data.productVariantsBulkUpdate).toEqual({
      productVariants: [{ id: s.variantId, price: "12.50", barcode: "222" }],
      userErrors: [],
    });
  });
});

describe("bulk operations", () => {
  it("runs a query over all pages and serves JSONL with __parentId", async () => {
    const run = await gql(
      emu,
      s.token,
      `mutation($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: false) { bulkOperation { id status } userErrors { code message } } }`,
      {
        q: "{ products { edges { node { id title variants { edges { node { id sku inventoryItem { id } } } } } } } }",
      },
    );
    expect(run.body.data.bulkOperationRunQuery.userErrors).toEqual([]);
    const id = run.body.data.bulkOperationRunQuery.bulkOperation.id;
    let op: { status: string; url: string | null; objectCount: string; rootObjectCount: string } | undefined;
    for (let i = 0; i < 50; i++) {
      const r = await gql(
        emu,
        s.token,
        `query($id: ID!) { bulkOperation(id: $id) { status url objectCount rootObjectCount } }`,
        { id },
      );
      op = r.body.data.bulkOperation;
      if (op?.status === "COMPLETED") break;
      await new Promise((res) => setImmediate(res));
    }
    expect(op?.status).toBe("COMPLETED");
    const text = await (await fetch(op!.url!)).text();
    const lines = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const products = emu.control.listProducts(SHOP);
    expect(Number(op!.rootObjectCount)).toBe(products.length);
    const variantLines = lines.filter((l) => "__parentId" in l);
    expect(variantLines.length).toBe(products.reduce((n, p) => n + p.variants.length, 0));
    const first = variantLines.find((l) => l.sku === "SKU-1");
    expect(first).toMatchObject({
      id: s.variantId,
      inventoryItem: { id: s.inventoryItemId },
      __parentId: products[0]!.id,
    });
  });

  it("rejects an invalid bulk query", async () => {
    const r = await gql(
      emu,
      s.token,
      `mutation { bulkOperationRunQuery(query: "{ products { nope } }", groupObjects: false) { userErrors { code message } } }`,
    );
    expect(r.body.data.bulkOperationRunQuery.userErrors[0].code).toBe("INVALID");
  });
});

describe("faults", () => {
  it("answers a share of calls with 5xx and can drop connections", async () => {
    emu.control.setFaults(SHOP, { failNext: 2, errorStatuses: [503] });
    expect((await gql(emu, s.token, "{ shop { name } }").catch(() => ({ status: -1 }))).status).toBe(503);
    expect((await gql(emu, s.token, "{ shop { name } }")).status).toBe(503);
    expect((await gql(emu, s.token, "{ shop { name } }")).status).toBe(200);
    emu.control.setFaults(SHOP, { dropConnectionRate: 1 });
    await expect(gql(emu, s.token, "{ shop { name } }")).rejects.toThrow();
    emu.control.clearFaults(SHOP);
    expect((await gql(emu, s.token, "{ shop { name } }")).status).toBe(200);
    const calls = emu.control.apiCalls(SHOP);
    expect(calls.filter((c) => c.fault === "http_error")).toHaveLength(2);
    expect(calls.some((c) => c.fault === "dropped")).toBe(true);
  });
});

describe("HTTP control API and Host routing", () => {
  it("seeds through HTTP and answers /admin requests by Host header", async () => {
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${emu.url}/_emulator${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    const app = await post("/apps", { scopes: ["read_products"] });
    expect(app.status).toBe(200);
    expect((await post("/shops", { domain: "other.myshopify.com", plan: "plus" })).body).toMatchObject({
      restoreRate: 1000,
      bucketSize: 20000,
    });
    expect((await post("/shops", { domain: "bad domain" })).body).toMatchObject({
      error: { code: "INVALID_DOMAIN" },
    });
    const tok = await post("/tokens", { shop: "other.myshopify.com", clientId: app.body["clientId"] });
    const { request } = await import("node:http");
    const url = new URL(emu.url);
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: "/admin/api/2026-10/graphql.json",
          method: "POST",
          headers: {
            Host: "other.myshopify.com",
            "Content-Type": "application/json",
            "X-Shopify-Access-Token": String(tok.body["accessToken"]),
          },
        },
        (res) => {
          let data = "";
          res.on("data", (c) => {
            data += c;
          });
          res.on("end", () => resolve(data));
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify({ query: "{ shop { myshopifyDomain } }" }));
    });
    expect(JSON.parse(body).data.shop.myshopifyDomain).toBe("other.myshopify.com");
  });
});

describe("inventoryAdjustQuantities and reads", () => {
  const ADJUST = `mutation($input: InventoryAdjustQuantitiesInput!, $key: String!) {
    inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
      inventoryAdjustmentGroup { changes { name delta quantityAfterChange } } userErrors { code field message } } }`;

  it("applies deltas, with compare-and-swap on each change", async () => {
    const level = () =>
      emu.control.getInventoryLevel(SHOP, { inventoryItemId: s.inventoryItemId, locationId: s.locationId })!;
    const before = level().available;
    const change = (delta: number, changeFromQuantity: number | null) => ({
      inventoryItemId: s.inventoryItemId,
      locationId: s.locationId,
      delta,
      changeFromQuantity,
    });
    const stale = await gql(emu, s.token, ADJUST, {
      input: { name: "available", reason: "received", changes: [change(2, before + 100)] },
      key: "adj-stale",
    });
    expect(stale.body.data.inventoryAdjustQuantities.userErrors[0].code).toBe("CHANGE_FROM_QUANTITY_STALE");
    expect(level().available).toBe(before);
    const ok = await gql(emu, s.token, ADJUST, {
      input: { name: "available", reason: "received", changes: [change(2, before)] },
      key: "adj-ok",
    });
    expect(ok.body.data.inventoryAdjustQuantities.inventoryAdjustmentGroup.changes[0]).toEqual({
      name: "available",
      delta: 2,
      quantityAfterChange: before + 2,
    });
    expect(level().available).toBe(before + 2);
  });

  it("reads named quantities per level and finds items by sku", async () => {
    const r = await gql(
      emu,
      s.token,
      `query($loc: ID!) { inventoryItems(first: 5, query: "sku:SKU-1") { nodes { id sku tracked
        inventoryLevel(locationId: $loc) { quantities(names: ["available", "on_hand", "committed"]) { name quantity } }
        inventoryLevels(first: 5) { nodes { location { id } } } } } }`,
      { loc: s.locationId },
    );
    expect(r.body.errors).toBeUndefined();
    const item = r.body.data.inventoryItems.nodes[0];
    expect(item.id).toBe(s.inventoryItemId);
    const q = Object.fromEntries(
      item.inventoryLevel.quantities.map((x: { name: string; quantity: number }) => [x.name, x.quantity]),
    );
    const level = emu.control.getInventoryLevel(SHOP, {
      inventoryItemId: s.inventoryItemId,
      locationId: s.locationId,
    })!;
    expect(q).toEqual({ available: level.available, on_hand: level.on_hand, committed: level.committed });
    expect(item.inventoryLevels.nodes).toEqual([{ location: { id: s.locationId } }]);
  });

  it("resolves node(id) for modelled types", async () => {
    const r = await gql(
      emu,
      s.token,
      `query($id: ID!) { node(id: $id) { id ... on ProductVariant { sku } } }`,
      { id: s.variantId },
    );
    expect(r.body.data.node).toEqual({ id: s.variantId, sku: "SKU-1" });
  });
});

describe("order visibility", () => {
  it("hides orders older than 60 days without read_all_orders", async () => {
    const o = emu.control.placeOrder(SHOP, {
      lineItems: [{ sku: "SKU-1", quantity: 1 }],
      email: "old@example.com",
    });
    const q = `query($id: ID!) { order(id: $id) { id } }`;
    expect((await gql(emu, s.token, q, { id: o.id })).body.data.order).toEqual({ id: o.id });
    emu.control.advanceTime(61 * 24 * 3600 * 1000);
    expect((await gql(emu, s.token, q, { id: o.id })).body.data.order).toBeNull();
    const all = emu.control.mintToken({
      shop: SHOP,
      clientId: s.clientId,
      scopes: ["read_orders", "read_all_orders"],
    });
    expect((await gql(emu, all.accessToken, q, { id: o.id })).body.data.order).toEqual({ id: o.id });
  });
});
