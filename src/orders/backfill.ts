/**
 * Polling backfill: reads the store's orders updated since its cursor (at the first run, the
 * last N days of the settings) through the Admin GraphQL API, oldest first, and applies each
 * exactly like a webhook delivery. A lost or late webhook is caught by the next run.
 * The cursor is Shopify's `updatedAt` of the newest order seen; each run re-reads a short
 * overlap before it, since Shopify's search works in whole seconds (re-applying is a no-op).
 */
import type { AppContext } from "../core/context.ts";
import { graphql } from "../shopify/graphql.ts";
import { allNodes, pages } from "../shopify/pager.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { type ImportOutcome, importOrderTx, lockOrders } from "./intake.ts";
import type { OrderMoney, Transaction } from "./money.ts";
import { readOrderMoney } from "./order-money-read.ts";
import { loadSettings } from "./settings.ts";
import { fromGraphqlOrder, type GraphqlOrderNode, type ShopifyOrder, withMoney } from "./shopify-order.ts";
import { applyTransactions } from "./transactions.ts";

/**
 * Orders per page. Shopify sizes a connection logarithmically (2 + floor(2 ln first) × a node's
 * cost), so a full page costs 255 requested points where 15 orders cost 117: 1,020 points per
 * 1,000 orders instead of 7,800 (`npm run bench:costs`). Was 15, tuned to the emulator's old
 * linear cost (issue 18).
 */
export const ORDERS_PAGE = 250;
const OVERLAP_MS = 60_000;
const DAY_MS = 24 * 3600_000;

export const ORDERS_UPDATED_SINCE_QUERY = graphql`
  query TillbridgeOrdersUpdatedSince($first: Int!, $after: String, $query: String!) {
    orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
      nodes {
        id
        name
        createdAt
        updatedAt
        cancelledAt
        displayFinancialStatus
        displayFulfillmentStatus
        email
        phone
        currencyCode
        tags
        totalPriceSet {
          shopMoney {
            amount
          }
        }
        customer {
          firstName
          lastName
          email
        }
        purchasingEntity {
          __typename
          ... on PurchasingCompany {
            company {
              name
            }
          }
        }
        billingAddress {
          name
          company
          address1
          address2
          city
          province
          zip
          country
          countryCodeV2
          phone
        }
        shippingAddress {
          name
          company
          address1
          address2
          city
          province
          zip
          country
          countryCodeV2
          phone
        }
        retailLocation {
          id
        }
        lineItems(first: 10) {
          nodes {
            id
            sku
            name
            quantity
            currentQuantity
            unfulfilledQuantity
            originalUnitPriceSet {
              shopMoney {
                amount
              }
            }
          }
          pageInfo {
            hasNextPage
            endCursor
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

/** The rest of the lines of an order with more than the first page holds. */
export const ORDER_LINES_QUERY = graphql`
  query TillbridgeOrderLines($id: ID!, $after: String) {
    order(id: $id) {
      lineItems(first: 100, after: $after) {
        nodes {
          id
          sku
          name
          quantity
          currentQuantity
          unfulfilledQuantity
          originalUnitPriceSet {
            shopMoney {
              amount
            }
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`;

type LinesConnection = GraphqlOrderNode["lineItems"];

async function completeLines(transport: AdminTransport, node: GraphqlOrderNode): Promise<GraphqlOrderNode> {
  // Without a cursor the rest cannot be asked for: the order stays incomplete (and unreadable).
  if (!node.lineItems.pageInfo.endCursor) return node;
  const rest = await allNodes(
    async (after) => {
      const { data } = await transport.graphql<{ order: { lineItems: LinesConnection } | null }>(
        ORDER_LINES_QUERY,
        { id: node.id, after },
        { estimatedCost: 310 },
      );
      return data.order?.lineItems ?? null;
    },
    { after: node.lineItems.pageInfo.endCursor },
  );
  return {
    ...node,
    lineItems: {
      nodes: [...node.lineItems.nodes, ...rest],
      pageInfo: { hasNextPage: false, endCursor: null },
    },
  };
}

interface OrdersPage {
  orders: { nodes: GraphqlOrderNode[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

export interface BackfillResult {
  readonly read: number;
  readonly outcomes: Partial<Record<ImportOutcome | "unreadable", number>>;
  readonly cursor: number | null;
}

/** Shopify search syntax for "updated after"; quoted ISO time. */
export function updatedSinceQuery(since: number): string {
  return `updated_at:>'${new Date(since).toISOString()}'`;
}

/** One backfill run for a store. Call it from the worker per store (every 1–5 minutes), under the store's lease. */
export async function backfillOrders(
  ctx: AppContext,
  transport: AdminTransport,
  storeId: number,
  options: {
    maxPages?: number /** Read every order's money again, even of versions the hub holds. */;
    rereadMoney?: boolean;
  } = {},
): Promise<BackfillResult> {
  const db = ctx.database.db;
  const settings = await loadSettings(db, storeId);
  const state = await db
    .selectFrom("order_settings")
    .select(["backfill_cursor"])
    .where("store_id", "=", storeId)
    .executeTakeFirst();
  const now = ctx.clock.now();
  let cursor = state?.backfill_cursor ?? null;
  const since = cursor !== null ? cursor - OVERLAP_MS : now - settings.lastDays * DAY_MS;
  const outcomes: Record<string, number> = {};
  let read = 0;
  const ordersPages = pages(
    async (after) =>
      (
        await transport.graphql<OrdersPage>(
          ORDERS_UPDATED_SINCE_QUERY,
          { first: ORDERS_PAGE, after, query: updatedSinceQuery(since) },
          { estimatedCost: 260 },
        )
      ).data.orders,
    { maxPages: options.maxPages ?? 1000 },
  );
  for await (const nodes of ordersPages) {
    for (const node of nodes) {
      read++;
      const parsed = fromGraphqlOrder(
        node.lineItems.pageInfo.hasNextPage ? await completeLines(transport, node) : node,
      );
      if (!parsed.ok) {
        outcomes.unreadable = (outcomes.unreadable ?? 0) + 1;
        ctx.logger.warn(
          { store: transport.store, order: node.id, reason: parsed.reason },
          "backfill: order not readable",
        );
        continue;
      }
      // Its money and payments: one more read per order (taxes, discounts, shipping, refunds,
      // transactions), unless the hub holds this very version with its money already (Shopify
      // moves `updatedAt` with every payment, refund and edit).
      let order = parsed.order;
      let transactions: Transaction[] | null = null;
      const known = options.rereadMoney
        ? null
        : await moneyOfVersion(ctx, storeId, node.id, parsed.order.updatedAt);
      if (known) order = withMoney(order, known);
      else {
        const money = await readOrderMoney(transport, node.id);
        // The money read holds 20 lines and 2 refunds (Shopify's 1,000-point ceiling per query).
        const problem =
          money === null
            ? "the order is gone"
            : !money.money.ok
              ? money.money.reason
              : money.money.money.lines.length < parsed.order.lines.length
                ? "more lines than the money read holds"
                : null;
        if (problem !== null || money === null || !money.money.ok) {
          outcomes.unreadable = (outcomes.unreadable ?? 0) + 1;
          ctx.logger.warn(
            { store: transport.store, order: node.id, reason: problem },
            "backfill: order money not readable",
          );
          continue;
        }
        order = withMoney(order, money.money.money);
        transactions = money.transactions;
      }
      // Read from the API just now: Shopify's current state of the order, which overrides what
      // the hub holds (authoritative). Fenced, with its payments in the same transaction: a
      // former owner of the store (paused past its lease) cannot impose what it read back then
      // over what the new owner has recorded since.
      const txs = transactions;
      const r = await ctx.database.db.transaction().execute(async (trx) => {
        await transport.fence?.(trx);
        await lockOrders(trx, ctx.database.dialect);
        const imported = await importOrderTx(ctx, trx, storeId, order, { authoritative: true });
        if (txs !== null) await applyTransactions(trx, storeId, node.id, txs, ctx.clock.now());
        return imported;
      });
      outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
      if (cursor === null || parsed.order.updatedAt > cursor) cursor = parsed.order.updatedAt;
    }
    // The cursor moves after each page, so a crash resumes close to where it stopped.
    await saveCursor(ctx, transport, storeId, cursor, now);
  }
  return { read, outcomes, cursor };
}

/** The money of the stored version of an order when it is this version (same `updatedAt`). */
async function moneyOfVersion(
  ctx: AppContext,
  storeId: number,
  orderGid: string,
  updatedAt: number,
): Promise<OrderMoney | null> {
  const row = await ctx.database.db
    .selectFrom("orders")
    .select(["source", "shopify_updated_at"])
    .where("store_id", "=", storeId)
    .where("shopify_order_gid", "=", orderGid)
    .executeTakeFirst();
  if (!row || row.shopify_updated_at !== updatedAt) return null;
  return (JSON.parse(row.source) as ShopifyOrder).money ?? null;
}

/** Fenced: a former owner of the store (paused past its lease) cannot move the cursor. */
async function saveCursor(
  ctx: AppContext,
  transport: AdminTransport,
  storeId: number,
  cursor: number | null,
  now: number,
) {
  await ctx.database.db.transaction().execute(async (trx) => {
    await transport.fence?.(trx);
    await trx
      .insertInto("order_settings")
      .values({
        store_id: storeId,
        settings: "{}",
        backfill_cursor: cursor,
        backfill_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column("store_id").doUpdateSet({ backfill_cursor: cursor, backfill_at: now }))
      .execute();
  });
}
