// Bulk query restrictions (shopify.dev/docs/api/usage/bulk-operations/queries, "Operation
// restrictions": at most five connections, at most two levels of nested connections, no top-level
// node/nodes, a nested connection's parent selects id; connections inside list fields unsupported).
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bulkQueryProblem } from "./bulk-validation.ts";
import { type Emulator, startEmulator } from "./index.ts";
import { adminSchema } from "./schema.ts";
import { gql, type Seeded, seedShop } from "./test-helpers.ts";

const schema = adminSchema();
const problem = (q: string) => bulkQueryProblem(schema, parse(q));

describe("bulk query validation", () => {
  it("accepts a two-level query with five connections", () => {
    expect(
      problem(`{ products { edges { node { id
        variants { edges { node { id } } }
        media { edges { node { id } } }
        metafields { edges { node { id } } }
        collections { edges { node { id } } } } } } }`),
    ).toBeUndefined();
  });

  it("refuses a sixth connection", () => {
    expect(
      problem(`{ products { edges { node { id
        variants { edges { node { id } } } media { edges { node { id } } } metafields { edges { node { id } } }
        collections { edges { node { id } } } sellingPlanGroups { edges { node { id } } } } } } }`),
    ).toBe("Bulk queries cannot contain more than 5 connections.");
  });

  it("refuses three levels of nested connections", () => {
    expect(
      problem(`{ locations { edges { node { id inventoryLevels { edges { node { id
        item { variant { id } } } } } } } } }`),
    ).toBeUndefined();
    expect(
      problem(`{ collections { edges { node { id products { edges { node { id
        variants { edges { node { id } } } } } } } } } }`),
    ).toBe("Bulk queries cannot contain connections with a nesting depth greater than 2.");
  });

  it("refuses a top-level node or nodes, and a query without a connection", () => {
    expect(problem(`{ node(id: "gid://shopify/Product/1") { id } }`)).toBe(
      "Bulk queries cannot contain a top level `node` field.",
    );
    expect(problem(`{ nodes(ids: ["gid://shopify/Product/1"]) { id } }`)).toBe(
      "Bulk queries cannot contain a top level `nodes` field.",
    );
    expect(problem(`{ shop { name } }`)).toBe("Bulk queries must contain at least one connection.");
  });

  it("refuses a nested connection whose parent node does not select id", () => {
    expect(problem(`{ products { edges { node { title variants { edges { node { id } } } } } } }`)).toBe(
      "The parent 'node' field for a nested connection must select the 'id' field without an alias and must be of 'ID' return type. Connection fields without 'id': products.",
    );
  });

  it("refuses a connection inside a list field", () => {
    expect(
      problem(
        `{ orders { edges { node { id refunds { id refundLineItems { edges { node { id } } } } } } } }`,
      ),
    ).toBe("Queries that contain a connection field within a list field are not currently supported.");
  });
});

describe("bulkOperationRunQuery answers the refusal as a userError", () => {
  let emu: Emulator;
  let s: Seeded;
  beforeAll(async () => {
    emu = await startEmulator();
    s = seedShop(emu);
  });
  afterAll(async () => {
    await emu.close();
  });

  it("with field query and code INVALID, and creates nothing", async () => {
    const r = await gql(
      emu,
      s.token,
      `mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id } userErrors { field message code } } }`,
      { q: `{ products { edges { node { title variants { edges { node { id } } } } } } }` },
    );
    expect(r.body.data.bulkOperationRunQuery.bulkOperation).toBeNull();
    expect(r.body.data.bulkOperationRunQuery.userErrors).toEqual([
      { field: ["query"], message: expect.stringMatching(/^The parent 'node' field/), code: "INVALID" },
    ]);
    expect(emu.control.listBulkOperations("demo.myshopify.com")).toEqual([]);
  });
});
