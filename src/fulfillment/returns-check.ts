/**
 * The safety net under the `returns/*` webhooks: a periodic pass per store (under its lease) reads
 * the returns of orders Shopify changed since the last check and imports what the hub does not
 * have yet, exactly as the webhook would (`recordReturn`: statuses only move forward, processed
 * counts only grow). A return's change is a change of its order (its return status), so the
 * order's `updated_at` moves and the hub learns the new version by `orders/updated` or the order
 * backfill even when the `returns/*` delivery was lost.
 *
 * Which orders: the store's imported orders with something fulfilled (only fulfilled units can be
 * returned) whose Shopify `updated_at` is past the store's cursor (`return_checks`, migration
 * 0027), oldest first, `BATCH` per request. The cursor moves only after the batch was recorded,
 * in a write fenced by the store's lease, and never past `now − RETURN_CHECK_SETTLE_MS` (whole
 * seconds: see there).
 */
import type { AppContext } from "../core/context.ts";
import type { Db } from "../db/database.ts";
import { graphql } from "../shopify/graphql.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import type { ReturnStatus } from "./order-ops-tables.ts";
import { recordReturn, type ShopifyReturn } from "./returns.ts";

export interface ReturnCheckTable {
  store_id: number;
  /** Shopify `updated_at` (ms) and hub order id of the last order checked: the keyset cursor. */
  checked_updated_at: number;
  checked_order_id: number;
  updated_at: number;
}

declare module "../db/tables.ts" {
  interface Tables {
    return_checks: ReturnCheckTable;
  }
}

/** Orders per request. */
export const RETURN_CHECK_BATCH = 10;
/** Requests per pass at most (the rest waits for the next pass). */
export const RETURN_CHECK_MAX_BATCHES = 5;
/**
 * Shopify's `updated_at` has whole seconds: a return requested in the second of the order's last
 * change leaves it unchanged. The cursor is therefore never saved closer to now than this, so
 * orders changed just before a check are read again by the next one.
 */
export const RETURN_CHECK_SETTLE_MS = 5_000;
/** How far back a store's first check looks. */
export const RETURN_CHECK_FIRST_LOOKBACK_MS = 7 * 24 * 3600_000;

export const RETURNS_OF_ORDERS_QUERY = graphql`
  query TillbridgeReturnsOfOrders($ids: [ID!]!) {
    nodes(ids: $ids) {
      ... on Order {
        id
        returns(first: 5) {
          nodes {
            id
            name
            status
            exchangeLineItems(first: 10) {
              nodes {
                quantity
                lineItems {
                  id
                }
              }
            }
            returnLineItems(first: 25) {
              nodes {
                id
                quantity
                processedQuantity
                returnReason
                returnReasonNote
                customerNote
                ... on ReturnLineItem {
                  fulfillmentLineItem {
                    id
                    lineItem {
                      id
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
`;

export interface ReturnNode {
  id: string;
  name: string | null;
  status: string;
  returnLineItems: {
    nodes: {
      id: string;
      quantity: number;
      processedQuantity: number;
      returnReason: string | null;
      returnReasonNote: string | null;
      customerNote: string | null;
      fulfillmentLineItem?: { id: string; lineItem: { id: string } | null } | null;
    }[];
  };
  exchangeLineItems: { nodes: { quantity: number; lineItems: { id: string }[] | null }[] };
}

interface ReturnsData {
  /** Null for an id that is no longer an order; an order without `returns` when not an Order. */
  nodes: ({ id: string; returns?: { nodes: ReturnNode[] } } | null)[];
}

const STATUSES: readonly ReturnStatus[] = ["requested", "open", "declined", "canceled", "closed"];

/** Pure: a return as Shopify's GraphQL answers it, in the webhook's shape (`fromReturnWebhook`). */
export function fromReturnNode(orderGid: string, r: ReturnNode): ShopifyReturn | null {
  const status = r.status.toLowerCase() as ReturnStatus;
  if (!STATUSES.includes(status)) return null;
  return {
    gid: r.id,
    orderGid,
    name: r.name ?? null,
    status,
    lines: r.returnLineItems.nodes.map((l) => ({
      gid: l.id,
      fulfillmentLineItemGid: l.fulfillmentLineItem?.id ?? null,
      lineGid: l.fulfillmentLineItem?.lineItem?.id ?? null,
      quantity: l.quantity,
      processed: l.processedQuantity,
      reason: l.returnReason ? l.returnReason.toLowerCase() : null,
      reasonNote: l.returnReasonNote || null,
      customerNote: l.customerNote || null,
    })),
    // As the webhook's `exchange_line_items`: the order lines they became (once approved). The
    // order's own import reserves those lines; the feed names them as the return's exchange.
    exchangeLines: r.exchangeLineItems.nodes.flatMap((x) => {
      const line = x.lineItems?.[0];
      return line ? [{ lineGid: line.id, quantity: x.quantity }] : [];
    }),
  };
}

async function cursorOf(db: Db, storeId: number, now: number) {
  const c = await db
    .selectFrom("return_checks")
    .select(["checked_updated_at", "checked_order_id"])
    .where("store_id", "=", storeId)
    .executeTakeFirst();
  return c
    ? { at: Number(c.checked_updated_at), id: Number(c.checked_order_id) }
    : { at: now - RETURN_CHECK_FIRST_LOOKBACK_MS, id: 0 };
}

/**
 * One pass: reads the returns of orders changed since the cursor and records the ones the hub
 * lacks or knows behind. Call under the store's lease.
 */
export async function checkRecentReturns(
  ctx: AppContext,
  transport: AdminTransport,
  storeId: number,
): Promise<{ orders: number; recorded: number }> {
  const db = ctx.database.db;
  const saved = await cursorOf(db, storeId, ctx.clock.now());
  let cursor = saved;
  const out = { orders: 0, recorded: 0 };
  for (let batch = 0; batch < RETURN_CHECK_MAX_BATCHES; batch++) {
    const orders = await db
      .selectFrom("orders as o")
      .select(["o.id", "o.shopify_order_gid", "o.shopify_updated_at"])
      .where("o.store_id", "=", storeId)
      .where("o.imported_at", "is not", null)
      .where((eb) =>
        eb.or([
          eb("o.shopify_updated_at", ">", cursor.at),
          eb.and([eb("o.shopify_updated_at", "=", cursor.at), eb("o.id", ">", cursor.id)]),
        ]),
      )
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom("order_lines as l")
            .select("l.id")
            .whereRef("l.order_id", "=", "o.id")
            .where("l.fulfilled_quantity", ">", 0),
        ),
      )
      .orderBy("o.shopify_updated_at")
      .orderBy("o.id")
      .limit(RETURN_CHECK_BATCH)
      .execute();
    if (orders.length === 0) break;
    const { data } = await transport.graphql<ReturnsData>(
      RETURNS_OF_ORDERS_QUERY,
      { ids: orders.map((o) => o.shopify_order_gid) },
      // The emulator charges 96 requested points for this document whatever the number of ids;
      // waiting for a worst case per order keeps the throttle on the safe side (700 < 1,000).
      { estimatedCost: 70 * RETURN_CHECK_BATCH },
    );
    for (const node of data.nodes) {
      if (!node?.returns) continue;
      for (const r of node.returns.nodes) {
        const ret = fromReturnNode(node.id, r);
        if (ret && (await recordReturn(ctx, storeId, ret)) === "recorded") out.recorded++;
      }
    }
    out.orders += orders.length;
    const last = orders[orders.length - 1]!;
    cursor = { at: Number(last.shopify_updated_at), id: Number(last.id) };
    const settled = ctx.clock.now() - RETURN_CHECK_SETTLE_MS;
    await saveCursor(
      db,
      transport,
      storeId,
      cursor.at <= settled ? cursor : { at: Math.max(saved.at, settled), id: 0 },
      ctx.clock.now(),
    );
    if (orders.length < RETURN_CHECK_BATCH) break;
  }
  if (out.recorded > 0)
    ctx.logger.warn(
      { store: storeId, recorded: out.recorded },
      "returns imported by the returns check: their webhooks were not received",
    );
  return out;
}

async function saveCursor(
  db: Db,
  transport: AdminTransport,
  storeId: number,
  cursor: { at: number; id: number },
  now: number,
): Promise<void> {
  const write = (d: Db) =>
    d
      .insertInto("return_checks")
      .values({
        store_id: storeId,
        checked_updated_at: cursor.at,
        checked_order_id: cursor.id,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc.column("store_id").doUpdateSet({
          checked_updated_at: cursor.at,
          checked_order_id: cursor.id,
          updated_at: now,
        }),
      )
      .execute();
  const fence = transport.fence;
  if (!fence) return void (await write(db));
  await db.transaction().execute(async (trx) => {
    await fence(trx);
    await write(trx);
  });
}
