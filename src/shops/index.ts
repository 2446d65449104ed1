/**
 * The shops capability, assembled: what the hub (src/runtime/hub.ts) wires in.
 *
 *   const shops = createShops(ctx, { createTransport: createAdminTransport });
 *   buildServer(ctx, { routes: [...shops.routes], plugins: [shops.webhookPlugin] });
 *   // the push reconciler gets shops.transportFor(store) — one transport per store.
 */
import { adminUrlTemplateFor } from "../config/config.ts";
import type { AppContext } from "../core/context.ts";
import type { AnyRoute } from "../core/route.ts";
import type { Capability } from "../runtime/capability.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { type AdminTransportFactory, type ShopsDeps, shopsRoutes } from "./routes.ts";
import { loadOrCreateKey } from "./secrets.ts";
import { createTokenKeeper } from "./tokens.ts";
import { BASE_WEBHOOK_TOPICS, ensureWebhooks } from "./webhook-subscriptions.ts";
import { createWebhookHandlers, shopsWebhookPlugin, type WebhookHandlers } from "./webhooks.ts";

export { linkVariants, readConfirmedLevels } from "../catalog/linking.ts";
export type { ActivityEntry } from "./activity.ts";
export { listActivity, logActivity } from "./activity.ts";
export { syncLocations } from "./locations.ts";
export type { AdminTransportFactory, ShopsDeps } from "./routes.ts";
export { missingScopes, requiredScopes } from "./scopes.ts";
export { disconnectStore, setFlowState } from "./stores.ts";
export { registerWebhooks } from "./webhook-subscriptions.ts";
export type { WebhookEvent, WebhookHandler, WebhookHandlers } from "./webhooks.ts";

export interface ShopsOptions
  extends Partial<Omit<ShopsDeps, "key" | "tokens" | "transportFor" | "transportWithToken" | "jobs">> {
  readonly createTransport: AdminTransportFactory;
  /** Store work asked for over HTTP runs as operator jobs under the store's lease. */
  readonly jobs: ShopsDeps["jobs"];
  /** Defaults to loadOrCreateKey(ctx.config, ctx.logger). */
  readonly key?: Buffer;
}

export function createShops(ctx: AppContext, options: ShopsOptions) {
  const key = options.key ?? loadOrCreateKey(ctx.config, ctx.logger);
  const tokens = createTokenKeeper({
    key,
    config: ctx.config,
    clock: ctx.clock,
    logger: ctx.logger.child({ component: "tokens" }),
    fetch: options.fetch,
  });
  const transports = new Map<number, AdminTransport>();
  const deps: ShopsDeps = {
    ...options,
    key,
    tokens,
    transportFor(store) {
      let t = transports.get(store.id);
      if (!t) {
        t = options.createTransport({
          store: store.domain,
          metricsLabel: String(store.id),
          urlTemplate: adminUrlTemplateFor(ctx.config, store.domain),
          getAccessToken: () => tokens.getAccessToken(ctx.database, store.id),
          clock: ctx.clock,
          logger: ctx.logger.child({ store: store.domain }),
        });
        transports.set(store.id, t);
      }
      return t;
    },
    transportWithToken: (domain, accessToken) =>
      options.createTransport({
        store: domain,
        metricsLabel: "connecting",
        urlTemplate: adminUrlTemplateFor(ctx.config, domain),
        getAccessToken: async () => accessToken,
        clock: ctx.clock,
        logger: ctx.logger.child({ store: domain }),
      }),
  };
  const webhookHandlers: WebhookHandlers = createWebhookHandlers(ctx);
  return {
    deps,
    routes: shopsRoutes(ctx, deps),
    webhookHandlers,
    webhookPlugin: shopsWebhookPlugin(ctx, { key }, webhookHandlers),
    transportFor: deps.transportFor,
    tokens,
  };
}

/**
 * The shops capability as the hub assembles it (src/runtime/capability.ts): the connection
 * routes of `createShops` and, per store under its lease, the check of its webhook
 * subscriptions. `webhookTopics` is every topic a store subscribes to (all capabilities'):
 * checked at start and every 30 minutes, missing ones created, the store shown degraded
 * meanwhile (src/shops/webhook-health.ts) — a new version adds topics, and Shopify may have
 * removed one after failed deliveries.
 */
export function shopsCapability(
  ctx: AppContext,
  shops: { readonly routes: readonly AnyRoute[] },
  options: { readonly webhookTopics: readonly string[] },
): Capability {
  return {
    name: "shops",
    webhookTopics: BASE_WEBHOOK_TOPICS,
    // app/uninstalled and the compliance topics are answered by the shops' own webhook plugin.
    registerWebhooks: () => {},
    routes: () => shops.routes,
    jobs: [],
    storePasses: [
      {
        name: "shops:webhooks",
        flow: null,
        everyMs: 30 * 60_000,
        run: async (store, transport) =>
          void (await ensureWebhooks(ctx, store, transport, options.webhookTopics)),
      },
    ],
  };
}
