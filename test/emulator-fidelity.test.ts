// Emulator fidelity: each example Shopify documents, sent to the emulator over HTTP, answers with the
// documented shape, codes and costs; and every GraphQL document the hub sends (graphql`…` in src/)
// passes what Shopify checks before running it (single-query cost limit, bulk-query restrictions).
// Sources are cited per case; what the emulator still does differently is listed in emulator/README.md.

import { readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type DocumentNode, Kind, type OperationDefinitionNode, parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bulkQueryProblem } from "../emulator/bulk-validation.ts";
import { findOperation, isConnectionType, MAX_QUERY_COST, requestedCost } from "../emulator/cost.ts";
import { type Emulator, signWebhook, startEmulator } from "../emulator/index.ts";
import { adminSchema } from "../emulator/schema.ts";
import { gql, type Seeded, SHOP, seedShop } from "../emulator/test-helpers.ts";

let emu: Emulator;
let s: Seeded;

beforeAll(async () => {
  emu = await startEmulator({ testOnlyAllowPlainHttpWebhooks: true });
  s = seedShop(emu);
});
afterAll(async () => {
  await emu.close();
});

async function raw(path: string, body: unknown, token: string | undefined = s.token) {
  const res = await fetch(`${emu.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { "X-Shopify-Access-Token": token } : {}) },
    body: JSON.stringify(body),
  });
  return { res, body: (await res.json()) as Record<string, unknown> };
}
const GQL = `/${SHOP}/admin/api/2026-10/graphql.json`;

describe("documented example requests (shopify.dev/docs/api/admin-graphql)", () => {
  it("'Request/Response': products(first: 1) { edges { node { title } } } costs 3 requested, 3 actual", async () => {
    const r = await raw(GQL, { query: "{ products(first: 1) { edges { node { title } } } }" });
    expect(r.res.status).toBe(200);
    expect(r.body).toEqual({
      data: { products: { edges: [{ node: { title: "Shirt" } }] } },
      extensions: {
        cost: {
          requestedQueryCost: 3,
          actualQueryCost: 3,
          throttleStatus: {
            maximumAvailable: expect.any(Number),
            currentlyAvailable: expect.any(Number),
            restoreRate: expect.any(Number),
          },
        },
      },
    });
  });

  it("'Cost calculation' (rate-limits page): a shop object 1, its scalars 0; a mutation 10", async () => {
    const shop = await gql(emu, s.token, "{ shop { id name currencyCode } }");
    expect(shop.body.extensions.cost).toMatchObject({ requestedQueryCost: 1, actualQueryCost: 1 });
    const m = await gql(
      emu,
      s.token,
      `mutation { tagsAdd(id: "gid://shopify/Order/1", tags: ["x"]) { userErrors { message } } }`,
    );
    expect(m.body.extensions.cost.requestedQueryCost).toBe(10);
  });

  it("community.shopify.dev/t/23101: product(id) { variants(first: 250) … } requested 25, actual 1 for a missing product", async () => {
    const r = await gql(
      emu,
      s.token,
      `query getVariantsInventoryItem($id: ID!) { product(id: $id) { variants(first: 250) { nodes { inventoryItem { id tracked } } } } }`,
      { id: "gid://shopify/Product/999999999" },
    );
    expect(r.body.data).toEqual({ product: null });
    expect(r.body.extensions.cost).toMatchObject({ requestedQueryCost: 25, actualQueryCost: 1 });
  });

  it("rate-limits page, 'GraphQL response': X-GraphQL-Cost-Include-Fields: true adds the per-field breakdown", async () => {
    const res = await fetch(`${emu.url}${GQL}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-Shopify-Access-Token": s.token,
        "X-GraphQL-Cost-Include-Fields": "true",
      },
      body: JSON.stringify({ query: "{ shop { name } }" }),
    });
    const body = (await res.json()) as { extensions: { cost: Record<string, unknown> } };
    expect(body.extensions.cost["fields"]).toEqual([
      { path: ["shop", "name"], definedCost: 0, requestedTotalCost: 0, requestedChildrenCost: null },
      { path: ["shop"], definedCost: 1, requestedTotalCost: 1, requestedChildrenCost: 0 },
    ]);
    const plain = await raw(GQL, { query: "{ shop { name } }" });
    expect((plain.body["extensions"] as { cost: object }).cost).not.toHaveProperty("fields");
  });

  it("'Sample 200 error responses': MAX_COST_EXCEEDED's message and extensions", async () => {
    const r = await gql(
      emu,
      s.token,
      `{ products(first: 250) { nodes { variants(first: 250) { nodes {
        inventoryItem { inventoryLevels(first: 250) { nodes { id location { id } } } } } } } } }`,
    );
    const e = r.body.errors[0];
    expect(e.message).toBe(
      `Query cost is ${e.extensions.cost}, which exceeds the single query max cost limit (1000).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n`,
    );
    expect(Object.keys(e.extensions).sort()).toEqual(["code", "cost", "documentation", "maxCost"]);
    expect(r.body.data).toBeUndefined();
  });

  it("'Sample error codes': 400, 401, 404 bodies; every answer has x-request-id", async () => {
    const bad = await raw(GQL, { variables: {} });
    expect(bad.res.status).toBe(400);
    expect(bad.body).toEqual({ errors: { query: "Required parameter missing or invalid" } });
    const unauth = await raw(GQL, { query: "{ shop { name } }" }, "shpat_wrong");
    expect(unauth.res.status).toBe(401);
    expect(unauth.body).toEqual({
      errors: "[API] Invalid API key or access token (unrecognized login or wrong password)",
    });
    const missing = await raw(`/${SHOP}/admin/api/2099-01/graphql.json`, { query: "{ shop { name } }" });
    expect(missing.res.status).toBe(404);
    expect(missing.body).toEqual({ errors: "Not Found" });
    for (const r of [bad, unauth, missing]) expect(r.res.headers.get("x-request-id")).toBeTruthy();
  });
});

describe("webhook deliveries as shopify.dev/docs/apps/build/webhooks documents them", () => {
  let server: Server;
  const got: { headers: IncomingMessage["headers"]; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        got.push({ headers: req.headers, body });
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("carry the documented headers, an HMAC of the raw body, and Shopify's User-Agent", async () => {
    const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    await gql(
      emu,
      s.token,
      `mutation($uri: String!) { webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: { uri: $uri }) { userErrors { message } } }`,
      { uri },
    );
    emu.control.placeOrder(SHOP, { lineItems: [{ sku: s.sku, quantity: 1 }] });
    await emu.control.webhooksIdle();
    const h = got.find((x) => x.headers["x-shopify-topic"] === "orders/create")!;
    expect(h.headers).toMatchObject({
      "content-type": "application/json",
      "user-agent": "Shopify-Captain-Hook",
      "x-shopify-topic": "orders/create",
      "x-shopify-shop-domain": SHOP,
      "x-shopify-api-version": "2026-10",
      "x-shopify-hmac-sha256": signWebhook(h.body, s.clientSecret),
    });
    for (const k of ["x-shopify-webhook-id", "x-shopify-event-id", "x-shopify-triggered-at"])
      expect(h.headers[k], k).toBeTruthy();
  });
});

// ---- the hub's own documents ----

const root = fileURLToPath(new URL("..", import.meta.url));

function hubDocuments(): { where: string; text: string }[] {
  const out: { where: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") && !p.endsWith("shopify/graphql.ts")) {
        const src = readFileSync(p, "utf8");
        for (const m of src.matchAll(/(?<![\w.$])graphql\s*`((?:\\[\s\S]|[^`\\])*)`/g)) {
          out.push({
            where: `${relative(root, p)}:${src.slice(0, m.index).split("\n").length}`,
            text: m[1]!,
          });
        }
      }
    }
  };
  walk(join(root, "src"));
  return out;
}

/** A query whose root connection has no first/last is a bulk query (a plain one must page). */
function isBulk(doc: DocumentNode, op: OperationDefinitionNode): boolean {
  const q = adminSchema().getQueryType()!;
  return (
    op.selectionSet.selections.some((sel) => {
      if (sel.kind !== Kind.FIELD) return false;
      const f = q.getFields()[sel.name.value];
      if (!f) return false;
      let t = f.type;
      while ("ofType" in t && t.ofType) t = t.ofType as typeof t;
      return (
        isConnectionType(t as never) &&
        !sel.arguments?.some((a) => a.name.value === "first" || a.name.value === "last")
      );
    }) && doc.definitions.length > 0
  );
}

describe("the hub's documents pass Shopify's pre-execution checks", () => {
  const docs = hubDocuments();
  it("finds them", () => {
    expect(docs.length).toBeGreaterThan(10);
  });

  it("bulk queries respect the bulk restrictions; every other query stays under 1,000 points even at 250 per page", () => {
    const schema = adminSchema();
    const report: string[] = [];
    for (const d of docs) {
      const doc = parse(d.text);
      const op = findOperation(doc);
      if (op?.operation !== "query") continue;
      if (isBulk(doc, op)) {
        expect(bulkQueryProblem(schema, doc), d.where).toBeUndefined();
        report.push(`${d.where} bulk`);
        continue;
      }
      // Variables that size pages are unknown here: 250 each (the largest page) is the worst case.
      const worst: Record<string, unknown> = {};
      for (const v of op.variableDefinitions ?? []) worst[v.variable.name.value] = 250;
      const cost = requestedCost(schema, doc, op, worst);
      report.push(`${d.where} ${cost}`);
      expect(cost, `${d.where} at 250 per page`).toBeLessThanOrEqual(MAX_QUERY_COST);
    }
    console.log(`requested cost of the hub's queries (variables at 250):\n${report.join("\n")}`);
  });
});
