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

  it("answers 401 without a valid token and 404 on another API version", async () => {
    const r = await gql(emu, "shpat_nope", "{ shop { name } }");
    expect(r.status).toBe(401);
    expect(r.body).toEqual({
      errors: "[API] Invalid API key or access token (unrecognized login or wrong password)",
    });
    const res = await fetch(`${emu.url}/${SHOP}/admin/api/2024-01/graphql.json`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Shopify-Access-Token": s.token },
      body: JSON.stringify({ query: "{ shop { name } }" }),
    });
    expect(res.status).toBe(404);
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
