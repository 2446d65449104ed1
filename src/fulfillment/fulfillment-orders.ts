/**
 * Shopify's fulfillment orders of each hub order, as the back office needs them: pickup or
 * shipping (and where), on hold and why, ready for pickup. Read from Shopify (one query per
 * order) when an order is imported or changes, and again when a `fulfillment_orders/*` webhook
 * says one of them moved, was held, released or prepared. The feed shows them
 * (`fulfillment` in the order document).
 *
 * Where an order's open fulfillment orders all sit at one location whose warehouse is not the one
 * the hub reserves at (a move to another store, a pickup elsewhere), the reservation follows to
 * that warehouse in the same transaction: Shopify moved its committed units there too, so the
 * desired on_hand at both locations stays as it was (docs/STOCK-MODEL.md). When they sit at
 * several locations, each line's units are reserved where its fulfillment orders wait
 * (`refreshReservations`, src/orders/intake.ts).
 */
import { createHash } from "node:crypto";
import type { AppContext } from "../core/context.ts";
import type { Db } from "../db/database.ts";
import type { Trx } from "../inventory/ledger-store.ts";
import { drainInbox, InboxRejection, type InboxRunResult, markInboxDone } from "../orders/inbox.ts";
import { lockOrders, refreshReservations } from "../orders/intake.ts";
import { enqueueOutboundEvent } from "../orders/outbound.ts";
import { loadSettings } from "../orders/settings.ts";
import { graphql } from "../shopify/graphql.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import "./order-ops-tables.ts";

export const FULFILLMENT_ORDER_TOPICS = [
  "fulfillment_orders/placed_on_hold",
  "fulfillment_orders/hold_released",
  "fulfillment_orders/moved",
  "fulfillment_orders/line_items_prepared_for_pickup",
] as const;
export const FULFILLMENT_ORDER_SUBSCRIPTIONS = FULFILLMENT_ORDER_TOPICS.map((t) =>
  t.toUpperCase().replace("/", "_"),
);

/** Five fulfillment orders × 30 lines: ~160 points. */
export const ORDER_FULFILLMENT_ORDERS_QUERY = graphql`
  query TillbridgeOrderFulfillmentOrders($id: ID!) {
    order(id: $id) {
      id
      fulfillmentOrders(first: 5) {
        nodes {
          id
          status
          deliveryMethod {
            methodType
          }
          assignedLocation {
            location {
              id
            }
          }
          fulfillmentHolds {
            reason
            reasonNotes
          }
          lineItems(first: 30) {
            nodes {
              id
              totalQuantity
              remainingQuantity
              lineItem {
                id
              }
            }
          }
        }
      }
    }
  }
`;

export interface FulfillmentOrderState {
  readonly gid: string;
  readonly status: string;
  readonly locationGid: string | null;
  readonly deliveryMethod: string | null;
  readonly holds: readonly { reason: string; note: string | null }[];
  readonly lines: readonly { id: string; lineGid: string; remaining: number; total: number }[];
}

interface FoData {
  order: {
    id: string;
    fulfillmentOrders: {
      nodes: {
        id: string;
        status: string;
        deliveryMethod: { methodType: string } | null;
        assignedLocation: { location: { id: string } | null } | null;
        fulfillmentHolds: { reason: string; reasonNotes: string | null }[];
        lineItems: {
          nodes: { id: string; totalQuantity: number; remainingQuantity: number; lineItem: { id: string } }[];
        };
      }[];
    };
  } | null;
}

export async function readFulfillmentOrders(
  transport: AdminTransport,
  orderGid: string,
): Promise<FulfillmentOrderState[] | null> {
  const { data } = await transport.graphql<FoData>(
    ORDER_FULFILLMENT_ORDERS_QUERY,
    { id: orderGid },
    { estimatedCost: 160 },
  );
  if (!data.order) return null;
  return data.order.fulfillmentOrders.nodes.map((n) => ({
    gid: n.id,
    status: n.status,
    locationGid: n.assignedLocation?.location?.id ?? null,
    deliveryMethod: n.deliveryMethod?.methodType ?? null,
    holds: n.fulfillmentHolds.map((h) => ({ reason: h.reason, note: h.reasonNotes })),
    lines: n.lineItems.nodes.map((l) => ({
      id: l.id,
      lineGid: l.lineItem.id,
      remaining: l.remainingQuantity,
      total: l.totalQuantity,
    })),
  }));
}

const OPEN = new Set(["OPEN", "IN_PROGRESS", "ON_HOLD", "SCHEDULED"]);

/** Pure: the one location every open unit of the order waits at, or null (none, or several). */
export function soleOpenLocation(fos: readonly FulfillmentOrderState[]): string | null {
  const locs = new Set(
    fos.filter((f) => OPEN.has(f.status) && f.lines.some((l) => l.remaining > 0)).map((f) => f.locationGid),
  );
  if (locs.size !== 1) return null;
  return [...locs][0] ?? null;
}

/** The warehouse mapped to a managed location of the store (the lowest id when several). */
export async function warehouseOfLocation(
  db: Db | Trx,
  storeId: number,
  locationGid: string,
): Promise<{ id: number; code: string } | null> {
  const r = await db
    .selectFrom("store_locations as sl")
    .innerJoin("location_warehouses as lw", "lw.store_location_id", "sl.id")
    .innerJoin("warehouses as w", "w.id", "lw.warehouse_id")
    .select(["w.id", "w.code"])
    .where("sl.store_id", "=", storeId)
    .where("sl.location_gid", "=", locationGid)
    .orderBy("w.id")
    .limit(1)
    .executeTakeFirst();
  return r ?? null;
}

/** A new feed position (and an outbound `order.updated`) for an order whose document changed. */
export async function bumpFeed(trx: Trx, storeId: number, orderId: number, now: number): Promise<void> {
  const o = await trx.selectFrom("orders").select("imported_at").where("id", "=", orderId).executeTakeFirst();
  if (!o || o.imported_at === null) return;
  const { id: seq } = await trx
    .insertInto("order_feed")
    .values({ order_id: orderId, created_at: now })
    .returning("id")
    .executeTakeFirstOrThrow();
  await trx.updateTable("orders").set({ feed_seq: seq, updated_at: now }).where("id", "=", orderId).execute();
  const settings = await loadSettings(trx, storeId);
  if (settings.outboundUrl !== null)
    await enqueueOutboundEvent(trx, { storeId, orderId, type: "order.updated" }, now);
}

const stateHash = (fos: readonly FulfillmentOrderState[], prepared: ReadonlyMap<string, number | null>) =>
  createHash("sha256")
    .update(JSON.stringify(fos.map((f) => [f, prepared.get(f.gid) ?? null])))
    .digest("hex");

/**
 * Stores what Shopify says of an order's fulfillment orders (replacing the last read), moves the
 * reservation where the open units now wait, and puts the order in the feed again when anything
 * the back office sees changed. `prepared`: fulfillment orders just prepared for pickup by the hub.
 */
export async function recordFulfillmentOrders(
  ctx: AppContext,
  storeId: number,
  orderId: number,
  fos: readonly FulfillmentOrderState[],
  options: {
    version?: number | null;
    /** The order's content hash seen before the read. */
    content?: string | null;
    /** When the read began: a webhook marking the order due after that is not cleared by it. */
    readStartedAt?: number;
    preparedNow?: readonly string[];
  } = {},
): Promise<{ changed: boolean; warehouseMoved: boolean }> {
  const now = ctx.clock.now();
  const readStartedAt = options.readStartedAt ?? now;
  return ctx.database.db.transaction().execute(async (trx) => {
    await lockOrders(trx, ctx.database.dialect);
    const before = await trx
      .selectFrom("order_fulfillment_orders")
      .selectAll()
      .where("order_id", "=", orderId)
      .orderBy("id")
      .execute();
    const prepared = new Map(before.map((b) => [b.fulfillment_order_gid, b.prepared_at]));
    for (const g of options.preparedNow ?? []) prepared.set(g, now);
    const oldHash = stateHash(
      before.map((b) => ({
        gid: b.fulfillment_order_gid,
        status: b.status,
        locationGid: b.location_gid,
        deliveryMethod: b.delivery_method,
        holds: JSON.parse(b.holds),
        lines: JSON.parse(b.lines),
      })),
      new Map(before.map((b) => [b.fulfillment_order_gid, b.prepared_at])),
    );
    const newHash = stateHash(fos, prepared);
    const changed = oldHash !== newHash;
    if (changed) {
      await trx.deleteFrom("order_fulfillment_orders").where("order_id", "=", orderId).execute();
      if (fos.length > 0)
        await trx
          .insertInto("order_fulfillment_orders")
          .values(
            fos.map((f) => ({
              store_id: storeId,
              order_id: orderId,
              fulfillment_order_gid: f.gid,
              location_gid: f.locationGid,
              status: f.status,
              delivery_method: f.deliveryMethod,
              holds: JSON.stringify(f.holds),
              lines: JSON.stringify(f.lines),
              // A fulfillment order prepared before keeps its time.
              prepared_at: prepared.get(f.gid) ?? null,
              updated_at: now,
            })),
          )
          .execute();
    }
    let warehouseMoved = false;
    const order = await trx
      .selectFrom("orders")
      .select(["warehouse_id", "fulfil_warehouse_id", "cancelled_at"])
      .where("id", "=", orderId)
      .executeTakeFirstOrThrow();
    const loc = soleOpenLocation(fos);
    if (loc !== null && order.cancelled_at === null) {
      const w = await warehouseOfLocation(trx, storeId, loc);
      if (w && w.id !== order.warehouse_id) {
        await trx
          .updateTable("orders")
          .set({ warehouse_id: w.id, fulfil_warehouse_id: w.id, updated_at: now })
          .where("id", "=", orderId)
          .execute();
        await refreshReservations(ctx, trx, orderId, now);
        warehouseMoved = true;
      }
    }
    // Open units at several locations: each line's reservation follows its fulfillment orders.
    if (changed && !warehouseMoved) await refreshReservations(ctx, trx, orderId, now);
    await trx
      .insertInto("order_fo_sync")
      .values({
        order_id: orderId,
        store_id: storeId,
        due: 0,
        synced_version: options.version ?? null,
        synced_content: options.content ?? null,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc.column("order_id").doUpdateSet((eb) => ({
          // Marked due while this read was under way: what it read may predate the change.
          due: eb
            .case()
            .when("order_fo_sync.updated_at", ">", readStartedAt)
            .then(eb.ref("order_fo_sync.due"))
            .else(0)
            .end(),
          ...(options.version !== undefined
            ? { synced_version: options.version, synced_content: options.content ?? null }
            : {}),
          updated_at: now,
        })),
      )
      .execute();
    if (changed || warehouseMoved) await bumpFeed(trx, storeId, orderId, now);
    return { changed, warehouseMoved };
  });
}

/** Reads one order's fulfillment orders from Shopify and records them. */
export async function syncOrderFulfillmentOrders(
  ctx: AppContext,
  transport: AdminTransport,
  storeId: number,
  orderId: number,
): Promise<{ changed: boolean; warehouseMoved: boolean } | null> {
  const readStartedAt = ctx.clock.now();
  const o = await ctx.database.db
    .selectFrom("orders")
    .select(["shopify_order_gid", "shopify_updated_at", "content_hash"])
    .where("id", "=", orderId)
    .executeTakeFirstOrThrow();
  const fos = await readFulfillmentOrders(transport, o.shopify_order_gid);
  if (fos === null) return null;
  return recordFulfillmentOrders(ctx, storeId, orderId, fos, {
    version: o.shopify_updated_at,
    content: o.content_hash,
    readStartedAt,
  });
}

/**
 * The store pass: orders in the feed and not cancelled whose fulfillment orders were never read,
 * changed since (a newer version: a fulfilled order may get exchange lines), or were named by a
 * webhook. One read per order version. Run under the store's lease.
 */
export async function syncDueFulfillmentOrders(
  ctx: AppContext,
  transport: AdminTransport,
  storeId: number,
  limit = 20,
): Promise<{ orders: number; changed: number }> {
  const due = await ctx.database.db
    .selectFrom("orders as o")
    .leftJoin("order_fo_sync as s", "s.order_id", "o.id")
    .select(["o.id"])
    .where("o.store_id", "=", storeId)
    .where("o.imported_at", "is not", null)
    .where("o.cancelled_at", "is", null)
    .where((eb) =>
      eb.or([
        eb("s.order_id", "is", null),
        eb("s.due", "=", 1),
        eb("s.synced_version", "is", null),
        eb("s.synced_version", "<", eb.ref("o.shopify_updated_at")),
        // The same second, other content (an exchange added right after the last read).
        eb("s.synced_content", "is", null),
        eb("s.synced_content", "<>", eb.ref("o.content_hash")),
      ]),
    )
    .orderBy("o.id")
    .limit(limit)
    .execute();
  let changed = 0;
  for (const o of due) {
    const r = await syncOrderFulfillmentOrders(ctx, transport, storeId, o.id);
    if (r?.changed || r?.warehouseMoved) changed++;
  }
  return { orders: due.length, changed };
}

export async function markFulfillmentOrdersDue(db: Db | Trx, orderIds: readonly number[], now: number) {
  for (const orderId of new Set(orderIds)) {
    const o = await db.selectFrom("orders").select("store_id").where("id", "=", orderId).executeTakeFirst();
    if (!o) continue;
    await db
      .insertInto("order_fo_sync")
      .values({
        order_id: orderId,
        store_id: o.store_id,
        due: 1,
        synced_version: null,
        synced_content: null,
        updated_at: now,
      })
      .onConflict((oc) => oc.column("order_id").doUpdateSet({ due: 1, updated_at: now }))
      .execute();
  }
}

/** Every fulfillment-order gid a payload names, wherever it sits (Shopify's shapes vary by topic). */
export function fulfillmentOrderGids(body: unknown): string[] {
  const out = new Set<string>();
  const walk = (v: unknown, key: string) => {
    if (typeof v === "string") {
      if (/^gid:\/\/shopify\/FulfillmentOrder\/\d+$/.test(v)) out.add(v);
    } else if (typeof v === "number" && key === "fulfillment_order_id") {
      out.add(`gid://shopify/FulfillmentOrder/${v}`);
    } else if (Array.isArray(v)) for (const x of v) walk(x, key);
    else if (v && typeof v === "object")
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (k === "id" && typeof x === "number" && key.includes("fulfillment_order"))
          out.add(`gid://shopify/FulfillmentOrder/${x}`);
        else walk(x, k === "id" ? key : k);
      }
  };
  walk(body, "");
  return [...out];
}

/**
 * `fulfillment_orders/*` deliveries: the orders they concern are due a read. A fulfillment order
 * the hub has never read (the order not imported yet) is read with its order anyway.
 */
export async function processFulfillmentOrderInbox(ctx: AppContext, limit = 200): Promise<InboxRunResult> {
  return drainInbox(ctx, {
    topics: FULFILLMENT_ORDER_TOPICS,
    limit,
    async apply(row) {
      let body: unknown;
      try {
        body = JSON.parse(row.body);
      } catch {
        throw new InboxRejection("body is not JSON");
      }
      const gids = fulfillmentOrderGids(body);
      const store = await ctx.database.db
        .selectFrom("stores")
        .select("id")
        .where("domain", "=", row.shop)
        .executeTakeFirst();
      if (!store) throw new InboxRejection(`store ${row.shop} is not connected to the hub`);
      const orders =
        gids.length === 0
          ? []
          : await ctx.database.db
              .selectFrom("order_fulfillment_orders")
              .select("order_id")
              .where("store_id", "=", store.id)
              .where("fulfillment_order_gid", "in", gids)
              .execute();
      const now = ctx.clock.now();
      await markFulfillmentOrdersDue(
        ctx.database.db,
        orders.map((o) => o.order_id),
        now,
      );
      await markInboxDone(ctx.database.db, row.id, now);
    },
  });
}

export { fulfillmentViews, type OrderFulfillmentView } from "./order-ops-views.ts";
