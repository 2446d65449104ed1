/**
 * The authorization-code install: a signed, single-use `state` (stored, 10 minutes), the callback's
 * `hmac` checked in constant time, the code exchanged for an expiring offline token. Any refusal
 * stores nothing (except burning the state, which is single-use even when the callback fails).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Config } from "../config/config.ts";
import { AppError } from "../core/errors.ts";
import type { Database } from "../db/database.ts";
import { ShopifyError } from "../shopify/errors.ts";
import { isShopDomain, verifyOAuthQueryHmac } from "../shopify/hmac.ts";
import { INSTALL_SCOPES } from "./scopes.ts";
import { type Connection, saveConnection } from "./stores.ts";
import { adminBase, exchangeCode } from "./tokens.ts";

export const STATE_TTL_MS = 10 * 60 * 1000;

type AppConfig = Pick<Config, "shopifyApp" | "publicUrl" | "shopifyAdminUrlTemplate">;

function requireApp(config: AppConfig) {
  if (!config.shopifyApp) {
    throw new AppError(
      "SHOPIFY_APP_NOT_CONFIGURED",
      "OAuth installs need SHOPIFY_API_KEY and SHOPIFY_API_SECRET; without them connect a store with a custom-app token (POST /api/v1/stores)",
    );
  }
  return config.shopifyApp;
}

export function normaliseShop(shop: unknown): string {
  if (!isShopDomain(shop)) {
    throw new AppError(
      "INVALID_SHOP_DOMAIN",
      "the shop must be a Shopify domain like your-store.myshopify.com",
      [
        {
          path: "shop",
          code: "INVALID_SHOP_DOMAIN",
          message: `${String(shop).slice(0, 100)} is not <name>.myshopify.com`,
        },
      ],
    );
  }
  return shop.toLowerCase();
}

const sign = (secret: string, nonce: string, shop: string) =>
  createHmac("sha256", secret).update(`${nonce}|${shop}`).digest("base64url");

export const redirectUri = (config: Pick<Config, "publicUrl">) => `${config.publicUrl}/shopify/callback`;

/** Unanswered installs kept at most (each expires after STATE_TTL_MS); more are refused. */
export const MAX_PENDING_STATES = 1000;

/**
 * Deletes states one TTL after they expired (kept that long so a late callback is told "expired"
 * or "already used" rather than "unknown"); every install runs it first.
 */
export async function expireOAuthStates(database: Database, now: number): Promise<number> {
  const r = await database.db
    .deleteFrom("oauth_states")
    .where("expires_at", "<", now - STATE_TTL_MS)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Creates the state and returns the URL of Shopify's authorization screen for `shop`. */
export async function beginInstall(
  database: Database,
  config: AppConfig,
  shopInput: unknown,
  now: number,
): Promise<{ url: string; state: string }> {
  const app = requireApp(config);
  const shop = normaliseShop(shopInput);
  const nonce = randomBytes(24).toString("base64url");
  const state = `${nonce}.${sign(app.apiSecret, nonce, shop)}`;
  await expireOAuthStates(database, now);
  const pending = await database.db
    .selectFrom("oauth_states")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("used_at", "is", null)
    .where("expires_at", ">", now)
    .executeTakeFirstOrThrow();
  if (Number(pending.n) >= MAX_PENDING_STATES)
    throw new AppError(
      "RATE_LIMITED",
      `${MAX_PENDING_STATES} installs are already waiting for Shopify's answer; try again in a few minutes`,
    );
  await database.db
    .insertInto("oauth_states")
    .values({ state, shop, created_at: now, expires_at: now + STATE_TTL_MS, used_at: null })
    .execute();
  const url = new URL(`${adminBase(config, shop)}/admin/oauth/authorize`);
  url.searchParams.set("client_id", app.apiKey);
  url.searchParams.set("scope", INSTALL_SCOPES.join(","));
  url.searchParams.set("redirect_uri", redirectUri(config));
  url.searchParams.set("state", state);
  return { url: url.toString(), state };
}

const refuse = (message: string, code = "INVALID_OAUTH_CALLBACK") =>
  new AppError("INVALID_OAUTH_CALLBACK", message, [{ code, message }]);

export interface CallbackDeps {
  readonly key: Buffer;
  readonly fetch?: typeof fetch;
}

/**
 * Verifies the callback and stores the connection; returns the store id and domain. Order of
 * checks: shop domain, hmac, then the state (claimed atomically so it is used once).
 */
export async function completeInstall(
  database: Database,
  config: AppConfig,
  deps: CallbackDeps,
  query: Record<string, string | string[] | undefined>,
  now: number,
): Promise<{ storeId: number; domain: string; scopes: string[] }> {
  const app = requireApp(config);
  const shop = normaliseShop(query.shop);
  if (!verifyOAuthQueryHmac(query, app.apiSecret)) {
    throw refuse(
      "the callback's hmac does not match: this request did not come from Shopify",
      "HMAC_MISMATCH",
    );
  }
  const state = typeof query.state === "string" ? query.state : "";
  const code = typeof query.code === "string" ? query.code : "";
  const row = state
    ? await database.db.selectFrom("oauth_states").selectAll().where("state", "=", state).executeTakeFirst()
    : undefined;
  if (!row) throw refuse("unknown state: start the install again from the hub", "UNKNOWN_STATE");
  // Burn it first: whatever happens next, this state cannot be used again.
  const claimed = await database.db
    .updateTable("oauth_states")
    .set({ used_at: now })
    .where("state", "=", state)
    .where("used_at", "is", null)
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1) throw refuse("this state was already used", "STATE_REUSED");
  const [nonce = "", signature = ""] = state.split(".");
  const expected = Buffer.from(sign(app.apiSecret, nonce, row.shop));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw refuse("the state's signature is invalid", "STATE_FORGED");
  }
  if (row.shop !== shop)
    throw refuse(`this state was issued for another shop, not ${shop}`, "STATE_SHOP_MISMATCH");
  if (Number(row.expires_at) <= now)
    throw refuse("the state expired: start the install again", "STATE_EXPIRED");
  if (!code) throw refuse("the callback carries no code", "MISSING_CODE");

  let tokens: Awaited<ReturnType<typeof exchangeCode>>;
  try {
    tokens = await exchangeCode({ config, fetch: deps.fetch }, shop, code, now);
  } catch (err) {
    if (err instanceof ShopifyError) {
      throw new AppError(
        "SHOPIFY_ERROR",
        `Shopify refused the code exchange for ${shop}: ${err.message}`,
        [],
        {
          cause: err,
        },
      );
    }
    throw err;
  }
  const connection: Connection = {
    domain: shop,
    name: shop.replace(/\.myshopify\.com$/, ""),
    authKind: "oauth",
    accessToken: tokens.accessToken,
    accessTokenExpiresAt: tokens.accessTokenExpiresAt,
    refreshToken: tokens.refreshToken,
    refreshTokenExpiresAt: tokens.refreshTokenExpiresAt,
    scopes: tokens.scopes,
  };
  const storeId = await saveConnection(database, connection, deps.key, now);
  return { storeId, domain: shop, scopes: tokens.scopes };
}
