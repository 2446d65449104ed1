/**
 * The operator's list of shipments: newest first, by store and status, each with its order,
 * lines, tracking, what Shopify shows fulfilled and any error. Keyset-paged on the shipment id.
 */
import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import { decodeCursor, pageOf, pageQuery } from "../core/cursor.ts";
import { AppError } from "../core/errors.ts";
import { line } from "../core/input.ts";
import { route } from "../core/route.ts";
import type { Db } from "../db/database.ts";

const SHIPMENT_STATUSES = [
  "pending",
  "applied",
  "partially_applied",
  "parked",
  "rejected",
  "failed",
] as const;

const listQuery = z.object({
  store: line(255).optional(),
  status: z.enum(SHIPMENT_STATUSES).optional(),
  ...pageQuery,
});
export type ShipmentListQuery = z.infer<typeof listQuery>;

export const shipmentItemSchema = z.object({
  id: z.string().meta({ description: "The back office's shipment id" }),
  store: z.string(),
  order: z.object({ id: z.number().int(), name: z.string() }),
  warehouse: z.string(),
  status: z.enum(SHIPMENT_STATUSES).meta({ description: "The hub's status of the shipment" }),
  shopifyState: z
    .enum(["not_fulfilled", "partially_fulfilled", "fulfilled"])
    .meta({ description: "What Shopify shows fulfilled of the shipment's units" }),
  unitsShipped: z.number().int(),
  unitsFulfilledInShopify: z.number().int(),
  lines: z.array(
    z.object({
      lineId: z.string(),
      sku: z.string().nullable(),
      quantity: z.number().int(),
      fulfilledInShopify: z.number().int(),
    }),
  ),
  tracking: z.array(
    z.object({
      carrier: z.string().nullable(),
      number: z.string().nullable(),
      url: z.string().nullable(),
    }),
  ),
  trackingPending: z.boolean(),
  fulfillments: z.array(
    z.object({
      fulfillmentId: z.string().nullable(),
      fulfillmentOrderId: z.string(),
      status: z.enum(["done", "failed"]),
      error: z.string().nullable(),
    }),
  ),
  error: z
    .string()
    .nullable()
    .meta({ description: "Why it is parked, rejected or failed, or a failed fulfillment's error" }),
  attempts: z.number().int(),
  createdAt: z.number(),
  updatedAt: z.number(),
});

export function shipmentListQuery(db: Db, query: ShipmentListQuery, storeId: number | undefined) {
  let q = db
    .selectFrom("shipments as s")
    .innerJoin("orders as o", "o.id", "s.order_id")
    .innerJoin("stores as st", "st.id", "s.store_id")
    .innerJoin("warehouses as w", "w.id", "s.warehouse_id")
    .select([
      "s.id",
      "s.external_id",
      "st.domain",
      "s.order_id",
      "o.name",
      "w.code",
      "s.status",
      "s.reason",
      "s.attempts",
      "s.tracking_pending",
      "s.created_at",
      "s.updated_at",
    ])
    .orderBy("s.id", "desc")
    .limit(query.limit + 1);
  if (storeId !== undefined) q = q.where("s.store_id", "=", storeId);
  if (query.status) q = q.where("s.status", "=", query.status);
  if (query.cursor) {
    const [id] = decodeCursor(query.cursor, ["number"]) as [number];
    q = q.where("s.id", "<", id);
  }
  return q;
}

export async function listShipments(db: Db, query: ShipmentListQuery) {
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
  const rows = await shipmentListQuery(db, query, storeId).execute();
  const page = pageOf(rows, query.limit, (r) => [Number(r.id)]);
  const ids = page.rows.map((r) => Number(r.id));
  const none = ids.length === 0;
  const lines = none
    ? []
    : await db
        .selectFrom("shipment_lines")
        .select(["shipment_id", "shopify_line_gid", "sku", "quantity", "fulfilled_quantity"])
        .where("shipment_id", "in", ids)
        .orderBy("id")
        .execute();
  const packages = none
    ? []
    : await db
        .selectFrom("shipment_packages")
        .select(["shipment_id", "carrier", "tracking_number", "tracking_url"])
        .where("shipment_id", "in", ids)
        .orderBy("id")
        .execute();
  const fulfillments = none
    ? []
    : await db
        .selectFrom("shipment_fulfillments")
        .select(["shipment_id", "fulfillment_gid", "fulfillment_order_gid", "status", "last_error"])
        .where("shipment_id", "in", ids)
        .orderBy("id")
        .execute();
  const of = <T extends { shipment_id: number }>(list: T[], id: number) =>
    list.filter((x) => Number(x.shipment_id) === id);
  return {
    items: page.rows.map((r) => {
      const id = Number(r.id);
      const ls = of(lines, id);
      const fs = of(fulfillments, id);
      const shipped = ls.reduce((n, l) => n + Number(l.quantity), 0);
      const fulfilled = ls.reduce(
        (n, l) => n + Math.min(Number(l.fulfilled_quantity), Number(l.quantity)),
        0,
      );
      const failed = fs.filter((f) => f.status === "failed").at(-1);
      return {
        id: r.external_id,
        store: r.domain,
        order: { id: Number(r.order_id), name: r.name },
        warehouse: r.code,
        status: r.status,
        shopifyState:
          fulfilled === 0
            ? ("not_fulfilled" as const)
            : fulfilled < shipped
              ? ("partially_fulfilled" as const)
              : ("fulfilled" as const),
        unitsShipped: shipped,
        unitsFulfilledInShopify: fulfilled,
        lines: ls.map((l) => ({
          lineId: l.shopify_line_gid,
          sku: l.sku,
          quantity: Number(l.quantity),
          fulfilledInShopify: Number(l.fulfilled_quantity),
        })),
        tracking: of(packages, id).map((p) => ({
          carrier: p.carrier,
          number: p.tracking_number,
          url: p.tracking_url,
        })),
        trackingPending: Number(r.tracking_pending) === 1,
        fulfillments: fs.map((f) => ({
          fulfillmentId: f.fulfillment_gid,
          fulfillmentOrderId: f.fulfillment_order_gid,
          status: f.status,
          error: f.last_error,
        })),
        error: r.reason ?? failed?.last_error ?? null,
        attempts: Number(r.attempts),
        createdAt: Number(r.created_at),
        updatedAt: Number(r.updated_at),
      };
    }),
    nextCursor: page.nextCursor,
  };
}

export function shipmentConsoleRoutes(ctx: AppContext) {
  return [
    route({
      method: "GET",
      url: "/api/v1/shipments",
      tag: "fulfillment",
      auth: "orders.read",
      summary:
        "Shipments newest first, by store and status, with their order, lines, tracking, what Shopify shows fulfilled and any error; page with `cursor=nextCursor`.",
      query: listQuery,
      response: z.object({ items: z.array(shipmentItemSchema), nextCursor: z.string().nullable() }),
      handler: ({ query }) => listShipments(ctx.database.db, query),
    }),
  ];
}
