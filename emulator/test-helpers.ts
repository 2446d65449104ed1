// Helpers for the emulator's own tests (and usable by the hub's tests): a seeded shop and a client.
import type { Emulator } from "./index.ts";

export const SHOP = "demo.myshopify.com";

export interface Seeded {
  clientId: string;
  clientSecret: string;
  token: string;
  locationId: string;
  variantId: string;
  inventoryItemId: string;
  sku: string;
}

export function seedShop(emu: Emulator, shop = SHOP, scopes?: string[]): Seeded {
  const c = emu.control;
  const app = c.createApp({
    name: "Tillbridge",
    scopes: scopes ?? [
      "read_products",
      "write_products",
      "write_inventory",
      "read_locations",
      "write_orders",
      "read_customers",
      "write_fulfillments",
      "write_merchant_managed_fulfillment_orders",
      "write_returns",
    ],
  });
  c.createShop({ domain: shop, plan: "standard" });
  const loc = c.createLocation(shop, { name: "Warehouse" });
  const product = c.createProduct(shop, {
    title: "Shirt",
    variants: [{ sku: "SKU-1", barcode: "111", price: "10.00", inventory: { [loc.id]: 10 } }],
  });
  const { accessToken } = c.mintToken({ shop, clientId: app.clientId });
  const v = product.variants[0]!;
  return {
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    token: accessToken,
    locationId: loc.id,
    variantId: v.id,
    inventoryItemId: v.inventoryItemId,
    sku: "SKU-1",
  };
}

export interface GqlResult {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected ad hoc
  body: any;
}

export async function gql(
  emu: Emulator,
  token: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
  shop = SHOP,
): Promise<GqlResult> {
  const res = await fetch(`${emu.url}/${shop}/admin/api/2026-10/graphql.json`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { "X-Shopify-Access-Token": token } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
