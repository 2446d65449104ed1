/**
 * The order as the back office sees it (feed, detail, outbound webhook payload): one function so
 * the three cannot differ.
 */
import type { Db } from "../db/database.ts";
import {
  fulfillmentViews,
  type OrderFulfillmentView,
  type ReturnView,
  returnViews,
} from "../fulfillment/order-ops-views.ts";
import type { Trx } from "../inventory/ledger-store.ts";
import { type FeedMoney, feedMoney, ORDER_DOCUMENT_VERSION } from "./feed-money.ts";
import { loadMappings, type OrderMappings } from "./mapping.ts";
import type { ShopifyOrder } from "./shopify-order.ts";
import { transactionsOf } from "./transactions.ts";

export interface OrderViewLine {
  sku: string | null;
  title: string | null;
  variantId: number | null;
  quantity: number;
  currentQuantity: number;
  fulfilledQuantity: number;
  fulfillableQuantity: number;
  price: string;
  shopifyLineId: string;
}

export interface OrderView {
  /** The document's version (ORDER_DOCUMENT_VERSION). */
  version: number;
  id: number;
  store: string;
  shopifyOrderId: string;
  name: string;
  status: string;
  parkReason: string | null;
  financialStatus: string | null;
  fulfillmentStatus: string | null;
  cancelledAt: number | null;
  shopifyCreatedAt: number;
  shopifyUpdatedAt: number;
  locationId: string | null;
  warehouse: string | null;
  customer: {
    id: number;
    kind: string;
    email: string | null;
    name: string | null;
    phone: string | null;
    company: string | null;
  } | null;
  email: string | null;
  customerName: string | null;
  phone: string | null;
  addresses: { billing: unknown; shipping: unknown } | null;
  currency: string | null;
  totalPrice: string | null;
  lines: OrderViewLine[];
  /** Taxes, discounts, shipping, duties, totals, source, payments and refunds, exact; null for orders read before money was. */
  money: FeedMoney | null;
  /** Shopify's fulfillment orders: pickup (where, ready since), holds; null until the hub read them. */
  fulfillment: OrderFulfillmentView | null;
  /** Returns and exchanges with their lines, reasons and what came back. */
  returns: ReturnView[];
  feedSeq: number | null;
  importedAt: number | null;
  ackedAt: number | null;
  redacted: boolean;
  updatedAt: number;
}

export async function orderViews(db: Db | Trx, ids: readonly number[]): Promise<OrderView[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom("orders as o")
    .innerJoin("stores as s", "s.id", "o.store_id")
    .leftJoin("warehouses as w", "w.id", "o.warehouse_id")
    .leftJoin("customers as c", "c.id", "o.customer_id")
    .leftJoin("companies as co", "co.id", "o.company_id")
    .select([
      "o.id",
      "s.domain",
      "o.shopify_order_gid",
      "o.name",
      "o.status",
      "o.park_reason",
      "o.financial_status",
      "o.fulfillment_status",
      "o.cancelled_at",
      "o.shopify_created_at",
      "o.shopify_updated_at",
      "o.location_gid",
      "w.code as warehouse",
      "o.customer_id",
      "c.kind as customer_kind",
      "c.email as customer_email",
      "c.name as customer_display",
      "c.phone as customer_phone",
      "co.name as company",
      "o.email",
      "o.customer_name",
      "o.phone",
      "o.addresses",
      "o.currency",
      "o.total_price",
      "o.feed_seq",
      "o.imported_at",
      "o.acked_at",
      "o.redacted_at",
      "o.updated_at",
      "o.store_id",
      "o.source",
    ])
    .where("o.id", "in", ids)
    .execute();
  const lines = await db
    .selectFrom("order_lines")
    .selectAll()
    .where("order_id", "in", ids)
    .orderBy("id")
    .execute();
  const byOrder = new Map<number, OrderViewLine[]>();
  for (const l of lines) {
    const list = byOrder.get(l.order_id) ?? [];
    list.push({
      sku: l.sku,
      title: l.title,
      variantId: l.variant_id,
      quantity: l.quantity,
      currentQuantity: l.current_quantity,
      fulfilledQuantity: l.fulfilled_quantity,
      fulfillableQuantity: l.fulfillable_quantity,
      price: l.price,
      shopifyLineId: l.shopify_line_gid,
    });
    byOrder.set(l.order_id, list);
  }
  const mappingsByStore = new Map<number, OrderMappings>();
  for (const storeId of new Set(rows.map((r) => r.store_id)))
    mappingsByStore.set(storeId, await loadMappings(db, storeId));
  const moneyById = new Map<number, FeedMoney | null>();
  for (const r of rows) {
    const source = JSON.parse(r.source) as ShopifyOrder;
    if (!source.money) {
      moneyById.set(r.id, null);
      continue;
    }
    const address = source.shippingAddress ?? source.billingAddress;
    moneyById.set(
      r.id,
      feedMoney(
        source.money,
        byOrder.get(r.id) ?? [],
        mappingsByStore.get(r.store_id)!,
        { country: address?.countryCode ?? null, province: address?.province ?? null },
        await transactionsOf(db as Trx, r.store_id, r.shopify_order_gid),
      ),
    );
  }
  const fulfillment = await fulfillmentViews(db, ids);
  const returns = await returnViews(db, ids);
  const views = rows.map(
    (r): OrderView => ({
      version: ORDER_DOCUMENT_VERSION,
      id: r.id,
      store: r.domain,
      shopifyOrderId: r.shopify_order_gid,
      name: r.name,
      status: r.status,
      parkReason: r.park_reason,
      financialStatus: r.financial_status,
      fulfillmentStatus: r.fulfillment_status,
      cancelledAt: r.cancelled_at,
      shopifyCreatedAt: r.shopify_created_at,
      shopifyUpdatedAt: r.shopify_updated_at,
      locationId: r.location_gid,
      warehouse: r.warehouse,
      customer:
        r.customer_id === null || r.customer_kind === null
          ? null
          : {
              id: r.customer_id,
              kind: r.customer_kind,
              email: r.customer_email,
              name: r.customer_display,
              phone: r.customer_phone,
              company: r.company,
            },
      email: r.email,
      customerName: r.customer_name,
      phone: r.phone,
      addresses: r.addresses === null ? null : JSON.parse(r.addresses),
      currency: r.currency,
      totalPrice: r.total_price,
      lines: byOrder.get(r.id) ?? [],
      money: moneyById.get(r.id) ?? null,
      fulfillment: fulfillment.get(r.id) ?? null,
      returns: returns.get(r.id) ?? [],
      feedSeq: r.feed_seq,
      importedAt: r.imported_at,
      ackedAt: r.acked_at,
      redacted: r.redacted_at !== null,
      updatedAt: r.updated_at,
    }),
  );
  const order = new Map(ids.map((id, i) => [id, i]));
  return views.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
}

export async function orderView(db: Db | Trx, id: number): Promise<OrderView | undefined> {
  return (await orderViews(db, [id]))[0];
}
