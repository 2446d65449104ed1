/**
 * A store's sync health over HTTP (issue 18): its webhook subscriptions as last checked, late
 * deliveries, Shopify's deprecation notices, the pinned API version's end of life, and its
 * coalescing window (a setting: validated, audited). Plus the one action that fixes a public
 * URL Shopify refuses: save the https address and re-register every store's webhooks.
 */
import { z } from "zod";
import { recordAudit } from "../auth/audit.ts";
import { MAX_MAX_WINDOW_MS, MIN_MAX_WINDOW_MS } from "../core/coalescing-bounds.ts";
import type { AppContext } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { route } from "../core/route.ts";
import type { JobRunner } from "../jobs/runner.ts";
import { daysUntilEndOfLife, endOfLife, SHOPIFY_API_VERSION } from "../shopify/api-version.ts";
import { listDeprecations } from "./api-deprecations.ts";
import { recordSettingChange } from "./setting-changes.ts";
import { requireStore } from "./stores.ts";
import { effectivePublicUrl, loadWebhookHealth, publicUrlProblem, savePublicUrl } from "./webhook-health.ts";

const domainParams = z.object({ domain: z.string().min(1).max(255) });
/** How long the re-register action waits for each store's job before answering. */
const REREGISTER_WAIT_MS = 20_000;

const webhookHealthOut = z.object({
  state: z.enum(["healthy", "degraded", "unchecked"]),
  uri: z.string().nullable(),
  checkedAt: z.number().nullable(),
  expected: z.array(z.string()),
  missing: z.array(z.string()),
  recreated: z.array(z.string()),
  failed: z.array(z.object({ topic: z.string(), message: z.string() })),
  problem: z.string().nullable(),
  degradedSince: z.number().nullable(),
});

const healthOut = z.object({
  webhooks: webhookHealthOut,
  publicUrl: z.object({ url: z.string(), https: z.boolean(), problem: z.string().nullable() }),
  lateDeliveries: z
    .object({ count: z.number(), lastAt: z.number(), lastTopic: z.string(), maxLateMs: z.number() })
    .nullable(),
  apiVersion: z.object({ pinned: z.string(), endOfLife: z.string(), daysLeft: z.number() }),
  deprecations: z.array(
    z.object({
      operation: z.string(),
      apiVersion: z.string(),
      reason: z.string(),
      firstSeenAt: z.number(),
      lastSeenAt: z.number(),
      count: z.number(),
    }),
  ),
  coalescing: z.object({
    /** The store's own maximum; null: the hub's default applies. */
    maxWindowMs: z.number().nullable(),
    defaultMaxWindowMs: z.number(),
  }),
});

const coalescingIn = z
  .object({
    /** The longest a change may wait to be batched when the store's API budget runs low; null: the hub's default. */
    maxWindowMs: z.number().int().min(MIN_MAX_WINDOW_MS).max(MAX_MAX_WINDOW_MS).nullable(),
  })
  .strict();

const reregisterIn = z
  .object({
    /** The https:// address at which Shopify reaches the hub; omitted: keep the one in force. */
    publicUrl: z.string().url().max(500).optional(),
  })
  .strict();

export function healthRoutes(ctx: AppContext, deps: { readonly jobs: JobRunner }) {
  const { database, clock } = ctx;
  const health = async (storeId: number, coalesceWindowMs: number | null) => {
    const db = database.db;
    const late = await db
      .selectFrom("webhook_late")
      .selectAll()
      .where("store_id", "=", storeId)
      .executeTakeFirst();
    const url = await effectivePublicUrl(ctx);
    const now = clock.now();
    return {
      webhooks: await loadWebhookHealth(db, storeId),
      publicUrl: { url, https: url.startsWith("https://"), problem: publicUrlProblem(url) },
      lateDeliveries: late
        ? {
            count: Number(late.count),
            lastAt: Number(late.last_late_at),
            lastTopic: late.last_topic,
            maxLateMs: Number(late.max_late_ms),
          }
        : null,
      apiVersion: {
        pinned: SHOPIFY_API_VERSION,
        endOfLife: new Date(endOfLife(SHOPIFY_API_VERSION)).toISOString(),
        daysLeft: daysUntilEndOfLife(SHOPIFY_API_VERSION, now),
      },
      deprecations: await listDeprecations(db, storeId),
      coalescing: { maxWindowMs: coalesceWindowMs, defaultMaxWindowMs: ctx.config.coalesceWindowMs },
    };
  };
  return [
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/health",
      tag: "shops",
      auth: "store.read",
      summary:
        "A store's sync health: webhook subscriptions as last checked (degraded while missing or refused), late deliveries, Shopify's deprecation notices, the API version's end of life, the coalescing window.",
      params: domainParams,
      response: healthOut,
      async handler({ params }) {
        const store = await requireStore(database, params.domain);
        return health(store.id, store.coalesce_window_ms ?? null);
      },
    }),
    route({
      method: "PUT",
      url: "/api/v1/stores/:domain/coalescing",
      tag: "shops",
      auth: "store.operate",
      summary:
        "Set the store's longest coalescing window in ms (0–60,000; null: the hub's COALESCE_WINDOW_MS). The push sends at once while the store's API budget has room and widens toward this as it drains.",
      params: domainParams,
      body: coalescingIn,
      response: healthOut,
      async handler({ params, body, principal }) {
        const store = await requireStore(database, params.domain);
        const now = clock.now();
        await database.db
          .updateTable("stores")
          .set({ coalesce_window_ms: body.maxWindowMs, updated_at: now })
          .where("id", "=", store.id)
          .execute();
        await recordSettingChange(
          database.db,
          {
            principal,
            storeId: store.id,
            action: "coalescing.update",
            label: "Coalescing window",
            flow: "inventory_push",
            target: store.domain,
            before: { maxWindowMs: store.coalesce_window_ms ?? null },
            after: { maxWindowMs: body.maxWindowMs },
          },
          now,
        );
        return health(store.id, body.maxWindowMs);
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/webhooks/register",
      tag: "shops",
      auth: "admin",
      summary:
        "Fix the hub's public URL (https://, saved over PUBLIC_URL without a restart) and re-register every connected store's webhooks at it, in one action; answers each store's webhook health.",
      body: reregisterIn,
      response: z.object({
        publicUrl: z.string(),
        stores: z.array(z.object({ domain: z.string(), webhooks: webhookHealthOut })),
      }),
      async handler({ body, principal }) {
        const now = clock.now();
        const before = await effectivePublicUrl(ctx);
        let url = before;
        if (body.publicUrl !== undefined) {
          const next = body.publicUrl.replace(/\/$/, "");
          const problem = publicUrlProblem(next);
          if (problem)
            throw new AppError(
              "INVALID_REQUEST",
              "the public URL cannot receive Shopify's webhooks; nothing was changed",
              [{ path: "publicUrl", code: "PUBLIC_URL_NOT_HTTPS", message: problem }],
            );
          await savePublicUrl(database.db, next, now);
          await recordAudit(
            database.db,
            {
              principal,
              storeId: null,
              action: "public_url.update",
              target: "webhooks",
              before: { publicUrl: before },
              after: { publicUrl: next },
            },
            now,
          );
          url = next;
        }
        const stores = await database.db
          .selectFrom("stores")
          .select(["id", "domain"])
          .where("status", "=", "active")
          .orderBy("id")
          .execute();
        // One job per store under its lease (the store's API budget has one spender).
        await Promise.all(
          stores.map((s) =>
            deps.jobs.run(
              { id: Number(s.id), domain: s.domain },
              "after_connect",
              { webhooks: true },
              REREGISTER_WAIT_MS,
            ),
          ),
        );
        return {
          publicUrl: url,
          stores: await Promise.all(
            stores.map(async (s) => ({
              domain: s.domain,
              webhooks: await loadWebhookHealth(database.db, Number(s.id)),
            })),
          ),
        };
      },
    }),
  ];
}
