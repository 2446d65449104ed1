/** HTTP routes of the shops capability: connecting stores, flows, locations mapping, linking, activity. */

import type { Logger } from "pino";
import { z } from "zod";
import { listLinkProblems } from "../catalog/linking.ts";
import type { Clock } from "../core/clock.ts";
import { type AppContext, storeStockChanged } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { route } from "../core/route.ts";
import type { FlowName, FlowState } from "../db/tables.ts";
import { answerFromJob, type JobRunner, waitMs, waitSecondsParam } from "../jobs/runner.ts";
import { ShopifyAuthError, shopifyFailure } from "../shopify/errors.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { listActivity, logActivity } from "./activity.ts";
import { healthRoutes } from "./health-routes.ts";
import {
  type LocationView,
  listLocations,
  locationMappingInput,
  setLocationMapping,
  syncLocations,
} from "./locations.ts";
import { beginInstall, completeInstall, normaliseShop } from "./oauth.ts";
import { recordSettingChange } from "./setting-changes.ts";
import { readShopInfo } from "./shop-info.ts";
import {
  disconnectStore,
  FLOWS,
  flowStates,
  listStores,
  requireStore,
  saveConnection,
  setFlowState,
  setInventoryMode,
  storeView,
} from "./stores.ts";
import type { TokenKeeper } from "./tokens.ts";
import {
  effectivePublicUrl,
  loadWebhookHealth,
  publicUrlProblem,
  checkWebhooks as recordWebhookHealth,
} from "./webhook-health.ts";
import { BASE_WEBHOOK_TOPICS } from "./webhook-subscriptions.ts";

export interface ShopsDeps {
  /** From loadOrCreateKey(config, logger). */
  readonly key: Buffer;
  readonly tokens: TokenKeeper;
  /** The store's one throttled transport (createAdminTransport with tokens.getAccessToken). */
  transportFor(store: { id: number; domain: string }): AdminTransport;
  /**
   * Runs the store work a request asks for (linking, reading locations and levels, the set-up
   * after a connection) as an operator job under the store's lease (src/jobs/runner.ts).
   */
  readonly jobs: JobRunner;
  /** A one-off transport with an explicit token, to verify a pasted custom-app token before it is stored. */
  transportWithToken(domain: string, accessToken: string): AdminTransport;
  /** Webhook topics (GraphQL enum names) registered on connect; default APP_UNINSTALLED. */
  readonly webhookTopics?: readonly string[];
  readonly fetch?: typeof fetch;
  /** Where the browser goes after an install; default: a small "connected" page. */
  readonly afterInstallUrl?: (domain: string) => string;
  /**
   * Checks run before a flow is enabled (e.g. the inventory dry run); throw an AppError to refuse.
   */
  readonly beforeEnable?: (storeId: number, flow: FlowName) => Promise<void>;
}

/** The factory signature of src/shopify/admin-client.ts. */
export type AdminTransportFactory = (options: {
  store: string;
  /** How metrics name the store: its id, never its domain (`/metrics` is unauthenticated). */
  metricsLabel: string;
  urlTemplate: string;
  getAccessToken: () => Promise<string>;
  clock: Clock;
  logger: Logger;
}) => AdminTransport;

const domainParams = z.object({ domain: z.string().min(1).max(255) });
const flowName = z.enum(FLOWS as [FlowName, ...FlowName[]]);
const flowParams = domainParams.extend({
  flow: flowName,
  action: z.enum(["pause", "resume", "enable", "disable"]),
});

const storeOut = z.object({
  domain: z.string(),
  name: z.string(),
  authKind: z.enum(["oauth", "custom_app"]),
  status: z.enum(["active", "disconnected"]),
  statusReason: z.string().nullable(),
  inventoryMode: z.enum(["delta", "absolute"]),
  scopes: z.array(z.string()),
  connectedAt: z.string(),
  disconnectedAt: z.string().nullable(),
  accessTokenExpiresAt: z.string().nullable(),
  /** Problems found while connecting that the operator must fix (e.g. a PUBLIC_URL that is not HTTPS). */
  warnings: z.array(z.object({ code: z.string(), message: z.string() })).optional(),
  flows: z.array(
    z.object({
      flow: flowName,
      state: z.enum(["disabled", "enabled", "paused"]),
      missingScopes: z.array(z.string()),
    }),
  ),
});

const customAppInput = z
  .object({
    domain: z.string().min(1).max(255),
    accessToken: z.string().min(1).max(500),
    name: z.string().min(1).max(255).optional(),
    /** The custom app's API secret key, to verify its webhooks (optional). */
    webhookSecret: z.string().min(1).max(500).optional(),
  })
  .strict();

/**
 * How long connecting waits for its set-up job (webhooks, locations) before answering: the
 * locations are what an operator maps next, so the answer normally comes after them.
 */
const CONNECT_WAIT_MS = 30_000;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * After a connection: webhooks and locations. Failures are logged to the activity log, not fatal.
 * Runs as the `after_connect` job, under the store's lease.
 */
export async function afterConnect(
  ctx: AppContext,
  transport: AdminTransport,
  store: { id: number; domain: string },
  options: { webhooks: boolean; topics?: readonly string[] },
): Promise<void> {
  const now = () => ctx.clock.now();
  if (options.webhooks) {
    try {
      // Records the store's webhook health: a public URL Shopify refuses (not HTTPS) or refused
      // topics show as degraded in the console and /metrics, and in the connect answer.
      await recordWebhookHealth(ctx, store, transport, options.topics ?? BASE_WEBHOOK_TOPICS, {
        reason: "connect",
      });
    } catch (err) {
      if ((err as { code?: string }).code === "LEASE_LOST") throw err;
      await logActivity(
        ctx.database.db,
        {
          storeId: store.id,
          flow: "connection",
          kind: "webhooks_failed",
          level: "error",
          message: `registering webhooks failed: ${(err as Error).message}`,
        },
        now(),
      );
    }
  }
  try {
    await syncLocations(ctx.database, transport, store.id, now());
  } catch (err) {
    if ((err as { code?: string }).code === "LEASE_LOST") throw err;
    await logActivity(
      ctx.database.db,
      {
        storeId: store.id,
        flow: "connection",
        kind: "locations_failed",
        level: "error",
        message: `reading locations failed: ${(err as Error).message}`,
      },
      now(),
    );
  }
}

export function shopsRoutes(ctx: AppContext, deps: ShopsDeps) {
  const { database, clock } = ctx;
  const activeStore = async (domain: string) => {
    const store = await requireStore(database, domain);
    if (store.status !== "active") {
      throw new AppError(
        "STORE_DISCONNECTED",
        `${store.domain} is disconnected (${store.status_reason ?? "by the operator"})`,
      );
    }
    return store;
  };
  /** What the connection's set-up found wrong with the store's webhooks (said at connect, not only logged). */
  const connectWarnings = async (storeId: number) => {
    const health = await loadWebhookHealth(database.db, storeId);
    const problem = health.problem ?? publicUrlProblem(await effectivePublicUrl(ctx));
    return problem ? [{ code: "WEBHOOKS_NOT_REGISTERED", message: problem }] : [];
  };
  return [
    route({
      method: "GET",
      url: "/shopify/install",
      tag: "shops",
      auth: "none",
      summary:
        "Start the OAuth install of the Tillbridge app on a store: redirects to Shopify's authorization screen.",
      query: z.object({ shop: z.string().max(255) }),
      // Each install stores a state row: an unauthenticated client may start only a few.
      rateLimit: { max: 20, windowMs: 60_000 },
      async handler({ query, reply }) {
        const { url } = await beginInstall(database, ctx.config, query.shop, clock.now());
        return reply.redirect(url, 302);
      },
    }),
    route({
      method: "GET",
      url: "/shopify/callback",
      tag: "shops",
      auth: "none",
      summary:
        "Shopify's OAuth redirect: verifies hmac and state, exchanges the code, stores the connection.",
      query: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
      rateLimit: { max: 30, windowMs: 60_000 },
      async handler({ query, reply }) {
        const r = await completeInstall(
          database,
          ctx.config,
          { key: deps.key, fetch: deps.fetch },
          query,
          clock.now(),
        );
        await deps.jobs.run(
          { id: r.storeId, domain: r.domain },
          "after_connect",
          { webhooks: true },
          CONNECT_WAIT_MS,
        );
        const warnings = await connectWarnings(r.storeId);
        if (deps.afterInstallUrl) return reply.redirect(deps.afterInstallUrl(r.domain), 302);
        return reply
          .code(200)
          .type("text/html; charset=utf-8")
          .send(
            `<!doctype html><html><head><meta charset="utf-8"><title>Connected</title></head><body><h1>${escapeHtml(r.domain)} is connected</h1>${warnings.map((w) => `<p role="alert"><strong>${escapeHtml(w.code)}</strong>: ${escapeHtml(w.message)}</p>`).join("")}<p><a href="/console/#/stores/${encodeURIComponent(r.domain)}/setup">Continue the setup in the Tillbridge console</a>: map its locations, link its variants, check the dry run and choose its flows.</p></body></html>`,
          );
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/stores",
      tag: "shops",
      auth: "admin",
      summary:
        "Connect a store with a custom-app Admin API token. The token is verified with a test call before it is saved (encrypted).",
      body: customAppInput,
      successStatus: 201,
      response: storeOut,
      async handler({ body }) {
        const domain = normaliseShop(body.domain);
        let info: Awaited<ReturnType<typeof readShopInfo>>;
        try {
          info = await readShopInfo(deps.transportWithToken(domain, body.accessToken));
        } catch (err) {
          if (err instanceof ShopifyAuthError) {
            throw new AppError(
              "INVALID_SHOPIFY_TOKEN",
              `Shopify did not accept this token for ${domain}: nothing was saved`,
              [{ path: "accessToken", code: "INVALID_SHOPIFY_TOKEN", message: err.message }],
            );
          }
          shopifyFailure(err, `verifying the token for ${domain}`);
        }
        const storeId = await saveConnection(
          database,
          {
            domain,
            name: body.name ?? info.name,
            authKind: "custom_app",
            accessToken: body.accessToken,
            accessTokenExpiresAt: null,
            refreshToken: null,
            refreshTokenExpiresAt: null,
            scopes: info.scopes ?? [],
            webhookSecret: body.webhookSecret ?? null,
          },
          deps.key,
          clock.now(),
        );
        // Webhooks and locations: a job under the store's lease, waited for a bounded time.
        await deps.jobs.run(
          { id: storeId, domain },
          "after_connect",
          { webhooks: body.webhookSecret !== undefined },
          CONNECT_WAIT_MS,
        );
        const warnings = body.webhookSecret !== undefined ? await connectWarnings(storeId) : [];
        return {
          ...(await storeView(database, await requireStore(database, domain))),
          ...(warnings.length > 0 ? { warnings } : {}),
        };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores",
      tag: "shops",
      auth: "store.read",
      summary: "List connected stores, their flows and granted scopes (never tokens).",
      response: z.object({ items: z.array(storeOut) }),
      handler: async () => ({ items: await listStores(database) }),
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain",
      tag: "shops",
      auth: "store.read",
      summary: "One store, its flows and granted scopes.",
      params: domainParams,
      response: storeOut,
      handler: async ({ params }) => storeView(database, await requireStore(database, params.domain)),
    }),
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/disconnect",
      tag: "shops",
      auth: "admin",
      summary: "Disconnect a store: every flow stops at once; hub data (mapping, links, history) is kept.",
      params: domainParams,
      body: z.object({ reason: z.string().max(500).optional() }).optional(),
      response: storeOut,
      async handler({ params, body }) {
        const store = await requireStore(database, params.domain);
        await disconnectStore(
          database,
          store.id,
          body?.reason ?? "disconnected by the operator",
          clock.now(),
        );
        return storeView(database, await requireStore(database, params.domain));
      },
    }),
    route({
      method: "PUT",
      url: "/api/v1/stores/:domain/inventory-mode",
      tag: "shops",
      auth: "store.operate",
      summary:
        "Delta (send only changes; recommended first) or absolute (the hub overwrites Shopify's quantity).",
      params: domainParams,
      body: z.object({ mode: z.enum(["delta", "absolute"]) }),
      response: storeOut,
      async handler({ params, body, principal }) {
        const store = await requireStore(database, params.domain);
        const now = clock.now();
        await setInventoryMode(ctx, store.id, body.mode, now);
        await recordSettingChange(
          database.db,
          {
            principal,
            storeId: store.id,
            action: "inventory_mode.update",
            label: "Inventory mode",
            flow: "inventory_push",
            target: store.domain,
            before: { mode: store.inventory_mode },
            after: { mode: body.mode },
          },
          now,
        );
        return storeView(database, await requireStore(database, params.domain));
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/flows/:flow/:action",
      tag: "shops",
      auth: "store.operate",
      summary:
        "pause | resume | enable | disable one flow of a store. Enabling needs an active store and the flow's scopes (the error names a missing scope).",
      params: flowParams,
      response: storeOut,
      async handler({ params, principal }) {
        const store = await requireStore(database, params.domain);
        const target: FlowState =
          params.action === "pause" ? "paused" : params.action === "disable" ? "disabled" : "enabled";
        if (params.action === "resume") {
          const current = (await storeView(database, store)).flows.find((f) => f.flow === params.flow)?.state;
          if (current === "disabled") {
            throw new AppError(
              "CONFLICT",
              `${params.flow} was never enabled on ${store.domain}; enable it instead`,
            );
          }
        }
        if (target === "enabled" && deps.beforeEnable) await deps.beforeEnable(store.id, params.flow);
        const before = (await flowStates(database.db, store.id)).get(params.flow) ?? "disabled";
        const now = clock.now();
        const after = await setFlowState(database, store.id, params.flow, target, now);
        await recordSettingChange(
          database.db,
          {
            principal,
            storeId: store.id,
            action: `flow.${params.action}`,
            label: `The ${params.flow.replaceAll("_", " ")} flow (${params.action})`,
            flow: params.flow,
            target: params.flow,
            before: { state: before },
            after: { state: after },
          },
          now,
        );
        return storeView(database, await requireStore(database, params.domain));
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/locations/sync",
      tag: "shops",
      auth: "store.operate",
      summary:
        "Read the store's locations from Shopify again (mapping is kept; removed ones become inactive). Runs as a job under the store's lease: 200 with the locations once done within `waitSeconds`, else 202 with the job (Location: /api/v1/jobs/:id).",
      params: domainParams,
      query: z.object({ waitSeconds: waitSecondsParam }),
      async handler({ params, query, reply }) {
        const store = await activeStore(params.domain);
        const job = await deps.jobs.run(store, "sync_locations", null, waitMs(query.waitSeconds));
        return answerFromJob(reply, job, async () => ({ items: await listLocations(database, store.id) }));
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/locations",
      tag: "shops",
      auth: "store.read",
      summary: "The store's locations with their mapped warehouse codes, managed flag and default.",
      params: domainParams,
      handler: async ({ params }) => ({
        items: await listLocations(database, (await requireStore(database, params.domain)).id),
      }),
    }),
    route({
      method: "PUT",
      url: "/api/v1/stores/:domain/locations/mapping",
      tag: "shops",
      auth: "store.operate",
      summary:
        "Map locations to warehouses (sellable is summed), choose managed locations and the default. Atomic; every problem reported.",
      params: domainParams,
      body: locationMappingInput,
      async handler({ params, body, principal }) {
        const store = await requireStore(database, params.domain);
        const mapping = (views: LocationView[]) =>
          Object.fromEntries(
            views.map((l) => [
              l.locationId,
              { warehouses: l.warehouses, managed: l.managed, default: l.default },
            ]),
          );
        const before = mapping(await listLocations(database, store.id));
        const now = clock.now();
        const items = await setLocationMapping(database, store.id, body, now, storeStockChanged(ctx));
        await recordSettingChange(
          database.db,
          {
            principal,
            storeId: store.id,
            action: "location_mapping.update",
            label: "Location mapping",
            flow: "inventory_push",
            target: store.domain,
            before,
            after: mapping(items),
          },
          now,
        );
        if (store.status === "active") {
          // Newly managed locations need Shopify's current values as the push's baseline: read
          // by a job under the store's lease (waited for a bounded time; its failure is logged).
          const job = await deps.jobs.run(store, "read_levels", null, waitMs(undefined));
          if (job.status === "failed")
            ctx.logger.warn({ store: store.domain, err: job.error }, "reading levels after mapping failed");
        }
        return { items };
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/link",
      tag: "shops",
      auth: "store.operate",
      summary:
        "Link hub variants to the store's variants by SKU, then barcode; replaces the link problems; reads Shopify's current quantities at managed locations. Runs as a job under the store's lease: 200 with the outcome once done within `waitSeconds`, else 202 with the job (Location: /api/v1/jobs/:id).",
      params: domainParams,
      query: z.object({ waitSeconds: waitSecondsParam }),
      async handler({ params, query, reply }) {
        const store = await activeStore(params.domain);
        const job = await deps.jobs.run(store, "link", null, waitMs(query.waitSeconds));
        return answerFromJob(reply, job, (result) => result);
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/link-problems",
      tag: "shops",
      auth: "store.read",
      summary:
        "Variants that could not be linked, with the reason (duplicate SKU, not in Shopify, not in the hub, deleted).",
      params: domainParams,
      handler: async ({ params }) => ({
        items: await listLinkProblems(database, (await requireStore(database, params.domain)).id),
      }),
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/activity",
      tag: "shops",
      auth: "store.read",
      summary: "The store's activity log, newest first; filter by flow; page with `before` (an id).",
      params: domainParams,
      query: z.object({
        flow: z.string().max(50).optional(),
        limit: z.coerce.number().int().min(1).max(1000).optional(),
        before: z.coerce.number().int().min(1).optional(),
      }),
      handler: async ({ params, query }) => ({
        items: await listActivity(database.db, (await requireStore(database, params.domain)).id, query),
      }),
    }),
    // Webhook health, late deliveries, deprecations, the coalescing window (issue 18).
    ...healthRoutes(ctx, deps),
  ];
}
