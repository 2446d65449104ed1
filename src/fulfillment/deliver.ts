/**
 * Delivery of recorded shipments to Shopify (the worker's side of the shipment outbox): per due
 * shipment, read the order's fulfillment orders, match what is left to fulfil at the locations
 * mapped to the shipment's warehouse, and call `fulfillmentCreate` once per fulfillment order
 * with only those items, the tracking and the notify flag. Nothing is sent unless every line
 * matches; a shipment that cannot match is parked (on hold: retried) or rejected with its reason.
 * Transient failures retry with backoff. Changed packages go out with `fulfillmentTrackingInfoUpdate`.
 */

import type { ExpressionBuilder } from "kysely";
import type { AppContext } from "../core/context.ts";
import { coerceError } from "../core/errors.ts";
import type { ShipmentStatus, Tables } from "../db/tables.ts";
import { afterFailure, RETRY } from "../jobs/backoff.ts";
import { ClaimLostError, claimRows } from "../jobs/queue.ts";
import { graphql } from "../shopify/graphql.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { moveFulfillmentOrder } from "./fulfillment-order-move.ts";
import { markFulfillmentOrdersDue } from "./fulfillment-orders.ts";
import {
  adoptableFulfillments,
  type FulfillmentGroup,
  type FulfillmentOrderMove,
  type FulfillmentOrderNode,
  matchFulfillmentOrders,
  trackingInput,
} from "./shipment-plan.ts";
import { recordFulfillment } from "./shopify-fulfillments.ts";

export const SHIPMENT_MAX_ATTEMPTS = RETRY.shipments.maxAttempts;
/** How often a parked shipment (fulfillment order on hold) is checked again. */
export const PARKED_RECHECK_MS = 10 * 60_000;
/**
 * How long a claim keeps other workers off a shipment (src/jobs/queue.ts): far longer than a
 * delivery takes. Within the store's lease it matters little: a new owner of the store recovers
 * its predecessor's claims at once (`recoverLostClaims`).
 */
export const SHIPMENT_CLAIM_MS = 10 * 60_000;
const claimOwner = `shipments:${process.pid}`;

/**
 * What matching a shipment needs (SKUs, up to 50 lines); fulfillment-orders.ts reads the feed's
 * view (delivery method, holds) with its own, cheaper query. 5 fulfillment orders × 50 lines
 * stays near 530 cost points, well under the 1,000 ceiling.
 */
export const SHIPMENT_FULFILLMENT_ORDERS_QUERY = graphql`
  query TillbridgeShipmentFulfillmentOrders($id: ID!) {
    order(id: $id) {
      id
      fulfillmentOrders(first: 5) {
        nodes {
          id
          status
          assignedLocation {
            location {
              id
            }
          }
          lineItems(first: 50) {
            nodes {
              id
              remainingQuantity
              lineItem {
                id
                sku
              }
            }
          }
        }
      }
    }
  }
`;

/** Only after a failed attempt: fulfillments Shopify may have created without us hearing back. */
export const ORDER_FULFILLMENTS_QUERY = graphql`
  query TillbridgeOrderFulfillments($id: ID!) {
    order(id: $id) {
      fulfillments(first: 5) {
        id
        createdAt
        location {
          id
        }
        trackingInfo(first: 5) {
          number
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

export const FULFILLMENT_CREATE_MUTATION = graphql`
  mutation TillbridgeFulfillmentCreate($fulfillment: FulfillmentInput!) {
    fulfillmentCreate(fulfillment: $fulfillment) {
      fulfillment {
        id
        status
      }
      userErrors {
        field
        message
      }
    }
  }
`;

export const FULFILLMENT_TRACKING_UPDATE_MUTATION = graphql`
  mutation TillbridgeFulfillmentTrackingUpdate(
    $fulfillmentId: ID!
    $trackingInfoInput: FulfillmentTrackingInput!
    $notifyCustomer: Boolean
  ) {
    fulfillmentTrackingInfoUpdate(
      fulfillmentId: $fulfillmentId
      trackingInfoInput: $trackingInfoInput
      notifyCustomer: $notifyCustomer
    ) {
      fulfillment {
        id
      }
      userErrors {
        field
        message
      }
    }
  }
`;

interface FulfillmentOrdersData {
  order: {
    id: string;
    fulfillmentOrders: {
      nodes: {
        id: string;
        status: string;
        assignedLocation: { location: { id: string } | null } | null;
        lineItems: {
          nodes: { id: string; remainingQuantity: number; lineItem: { id: string; sku: string | null } }[];
        };
      }[];
    };
  } | null;
}

interface UserError {
  field: string[] | null;
  message: string;
}

export type TransportFor = (store: { id: number; domain: string }) => AdminTransport;

export interface DeliveryResult {
  applied: number;
  parked: number;
  rejected: number;
  retried: number;
  trackingUpdated: number;
}

/** Every store whose fulfillment push is enabled (hub-wide job). Prefer the per-store pass under a lease. */
export async function deliverShipments(
  ctx: AppContext,
  transportFor: TransportFor,
  now: number = ctx.clock.now(),
  limit = 50,
): Promise<DeliveryResult> {
  const stores = await ctx.database.db
    .selectFrom("stores")
    .innerJoin("flows", "flows.store_id", "stores.id")
    .select(["stores.id", "stores.domain"])
    .where("stores.status", "=", "active")
    .where("flows.flow", "=", "fulfillment_push")
    .where("flows.state", "=", "enabled")
    .execute();
  const total: DeliveryResult = { applied: 0, parked: 0, rejected: 0, retried: 0, trackingUpdated: 0 };
  for (const s of stores) {
    const r = await deliverStoreShipments(ctx, transportFor(s), s.id, now, limit);
    for (const k of Object.keys(total) as (keyof DeliveryResult)[]) total[k] += r[k];
  }
  return total;
}

/** One store's due shipments and tracking updates, through that store's throttled transport. */
export async function deliverStoreShipments(
  ctx: AppContext,
  transport: AdminTransport,
  storeId: number,
  now: number = ctx.clock.now(),
  limit = 50,
): Promise<DeliveryResult> {
  const db = ctx.database.db;
  const result: DeliveryResult = { applied: 0, parked: 0, rejected: 0, retried: 0, trackingUpdated: 0 };
  await recoverLostClaims(ctx, transport, storeId, now);
  // Claimed on the durable-work core: no other worker delivers these while this one does, and
  // every outcome below is recorded only under this claim.
  const claim = await claimRows<{
    id: number;
    external_id: string;
    status: ShipmentStatus;
    tracking_pending: number;
    attempts: number;
  }>(ctx.database, "shipments", {
    owner: claimOwner,
    now,
    limit,
    visibilityMs: SHIPMENT_CLAIM_MS,
    pick: (q) =>
      q
        .where("q.store_id", "=", storeId)
        .where("q.next_attempt_at", "<=", now)
        .where((eb: ExpressionBuilder<Tables, "shipments">) =>
          eb.or([
            eb("status", "in", ["pending", "parked"]),
            eb.and([eb("tracking_pending", "=", 1), eb("status", "in", ["applied", "partially_applied"])]),
          ]),
        ),
  });
  const token = claim.token;
  for (const [i, s] of claim.items.entries()) {
    try {
      if (s.status === "pending" || s.status === "parked") {
        const outcome = await deliverOne(ctx, transport, s.id, token);
        if (outcome === "applied") result.applied++;
        else if (outcome === "parked") result.parked++;
        else if (outcome === "rejected" || outcome === "partially_applied") result.rejected++;
      } else if (await updateTracking(ctx, transport, s.id)) result.trackingUpdated++;
      // Outcomes that left the claim on (a tracking update) give it back.
      await releaseShipments(ctx, [s.id], token, ctx.clock.now());
    } catch (thrown) {
      const code = (thrown as { code?: string }).code;
      // The store moved to another worker: the shipments are the new owner's to deliver.
      if (code === "LEASE_LOST") {
        await releaseShipments(
          ctx,
          claim.items.slice(i + 1).map((x) => x.id),
          token,
          ctx.clock.now(),
        );
        throw thrown;
      }
      // Another worker took this one over (this one paused past the claim): its to finish.
      if (code === "CLAIM_LOST") continue;
      const err = coerceError(thrown);
      // The shared retry rule (src/jobs/backoff.ts); the shipment's status is its own: a
      // delivery out of attempts is `failed` (a tracking update keeps its applied status).
      const { attempts, dead, nextAttemptAt } = afterFailure(s.attempts, RETRY.shipments, ctx.clock.now());
      result.retried++;
      await db
        .updateTable("shipments")
        .set({
          ...(dead && (s.status === "pending" || s.status === "parked") ? { status: "failed" as const } : {}),
          attempts,
          next_attempt_at: nextAttemptAt,
          reason: `${dead ? "gave up" : "will retry"} after attempt ${attempts}: ${err.message}`.slice(
            0,
            500,
          ),
          updated_at: ctx.clock.now(),
          claimed_by: null,
        })
        .where("id", "=", s.id)
        .where("claimed_by", "=", token)
        .execute();
      ctx.logger.warn(
        { shipment: s.external_id, attempts, dead, reason: err.message.slice(0, 200) },
        "shipment not delivered",
      );
    }
  }
  return result;
}

/** Gives claimed shipments back untouched, due at `now` (only while the claim is `token`). */
async function releaseShipments(ctx: AppContext, ids: readonly number[], token: string, now: number) {
  if (ids.length === 0) return;
  await ctx.database.db
    .updateTable("shipments")
    .set({ claimed_by: null, next_attempt_at: now })
    .where("id", "in", [...ids])
    .where("claimed_by", "=", token)
    .execute();
}

/**
 * Claims of the store's shipments left by a former holder of its lease (it died, or lost the
 * store mid-delivery): only the lease holder delivers a store's shipments, one pass at a time, so
 * any claim seen here is not running any more. Its attempt is counted — the next one first looks
 * in Shopify for fulfillments it may have created (`adoptLostFulfillments`) — and a tracking
 * update it had taken is due again. Fenced by the lease: a former owner cannot do this.
 */
async function recoverLostClaims(ctx: AppContext, transport: AdminTransport, storeId: number, now: number) {
  await ctx.database.db.transaction().execute(async (trx) => {
    const lost = await trx
      .selectFrom("shipments")
      .select(["id", "status"])
      .where("store_id", "=", storeId)
      .where("claimed_by", "is not", null)
      .execute();
    if (lost.length === 0) return;
    await transport.fence?.(trx);
    const tracking = lost.filter((l) => l.status === "applied" || l.status === "partially_applied");
    await trx
      .updateTable("shipments")
      .set((eb) => ({
        claimed_by: null,
        next_attempt_at: now,
        attempts: eb("attempts", "+", 1),
        updated_at: now,
      }))
      .where(
        "id",
        "in",
        lost.map((l) => l.id),
      )
      .execute();
    if (tracking.length > 0)
      await trx
        .updateTable("shipments")
        .set({ tracking_pending: 1 })
        .where(
          "id",
          "in",
          tracking.map((l) => l.id),
        )
        .execute();
    ctx.logger.warn(
      { storeId, shipments: lost.map((l) => l.id) },
      "shipments left claimed by a former owner of the store: counted as an attempt, delivered again",
    );
  });
}

/**
 * Records a shipment's outcome; fenced by the transport's lease (a former owner cannot) and by
 * the shipment's claim (`ClaimLostError` when another worker has taken it).
 */
async function setStatus(
  ctx: AppContext,
  transport: AdminTransport,
  id: number,
  token: string,
  status: ShipmentStatus,
  reason: string | null,
  nextAttemptAt?: number,
) {
  const now = ctx.clock.now();
  await ctx.database.db.transaction().execute(async (trx) => {
    await transport.fence?.(trx);
    const r = await trx
      .updateTable("shipments")
      .set({
        status,
        reason,
        updated_at: now,
        next_attempt_at: nextAttemptAt ?? now,
        claimed_by: null,
        ...(status === "applied" ? { attempts: 0 } : {}),
      })
      .where("id", "=", id)
      .where("claimed_by", "=", token)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new ClaimLostError("shipments", id);
  });
}

async function deliverOne(
  ctx: AppContext,
  transport: AdminTransport,
  id: number,
  token: string,
): Promise<ShipmentStatus> {
  const db = ctx.database.db;
  // Packages read after this point are what Shopify gets; a later PATCH sets the flag again.
  await db.updateTable("shipments").set({ tracking_pending: 0 }).where("id", "=", id).execute();
  const s = await db
    .selectFrom("shipments as s")
    .innerJoin("orders as o", "o.id", "s.order_id")
    .select([
      "s.id",
      "s.external_id",
      "s.store_id",
      "s.warehouse_id",
      "s.notify_customer",
      "s.attempts",
      "s.order_id",
      "o.shopify_order_gid",
    ])
    .where("s.id", "=", id)
    .executeTakeFirstOrThrow();
  const lines = await db.selectFrom("shipment_lines").selectAll().where("shipment_id", "=", id).execute();
  const done = await db
    .selectFrom("shipment_fulfillments")
    .select("lines")
    .where("shipment_id", "=", id)
    .where("status", "=", "done")
    .execute();
  const fulfilled = new Map<string, number>();
  for (const d of done)
    for (const l of JSON.parse(d.lines) as { lineGid: string; quantity: number }[])
      fulfilled.set(l.lineGid, (fulfilled.get(l.lineGid) ?? 0) + l.quantity);
  if (s.attempts > 0) {
    for (const [lineGid, quantity] of await adoptLostFulfillments(ctx, transport, s, lines, fulfilled))
      fulfilled.set(lineGid, (fulfilled.get(lineGid) ?? 0) + quantity);
  }
  const remaining = lines
    .map((l) => ({
      lineGid: l.shopify_line_gid,
      sku: l.sku,
      quantity: l.quantity - (fulfilled.get(l.shopify_line_gid) ?? 0),
    }))
    .filter((l) => l.quantity > 0);
  if (remaining.length === 0) {
    await setStatus(ctx, transport, id, token, "applied", null);
    return "applied";
  }
  const locations = new Set(
    (
      await db
        .selectFrom("store_locations as sl")
        .innerJoin("location_warehouses as lw", "lw.store_location_id", "sl.id")
        .select("sl.location_gid")
        .where("sl.store_id", "=", s.store_id)
        .where("lw.warehouse_id", "=", s.warehouse_id)
        .execute()
    ).map((r) => r.location_gid),
  );
  let fos = await readShipmentFulfillmentOrders(transport, s.shopify_order_gid);
  if (fos === null) {
    await setStatus(
      ctx,
      transport,
      id,
      token,
      "rejected",
      `order ${s.shopify_order_gid} no longer exists in Shopify`,
    );
    return "rejected";
  }
  let match = matchFulfillmentOrders(remaining, fos, locations);
  if (match.kind === "move") {
    // The units left from this warehouse: Shopify moves them here first, then fulfils them here.
    const refused = await moveFulfillmentOrders(ctx, transport, s.order_id, match);
    fos = refused === null ? await readShipmentFulfillmentOrders(transport, s.shopify_order_gid) : null;
    match =
      refused !== null
        ? {
            kind: "reject",
            reason: `Shopify refused to move the units to the shipment's location: ${refused}`,
          }
        : fos === null
          ? { kind: "reject", reason: `order ${s.shopify_order_gid} no longer exists in Shopify` }
          : matchFulfillmentOrders(remaining, fos, locations);
    // Moved meanwhile again (staff in the admin): the next attempt reads and moves once more.
    if (match.kind === "move") throw new Error("the fulfillment orders changed while the hub moved them");
  }
  if (match.kind === "park") {
    await setStatus(ctx, transport, id, token, "parked", match.reason, ctx.clock.now() + PARKED_RECHECK_MS);
    return "parked";
  }
  if (match.kind !== "ok") {
    const status = done.length > 0 ? "partially_applied" : "rejected";
    await setStatus(ctx, transport, id, token, status, match.reason);
    return status;
  }
  const tracking = await shipmentTracking(db, id);
  const refused: string[] = [];
  let created = done.length;
  const foLocation = new Map((fos ?? []).map((fo) => [fo.id, fo.locationGid]));
  for (const g of match.groups) {
    const target = {
      storeId: s.store_id,
      orderGid: s.shopify_order_gid,
      locationGid: foLocation.get(g.fulfillmentOrderGid) ?? null,
    };
    const errors = await createFulfillment(ctx, transport, id, target, g, tracking, s.notify_customer === 1);
    if (errors === null) created++;
    else refused.push(errors);
  }
  if (refused.length === 0) {
    await setStatus(ctx, transport, id, token, "applied", null);
    return "applied";
  }
  const status = created > 0 ? "partially_applied" : "rejected";
  await setStatus(ctx, transport, id, token, status, `Shopify refused: ${refused.join("; ")}`.slice(0, 1000));
  return status;
}

/** The order's fulfillment orders as the matching needs them; null when the order is gone. */
async function readShipmentFulfillmentOrders(
  transport: AdminTransport,
  orderGid: string,
): Promise<FulfillmentOrderNode[] | null> {
  const { data } = await transport.graphql<FulfillmentOrdersData>(
    SHIPMENT_FULFILLMENT_ORDERS_QUERY,
    { id: orderGid },
    { estimatedCost: 530 },
  );
  if (!data.order) return null;
  return data.order.fulfillmentOrders.nodes.map((fo) => ({
    id: fo.id,
    status: fo.status,
    locationGid: fo.assignedLocation?.location?.id ?? null,
    lineItems: fo.lineItems.nodes.map((li) => ({
      id: li.id,
      remainingQuantity: li.remainingQuantity,
      lineGid: li.lineItem.id,
      sku: li.lineItem.sku,
    })),
  }));
}

/**
 * Moves the units a shipment took from its warehouse but Shopify expects elsewhere to the
 * shipment's location (`fulfillmentOrderMove`, only the units needed: a split when the rest stays).
 * A retry after a lost answer reads them there already and moves nothing. The order's fulfillment
 * orders are due a read, so the feed and the reservation follow. null when all moved; Shopify's
 * userErrors otherwise.
 */
async function moveFulfillmentOrders(
  ctx: AppContext,
  transport: AdminTransport,
  orderId: number,
  plan: { locationGid: string; moves: readonly FulfillmentOrderMove[] },
): Promise<string | null> {
  const refused: string[] = [];
  try {
    for (const m of plan.moves) {
      const { userErrors: errors } = await moveFulfillmentOrder(
        transport,
        m.fulfillmentOrderGid,
        plan.locationGid,
        m.lines,
      );
      if (errors.length > 0)
        refused.push(`${m.fulfillmentOrderGid}: ${errors.map((e) => e.message).join(", ")}`);
      else
        ctx.logger.info(
          { order: orderId, fulfillmentOrder: m.fulfillmentOrderGid, to: plan.locationGid },
          "moved units of a shipment to the location it left from",
        );
    }
  } finally {
    await markFulfillmentOrdersDue(ctx.database.db, [orderId], ctx.clock.now());
  }
  return refused.length > 0 ? refused.join("; ") : null;
}

/** The shipment's packages as Shopify's trackingInfo (undefined without packages). */
async function shipmentTracking(db: AppContext["database"]["db"], shipmentId: number) {
  const packages = await db
    .selectFrom("shipment_packages")
    .selectAll()
    .where("shipment_id", "=", shipmentId)
    .orderBy("id")
    .execute();
  return trackingInput(
    packages.map((p) => ({
      carrier: p.carrier,
      trackingNumber: p.tracking_number,
      trackingUrl: p.tracking_url,
    })),
  );
}

/** Records fulfillments an earlier, timed-out attempt created; returns the quantities they cover. */
async function adoptLostFulfillments(
  ctx: AppContext,
  transport: AdminTransport,
  s: { id: number; store_id: number; shopify_order_gid: string },
  lines: readonly { shopify_line_gid: string; quantity: number }[],
  fulfilled: ReadonlyMap<string, number>,
): Promise<Map<string, number>> {
  const db = ctx.database.db;
  const numbers = (
    await db
      .selectFrom("shipment_packages")
      .select("tracking_number")
      .where("shipment_id", "=", s.id)
      .execute()
  )
    .map((p) => p.tracking_number)
    .filter((n): n is string => n !== null);
  if (numbers.length === 0) return new Map();
  const { data } = await transport.graphql<{
    order: {
      fulfillments: {
        id: string;
        createdAt: string;
        location: { id: string } | null;
        trackingInfo: { number: string | null }[];
        fulfillmentLineItems: { nodes: { quantity: number; lineItem: { id: string } }[] };
      }[];
    } | null;
  }>(ORDER_FULFILLMENTS_QUERY, { id: s.shopify_order_gid }, { estimatedCost: 350 });
  const known = new Set(
    (
      await db
        .selectFrom("shipment_fulfillments")
        .select("fulfillment_gid")
        .where("fulfillment_gid", "is not", null)
        .execute()
    ).map((r) => r.fulfillment_gid!),
  );
  const adopted = adoptableFulfillments(
    lines.map((l) => ({
      lineGid: l.shopify_line_gid,
      quantity: l.quantity - (fulfilled.get(l.shopify_line_gid) ?? 0),
    })),
    (data.order?.fulfillments ?? []).map((f) => ({
      gid: f.id,
      trackingNumbers: f.trackingInfo.map((t) => t.number).filter((n): n is string => n !== null),
      lines: f.fulfillmentLineItems.nodes.map((n) => ({ lineGid: n.lineItem.id, quantity: n.quantity })),
    })),
    known,
    numbers,
  );
  const covered = new Map<string, number>();
  const byGid = new Map((data.order?.fulfillments ?? []).map((f) => [f.id, f]));
  for (const f of adopted) {
    const found = byGid.get(f.gid);
    await recordFulfillment(
      ctx,
      s.store_id,
      {
        gid: f.gid,
        orderGid: s.shopify_order_gid,
        locationGid: found?.location?.id ?? null,
        createdAt: found ? Date.parse(found.createdAt) : ctx.clock.now(),
        cancelled: false,
        lines: f.lines,
      },
      { shipmentId: s.id, fulfillmentOrderGid: "(adopted)", lines: f.lines },
      transport.fence,
    );
    for (const l of f.lines) covered.set(l.lineGid, (covered.get(l.lineGid) ?? 0) + l.quantity);
    ctx.logger.info(
      { shipment: s.id, fulfillment: f.gid },
      "adopted a fulfillment an earlier attempt created",
    );
  }
  return covered;
}

/** null when created; the userErrors' text when Shopify refused. Throws on transport failures. */
async function createFulfillment(
  ctx: AppContext,
  transport: AdminTransport,
  shipmentId: number,
  target: { storeId: number; orderGid: string; locationGid: string | null },
  g: FulfillmentGroup,
  tracking: ReturnType<typeof trackingInput>,
  notifyCustomer: boolean,
): Promise<string | null> {
  const fulfillment: Record<string, unknown> = {
    lineItemsByFulfillmentOrder: [
      {
        fulfillmentOrderId: g.fulfillmentOrderGid,
        fulfillmentOrderLineItems: g.lines.map((l) => ({ id: l.foLineGid, quantity: l.quantity })),
      },
    ],
    notifyCustomer,
  };
  if (tracking) fulfillment.trackingInfo = tracking;
  const { data } = await transport.graphql<{
    fulfillmentCreate: { fulfillment: { id: string } | null; userErrors: UserError[] } | null;
  }>(FULFILLMENT_CREATE_MUTATION, { fulfillment }, { estimatedCost: 10 });
  const r = data.fulfillmentCreate;
  const shipped = g.lines.map((l) => ({ lineGid: l.lineGid, quantity: l.quantity }));
  const lines = JSON.stringify(shipped);
  const now = ctx.clock.now();
  if (r?.fulfillment && r.userErrors.length === 0) {
    // Recorded with its shipment in one transaction: its units are no longer in transit.
    await recordFulfillment(
      ctx,
      target.storeId,
      {
        gid: r.fulfillment.id,
        orderGid: target.orderGid,
        locationGid: target.locationGid,
        createdAt: now,
        cancelled: false,
        lines: shipped,
      },
      { shipmentId, fulfillmentOrderGid: g.fulfillmentOrderGid, lines: shipped },
      transport.fence,
    );
    return null;
  }
  const message = `${g.fulfillmentOrderGid}: ${(r?.userErrors ?? []).map((e) => e.message).join(", ") || "no fulfillment returned"}`;
  await ctx.database.db.transaction().execute(async (trx) => {
    await transport.fence?.(trx);
    await trx
      .insertInto("shipment_fulfillments")
      .values({
        shipment_id: shipmentId,
        fulfillment_order_gid: g.fulfillmentOrderGid,
        fulfillment_gid: null,
        lines,
        status: "failed",
        last_error: message.slice(0, 500),
        created_at: now,
      })
      .execute();
  });
  return message;
}

/** Sends the shipment's current packages to each of its fulfillments; true when all took them. */
async function updateTracking(ctx: AppContext, transport: AdminTransport, id: number): Promise<boolean> {
  const db = ctx.database.db;
  await db.updateTable("shipments").set({ tracking_pending: 0 }).where("id", "=", id).execute();
  const s = await db
    .selectFrom("shipments")
    .select(["notify_customer"])
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
  const tracking = (await shipmentTracking(db, id)) ?? { numbers: [] };
  const fulfillments = await db
    .selectFrom("shipment_fulfillments")
    .select(["fulfillment_gid"])
    .where("shipment_id", "=", id)
    .where("status", "=", "done")
    .execute();
  const refused: string[] = [];
  try {
    for (const f of fulfillments) {
      const { data } = await transport.graphql<{
        fulfillmentTrackingInfoUpdate: { userErrors: UserError[] } | null;
      }>(
        FULFILLMENT_TRACKING_UPDATE_MUTATION,
        {
          fulfillmentId: f.fulfillment_gid,
          trackingInfoInput: tracking,
          notifyCustomer: s.notify_customer === 1,
        },
        { estimatedCost: 10 },
      );
      const errs = data.fulfillmentTrackingInfoUpdate?.userErrors ?? [];
      if (errs.length > 0) refused.push(`${f.fulfillment_gid}: ${errs.map((e) => e.message).join(", ")}`);
    }
  } catch (err) {
    // Try again later with the same packages.
    await db.updateTable("shipments").set({ tracking_pending: 1 }).where("id", "=", id).execute();
    throw err;
  }
  if (refused.length > 0) {
    await db
      .updateTable("shipments")
      .set({
        reason: `tracking update refused: ${refused.join("; ")}`.slice(0, 1000),
        updated_at: ctx.clock.now(),
      })
      .where("id", "=", id)
      .execute();
    return false;
  }
  return true;
}
