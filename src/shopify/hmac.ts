/**
 * Shopify's two signatures, compared in constant time:
 * - webhooks: base64 HMAC-SHA256 of the raw body with the app secret (X-Shopify-Hmac-Sha256);
 * - OAuth redirects: hex HMAC-SHA256, with the client secret, of every other query parameter
 *   sorted by name and URL-encoded as a query string (`state=a%2Fb%3D` for `a/b=`): what Shopify
 *   signs and its own library checks (@shopify/shopify-api `validateHmac` builds URLSearchParams
 *   of the sorted keys). Joining raw values failed every callback whose state held `/`, `:` or `=`.
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
  const message = new URLSearchParams();
  for (const k of Object.keys(query)
    .filter((k) => k !== "hmac" && k !== "signature")
    .sort((a, b) => a.localeCompare(b))) {
    const v = query[k];
    if (Array.isArray(v)) for (const item of v) message.append(`${k}[]`, item);
    else message.append(k, v ?? "");
  }
  return message.toString();
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
