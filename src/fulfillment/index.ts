/**
 * Fulfillment: shipments → Shopify fulfillments with tracking, refunds → the hub with restock rules.
 * What the hub assembly wires (see the module docs of each file).
 */
import type { AppContext } from "../core/context.ts";
import { ORDER_JOB_INTERVALS } from "../orders/worker-jobs.ts";
import type { Capability } from "../runtime/capability.ts";
import { deliverStoreShipments } from "./deliver.ts";
import {
  ORDER_OPERATION_SUBSCRIPTIONS,
  orderOperationJobs,
  orderOperationPasses,
  orderOperationRoutes,
  registerOrderOperationWebhooks,
} from "./order-operations.ts";
import {
  FULFILLMENT_WEBHOOK_SUBSCRIPTIONS,
  refundInboxPass,
  registerFulfillmentWebhookHandlers,
  syncRecentRefunds,
} from "./refunds.ts";
import { fulfillmentRoutes } from "./routes.ts";
import { processFulfillmentInbox, syncUnexplainedFulfillments } from "./shopify-fulfillments.ts";

export { deliverShipments, deliverStoreShipments, SHIPMENT_MAX_ATTEMPTS } from "./deliver.ts";
export {
  ORDER_OPERATION_SUBSCRIPTIONS,
  orderOperationJobs,
  orderOperationPasses,
  orderOperationRoutes,
  registerOrderOperationWebhooks,
} from "./order-operations.ts";
export {
  FULFILLMENT_TOPICS,
  FULFILLMENT_WEBHOOK_SUBSCRIPTIONS,
  processRefundInbox,
  recordRefund,
  registerFulfillmentWebhookHandlers,
  syncRecentRefunds,
  syncRefundsForOrder,
} from "./refunds.ts";
export { fulfillmentRoutes } from "./routes.ts";
export {
  processFulfillmentInbox,
  recordFulfillment,
  syncUnexplainedFulfillments,
} from "./shopify-fulfillments.ts";

/**
 * The fulfillment capability as the hub assembles it (src/runtime/capability.ts): shipments to
 * Shopify, refunds and Shopify-made fulfillments (webhooks through the inbox, with polling
 * safety nets), and the order operations (pickup, moves, holds, cancellations, returns).
 */
export function fulfillmentCapability(ctx: AppContext): Capability {
  return {
    name: "fulfillment",
    webhookTopics: [...FULFILLMENT_WEBHOOK_SUBSCRIPTIONS, ...ORDER_OPERATION_SUBSCRIPTIONS],
    registerWebhooks(handlers) {
      registerFulfillmentWebhookHandlers(ctx, handlers);
      registerOrderOperationWebhooks(ctx, handlers);
    },
    routes: () => [...fulfillmentRoutes(ctx), ...orderOperationRoutes(ctx)],
    jobs: [
      {
        name: "fulfillment:shopify-fulfillments-inbox",
        everyMs: 1000,
        run: async () => void (await processFulfillmentInbox(ctx)),
      },
      ...orderOperationJobs(ctx),
    ],
    storePasses: [
      {
        name: "fulfillment:shipments",
        flow: "fulfillment_push",
        everyMs: 2000,
        run: async (store, transport) => void (await deliverStoreShipments(ctx, transport, store.id)),
      },
      // refunds/create deliveries, in the store's pass: one whose payload does not say whether it
      // was made for a return is read from Shopify (Refund.return) before its restock.
      refundInboxPass(ctx),
      // The safety net for lost refunds/create webhooks.
      {
        name: "fulfillment:refunds",
        flow: "order_intake",
        everyMs: ORDER_JOB_INTERVALS.backfillMs,
        run: async (store, transport, now) =>
          void (await syncRecentRefunds(ctx, transport, store.id, now - 3600_000)),
      },
      // The safety net for lost fulfillments/create webhooks (sales made in Shopify).
      {
        name: "fulfillment:shopify-fulfillments",
        flow: "order_intake",
        everyMs: ORDER_JOB_INTERVALS.backfillMs,
        run: async (store, transport) => void (await syncUnexplainedFulfillments(ctx, transport, store.id)),
      },
      // Pickup, moves, holds, cancellations and returns (src/fulfillment/order-operations.ts).
      ...orderOperationPasses(ctx),
    ],
  };
}
