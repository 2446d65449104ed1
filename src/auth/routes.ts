/**
 * Signing in and out, the first account, operator accounts, API keys and the audit trail.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { route } from "../core/route.ts";
import { AuthFailureLimiter } from "../http/auth-limiter.ts";
import {
  countAccounts,
  createAccount,
  endSession,
  listAccounts,
  resolveSession,
  SESSION_COOKIE,
  signIn,
  updateAccount,
} from "./accounts.ts";
import { createApiKey, listApiKeys, revokeApiKey } from "./api-keys.ts";
import { listAudit, recordAudit } from "./audit.ts";
import { ROLES, SCOPE_DESCRIPTIONS, SCOPES } from "./permissions.ts";
import { actorLabel, type Principal } from "./principal.ts";

const credentials = z.object({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(200),
});
const accountInput = credentials.extend({ role: z.enum(ROLES) });
const accountChange = z
  .object({
    role: z.enum(ROLES).optional(),
    disabled: z.boolean().optional(),
    password: z.string().min(1).max(200).optional(),
  })
  .refine((c) => Object.keys(c).length > 0, "send at least one of role, disabled, password");
const idParams = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(2 ** 53),
});
const keyInput = z.object({
  name: z.string().min(1).max(100),
  scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
});
const auditQuery = z.object({
  store: z.string().max(255).optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** Loopback addresses only: the first account may be made from the machine itself. */
const isLocal = (ip: string) => ip === "127.0.0.1" || ip === "::1" || ip === "::ffff:127.0.0.1";

function sessionAnswer(principal: Principal, csrfToken: string | null, expiresAt: number | null) {
  return principal.kind === "operator"
    ? {
        kind: "operator" as const,
        username: principal.username,
        role: principal.role,
        scopes: principal.scopes,
        csrfToken,
        expiresAt,
      }
    : {
        kind: "api-key" as const,
        name: principal.name,
        scopes: principal.scopes,
        csrfToken: null,
        expiresAt: null,
      };
}

function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  expiresAt: number,
  now: number,
) {
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "strict",
    path: "/",
    secure: request.protocol === "https",
    maxAge: Math.max(1, Math.floor((expiresAt - now) / 1000)),
  });
}

export function authRoutes(ctx: AppContext) {
  const db = ctx.database.db;
  const signInFailures = new AuthFailureLimiter({ max: 10, windowMs: 5 * 60_000 });

  const startSession = async (
    request: FastifyRequest,
    reply: FastifyReply,
    username: string,
    password: string,
  ) => {
    const now = ctx.clock.now();
    const wait = signInFailures.blockedFor(request.ip, now);
    if (wait > 0) {
      ctx.metrics.authFailures.inc({ reason: "sign_in_rate_limited" });
      throw new AppError(
        "RATE_LIMITED",
        `too many failed sign-ins from this address; try again in ${Math.ceil(wait / 1000)} s`,
      );
    }
    const session = await signIn(ctx.database, username, password, now);
    if (!session) {
      signInFailures.recordFailure(request.ip, now);
      ctx.metrics.authFailures.inc({ reason: "sign_in" });
      // The username is logged to spot guessing; the password never is.
      ctx.logger.warn({ username: username.slice(0, 64), ip: request.ip }, "sign-in failed");
      throw new AppError(
        "INVALID_CREDENTIALS",
        "the username or password is wrong, or the account is disabled",
      );
    }
    setSessionCookie(request, reply, session.token, session.expiresAt, now);
    ctx.logger.info({ username: session.principal.username }, "signed in");
    return sessionAnswer(session.principal, session.csrfToken, session.expiresAt);
  };

  return [
    route({
      method: "GET",
      url: "/api/v1/setup",
      tag: "access",
      auth: "none",
      summary:
        "Whether the hub still needs its first operator account, and whether this address may create it (only from the hub's own machine).",
      async handler({ request }) {
        const needsFirstAccount = (await countAccounts(db)) === 0;
        return { needsFirstAccount, canCreateHere: needsFirstAccount && isLocal(request.ip) };
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/setup",
      tag: "access",
      auth: "none",
      rateLimit: { max: 10, windowMs: 60_000 },
      summary:
        "Creates the first operator account (an admin) and signs it in; only while there is none, only from localhost.",
      body: credentials,
      async handler({ body, request, reply }) {
        if (!isLocal(request.ip))
          throw new AppError(
            "SETUP_CLOSED",
            "the first account can only be created from the hub's own machine (open the console on localhost), or with `tillbridge account create`",
          );
        const now = ctx.clock.now();
        await ctx.database.db.transaction().execute(async (trx) => {
          if ((await countAccounts(trx)) > 0)
            throw new AppError("SETUP_CLOSED", "the hub already has operator accounts; sign in instead");
          const account = await createAccount(trx, { ...body, role: "admin", createdBy: "first-visit" }, now);
          await recordAudit(
            trx,
            {
              principal: null,
              storeId: null,
              action: "account.create",
              target: account.username,
              after: { role: "admin", createdBy: "first-visit" },
            },
            now,
          );
        });
        return startSession(request, reply, body.username, body.password);
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/session",
      tag: "access",
      auth: "none",
      summary:
        "Signs an operator in: sets an HttpOnly session cookie and answers with the CSRF token for changes.",
      body: credentials,
      async handler({ body, request, reply }) {
        return startSession(request, reply, body.username, body.password);
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/session",
      tag: "access",
      auth: "any",
      summary: "Who is calling: the operator (role, CSRF token) or the API key (scopes).",
      async handler({ principal, request }) {
        if (principal!.kind === "operator") {
          const s = await resolveSession(ctx.database, request.cookies[SESSION_COOKIE]!, ctx.clock.now());
          return sessionAnswer(principal!, s?.csrfToken ?? null, s?.expiresAt ?? null);
        }
        return sessionAnswer(principal!, null, null);
      },
    }),
    route({
      method: "DELETE",
      url: "/api/v1/session",
      tag: "access",
      auth: "any",
      summary: "Signs out: ends the session and clears its cookie.",
      async handler({ principal, reply }) {
        if (principal!.kind === "operator") await endSession(db, principal!.sessionId);
        reply.clearCookie(SESSION_COOKIE, { path: "/" });
        return { signedOut: true };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/accounts",
      tag: "access",
      auth: "admin",
      summary: "Operator accounts with their roles.",
      async handler() {
        return { items: await listAccounts(db), roles: ROLES };
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/accounts",
      tag: "access",
      auth: "admin",
      successStatus: 201,
      summary:
        "Creates an operator account (viewer: sees everything; operator: runs flows and settings; admin: also stores and access).",
      body: accountInput,
      async handler({ body, principal }) {
        const now = ctx.clock.now();
        return ctx.database.db.transaction().execute(async (trx) => {
          const account = await createAccount(trx, { ...body, createdBy: actorLabel(principal) }, now);
          await recordAudit(
            trx,
            {
              principal,
              storeId: null,
              action: "account.create",
              target: account.username,
              after: { role: account.role },
            },
            now,
          );
          return account;
        });
      },
    }),
    route({
      method: "PATCH",
      url: "/api/v1/accounts/:id",
      tag: "access",
      auth: "admin",
      summary: "Changes an account's role, disables or enables it, or sets a new password; its sessions end.",
      params: idParams,
      body: accountChange,
      async handler({ params, body, principal }) {
        const now = ctx.clock.now();
        return ctx.database.db.transaction().execute(async (trx) => {
          const { before, after } = await updateAccount(trx, params.id, body, now);
          await recordAudit(
            trx,
            {
              principal,
              storeId: null,
              action: "account.update",
              target: after.username,
              before: { role: before.role, disabled: before.disabledAt !== null },
              after: {
                role: after.role,
                disabled: after.disabledAt !== null,
                ...(body.password !== undefined ? { password: "changed" } : {}),
              },
            },
            now,
          );
          return after;
        });
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/api-keys",
      tag: "access",
      auth: "admin",
      summary: "API keys with their scopes and last use (never the keys themselves).",
      async handler() {
        const keys = await listApiKeys(ctx.database);
        return {
          items: keys.map((k) => ({
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes.split(","),
            createdAt: k.created_at,
            lastUsedAt: k.last_used_at,
            revokedAt: k.revoked_at,
          })),
          scopes: SCOPES.map((s) => ({ scope: s, description: SCOPE_DESCRIPTIONS[s] })),
        };
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/api-keys",
      tag: "access",
      auth: "admin",
      successStatus: 201,
      summary: "Creates an API key with the scopes it needs; the key is in this answer only.",
      body: keyInput,
      async handler({ body, principal }) {
        const now = ctx.clock.now();
        const created = await createApiKey(ctx.database, body.name, now, [...new Set(body.scopes)]);
        await recordAudit(
          db,
          {
            principal,
            storeId: null,
            action: "api_key.create",
            target: body.name,
            after: { scopes: body.scopes },
          },
          now,
        );
        return { id: created.id, name: body.name, scopes: body.scopes, key: created.key };
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/api-keys/:id/revoke",
      tag: "access",
      auth: "admin",
      summary: "Revokes an API key at once.",
      params: idParams,
      async handler({ params, principal }) {
        const now = ctx.clock.now();
        const done = await revokeApiKey(ctx.database, params.id, now);
        if (!done) throw new AppError("NOT_FOUND", `no active API key ${params.id}`);
        await recordAudit(
          db,
          { principal, storeId: null, action: "api_key.revoke", target: String(params.id) },
          now,
        );
        return { id: params.id, revokedAt: now };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/audit",
      tag: "access",
      auth: "store.read",
      summary:
        "The audit trail, newest first: who changed which setting, flow or access right, when, from what to what. `store` limits it to one store; `before=id` pages back.",
      query: auditQuery,
      async handler({ query }) {
        let storeId: number | undefined;
        if (query.store) {
          const s = await db
            .selectFrom("stores")
            .select("id")
            .where("domain", "=", query.store.toLowerCase())
            .executeTakeFirst();
          if (!s) throw new AppError("UNKNOWN_STORE", `no store ${query.store} is connected to the hub`);
          storeId = s.id;
        }
        const items = await listAudit(db, { storeId, before: query.before, limit: query.limit });
        return { items, nextBefore: items.length === query.limit ? items.at(-1)!.id : null };
      },
    }),
  ];
}
