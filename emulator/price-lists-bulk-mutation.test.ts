// Price lists and bulk mutations (issue 16) with Shopify's userErrors: a price list's currency
// enforced on every fixed price, unknown variants and lists, deleting a price that is not fixed,
// a taken name, a catalog carrying the list; a staged upload on the emulator's own server run as
// a bulk mutation with one result line per input line, and its refusals (invalid mutation, no
// such file, one in progress).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "./index.ts";
import { gql, type Seeded, seedShop } from "./test-helpers.ts";

describe("price lists and bulk mutations", () => {
  let emu: Emulator;
  let shop: Seeded;
  const call = async (query: string, variables?: Record<string, unknown>) => {
    const r = await gql(emu, shop.token, query, variables);
    expect(r.body.errors, JSON.stringify(r.body.errors)).toBeUndefined();
    return r.body.data;
  };

  beforeAll(async () => {
    emu = await startEmulator();
    shop = seedShop(emu);
  });
  afterAll(async () => emu?.close());

  const CREATE = `mutation($input: PriceListCreateInput!) { priceListCreate(input: $input) { priceList { id currency } userErrors { field code message } } }`;
  const UPDATE = `mutation($id: ID!, $add: [PriceListPriceInput!]!, $del: [ID!]!) {
    priceListFixedPricesUpdate(priceListId: $id, pricesToAdd: $add, variantIdsToDelete: $del) {
      pricesAdded { price { amount currencyCode } variant { sku } } deletedFixedPriceVariantIds userErrors { field code } } }`;
  const parent = { adjustment: { type: "PERCENTAGE_DECREASE", value: 0 } };
  const eur = (amount: string) => ({ amount, currencyCode: "EUR" });

  it("keeps each list's fixed prices in its currency, refusing with Shopify's userErrors", async () => {
    const created = await call(CREATE, { input: { name: "B2B", currency: "EUR", parent } });
    const id = created.priceListCreate.priceList.id as string;
    expect(
      (await call(CREATE, { input: { name: "B2B", currency: "EUR", parent } })).priceListCreate.userErrors,
    ).toEqual([expect.objectContaining({ field: ["input", "name"], code: "TAKEN" })]);
    const catalog = await call(
      `mutation($input: CatalogCreateInput!) { catalogCreate(input: $input) { catalog { id priceList { id } } userErrors { code } } }`,
      { input: { title: "B2B", status: "ACTIVE", priceListId: id, context: { companyLocationIds: [] } } },
    );
    expect(catalog.catalogCreate.catalog.priceList.id).toBe(id);

    const wrong = await call(UPDATE, {
      id,
      add: [
        { variantId: shop.variantId, price: { amount: "5.00", currencyCode: "SEK" } },
        { variantId: "gid://shopify/ProductVariant/999999", price: eur("1.00") },
      ],
      del: [],
    });
    expect(wrong.priceListFixedPricesUpdate.userErrors).toEqual([
      { field: ["pricesToAdd", "0", "price", "currencyCode"], code: "PRICE_LIST_CURRENCY_MISMATCH" },
      { field: ["pricesToAdd", "1", "variantId"], code: "VARIANT_NOT_FOUND" },
    ]);
    const notFixed = await call(UPDATE, { id, add: [], del: [shop.variantId] });
    expect(notFixed.priceListFixedPricesUpdate.userErrors).toEqual([
      { field: ["variantIdsToDelete", "0"], code: "PRICE_NOT_FIXED" },
    ]);
    const ok = await call(UPDATE, { id, add: [{ variantId: shop.variantId, price: eur("7.5") }], del: [] });
    expect(ok.priceListFixedPricesUpdate.pricesAdded).toEqual([
      { price: { amount: "7.50", currencyCode: "EUR" }, variant: { sku: shop.sku } },
    ]);
    const gone = await call(UPDATE, { id: "gid://shopify/PriceList/424242", add: [], del: [] });
    expect(gone.priceListFixedPricesUpdate.userErrors).toEqual([
      { field: ["priceListId"], code: "PRICE_LIST_NOT_FOUND" },
    ]);
    const deleted = await call(
      `mutation($id: ID!, $v: [ID!]!) { priceListFixedPricesDelete(priceListId: $id, variantIds: $v) { deletedFixedPriceVariantIds userErrors { code } } }`,
      { id, v: [shop.variantId] },
    );
    expect(deleted.priceListFixedPricesDelete.deletedFixedPriceVariantIds).toEqual([shop.variantId]);
    const read = await call(`query($id: ID!) { priceList(id: $id) { fixedPricesCount catalog { id } } }`, {
      id,
    });
    expect(read.priceList).toEqual({
      fixedPricesCount: 0,
      catalog: { id: catalog.catalogCreate.catalog.id },
    });
  });

  const STAGE = `mutation { stagedUploadsCreate(input: [{ resource: BULK_MUTATION_VARIABLES, filename: "v.jsonl", mimeType: "text/jsonl", httpMethod: POST }]) { stagedTargets { url parameters { name value } } userErrors { message } } }`;
  const RUN = `mutation($m: String!, $p: String!) { bulkOperationRunMutation(mutation: $m, stagedUploadPath: $p) { bulkOperation { id } userErrors { field code } } }`;
  const TAG = `mutation($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { userErrors { message } } }`;
  const PRODUCT_UPDATE = `mutation($input: ProductSetInput!) { productSet(input: $input) { product { id title } userErrors { field message } } }`;

  const upload = async (lines: unknown[]) => {
    const target = (await call(STAGE)).stagedUploadsCreate.stagedTargets[0];
    const form = new FormData();
    for (const p of target.parameters) form.append(p.name, p.value);
    form.append("file", new Blob([lines.map((l) => JSON.stringify(l)).join("\n")]), "v.jsonl");
    const res = await fetch(target.url, { method: "POST", body: form });
    await res.text();
    expect(res.status).toBe(201);
    return target.parameters.find((p: { name: string }) => p.name === "key").value as string;
  };

  it("runs an uploaded JSONL as a bulk mutation, one result line per input line", async () => {
    const path = await upload([
      {
        input: {
          title: "Bulk one",
          productOptions: [{ name: "Title", values: [{ name: "Default Title" }] }],
        },
      },
      { input: { title: "" } },
      "not an object",
    ]);
    // Two in one request: the second finds the first in progress (one bulk mutation at a time).
    const run = await call(
      `mutation($m: String!, $p: String!) {
        first: bulkOperationRunMutation(mutation: $m, stagedUploadPath: $p) { bulkOperation { id } userErrors { code } }
        second: bulkOperationRunMutation(mutation: $m, stagedUploadPath: $p) { bulkOperation { id } userErrors { code } }
      }`,
      { m: PRODUCT_UPDATE, p: path },
    );
    expect(run.first.userErrors).toEqual([]);
    expect(run.second).toEqual({ bulkOperation: null, userErrors: [{ code: "OPERATION_IN_PROGRESS" }] });
    const id = run.first.bulkOperation.id;
    let op: { status: string; url: string; type: string; objectCount: string } | undefined;
    await expect
      .poll(async () => {
        op = (
          await call(`query($id: ID!) { bulkOperation(id: $id) { status url type objectCount } }`, { id })
        ).bulkOperation;
        return op?.status;
      })
      .toBe("COMPLETED");
    expect(op!.type).toBe("MUTATION");
    const lines = (await (await fetch(op!.url)).text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.__lineNumber)).toEqual([0, 1, 2]);
    expect(lines[0].data.productSet.product.title).toBe("Bulk one");
    expect(lines[1].data.productSet.userErrors.length).toBeGreaterThan(0);
    expect(lines[2].errors).toBeDefined();
  });

  it("refuses an invalid mutation and an unknown upload", async () => {
    const path = await upload([{ id: "gid://shopify/Product/1", tags: ["x"] }]);
    const query = await call(RUN, { m: "query { shop { name } }", p: path });
    expect(query.bulkOperationRunMutation.userErrors).toEqual([
      { field: ["mutation"], code: "INVALID_MUTATION" },
    ]);
    const missing = await call(RUN, { m: TAG, p: "tmp/nowhere/v.jsonl" });
    expect(missing.bulkOperationRunMutation.userErrors).toEqual([
      { field: ["stagedUploadPath"], code: "NO_SUCH_FILE" },
    ]);
  });
});
