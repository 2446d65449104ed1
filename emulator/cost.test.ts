// Shopify's calculated query cost. Each figure below is one Shopify published (documentation,
// or a cost Shopify's API answered that its staff explained), cited next to the assertion.
import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import {
  actualCost,
  type CostField,
  connectionMultiplier,
  findOperation,
  MAX_QUERY_COST,
  requestedCost,
} from "./cost.ts";
import { adminSchema } from "./schema.ts";

const schema = adminSchema();
function req(q: string, vars: Record<string, unknown> = {}): number {
  const doc = parse(q);
  return requestedCost(schema, doc, findOperation(doc)!, vars);
}
function act(q: string, data: unknown, vars: Record<string, unknown> = {}): number {
  const doc = parse(q);
  return actualCost(schema, doc, findOperation(doc)!, vars, data);
}

describe("calculated query cost (shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits)", () => {
  it("table 'Cost calculation': an object is 1, its scalars and enums 0", () => {
    // Shopify Engineering, "Rate Limiting GraphQL APIs by Calculating Query Complexity": `shop` is an
    // object costing 1; id, name, timezoneOffsetMinutes are scalars costing 0; the query costs 1.
    expect(req("{ shop { id name timezoneOffsetMinutes currencyCode } }")).toBe(1);
  });

  it("connections are sized by first/last with Shopify's logarithmic scaling", () => {
    // community.shopify.dev/t/unexpectedly-low-graphql-query-cost-in-shopify-admin-api-seeking-clarification/23101:
    // this exact query answered requestedQueryCost 25 (actualQueryCost 1: the product was null).
    const q = `query getVariantsInventoryItem($id: ID!) {
      product(id: $id) { variants(first: 250) { nodes { inventoryItem { id tracked } } } } }`;
    expect(req(q, { id: "gid://shopify/Product/1" })).toBe(25);
    expect(act(q, { product: null }, { id: "gid://shopify/Product/1" })).toBe(1);
    // Shopify staff (community.shopify.dev/t/how-to-calculate-graphql-cost-estimates/24364): "We do
    // incorporate logarithmic scaling into connection fields"; floor(2 ln n) gives 250 → 11.
    expect(connectionMultiplier(250)).toBe(11);
    expect(connectionMultiplier(1)).toBe(1);
    expect(connectionMultiplier(10)).toBe(4);
    expect(connectionMultiplier(100)).toBe(9);
    expect(connectionMultiplier(0)).toBe(0);
  });

  it("nested connections multiply: 250 orders × 250 lines is about 156, not 63,252 (issue 18)", () => {
    const q = `{ orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id sku quantity } } } } }`;
    // 2 + 11 × (order 1 + (2 + 11 × line 1))
    expect(req(q)).toBe(2 + 11 * (1 + 2 + 11));
    expect(req(q)).toBe(156);
  });

  it("pageInfo and cursors are free; edges { node } costs as nodes does", () => {
    expect(
      req("{ products(first: 10) { edges { cursor node { id title } } pageInfo { hasNextPage } } }"),
    ).toBe(2 + 4 * 1);
    expect(req("query($n: Int) { products(first: $n) { nodes { id } } }", { n: 50 })).toBe(2 + 7);
  });

  it("table: a mutation costs 10 whatever it selects", () => {
    const q = `mutation { inventorySetQuantities(input: {name: "available", reason: "correction", quantities: []}) {
      inventoryAdjustmentGroup { id changes { name delta } } userErrors { code field message } } }`;
    expect(req(q)).toBe(10);
  });

  it("table: an interface or union costs the maximum of its possible selections", () => {
    const q = `{ node(id: "gid://shopify/Product/1") { id ... on Product { variants(first: 3) { nodes { id } } }
      ... on Order { customer { id } } } }`;
    // node object 1 + max(Product: 2 + floor(2 ln 3) × 1, Order: customer 1)
    expect(req(q)).toBe(1 + 2 + 2);
  });

  it("'Requested and actual cost': the actual cost is sized by what came back, never above the request", () => {
    const q = "{ products(first: 10) { edges { node { id } } } }";
    const data = {
      products: { edges: [{ node: { id: "a" } }, { node: { id: "b" } }, { node: { id: "c" } }] },
    };
    expect(act(q, data)).toBe(2 + connectionMultiplier(3) * 1);
    expect(act(q, { products: { edges: [] } })).toBe(2);
    expect(act(q, data)).toBeLessThanOrEqual(req(q));
  });

  it("'Single query limit': 1,000 points", () => {
    expect(MAX_QUERY_COST).toBe(1000);
    // 2 + 11 × (1 + 2 + 11 × (1 + 2 + 11 × 1)) = 1,849
    const q = `{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { id
      discountAllocations { allocatedAmountSet { shopMoney { amount } } } } } } } }`;
    expect(req(q)).toBeGreaterThan(0);
    const deep = `{ products(first: 250) { nodes { variants(first: 250) { nodes {
      inventoryItem { inventoryLevels(first: 250) { nodes { id location { id } } } } } } } } }`;
    expect(req(deep)).toBe(2 + 11 * (1 + 2 + 11 * (1 + 1 + 2 + 11 * (1 + 1))));
    expect(req(deep)).toBeGreaterThan(MAX_QUERY_COST);
  });

  it("'X-GraphQL-Cost-Include-Fields': a breakdown per field path (definedCost, requestedTotalCost, requestedChildrenCost)", () => {
    // community.shopify.dev/t/23101 shows the breakdown of this query: the scalar id at
    // product.variants.nodes.inventoryItem.id has definedCost 0, requestedTotalCost 0, requestedChildrenCost null.
    const doc = parse(
      `query($id: ID!) { product(id: $id) { variants(first: 250) { nodes { inventoryItem { id tracked } } } } }`,
    );
    const fields: CostField[] = [];
    expect(requestedCost(schema, doc, findOperation(doc)!, { id: "gid://shopify/Product/1" }, fields)).toBe(
      25,
    );
    const at = (p: string) => fields.find((f) => f.path.join(".") === p);
    expect(at("product.variants.nodes.inventoryItem.id")).toEqual({
      path: ["product", "variants", "nodes", "inventoryItem", "id"],
      definedCost: 0,
      requestedTotalCost: 0,
      requestedChildrenCost: null,
    });
    expect(at("product.variants")).toMatchObject({
      definedCost: 2,
      requestedTotalCost: 24,
      requestedChildrenCost: 22,
    });
    expect(at("product")).toMatchObject({
      definedCost: 1,
      requestedTotalCost: 25,
      requestedChildrenCost: 24,
    });
  });
});
