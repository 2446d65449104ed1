/**
 * Shopify access tokens: the OAuth code exchange, and `getAccessToken`, which decrypts a store's
 * token and refreshes an expiring one (single-flight per store) when it lapses within 5 minutes.
 * `getAccessToken` is what the Admin transport calls before each request.
 */
import type { Logger } from "pino";
import { adminUrlTemplateFor, type Config } from "../config/config.ts";
import type { Clock } from "../core/clock.ts";
import type { Database } from "../db/database.ts";
import { ShopifyAuthError, ShopifyTransientError } from "../shopify/errors.ts";
import { logActivity } from "./activity.ts";
import { decryptSecret, encryptSecret, sealedAt } from "./secrets.ts";
import { storeById } from "./stores.ts";

export const REFRESH_MARGIN_MS = 5 * 60 * 1000;

export function adminBase(
  config: Pick<Config, "shopifyAdminUrlTemplate"> & Partial<Pick<Config, "shopifyAdminUrlOverrides">>,
  shop: string,
): string {
  return adminUrlTemplateFor(config, shop).replace("{shop}", shop).replace(/\/$/, "");
}

export interface TokenSet {
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number | null;
  readonly refreshToken: string | null;
  readonly refreshTokenExpiresAt: number | null;
  readonly scopes: string[];
}

interface TokenAnswer {
  access_token?: string;
  scope?: string;
  expires_in?: number;
  refresh_token?: string;
  refresh_token_expires_in?: number;
  error?: string;
  error_description?: string;
}

export interface TokenEndpointOptions {
  readonly config: Pick<Config, "shopifyAdminUrlTemplate" | "shopifyApp">;
  readonly fetch?: typeof fetch;
}

/** POST /admin/oauth/access_token; throws ShopifyAuthError on a refusal, ShopifyTransientError on 5xx/network. */
async function tokenRequest(
  opts: TokenEndpointOptions,
  shop: string,
  params: Record<string, string>,
  now: number,
): Promise<TokenSet> {
  const app = opts.config.shopifyApp;
  if (!app) throw new ShopifyAuthError("no Shopify app is configured (SHOPIFY_API_KEY)", shop, 401);
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(`${adminBase(opts.config, shop)}/admin/oauth/access_token`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ client_id: app.apiKey, client_secret: app.apiSecret, ...params }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new ShopifyTransientError(`token request to ${shop} failed`, shop, undefined, { cause: err });
  }
  const body = (await res.json().catch(() => ({}))) as TokenAnswer;
  if (res.status >= 500)
    throw new ShopifyTransientError(`token endpoint answered ${res.status}`, shop, res.status);
  if (!res.ok || typeof body.access_token !== "string") {
    throw new ShopifyAuthError(
      `Shopify refused the token request: ${body.error ?? res.status}${body.error_description ? ` (${body.error_description})` : ""}`,
      shop,
      res.status >= 400 ? res.status : 401,
    );
  }
  return {
    accessToken: body.access_token,
    accessTokenExpiresAt: typeof body.expires_in === "number" ? now + body.expires_in * 1000 : null,
    refreshToken: body.refresh_token ?? null,
    refreshTokenExpiresAt:
      typeof body.refresh_token_expires_in === "number" ? now + body.refresh_token_expires_in * 1000 : null,
    scopes: (body.scope ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

/** Exchanges an authorization code for an expiring offline token and its refresh token. */
export function exchangeCode(opts: TokenEndpointOptions, shop: string, code: string, now: number) {
  return tokenRequest(opts, shop, { code, expiring: "1" }, now);
}

export function refreshAccessToken(
  opts: TokenEndpointOptions,
  shop: string,
  refreshToken: string,
  now: number,
) {
  return tokenRequest(opts, shop, { grant_type: "refresh_token", refresh_token: refreshToken }, now);
}

export interface TokenKeeperOptions extends TokenEndpointOptions {
  readonly key: Buffer;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface TokenKeeper {
  /** The store's current access token, refreshed first when it lapses within 5 minutes. */
  getAccessToken(database: Database, storeId: number): Promise<string>;
}

export function createTokenKeeper(opts: TokenKeeperOptions): TokenKeeper {
  const inFlight = new Map<number, Promise<string>>();

  async function refresh(database: Database, storeId: number): Promise<string> {
    const store = await storeById(database, storeId);
    if (!store?.refresh_token_enc || store.status !== "active") {
      throw new ShopifyAuthError("the store has no refresh token", store?.domain ?? String(storeId), 401);
    }
    const now = opts.clock.now();
    // Another process may have refreshed already (PostgreSQL mode): reuse a fresh token.
    if (
      store.access_token_enc &&
      store.access_token_expires_at !== null &&
      Number(store.access_token_expires_at) - now > REFRESH_MARGIN_MS
    ) {
      return decryptSecret(
        store.access_token_enc,
        opts.key,
        sealedAt.storeColumn("access_token_enc", store.domain),
      );
    }
    const previous = store.refresh_token_enc;
    let next: TokenSet;
    try {
      next = await refreshAccessToken(
        opts,
        store.domain,
        decryptSecret(previous, opts.key, sealedAt.storeColumn("refresh_token_enc", store.domain)),
        now,
      );
    } catch (err) {
      opts.logger.error({ store: store.domain, err: (err as Error).message }, "token refresh failed");
      await logActivity(
        database.db,
        {
          storeId,
          flow: "connection",
          kind: "token_refresh_failed",
          level: "error",
          message: `refreshing the access token failed: ${(err as Error).message}`,
        },
        now,
      );
      throw err;
    }
    await database.db
      .updateTable("stores")
      .set({
        access_token_enc: encryptSecret(
          next.accessToken,
          opts.key,
          sealedAt.storeColumn("access_token_enc", store.domain),
        ),
        access_token_expires_at: next.accessTokenExpiresAt,
        refresh_token_enc:
          next.refreshToken === null
            ? previous
            : encryptSecret(
                next.refreshToken,
                opts.key,
                sealedAt.storeColumn("refresh_token_enc", store.domain),
              ),
        refresh_token_expires_at:
          next.refreshToken === null ? store.refresh_token_expires_at : next.refreshTokenExpiresAt,
        updated_at: now,
      })
      .where("id", "=", storeId)
      .where("refresh_token_enc", "=", previous)
      .execute();
    opts.logger.info({ store: store.domain }, "access token refreshed");
    return next.accessToken;
  }

  return {
    async getAccessToken(database, storeId) {
      const store = await storeById(database, storeId);
      if (!store) throw new ShopifyAuthError(`no store with id ${storeId}`, String(storeId), 401);
      if (store.status !== "active" || !store.access_token_enc) {
        throw new ShopifyAuthError(`${store.domain} is disconnected`, store.domain, 401);
      }
      const expiresAt = store.access_token_expires_at === null ? null : Number(store.access_token_expires_at);
      if (expiresAt === null || expiresAt - opts.clock.now() > REFRESH_MARGIN_MS) {
        return decryptSecret(
          store.access_token_enc,
          opts.key,
          sealedAt.storeColumn("access_token_enc", store.domain),
        );
      }
      let p = inFlight.get(storeId);
      if (!p) {
        p = refresh(database, storeId).finally(() => inFlight.delete(storeId));
        inFlight.set(storeId, p);
      }
      return p;
    },
  };
}
