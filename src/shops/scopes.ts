/**
 * Access scopes: what each flow needs, what the OAuth install asks for, and the check that names
 * a missing scope. As on Shopify, `write_x` implies `read_x` (Shopify reports only the write
 * scope when both were granted).
 */
import type { FlowName } from "../db/tables.ts";

export const FLOW_SCOPES: Readonly<Record<FlowName, readonly string[]>> = {
  inventory_push: ["read_products", "read_locations", "read_inventory", "write_inventory"],
  order_intake: ["read_orders", "write_orders", "read_customers", "read_products"],
  fulfillment_push: [
    "read_orders",
    "read_merchant_managed_fulfillment_orders",
    "write_merchant_managed_fulfillment_orders",
  ],
  catalog_import: ["read_products", "read_inventory"],
  catalog_publish: ["read_products", "write_products"],
  customer_publish: ["read_customers", "write_customers"],
};

/** What the OAuth install requests: every flow's needs, plus what catalog publish and returns will need. */
export const INSTALL_SCOPES: readonly string[] = [
  "read_products",
  "write_products",
  // Catalog publish to sales channels (publishablePublish); asked for, required only when used.
  "write_publications",
  "read_inventory",
  "write_inventory",
  "read_locations",
  "read_orders",
  "write_orders",
  "read_customers",
  "write_customers",
  "read_fulfillments",
  "write_fulfillments",
  "read_merchant_managed_fulfillment_orders",
  "write_merchant_managed_fulfillment_orders",
  "read_returns",
  "write_returns",
];

export function parseScopes(scopes: string | readonly string[] | null | undefined): string[] {
  const list = typeof scopes === "string" ? scopes.split(",") : [...(scopes ?? [])];
  return [...new Set(list.map((s) => s.trim()).filter(Boolean))].sort();
}

export function hasScope(granted: ReadonlySet<string>, needed: string): boolean {
  if (granted.has(needed)) return true;
  return needed.startsWith("read_") && granted.has(`write_${needed.slice(5)}`);
}

export function requiredScopes(flow: FlowName): readonly string[] {
  return FLOW_SCOPES[flow];
}

/**
 * The scopes `flow` needs that the store was not granted. A custom-app store whose scopes could
 * not be read (`scopes` empty) is not checked here: Shopify then answers ACCESS_DENIED naming the
 * scope on the first call that needs it (ShopifyAuthError.missingScope).
 */
export function missingScopes(store: { scopes: string; auth_kind?: string }, flow: FlowName): string[] {
  if (store.auth_kind === "custom_app" && store.scopes === "") return [];
  const granted = new Set(parseScopes(store.scopes));
  return requiredScopes(flow).filter((s) => !hasScope(granted, s));
}
