/**
 * The back office's shipments and the refunds it can read; per-store fulfillment settings.
 */
import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { route } from "../core/route.ts";
import { recordSettingChange } from "../shops/setting-changes.ts";
import type { TransportFor } from "./deliver.ts";
import { refundsOfOrder } from "./refunds.ts";
import {
  fulfillmentSettingsInput,
  loadFulfillmentSettings,
  publicFulfillmentSettings,
  saveFulfillmentSettings,
} from "./settings.ts";
import { packagesPatch, shipmentInput } from "./shipment-plan.ts";
import {
  createShipment,
  replacePackages,
  resolveOrderId,
  shipmentsOfOrder,
  shipmentView,
} from "./shipments-store.ts";

const shipmentParams = z.object({ id: z.string().min(1).max(120) });
const orderParams = z.object({ id: z.string().min(1).max(200) });
const domainParams = z.object({ domain: z.string().min(1) });

export function fulfillmentRoutes(ctx: AppContext, _deps: { transportFor?: TransportFor } = {}) {
  const db = ctx.database.db;
  const storeByDomain = async (domain: string) => {
    const s = await db
      .selectFrom("stores")
      .select("id")
      .where("domain", "=", domain.toLowerCase())
      .executeTakeFirst();
    if (!s) throw new AppError("UNKNOWN_STORE", `no store ${domain} is connected to the hub`);
    return s.id;
  };
  return [
    route({
      method: "POST",
      url: "/api/v1/shipments",
      tag: "fulfillment",
      auth: "orders.write",
      summary:
        "Record a shipment (the back office's id is the idempotency key): 201 when new, 200 with `duplicate: true` for a re-send with the same content, 409 for the same id with different content. Every invalid line is listed and nothing changes. The stock reserved for the shipped lines becomes a sale; Shopify gets a fulfillment with tracking shortly after.",
      body: shipmentInput,
      successStatus: 201,
      async handler({ body, reply }) {
        const r = await createShipment(ctx, body);
        const out = { duplicate: r.duplicate, shipment: r.shipment };
        if (r.duplicate) return reply.code(200).send(out);
        return out;
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/shipments/:id",
      tag: "fulfillment",
      auth: "orders.read",
      summary:
        "A shipment: status (pending, applied, partially_applied, parked, rejected, failed), reason, fulfillments.",
      params: shipmentParams,
      async handler({ params }) {
        const s = await shipmentView(db, params.id);
        if (!s) throw new AppError("NOT_FOUND", `no shipment ${params.id}`);
        return s;
      },
    }),
    route({
      method: "PATCH",
      url: "/api/v1/shipments/:id",
      tag: "fulfillment",
      auth: "orders.write",
      summary:
        "Replace a shipment's packages (tracking added later); Shopify's fulfillments get the new tracking.",
      params: shipmentParams,
      body: packagesPatch,
      handler: ({ params, body }) => replacePackages(ctx, params.id, body.packages),
    }),
    route({
      method: "GET",
      url: "/api/v1/orders/:id/shipments",
      tag: "fulfillment",
      auth: "orders.read",
      summary: "The shipments recorded for an order (hub id, Shopify gid or name).",
      params: orderParams,
      async handler({ params }) {
        return { items: await shipmentsOfOrder(db, await resolveOrderId(db, params.id)) };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/orders/:id/refunds",
      tag: "fulfillment",
      auth: "orders.read",
      summary: "The refunds recorded for an order, with what was restocked where.",
      params: orderParams,
      async handler({ params }) {
        return { items: await refundsOfOrder(ctx, await resolveOrderId(db, params.id)) };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/fulfillment-settings",
      tag: "fulfillment",
      auth: "store.read",
      summary: "Notify-customer default and restock rule of a store.",
      params: domainParams,
      async handler({ params }) {
        return publicFulfillmentSettings(
          db,
          await loadFulfillmentSettings(db, await storeByDomain(params.domain)),
        );
      },
    }),
    route({
      method: "PUT",
      url: "/api/v1/stores/:domain/fulfillment-settings",
      tag: "fulfillment",
      auth: "store.operate",
      summary:
        "Set the notify-customer default and the restock rule: none (default), order_warehouse, returns_warehouse (with returnsWarehouse).",
      params: domainParams,
      body: fulfillmentSettingsInput,
      async handler({ params, body, principal }) {
        const storeId = await storeByDomain(params.domain);
        const before = await publicFulfillmentSettings(db, await loadFulfillmentSettings(db, storeId));
        await saveFulfillmentSettings(ctx, storeId, body);
        const after = await publicFulfillmentSettings(db, await loadFulfillmentSettings(db, storeId));
        await recordSettingChange(
          db,
          {
            principal,
            storeId,
            action: "fulfillment_settings.update",
            label: "Fulfillment settings",
            flow: "fulfillment_push",
            target: params.domain,
            before,
            after,
          },
          ctx.clock.now(),
        );
        return after;
      },
    }),
  ];
}
