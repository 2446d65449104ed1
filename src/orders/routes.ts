/**
 * The back office's side of orders, and the operator's: the feed (`after` cursor in feed order;
 * an order re-appears after each change), detail, acknowledgement, per-store settings, orders
 * that could not be imported, outbound dead letters and compliance records.
 */
import { z } from "zod";
import { allows } from "../auth/permissions.ts";
import type { AppContext } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { route } from "../core/route.ts";
import { recordSettingChange } from "../shops/setting-changes.ts";
import { orderDocument, orderDocumentSchema, orderFeedPage } from "./feed-document.ts";
import { orderView, orderViews } from "./feed-view.ts";
import { reprocessParked } from "./intake.ts";
import { loadMappings, orderMappingsInput, orderMappingsSchema, saveMappings } from "./mapping.ts";
import { listDeadEvents, outboundUrlProblem, replayEvent } from "./outbound.ts";
import { loadSettings, orderSettingsSchema, publicSettings, saveSettings } from "./settings.ts";

const feedQuery = z.object({
  after: z.string().regex(/^\d+$/, "after is a cursor from a previous page (nextCursor)").optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const idParams = z.object({ id: z.coerce.number().int().positive() });
const domainParams = z.object({ domain: z.string().min(1) });
const problemsQuery = z.object({
  store: z.string().optional(),
  status: z.enum(["parked", "waiting", "skipped", "cancelled"]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const outboundEventSchema = z.object({
  id: z.number().int(),
  eventId: z.string(),
  type: z.string(),
  status: z.enum(["pending", "delivered", "dead"]),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  body: z.object({
    id: z.string(),
    type: z
      .string()
      .meta({ description: "order.created, order.updated, order.cancelled, order.refunded, order.returned" }),
    createdAt: z.number(),
    version: z.literal(2),
    order: orderDocumentSchema.nullable(),
    change: z
      .literal("transactions")
      .optional()
      .meta({ description: "Set when the event is a payment recorded later (the order's new transactions)" }),
    transactionIds: z.array(z.string()).optional(),
    refund: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "order.refunded: the refund recorded" }),
    return: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "order.returned: the return recorded" }),
  }),
});

async function storeByDomain(ctx: AppContext, domain: string) {
  const s = await ctx.database.db
    .selectFrom("stores")
    .select(["id", "domain"])
    .where("domain", "=", domain.toLowerCase())
    .executeTakeFirst();
  if (!s) throw new AppError("UNKNOWN_STORE", `no store ${domain} is connected to the hub`);
  return s;
}

export function orderRoutes(ctx: AppContext) {
  const db = ctx.database.db;
  return [
    route({
      method: "GET",
      url: "/api/v1/orders",
      tag: "orders",
      auth: "orders.read",
      summary:
        "Imported orders in feed order. Pass `after=nextCursor` to resume; an order that changes gets a new place at the end, so updates re-appear.",
      query: feedQuery,
      response: orderFeedPage,
      async handler({ query }) {
        const rows = await db
          .selectFrom("orders")
          .select(["id", "feed_seq"])
          .where("feed_seq", "is not", null)
          .where("feed_seq", ">", Number(query.after ?? 0))
          .orderBy("feed_seq")
          .limit(query.limit)
          .execute();
        const items = await orderViews(
          db,
          rows.map((r) => r.id),
        );
        const last = rows.at(-1);
        return { items, nextCursor: last ? String(last.feed_seq) : (query.after ?? null) };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/orders/:id",
      tag: "orders",
      auth: "orders.read",
      summary:
        "One order with its lines, customer, addresses and money (document version 2: taxes, discounts, shipping, duties, totals in shop and presentment currency, source, payments with the mapped codes, refunds).",
      params: idParams,
      response: orderDocument,
      async handler({ params }) {
        const v = await orderView(db, params.id);
        if (!v) throw new AppError("NOT_FOUND", `no order ${params.id}`);
        return v;
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/orders/:id/ack",
      tag: "orders",
      auth: "orders.write",
      summary: "Records that the back office took the order (in its current version).",
      params: idParams,
      async handler({ params }) {
        const o = await db
          .selectFrom("orders")
          .select(["feed_seq"])
          .where("id", "=", params.id)
          .executeTakeFirst();
        if (!o || o.feed_seq === null) throw new AppError("NOT_FOUND", `no imported order ${params.id}`);
        const now = ctx.clock.now();
        await db
          .updateTable("orders")
          .set({ acked_at: now, acked_seq: o.feed_seq })
          .where("id", "=", params.id)
          .execute();
        return { id: params.id, ackedAt: now, feedSeq: o.feed_seq };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/order-problems",
      tag: "orders",
      auth: "orders.read",
      summary:
        "Orders not imported (parked: unknown SKU or unmapped location; waiting: on hold; skipped: filtered out; cancelled: cancelled in Shopify before the hub imported it) with the reason.",
      query: problemsQuery,
      async handler({ query }) {
        let q = db
          .selectFrom("orders as o")
          .innerJoin("stores as s", "s.id", "o.store_id")
          .select([
            "o.id",
            "s.domain",
            "o.shopify_order_gid",
            "o.name",
            "o.status",
            "o.park_reason",
            "o.updated_at",
          ])
          .where((eb) =>
            query.status === "cancelled"
              ? eb.and([eb("o.status", "=", "cancelled"), eb("o.park_reason", "is not", null)])
              : query.status
                ? eb("o.status", "=", query.status)
                : eb.or([
                    eb("o.status", "in", ["parked", "waiting", "skipped"]),
                    // Cancelled before the hub imported it: the reason says so.
                    eb.and([eb("o.status", "=", "cancelled"), eb("o.park_reason", "is not", null)]),
                  ]),
          );
        if (query.store) q = q.where("s.domain", "=", query.store.toLowerCase());
        const rows = await q.orderBy("o.id").limit(query.limit).execute();
        return {
          items: rows.map((r) => ({
            id: r.id,
            store: r.domain,
            shopifyOrderId: r.shopify_order_gid,
            name: r.name,
            status: r.status,
            reason: r.park_reason,
            updatedAt: r.updated_at,
          })),
        };
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/orders/reprocess",
      tag: "orders",
      auth: "store.operate",
      summary: "Re-applies the store's parked orders (after linking SKUs or mapping locations).",
      params: domainParams,
      async handler({ params }) {
        const s = await storeByDomain(ctx, params.domain);
        return { outcomes: await reprocessParked(ctx, s.id) };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/order-settings",
      tag: "orders",
      auth: "store.read",
      summary: "The store's order import settings (the outbound secret is never shown).",
      params: domainParams,
      async handler({ params }) {
        const s = await storeByDomain(ctx, params.domain);
        return publicSettings(await loadSettings(db, s.id));
      },
    }),
    route({
      method: "PUT",
      url: "/api/v1/stores/:domain/order-settings",
      tag: "orders",
      auth: "store.operate",
      summary:
        "Replaces the store's order settings; fields left out take their defaults, except `outboundSecret`, which is kept when omitted.",
      params: domainParams,
      body: orderSettingsSchema.partial(),
      async handler({ params, body, principal, request }) {
        const s = await storeByDomain(ctx, params.domain);
        const current = await loadSettings(db, s.id);
        // zod fills defaults into the partial body, so "left out" is read from the raw body.
        const sentSecret = Object.hasOwn(request.body as object, "outboundSecret");
        const next = orderSettingsSchema.parse({
          ...body,
          outboundSecret: sentSecret ? body.outboundSecret : current.outboundSecret,
        });
        const outboundChanged =
          next.outboundUrl !== current.outboundUrl || next.outboundSecret !== current.outboundSecret;
        if (outboundChanged && !allows(principal?.scopes ?? [], "admin"))
          throw new AppError(
            "FORBIDDEN",
            "only an admin may change where order notifications (with customers' data) are sent: outboundUrl and outboundSecret",
            [
              {
                path: "outboundUrl",
                code: "ADMIN_ONLY",
                message: "ask an admin to change the outbound address",
              },
            ],
          );
        const urlProblem =
          next.outboundUrl !== null && next.outboundUrl !== current.outboundUrl
            ? outboundUrlProblem(next.outboundUrl, ctx.config.outbound)
            : null;
        if (urlProblem)
          throw new AppError("OUTBOUND_URL_REFUSED", urlProblem, [
            { path: "outboundUrl", code: "OUTBOUND_URL_REFUSED", message: urlProblem },
          ]);
        if (next.outboundUrl !== null && next.outboundSecret === null)
          throw new AppError(
            "INVALID_REQUEST",
            "an outboundUrl needs an outboundSecret (at least 16 characters)",
          );
        if (next.defaultCustomerId !== null) {
          const c = await db
            .selectFrom("customers")
            .select("id")
            .where("id", "=", next.defaultCustomerId)
            .executeTakeFirst();
          if (!c)
            throw new AppError(
              "INVALID_REQUEST",
              `no customer ${next.defaultCustomerId} for defaultCustomerId`,
            );
        }
        const now = ctx.clock.now();
        await saveSettings(db, s.id, next, now, ctx.secretKey);
        await recordSettingChange(
          db,
          {
            principal,
            storeId: s.id,
            action: "order_settings.update",
            label: "Order settings",
            flow: "order_intake",
            before: publicSettings(current),
            after: publicSettings(next),
          },
          now,
        );
        return publicSettings(next);
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/order-mappings",
      tag: "orders",
      auth: "store.read",
      summary:
        "The store's mapping of payment gateways, shipping lines, tax lines, sources and POS locations to back-office codes (null: not mapped).",
      params: domainParams,
      response: orderMappingsSchema,
      async handler({ params }) {
        const s = await storeByDomain(ctx, params.domain);
        return loadMappings(db, s.id);
      },
    }),
    route({
      method: "PUT",
      url: "/api/v1/stores/:domain/order-mappings",
      tag: "orders",
      auth: "store.operate",
      summary:
        "Replaces the store's mappings (categories left out are not mapped). Once a category is set, an order carrying a value it does not map is parked with a reason naming the value; saving a mapping re-applies the store's parked orders, so adding the missing value releases them.",
      params: domainParams,
      body: orderMappingsInput,
      async handler({ params, body, principal }) {
        const s = await storeByDomain(ctx, params.domain);
        const next = orderMappingsSchema.parse(body);
        const now = ctx.clock.now();
        // The mapping and its audit entry are saved together or not at all.
        await db.transaction().execute(async (trx) => {
          const before = await loadMappings(trx, s.id);
          await saveMappings(trx, s.id, next, now);
          await recordSettingChange(
            trx,
            {
              principal,
              storeId: s.id,
              action: "order_mappings.update",
              label: "Order mappings",
              flow: "order_intake",
              before,
              after: next,
            },
            now,
          );
        });
        return { mappings: next, reprocessed: await reprocessParked(ctx, s.id) };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/outbound/events/:id",
      tag: "orders",
      auth: "orders.read",
      summary:
        "One outbound webhook as it was (or will be) sent: headers X-Tillbridge-Event, X-Tillbridge-Event-Id and X-Tillbridge-Signature; body { id, type, createdAt, version, order (the order document), … }.",
      params: idParams,
      response: outboundEventSchema,
      async handler({ params }) {
        const e = await db
          .selectFrom("outbound_events")
          .select(["id", "event_id", "type", "status", "attempts", "last_error", "payload"])
          .where("id", "=", params.id)
          .executeTakeFirst();
        if (!e) throw new AppError("NOT_FOUND", `no outbound event ${params.id}`);
        return {
          id: e.id,
          eventId: e.event_id,
          type: e.type,
          status: e.status,
          attempts: e.attempts,
          lastError: e.last_error,
          body: JSON.parse(e.payload),
        };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/outbound/dead",
      tag: "orders",
      auth: "store.read",
      summary: "Outbound webhooks that ran out of attempts, with their last error.",
      handler: async () => ({ items: await listDeadEvents(ctx) }),
    }),
    route({
      method: "POST",
      url: "/api/v1/outbound/:id/replay",
      tag: "orders",
      auth: "store.operate",
      summary: "Puts a dead outbound webhook back in the queue.",
      params: idParams,
      async handler({ params }) {
        if (!(await replayEvent(ctx, params.id)))
          throw new AppError("NOT_FOUND", `no dead outbound event ${params.id}`);
        return { id: params.id, status: "pending" };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/compliance/requests",
      tag: "orders",
      auth: "admin",
      summary:
        "Records of Shopify's compliance webhooks: the customer data to hand over (data_request) and what was erased.",
      async handler() {
        const rows = await db
          .selectFrom("compliance_requests")
          .selectAll()
          .orderBy("id", "desc")
          .limit(200)
          .execute();
        return {
          items: rows.map((r) => ({
            id: r.id,
            shop: r.shop,
            topic: r.topic,
            data: JSON.parse(r.data),
            createdAt: r.created_at,
          })),
        };
      },
    }),
  ];
}
