// Authorization-code OAuth, expiring offline tokens with refresh, custom-app tokens, and the
// per-request token check. Times come from the store's controllable clock.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { AccessToken, App, Shop, Store } from "./state.ts";

export const ACCESS_TOKEN_TTL_S = 3600;
export const REFRESH_TOKEN_TTL_S = 90 * 24 * 3600;
export const ONLINE_TOKEN_TTL_S = 24 * 3600 - 1;
const CODE_TTL_MS = 10 * 60 * 1000;

export const INVALID_TOKEN_BODY = {
  errors: "[API] Invalid API key or access token (unrecognized login or wrong password)",
};

function secret(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString("hex")}`;
}

/** Shopify's OAuth hmac: hex HMAC-SHA256 over the other parameters sorted as k=v joined by &. */
export function oauthHmac(params: Record<string, string>, clientSecret: string): string {
  const msg = Object.keys(params)
    .filter((k) => k !== "hmac" && k !== "signature")
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join("&");
  return createHmac("sha256", clientSecret).update(msg).digest("hex");
}

export function parseScopes(s: unknown): string[] {
  if (Array.isArray(s)) return s.map(String);
  if (typeof s !== "string") return [];
  return s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
}

export type AuthorizeResult =
  | { kind: "redirect"; location: string }
  | { kind: "page"; html: string }
  | { kind: "error"; status: number; message: string };

export interface AuthorizeQuery {
  client_id?: string;
  scope?: string;
  redirect_uri?: string;
  state?: string;
  "grant_options[]"?: string | string[];
}

function issueRedirect(store: Store, shop: Shop, app: App, q: AuthorizeQuery): AuthorizeResult {
  const grant = ([] as string[]).concat(q["grant_options[]"] ?? []);
  const code = randomBytes(16).toString("hex");
  store.codes.set(code, {
    value: code,
    appId: app.id,
    shop: shop.domain,
    scopes: q.scope !== undefined ? parseScopes(q.scope) : app.scopes,
    expiresAt: store.clock.now() + CODE_TTL_MS,
    used: false,
    perUser: grant.includes("per-user"),
  });
  const params: Record<string, string> = {
    code,
    // Shopify also sends `host`: base64 of the shop's admin URL.
    host: Buffer.from(`admin.shopify.com/store/${shop.domain.split(".")[0]}`).toString("base64url"),
    shop: shop.domain,
    state: q.state ?? "",
    timestamp: String(Math.floor(store.clock.now() / 1000)),
  };
  params["hmac"] = oauthHmac(params, app.clientSecret);
  const url = new URL(q.redirect_uri!);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return { kind: "redirect", location: url.toString() };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function authorize(store: Store, shop: Shop, q: AuthorizeQuery, approved: boolean): AuthorizeResult {
  const app = q.client_id ? store.appByClientId(q.client_id) : undefined;
  if (!app)
    return { kind: "error", status: 400, message: "Oauth error invalid_request: The client_id is invalid" };
  if (!q.redirect_uri || !/^https?:\/\//.test(q.redirect_uri)) {
    return {
      kind: "error",
      status: 400,
      message: "Oauth error invalid_request: The redirect_uri is missing or not whitelisted",
    };
  }
  if (shop.oauthMode === "page" && !approved) {
    const hidden = Object.entries(q)
      .flatMap(([k, v]) =>
        ([] as string[])
          .concat(v ?? [])
          .map((x) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(x)}">`),
      )
      .join("");
    const scopes = q.scope ? parseScopes(q.scope) : app.scopes;
    return {
      kind: "page",
      html: `<!doctype html><html><head><title>Install ${escapeHtml(app.name)}</title></head><body>
<h1>Install ${escapeHtml(app.name)} on ${escapeHtml(shop.domain)}</h1>
<p>This app will be able to: ${scopes.map(escapeHtml).join(", ")}</p>
<form method="post" action="authorize">${hidden}<button type="submit" id="install">Install</button></form>
</body></html>`,
    };
  }
  return issueRedirect(store, shop, app, q);
}

export interface TokenResponse {
  status: number;
  body: Record<string, unknown>;
}

function oauthError(error: string, description: string, status = 400): TokenResponse {
  return { status, body: { error, error_description: description } };
}

function mintAccessToken(
  store: Store,
  app: App,
  shop: string,
  scopes: string[],
  kind: AccessToken["kind"],
  fromRefresh?: string,
): AccessToken {
  const prefix = kind === "custom" ? "shpat" : kind === "online" ? "shpua" : "shpca";
  const now = store.clock.now();
  const ttl = kind === "expiring" ? ACCESS_TOKEN_TTL_S : kind === "online" ? ONLINE_TOKEN_TTL_S : null;
  const t: AccessToken = {
    value: secret(prefix),
    appId: app.id,
    shop,
    scopes,
    kind,
    createdAt: now,
    expiresAt: ttl === null ? null : now + ttl * 1000,
    revoked: false,
    fromRefresh,
    used: false,
  };
  store.tokens.set(t.value, t);
  return t;
}

function expiringPair(
  store: Store,
  app: App,
  shop: string,
  scopes: string[],
  previous?: string,
): Record<string, unknown> {
  const refresh = {
    value: secret("shprt"),
    appId: app.id,
    shop,
    scopes,
    expiresAt: store.clock.now() + REFRESH_TOKEN_TTL_S * 1000,
    revoked: false,
    previous,
  };
  store.refreshTokens.set(refresh.value, refresh);
  const t = mintAccessToken(store, app, shop, scopes, "expiring", previous);
  return {
    access_token: t.value,
    scope: scopes.join(","),
    expires_in: ACCESS_TOKEN_TTL_S,
    refresh_token: refresh.value,
    refresh_token_expires_in: REFRESH_TOKEN_TTL_S,
  };
}

function installApp(shop: Shop, app: App, scopes: string[], at: string): void {
  shop.installations.set(app.id, { scopes, installedAt: shop.installations.get(app.id)?.installedAt ?? at });
}

/** POST /admin/oauth/access_token: code exchange (optionally expiring) or refresh. */
export function accessToken(store: Store, shop: Shop, body: Record<string, unknown>): TokenResponse {
  const str = (k: string) =>
    typeof body[k] === "string" ? (body[k] as string) : body[k] == null ? undefined : String(body[k]);
  const app = str("client_id") ? store.appByClientId(str("client_id")!) : undefined;
  if (!app || str("client_secret") !== app.clientSecret) {
    return oauthError("invalid_client", "Client credentials are invalid", 401);
  }
  const now = store.clock.now();
  if (str("grant_type") === "refresh_token") {
    const rt = store.refreshTokens.get(str("refresh_token") ?? "");
    if (!rt || rt.revoked || rt.appId !== app.id || rt.shop !== shop.domain || rt.expiresAt <= now) {
      return oauthError("invalid_grant", "The refresh token is invalid, expired or revoked");
    }
    if (!shop.installations.has(app.id))
      return oauthError("invalid_grant", "The app is not installed on this shop");
    return { status: 200, body: expiringPair(store, app, shop.domain, rt.scopes, rt.value) };
  }
  const code = store.codes.get(str("code") ?? "");
  if (!code || code.used || code.appId !== app.id || code.shop !== shop.domain || code.expiresAt <= now) {
    if (code) code.used = true;
    return oauthError("invalid_request", "The authorization code was not found or was already used");
  }
  code.used = true;
  installApp(shop, app, code.scopes, store.nowIso());
  if (code.perUser) {
    const t = mintAccessToken(store, app, shop.domain, code.scopes, "online");
    return {
      status: 200,
      body: {
        access_token: t.value,
        scope: code.scopes.join(","),
        expires_in: ONLINE_TOKEN_TTL_S,
        associated_user_scope: code.scopes.join(","),
        associated_user: {
          id: 1,
          first_name: "Emu",
          last_name: "Lator",
          email: "staff@example.com",
          account_owner: true,
        },
      },
    };
  }
  const expiring = str("expiring") === "1" || body["expiring"] === true;
  if (expiring) return { status: 200, body: expiringPair(store, app, shop.domain, code.scopes) };
  const t = mintAccessToken(store, app, shop.domain, code.scopes, "offline");
  return { status: 200, body: { access_token: t.value, scope: code.scopes.join(",") } };
}

/** A custom-app admin token (Shopify admin → Develop apps) for an app created through control. */
export function mintCustomToken(store: Store, shop: Shop, app: App, scopes: string[]): AccessToken {
  installApp(shop, app, scopes, store.nowIso());
  return mintAccessToken(store, app, shop.domain, scopes, "custom");
}

export type AuthResult = { ok: true; token: AccessToken; app: App } | { ok: false };

/** The check every Admin API call makes. First use of a refreshed token retires the previous refresh token. */
export function authenticate(store: Store, shop: Shop, header: string | undefined): AuthResult {
  if (!header) return { ok: false };
  const t = store.tokens.get(header);
  if (!t || t.revoked || t.shop !== shop.domain) return { ok: false };
  if (t.expiresAt !== null && t.expiresAt <= store.clock.now()) return { ok: false };
  const app = store.apps.get(t.appId);
  if (!app || !shop.installations.has(app.id)) return { ok: false };
  if (!t.used) {
    t.used = true;
    if (t.fromRefresh) {
      const prev = store.refreshTokens.get(t.fromRefresh);
      if (prev) prev.revoked = true;
    }
  }
  return { ok: true, token: t, app };
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
