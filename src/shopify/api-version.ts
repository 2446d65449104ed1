/** The one place the Shopify Admin API version is pinned. */
export const SHOPIFY_API_VERSION = "2026-10";
