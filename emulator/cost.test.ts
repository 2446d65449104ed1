import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { actualCost, findOperation, requestedCost } from "./cost.ts";
import { adminSchema } from "./schema.ts";

const schema = adminSchema();
function req(q: string, vars: Record<string, unknown> = {}): number {
  const doc = parse(q);
  return requestedCost(schema, doc, findOperation(doc)!, vars);
}

describe("calculated query cost", () => {
  it("charges 1 for an object and 0 for its scalars", () => {
    expect(req("{ shop { id name myshopifyDomain } }")).toBe(1);
  });

  it("charges a connection 2 + first × node cost", () => {
    expect(req("{ products(first: 10) { edges { node { id title } } pageInfo { hasNextPage } } }")).toBe(12);
    expect(req("query($n: Int) { products(first: $n) { nodes { id } } }", { n: 50 })).toBe(52);
  });

  it("multiplies nested connections", () => {
    // 2 + 10 × (1 + (2 + 5 × (1 + inventoryItem 1)))
    const q =
      "{ products(first: 10) { nodes { id variants(first: 5) { nodes { sku inventoryItem { id } } } } } }";
    expect(req(q)).toBe(2 + 10 * (1 + (2 + 5 * 2)));
  });

  it("charges 10 per mutation field whatever it selects", () => {
    const q = `mutation { inventorySetQuantities(input: {name: "available", reason: "correction", quantities: []}) {
      inventoryAdjustmentGroup { id changes { name delta } } userErrors { code field message } } }`;
    expect(req(q)).toBe(10);
  });

  it("takes the maximum over the possible types of an abstract selection", () => {
    const q = `{ node(id: "gid://shopify/Product/1") { id ... on Product { variants(first: 3) { nodes { id } } }
      ... on Order { customer { id } } } }`;
    // node object 1 + max(Product: 2 + 3 × 1, Order: customer 1)
    expect(req(q)).toBe(1 + 5);
  });

  it("computes the actual cost from what was returned", () => {
    const doc = parse("{ products(first: 10) { edges { node { id } } } }");
    const op = findOperation(doc)!;
    const data = { products: { edges: [{ node: { id: "a" } }, { node: { id: "b" } }] } };
    expect(actualCost(schema, doc, op, {}, data)).toBe(4);
  });
});
