/**
 * Fulfillment: shipments → Shopify fulfillments with tracking, refunds → the hub with restock rules.
 * What the hub assembly wires (see the module docs of each file).
 */
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
