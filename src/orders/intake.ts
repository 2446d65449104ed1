import { sql } from "kysely";
import { type AppContext, stockChanged } from "../core/context.ts";
import type { Dialect } from "../db/database.ts";
import type { OrderStatus, OutboundEventType } from "../db/tables.ts";
import type { Trx } from "../inventory/ledger-store.ts";
import "../fulfillment/order-ops-tables.ts";
import { customerUpdates, planCustomer } from "./customer-match.ts";
import { importDecision } from "./filters.ts";
import { loadMappings, mappingMisses, type OrderMappings } from "./mapping.ts";
import { checkTotals } from "./money.ts";
import {
  compareVersion,
  contentHash,
  desiredReservations,
  lastAt,
  progressOf,
  type Reservation,
  reservationChanges,
} from "./order-merge.ts";
import { enqueueOutboundEvent } from "./outbound.ts";
import { loadSettings, type OrderSettings } from "./settings.ts";
import type { ShopifyOrder } from "./shopify-order.ts";

/** Serialises order writers on PostgreSQL, so feed numbers commit in order and reservation diffs never race. */
const ORDERS_LOCK = 7_346_004;

export async function lockOrders(trx: Trx, dialect: Dialect): Promise<void> {
  if (dialect === "postgres") await sql`select pg_advisory_xact_lock(${ORDERS_LOCK})`.execute(trx);
}

export type ImportOutcome =
  | "imported"
  | "updated"
  | "unchanged"
  | "stale"
  | "parked"
  | "waiting"
  | "skipped"
  | "cancelled";

export interface ImportResult {
  readonly outcome: ImportOutcome;
  readonly orderId: number;
}

interface Linking {
  readonly variantBySku: Map<string, number>;
  readonly warehouseId: number | null;
  readonly problem: string | null;
}

async function linkOrder(trx: Trx, storeId: number, order: ShopifyOrder): Promise<Linking> {
  // Gift cards are issued, not shipped: they need no variant and are never reserved.
  const goods = order.lines.filter((l) => !l.giftCard);
  const skus = [...new Set(goods.map((l) => l.sku).filter((s): s is string => s !== null))];
  const variantBySku = new Map<string, number>();
  if (skus.length > 0) {
    // A store's own link wins; otherwise the hub variant of that SKU.
    for (const r of await trx
      .selectFrom("variant_links as l")
      .innerJoin("variants as v", "v.id", "l.variant_id")
      .select(["v.id", "v.sku"])
      .where("l.store_id", "=", storeId)
      .where("v.sku", "in", skus)
      .execute())
      variantBySku.set(r.sku, r.id);
    const rest = skus.filter((s) => !variantBySku.has(s));
    if (rest.length > 0)
      for (const r of await trx
        .selectFrom("variants")
        .select(["id", "sku"])
        .where("sku", "in", rest)
        .execute())
        variantBySku.set(r.sku, r.id);
  }
  const problems: string[] = [];
  const noSku = goods.filter((l) => l.sku === null).length;
  if (noSku > 0) problems.push(`${noSku} line(s) without SKU`);
  const unknown = skus.filter((s) => !variantBySku.has(s));
  if (unknown.length > 0) problems.push(`unknown SKU(s): ${unknown.join(", ")}`);

  const warehouseId = await warehouseFor(trx, storeId, order.locationGid);
  if (warehouseId === null)
    problems.push(
      order.locationGid === null
        ? "no location on the order and no default location with a warehouse"
        : `no warehouse mapped to location ${order.locationGid}`,
    );
  return { variantBySku, warehouseId, problem: problems.length > 0 ? problems.join("; ") : null };
}

/** Why an order cannot go to the back office as it is: its totals do not add up, or a value is unmapped. */
export function problemsOfMoney(order: ShopifyOrder, mappings: OrderMappings): string | null {
  if (!order.money) return null;
  const check = checkTotals(order.money);
  const address = order.shippingAddress ?? order.billingAddress;
  const misses = mappingMisses(mappings, order.money, {
    country: address?.countryCode ?? null,
    province: address?.province ?? null,
  });
  const all = [...check.problems, ...misses];
  return all.length > 0 ? all.join("; ") : null;
}

/** The warehouse mapped to the order's location (the lowest id when several), else the default location's. */
async function warehouseFor(trx: Trx, storeId: number, locationGid: string | null): Promise<number | null> {
  const pick = async (where: "gid" | "default") => {
    let q = trx
      .selectFrom("store_locations as sl")
      .innerJoin("location_warehouses as lw", "lw.store_location_id", "sl.id")
      .select("lw.warehouse_id")
      .where("sl.store_id", "=", storeId);
    q =
      where === "gid" ? q.where("sl.location_gid", "=", locationGid ?? "") : q.where("sl.is_default", "=", 1);
    const row = await q.orderBy("lw.warehouse_id").limit(1).executeTakeFirst();
    return row?.warehouse_id ?? null;
  };
  return (locationGid !== null ? await pick("gid") : null) ?? (await pick("default"));
}

async function resolveCustomer(
  trx: Trx,
  order: ShopifyOrder,
  settings: OrderSettings,
  now: number,
): Promise<{ customerId: number | null; companyId: number | null }> {
  const plan = planCustomer(
    { email: order.email, name: order.customerName, phone: order.phone, companyName: order.companyName },
    settings.defaultCustomerId,
  );
  if (plan.kind === "none") return { customerId: null, companyId: null };
  if (plan.kind === "default") return { customerId: plan.customerId, companyId: null };
  let companyId: number | null = null;
  if (plan.companyName) {
    await trx
      .insertInto("companies")
      .values({ name: plan.companyName, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
    companyId = (
      await trx
        .selectFrom("companies")
        .select("id")
        .where("name", "=", plan.companyName)
        .executeTakeFirstOrThrow()
    ).id;
  }
  await trx
    .insertInto("customers")
    .values({
      email: plan.email,
      kind: plan.customerKind,
      name: plan.name,
      phone: plan.phone,
      company_id: companyId,
      redacted_at: null,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.column("email").doNothing())
    .execute();
  const existing = await trx
    .selectFrom("customers")
    .select(["id", "name", "phone", "company_id", "kind"])
    .where("email", "=", plan.email)
    .executeTakeFirstOrThrow();
  const updates = customerUpdates(existing, plan, companyId);
  if (Object.keys(updates).length > 0)
    await trx
      .updateTable("customers")
      .set({ ...updates, updated_at: now })
      .where("id", "=", existing.id)
      .execute();
  return { customerId: existing.id, companyId: companyId ?? existing.company_id };
}

async function applyReservations(
  ctx: AppContext,
  trx: Trx,
  orderId: number,
  desired: readonly Reservation[],
  now: number,
): Promise<void> {
  const current = (
    await trx
      .selectFrom("reservations")
      .select(["variant_id", "warehouse_id", "quantity"])
      .where("order_id", "=", orderId)
      .execute()
  ).map((r) => ({ variantId: r.variant_id, warehouseId: r.warehouse_id, quantity: r.quantity }));
  const changes = reservationChanges(current, desired);
  if (changes.length === 0) return;
  for (const c of changes) {
    await trx
      .insertInto("stock_levels")
      .values({
        variant_id: c.variantId,
        warehouse_id: c.warehouseId,
        on_hand: 0,
        reserved: 0,
        safety_stock: 0,
        last_count_at: null,
        last_count_seq: null,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(["variant_id", "warehouse_id"]).doNothing())
      .execute();
    await trx
      .updateTable("stock_levels")
      .set({ reserved: sql`reserved + ${c.quantity}`, updated_at: now })
      .where("variant_id", "=", c.variantId)
      .where("warehouse_id", "=", c.warehouseId)
      .execute();
  }
  await trx.deleteFrom("reservations").where("order_id", "=", orderId).execute();
  if (desired.length > 0)
    await trx
      .insertInto("reservations")
      .values(
        desired.map((r) => ({
          order_id: orderId,
          variant_id: r.variantId,
          warehouse_id: r.warehouseId,
          quantity: r.quantity,
        })),
      )
      .execute();
  await stockChanged(ctx)(trx, [...new Set(changes.map((c) => c.variantId))], now);
}

const OPEN_FULFILLMENT_ORDER = ["OPEN", "IN_PROGRESS", "ON_HOLD", "SCHEDULED"];

/**
 * Per line, the open units of the order's fulfillment orders (as last read) at each warehouse,
 * when they wait at several locations: Shopify commits each unit where its fulfillment order is,
 * so the reservation must too (a move leaves a held fulfillment order behind; a substitute is
 * served elsewhere). Empty when they wait at one location: the order's warehouse follows that one
 * (src/fulfillment/fulfillment-orders.ts).
 */
async function splitFulfillmentOrders(
  trx: Trx,
  storeId: number,
  orderId: number,
): Promise<Map<string, { warehouseId: number; quantity: number }[]>> {
  const out = new Map<string, { warehouseId: number; quantity: number }[]>();
  const fos = (
    await trx
      .selectFrom("order_fulfillment_orders")
      .select(["location_gid", "lines"])
      .where("order_id", "=", orderId)
      .where("status", "in", OPEN_FULFILLMENT_ORDER)
      .where("location_gid", "is not", null)
      .orderBy("id")
      .execute()
  )
    .map((f) => ({
      location: f.location_gid!,
      lines: (JSON.parse(f.lines) as { lineGid: string; remaining: number }[]).filter((l) => l.remaining > 0),
    }))
    .filter((f) => f.lines.length > 0);
  const locations = [...new Set(fos.map((f) => f.location))];
  if (locations.length < 2) return out;
  // The warehouse mapped to each location (the lowest id when several), as the push counts them.
  const warehouseOf = new Map<string, number>();
  for (const r of await trx
    .selectFrom("store_locations as sl")
    .innerJoin("location_warehouses as lw", "lw.store_location_id", "sl.id")
    .select(["sl.location_gid", "lw.warehouse_id"])
    .where("sl.store_id", "=", storeId)
    .where("sl.location_gid", "in", locations)
    .orderBy("lw.warehouse_id")
    .execute())
    if (!warehouseOf.has(r.location_gid)) warehouseOf.set(r.location_gid, r.warehouse_id);
  for (const f of fos) {
    const w = warehouseOf.get(f.location);
    if (w === undefined) continue;
    for (const l of f.lines)
      out.set(l.lineGid, [...(out.get(l.lineGid) ?? []), { warehouseId: w, quantity: l.remaining }]);
  }
  return out;
}

/**
 * Sets an order's reservation to what it still has to ship, from the order as stored: held while
 * imported (or parked after import: its linked lines stay held), per line Shopify's fulfillable
 * quantity, less units the back office already shipped through the hub and units recorded from
 * Shopify's own fulfillments (either may be ahead of the order version the hub holds).
 */
export async function refreshReservations(
  ctx: AppContext,
  trx: Trx,
  orderId: number,
  now: number,
): Promise<void> {
  const order = await trx
    .selectFrom("orders")
    .select(["store_id", "status", "imported_at", "cancelled_at", "warehouse_id"])
    .where("id", "=", orderId)
    .executeTakeFirstOrThrow();
  const active =
    order.cancelled_at === null &&
    (order.status === "imported" || (order.status === "parked" && order.imported_at !== null));
  const left = new Map<string, number>();
  const add = (line: string, n: number) => left.set(line, (left.get(line) ?? 0) + n);
  // Per line, the warehouses of shipments not yet fulfilled in Shopify: their units are still
  // open on the fulfillment orders as read, and delivery fulfils them there (moving them there
  // first when Shopify expects them elsewhere), so they come off those warehouses' units.
  const inTransitFrom = new Map<string, Set<number>>();
  for (const r of await trx
    .selectFrom("shipment_lines as sl")
    .innerJoin("shipments as s", "s.id", "sl.shipment_id")
    .select(["sl.shopify_line_gid", "sl.quantity", "s.warehouse_id", "s.status"])
    .where("s.order_id", "=", orderId)
    // Every recorded shipment, delivered or not: its sale is in the ledger.
    .execute()) {
    add(r.shopify_line_gid, r.quantity);
    if (r.status === "pending" || r.status === "parked")
      inTransitFrom.set(
        r.shopify_line_gid,
        (inTransitFrom.get(r.shopify_line_gid) ?? new Set<number>()).add(r.warehouse_id),
      );
  }
  for (const r of await trx
    .selectFrom("fulfillment_records")
    .select(["line_gid", "sale_quantity"])
    .where("order_id", "=", orderId)
    .where("cancelled", "=", 0)
    .execute())
    add(r.line_gid, r.sale_quantity);
  const lines = await trx
    .selectFrom("order_lines")
    .select(["shopify_line_gid", "variant_id", "current_quantity", "fulfillable_quantity"])
    .where("order_id", "=", orderId)
    .execute();
  const at = active ? await splitFulfillmentOrders(trx, order.store_id, orderId) : new Map();
  const desired = desiredReservations(
    lines.map((l) => ({
      variantId: l.variant_id,
      fulfillableQuantity: Math.min(
        l.fulfillable_quantity,
        Math.max(0, l.current_quantity - (left.get(l.shopify_line_gid) ?? 0)),
      ),
      at: lastAt(at.get(l.shopify_line_gid), inTransitFrom.get(l.shopify_line_gid)),
    })),
    order.warehouse_id,
    active,
  );
  await applyReservations(ctx, trx, orderId, desired, now);
}

/** Why a first-seen cancelled order is reported, or null when it is outside what the store imports. */
function cancelledOnArrival(order: ShopifyOrder, settings: OrderSettings, now: number): string | null {
  const window = importDecision(
    {
      ...order,
      fulfillmentStatus: settings.fulfillmentStatuses[0] ?? "unfulfilled",
      financialStatus: settings.financialStatuses[0] ?? null,
    },
    settings,
    now,
  );
  return window.importable
    ? `cancelled in Shopify (${order.cancelledAt}) before the hub imported it; nothing was reserved`
    : null;
}

/**
 * Applies `order` (one version) for `storeId`. `force` re-evaluates even the same version (used
 * when links, mappings or settings changed). The caller holds the transaction and `lockOrders`.
 */
export async function importOrderTx(
  ctx: AppContext,
  trx: Trx,
  storeId: number,
  order: ShopifyOrder,
  options: { force?: boolean; authoritative?: boolean } = {},
): Promise<ImportResult> {
  const now = ctx.clock.now();
  const existing = await trx
    .selectFrom("orders")
    .selectAll()
    .where("store_id", "=", storeId)
    .where("shopify_order_gid", "=", order.gid)
    .executeTakeFirst();
  const hash = contentHash(order);
  if (existing) {
    const storedOrder = JSON.parse(existing.source) as ShopifyOrder;
    const verdict = compareVersion(
      order,
      {
        updatedAt: existing.shopify_updated_at,
        progress: progressOf(storedOrder),
        contentHash: existing.content_hash,
      },
      options.authoritative,
    );
    if (verdict === "older") return { outcome: "stale", orderId: existing.id };
    if (verdict === "same" && !options.force) return { outcome: "unchanged", orderId: existing.id };
  }

  const settings = await loadSettings(trx, storeId);
  const wasImported = existing?.imported_at != null;
  const link = await linkOrder(trx, storeId, order);
  const moneyProblem = order.money ? problemsOfMoney(order, await loadMappings(trx, storeId)) : null;

  let status: OrderStatus;
  let reason: string | null = null;
  const decision = importDecision(order, settings, now);
  if (order.cancelledAt !== null) {
    status = "cancelled";
    // First seen already cancelled (its earlier versions never arrived): the back office still
    // hears of it (feed and order problems) when it falls inside the store's window and
    // locations; its statuses are the cancellation's, so the status filters cannot judge it.
    if (!existing) reason = cancelledOnArrival(order, settings, now);
  } else if (!wasImported && !decision.importable) {
    status = decision.status;
    reason = decision.reason;
  } else if (link.problem !== null || moneyProblem !== null) {
    status = "parked";
    reason = [link.problem, moneyProblem].filter((p) => p !== null).join("; ");
  } else {
    status = "imported";
  }
  const importsNow = status === "imported" && !wasImported;
  const cancelledOnFirstSight = status === "cancelled" && !existing && reason !== null;
  const importedAt = existing?.imported_at ?? (importsNow || cancelledOnFirstSight ? now : null);
  const inFeed = importedAt !== null;
  const customer = inFeed || status === "parked" ? await resolveCustomer(trx, order, settings, now) : null;
  const finished = order.cancelledAt !== null || order.fulfillmentStatus === "fulfilled";

  const values = {
    name: order.name,
    shopify_updated_at: order.updatedAt,
    shopify_created_at: order.createdAt,
    financial_status: order.financialStatus,
    fulfillment_status: order.fulfillmentStatus,
    cancelled_at: order.cancelledAt,
    location_gid: order.locationGid,
    // A fulfillment order moved to another location (ship-from-store, pickup elsewhere) takes the
    // reservation with it (src/fulfillment/fulfillment-orders.ts); later versions keep that.
    warehouse_id: existing?.fulfil_warehouse_id ?? link.warehouseId,
    customer_id: customer?.customerId ?? existing?.customer_id ?? null,
    company_id: customer?.companyId ?? existing?.company_id ?? null,
    status,
    park_reason: reason,
    email: existing?.redacted_at ? null : order.email,
    customer_name: existing?.redacted_at ? null : order.customerName,
    phone: existing?.redacted_at ? null : order.phone,
    addresses: existing?.redacted_at
      ? null
      : JSON.stringify({ billing: order.billingAddress, shipping: order.shippingAddress }),
    currency: order.currency,
    total_price: order.totalPrice,
    source: JSON.stringify(order),
    content_hash: hash,
    imported_at: importedAt,
    finished_at: existing?.finished_at ?? (finished ? now : null),
    updated_at: now,
  };
  const { id: orderId } = await trx
    .insertInto("orders")
    .values({
      ...values,
      store_id: storeId,
      shopify_order_gid: order.gid,
      feed_seq: null,
      acked_at: null,
      acked_seq: null,
      redacted_at: null,
      created_at: now,
    })
    .onConflict((oc) => oc.columns(["store_id", "shopify_order_gid"]).doUpdateSet(values))
    .returning("id")
    .executeTakeFirstOrThrow();

  await trx.deleteFrom("order_lines").where("order_id", "=", orderId).execute();
  if (order.lines.length > 0)
    await trx
      .insertInto("order_lines")
      .values(
        order.lines.map((l) => ({
          order_id: orderId,
          shopify_line_gid: l.gid,
          sku: l.sku,
          title: l.title,
          variant_id: l.sku === null || l.giftCard ? null : (link.variantBySku.get(l.sku) ?? null),
          quantity: l.quantity,
          current_quantity: l.currentQuantity,
          fulfilled_quantity: l.fulfilledQuantity,
          fulfillable_quantity: l.fulfillableQuantity,
          price: l.price,
        })),
      )
      .execute();

  await refreshReservations(ctx, trx, orderId, now);

  const changed = !existing || existing.content_hash !== hash || existing.status !== status;
  const outcome: ImportOutcome = importsNow
    ? "imported"
    : status === "cancelled" || !wasImported
      ? status
      : changed
        ? "updated"
        : "unchanged";
  if (inFeed && (importsNow || cancelledOnFirstSight || changed)) {
    const { id: seq } = await trx
      .insertInto("order_feed")
      .values({ order_id: orderId, created_at: now })
      .returning("id")
      .executeTakeFirstOrThrow();
    await trx.updateTable("orders").set({ feed_seq: seq }).where("id", "=", orderId).execute();
    if (settings.outboundUrl !== null) {
      const type: OutboundEventType = importsNow
        ? "order.created"
        : status === "cancelled" && existing?.status !== "cancelled"
          ? "order.cancelled"
          : "order.updated";
      await enqueueOutboundEvent(trx, { storeId, orderId, type }, now);
    }
  }
  if (importsNow && settings.tag !== null && !order.tags.includes(settings.tag)) {
    await trx
      .insertInto("order_tag_jobs")
      .values({
        store_id: storeId,
        shopify_order_gid: order.gid,
        tag: settings.tag,
        status: "pending",
        attempts: 0,
        next_attempt_at: now,
        last_error: null,
        created_at: now,
      })
      .onConflict((oc) => oc.columns(["store_id", "shopify_order_gid", "tag"]).doNothing())
      .execute();
  }
  return { outcome, orderId };
}

/** One version in its own transaction (backfill and reprocessing use this). */
export async function importOrder(
  ctx: AppContext,
  storeId: number,
  order: ShopifyOrder,
  options: { force?: boolean; authoritative?: boolean } = {},
): Promise<ImportResult> {
  return ctx.database.db.transaction().execute(async (trx) => {
    await lockOrders(trx, ctx.database.dialect);
    return importOrderTx(ctx, trx, storeId, order, options);
  });
}

/** Re-applies every parked order of a store (after SKUs were linked or locations mapped). */
export async function reprocessParked(
  ctx: AppContext,
  storeId: number,
): Promise<Record<ImportOutcome, number>> {
  const counts = {} as Record<ImportOutcome, number>;
  const parked = await ctx.database.db
    .selectFrom("orders")
    .select(["id", "source"])
    .where("store_id", "=", storeId)
    .where("status", "=", "parked")
    .orderBy("id")
    .execute();
  for (const p of parked) {
    const r = await importOrder(ctx, storeId, JSON.parse(p.source) as ShopifyOrder, { force: true });
    counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  }
  return counts;
}
