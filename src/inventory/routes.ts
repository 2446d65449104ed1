import { z } from "zod";
import { recordAudit } from "../auth/audit.ts";
import { actorLabel } from "../auth/principal.ts";
import { logActivity } from "../core/activity.ts";
import { type AppContext, stockChanged } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { route } from "../core/route.ts";
import { ingestMovements } from "./ledger-store.ts";
import { MAX_MOVEMENTS_PER_BATCH, movementBatchInput } from "./movements.ts";
import { listStock, safetyStockBatchInput, setSafetyStock, stockQuery } from "./stock-store.ts";
import { listWarehouses, upsertWarehouses, warehouseBatchInput } from "./warehouses-store.ts";

const stockRow = z.object({
  sku: z.string(),
  warehouse: z.string(),
  onHand: z.number().int(),
  reserved: z.number().int(),
  safetyStock: z.number().int(),
  sellable: z.number().int(),
});

export function inventoryRoutes(ctx: AppContext) {
  return [
    route({
      method: "POST",
      url: "/api/v1/movements",
      tag: "inventory",
      auth: "stock.write",
      summary: `Record up to ${MAX_MOVEMENTS_PER_BATCH} stock movements atomically. Ids seen before are reported as duplicates and not applied again; if any item is invalid nothing is applied and every bad item is listed.`,
      body: movementBatchInput,
      bodyValidation: "handler",
      response: z.object({
        applied: z.number().int(),
        duplicates: z.array(
          z.object({ index: z.number().int(), id: z.string(), status: z.literal("duplicate") }),
        ),
      }),
      async handler({ body }) {
        const b = body as unknown;
        if (typeof b !== "object" || b === null || !Array.isArray((b as { movements?: unknown }).movements)) {
          throw new AppError("INVALID_REQUEST", "the body must be an object with a `movements` array", [
            { path: "movements", code: "MISSING_FIELD", message: "movements must be an array of movements" },
          ]);
        }
        try {
          const result = await ingestMovements(
            ctx.database,
            (b as { movements: unknown[] }).movements,
            ctx.clock.now(),
            stockChanged(ctx),
          );
          ctx.metrics.movementsRecorded.inc(result.applied);
          ctx.metrics.movementsDuplicate.inc(result.duplicates.length);
          return {
            applied: result.applied,
            duplicates: result.duplicates.map((d) => ({ ...d, status: "duplicate" as const })),
          };
        } catch (err) {
          if (err instanceof AppError) ctx.metrics.movementBatchesRejected.inc();
          throw err;
        }
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stock",
      tag: "inventory",
      auth: "stock.read",
      summary: "Stock per SKU and warehouse: on hand, reserved, safety stock and sellable. Paged by cursor.",
      query: stockQuery,
      response: z.object({ items: z.array(stockRow), nextCursor: z.string().nullable() }),
      handler: ({ query }) => listStock(ctx.database, query),
    }),
    route({
      method: "PUT",
      url: "/api/v1/warehouses",
      tag: "inventory",
      auth: "stock.write",
      summary: "Create or rename warehouses by code.",
      body: warehouseBatchInput,
      response: z.object({ created: z.number().int(), updated: z.number().int() }),
      handler: ({ body }) => upsertWarehouses(ctx.database, body.warehouses, ctx.clock.now()),
    }),
    route({
      method: "GET",
      url: "/api/v1/warehouses",
      tag: "inventory",
      auth: "stock.read",
      summary: "List warehouses.",
      response: z.object({ items: z.array(z.object({ code: z.string(), name: z.string() })) }),
      handler: async () => ({
        items: (await listWarehouses(ctx.database)).map(({ code, name }) => ({ code, name })),
      }),
    }),
    route({
      method: "PUT",
      url: "/api/v1/safety-stock",
      tag: "inventory",
      auth: "stock.write",
      summary: "Set safety stock per SKU and warehouse (held back from what Shopify may sell).",
      body: safetyStockBatchInput,
      response: z.object({ updated: z.number().int() }),
      async handler({ body, principal }) {
        const db = ctx.database.db;
        const key = (sku: string, warehouse: string) => `${sku}@${warehouse}`;
        const skus = [...new Set(body.items.map((i) => i.sku))];
        const current = new Map(
          (
            await db
              .selectFrom("stock_levels as s")
              .innerJoin("variants as v", "v.id", "s.variant_id")
              .innerJoin("warehouses as w", "w.id", "s.warehouse_id")
              .select(["v.sku", "w.code", "s.safety_stock"])
              .where("v.sku", "in", skus)
              .execute()
          ).map((r) => [key(r.sku, r.code), Number(r.safety_stock)]),
        );
        const now = ctx.clock.now();
        const result = await setSafetyStock(ctx.database, body.items, now, stockChanged(ctx));
        // The audit trail keeps what changed (unchanged items are left out).
        const changed = body.items.filter(
          (i) => (current.get(key(i.sku, i.warehouse)) ?? 0) !== i.safetyStock,
        );
        if (changed.length > 0) {
          const before = Object.fromEntries(
            changed.map((i) => [key(i.sku, i.warehouse), current.get(key(i.sku, i.warehouse)) ?? 0]),
          );
          const after = Object.fromEntries(changed.map((i) => [key(i.sku, i.warehouse), i.safetyStock]));
          await recordAudit(
            db,
            { principal, storeId: null, action: "safety_stock.update", before, after },
            now,
          );
          await logActivity(
            db,
            {
              storeId: null,
              flow: "settings",
              kind: "setting_changed",
              message: `Safety stock changed by ${actorLabel(principal)} for ${changed.length} SKU-warehouse pair(s)`,
              data: { action: "safety_stock.update", changed: Object.keys(after).slice(0, 100) },
            },
            now,
          );
        }
        return result;
      },
    }),
  ];
}
