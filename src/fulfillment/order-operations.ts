/**
 * Store pickup, ship-from-store, holds, cancellations and returns, as the hub assembly wires them:
 * webhook topics (stored in the inbox), inbox drains, store passes under the lease, routes.
 */
import type { AppContext } from "../core/context.ts";
import { storeTopicsInInbox } from "../orders/webhooks.ts";
import type { PeriodicJob, StorePass } from "../runtime/worker.ts";
import type { WebhookHandlers } from "../shops/webhooks.ts";
import {
  FULFILLMENT_ORDER_SUBSCRIPTIONS,
  FULFILLMENT_ORDER_TOPICS,
  processFulfillmentOrderInbox,
  syncDueFulfillmentOrders,
} from "./fulfillment-orders.ts";
import { runOrderActions } from "./order-actions.ts";
import { orderOperationRoutes } from "./order-ops-routes.ts";
import { closeFinishedOrders } from "./order-ops-settings.ts";
import { processReturnInbox, RETURN_SUBSCRIPTIONS, RETURN_TOPICS, recordReturnState } from "./returns.ts";
import { checkRecentReturns } from "./returns-check.ts";

export const ORDER_OPERATION_SUBSCRIPTIONS: readonly string[] = [
  ...FULFILLMENT_ORDER_SUBSCRIPTIONS,
  ...RETURN_SUBSCRIPTIONS,
];

export function registerOrderOperationWebhooks(ctx: AppContext, handlers: WebhookHandlers): void {
  storeTopicsInInbox(ctx, handlers, [...FULFILLMENT_ORDER_TOPICS, ...RETURN_TOPICS]);
}

/** Hub-wide inbox drains. */
export function orderOperationJobs(ctx: AppContext): PeriodicJob[] {
  return [
    {
      name: "fulfillment:fulfillment-orders-inbox",
      everyMs: 1000,
      run: async () => void (await processFulfillmentOrderInbox(ctx)),
    },
    {
      name: "fulfillment:returns-inbox",
      everyMs: 1000,
      run: async () => void (await processReturnInbox(ctx)),
    },
  ];
}

/** Work that spends the store's Shopify budget, under its lease. */
export function orderOperationPasses(ctx: AppContext): StorePass[] {
  return [
    {
      name: "fulfillment:order-actions",
      flow: "order_intake",
      everyMs: 1000,
      run: async (store, transport) =>
        void (await runOrderActions(ctx, transport, store.id, { onReturnState: recordReturnState })),
    },
    {
      name: "fulfillment:close-finished-orders",
      flow: "order_intake",
      everyMs: 30_000,
      run: async (store) => void (await closeFinishedOrders(ctx, store.id)),
    },
    {
      // The safety net under returns/* webhooks: returns of orders changed since the last check.
      name: "fulfillment:returns-check",
      flow: "order_intake",
      everyMs: 5 * 60_000,
      run: async (store, transport) => void (await checkRecentReturns(ctx, transport, store.id)),
    },
    {
      name: "fulfillment:fulfillment-orders",
      flow: "order_intake",
      everyMs: 2000,
      run: async (store, transport) => void (await syncDueFulfillmentOrders(ctx, transport, store.id)),
    },
  ];
}

export { orderOperationRoutes };
