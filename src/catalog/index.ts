/**
 * The catalog capability as the hub assembles it (src/runtime/capability.ts): product webhooks
 * through the inbox and their processor (the import keeps links and last-seen state current),
 * the import's and the publish's routes, and per store (under its lease) the publish reconciler
 * and the scheduled check for product changes whose webhooks never arrived. Listed once in
 * src/runtime/hub.ts.
 */
import type { AppContext } from "../core/context.ts";
import type { Capability } from "../runtime/capability.ts";
import { catalogCheckStorePass } from "./import/catalog-check.ts";
import {
  CATALOG_WEBHOOK_SUBSCRIPTIONS,
  catalogImportRoutes,
  processCatalogInbox,
  registerCatalogWebhookHandlers,
} from "./import/index.ts";
import { catalogPublishRoutes, catalogPublishStorePass } from "./publish/index.ts";

export { requirePublishDryRun } from "./publish/index.ts";

export function catalogCapability(ctx: AppContext): Capability {
  return {
    name: "catalog",
    webhookTopics: CATALOG_WEBHOOK_SUBSCRIPTIONS,
    registerWebhooks: (handlers) => registerCatalogWebhookHandlers(ctx, handlers),
    routes: ({ jobs }) => [...catalogPublishRoutes(ctx, { jobs }), ...catalogImportRoutes(ctx, { jobs })],
    jobs: [
      // products/create|update|delete keep links and last-seen state current (src/catalog/import).
      {
        name: "catalog:product-inbox",
        everyMs: 1000,
        run: async () => void (await processCatalogInbox(ctx)),
      },
    ],
    storePasses: [
      // The publish reconciler (src/catalog/publish), level-triggered like the push.
      catalogPublishStorePass(ctx),
      // Products changed in Shopify whose webhooks never arrived, every 6 hours (src/catalog/import).
      catalogCheckStorePass(ctx),
    ],
  };
}
