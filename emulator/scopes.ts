// Access scopes: write_x implies read_x, as on Shopify.

export function hasScope(scopes: ReadonlySet<string>, needed: string): boolean {
  if (scopes.has(needed)) return true;
  if (needed.startsWith("read_")) return scopes.has(`write_${needed.slice(5)}`);
  // Shopify's fulfillment scopes: write_fulfillments covers merchant-managed fulfillment orders in practice.
  if (needed.endsWith("merchant_managed_fulfillment_orders")) {
    return (
      scopes.has(needed.replace("merchant_managed_fulfillment_orders", "fulfillments")) ||
      scopes.has("write_fulfillments")
    );
  }
  return false;
}
