/**
 * The back office's order operations: store pickup (ready, collected), ship-from-store (move),
 * cancellations (order or lines), closing, and return receipts; plus what it reads of them.
 * Changes in Shopify run as order actions (202 with the action; `GET /order-actions/:id`).
 */
import type { FastifyReply } from "fastify";
import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import { AppError, type ErrorDetail } from "../core/errors.ts";
import { quantity as boundedQuantity, key } from "../core/input.ts";
import { route } from "../core/route.ts";
import type { Db } from "../db/database.ts";
import { recordSettingChange } from "../shops/setting-changes.ts";
import { fulfillmentViews } from "./fulfillment-orders.ts";
import {
  type ActionInput,
  actionsOfOrder,
  actionView,
  cancelInput,
  cancelLinesInput,
  closeInput,
  enqueueAction,
  holdInput,
  locationOfWarehouse,
  moveInput,
  readyForPickupInput,
  releaseHoldInput,
  substituteInput,
} from "./order-actions.ts";
import {
  loadOrderOperationSettings,
  orderOperationSettingsInput,
  saveOrderOperationSettings,
} from "./order-ops-settings.ts";
import { receiptInput, recordReceipt, returnViews } from "./returns.ts";
import { unshipped } from "./shipment-plan.ts";
import { createShipment, resolveOrderId, shippedByLine } from "./shipments-store.ts";

const orderParams = z.object({ id: z.string().min(1).max(200) });
const idParams = z.object({ id: z.string().min(1).max(200) });
const domainParams = z.object({ domain: z.string().min(1).max(255) });

async function storeByDomain(db: Db, domain: string): Promise<number> {
  const s = await db
    .selectFrom("stores")
    .select("id")
    .where("domain", "=", domain.toLowerCase())
    .executeTakeFirst();
  if (!s) throw new AppError("UNKNOWN_STORE", `no store ${domain} is connected to the hub`);
  return s.id;
}

export const collectedInput = z
  .object({
    id: key(120).describe("The back office's id for the hand-over: the shipment's idempotency key."),
    lines: z
      .array(
        z
          .object({
            lineId: z.string().min(1).max(200).optional().describe("Shopify line item gid."),
            sku: key(255).optional(),
            quantity: boundedQuantity(),
          })
          .strict(),
      )
      .min(1)
      .max(250)
      .optional()
      .describe("What the customer took; default: everything still waiting at the pickup location."),
  })
  .strict();

const actionAnswer = z.object({ duplicate: z.boolean(), action: z.record(z.string(), z.unknown()) });

type ActionOrder = Awaited<ReturnType<typeof orderFor>>;

async function orderFor(db: Db, ref: string, what: string) {
  const id = await resolveOrderId(db, ref);
  const o = await db
    .selectFrom("orders")
    .select(["id", "store_id", "name", "imported_at", "cancelled_at", "status"])
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
  if (o.imported_at === null)
    throw new AppError(
      "INVALID_REQUEST",
      `order ${o.name} is not in the feed (status ${o.status}): it cannot be ${what}`,
      [{ path: "id", code: "ORDER_NOT_IMPORTED", message: `order ${o.name} was not imported` }],
    );
  return o;
}

const notCancelled = (o: { name: string; cancelled_at: number | null }, what: string) => {
  if (o.cancelled_at !== null)
    throw new AppError("CONFLICT", `order ${o.name} is cancelled: it cannot be ${what}`, [
      { path: "id", code: "ORDER_CANCELLED", message: `order ${o.name} is cancelled` },
    ]);
};

/** Units of each line still to ship or collect, as the hub knows (Shopify's fulfilled and the hub's own shipments). */
async function unshippedByLine(db: Db, orderId: number): Promise<Map<string, number>> {
  const shipped = await shippedByLine(db, orderId);
  const lines = await db
    .selectFrom("order_lines")
    .select(["id", "shopify_line_gid", "sku", "variant_id", "current_quantity", "fulfilled_quantity"])
    .where("order_id", "=", orderId)
    .orderBy("id")
    .execute();
  return new Map(
    lines
      .filter((l) => l.variant_id !== null)
      .map((l) => [
        l.shopify_line_gid,
        unshipped(
          {
            id: l.id,
            gid: l.shopify_line_gid,
            sku: l.sku,
            variantId: l.variant_id,
            currentQuantity: l.current_quantity,
            fulfilledQuantity: l.fulfilled_quantity,
          },
          shipped.get(l.shopify_line_gid) ?? 0,
        ),
      ]),
  );
}

export function orderOperationRoutes(ctx: AppContext) {
  const db = ctx.database.db;
  const enqueue = async (storeId: number, orderId: number, a: ActionInput, reply: FastifyReply) => {
    const r = await enqueueAction(db, storeId, orderId, a, ctx.clock.now());
    return r.duplicate ? reply.code(200).send(r) : r;
  };
  /**
   * An order action's route: POST on the order (one not imported is refused; `open`: a cancelled
   * one too), `act` checks the request against the order and says the action; 202 with it, 200
   * for a re-send.
   */
  const actionRoute = <B>(spec: {
    path: string;
    summary: string;
    body: z.ZodType<B>;
    /** What is done to the order, for the refusals ("moved"). */
    what: string;
    open: boolean;
    act(o: ActionOrder, body: B): ActionInput | Promise<ActionInput>;
  }) =>
    route<B, undefined, { id: string }>({
      method: "POST",
      url: `/api/v1/orders/:id/${spec.path}`,
      tag: "order operations",
      auth: "orders.write",
      summary: spec.summary,
      params: orderParams,
      body: spec.body,
      response: actionAnswer,
      successStatus: 202,
      async handler({ params, body, reply }) {
        const o = await orderFor(db, params.id, spec.what);
        if (spec.open) notCancelled(o, spec.what);
        return enqueue(o.store_id, o.id, await spec.act(o, body), reply);
      },
    });
  return [
    actionRoute({
      path: "pickup/ready",
      summary:
        "The order is ready for pickup: Shopify marks its pickup fulfillment orders prepared and tells the customer (fulfillmentOrderLineItemsPreparedForPickup). 202 with the action; 200 for a re-send.",
      body: readyForPickupInput,
      what: "prepared for pickup",
      open: true,
      async act(o, body) {
        const known = (await fulfillmentViews(db, [o.id])).get(o.id);
        if (known && known.deliveryMethod !== "pick_up")
          throw new AppError("INVALID_REQUEST", `order ${o.name} is not a pickup order`, [
            {
              path: "id",
              code: "NOT_PICKUP",
              message: `order ${o.name} is to be ${known.deliveryMethod ?? "shipped"}, not picked up`,
            },
          ]);
        return { kind: "ready_for_pickup", input: body };
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/orders/:id/pickup/collected",
      tag: "order operations",
      auth: "orders.write",
      summary:
        "The customer collected the order: a shipment from the pickup location's warehouse is recorded (the reservation becomes a sale) and Shopify gets the fulfillment. 201 with the shipment; 200 for a re-send.",
      params: orderParams,
      body: collectedInput,
      successStatus: 201,
      async handler({ params, body, reply }) {
        const o = await orderFor(db, params.id, "collected");
        const v = (await fulfillmentViews(db, [o.id])).get(o.id);
        if (v?.deliveryMethod !== "pick_up" || !v.pickupLocation?.warehouse)
          throw new AppError(
            "INVALID_REQUEST",
            `order ${o.name} is not a pickup order at a mapped location`,
            [
              {
                path: "id",
                code: "NOT_PICKUP",
                message: !v
                  ? `the hub has not read order ${o.name}'s fulfillment orders from Shopify yet; try again shortly`
                  : `order ${o.name} is not picked up at a location mapped to a warehouse`,
              },
            ],
          );
        let lines = body.lines;
        if (!lines) {
          const open = await unshippedByLine(db, o.id);
          lines = [...open].filter(([, n]) => n > 0).map(([lineId, quantity]) => ({ lineId, quantity }));
          if (lines.length === 0)
            throw new AppError("INVALID_REQUEST", `order ${o.name} has nothing left to collect`, [
              {
                path: "lines",
                code: "NOTHING_TO_SHIP",
                message: "every line was already shipped or collected",
              },
            ]);
        }
        const r = await createShipment(ctx, {
          id: body.id,
          orderId: o.id,
          warehouse: v.pickupLocation.warehouse,
          lines,
          packages: [],
          notifyCustomer: false,
        });
        const out = { duplicate: r.duplicate, shipment: r.shipment };
        return r.duplicate ? reply.code(200).send(out) : out;
      },
    }),
    actionRoute({
      path: "move",
      summary:
        "Ship from another store: Shopify moves the order's open fulfillment orders to a location mapped to `warehouse` (fulfillmentOrderMove) and the reservation follows to that warehouse. 202 with the action.",
      body: moveInput,
      what: "moved",
      open: true,
      async act(o, body) {
        // A shipment already on its way from the assigned store would be refused after the move.
        const waiting = await db
          .selectFrom("shipments")
          .select("external_id")
          .where("order_id", "=", o.id)
          .where("status", "in", ["pending", "parked"])
          .executeTakeFirst();
        if (waiting)
          throw new AppError(
            "CONFLICT",
            `order ${o.name} has shipment ${waiting.external_id} waiting to reach Shopify`,
            [
              {
                path: "id",
                code: "SHIPMENT_WAITING",
                message: `shipment ${waiting.external_id} was posted from the assigned store: let it reach Shopify (or reject it) before moving the order`,
              },
            ],
          );
        const locationGid = await locationOfWarehouse(db, o.store_id, body.warehouse);
        return { kind: "move", input: { ...body, locationGid } };
      },
    }),
    actionRoute({
      path: "cancel",
      summary:
        "Cancel the order in Shopify (orderCancel) with a reason, refund, restock and customer notification. Idempotent: an order already cancelled stays as it is. Its reservations are released when Shopify's cancellation arrives; with restock, units shipped through the hub that Shopify never fulfilled come back under the store's restock rule. 202 with the action.",
      body: cancelInput,
      what: "cancelled",
      open: false,
      act(_o, body) {
        return { kind: "cancel", input: body };
      },
    }),
    actionRoute({
      path: "cancel-lines",
      summary:
        "Cancel unfulfilled units of some lines (a pickup line out of stock, a customer's change) with a reason: Shopify refunds them with restock type CANCEL, which removes them from the order; the reservation follows. 202 with the action.",
      body: cancelLinesInput,
      what: "changed",
      open: true,
      async act(o, body) {
        const open = await unshippedByLine(db, o.id);
        const errors: ErrorDetail[] = [];
        const asked = new Map<string, number>();
        body.lines.forEach((l, i) => {
          const left = open.get(l.lineId);
          asked.set(l.lineId, (asked.get(l.lineId) ?? 0) + l.quantity);
          if (left === undefined)
            errors.push({
              path: `lines[${i}].lineId`,
              index: i,
              code: "UNKNOWN_LINE",
              message: `${l.lineId} is not a line of order ${o.name}`,
            });
          else if (asked.get(l.lineId)! > left)
            errors.push({
              path: `lines[${i}].quantity`,
              index: i,
              code: "QUANTITY_EXCEEDS_UNSHIPPED",
              message: `${asked.get(l.lineId)} to cancel but ${left} remain unshipped on ${l.lineId}`,
            });
        });
        if (errors.length > 0)
          throw new AppError(
            "INVALID_REQUEST",
            `${errors.length} line(s) cannot be cancelled; nothing was sent`,
            errors,
          );
        return { kind: "cancel_lines", input: body };
      },
    }),
    actionRoute({
      path: "substitute",
      summary:
        "Substitute units of a line that cannot be served (a pickup line out of stock) with another SKU, with a reason: one order edit in Shopify (the line down, the other variant added, committed with the reason as staff note); the reservation follows. 202 with the action.",
      body: substituteInput,
      what: "changed",
      open: true,
      async act(o, body) {
        const open = await unshippedByLine(db, o.id);
        const errors: ErrorDetail[] = [];
        const left = open.get(body.lineId);
        if (left === undefined)
          errors.push({
            path: "lineId",
            code: "UNKNOWN_LINE",
            message: `${body.lineId} is not a line of order ${o.name}`,
          });
        else if (body.quantity > left)
          errors.push({
            path: "quantity",
            code: "QUANTITY_EXCEEDS_UNSHIPPED",
            message: `${body.quantity} to substitute but ${left} remain unshipped on ${body.lineId}`,
          });
        const link = await db
          .selectFrom("variant_links as l")
          .innerJoin("variants as v", "v.id", "l.variant_id")
          .select("l.product_variant_gid")
          .where("l.store_id", "=", o.store_id)
          .where("v.sku", "=", body.sku)
          .executeTakeFirst();
        if (!link)
          errors.push({
            path: "sku",
            code: "UNLINKED_SKU",
            message: `SKU ${body.sku} is not linked to a Shopify variant of this store (link it first)`,
          });
        if (errors.length > 0 || !link)
          throw new AppError("INVALID_REQUEST", `the substitution cannot be made; nothing was sent`, errors);
        return { kind: "substitute", input: { ...body, variantGid: link.product_variant_gid } };
      },
    }),
    actionRoute({
      path: "hold",
      summary:
        "Hold the order: Shopify puts its open fulfillment orders on hold with the reason (fulfillmentOrderHold); the feed shows it held and the hub parks its shipments until released. 202 with the action.",
      body: holdInput,
      what: "held",
      open: true,
      act(_o, body) {
        return { kind: "hold", input: body };
      },
    }),
    actionRoute({
      path: "release-hold",
      summary:
        "Release the order's holds in Shopify (fulfillmentOrderReleaseHold): its fulfillment orders open again and parked shipments go on. 202 with the action.",
      body: releaseHoldInput,
      what: "released",
      open: true,
      async act(o, body) {
        const known = (await fulfillmentViews(db, [o.id])).get(o.id);
        if (known && !known.held)
          throw new AppError("CONFLICT", `order ${o.name} is not on hold`, [
            { path: "id", code: "NOT_HELD", message: `order ${o.name} has no hold to release` },
          ]);
        return { kind: "release_hold", input: body };
      },
    }),
    actionRoute({
      path: "close",
      summary: "Close (archive) the order in Shopify (orderClose). 202 with the action.",
      body: closeInput,
      what: "closed",
      open: false,
      act(_o, body) {
        return { kind: "close", input: body };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/order-actions/:id",
      tag: "order operations",
      auth: "orders.read",
      summary:
        "An order action: pending, done (with Shopify's result) or failed (with Shopify's refusal or the last error).",
      params: idParams,
      async handler({ params }) {
        const a = /^\d+$/.test(params.id) ? await actionView(db, Number(params.id)) : undefined;
        if (!a) throw new AppError("NOT_FOUND", `no order action ${params.id}`);
        return a;
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/orders/:id/actions",
      tag: "order operations",
      auth: "orders.read",
      summary: "The order actions sent for an order, oldest first.",
      params: orderParams,
      async handler({ params }) {
        return { items: await actionsOfOrder(db, await resolveOrderId(db, params.id)) };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/orders/:id/fulfillment-orders",
      tag: "order operations",
      auth: "orders.read",
      summary:
        "Shopify's fulfillment orders of the order as last read: pickup or shipping, location, holds, ready for pickup.",
      params: orderParams,
      async handler({ params }) {
        const id = await resolveOrderId(db, params.id);
        return (await fulfillmentViews(db, [id])).get(id) ?? null;
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/orders/:id/returns",
      tag: "order operations",
      auth: "orders.read",
      summary:
        "The order's returns with their lines, reasons, what was received and restocked, exchange lines and Shopify's dispositions.",
      params: orderParams,
      async handler({ params }) {
        const id = await resolveOrderId(db, params.id);
        return { items: (await returnViews(db, [id])).get(id) ?? [] };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/order-operation-settings",
      tag: "order operations",
      auth: "store.read",
      summary: "Whether orders fully fulfilled and paid are closed in Shopify (orderClose).",
      params: domainParams,
      async handler({ params }) {
        return loadOrderOperationSettings(db, await storeByDomain(db, params.domain));
      },
    }),
    route({
      method: "PUT",
      url: "/api/v1/stores/:domain/order-operation-settings",
      tag: "order operations",
      auth: "store.operate",
      summary:
        "Set whether orders fully fulfilled and paid are closed (archived) in Shopify: each gets one close action.",
      params: domainParams,
      body: orderOperationSettingsInput,
      async handler({ params, body, principal }) {
        const storeId = await storeByDomain(db, params.domain);
        const before = await loadOrderOperationSettings(db, storeId);
        await saveOrderOperationSettings(db, storeId, body, ctx.clock.now());
        await recordSettingChange(
          db,
          {
            principal,
            storeId,
            action: "order_operation_settings.update",
            label: "Order operations",
            flow: "order_intake",
            target: params.domain,
            before,
            after: body,
          },
          ctx.clock.now(),
        );
        return body;
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/returns/:id/receipts",
      tag: "order operations",
      auth: "orders.write",
      summary:
        "What came back of a return (hub return id or Shopify gid), per line and condition: restocked units become `return` movements at the named warehouse (once, never beyond what left through the ledger), damaged and missing ones change no stock; Shopify gets the dispositions (returnProcess). 201; 200 for a re-send; 409 for the same id with other content.",
      params: idParams,
      body: receiptInput,
      successStatus: 201,
      async handler({ params, body, reply }) {
        const r = await recordReceipt(ctx, params.id, body);
        return r.duplicate ? reply.code(200).send(r) : r;
      },
    }),
  ];
}
