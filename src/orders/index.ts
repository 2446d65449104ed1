/**
 * The orders capability as the hub assembles it: order webhooks through the inbox, the inbox,
 * outbound notifications and retention as hub-wide jobs, and per store (under its lease) the
 * Shopify tags, the polling backfill and the retry of parked orders. Listed once in
 * src/runtime/hub.ts.
 */
import type { AppContext } from "../core/context.ts";
import type { Capability } from "../runtime/capability.ts";
import { backfillOrders } from "./backfill.ts";
import { reprocessParked } from "./intake.ts";
import { orderRoutes } from "./routes.ts";
import { processTagJobs } from "./tagging.ts";
import { ORDER_WEBHOOK_SUBSCRIPTIONS, registerOrderWebhookHandlers } from "./webhooks.ts";
import { ORDER_JOB_INTERVALS, orderJobs } from "./worker-jobs.ts";

export function ordersCapability(ctx: AppContext): Capability {
  return {
    name: "orders",
    webhookTopics: ORDER_WEBHOOK_SUBSCRIPTIONS,
    registerWebhooks: (handlers) => registerOrderWebhookHandlers(ctx, handlers),
    routes: () => orderRoutes(ctx),
    jobs: orderJobs(ctx),
    storePasses: [
      {
        name: "orders:tags",
        flow: "order_intake",
        everyMs: ORDER_JOB_INTERVALS.tagsMs,
        run: async (store, transport) => void (await processTagJobs(ctx, transport, store.id)),
      },
      {
        name: "orders:backfill",
        flow: "order_intake",
        everyMs: ORDER_JOB_INTERVALS.backfillMs,
        run: async (store, transport) => void (await backfillOrders(ctx, transport, store.id)),
      },
      // Level-triggered: parked orders are retried once their SKU is linked or their location mapped.
      {
        name: "orders:parked",
        flow: "order_intake",
        everyMs: ORDER_JOB_INTERVALS.parkedMs,
        run: async (store) => void (await reprocessParked(ctx, store.id)),
      },
    ],
  };
}
