/**
 * The operator's view of one SKU's stock: per warehouse on hand, reserved, safety stock and
 * sellable (docs/STOCK-MODEL.md), per store and managed location what the model says Shopify's
 * on_hand should be and what Shopify last confirmed; and the ledger's movements newest first.
 */
import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import { decodeCursor, pageOf, pageQuery } from "../core/cursor.ts";
import { AppError } from "../core/errors.ts";
import { normalizeKey, trimmedKey } from "../core/input.ts";
import { route } from "../core/route.ts";
import type { Db } from "../db/database.ts";
import { recordSettingChange } from "../shops/setting-changes.ts";
import { sellable } from "./ledger.ts";
import { loadTargets, markStoreDirtyFor } from "./push/push-store.ts";
import { loadStoreStockRules, saveStoreStockRules, storeStockRulesSchema } from "./store-safety.ts";

const skuParam = trimmedKey(255);
const domainParams = z.object({ domain: z.string().min(1).max(255) });

async function storeByDomain(db: Db, domain: string): Promise<{ id: number; domain: string }> {
  const s = await db
    .selectFrom("stores")
    .select(["id", "domain"])
    .where("domain", "=", domain.toLowerCase())
    .executeTakeFirst();
  if (!s) throw new AppError("UNKNOWN_STORE", `no store ${domain} is connected to the hub`);
  return { id: Number(s.id), domain: s.domain };
}

export const stockDetailSchema = z.object({
  sku: z.string(),
  variantId: z.number().int(),
  title: z.string().nullable(),
  barcode: z.string().nullable(),
  warehouses: z.array(
    z.object({
      warehouse: z.string(),
      name: z.string(),
      onHand: z.number().int(),
      reserved: z.number().int(),
      safetyStock: z.number().int(),
      sellable: z.number().int().meta({ description: "max(0, on hand − reserved − safety stock)" }),
      updatedAt: z.number().nullable(),
    }),
  ),
  totals: z.object({
    onHand: z.number().int(),
    reserved: z.number().int(),
    safetyStock: z.number().int(),
    sellable: z.number().int().meta({ description: "The sum of the warehouses' sellable" }),
  }),
  stores: z.array(
    z.object({
      store: z.string(),
      linked: z.boolean(),
      inventoryItemId: z.string().nullable(),
      heldBack: z.number().int().meta({
        description: "The store's own safety stock, held back at each location (already out of sellable)",
      }),
      locations: z.array(
        z.object({
          locationId: z.string(),
          name: z.string(),
          warehouses: z.array(z.string()),
          sellable: z.number().int(),
          committed: z
            .number()
            .int()
            .meta({ description: "Units of this store's open orders Shopify counts as committed" }),
          expectedOnHand: z
            .number()
            .int()
            .meta({ description: "What the hub says Shopify's on_hand should be" }),
          confirmedOnHand: z
            .number()
            .int()
            .nullable()
            .meta({ description: "Shopify's on_hand as last confirmed" }),
          confirmedAt: z.number().nullable(),
          error: z.string().nullable().meta({ description: "Why Shopify refused the last push here" }),
        }),
      ),
    }),
  ),
});

async function variantBySku(db: Db, sku: string) {
  const v = await db
    .selectFrom("variants")
    .select(["id", "sku", "title", "barcode"])
    .where("sku", "=", normalizeKey(sku))
    .executeTakeFirst();
  if (!v)
    throw new AppError("UNKNOWN_SKU", `no variant has SKU ${sku}`, [
      { path: "sku", code: "UNKNOWN_SKU", message: `no variant has SKU ${sku}` },
    ]);
  return { ...v, id: Number(v.id) };
}

export async function stockDetail(db: Db, sku: string): Promise<z.infer<typeof stockDetailSchema>> {
  const v = await variantBySku(db, sku);
  const levels = await db
    .selectFrom("stock_levels as s")
    .innerJoin("warehouses as w", "w.id", "s.warehouse_id")
    .select(["w.code", "w.name", "s.on_hand", "s.reserved", "s.safety_stock", "s.updated_at"])
    .where("s.variant_id", "=", v.id)
    .orderBy("w.code")
    .execute();
  const warehouses = levels.map((l) => {
    const f = {
      onHand: Number(l.on_hand),
      reserved: Number(l.reserved),
      safetyStock: Number(l.safety_stock),
    };
    return { warehouse: l.code, name: l.name, ...f, sellable: sellable(f), updatedAt: Number(l.updated_at) };
  });
  const sum = (k: "onHand" | "reserved" | "safetyStock" | "sellable") =>
    warehouses.reduce((n, w) => n + w[k], 0);

  const stores = await db
    .selectFrom("stores as st")
    .leftJoin("variant_links as l", (j) => j.onRef("l.store_id", "=", "st.id").on("l.variant_id", "=", v.id))
    .select(["st.id", "st.domain", "l.inventory_item_gid"])
    .where("st.status", "=", "active")
    .orderBy("st.domain")
    .execute();
  const out: z.infer<typeof stockDetailSchema>["stores"] = [];
  for (const s of stores) {
    const storeId = Number(s.id);
    if (s.inventory_item_gid === null) {
      out.push({ store: s.domain, linked: false, inventoryItemId: null, heldBack: 0, locations: [] });
      continue;
    }
    const targets = await loadTargets(db, storeId, [v.id]);
    const locations = await db
      .selectFrom("store_locations as sl")
      .leftJoin("location_warehouses as lw", "lw.store_location_id", "sl.id")
      .leftJoin("warehouses as w", "w.id", "lw.warehouse_id")
      .select(["sl.location_gid", "sl.name", "w.code"])
      .where("sl.store_id", "=", storeId)
      .where("sl.managed", "=", 1)
      .execute();
    const sync = await db
      .selectFrom("inventory_sync")
      .select(["location_gid", "confirmed_at"])
      .where("store_id", "=", storeId)
      .where("variant_id", "=", v.id)
      .execute();
    const confirmedAt = new Map(sync.map((r) => [r.location_gid, r.confirmed_at]));
    out.push({
      store: s.domain,
      linked: true,
      inventoryItemId: s.inventory_item_gid,
      heldBack: (await loadStoreStockRules(db, storeId)).safetyStock,
      locations: targets.map((t) => ({
        locationId: t.locationGid,
        name: locations.find((l) => l.location_gid === t.locationGid)?.name ?? t.locationGid,
        warehouses: locations
          .filter((l) => l.location_gid === t.locationGid && l.code !== null)
          .map((l) => l.code as string)
          .sort(),
        sellable: t.sellable,
        committed: t.committed,
        expectedOnHand: t.desired,
        confirmedOnHand: t.confirmed === null ? null : Number(t.confirmed),
        confirmedAt: confirmedAt.get(t.locationGid) == null ? null : Number(confirmedAt.get(t.locationGid)),
        error: t.error,
      })),
    });
  }
  return {
    sku: v.sku,
    variantId: v.id,
    title: v.title,
    barcode: v.barcode,
    warehouses,
    totals: {
      onHand: sum("onHand"),
      reserved: sum("reserved"),
      safetyStock: sum("safetyStock"),
      sellable: sum("sellable"),
    },
    stores: out,
  };
}

const movementsQuery = z.object({
  sku: skuParam.optional(),
  warehouse: skuParam.optional(),
  ...pageQuery,
});
export type MovementsQuery = z.infer<typeof movementsQuery>;

export const movementItemSchema = z.object({
  entryId: z.number().int(),
  id: z.string().meta({ description: "The back office's movement id" }),
  type: z.enum(["receipt", "sale", "return", "adjustment", "transfer", "count"]),
  sku: z.string(),
  warehouse: z.string(),
  kind: z
    .enum(["delta", "count"])
    .meta({ description: "delta: quantity added (or removed); count: the counted quantity" }),
  quantity: z.number().int(),
  fromWarehouse: z.string().nullable().meta({ description: "Transfers: where the units left" }),
  toWarehouse: z.string().nullable().meta({ description: "Transfers: where the units arrived" }),
  occurredAt: z.number(),
  recordedAt: z.number(),
});

/** Ledger entries newest first (one per warehouse a movement touched), as one keyset query. */
export function movementsListQuery(
  db: Db,
  query: MovementsQuery,
  ids: { variantId?: number | undefined; warehouseId?: number | undefined },
) {
  let q = db
    .selectFrom("ledger_entries as e")
    .innerJoin("movements as m", "m.id", "e.movement_id")
    .innerJoin("variants as v", "v.id", "e.variant_id")
    .innerJoin("warehouses as w", "w.id", "e.warehouse_id")
    .innerJoin("warehouses as mf", "mf.id", "m.warehouse_id")
    .leftJoin("warehouses as mt", "mt.id", "m.to_warehouse_id")
    .select([
      "e.id",
      "m.external_id",
      "m.type",
      "v.sku",
      "w.code",
      "e.kind",
      "e.quantity",
      "mf.code as from_code",
      "mt.code as to_code",
      "e.occurred_at",
      "m.recorded_at",
    ])
    .orderBy("e.id", "desc")
    .limit(query.limit + 1);
  if (ids.variantId !== undefined) q = q.where("e.variant_id", "=", ids.variantId);
  if (ids.warehouseId !== undefined) q = q.where("e.warehouse_id", "=", ids.warehouseId);
  if (query.cursor) {
    const [id] = decodeCursor(query.cursor, ["number"]) as [number];
    q = q.where("e.id", "<", id);
  }
  return q;
}

export async function listMovements(db: Db, query: MovementsQuery) {
  const variantId = query.sku ? (await variantBySku(db, query.sku)).id : undefined;
  let warehouseId: number | undefined;
  if (query.warehouse) {
    const w = await db
      .selectFrom("warehouses")
      .select("id")
      .where("code", "=", normalizeKey(query.warehouse))
      .executeTakeFirst();
    if (!w)
      throw new AppError("UNKNOWN_WAREHOUSE", `no warehouse has code ${query.warehouse}`, [
        { path: "warehouse", code: "UNKNOWN_WAREHOUSE", message: `no warehouse has code ${query.warehouse}` },
      ]);
    warehouseId = Number(w.id);
  }
  const rows = await movementsListQuery(db, query, { variantId, warehouseId }).execute();
  const page = pageOf(rows, query.limit, (r) => [Number(r.id)]);
  return {
    items: page.rows.map((r) => ({
      entryId: Number(r.id),
      id: r.external_id,
      type: r.type,
      sku: r.sku,
      warehouse: r.code,
      kind: r.kind,
      quantity: Number(r.quantity),
      fromWarehouse: r.type === "transfer" ? r.from_code : null,
      toWarehouse: r.type === "transfer" ? r.to_code : null,
      occurredAt: Number(r.occurred_at),
      recordedAt: Number(r.recorded_at),
    })),
    nextCursor: page.nextCursor,
  };
}

export function stockConsoleRoutes(ctx: AppContext) {
  const db = ctx.database.db;
  return [
    route({
      method: "GET",
      url: "/api/v1/stock/detail",
      tag: "inventory",
      auth: "stock.read",
      summary:
        "One SKU: per warehouse on hand, reserved, safety stock and sellable; per connected store and managed location what Shopify's on_hand should be (sellable + committed) and what Shopify last confirmed.",
      query: z.object({ sku: skuParam }),
      response: stockDetailSchema,
      handler: ({ query }) => stockDetail(db, query.sku),
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/stock-rules",
      tag: "inventory",
      auth: "store.read",
      summary: "The store's own safety stock: units of every SKU held back from each of its locations.",
      params: domainParams,
      response: storeStockRulesSchema,
      async handler({ params }) {
        return loadStoreStockRules(db, (await storeByDomain(db, params.domain)).id);
      },
    }),
    route({
      method: "PUT",
      url: "/api/v1/stores/:domain/stock-rules",
      tag: "inventory",
      auth: "store.operate",
      summary:
        "Sets the store's own safety stock (0 to 1,000,000 units of every SKU per location; 0: none). A change marks every linked variant of the store for the push; saved with its audit entry.",
      params: domainParams,
      body: storeStockRulesSchema,
      response: storeStockRulesSchema,
      async handler({ params, body, principal }) {
        const s = await storeByDomain(db, params.domain);
        const now = ctx.clock.now();
        await db.transaction().execute(async (trx) => {
          const { before, after } = await saveStoreStockRules(trx, s.id, body, now);
          if (before.safetyStock !== after.safetyStock) await markStoreDirtyFor(trx, s.id, "all", now);
          await recordSettingChange(
            trx,
            {
              principal,
              storeId: s.id,
              action: "stock_rules.update",
              label: "Store safety stock",
              flow: "inventory_push",
              target: s.domain,
              before,
              after,
            },
            now,
          );
        });
        return loadStoreStockRules(db, s.id);
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/movements",
      tag: "inventory",
      auth: "stock.read",
      summary:
        "Ledger movements newest first, one row per warehouse a movement touched (a transfer has two), for a SKU and/or a warehouse; page with `cursor=nextCursor`.",
      query: movementsQuery,
      response: z.object({ items: z.array(movementItemSchema), nextCursor: z.string().nullable() }),
      handler: ({ query }) => listMovements(db, query),
    }),
  ];
}
