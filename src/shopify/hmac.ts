/**
 * Shopify's two signatures, compared in constant time:
 * - webhooks: base64 HMAC-SHA256 of the raw body with the app secret (X-Shopify-Hmac-Sha256);
 * - OAuth redirects: hex HMAC-SHA256, with the client secret, of every other query parameter
 *   sorted by name and joined as `k=v` with `&`.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function webhookHmac(rawBody: Buffer | string, secret: string): string {
  return createHmac("sha256", secret).update(rawBody).digest("base64");
}

export function verifyWebhookHmac(
  rawBody: Buffer | string,
  header: string | undefined,
  secret: string,
): boolean {
  if (!header) return false;
  return safeEqual(webhookHmac(rawBody, secret), header);
}

export function oauthQueryMessage(query: Record<string, string | string[] | undefined>): string {
  return Object.keys(query)
    .filter((k) => k !== "hmac" && k !== "signature")
    .sort()
    .map((k) => {
      const v = query[k];
      return `${k}=${Array.isArray(v) ? JSON.stringify(v) : (v ?? "")}`;
    })
    .join("&");
}

export function oauthQueryHmac(query: Record<string, string | string[] | undefined>, secret: string): string {
  return createHmac("sha256", secret).update(oauthQueryMessage(query)).digest("hex");
}

export function verifyOAuthQueryHmac(
  query: Record<string, string | string[] | undefined>,
  secret: string,
): boolean {
  const given = query.hmac;
  if (typeof given !== "string") return false;
  return safeEqual(oauthQueryHmac(query, secret), given.toLowerCase());
}

const SHOP_DOMAIN = /^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$/;
export const isShopDomain = (shop: unknown): shop is string =>
  typeof shop === "string" && SHOP_DOMAIN.test(shop);
