/**
 * Every Shopify fulfillment of a hub order, whoever made it, reaches the hub once
 * (docs/STOCK-MODEL.md):
 *
 * - The hub's own (`fulfillmentCreate` for a back-office shipment): its units stop counting as
 *   in transit; nothing new enters the ledger (the shipment's `sale` did).
 * - Made in Shopify (admin, POS, a fulfillment app): units that cover what the back office
 *   already shipped through the hub are adopted by that shipment (never a second sale); the rest
 *   becomes one `sale` movement per line at the warehouse mapped to the fulfillment's location,
 *   dated at the fulfillment and keyed `fulfillment:<fulfillment gid>:<line gid>`, unless the
 *   store's rule leaves those sales to the back office.
 * - Either way Shopify lowered its on_hand there by itself: the delta baseline follows in the
 *   same transaction, so the push never sends that change again.
 *
 * One record per (store, fulfillment, line) makes the webhook, the polling safety net and the
 * hub's own delivery idempotent against each other. A cancelled fulfillment reverses its record.
 */
import { z } from "zod";
import { type AppContext, stockChanged } from "../core/context.ts";
import type { ShopifyFulfillmentRule } from "../db/tables.ts";
import { ingestMovements, type Trx } from "../inventory/ledger-store.ts";
import { followShopifyChange, markStoreDirtyFor } from "../inventory/push/push-store.ts";
import { drainInbox, type InboxRunResult, markInboxDone, storeDelivery } from "../orders/inbox.ts";
import { lockOrders, refreshReservations } from "../orders/intake.ts";
import { graphql } from "../shopify/graphql.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { loadFulfillmentSettings } from "./settings.ts";

export const SHOPIFY_FULFILLMENT_TOPICS = ["fulfillments/create", "fulfillments/update"] as const;
export const SHOPIFY_FULFILLMENT_SUBSCRIPTIONS = ["FULFILLMENTS_CREATE", "FULFILLMENTS_UPDATE"] as const;

export interface ShopifyFulfillment {
  readonly gid: string;
  readonly orderGid: string;
  readonly locationGid: string | null;
  readonly createdAt: number;
  readonly cancelled: boolean;
  readonly lines: readonly { readonly lineGid: string; readonly quantity: number }[];
}

export type ParsedFulfillment = { ok: true; fulfillment: ShopifyFulfillment } | { ok: false; reason: string };

const restFulfillment = z.object({
  id: z.union([z.number(), z.string()]),
  admin_graphql_api_id: z.string().optional(),
  order_id: z.union([z.number(), z.string()]),
  location_id: z.union([z.number(), z.string()]).nullish(),
  status: z.string().nullish(),
  created_at: z.string(),
  line_items: z.array(
    z.object({
      id: z.union([z.number(), z.string()]),
      admin_graphql_api_id: z.string().optional(),
      quantity: z.number().int().nonnegative(),
    }),
  ),
});

/** The REST payload of `fulfillments/create` and `fulfillments/update`. */
export function fromFulfillmentWebhook(body: unknown): ParsedFulfillment {
  const r = restFulfillment.safeParse(body);
  if (!r.success) {
    const first = r.error.issues[0];
    return { ok: false, reason: `not a fulfillment payload: ${first?.path.join(".")} ${first?.message}` };
  }
  const f = r.data;
  const createdAt = Date.parse(f.created_at);
  if (Number.isNaN(createdAt)) return { ok: false, reason: "fulfillment created_at unreadable" };
  const status = (f.status ?? "success").toLowerCase();
  return {
    ok: true,
    fulfillment: {
      gid: f.admin_graphql_api_id ?? `gid://shopify/Fulfillment/${f.id}`,
      orderGid: `gid://shopify/Order/${f.order_id}`,
      locationGid: f.location_id == null ? null : `gid://shopify/Location/${f.location_id}`,
      createdAt,
      cancelled: status === "cancelled" || status === "error" || status === "failure",
      lines: f.line_items.map((l) => ({
        lineGid: l.admin_graphql_api_id ?? `gid://shopify/LineItem/${l.id}`,
        quantity: l.quantity,
      })),
    },
  };
}

/** How a fulfillment line's units divide (pure). */
export interface LineSplit {
  /** Units covering what the back office shipped through the hub and Shopify had not fulfilled. */
  readonly hub: number;
  /** Units to record as a sale. */
  readonly sale: number;
}

export function splitFulfillmentLine(
  quantity: number,
  origin: "hub" | "shopify",
  shippedNotFulfilled: number,
  rule: ShopifyFulfillmentRule,
  canRecordSale: boolean,
): LineSplit {
  if (origin === "hub") return { hub: quantity, sale: 0 };
  const hub = Math.max(0, Math.min(quantity, shippedNotFulfilled));
  const rest = quantity - hub;
  return { hub, sale: rule === "record_in_ledger" && canRecordSale ? rest : 0 };
}

export type FulfillmentOutcome = "recorded" | "reversed" | "duplicate" | "unknown_order";

interface HubShipmentLine {
  readonly id: number;
  readonly shipmentId: number;
  readonly lineGid: string;
  /** Units shipped on this line that Shopify has not fulfilled yet (decreases as they are covered). */
  open: number;
}

/** The hub's own fulfillment, just created for a shipment: recorded with it in one transaction. */
export interface HubFulfillment {
  readonly shipmentId: number;
  readonly fulfillmentOrderGid: string;
  readonly lines: readonly { readonly lineGid: string; readonly quantity: number }[];
}

/**
 * Records one fulfillment (idempotent). `hub` is set when the hub itself just made it for a
 * shipment. Runs under the orders lock, in one transaction with its sale movements.
 */
export async function recordFulfillment(
  ctx: AppContext,
  storeId: number,
  f: ShopifyFulfillment,
  hub: HubFulfillment | null = null,
  /** The lease's fencing check, when a worker records the result of its own Shopify call. */
  fence?: (trx: Trx) => Promise<void>,
): Promise<FulfillmentOutcome> {
  const hubShipmentId = hub?.shipmentId ?? null;
  const db = ctx.database.db;
  const order = await db
    .selectFrom("orders")
    .select(["id", "name"])
    .where("store_id", "=", storeId)
    .where("shopify_order_gid", "=", f.orderGid)
    .executeTakeFirst();
  if (!order) return "unknown_order";
  const settings = await loadFulfillmentSettings(db, storeId);
  const now = ctx.clock.now();
  let outcome: FulfillmentOutcome = "duplicate";

  // Everything is decided inside the transaction (under the orders lock), from what is recorded.
  const plan = async (trx: Trx) => {
    await lockOrders(trx, ctx.database.dialect);
    const known = await trx
      .selectFrom("fulfillment_records")
      .selectAll()
      .where("store_id", "=", storeId)
      .where("fulfillment_gid", "=", f.gid)
      .execute();
    const lines = new Map(
      (
        await trx
          .selectFrom("order_lines")
          .select(["shopify_line_gid", "variant_id"])
          .where("order_id", "=", order.id)
          .execute()
      ).map((l) => [l.shopify_line_gid, l.variant_id]),
    );
    const location =
      f.locationGid === null
        ? undefined
        : await trx
            .selectFrom("store_locations as sl")
            .leftJoin("location_warehouses as lw", "lw.store_location_id", "sl.id")
            .leftJoin("warehouses as w", "w.id", "lw.warehouse_id")
            .select(["sl.managed", "w.id as warehouse_id", "w.code"])
            .where("sl.store_id", "=", storeId)
            .where("sl.location_gid", "=", f.locationGid)
            .orderBy("w.id")
            .limit(1)
            .executeTakeFirst();
    const warehouse =
      location?.managed === 1 && location.warehouse_id !== null && location.code !== null
        ? { id: location.warehouse_id, code: location.code }
        : null;
    // A fulfillment the hub made before its records existed (or a re-delivery of one) is the hub's.
    const ownGid = await trx
      .selectFrom("shipment_fulfillments")
      .select("shipment_id")
      .where("fulfillment_gid", "=", f.gid)
      .executeTakeFirst();
    const origin: "hub" | "shopify" = hubShipmentId !== null || ownGid ? "hub" : "shopify";
    // Units of a fulfillment the hub already knew as its own were counted when it was recorded.
    const counted = hubShipmentId === null && ownGid !== undefined;
    const open: HubShipmentLine[] = (
      await trx
        .selectFrom("shipment_lines as l")
        .innerJoin("shipments as s", "s.id", "l.shipment_id")
        .select(["l.id", "l.shipment_id", "l.shopify_line_gid", "l.quantity", "l.fulfilled_quantity"])
        .where("s.order_id", "=", order.id)
        .whereRef("l.quantity", ">", "l.fulfilled_quantity")
        .orderBy("l.id")
        .execute()
    ).map((l) => ({
      id: l.id,
      shipmentId: l.shipment_id,
      lineGid: l.shopify_line_gid,
      open: l.quantity - l.fulfilled_quantity,
    }));
    return { known, lines, warehouse, origin, open, counted, ownGid: ownGid !== undefined };
  };

  const write = async (trx: Trx, movements: Movement[] | null) => {
    await fence?.(trx);
    const p = await plan(trx);
    const knownLines = new Map(p.known.map((k) => [k.line_gid, k]));
    const baseline: { variantId: number; locationGid: string; delta: number }[] = [];
    const adopted = new Map<number, { lineGid: string; quantity: number }[]>();
    const cover = async (lineGid: string, quantity: number, shipmentId: number | null) => {
      // Hub units: the shipment's own line first, else the oldest open shipment line.
      let left = quantity;
      const candidates = p.open.filter(
        (o) => o.lineGid === lineGid && (shipmentId === null || o.shipmentId === shipmentId),
      );
      for (const o of candidates) {
        if (left <= 0) break;
        const n = Math.min(left, o.open);
        if (n <= 0) continue;
        await trx
          .updateTable("shipment_lines")
          .set((eb) => ({ fulfilled_quantity: eb("fulfilled_quantity", "+", n) }))
          .where("id", "=", o.id)
          .execute();
        o.open -= n;
        left -= n;
        if (shipmentId === null) {
          const list = adopted.get(o.shipmentId) ?? [];
          list.push({ lineGid, quantity: n });
          adopted.set(o.shipmentId, list);
        }
      }
    };
    if (f.cancelled && p.known.length === 0) {
      // Cancelled before the hub heard of its creation (webhooks come in any order): remember it
      // as cancelled, so the late `fulfillments/create` changes nothing (Shopify's net is zero).
      for (const l of f.lines) {
        if (l.quantity <= 0) continue;
        await trx
          .insertInto("fulfillment_records")
          .values({
            store_id: storeId,
            fulfillment_gid: f.gid,
            line_gid: l.lineGid,
            order_id: order.id,
            variant_id: p.lines.get(l.lineGid) ?? null,
            location_gid: f.locationGid,
            quantity: l.quantity,
            origin: p.origin,
            hub_quantity: 0,
            sale_quantity: 0,
            warehouse_id: null,
            cancelled: 1,
            occurred_at: f.createdAt,
            recorded_at: now,
          })
          .execute();
        outcome = "reversed";
      }
    } else if (f.cancelled) {
      if (p.known.some((k) => k.cancelled === 0 && k.hub_quantity > 0)) await uncover(trx, f.gid, now);
      for (const k of p.known) {
        if (k.cancelled === 1) continue;
        await trx
          .updateTable("fulfillment_records")
          .set({ cancelled: 1, recorded_at: now })
          .where("store_id", "=", storeId)
          .where("fulfillment_gid", "=", f.gid)
          .where("line_gid", "=", k.line_gid)
          .execute();
        if (k.variant_id !== null && k.location_gid !== null)
          baseline.push({ variantId: k.variant_id, locationGid: k.location_gid, delta: k.quantity });
        outcome = "reversed";
      }
    } else {
      for (const l of f.lines) {
        if (knownLines.has(l.lineGid) || l.quantity <= 0) continue;
        const variantId = p.lines.get(l.lineGid) ?? null;
        const shippedOpen = p.open.filter((o) => o.lineGid === l.lineGid).reduce((n, o) => n + o.open, 0);
        const split = splitFulfillmentLine(
          l.quantity,
          p.origin,
          shippedOpen,
          settings.shopifyFulfillments,
          variantId !== null && p.warehouse !== null,
        );
        if (split.hub > 0 && !p.counted) await cover(l.lineGid, split.hub, hubShipmentId);
        const expectedSale = movements?.find((m) => m.id === saleId(f.gid, l.lineGid))?.quantity ?? 0;
        if (movements !== null && -expectedSale !== split.sale)
          // Something changed between planning the movements and this transaction: start over.
          throw new Error(`fulfillment ${f.gid} changed while it was being recorded; retrying`);
        await trx
          .insertInto("fulfillment_records")
          .values({
            store_id: storeId,
            fulfillment_gid: f.gid,
            line_gid: l.lineGid,
            order_id: order.id,
            variant_id: variantId,
            location_gid: f.locationGid,
            quantity: l.quantity,
            origin: p.origin,
            hub_quantity: split.hub,
            sale_quantity: split.sale,
            warehouse_id: split.sale > 0 ? p.warehouse!.id : null,
            cancelled: 0,
            occurred_at: f.createdAt,
            recorded_at: now,
          })
          .execute();
        if (variantId !== null && f.locationGid !== null)
          baseline.push({ variantId, locationGid: f.locationGid, delta: -l.quantity });
        outcome = "recorded";
      }
      if (hub && !p.ownGid)
        await trx
          .insertInto("shipment_fulfillments")
          .values({
            shipment_id: hub.shipmentId,
            fulfillment_order_gid: hub.fulfillmentOrderGid,
            fulfillment_gid: f.gid,
            lines: JSON.stringify(hub.lines),
            status: "done",
            last_error: null,
            created_at: now,
          })
          .execute();
      for (const [shipmentId, lines] of adopted)
        await trx
          .insertInto("shipment_fulfillments")
          .values({
            shipment_id: shipmentId,
            fulfillment_order_gid: "(made in Shopify)",
            fulfillment_gid: f.gid,
            lines: JSON.stringify(lines),
            status: "done",
            last_error: null,
            created_at: now,
          })
          .execute();
    }
    await followShopifyChange(trx, storeId, baseline);
    // The push looks again: where the ledger does not follow Shopify (rule back_office, a line
    // the hub cannot record), the hub's value is sent back.
    if (baseline.length > 0)
      await markStoreDirtyFor(trx, storeId, [...new Set(baseline.map((b) => b.variantId))], now);
    if (outcome !== "duplicate") await refreshReservations(ctx, trx, order.id, now);
    return movements;
  };

  // Sale movements are planned from a first look; the transaction re-checks everything and
  // the movement ids make a concurrent second recording a no-op.
  const movements = await plannedMovements(
    ctx,
    storeId,
    order.id,
    f,
    settings.shopifyFulfillments,
    hubShipmentId,
  );
  if (movements.length > 0) {
    const r = await ingestMovements(ctx.database, movements, now, async (trx, ids, at) => {
      await write(trx, movements);
      await stockChanged(ctx)(trx, ids, at);
    });
    if (r.applied === 0) await db.transaction().execute((trx) => write(trx, null));
  } else {
    await db.transaction().execute((trx) => write(trx, null));
  }
  if (outcome !== "duplicate")
    ctx.logger.info(
      { store: storeId, order: order.name, fulfillment: f.gid, outcome, sales: movements.length },
      "Shopify fulfillment recorded",
    );
  return outcome;
}

const saleId = (fulfillmentGid: string, lineGid: string) => `fulfillment:${fulfillmentGid}:${lineGid}`;

interface Movement {
  id: string;
  type: string;
  sku: string;
  warehouse: string;
  quantity: number;
  occurredAt: string;
}

/** The sale (or, for a cancelled fulfillment, the reversal) movements a fulfillment leads to. */
async function plannedMovements(
  ctx: AppContext,
  storeId: number,
  orderId: number,
  f: ShopifyFulfillment,
  rule: ShopifyFulfillmentRule,
  hubShipmentId: number | null,
): Promise<Movement[]> {
  const db = ctx.database.db;
  const now = ctx.clock.now();
  if (f.cancelled) {
    const recs = await db
      .selectFrom("fulfillment_records as r")
      .innerJoin("variants as v", "v.id", "r.variant_id")
      .innerJoin("warehouses as w", "w.id", "r.warehouse_id")
      .select(["r.line_gid", "r.sale_quantity", "v.sku", "w.code"])
      .where("r.store_id", "=", storeId)
      .where("r.fulfillment_gid", "=", f.gid)
      .where("r.cancelled", "=", 0)
      .where("r.sale_quantity", ">", 0)
      .execute();
    return recs.map((r) => ({
      id: `fulfillment-cancelled:${f.gid}:${r.line_gid}`,
      type: "adjustment",
      sku: r.sku,
      warehouse: r.code,
      quantity: r.sale_quantity,
      occurredAt: new Date(now).toISOString(),
    }));
  }
  if (hubShipmentId !== null || rule !== "record_in_ledger" || f.locationGid === null) return [];
  const own = await db
    .selectFrom("shipment_fulfillments")
    .select("id")
    .where("fulfillment_gid", "=", f.gid)
    .executeTakeFirst();
  if (own) return [];
  const known = new Set(
    (
      await db
        .selectFrom("fulfillment_records")
        .select("line_gid")
        .where("store_id", "=", storeId)
        .where("fulfillment_gid", "=", f.gid)
        .execute()
    ).map((r) => r.line_gid),
  );
  const warehouse = await db
    .selectFrom("store_locations as sl")
    .innerJoin("location_warehouses as lw", "lw.store_location_id", "sl.id")
    .innerJoin("warehouses as w", "w.id", "lw.warehouse_id")
    .select(["w.code"])
    .where("sl.store_id", "=", storeId)
    .where("sl.location_gid", "=", f.locationGid)
    .where("sl.managed", "=", 1)
    .orderBy("w.id")
    .limit(1)
    .executeTakeFirst();
  if (!warehouse) return [];
  const lines = await db
    .selectFrom("order_lines as ol")
    .innerJoin("variants as v", "v.id", "ol.variant_id")
    .select(["ol.shopify_line_gid", "v.sku"])
    .where("ol.order_id", "=", orderId)
    .execute();
  const skuOf = new Map(lines.map((l) => [l.shopify_line_gid, l.sku]));
  const shippedOpen = new Map<string, number>();
  for (const r of await db
    .selectFrom("shipment_lines as l")
    .innerJoin("shipments as s", "s.id", "l.shipment_id")
    .select(["l.shopify_line_gid", "l.quantity", "l.fulfilled_quantity"])
    .where("s.order_id", "=", orderId)
    .execute())
    shippedOpen.set(
      r.shopify_line_gid,
      (shippedOpen.get(r.shopify_line_gid) ?? 0) + Math.max(0, r.quantity - r.fulfilled_quantity),
    );
  const occurredAt = new Date(Math.min(f.createdAt, now)).toISOString();
  const out: Movement[] = [];
  for (const l of f.lines) {
    const sku = skuOf.get(l.lineGid);
    if (known.has(l.lineGid) || sku === undefined) continue;
    const { sale } = splitFulfillmentLine(l.quantity, "shopify", shippedOpen.get(l.lineGid) ?? 0, rule, true);
    if (sale > 0)
      out.push({
        id: saleId(f.gid, l.lineGid),
        type: "sale",
        sku,
        warehouse: warehouse.code,
        quantity: -sale,
        occurredAt,
      });
  }
  return out;
}

/**
 * A cancelled fulfillment that covered back-office shipments: their units are in transit again
 * (still committed in Shopify, no longer fulfilled), and each shipment says so. The hub does not
 * fulfil them again by itself: whoever cancelled it in Shopify decides; a later fulfillment there
 * covers them.
 */
async function uncover(trx: Trx, fulfillmentGid: string, now: number): Promise<void> {
  const rows = await trx
    .selectFrom("shipment_fulfillments")
    .select(["id", "shipment_id", "lines"])
    .where("fulfillment_gid", "=", fulfillmentGid)
    .where("status", "=", "done")
    .execute();
  for (const r of rows) {
    for (const l of JSON.parse(r.lines) as { lineGid: string; quantity: number }[])
      await trx
        .updateTable("shipment_lines")
        .set((eb) => ({ fulfilled_quantity: eb("fulfilled_quantity", "-", l.quantity) }))
        .where("shipment_id", "=", r.shipment_id)
        .where("shopify_line_gid", "=", l.lineGid)
        .execute();
    await trx
      .updateTable("shipment_fulfillments")
      .set({ status: "failed", last_error: "cancelled in Shopify" })
      .where("id", "=", r.id)
      .execute();
    const left = await trx
      .selectFrom("shipment_fulfillments")
      .select("id")
      .where("shipment_id", "=", r.shipment_id)
      .where("status", "=", "done")
      .executeTakeFirst();
    await trx
      .updateTable("shipments")
      .set({
        status: left ? "partially_applied" : "rejected",
        reason: `fulfillment ${fulfillmentGid} was cancelled in Shopify: its units stay committed there until they are fulfilled again`,
        updated_at: now,
      })
      .where("id", "=", r.shipment_id)
      .where("status", "in", ["applied", "partially_applied", "pending"])
      .execute();
  }
}

// ---- webhook → inbox → record ----

/** Applies due `fulfillments/create|update` deliveries from the inbox. */
export async function processFulfillmentInbox(ctx: AppContext, limit = 200): Promise<InboxRunResult> {
  return drainInbox(ctx, {
    topics: SHOPIFY_FULFILLMENT_TOPICS,
    limit,
    async apply(row) {
      const { storeId, value: fulfillment } = await storeDelivery(ctx, row, (b) => {
        const p = fromFulfillmentWebhook(b);
        return p.ok ? { ok: true, value: p.fulfillment } : p;
      });
      const outcome = await recordFulfillment(ctx, storeId, fulfillment);
      // The order itself arrives by its own webhook or the backfill; retried until then.
      if (outcome === "unknown_order") throw new Error(`order ${fulfillment.orderGid} is not in the hub yet`);
      await markInboxDone(ctx.database.db, row.id, ctx.clock.now());
    },
  });
}

// ---- polling safety net ----

/** 10 fulfillments × 30 lines stays near 400 cost points. */
export const ORDER_FULFILLMENT_HISTORY_QUERY = graphql`
  query TillbridgeOrderFulfillmentHistory($id: ID!) {
    order(id: $id) {
      id
      fulfillments(first: 10) {
        id
        status
        createdAt
        location {
          id
        }
        fulfillmentLineItems(first: 30) {
          nodes {
            quantity
            lineItem {
              id
            }
          }
        }
      }
    }
  }
`;

interface FulfillmentHistory {
  order: {
    id: string;
    fulfillments: {
      id: string;
      status: string;
      createdAt: string;
      location: { id: string } | null;
      fulfillmentLineItems: { nodes: { quantity: number; lineItem: { id: string } }[] };
    }[];
  } | null;
}

/** Reads an order's fulfillments from Shopify and records those the hub does not know yet. */
export async function syncFulfillmentsForOrder(
  ctx: AppContext,
  transport: AdminTransport,
  storeId: number,
  orderGid: string,
): Promise<number> {
  const { data } = await transport.graphql<FulfillmentHistory>(
    ORDER_FULFILLMENT_HISTORY_QUERY,
    { id: orderGid },
    { estimatedCost: 400 },
  );
  let recorded = 0;
  for (const f of data.order?.fulfillments ?? []) {
    const outcome = await recordFulfillment(ctx, storeId, {
      gid: f.id,
      orderGid,
      locationGid: f.location?.id ?? null,
      createdAt: Date.parse(f.createdAt),
      cancelled: f.status === "CANCELLED" || f.status === "ERROR" || f.status === "FAILURE",
      lines: f.fulfillmentLineItems.nodes.map((n) => ({ lineGid: n.lineItem.id, quantity: n.quantity })),
    });
    if (outcome === "recorded" || outcome === "reversed") recorded++;
  }
  return recorded;
}

/**
 * The safety net for lost `fulfillments/create` webhooks: orders whose lines Shopify shows more
 * fulfilled than the hub has records for (as of their last imported version) have their
 * fulfillments read. Run after the orders backfill, under the store's lease.
 */
export async function syncUnexplainedFulfillments(
  ctx: AppContext,
  transport: AdminTransport,
  storeId: number,
  limit = 50,
): Promise<{ orders: number; recorded: number }> {
  const db = ctx.database.db;
  const recorded = db
    .selectFrom("fulfillment_records")
    .select(["order_id", "line_gid", (eb) => eb.fn.sum<number>("quantity").as("q")])
    .where("store_id", "=", storeId)
    .where("cancelled", "=", 0)
    .groupBy(["order_id", "line_gid"])
    .as("fr");
  const orders = await db
    .selectFrom("order_lines as ol")
    .innerJoin("orders as o", "o.id", "ol.order_id")
    .leftJoin(recorded, (j) =>
      j.onRef("fr.order_id", "=", "ol.order_id").onRef("fr.line_gid", "=", "ol.shopify_line_gid"),
    )
    .select(["o.shopify_order_gid"])
    .distinct()
    .where("o.store_id", "=", storeId)
    .where("ol.fulfilled_quantity", ">", 0)
    .where((eb) => eb("ol.fulfilled_quantity", ">", eb.fn.coalesce("fr.q", eb.lit(0))))
    .limit(limit)
    .execute();
  let n = 0;
  for (const o of orders) n += await syncFulfillmentsForOrder(ctx, transport, storeId, o.shopify_order_gid);
  return { orders: orders.length, recorded: n };
}
