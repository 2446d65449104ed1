import { type AppContext, stockChanged, storeWorkArrived } from "../core/context.ts";
import type { Db } from "../db/database.ts";
import type { RestockRule } from "../db/tables.ts";
import { ingestMovements, type Trx } from "../inventory/ledger-store.ts";
import { followShopifyChange, markStoreDirtyFor } from "../inventory/push/push-store.ts";
import {
  drainInbox,
  INBOX_QUEUE,
  type InboxRunResult,
  markInboxDone,
  storeDelivery,
} from "../orders/inbox.ts";
import { lockOrders } from "../orders/intake.ts";
import { enqueueOutboundEvent } from "../orders/outbound.ts";
import { loadSettings } from "../orders/settings.ts";
import { storeTopicsInInbox } from "../orders/webhooks.ts";
import type { StorePass } from "../runtime/worker.ts";
import { graphql } from "../shopify/graphql.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import type { WebhookHandlers } from "../shops/webhooks.ts";
import { warehouseOfLocation } from "./fulfillment-orders.ts";
import { returnedUnitsByLine } from "./returns.ts";
import { loadFulfillmentSettings } from "./settings.ts";
import { SHOPIFY_FULFILLMENT_SUBSCRIPTIONS, SHOPIFY_FULFILLMENT_TOPICS } from "./shopify-fulfillments.ts";

/** Webhook topics this module handles (REST names) and their subscription enum names. */
export const FULFILLMENT_TOPICS = ["refunds/create"] as const;
export const FULFILLMENT_WEBHOOK_SUBSCRIPTIONS: readonly string[] = [
  "REFUNDS_CREATE",
  ...SHOPIFY_FULFILLMENT_SUBSCRIPTIONS,
];

export interface ShopifyRefund {
  readonly gid: string;
  readonly orderGid: string;
  readonly createdAt: number;
  /**
   * The return it was made for (Shopify's `Refund.return`): its units are that return's, and come
   * back into the ledger through the back office's receipt of it, never through the refund.
   * `undefined`: not known yet (a `refunds/create` payload without `return`), read from Shopify
   * before any restock is recorded (`needsReturnRead`).
   */
  readonly returnGid?: string | null;
  readonly lines: readonly {
    lineGid: string;
    sku: string | null;
    quantity: number;
    /** RETURN | CANCEL | NO_RESTOCK | LEGACY_RESTOCK */
    restockType: string;
    locationGid: string | null;
  }[];
}

export type ParsedRefund = { ok: true; refund: ShopifyRefund } | { ok: false; reason: string };

/** The REST payload of `refunds/create`. */
export function fromRefundWebhook(body: unknown): ParsedRefund {
  const b = body as Record<string, unknown> | null;
  if (!b || typeof b !== "object") return { ok: false, reason: "refund payload is not an object" };
  const id = b.admin_graphql_api_id ?? (b.id !== undefined ? `gid://shopify/Refund/${b.id}` : undefined);
  if (typeof id !== "string" || b.order_id === undefined)
    return { ok: false, reason: "refund payload without id or order_id" };
  const items = Array.isArray(b.refund_line_items) ? (b.refund_line_items as Record<string, unknown>[]) : [];
  const createdAt = Date.parse(String(b.created_at ?? ""));
  // Shopify's REST Refund resource documents no `return`: when the payload has none, the link
  // is unknown (undefined) and read from Shopify; one a payload carries is taken as it is.
  const ret = b.return as { id?: unknown; admin_graphql_api_id?: unknown } | null | undefined;
  return {
    ok: true,
    refund: {
      gid: id,
      orderGid: `gid://shopify/Order/${b.order_id}`,
      createdAt: Number.isNaN(createdAt) ? 0 : createdAt,
      returnGid:
        ret === undefined
          ? undefined
          : typeof ret?.admin_graphql_api_id === "string"
            ? ret.admin_graphql_api_id
            : ret?.id != null
              ? `gid://shopify/Return/${ret.id}`
              : null,
      lines: items.map((l) => ({
        lineGid: `gid://shopify/LineItem/${l.line_item_id}`,
        sku: ((l.line_item as Record<string, unknown> | undefined)?.sku as string | null | undefined) ?? null,
        quantity: Number(l.quantity ?? 0),
        restockType: String(l.restock_type ?? "no_restock").toUpperCase(),
        locationGid: l.location_id == null ? null : `gid://shopify/Location/${l.location_id}`,
      })),
    },
  };
}

/**
 * Pure: whether the refund's return link must be read from Shopify before it is recorded: it
 * takes units back (RETURN, LEGACY_RESTOCK) and nobody said whether it was made for a return.
 */
export function needsReturnRead(refund: ShopifyRefund): boolean {
  return (
    refund.returnGid === undefined &&
    refund.lines.some(
      (l) => l.quantity > 0 && (l.restockType === "RETURN" || l.restockType === "LEGACY_RESTOCK"),
    )
  );
}

export interface RestockLine {
  readonly lineGid: string;
  readonly sku: string | null;
  readonly quantity: number;
  readonly restockType: string;
  /** Units the hub's ledger takes back (a `return` movement). */
  readonly restocked: number;
  /** Units Shopify put back into its on_hand at the refund's location (fulfilled units on a RETURN). */
  readonly shopifyRestocked?: number;
  readonly locationGid?: string | null;
  /** The warehouse the hub restocked this line's units at (recorded lines only). */
  readonly restockWarehouse?: string | null;
}

/**
 * Pure: how many units of each refunded line come back into stock. Only units Shopify says are
 * returned (RETURN, or LEGACY_RESTOCK of shipped units), only under a restock rule, and never
 * more than the hub shipped of the line minus what earlier refunds restocked (units that never
 * left were never sold in the ledger). None for a refund made for a return (`returnGid`): its
 * units come back through the receipt of that return, whichever of the two arrives first.
 */
export function planRestock(
  refund: ShopifyRefund,
  rule: RestockRule,
  shippedByLine: ReadonlyMap<string, number>,
  restockedByLine: ReadonlyMap<string, number>,
  fulfilledByLine: ReadonlyMap<string, number> = shippedByLine,
  returnedByLine: ReadonlyMap<string, number> = new Map(),
): RestockLine[] {
  // A return's refund: its units are the return's, taken back by the receipt in their condition.
  const forReturn = refund.returnGid != null;
  const used = new Map(restockedByLine);
  const returned = new Map(returnedByLine);
  return refund.lines.map((l) => {
    let restocked = 0;
    let shopifyRestocked = 0;
    if (l.restockType === "RETURN" || l.restockType === "LEGACY_RESTOCK") {
      // Shopify restocks fulfilled units at the refund's location by itself.
      const fulfilled = Math.max(fulfilledByLine.get(l.lineGid) ?? 0, shippedByLine.get(l.lineGid) ?? 0);
      shopifyRestocked = Math.max(0, Math.min(l.quantity, fulfilled - (returned.get(l.lineGid) ?? 0)));
      returned.set(l.lineGid, (returned.get(l.lineGid) ?? 0) + shopifyRestocked);
      if (rule !== "none" && !forReturn) {
        const room = (shippedByLine.get(l.lineGid) ?? 0) - (used.get(l.lineGid) ?? 0);
        restocked = Math.max(0, Math.min(l.quantity, room));
        used.set(l.lineGid, (used.get(l.lineGid) ?? 0) + restocked);
      }
    }
    return {
      lineGid: l.lineGid,
      sku: l.sku,
      quantity: l.quantity,
      restockType: l.restockType,
      restocked,
      shopifyRestocked,
      locationGid: l.locationGid,
    };
  });
}

/** `waiting`: it returns fulfilled units the hub has not seen fulfilled yet; try again later. */
export type RecordOutcome = "recorded" | "duplicate" | "unknown_order" | "waiting";

/** What recording a refund may ask of Shopify, under the store's lease (the refund inbox's pass). */
export interface RefundShopify {
  readonly transport: AdminTransport;
}

export async function recordRefund(
  ctx: AppContext,
  storeId: number,
  delivered: ShopifyRefund,
  source: "webhook" | "poll",
  shopify?: RefundShopify,
): Promise<RecordOutcome> {
  const db = ctx.database.db;
  const order = await db
    .selectFrom("orders")
    .select(["id", "warehouse_id", "location_gid"])
    .where("store_id", "=", storeId)
    .where("shopify_order_gid", "=", delivered.orderGid)
    .executeTakeFirst();
  if (!order) return "unknown_order";
  const known = await db
    .selectFrom("refunds")
    .select("id")
    .where("store_id", "=", storeId)
    .where("shopify_refund_gid", "=", delivered.gid)
    .executeTakeFirst();
  if (known) return "duplicate";
  // Whether it was made for a return decides its restock: read before anything is recorded (a
  // failed read throws, and the delivery is retried whole).
  let refund = delivered;
  if (needsReturnRead(delivered)) {
    if (!shopify) throw new Error(`refund ${delivered.gid}: its return link must be read from Shopify`);
    refund = await readRefund(shopify.transport, delivered);
  }

  const settings = await loadFulfillmentSettings(db, storeId);
  const rule: RestockRule =
    settings.restockRule === "returns_warehouse" && settings.returnsWarehouseId === null
      ? "none"
      : settings.restockRule;
  // Where each line's units left the ledger (the hub's shipments, Shopify's fulfillments).
  const leftFrom = new Map<string, number>();
  // Units that left through the ledger: the hub's shipments and sales recorded from Shopify's fulfillments.
  const shipped = new Map<string, number>();
  const shippedVariant = new Map<string, number>();
  // Units Shopify fulfilled (it restocks only those on a RETURN): by the hub or in Shopify.
  const fulfilled = new Map<string, number>();
  const hubFulfilled = new Map<string, number>();
  for (const r of await db
    .selectFrom("shipment_lines as l")
    .innerJoin("shipments as s", "s.id", "l.shipment_id")
    .select(["l.shopify_line_gid", "l.variant_id", "l.quantity", "l.fulfilled_quantity", "s.warehouse_id"])
    .where("s.order_id", "=", order.id)
    .execute()) {
    shipped.set(r.shopify_line_gid, (shipped.get(r.shopify_line_gid) ?? 0) + r.quantity);
    leftFrom.set(r.shopify_line_gid, r.warehouse_id);
    shippedVariant.set(r.shopify_line_gid, r.variant_id);
    hubFulfilled.set(r.shopify_line_gid, (hubFulfilled.get(r.shopify_line_gid) ?? 0) + r.fulfilled_quantity);
  }
  for (const r of await db
    .selectFrom("fulfillment_records")
    .select(["line_gid", "variant_id", "quantity", "sale_quantity", "warehouse_id"])
    .where("order_id", "=", order.id)
    .where("cancelled", "=", 0)
    .execute()) {
    fulfilled.set(r.line_gid, (fulfilled.get(r.line_gid) ?? 0) + r.quantity);
    if (r.sale_quantity > 0 && r.variant_id !== null) {
      shipped.set(r.line_gid, (shipped.get(r.line_gid) ?? 0) + r.sale_quantity);
      shippedVariant.set(r.line_gid, r.variant_id);
      if (r.warehouse_id !== null) leftFrom.set(r.line_gid, r.warehouse_id);
    }
  }
  const lineVariant = new Map(
    (
      await db
        .selectFrom("order_lines")
        .select(["shopify_line_gid", "variant_id"])
        .where("order_id", "=", order.id)
        .execute()
    ).map((l) => [l.shopify_line_gid, l.variant_id]),
  );
  const restockedBefore = new Map<string, number>();
  const returnedBefore = new Map<string, number>();
  for (const r of await db.selectFrom("refunds").select("lines").where("order_id", "=", order.id).execute())
    for (const l of JSON.parse(r.lines) as RestockLine[]) {
      restockedBefore.set(l.lineGid, (restockedBefore.get(l.lineGid) ?? 0) + l.restocked);
      returnedBefore.set(l.lineGid, (returnedBefore.get(l.lineGid) ?? 0) + (l.shopifyRestocked ?? 0));
    }
  // Units under a Shopify return the hub knows come back through the back office's receipt of
  // that return, in the condition it reports (returns.ts), never through the refund as well.
  const underReturn = await returnedUnitsByLine(db, order.id);
  for (const [line, n] of underReturn) restockedBefore.set(line, (restockedBefore.get(line) ?? 0) + n);
  // Shopify only returns fulfilled units: one the hub has not seen fulfilled yet (its webhook is
  // late) must be recorded first, or the restock would find no room.
  for (const [line, n] of hubFulfilled) fulfilled.set(line, Math.max(fulfilled.get(line) ?? 0, n));
  const returning = new Map<string, number>();
  for (const l of refund.lines)
    if (l.restockType === "RETURN") returning.set(l.lineGid, (returning.get(l.lineGid) ?? 0) + l.quantity);
  for (const [line, n] of returning)
    if ((returnedBefore.get(line) ?? 0) + n > (fulfilled.get(line) ?? 0)) return "waiting";
  const plan = planRestock(refund, rule, shipped, restockedBefore, fulfilled, returnedBefore);

  const now = ctx.clock.now();
  const restockAt = await restockWarehouses(db, storeId, rule, plan, {
    leftFrom,
    orderWarehouseId: order.warehouse_id,
    returnsWarehouseId: settings.returnsWarehouseId,
  });
  const variantIds = [
    ...new Set(plan.filter((l) => l.restocked > 0).map((l) => shippedVariant.get(l.lineGid)!)),
  ];
  const skuByVariant = new Map(
    variantIds.length === 0
      ? []
      : (await db.selectFrom("variants").select(["id", "sku"]).where("id", "in", variantIds).execute()).map(
          (v) => [v.id, v.sku],
        ),
  );
  const occurredAt = new Date(Math.min(refund.createdAt || now, now)).toISOString();
  const movements = plan
    .filter((l) => l.restocked > 0 && restockAt.has(l.lineGid))
    .map((l) => ({
      id: `refund:${refund.gid}:${l.lineGid}`,
      type: "return",
      sku: skuByVariant.get(shippedVariant.get(l.lineGid)!)!,
      warehouse: restockAt.get(l.lineGid)!.code,
      quantity: l.restocked,
      occurredAt,
    }));
  // A line without a warehouse to restock at takes nothing back (recorded as such).
  const recordedPlan = plan.map((l) =>
    restockAt.has(l.lineGid) || l.restocked === 0
      ? { ...l, restockWarehouse: restockAt.get(l.lineGid)?.code ?? null }
      : { ...l, restocked: 0, restockWarehouse: null },
  );
  const firstRestock = recordedPlan.find((l) => l.restocked > 0);
  const restockWarehouse = firstRestock ? restockAt.get(firstRestock.lineGid)! : null;

  let recorded = false;
  const write = async (trx: Trx) => {
    await lockOrders(trx, ctx.database.dialect);
    // Applied under the store's lease: a process that lost it leaves the refund to the new owner.
    await shopify?.transport.fence?.(trx);
    // The plan was made outside the orders lock: a return recorded meanwhile (returns.ts takes the
    // same lock) moves its units to the back office's receipt, so this plan would restock them
    // twice. Roll back (the ledger's movements too) and plan again on the next pass.
    if (!sameCounts(underReturn, await returnedUnitsByLine(trx, order.id))) throw new StaleRefundPlan();
    const r = await trx
      .insertInto("refunds")
      .values({
        store_id: storeId,
        order_id: order.id,
        shopify_refund_gid: refund.gid,
        restock_rule: rule,
        restock_warehouse_id: restockWarehouse?.id ?? null,
        lines: JSON.stringify(recordedPlan),
        source,
        shopify_created_at: refund.createdAt,
        created_at: now,
      })
      .onConflict((oc) => oc.columns(["store_id", "shopify_refund_gid"]).doNothing())
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0n) === 0) return;
    recorded = true;
    // Shopify raised its own on_hand where it restocked: the delta baseline follows, and the
    // push looks again (a restock the hub's rule does not follow is taken back).
    const restocks = plan.flatMap((l) => {
      const variantId = lineVariant.get(l.lineGid) ?? shippedVariant.get(l.lineGid) ?? null;
      const locationGid = l.locationGid ?? order.location_gid;
      return l.shopifyRestocked && locationGid && variantId !== null
        ? [{ variantId, locationGid, delta: l.shopifyRestocked }]
        : [];
    });
    await followShopifyChange(trx, storeId, restocks);
    if (restocks.length > 0)
      await markStoreDirtyFor(trx, storeId, [...new Set(restocks.map((r) => r.variantId))], now);
    await enqueueOutbound(
      trx,
      storeId,
      order.id,
      "order.refunded",
      {
        id: refund.gid,
        createdAt: refund.createdAt,
        lines: recordedPlan.map((l) => ({
          lineId: l.lineGid,
          sku: l.sku,
          quantity: l.quantity,
          restockType: l.restockType,
          restocked: l.restocked,
          restockWarehouse: l.restockWarehouse,
        })),
        restockWarehouse: restockWarehouse?.code ?? null,
      },
      now,
    );
  };
  try {
    if (movements.length > 0) {
      const r = await ingestMovements(ctx.database, movements, now, async (trx, ids, at) => {
        await write(trx);
        await stockChanged(ctx)(trx, ids, at);
      });
      if (r.applied === 0) await db.transaction().execute(write);
    } else {
      await db.transaction().execute(write);
    }
  } catch (e) {
    if (e instanceof StaleRefundPlan) return "waiting";
    throw e;
  }
  return recorded ? "recorded" : "duplicate";
}

/**
 * Where each restocked line's units come back. `order_warehouse`: where the returned units are
 * now — the warehouse of the location Shopify restocked them at — else where they left the
 * ledger (a web order's warehouse is only known once its units were committed somewhere), else
 * the order's warehouse. `returns_warehouse`: the store's returns warehouse.
 */
async function restockWarehouses(
  db: Db,
  storeId: number,
  rule: RestockRule,
  plan: readonly RestockLine[],
  at: {
    leftFrom: ReadonlyMap<string, number>;
    orderWarehouseId: number | null;
    returnsWarehouseId: number | null;
  },
): Promise<Map<string, { id: number; code: string }>> {
  const out = new Map<string, { id: number; code: string }>();
  if (rule === "none") return out;
  const byId = async (id: number | null | undefined) =>
    id == null
      ? undefined
      : await db.selectFrom("warehouses").select(["id", "code"]).where("id", "=", id).executeTakeFirst();
  for (const l of plan) {
    if (l.restocked === 0) continue;
    const w =
      rule === "returns_warehouse"
        ? await byId(at.returnsWarehouseId)
        : ((l.locationGid ? await warehouseOfLocation(db, storeId, l.locationGid) : null) ??
          (await byId(at.leftFrom.get(l.lineGid))) ??
          (await byId(at.orderWarehouseId)));
    if (w) out.set(l.lineGid, w);
  }
  return out;
}

class StaleRefundPlan extends Error {
  constructor() {
    super("a return of this order was recorded while the refund's restock was planned");
  }
}

function sameCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  return a.size === b.size && [...a].every(([k, n]) => b.get(k) === n);
}

/** The back office hears of refunds and returns through the same outbox as order events. */
async function enqueueOutbound(
  trx: Trx,
  storeId: number,
  orderId: number,
  type: "order.refunded" | "order.returned",
  data: unknown,
  now: number,
): Promise<void> {
  const settings = await loadSettings(trx, storeId);
  if (settings.outboundUrl === null) return;
  await enqueueOutboundEvent(
    trx,
    { storeId, orderId, type, extra: { [type === "order.refunded" ? "refund" : "return"]: data } },
    now,
  );
}

// ---- webhook → inbox → refund ----

/** Stores `refunds/create` and `fulfillments/*` deliveries in the durable inbox (the shops plugin has verified them). */
export function registerFulfillmentWebhookHandlers(ctx: AppContext, handlers: WebhookHandlers): void {
  storeTopicsInInbox(ctx, handlers, [...FULFILLMENT_TOPICS, ...SHOPIFY_FULFILLMENT_TOPICS]);
  // A refund delivery, once stored, wakes the store's refund pass (in the process holding it).
  for (const topic of FULFILLMENT_TOPICS) {
    const store = handlers.get(topic)!;
    handlers.set(topic, async (event) => {
      await store(event);
      await storeWorkArrived(ctx, REFUND_INBOX_SIGNAL, event.shop);
    });
  }
}

/** The signal of the refund inbox's store pass. */
export const REFUND_INBOX_SIGNAL = "fulfillment:refund-inbox";
/** How often an idle store's refund inbox is looked at without a signal (a lost one's safety net). */
export const REFUND_INBOX_SAFETY_MS = 60_000;

/**
 * The store pass that drains the store's refund inbox: woken by a delivery's arrival (and by its
 * retries falling due), else once a minute; an idle store's pass costs nothing between.
 */
export function refundInboxPass(ctx: AppContext): StorePass {
  return {
    name: "fulfillment:refund-inbox",
    flow: "order_intake",
    everyMs: REFUND_INBOX_SAFETY_MS,
    wakeOn: REFUND_INBOX_SIGNAL,
    async run(_store, transport) {
      await processRefundInbox(ctx, transport);
      // Deliveries left: retried ones (their next attempt), others not claimed by this run.
      const next = await ctx.database.db
        .selectFrom("webhook_inbox")
        .select((eb) => eb.fn.min("next_attempt_at").as("at"))
        .where("shop", "=", transport.store)
        .where("topic", "in", [...FULFILLMENT_TOPICS])
        .where("status", "in", [...INBOX_QUEUE.waiting])
        .executeTakeFirst();
      const at = next?.at;
      return { nextAt: at === null || at === undefined ? null : Number(at) };
    },
  };
}

/**
 * Applies the store's due `refunds/create` deliveries from the inbox, in the store's pass under
 * its lease (`refundInboxPass`): a refund that takes units back and whose payload does not say
 * whether it was made for a return is read from Shopify first (`REFUND_QUERY`).
 */
export async function processRefundInbox(
  ctx: AppContext,
  transport: AdminTransport,
  limit = 200,
): Promise<InboxRunResult> {
  return drainInbox(ctx, {
    topics: FULFILLMENT_TOPICS,
    limit,
    narrow: (query) => query.where("q.shop", "=", transport.store),
    async apply(row) {
      const { storeId, value: refund } = await storeDelivery(ctx, row, (b) => {
        const p = fromRefundWebhook(b);
        return p.ok ? { ok: true, value: p.refund } : p;
      });
      // Recording is idempotent (unique per store and refund), so marking done afterwards is safe.
      const outcome = await recordRefund(ctx, storeId, refund, "webhook", { transport });
      // The order arrives by its own webhook or the backfill, perhaps after its refund: retried.
      if (outcome === "unknown_order")
        throw new Error(`order ${refund.orderGid} is not in the hub yet; retrying`);
      if (outcome === "waiting")
        throw new Error(
          `refund ${refund.gid} returns units of order ${refund.orderGid} whose fulfillment the hub has not recorded yet; retrying`,
        );
      await markInboxDone(ctx.database.db, row.id, ctx.clock.now());
    },
  });
}

// ---- reads from Shopify ----

/** A refund's return link and lines (a `refunds/create` payload does not carry the link). */
export const REFUND_QUERY = graphql`
  query TillbridgeRefund($id: ID!) {
    refund(id: $id) {
      id
      createdAt
      return {
        id
      }
      refundLineItems(first: 250) {
        nodes {
          quantity
          restockType
          lineItem {
            id
            sku
          }
          location {
            id
          }
        }
      }
    }
  }
`;

interface RefundNode {
  id: string;
  createdAt: string;
  return: { id: string } | null;
  refundLineItems: {
    nodes: {
      quantity: number;
      restockType: string;
      lineItem: { id: string; sku: string | null };
      location: { id: string } | null;
    }[];
  };
}

function refundFromNode(r: RefundNode, orderGid: string): ShopifyRefund {
  return {
    gid: r.id,
    orderGid,
    createdAt: Date.parse(r.createdAt),
    returnGid: r.return?.id ?? null,
    lines: r.refundLineItems.nodes.map((l) => ({
      lineGid: l.lineItem.id,
      sku: l.lineItem.sku,
      quantity: l.quantity,
      restockType: l.restockType,
      locationGid: l.location?.id ?? null,
    })),
  };
}

/** Shopify's copy of a delivered refund, its return link known (a failure throws). */
async function readRefund(transport: AdminTransport, delivered: ShopifyRefund): Promise<ShopifyRefund> {
  const { data } = await transport.graphql<{ refund: RefundNode | null }>(
    REFUND_QUERY,
    { id: delivered.gid },
    { estimatedCost: 30 },
  );
  if (!data.refund) throw new Error(`refund ${delivered.gid} is not in Shopify (yet); retrying`);
  return refundFromNode(data.refund, delivered.orderGid);
}

// ---- polling safety net ----

/** 10 refunds × 20 lines stays near 650 cost points. */
export const ORDER_REFUNDS_QUERY = graphql`
  query TillbridgeOrderRefunds($id: ID!) {
    order(id: $id) {
      id
      refunds(first: 10) {
        id
        createdAt
        return {
          id
        }
        refundLineItems(first: 20) {
          nodes {
            quantity
            restockType
            lineItem {
              id
              sku
            }
            location {
              id
            }
          }
        }
      }
    }
  }
`;

interface RefundsData {
  order: { id: string; refunds: RefundNode[] } | null;
}

/** Reads an order's refunds from Shopify and records those the hub does not know yet. */
export async function syncRefundsForOrder(
  ctx: AppContext,
  transport: AdminTransport,
  order: { store_id: number; shopify_order_gid: string },
): Promise<{ recorded: number; known: number }> {
  const { data } = await transport.graphql<RefundsData>(
    ORDER_REFUNDS_QUERY,
    { id: order.shopify_order_gid },
    { estimatedCost: 650 },
  );
  let recorded = 0;
  let known = 0;
  for (const r of data.order?.refunds ?? []) {
    const outcome = await recordRefund(
      ctx,
      order.store_id,
      refundFromNode(r, order.shopify_order_gid),
      "poll",
      {
        transport,
      },
    );
    if (outcome === "recorded") recorded++;
    else known++;
  }
  return { recorded, known };
}

/**
 * The per-store safety net: every hub order of the store that Shopify shows as (partially)
 * refunded and that changed since `sinceMs` has its refunds read. Run it after the orders backfill.
 */
export async function syncRecentRefunds(
  ctx: AppContext,
  transport: AdminTransport,
  storeId: number,
  sinceMs: number,
): Promise<{ orders: number; recorded: number }> {
  const orders = await ctx.database.db
    .selectFrom("orders")
    .select(["store_id", "shopify_order_gid"])
    .where("store_id", "=", storeId)
    .where("shopify_updated_at", ">=", sinceMs)
    .where("financial_status", "in", ["partially_refunded", "refunded", "PARTIALLY_REFUNDED", "REFUNDED"])
    .orderBy("shopify_updated_at")
    .limit(200)
    .execute();
  let recorded = 0;
  for (const o of orders) recorded += (await syncRefundsForOrder(ctx, transport, o)).recorded;
  return { orders: orders.length, recorded };
}

export async function refundsOfOrder(ctx: AppContext, orderId: number) {
  const rows = await ctx.database.db
    .selectFrom("refunds as r")
    .leftJoin("warehouses as w", "w.id", "r.restock_warehouse_id")
    .select([
      "r.shopify_refund_gid",
      "r.restock_rule",
      "w.code",
      "r.lines",
      "r.source",
      "r.shopify_created_at",
      "r.created_at",
    ])
    .where("r.order_id", "=", orderId)
    .orderBy("r.id")
    .execute();
  return rows.map((r) => ({
    id: r.shopify_refund_gid,
    restockRule: r.restock_rule,
    restockWarehouse: r.code,
    lines: (JSON.parse(r.lines) as RestockLine[]).map((l) => ({
      lineId: l.lineGid,
      sku: l.sku,
      quantity: l.quantity,
      restockType: l.restockType,
      restocked: l.restocked,
    })),
    source: r.source,
    shopifyCreatedAt: r.shopify_created_at,
    recordedAt: r.created_at,
  }));
}
