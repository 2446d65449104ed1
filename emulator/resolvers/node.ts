// `node(id:)` / `nodes(ids:)`: the global-id lookups, for the types the emulator models.
import { gidType, parseGid } from "../gid.ts";
import type { Shop } from "../state.ts";
import { taxonomyCategory } from "../taxonomy.ts";
import type { Ctx, ResolverMap } from "./kit.ts";
import { tag } from "./kit.ts";

const MAPS: Record<string, (s: Shop) => Map<number, object>> = {
  Product: (s) => s.products,
  ProductVariant: (s) => s.variants,
  InventoryItem: (s) => s.inventoryItems,
  Location: (s) => s.locations,
  Order: (s) => s.orders,
  Customer: (s) => s.customers,
  Company: (s) => s.companies,
  FulfillmentOrder: (s) => s.fulfillmentOrders,
  Fulfillment: (s) => s.fulfillments,
  Refund: (s) => s.refunds,
  Return: (s) => s.returns,
  WebhookSubscription: (s) => s.webhookSubscriptions,
  BulkOperation: (s) => s.bulkOperations,
};

/** Types `node(id:)` finds (a bulk operation continues a nested connection through them). */
export const NODE_TYPES: ReadonlySet<string> = new Set(Object.keys(MAPS));

export function lookupNode(ctx: Ctx, id: string): object | null {
  // Taxonomy categories are Shopify's, the same in every shop, with ids such as "aa-1-13".
  if (id.startsWith("gid://shopify/TaxonomyCategory/")) {
    const category = taxonomyCategory(id);
    return category ? tag(category, "TaxonomyCategory") : null;
  }
  const type = gidType(id);
  const map = type ? MAPS[type] : undefined;
  if (!type || !map) return null;
  const n = parseGid(id, type);
  const obj = n === undefined ? undefined : map(ctx.shop).get(n);
  if (!obj) return null;
  if (
    (type === "WebhookSubscription" || type === "BulkOperation") &&
    (obj as { appId: number }).appId !== ctx.app.id
  )
    return null;
  return tag(obj, type);
}

export const nodeResolvers: ResolverMap = {
  QueryRoot: {
    node: (_s, args: { id: string }, ctx) => lookupNode(ctx, args.id),
    nodes: (_s, args: { ids: string[] }, ctx) => args.ids.map((id) => lookupNode(ctx, id)),
  },
};
