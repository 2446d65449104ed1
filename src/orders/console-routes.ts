/**
 * The operator's views of orders: search (by number or customer email, status, store; newest
 * first, keyset-paged) and one order's history (webhooks, feed versions, reservations, payments,
 * shipments and their Shopify fulfillments, refunds, tags and outbound notifications, in time
 * order).
 */
import { sql } from "kysely";
import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import { decodeCursor, pageOf, pageQuery } from "../core/cursor.ts";
import { AppError } from "../core/errors.ts";
import { line } from "../core/input.ts";
import { route } from "../core/route.ts";
import type { Db } from "../db/database.ts";

const ORDER_STATUSES = ["imported", "parked", "waiting", "skipped", "cancelled"] as const;

const searchQuery = z.object({
  store: line(255).optional(),
  q: line(320).optional().describe("An order number (#1001 or 1001) or a customer's email (exact, any case)"),
  status: z.enum(ORDER_STATUSES).optional().describe("The hub's status of the order"),
  ...pageQuery,
});

export const orderSummarySchema = z.object({
  id: z.number().int(),
  store: z.string(),
  name: z.string().meta({ description: "Shopify's order number, e.g. #1001" }),
  email: z.string().nullable(),
  createdAt: z.number().meta({ description: "When the order was placed in Shopify (epoch ms)" }),
  status: z.object({
    hub: z.enum(ORDER_STATUSES),
    financial: z.string().nullable(),
    fulfillment: z.string().nullable(),
    cancelled: z.boolean(),
    parked: z.boolean(),
    reason: z.string().nullable().meta({ description: "Why it is parked, waiting or skipped" }),
  }),
  total: z.string().nullable(),
  currency: z.string().nullable(),
});

export const historyEventSchema = z.object({
  at: z.number(),
  kind: z.enum([
    "order",
    "webhook",
    "feed",
    "reservation",
    "payment",
    "shipment",
    "fulfillment",
    "refund",
    "tag",
    "outbound",
  ]),
  summary: z.string(),
  data: z.record(z.string(), z.unknown()),
});
type HistoryEvent = z.infer<typeof historyEventSchema>;

/** `#1001`, `1001` → the names an order may carry; null when q is not an order number. */
function orderNames(q: string): string[] {
  const bare = q.replace(/^#/, "");
  return [...new Set([q, bare, `#${bare}`])];
}

export type OrderSearch = z.infer<typeof searchQuery>;

/** The search as one keyset query (exported so tests can read its plan). */
export function orderSearchQuery(db: Db, query: OrderSearch, storeId: number | undefined) {
  let q = db
    .selectFrom("orders as o")
    .innerJoin("stores as s", "s.id", "o.store_id")
    .select([
      "o.id",
      "s.domain",
      "o.name",
      "o.email",
      "o.shopify_created_at",
      "o.status",
      "o.financial_status",
      "o.fulfillment_status",
      "o.cancelled_at",
      "o.park_reason",
      "o.total_price",
      "o.currency",
    ])
    .orderBy("o.shopify_created_at", "desc")
    .orderBy("o.id", "desc")
    .limit(query.limit + 1);
  const text = query.q?.trim();
  // With a number or an email the few matching rows come from their own index; the store and
  // status are then checked on those rows (`+ 0`, `|| ''`: SQLite would otherwise walk the whole
  // store's index to spare the final sort of a handful of rows).
  if (storeId !== undefined)
    q = text ? q.where(sql<number>`o.store_id + 0`, "=", storeId) : q.where("o.store_id", "=", storeId);
  if (query.status)
    q = text
      ? q.where(sql<string>`o.status || ''`, "=", query.status)
      : q.where("o.status", "=", query.status);
  if (text) {
    q = text.includes("@")
      ? q.where("o.email", "=", text.toLowerCase())
      : q.where("o.name", "in", orderNames(text));
  }
  if (query.cursor) {
    const [at, id] = decodeCursor(query.cursor, ["number", "number"]) as [number, number];
    // A row value: both databases seek the (…, created, id) index to it.
    q = q.where(sql<boolean>`(o.shopify_created_at, o.id) < (${at}, ${id})`);
  }
  return q;
}

export async function searchOrders(db: Db, query: OrderSearch) {
  let storeId: number | undefined;
  if (query.store) {
    const s = await db
      .selectFrom("stores")
      .select("id")
      .where("domain", "=", query.store.toLowerCase())
      .executeTakeFirst();
    if (!s) throw new AppError("UNKNOWN_STORE", `no store ${query.store} is connected to the hub`);
    storeId = Number(s.id);
  }
  const q = orderSearchQuery(db, query, storeId);
  const rows = await q.execute();
  const page = pageOf(rows, query.limit, (r) => [Number(r.shopify_created_at), Number(r.id)]);
  return {
    items: page.rows.map((r) => ({
      id: Number(r.id),
      store: r.domain,
      name: r.name,
      email: r.email,
      createdAt: Number(r.shopify_created_at),
      status: {
        hub: r.status,
        financial: r.financial_status,
        fulfillment: r.fulfillment_status,
        cancelled: r.cancelled_at !== null || r.status === "cancelled",
        parked: r.status === "parked",
        reason: r.park_reason,
      },
      total: r.total_price,
      currency: r.currency,
    })),
    nextCursor: page.nextCursor,
  };
}

const HISTORY_LIMIT = 500;
const parse = (s: string | null): unknown => {
  if (s === null) return null;
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
};

export async function orderHistory(db: Db, orderId: number): Promise<HistoryEvent[] | null> {
  const o = await db
    .selectFrom("orders as o")
    .innerJoin("stores as s", "s.id", "o.store_id")
    .select([
      "o.id",
      "o.store_id",
      "s.domain",
      "o.shopify_order_gid",
      "o.name",
      "o.status",
      "o.park_reason",
      "o.shopify_created_at",
      "o.imported_at",
      "o.cancelled_at",
      "o.created_at",
      "o.updated_at",
    ])
    .where("o.id", "=", orderId)
    .executeTakeFirst();
  if (!o) return null;
  const events: HistoryEvent[] = [];
  const at = (v: unknown) => Number(v);
  events.push({
    at: at(o.shopify_created_at),
    kind: "order",
    summary: `${o.name} placed in Shopify`,
    data: { orderId: o.shopify_order_gid },
  });
  events.push({
    at: at(o.created_at),
    kind: "order",
    summary: `${o.name} received by the hub (${o.status}${o.park_reason ? `: ${o.park_reason}` : ""})`,
    data: { status: o.status, reason: o.park_reason },
  });
  if (o.imported_at !== null)
    events.push({ at: at(o.imported_at), kind: "order", summary: `${o.name} imported`, data: {} });
  if (o.cancelled_at !== null)
    events.push({
      at: at(o.cancelled_at),
      kind: "order",
      summary: `${o.name} cancelled in Shopify`,
      data: {},
    });

  const hooks = await db
    .selectFrom("webhook_inbox")
    .select(["id", "topic", "status", "attempts", "last_error", "received_at", "processed_at"])
    .where("shop", "=", o.domain)
    .where("order_gid", "=", o.shopify_order_gid)
    .orderBy("id")
    .limit(HISTORY_LIMIT)
    .execute();
  for (const h of hooks)
    events.push({
      at: at(h.received_at),
      kind: "webhook",
      summary: `${h.topic} received (${h.status}${h.last_error ? `: ${h.last_error}` : ""})`,
      data: {
        id: Number(h.id),
        topic: h.topic,
        status: h.status,
        attempts: h.attempts,
        lastError: h.last_error,
      },
    });

  const feed = await db
    .selectFrom("order_feed")
    .select(["id", "created_at"])
    .where("order_id", "=", orderId)
    .orderBy("id")
    .limit(HISTORY_LIMIT)
    .execute();
  for (const [i, f] of feed.entries())
    events.push({
      at: at(f.created_at),
      kind: "feed",
      summary: `version ${i + 1} in the back-office feed (position ${f.id})`,
      data: { feedSeq: Number(f.id), version: i + 1 },
    });

  const reservations = await db
    .selectFrom("reservations as r")
    .innerJoin("variants as v", "v.id", "r.variant_id")
    .innerJoin("warehouses as w", "w.id", "r.warehouse_id")
    .select(["v.sku", "w.code", "r.quantity"])
    .where("r.order_id", "=", orderId)
    .execute();
  for (const r of reservations)
    events.push({
      at: at(o.imported_at ?? o.updated_at),
      kind: "reservation",
      summary: `${r.quantity} × ${r.sku} reserved at ${r.code} (still held)`,
      data: { sku: r.sku, warehouse: r.code, quantity: Number(r.quantity) },
    });

  const payments = await db
    .selectFrom("order_transactions")
    .select(["transaction_gid", "data", "created_at"])
    .where("store_id", "=", Number(o.store_id))
    .where("shopify_order_gid", "=", o.shopify_order_gid)
    .limit(HISTORY_LIMIT)
    .execute();
  for (const p of payments) {
    const t = (parse(p.data) ?? {}) as { kind?: string; status?: string; gateway?: string };
    events.push({
      at: at(p.created_at),
      kind: "payment",
      summary: `payment ${t.kind ?? ""} ${t.status ?? ""}${t.gateway ? ` via ${t.gateway}` : ""}`
        .replace(/\s+/g, " ")
        .trim(),
      data: { transactionId: p.transaction_gid, kind: t.kind ?? null, status: t.status ?? null },
    });
  }

  const shipments = await db
    .selectFrom("shipments")
    .select(["id", "external_id", "status", "reason", "created_at", "updated_at"])
    .where("order_id", "=", orderId)
    .orderBy("id")
    .limit(HISTORY_LIMIT)
    .execute();
  for (const s of shipments) {
    const lines = await db
      .selectFrom("shipment_lines")
      .select(["sku", "quantity", "fulfilled_quantity"])
      .where("shipment_id", "=", s.id)
      .execute();
    events.push({
      at: at(s.created_at),
      kind: "shipment",
      summary: `shipment ${s.external_id}: ${lines.map((l) => `${l.quantity} × ${l.sku ?? "?"}`).join(", ")} (${s.status}${s.reason ? `: ${s.reason}` : ""})`,
      data: {
        id: s.external_id,
        status: s.status,
        reason: s.reason,
        lines: lines.map((l) => ({
          sku: l.sku,
          quantity: Number(l.quantity),
          fulfilledInShopify: Number(l.fulfilled_quantity),
        })),
      },
    });
    const fulfillments = await db
      .selectFrom("shipment_fulfillments")
      .select(["fulfillment_gid", "fulfillment_order_gid", "status", "last_error", "created_at"])
      .where("shipment_id", "=", s.id)
      .orderBy("id")
      .execute();
    for (const f of fulfillments)
      events.push({
        at: at(f.created_at),
        kind: "fulfillment",
        summary:
          f.status === "done"
            ? `Shopify fulfillment created for shipment ${s.external_id}`
            : `Shopify fulfillment for shipment ${s.external_id} failed: ${f.last_error ?? "no reason given"}`,
        data: {
          shipment: s.external_id,
          fulfillmentId: f.fulfillment_gid,
          fulfillmentOrderId: f.fulfillment_order_gid,
          status: f.status,
          error: f.last_error,
        },
      });
  }

  const shopifyMade = await db
    .selectFrom("fulfillment_records")
    .select([
      "fulfillment_gid",
      "line_gid",
      "quantity",
      "origin",
      "sale_quantity",
      "cancelled",
      "occurred_at",
    ])
    .where("order_id", "=", orderId)
    .where("origin", "=", "shopify")
    .limit(HISTORY_LIMIT)
    .execute();
  for (const f of shopifyMade)
    events.push({
      at: at(f.occurred_at),
      kind: "fulfillment",
      summary: `fulfilled in Shopify: ${f.quantity} of line ${f.line_gid}${f.cancelled ? " (cancelled)" : ""}, ${f.sale_quantity} recorded as a sale`,
      data: {
        fulfillmentId: f.fulfillment_gid,
        lineId: f.line_gid,
        quantity: Number(f.quantity),
        origin: f.origin,
        cancelled: Boolean(f.cancelled),
      },
    });

  const refunds = await db
    .selectFrom("refunds")
    .select(["shopify_refund_gid", "lines", "restock_rule", "source", "shopify_created_at"])
    .where("order_id", "=", orderId)
    .limit(HISTORY_LIMIT)
    .execute();
  for (const r of refunds) {
    const lines = (parse(r.lines) ?? []) as { sku?: string | null; quantity?: number; restocked?: number }[];
    events.push({
      at: at(r.shopify_created_at),
      kind: "refund",
      summary: `refund of ${lines.map((l) => `${l.quantity ?? 0} × ${l.sku ?? "?"}`).join(", ") || "money only"} (restock: ${r.restock_rule})`,
      data: { refundId: r.shopify_refund_gid, source: r.source, restockRule: r.restock_rule, lines },
    });
  }

  const tags = await db
    .selectFrom("order_tag_jobs")
    .select(["tag", "status", "last_error", "created_at"])
    .where("store_id", "=", Number(o.store_id))
    .where("shopify_order_gid", "=", o.shopify_order_gid)
    .limit(HISTORY_LIMIT)
    .execute();
  for (const t of tags)
    events.push({
      at: at(t.created_at),
      kind: "tag",
      summary: `tag "${t.tag}" ${t.status === "done" ? "added in Shopify" : t.status}${t.last_error ? `: ${t.last_error}` : ""}`,
      data: { tag: t.tag, status: t.status, error: t.last_error },
    });

  const outbound = await db
    .selectFrom("outbound_events")
    .select(["id", "event_id", "type", "status", "attempts", "last_error", "created_at", "delivered_at"])
    .where("order_id", "=", orderId)
    .orderBy("id")
    .limit(HISTORY_LIMIT)
    .execute();
  for (const e of outbound)
    events.push({
      at: at(e.created_at),
      kind: "outbound",
      summary: `${e.type} notification ${e.status}${e.last_error ? ` (${e.last_error})` : ""}`,
      data: {
        id: Number(e.id),
        eventId: e.event_id,
        type: e.type,
        status: e.status,
        attempts: e.attempts,
        deliveredAt: e.delivered_at === null ? null : Number(e.delivered_at),
        error: e.last_error,
      },
    });
  // Stable: events of one instant keep the order above (placed → received → …).
  return events
    .map((e, i) => [e, i] as const)
    .sort((a, b) => a[0].at - b[0].at || a[1] - b[1])
    .map(([e]) => e);
}

export function orderConsoleRoutes(ctx: AppContext) {
  const db = ctx.database.db;
  return [
    route({
      method: "GET",
      url: "/api/v1/order-search",
      tag: "orders",
      auth: "orders.read",
      summary:
        "Orders newest first (by when they were placed), by number (#1001 or 1001) or customer email (exact, any case), hub status and store; page with `cursor=nextCursor`.",
      query: searchQuery,
      response: z.object({ items: z.array(orderSummarySchema), nextCursor: z.string().nullable() }),
      handler: ({ query }) => searchOrders(db, query),
    }),
    route({
      method: "GET",
      url: "/api/v1/orders/:id/history",
      tag: "orders",
      auth: "orders.read",
      summary:
        "One order's history in time order: the webhooks received for it, its feed versions, reservations, payments, shipments and their Shopify fulfillments, fulfillments made in Shopify, refunds, tags and outbound notifications.",
      params: z.object({ id: z.coerce.number().int().positive() }),
      response: z.object({ events: z.array(historyEventSchema) }),
      async handler({ params }) {
        const events = await orderHistory(db, params.id);
        if (!events) throw new AppError("NOT_FOUND", `no order ${params.id}`);
        return { events };
      },
    }),
  ];
}
