// The full resolver map: domain maps merged, plus the generic Connection/Edge/UserError readers
// derived from the schema. Anything not listed here answers "not implemented".
import { type GraphQLSchema, isObjectType } from "graphql";
import { adminSchema } from "../schema.ts";
import { bulkResolvers } from "./bulk.ts";
import { bulkMutationResolvers } from "./bulk-mutation.ts";
import { catalogResolvers } from "./catalog.ts";
import { customerResolvers } from "./customers.ts";
import { inventoryResolvers } from "./inventory.ts";
import type { ResolverMap, TypeResolvers } from "./kit.ts";
import { nodeResolvers } from "./node.ts";
import { orderFlowResolvers } from "./order-flows.ts";
import { orderMoneyResolvers } from "./order-money.ts";
import { orderResolvers } from "./orders.ts";
import { priceListResolvers } from "./price-lists.ts";
import { publishResolvers } from "./publish.ts";
import { returnResolvers } from "./returns.ts";
import { shopResolvers } from "./shop.ts";
import { webhookResolvers } from "./webhooks.ts";

const domainMaps: ResolverMap[] = [
  shopResolvers,
  catalogResolvers,
  inventoryResolvers,
  orderResolvers,
  orderMoneyResolvers,
  webhookResolvers,
  bulkResolvers,
  // After bulk: staged uploads and bulkOperationRunMutation (issue 16).
  bulkMutationResolvers,
  nodeResolvers,
  returnResolvers,
  // After orders and returns: adds pickup, moves, cancel/close and the returns lifecycle.
  orderFlowResolvers,
  // After catalog: productSet identifier forms, metafield definitions, variant cost (issue 16).
  publishResolvers,
  // Price lists, catalogs and fixed prices (issue 16).
  priceListResolvers,
  // After orders: customerSet, marketing consent, companies' locations, contacts and roles (issue 16).
  customerResolvers,
];

function generic(schema: GraphQLSchema): ResolverMap {
  const out: ResolverMap = {};
  for (const t of Object.values(schema.getTypeMap())) {
    if (!isObjectType(t) || t.name.startsWith("__")) continue;
    const fields = t.getFields();
    const reader = (names: string[]): TypeResolvers =>
      Object.fromEntries(
        names.filter((n) => n in fields).map((n) => [n, (s: Record<string, unknown>) => s[n] ?? null]),
      );
    if (t.name.endsWith("Connection") && ("edges" in fields || "nodes" in fields)) {
      out[t.name] = reader(["edges", "nodes", "pageInfo"]);
    } else if (t.name.endsWith("Edge") && "node" in fields && "cursor" in fields) {
      out[t.name] = reader(["node", "cursor"]);
    } else if (t.name.endsWith("UserError") && "message" in fields) {
      out[t.name] = reader(["message", "field", "code"]);
    }
  }
  return out;
}

let cached: ResolverMap | undefined;

export function allResolvers(): ResolverMap {
  if (cached) return cached;
  const merged: ResolverMap = generic(adminSchema());
  for (const m of domainMaps) {
    for (const [typeName, fields] of Object.entries(m))
      merged[typeName] = { ...(merged[typeName] ?? {}), ...fields };
  }
  cached = merged;
  return merged;
}
