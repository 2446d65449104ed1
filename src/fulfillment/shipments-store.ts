/**
 * Recording a shipment: validate everything first (every bad line in one answer), then in ONE
 * transaction the shipment (which is also the outbox entry of its Shopify fulfillments), its
 * lines and packages, the release of the order's reservation and a `sale` movement per line
 * (id `shipment:<id>:<line gid>`, so it applies once), the inventory push told.
 *
 * The ledger's `ingestMovements` opens its own transaction and calls the stock listener inside
 * it; the shipment rows are written from that listener, so everything commits together.
 */
import { sql } from "kysely";
import { type AppContext, stockChanged } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import type { Db } from "../db/database.ts";
import { ingestMovements, type Trx } from "../inventory/ledger-store.ts";
import { lockOrders } from "../orders/intake.ts";
import { loadFulfillmentSettings } from "./settings.ts";
import {
  type LineForShipment,
  type PackageInput,
  type PlannedShipmentLine,
  planShipment,
  type ShipmentInput,
  shipmentHash,
} from "./shipment-plan.ts";

export interface ShipmentView {
  id: string;
  orderId: number;
  orderName: string;
  store: string;
  warehouse: string;
  status: string;
  reason: string | null;
  notifyCustomer: boolean;
  attempts: number;
  trackingPending: boolean;
  lines: { lineId: string; sku: string | null; quantity: number }[];
  packages: { carrier: string | null; trackingNumber: string | null; trackingUrl: string | null }[];
  fulfillments: {
    fulfillmentOrderId: string;
    fulfillmentId: string | null;
    status: string;
    error: string | null;
    lines: { lineId: string; quantity: number }[];
  }[];
  createdAt: number;
  updatedAt: number;
}

export async function shipmentView(db: Db | Trx, externalId: string): Promise<ShipmentView | null> {
  const s = await db
    .selectFrom("shipments as s")
    .innerJoin("orders as o", "o.id", "s.order_id")
    .innerJoin("stores as st", "st.id", "s.store_id")
    .innerJoin("warehouses as w", "w.id", "s.warehouse_id")
    .select([
      "s.id",
      "s.external_id",
      "s.order_id",
      "o.name",
      "st.domain",
      "w.code",
      "s.status",
      "s.reason",
      "s.notify_customer",
      "s.attempts",
      "s.tracking_pending",
      "s.created_at",
      "s.updated_at",
    ])
    .where("s.external_id", "=", externalId)
    .executeTakeFirst();
  if (!s) return null;
  const [lines, packages, fulfillments] = await Promise.all([
    db.selectFrom("shipment_lines").selectAll().where("shipment_id", "=", s.id).orderBy("id").execute(),
    db.selectFrom("shipment_packages").selectAll().where("shipment_id", "=", s.id).orderBy("id").execute(),
    db
      .selectFrom("shipment_fulfillments")
      .selectAll()
      .where("shipment_id", "=", s.id)
      .orderBy("id")
      .execute(),
  ]);
  return {
    id: s.external_id,
    orderId: s.order_id,
    orderName: s.name,
    store: s.domain,
    warehouse: s.code,
    status: s.status,
    reason: s.reason,
    notifyCustomer: s.notify_customer === 1,
    attempts: s.attempts,
    trackingPending: s.tracking_pending === 1,
    lines: lines.map((l) => ({ lineId: l.shopify_line_gid, sku: l.sku, quantity: l.quantity })),
    packages: packages.map((p) => ({
      carrier: p.carrier,
      trackingNumber: p.tracking_number,
      trackingUrl: p.tracking_url,
    })),
    fulfillments: fulfillments.map((f) => ({
      fulfillmentOrderId: f.fulfillment_order_gid,
      fulfillmentId: f.fulfillment_gid,
      status: f.status,
      error: f.last_error,
      lines: (JSON.parse(f.lines) as { lineGid: string; quantity: number }[]).map((l) => ({
        lineId: l.lineGid,
        quantity: l.quantity,
      })),
    })),
    createdAt: s.created_at,
    updatedAt: s.updated_at,
  };
}

/** Hub id (number or digits), Shopify order gid, or order name (`#1001` or `1001` with the `#`). */
export async function resolveOrderId(db: Db | Trx, ref: number | string): Promise<number> {
  const notFound = () =>
    new AppError("UNKNOWN_ORDER", `no order ${ref} in the hub`, [
      { path: "orderId", code: "UNKNOWN_ORDER", message: `no order ${ref} in the hub` },
    ]);
  if (typeof ref === "number" || /^\d+$/.test(ref)) {
    const r = await db.selectFrom("orders").select("id").where("id", "=", Number(ref)).executeTakeFirst();
    if (!r) throw notFound();
    return r.id;
  }
  const rows = await db
    .selectFrom("orders")
    .select("id")
    .where(ref.startsWith("gid://") ? "shopify_order_gid" : "name", "=", ref)
    .limit(2)
    .execute();
  if (rows.length === 0) throw notFound();
  if (rows.length > 1)
    throw new AppError("INVALID_SHIPMENT", `order ${ref} exists in several stores: send the hub order id`, [
      { path: "orderId", code: "AMBIGUOUS_ORDER", message: `order ${ref} exists in several stores` },
    ]);
  return rows[0]!.id;
}

/**
 * Units of each Shopify line that already left, as the hub knows: every recorded shipment of the
 * order, plus units of fulfillments made in Shopify that cover no hub shipment (whether or not
 * they became sales), so a back-office shipment can never ship them a second time.
 */
export async function shippedByLine(db: Db | Trx, orderId: number): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom("shipment_lines as l")
    .innerJoin("shipments as s", "s.id", "l.shipment_id")
    .select(["l.shopify_line_gid", (eb) => eb.fn.sum<number>("l.quantity").as("q")])
    .where("s.order_id", "=", orderId)
    .groupBy("l.shopify_line_gid")
    .execute();
  const out = new Map(rows.map((r) => [r.shopify_line_gid, Number(r.q)]));
  for (const r of await db
    .selectFrom("fulfillment_records")
    .select(["line_gid", "quantity", "hub_quantity"])
    .where("order_id", "=", orderId)
    .where("origin", "=", "shopify")
    .where("cancelled", "=", 0)
    .execute())
    out.set(r.line_gid, (out.get(r.line_gid) ?? 0) + r.quantity - r.hub_quantity);
  return out;
}

async function loadOrderForShipment(db: Db | Trx, orderId: number) {
  const order = await db.selectFrom("orders").selectAll().where("id", "=", orderId).executeTakeFirstOrThrow();
  const lines: LineForShipment[] = (
    await db.selectFrom("order_lines").selectAll().where("order_id", "=", orderId).orderBy("id").execute()
  ).map((l) => ({
    id: l.id,
    gid: l.shopify_line_gid,
    sku: l.sku,
    variantId: l.variant_id,
    currentQuantity: l.current_quantity,
    fulfilledQuantity: l.fulfilled_quantity,
  }));
  return { order, lines };
}

export interface CreateShipmentResult {
  readonly duplicate: boolean;
  readonly shipment: ShipmentView;
}

class AlreadyRecorded extends Error {}

async function existing(db: Db, input: ShipmentInput, hash: string): Promise<CreateShipmentResult | null> {
  const row = await db
    .selectFrom("shipments")
    .select(["content_hash"])
    .where("external_id", "=", input.id)
    .executeTakeFirst();
  if (!row) return null;
  if (row.content_hash !== hash)
    throw new AppError(
      "SHIPMENT_CONFLICT",
      `shipment ${input.id} was already recorded with different content; use a new id for a new shipment, PATCH to change its packages`,
      [{ path: "id", id: input.id, code: "SHIPMENT_CONFLICT", message: "same id, different content" }],
    );
  return { duplicate: true, shipment: (await shipmentView(db, input.id))! };
}

export async function createShipment(ctx: AppContext, input: ShipmentInput): Promise<CreateShipmentResult> {
  const db = ctx.database.db;
  const hash = shipmentHash(input);
  const seen = await existing(db, input, hash);
  if (seen) return seen;

  const orderId = await resolveOrderId(db, input.orderId);
  const { order, lines } = await loadOrderForShipment(db, orderId);
  const warehouse = await db
    .selectFrom("warehouses")
    .select(["id", "code"])
    .where("code", "=", input.warehouse)
    .executeTakeFirst();
  const mapped = warehouse
    ? await db
        .selectFrom("location_warehouses as lw")
        .innerJoin("store_locations as sl", "sl.id", "lw.store_location_id")
        .select("sl.id")
        .where("sl.store_id", "=", order.store_id)
        .where("lw.warehouse_id", "=", warehouse.id)
        .executeTakeFirst()
    : undefined;
  const warehouseState = { known: warehouse !== undefined, mapped: mapped !== undefined };
  const orderState = {
    status: order.status,
    cancelledAt: order.cancelled_at,
    importedAt: order.imported_at,
    name: order.name,
  };
  const plan = planShipment(input, orderState, lines, await shippedByLine(db, orderId), warehouseState);
  if (!plan.ok)
    throw new AppError(
      "INVALID_SHIPMENT",
      `shipment ${input.id} cannot be recorded: ${plan.errors.map((e) => e.message).join("; ")}. Nothing was changed.`,
      plan.errors,
    );
  const settings = await loadFulfillmentSettings(db, order.store_id);
  const notify = input.notifyCustomer ?? settings.notifyCustomer;
  const skuByVariant = new Map(
    (
      await db
        .selectFrom("variants")
        .select(["id", "sku"])
        .where(
          "id",
          "in",
          plan.lines.map((l) => l.variantId),
        )
        .execute()
    ).map((v) => [v.id, v.sku]),
  );
  const now = ctx.clock.now();
  const occurredAt = new Date(now).toISOString();
  const movements = plan.lines.map((l) => ({
    id: `shipment:${input.id}:${l.gid}`,
    type: "sale",
    sku: skuByVariant.get(l.variantId)!,
    warehouse: warehouse!.code,
    quantity: -l.quantity,
    occurredAt,
  }));

  try {
    const r = await ingestMovements(ctx.database, movements, now, async (trx, variantIds, at) => {
      await lockOrders(trx, ctx.database.dialect);
      // Re-checked under the lock: a concurrent request may have recorded this id or shipped these lines.
      if (
        await trx.selectFrom("shipments").select("id").where("external_id", "=", input.id).executeTakeFirst()
      )
        throw new AlreadyRecorded();
      const again = await loadOrderForShipment(trx, orderId);
      const recheck = planShipment(
        input,
        {
          status: again.order.status,
          cancelledAt: again.order.cancelled_at,
          importedAt: again.order.imported_at,
          name: again.order.name,
        },
        again.lines,
        await shippedByLine(trx, orderId),
        warehouseState,
      );
      if (!recheck.ok)
        throw new AppError(
          "INVALID_SHIPMENT",
          `shipment ${input.id} cannot be recorded: the order changed meanwhile`,
          recheck.errors,
        );
      await writeShipmentTx(trx, {
        storeId: order.store_id,
        orderId,
        externalId: input.id,
        hash,
        warehouseId: warehouse!.id,
        notify,
        lines: plan.lines,
        packages: input.packages,
        now: at,
      });
      await stockChanged(ctx)(trx, variantIds, at);
    });
    if (r.applied === 0) {
      // Every sale movement was already in the ledger: only possible if the shipment was recorded too.
      const again = await existing(db, input, hash);
      if (again) return again;
      throw new AppError(
        "CONFLICT",
        `movements shipment:${input.id}:… already exist in the ledger without this shipment`,
      );
    }
  } catch (err) {
    if (err instanceof AlreadyRecorded) {
      const again = await existing(db, input, hash);
      if (again) return again;
    }
    throw err;
  }
  ctx.logger.info({ shipment: input.id, order: orderId, lines: plan.lines.length }, "shipment recorded");
  return { duplicate: false, shipment: (await shipmentView(db, input.id))! };
}

async function writeShipmentTx(
  trx: Trx,
  s: {
    storeId: number;
    orderId: number;
    externalId: string;
    hash: string;
    warehouseId: number;
    notify: boolean;
    lines: readonly PlannedShipmentLine[];
    packages: readonly PackageInput[];
    now: number;
  },
): Promise<void> {
  const { id } = await trx
    .insertInto("shipments")
    .values({
      store_id: s.storeId,
      order_id: s.orderId,
      external_id: s.externalId,
      content_hash: s.hash,
      warehouse_id: s.warehouseId,
      notify_customer: s.notify ? 1 : 0,
      status: "pending",
      reason: null,
      attempts: 0,
      next_attempt_at: s.now,
      tracking_pending: 0,
      created_at: s.now,
      updated_at: s.now,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  await trx
    .insertInto("shipment_lines")
    .values(
      s.lines.map((l) => ({
        shipment_id: id,
        shopify_line_gid: l.gid,
        sku: l.sku,
        variant_id: l.variantId,
        quantity: l.quantity,
      })),
    )
    .execute();
  await writePackages(trx, id, s.packages);
  // The reservation becomes the sale: release what the order still holds of these variants.
  for (const l of s.lines) {
    let left = l.quantity;
    const held = await trx
      .selectFrom("reservations")
      .selectAll()
      .where("order_id", "=", s.orderId)
      .where("variant_id", "=", l.variantId)
      .orderBy("warehouse_id")
      .execute();
    // The shipment's own warehouse first: the rest stays reserved where Shopify still commits it.
    held.sort((a, b) => Number(b.warehouse_id === s.warehouseId) - Number(a.warehouse_id === s.warehouseId));
    for (const r of held) {
      const release = Math.min(left, r.quantity);
      if (release <= 0) continue;
      left -= release;
      if (release === r.quantity)
        await trx
          .deleteFrom("reservations")
          .where("order_id", "=", s.orderId)
          .where("variant_id", "=", r.variant_id)
          .where("warehouse_id", "=", r.warehouse_id)
          .execute();
      else
        await trx
          .updateTable("reservations")
          .set({ quantity: r.quantity - release })
          .where("order_id", "=", s.orderId)
          .where("variant_id", "=", r.variant_id)
          .where("warehouse_id", "=", r.warehouse_id)
          .execute();
      await trx
        .updateTable("stock_levels")
        .set({ reserved: sql`reserved - ${release}`, updated_at: s.now })
        .where("variant_id", "=", r.variant_id)
        .where("warehouse_id", "=", r.warehouse_id)
        .execute();
    }
  }
}

async function writePackages(trx: Trx | Db, shipmentId: number, packages: readonly PackageInput[]) {
  if (packages.length === 0) return;
  await trx
    .insertInto("shipment_packages")
    .values(
      packages.map((p) => ({
        shipment_id: shipmentId,
        carrier: p.carrier ?? null,
        tracking_number: p.trackingNumber,
        tracking_url: p.trackingUrl ?? null,
      })),
    )
    .execute();
}

/** Replaces a shipment's packages; the worker sends the new tracking to its fulfillments. */
export async function replacePackages(
  ctx: AppContext,
  externalId: string,
  packages: readonly PackageInput[],
): Promise<ShipmentView> {
  const now = ctx.clock.now();
  const found = await ctx.database.db.transaction().execute(async (trx) => {
    const s = await trx
      .selectFrom("shipments")
      .select(["id"])
      .where("external_id", "=", externalId)
      .executeTakeFirst();
    if (!s) return false;
    await trx.deleteFrom("shipment_packages").where("shipment_id", "=", s.id).execute();
    await writePackages(trx, s.id, packages);
    await trx
      .updateTable("shipments")
      .set({ tracking_pending: 1, next_attempt_at: now, updated_at: now })
      .where("id", "=", s.id)
      .execute();
    return true;
  });
  if (!found) throw new AppError("NOT_FOUND", `no shipment ${externalId}`);
  return (await shipmentView(ctx.database.db, externalId))!;
}

export async function shipmentsOfOrder(db: Db, orderId: number): Promise<ShipmentView[]> {
  const rows = await db
    .selectFrom("shipments")
    .select("external_id")
    .where("order_id", "=", orderId)
    .orderBy("id")
    .execute();
  const out: ShipmentView[] = [];
  for (const r of rows) out.push((await shipmentView(db, r.external_id))!);
  return out;
}
