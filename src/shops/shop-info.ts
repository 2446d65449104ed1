/** Verifies a token with a test call and reads the shop's name and the granted scopes. */
import { ShopifyQueryError } from "../shopify/errors.ts";
import { graphql } from "../shopify/graphql.ts";
import type { AdminTransport } from "../shopify/transport.ts";

export const SHOP_NAME_QUERY = graphql`
  query TillbridgeShopName {
    shop {
      name
      myshopifyDomain
    }
  }
`;

export const ACCESS_SCOPES_QUERY = graphql`
  query TillbridgeAccessScopes {
    currentAppInstallation {
      accessScopes {
        handle
      }
    }
  }
`;

export interface ShopInfo {
  readonly name: string;
  /** null when the scopes could not be read (the check is then left to Shopify's ACCESS_DENIED). */
  readonly scopes: string[] | null;
}

/** Throws the transport's ShopifyAuthError for a bad token. */
export async function readShopInfo(transport: AdminTransport): Promise<ShopInfo> {
  const shop = await transport.graphql<{ shop: { name: string; myshopifyDomain: string } }>(
    SHOP_NAME_QUERY,
    {},
  );
  let scopes: string[] | null = null;
  try {
    const r = await transport.graphql<{
      currentAppInstallation: { accessScopes: { handle: string }[] } | null;
    }>(ACCESS_SCOPES_QUERY, {});
    scopes = r.data.currentAppInstallation?.accessScopes.map((s) => s.handle) ?? null;
  } catch (err) {
    if (!(err instanceof ShopifyQueryError)) throw err;
  }
  return { name: shop.data.shop.name, scopes };
}
