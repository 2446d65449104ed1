/** The catalog import as the hub assembles it: routes, product webhooks and their inbox processor. */
export { runCatalogImport } from "./import-run.ts";
export { runOpeningCount } from "./opening-count.ts";
export {
  CATALOG_TOPICS,
  CATALOG_WEBHOOK_SUBSCRIPTIONS,
  processCatalogInbox,
  registerCatalogWebhookHandlers,
} from "./product-webhooks.ts";
export { catalogImportRoutes } from "./routes.ts";
