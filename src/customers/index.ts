/**
 * Customers from the back office to Shopify (issue 16): what the hub assembles from this folder —
 * the routes and the store pass of the `customer_publish` flow. Redaction lives with the other
 * personal data (src/orders/personal-data.ts calls `redactCustomerRecords`).
 */
import type { AppContext } from "../core/context.ts";
import type { Capability } from "../runtime/capability.ts";
import { customerPublishStorePass } from "./publish.ts";
import { customerRoutes } from "./routes.ts";

export { customerPublishQueue } from "./publish.ts";

export function customersCapability(ctx: AppContext): Capability {
  return {
    name: "customers",
    webhookTopics: [],
    registerWebhooks: () => {},
    routes: () => customerRoutes(ctx),
    jobs: [],
    storePasses: [customerPublishStorePass(ctx)],
  };
}
