/**
 * Wiring for the shops webhook plugin (`POST /webhooks/shopify`, HMAC verified there): every
 * topic this module handles goes to the durable inbox, nothing else happens in the request.
 */
import { createHash } from "node:crypto";
import type { AppContext } from "../core/context.ts";
import type { WebhookHandlers } from "../shops/webhooks.ts";
import { HANDLED_TOPICS, handleWebhook } from "./inbox.ts";

/** GraphQL enum names of the topics to subscribe when a store connects (`registerWebhooks`). Compliance topics are app-level (Partner dashboard / app TOML), not subscriptions. */
export const ORDER_WEBHOOK_SUBSCRIPTIONS: readonly string[] = [
  "ORDERS_CREATE",
  "ORDERS_UPDATED",
  "ORDERS_PAID",
  "ORDERS_CANCELLED",
  "ORDER_TRANSACTIONS_CREATE",
];

/** Sets the inbox handler for every handled topic on the plugin's handler map. */
export function registerOrderWebhookHandlers(ctx: AppContext, handlers: WebhookHandlers): void {
  storeTopicsInInbox(ctx, handlers, HANDLED_TOPICS);
}

/**
 * Makes the plugin store deliveries of these topics in the durable inbox (deduplicated by
 * webhook id); whoever owns a topic processes its inbox rows afterwards.
 */
export function storeTopicsInInbox(
  ctx: AppContext,
  handlers: WebhookHandlers,
  topics: readonly string[],
): void {
  for (const topic of topics) {
    handlers.set(topic, async (event) => {
      await handleWebhook(ctx, {
        shop: event.shop,
        topic: event.topic,
        // Shopify always sends an id; without one, the body's hash still dedupes exact re-sends.
        webhookId:
          event.webhookId ??
          `sha256:${createHash("sha256").update(event.topic).update(event.rawBody).digest("hex")}`,
        rawBody: event.rawBody,
      });
    });
  }
}
