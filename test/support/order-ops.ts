/**
 * The stock world (stock-world.ts) with the order operations of src/fulfillment/order-operations.ts:
 * their webhooks registered, and their inbox drains, fulfillment-order reads and order actions
 * run with the world's other background steps until all is quiet.
 */
import { expect } from "vitest";
import {
  processFulfillmentOrderInbox,
  syncDueFulfillmentOrders,
} from "../../src/fulfillment/fulfillment-orders.ts";
import { runOrderActions } from "../../src/fulfillment/order-actions.ts";
import { ORDER_OPERATION_SUBSCRIPTIONS } from "../../src/fulfillment/order-operations.ts";
import { closeFinishedOrders } from "../../src/fulfillment/order-ops-settings.ts";
import { processReturnInbox, recordReturnState } from "../../src/fulfillment/returns.ts";
import { registerWebhooks } from "../../src/shops/webhook-subscriptions.ts";
import type { World } from "./stock-world.ts";

export interface OpsWorld extends World {
  /** Every background step, the order operations' too, until nothing is left. */
  settleAll(): Promise<void>;
  /** The order operations' steps once (inboxes, actions, fulfillment-order reads). */
  opsStep(): Promise<void>;
  orderId(shopifyOrderId: string): Promise<number>;
  // biome-ignore lint/suspicious/noExplicitAny: test reads of JSON answers
  order(shopifyOrderId: string): Promise<Record<string, any>>;
}

export async function withOrderOperations(w: World): Promise<OpsWorld> {
  const hub = w.hub;
  const reg = await registerWebhooks(
    w.transport,
    ORDER_OPERATION_SUBSCRIPTIONS,
    `${hub.url}/webhooks/shopify`,
  );
  expect(reg.failed).toEqual([]);
  const db = hub.ctx.database.db;
  const opsStep = async () => {
    await processFulfillmentOrderInbox(hub.ctx);
    await processReturnInbox(hub.ctx);
    await db
      .updateTable("order_actions")
      .set({ next_attempt_at: 0 })
      .where("status", "=", "pending")
      .execute();
    await closeFinishedOrders(hub.ctx, w.storeId);
    await runOrderActions(hub.ctx, w.transport, w.storeId, { onReturnState: recordReturnState });
    await syncDueFulfillmentOrders(hub.ctx, w.transport, w.storeId);
  };
  w.addSteps([opsStep]);
  const ops: OpsWorld = Object.assign(Object.create(w) as World, w, {
    opsStep,
    async settleAll() {
      for (let round = 0; round < 8; round++) {
        await w.settle();
        const pending = await db
          .selectFrom("order_actions")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("store_id", "=", w.storeId)
          .where("status", "=", "pending")
          .executeTakeFirst();
        const inbox = await db
          .selectFrom("webhook_inbox")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("shop", "=", w.store.domain)
          .where("status", "in", ["pending", "failed"])
          .executeTakeFirst();
        const due = await db
          .selectFrom("order_fo_sync as s")
          .innerJoin("orders as o", "o.id", "s.order_id")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("s.store_id", "=", w.storeId)
          .where((eb) =>
            eb.or([
              eb("s.due", "=", 1),
              eb("s.synced_version", "<", eb.ref("o.shopify_updated_at")),
              eb("s.synced_content", "<>", eb.ref("o.content_hash")),
            ]),
          )
          .where("o.cancelled_at", "is", null)
          .executeTakeFirst();
        if (Number(pending?.n ?? 0) === 0 && Number(inbox?.n ?? 0) === 0 && Number(due?.n ?? 0) === 0) {
          await w.settle();
          return;
        }
      }
      throw new Error("order operations did not settle");
    },
    async orderId(shopifyOrderId: string) {
      const row = await db
        .selectFrom("orders")
        .select("id")
        .where("store_id", "=", w.storeId)
        .where("shopify_order_gid", "=", shopifyOrderId)
        .executeTakeFirstOrThrow();
      return row.id;
    },
    async order(shopifyOrderId: string) {
      const id = await ops.orderId(shopifyOrderId);
      const r = await w.call("GET", `/api/v1/orders/${id}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body;
    },
  });
  return ops;
}
