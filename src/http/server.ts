/**
 * Assembles the HTTP server from the capabilities' route specs. Capabilities never import this
 * folder; it imports them.
 */

import { createHash } from "node:crypto";
import cookie from "@fastify/cookie";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from "fastify";
import { resolveSession, SESSION_COOKIE } from "../auth/accounts.ts";
import { verifyApiKey } from "../auth/api-keys.ts";
import { allows, type Permission } from "../auth/permissions.ts";
import type { Principal } from "../auth/principal.ts";
import { authRoutes } from "../auth/routes.ts";
import { catalogConsoleRoutes } from "../catalog/console-routes.ts";
import { catalogRoutes } from "../catalog/routes.ts";
import type { AppContext } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { screenInput } from "../core/input.ts";
import type { AnyRoute } from "../core/route.ts";
import { failureRoutes } from "../failures/routes.ts";
import { shipmentConsoleRoutes } from "../fulfillment/console-routes.ts";
import { stockConsoleRoutes } from "../inventory/console-routes.ts";
import { inventoryRoutes } from "../inventory/routes.ts";
import { orderConsoleRoutes } from "../orders/console-routes.ts";
import { flowViewRoutes } from "../shops/flow-routes.ts";
import { AuthFailureLimiter } from "./auth-limiter.ts";
import { sendError, toAppError } from "./errors.ts";
import { buildOpenApi } from "./openapi.ts";

export const API_VERSION = "1.0.0";

export interface ServerExtras {
  /** Routes of capabilities assembled elsewhere (shops, orders, webhooks…). */
  readonly routes?: readonly AnyRoute[];
  /** Plugins that need their own body parsing (webhooks need the raw body) or static files. */
  readonly plugins?: readonly ((app: FastifyInstance) => Promise<void>)[];
  /** false: a worker-only process (API=off) serves /healthz and /metrics alone. */
  readonly api?: boolean;
  /** Failed API authentications allowed per address and window before 429 (default 20 a minute). */
  readonly authFailures?: { readonly max: number; readonly windowMs: number };
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the authentication hook of every route that is not `auth: "none"`. */
    principal: Principal | null;
  }
}

const UNAUTHORIZED_MESSAGES = {
  missing:
    "sign in to the console, or send an API key as `Authorization: Bearer tb_…` (create one with `tillbridge api-key create --name NAME --scope SCOPE`)",
  session_expired: "your session has ended (signed out, expired or the account changed); sign in again",
  malformed: "the Authorization header must be `Bearer tb_…`",
  unknown: "this API key is not known to the hub",
  revoked: "this API key was revoked",
} as const;

export async function buildServer(ctx: AppContext, extras: ServerExtras = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    bodyLimit: ctx.config.maxBodyBytes,
    // Per-request lines would drown the sync logs; metrics count requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // Errors Fastify raises before routing (a malformed URL…) get the envelope as well.
    frameworkErrors: (err, request, reply) => sendError(request, reply, err),
  });
  await app.register(cookie);
  app.decorateRequest("principal", null);
  await app.register(helmet, { contentSecurityPolicy: CONSOLE_CSP, global: true });
  // Only routes that ask for it (`rateLimit` in their spec) are limited.
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new AppError(
        "RATE_LIMITED",
        `too many requests from this address: at most ${context.max} per ${context.after}; try again in ${Math.ceil(context.ttl / 1000)} s`,
      ),
  });
  const authLimiter = new AuthFailureLimiter(extras.authFailures ?? { max: 20, windowMs: 60_000 });

  app.setErrorHandler((err, request, reply) => sendError(request, reply, err));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new AppError("NOT_FOUND", `no route for ${request.method} ${request.url.split("?")[0]}`),
    ),
  );
  app.addHook("onResponse", async (request, reply) => {
    const routeUrl = request.routeOptions.url ?? "unmatched";
    ctx.metrics.httpRequests.inc({
      method: request.method,
      route: routeUrl,
      status: String(reply.statusCode),
    });
    ctx.metrics.httpDuration.observe({ method: request.method, route: routeUrl }, reply.elapsedTime / 1000);
  });

  // Polled answers (the console refreshes every few seconds) carry a weak ETag of their body; a
  // caller sending it back in If-None-Match gets 304 without the body. Never stored by browsers
  // (no-store: answers hold customers' data): the console keeps the last version in memory.
  app.addHook("onSend", async (request, reply, payload) => {
    if (
      request.method !== "GET" ||
      reply.statusCode !== 200 ||
      typeof payload !== "string" ||
      !request.url.startsWith("/api/v1/")
    )
      return payload;
    const etag = `W/"${createHash("sha1").update(payload).digest("base64url")}"`;
    reply.header("etag", etag);
    reply.header("cache-control", "no-store");
    if (request.headers["if-none-match"] === etag) {
      reply.code(304);
      return "";
    }
    return payload;
  });

  const routes: AnyRoute[] =
    extras.api === false
      ? []
      : [
          ...authRoutes(ctx),
          ...inventoryRoutes(ctx),
          ...catalogRoutes(ctx),
          ...flowViewRoutes(ctx),
          ...orderConsoleRoutes(ctx),
          ...shipmentConsoleRoutes(ctx),
          ...catalogConsoleRoutes(ctx),
          ...stockConsoleRoutes(ctx),
          ...failureRoutes(ctx),
          ...(extras.routes ?? []),
        ];
  for (const spec of routes) registerRoute(app, ctx, spec, authLimiter);

  const openapi = buildOpenApi(routes, API_VERSION);
  app.get("/api/v1/openapi.json", async () => openapi);
  app.get("/healthz", async (_request, reply) => {
    try {
      await ctx.database.db.selectFrom("warehouses").select("id").limit(1).execute();
      return { status: "ok", database: ctx.database.dialect };
    } catch (err) {
      ctx.logger.error({ err }, "health check: database unreachable");
      return reply.code(503).send({ status: "unavailable", database: ctx.database.dialect });
    }
  });
  app.get("/metrics", async (_request, reply) =>
    reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()),
  );
  for (const plugin of extras.plugins ?? []) await app.register(plugin);
  return app;
}

/**
 * The console holds credentials (a session): only its own scripts, styles and API may run.
 * `style-src` allows inline style attributes, which UI libraries set; scripts stay strict.
 */
const CONSOLE_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    fontSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
    formAction: ["'self'"],
  },
};

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * An API key in `Authorization` (machines), else the session cookie (operators). Cookie-borne
 * requests that change something must echo the session's CSRF token in `x-csrf-token`: a page
 * on another site can make the browser send the cookie, but cannot read the token.
 */
async function authenticate(ctx: AppContext, request: FastifyRequest, authLimiter: AuthFailureLimiter) {
  const now = ctx.clock.now();
  const wait = authLimiter.blockedFor(request.ip, now);
  if (wait > 0) {
    ctx.metrics.authFailures.inc({ reason: "rate_limited" });
    throw new AppError(
      "RATE_LIMITED",
      `too many failed authentications from this address; try again in ${Math.ceil(wait / 1000)} s with valid credentials`,
    );
  }
  const fail = (reason: keyof typeof UNAUTHORIZED_MESSAGES): never => {
    // Only a presented key can be a guess. A request without credentials, or with a session that
    // ended (a console tab left open), is answered 401 but does not count towards the limit:
    // an office behind one address would otherwise lock itself out.
    if (reason !== "missing" && reason !== "session_expired") authLimiter.recordFailure(request.ip, now);
    ctx.metrics.authFailures.inc({ reason });
    throw new AppError("UNAUTHORIZED", UNAUTHORIZED_MESSAGES[reason]);
  };
  const sessionToken = request.cookies[SESSION_COOKIE];
  if (request.headers.authorization !== undefined || !sessionToken) {
    const check = await verifyApiKey(ctx.database, request.headers.authorization, now);
    if (!check.ok) return fail(check.reason);
    return {
      kind: "api-key",
      keyId: check.keyId,
      name: check.name,
      scopes: check.scopes,
    } satisfies Principal;
  }
  const session = await resolveSession(ctx.database, sessionToken, now);
  if (!session) return fail("session_expired");
  if (!SAFE_METHODS.has(request.method) && request.headers["x-csrf-token"] !== session.csrfToken) {
    ctx.metrics.authFailures.inc({ reason: "csrf" });
    throw new AppError(
      "CSRF_TOKEN_INVALID",
      "this change must carry the session's x-csrf-token header; reload the console and try again",
    );
  }
  return session.principal;
}

function forbiddenMessage(principal: Principal, needed: Permission): string {
  return principal.kind === "api-key"
    ? `the API key "${principal.name}" has the scopes ${principal.scopes.join(", ")}, which do not allow this (it needs ${needed}); an admin can create a key with the scope it needs`
    : `${principal.username} signs in as ${principal.role}, which does not allow this (it needs ${needed}); ask an admin`;
}

function registerRoute(
  app: FastifyInstance,
  ctx: AppContext,
  spec: AnyRoute,
  authLimiter: AuthFailureLimiter,
) {
  const needed = spec.auth;
  app.route({
    method: spec.method,
    url: spec.url,
    ...(spec.rateLimit
      ? { config: { rateLimit: { max: spec.rateLimit.max, timeWindow: spec.rateLimit.windowMs } } }
      : {}),
    // Authentication runs before the body is read or parsed: an unauthenticated client cannot
    // make the hub parse megabytes of JSON.
    onRequest:
      needed === "none"
        ? undefined
        : async (request) => {
            const principal = await authenticate(ctx, request, authLimiter);
            if (needed !== "any" && !allows(principal.scopes, needed))
              throw new AppError("FORBIDDEN", forbiddenMessage(principal, needed), [
                { code: "MISSING_PERMISSION", message: needed, id: principal.scopes.join(",") },
              ]);
            request.principal = principal;
          },
    handler: async (request, reply) => {
      const parse = (schema: typeof spec.query, value: unknown, where: "query" | "params" | "body") => {
        const screened = screenInput(value, where === "body" ? "" : where);
        if (screened)
          throw new AppError("INVALID_REQUEST", `the request ${where} is invalid: ${screened.message}`, [
            screened,
          ]);
        if (!schema) return value;
        const r = schema.safeParse(value);
        if (!r.success) throw toAppError(r.error, where);
        return r.data;
      };
      if (spec.body && request.body === undefined && ["POST", "PUT", "PATCH"].includes(spec.method)) {
        throw new AppError("INVALID_JSON", "this endpoint needs a JSON body");
      }
      const input = {
        query: parse(spec.query, request.query, "query"),
        params: parse(spec.params, request.params, "params"),
        body: spec.bodyValidation === "handler" ? request.body : parse(spec.body, request.body, "body"),
        request,
        reply,
        principal: request.principal,
      };
      const result = await spec.handler(input);
      if (reply.sent) return reply;
      // A handler may choose its own status (e.g. 202 while a job still runs).
      if (reply.statusCode === 200) reply.code(spec.successStatus ?? 200);
      return result ?? { ok: true };
    },
  });
}
