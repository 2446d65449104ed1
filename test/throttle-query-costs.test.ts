/**
 * Every GraphQL document the hub sends stays within Shopify's single-query limit (1,000 requested
 * points) under Shopify's cost calculation (the emulator's, emulator/cost.ts: connections sized
 * logarithmically), at the worst case of its variables: each `first` at 250 and each list
 * variable holding 250 ids (Shopify's input limit). A document over it would be refused outright,
 * whatever the bucket holds, so the throttle could never send it. The hub's page sizes were re-
 * tuned to this calculation (issue 18; `npm run bench:costs` prints points per 1,000 orders and
 * levels).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { findOperation, MAX_QUERY_COST, requestedCost } from "../emulator/cost.ts";
import { adminSchema } from "../emulator/schema.ts";
import { ORDERS_PAGE, ORDERS_UPDATED_SINCE_QUERY } from "../src/orders/backfill.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );

const documents = files(join(root, "src"))
  .filter((p) => !p.endsWith("src/shopify/graphql.ts") && !p.endsWith(".test.ts"))
  .flatMap((p) =>
    [...readFileSync(p, "utf8").matchAll(/(?<![\w.$])graphql\s*`((?:\\[\s\S]|[^`\\])*)`/g)].map((m) => ({
      file: relative(root, p),
      text: m[1]!,
    })),
  );

describe("the hub's GraphQL documents under Shopify's cost calculation", () => {
  const schema = adminSchema();
  it.each(
    documents.map((d) => [`${d.file} ${/\b(?:query|mutation)\s+(\w+)/.exec(d.text)?.[1]}`, d] as const),
  )("%s costs at most 1,000 requested points at its worst", (_, d) => {
    const doc = parse(d.text);
    const op = findOperation(doc);
    expect(op).toBeDefined();
    const variables: Record<string, unknown> = {};
    for (const v of op!.variableDefinitions ?? []) {
      if (v.variable.name.value === "first") variables.first = 250;
      else if (JSON.stringify(v.type).includes("ListType"))
        variables[v.variable.name.value] = Array.from({ length: 250 }, (_, i) => `gid://shopify/Node/${i}`);
    }
    expect(requestedCost(schema, doc, op!, variables)).toBeLessThanOrEqual(MAX_QUERY_COST);
  });
  it("reads a page of orders for at most about a point each", () => {
    const doc = parse(ORDERS_UPDATED_SINCE_QUERY);
    const cost = requestedCost(schema, doc, findOperation(doc)!, { first: ORDERS_PAGE, query: "x" });
    expect(ORDERS_PAGE).toBe(250);
    expect(cost / ORDERS_PAGE).toBeLessThan(1.1);
  });
});
