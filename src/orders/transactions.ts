/**
 * Payment transactions of orders. Shopify records them apart from the order (webhook
 * `order_transactions/create`, or `Order.transactions` read by the backfill); they are stored per
 * store by their gid and may arrive before their order. A new or changed transaction of an order
 * already in the feed puts the order back in the feed (a late payment reaches the back office
 * with the transaction), and sends `order.updated` to the outbound webhook.
 */
import type { OutboundEventType } from "../db/tables.ts";
import type { Trx } from "../inventory/ledger-store.ts";
import { orderView } from "./feed-view.ts";
import type { Transaction } from "./money.ts";
import { enqueueOutboundEvent } from "./outbound.ts";
import { loadSettings } from "./settings.ts";

/** Stores transactions of one order; returns those that are new or changed. */
export async function recordTransactions(
  trx: Trx,
  storeId: number,
  orderGid: string,
  txs: readonly Transaction[],
  now: number,
): Promise<Transaction[]> {
  const changed: Transaction[] = [];
  for (const t of txs) {
    const data = JSON.stringify(t);
    const existing = await trx
      .selectFrom("order_transactions")
      .select(["id", "data"])
      .where("store_id", "=", storeId)
      .where("transaction_gid", "=", t.gid)
      .executeTakeFirst();
    if (existing?.data === data) continue;
    if (existing)
      await trx
        .updateTable("order_transactions")
        .set({ data, updated_at: now })
        .where("id", "=", existing.id)
        .execute();
    else
      await trx
        .insertInto("order_transactions")
        .values({
          store_id: storeId,
          shopify_order_gid: orderGid,
          transaction_gid: t.gid,
          data,
          created_at: now,
          updated_at: now,
        })
        .execute();
    changed.push(t);
  }
  return changed;
}

const idOf = (gid: string) => Number(/\/(\d+)$/.exec(gid)?.[1] ?? 0);

/** The order's transactions, oldest first (Shopify's ids grow, so one instant keeps its order). */
export async function transactionsOf(trx: Trx, storeId: number, orderGid: string): Promise<Transaction[]> {
  const rows = await trx
    .selectFrom("order_transactions")
    .select("data")
    .where("store_id", "=", storeId)
    .where("shopify_order_gid", "=", orderGid)
    .orderBy("id")
    .execute();
  return rows
    .map((r) => JSON.parse(r.data) as Transaction)
    .sort((a, b) => (a.processedAt ?? 0) - (b.processedAt ?? 0) || idOf(a.gid) - idOf(b.gid));
}

/** Gives an order a new place at the end of the feed and tells the back office, in the caller's transaction. */
export async function bumpFeed(
  trx: Trx,
  storeId: number,
  orderId: number,
  now: number,
  event: { type: OutboundEventType; extra?: Record<string, unknown> },
): Promise<void> {
  const { id: seq } = await trx
    .insertInto("order_feed")
    .values({ order_id: orderId, created_at: now })
    .returning("id")
    .executeTakeFirstOrThrow();
  await trx.updateTable("orders").set({ feed_seq: seq }).where("id", "=", orderId).execute();
  const settings = await loadSettings(trx, storeId);
  if (settings.outboundUrl === null) return;
  // An event of this order not yet tried carries the latest document instead of a second event
  // (a checkout payment recorded just after its order: one `order.created` with the payment).
  const waiting = await trx
    .selectFrom("outbound_events")
    .select(["id", "type", "payload"])
    .where("order_id", "=", orderId)
    .where("status", "=", "pending")
    .where("attempts", "=", 0)
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
  if (waiting && (waiting.type === "order.created" || waiting.type === "order.updated")) {
    const body = { ...JSON.parse(waiting.payload), order: await orderView(trx, orderId) };
    await trx
      .updateTable("outbound_events")
      .set({ payload: JSON.stringify(body) })
      .where("id", "=", waiting.id)
      .execute();
    return;
  }
  await enqueueOutboundEvent(trx, { storeId, orderId, type: event.type, extra: event.extra }, now);
}

/** Applies transactions learnt for an order: stored, and an order in the feed re-appears with them. */
export async function applyTransactions(
  trx: Trx,
  storeId: number,
  orderGid: string,
  txs: readonly Transaction[],
  now: number,
): Promise<number> {
  const changed = await recordTransactions(trx, storeId, orderGid, txs, now);
  if (changed.length === 0) return 0;
  const order = await trx
    .selectFrom("orders")
    .select(["id", "feed_seq", "status"])
    .where("store_id", "=", storeId)
    .where("shopify_order_gid", "=", orderGid)
    .executeTakeFirst();
  if (order && order.feed_seq !== null)
    await bumpFeed(trx, storeId, order.id, now, {
      type: "order.updated",
      extra: { change: "transactions", transactionIds: changed.map((t) => t.gid) },
    });
  return changed.length;
}
