/**
 * Per-store options of the order operations, kept in `hub_meta` (`order_operations:<store id>`,
 * JSON) so they need no table: whether orders fully fulfilled and paid are closed in Shopify
 * (`orderClose`), as a back office that archives its orders may want.
 */
import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import type { Db } from "../db/database.ts";
import { enqueueAction } from "./order-actions.ts";

export const orderOperationSettingsInput = z
  .object({
    closeFulfilledOrders: z
      .boolean()
      .describe("Close (archive) in Shopify every order fully fulfilled and paid (default false)"),
  })
  .strict();
export type OrderOperationSettings = z.infer<typeof orderOperationSettingsInput>;

export const DEFAULT_ORDER_OPERATION_SETTINGS: OrderOperationSettings = { closeFulfilledOrders: false };

const key = (storeId: number) => `order_operations:${storeId}`;

export async function loadOrderOperationSettings(db: Db, storeId: number): Promise<OrderOperationSettings> {
  const row = await db
    .selectFrom("hub_meta")
    .select("value")
    .where("name", "=", key(storeId))
    .executeTakeFirst();
  if (!row) return DEFAULT_ORDER_OPERATION_SETTINGS;
  const parsed = orderOperationSettingsInput.safeParse(JSON.parse(row.value));
  return parsed.success ? parsed.data : DEFAULT_ORDER_OPERATION_SETTINGS;
}

export async function saveOrderOperationSettings(
  db: Db,
  storeId: number,
  settings: OrderOperationSettings,
  now: number,
): Promise<void> {
  const value = JSON.stringify(settings);
  await db
    .insertInto("hub_meta")
    .values({ name: key(storeId), value, updated_at: now })
    .onConflict((oc) => oc.column("name").doUpdateSet({ value, updated_at: now }))
    .execute();
}

/**
 * With `closeFulfilledOrders`: each order of the store fully fulfilled and paid, not cancelled,
 * gets one close action (its request id names the order, so it is asked once).
 */
export async function closeFinishedOrders(ctx: AppContext, storeId: number, limit = 50): Promise<number> {
  const db = ctx.database.db;
  if (!(await loadOrderOperationSettings(db, storeId)).closeFulfilledOrders) return 0;
  const due = await db
    .selectFrom("orders as o")
    .select(["o.id", "o.shopify_order_gid"])
    .where("o.store_id", "=", storeId)
    .where("o.imported_at", "is not", null)
    .where("o.cancelled_at", "is", null)
    .where("o.fulfillment_status", "=", "fulfilled")
    .where("o.financial_status", "=", "paid")
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("order_actions as a")
            .select("a.id")
            .whereRef("a.order_id", "=", "o.id")
            .where("a.kind", "=", "close"),
        ),
      ),
    )
    .orderBy("o.id")
    .limit(limit)
    .execute();
  const now = ctx.clock.now();
  for (const o of due)
    await enqueueAction(
      db,
      storeId,
      o.id,
      { kind: "close", input: { requestId: `auto-close:${o.shopify_order_gid}` } },
      now,
    );
  return due.length;
}
