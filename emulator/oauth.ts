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

/**
 * Shopify's OAuth hmac: hex HMAC-SHA256 over the other parameters sorted by name and URL-encoded
 * as a query string (`state=a%2Fb%3D` for `a/b=`), which is what Shopify's own library checks
 * (@shopify/shopify-api `validateHmac`: URLSearchParams of the sorted keys).
 */
export function oauthHmac(params: Record<string, string>, clientSecret: string): string {
  const q = new URLSearchParams();
  for (const k of Object.keys(params)
    .filter((k) => k !== "hmac" && k !== "signature")
    .sort())
    q.append(k, params[k] ?? "");
  return createHmac("sha256", clientSecret).update(q.toString()).digest("hex");
}

/** The staff member an online (per-user) token is for, with the fields Shopify returns. */
export const ASSOCIATED_USER = {
  id: 1,
  first_name: "Emu",
  last_name: "Lator",
  email: "staff@example.com",
  account_owner: true,
  locale: "en",
  collaborator: false,
  email_verified: true,
};

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token";
export const OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token";
export const ONLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:online-access-token";
/** Client-credentials tokens live 24 hours (Shopify answers expires_in 86399). */
export const CLIENT_CREDENTIALS_TTL_S = 86399;

/**
 * Why a session token (the App Bridge id token, HS256 signed with the app's secret) is refused for
 * `shop`, or undefined when it is good: signature, `aud` the client id, `dest` the shop, not expired.
 */
export function sessionTokenProblem(
  token: string,
  app: App,
  shop: string,
  nowMs: number,
): string | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return "The session token is not a JWT";
  const [h, p, sig] = parts as [string, string, string];
  const expected = createHmac("sha256", app.clientSecret).update(`${h}.${p}`).digest("base64url");
  if (!safeEqual(expected, sig)) return "The session token's signature is invalid";
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    return "The session token's payload is not JSON";
  }
  if (claims["aud"] !== app.clientId) return "The session token was issued for another app";
  const dest = typeof claims["dest"] === "string" ? claims["dest"].replace(/^https:\/\//, "") : "";
  if (dest !== shop) return "The session token was issued for another shop";
  if (typeof claims["exp"] !== "number" || claims["exp"] * 1000 <= nowMs)
    return "The session token has expired";
  return undefined;
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
  const prefix =
    kind === "custom" || kind === "client_credentials" ? "shpat" : kind === "online" ? "shpua" : "shpca";
  const now = store.clock.now();
  const ttl =
    kind === "expiring"
      ? ACCESS_TOKEN_TTL_S
      : kind === "online"
        ? ONLINE_TOKEN_TTL_S
        : kind === "client_credentials"
          ? CLIENT_CREDENTIALS_TTL_S
          : null;
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
  if (str("grant_type") === "client_credentials") {
    // For an app of the store's own organization, installed on it (shopify.dev "Using the client
    // credentials grant"): a 24-hour token with the installed scopes.
    const installed = shop.installations.get(app.id);
    if (!installed)
      return oauthError("invalid_request", "The app is not installed on this shop; install it first");
    const t = mintAccessToken(store, app, shop.domain, installed.scopes, "client_credentials");
    return {
      status: 200,
      body: {
        access_token: t.value,
        scope: installed.scopes.join(","),
        expires_in: CLIENT_CREDENTIALS_TTL_S,
      },
    };
  }
  if (str("grant_type") === TOKEN_EXCHANGE_GRANT) {
    if (str("subject_token_type") !== ID_TOKEN_TYPE)
      return oauthError("invalid_request", `subject_token_type must be ${ID_TOKEN_TYPE}`);
    const problem = sessionTokenProblem(str("subject_token") ?? "", app, shop.domain, now);
    if (problem) return oauthError("invalid_subject_token", problem);
    const requested = str("requested_token_type") ?? OFFLINE_TOKEN_TYPE;
    if (requested !== OFFLINE_TOKEN_TYPE && requested !== ONLINE_TOKEN_TYPE)
      return oauthError(
        "invalid_request",
        `requested_token_type must be ${OFFLINE_TOKEN_TYPE} or ${ONLINE_TOKEN_TYPE}`,
      );
    // Token exchange installs the app with the scopes its configuration asks for (managed install).
    const scopes = shop.installations.get(app.id)?.scopes ?? app.scopes;
    installApp(shop, app, scopes, store.nowIso());
    if (requested === ONLINE_TOKEN_TYPE) {
      const t = mintAccessToken(store, app, shop.domain, scopes, "online");
      return {
        status: 200,
        body: {
          access_token: t.value,
          scope: scopes.join(","),
          expires_in: ONLINE_TOKEN_TTL_S,
          associated_user_scope: scopes.join(","),
          associated_user: ASSOCIATED_USER,
        },
      };
    }
    if (str("expiring") === "1") return { status: 200, body: expiringPair(store, app, shop.domain, scopes) };
    const t = mintAccessToken(store, app, shop.domain, scopes, "offline");
    return { status: 200, body: { access_token: t.value, scope: scopes.join(",") } };
  }
  if (str("grant_type") !== undefined && str("grant_type") !== "authorization_code")
    return oauthError("unsupported_grant_type", `grant_type ${str("grant_type")} is not supported`);
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
        associated_user: ASSOCIATED_USER,
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
