/**
 * What the feed and the console show of an order's fulfillment orders (pickup, holds, ready for
 * pickup) and returns. A leaf module (database reads only), so the order feed can use it
 * without importing the capability's Shopify code.
 */
import type { Db } from "../db/database.ts";
import type { Trx } from "../inventory/ledger-store.ts";
import type { ReturnStatus } from "./order-ops-tables.ts";
import "./order-ops-tables.ts";
import type { ReceiptLine, ShopifyReturnLine } from "./returns.ts";

const OPEN = new Set(["OPEN", "IN_PROGRESS", "ON_HOLD", "SCHEDULED"]);

// ---- what the feed shows ----

export interface OrderFulfillmentView {
  /** pickup when any open fulfillment order is a local pickup, else shipping (or Shopify's type). */
  deliveryMethod: string | null;
  pickupLocation: { id: string; warehouse: string | null } | null;
  readyForPickupAt: number | null;
  held: boolean;
  holds: { reason: string; note: string | null }[];
  fulfillmentOrders: {
    id: string;
    status: string;
    deliveryMethod: string | null;
    locationId: string | null;
    warehouse: string | null;
    holds: { reason: string; note: string | null }[];
    readyForPickupAt: number | null;
    lines: { shopifyLineId: string; remaining: number; total: number }[];
  }[];
}

export async function fulfillmentViews(
  db: Db | Trx,
  orderIds: readonly number[],
): Promise<Map<number, OrderFulfillmentView>> {
  const out = new Map<number, OrderFulfillmentView>();
  if (orderIds.length === 0) return out;
  const rows = await db
    .selectFrom("order_fulfillment_orders as f")
    .leftJoin("store_locations as sl", (j) =>
      j.onRef("sl.store_id", "=", "f.store_id").onRef("sl.location_gid", "=", "f.location_gid"),
    )
    .select([
      "f.order_id",
      "f.store_id",
      "f.fulfillment_order_gid",
      "f.status",
      "f.location_gid",
      "f.delivery_method",
      "f.holds",
      "f.lines",
      "f.prepared_at",
      (eb) =>
        eb
          .selectFrom("location_warehouses as lw")
          .innerJoin("warehouses as w", "w.id", "lw.warehouse_id")
          .select("w.code")
          .whereRef("lw.store_location_id", "=", "sl.id")
          .orderBy("w.id")
          .limit(1)
          .as("warehouse"),
    ])
    .where("f.order_id", "in", orderIds)
    .orderBy("f.id")
    .execute();
  for (const r of rows) {
    const v = out.get(r.order_id) ?? {
      deliveryMethod: null,
      pickupLocation: null,
      readyForPickupAt: null,
      held: false,
      holds: [],
      fulfillmentOrders: [],
    };
    const holds = JSON.parse(r.holds) as { reason: string; note: string | null }[];
    const lines = JSON.parse(r.lines) as { lineGid: string; remaining: number; total: number }[];
    const method = r.delivery_method === null ? null : r.delivery_method.toLowerCase();
    v.fulfillmentOrders.push({
      id: r.fulfillment_order_gid,
      status: r.status.toLowerCase(),
      deliveryMethod: method,
      locationId: r.location_gid,
      warehouse: r.warehouse ?? null,
      holds,
      readyForPickupAt: r.prepared_at,
      lines: lines.map((l) => ({ shopifyLineId: l.lineGid, remaining: l.remaining, total: l.total })),
    });
    const open = OPEN.has(r.status);
    if (open && r.status === "ON_HOLD") {
      v.held = true;
      v.holds.push(...holds);
    }
    if (method === "pick_up" && (open || v.pickupLocation === null)) {
      v.deliveryMethod = "pick_up";
      if (r.location_gid) v.pickupLocation = { id: r.location_gid, warehouse: r.warehouse ?? null };
      if (r.prepared_at !== null) v.readyForPickupAt = Math.max(v.readyForPickupAt ?? 0, r.prepared_at);
    } else if (v.deliveryMethod === null) v.deliveryMethod = method;
    out.set(r.order_id, v);
  }
  return out;
}

// ---- what the feed shows ----

export interface ReturnView {
  id: string;
  hubId: number;
  name: string | null;
  status: ReturnStatus;
  lines: {
    returnLineId: string;
    shopifyLineId: string | null;
    quantity: number;
    processed: number;
    received: number;
    restocked: number;
    reason: string | null;
    reasonNote: string | null;
    customerNote: string | null;
  }[];
  exchangeLines: { shopifyLineId: string; quantity: number }[];
  dispositions: {
    id: string;
    shopifyLineId: string | null;
    quantity: number;
    type: string;
    locationId: string | null;
  }[];
}

export async function returnViews(
  db: Db | Trx,
  orderIds: readonly number[],
): Promise<Map<number, ReturnView[]>> {
  const out = new Map<number, ReturnView[]>();
  if (orderIds.length === 0) return out;
  const rets = await db
    .selectFrom("order_returns")
    .selectAll()
    .where("order_id", "in", orderIds)
    .orderBy("id")
    .execute();
  if (rets.length === 0) return out;
  const receipts = await db
    .selectFrom("return_receipts")
    .select(["return_id", "lines"])
    .where(
      "return_id",
      "in",
      rets.map((r) => r.id),
    )
    .execute();
  const disps = await db
    .selectFrom("return_dispositions")
    .selectAll()
    .where("order_id", "in", orderIds)
    .orderBy("id")
    .execute();
  for (const r of rets) {
    const got = new Map<string, { received: number; restocked: number }>();
    for (const rc of receipts.filter((x) => x.return_id === r.id))
      for (const l of JSON.parse(rc.lines) as ReceiptLine[]) {
        const cur = got.get(l.returnLineGid) ?? { received: 0, restocked: 0 };
        cur.received += l.quantity;
        cur.restocked += l.restocked;
        got.set(l.returnLineGid, cur);
      }
    const list = out.get(r.order_id) ?? [];
    list.push({
      id: r.return_gid,
      hubId: r.id,
      name: r.name,
      status: r.status,
      lines: (JSON.parse(r.lines) as ShopifyReturnLine[]).map((l) => ({
        returnLineId: l.gid,
        shopifyLineId: l.lineGid,
        quantity: l.quantity,
        processed: l.processed,
        received: got.get(l.gid)?.received ?? 0,
        restocked: got.get(l.gid)?.restocked ?? 0,
        reason: l.reason,
        reasonNote: l.reasonNote,
        customerNote: l.customerNote,
      })),
      exchangeLines: (JSON.parse(r.exchange_lines) as { lineGid: string; quantity: number }[]).map((x) => ({
        shopifyLineId: x.lineGid,
        quantity: x.quantity,
      })),
      dispositions: disps
        .filter((d) => d.order_id === r.order_id && (d.return_gid === null || d.return_gid === r.return_gid))
        .map((d) => ({
          id: d.disposition_gid,
          shopifyLineId: d.line_gid,
          quantity: d.quantity,
          type: d.type,
          locationId: d.location_gid,
        })),
    });
    out.set(r.order_id, list);
  }
  return out;
}
