/**
 * Per-store fulfillment settings: whether Shopify notifies the customer of a shipment (the
 * shipment may override it) and how refunded goods come back into stock. No row = defaults.
 */
import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import type { Db } from "../db/database.ts";
import type { RestockRule, ShopifyFulfillmentRule } from "../db/tables.ts";
import type { Trx } from "../inventory/ledger-store.ts";

export const RESTOCK_RULES = ["none", "order_warehouse", "returns_warehouse"] as const;
export const SHOPIFY_FULFILLMENT_RULES = ["record_in_ledger", "back_office"] as const;

export const fulfillmentSettingsInput = z
  .object({
    notifyCustomer: z.boolean(),
    restockRule: z
      .enum(RESTOCK_RULES)
      .describe(
        "none (default: returned goods often need inspection), order_warehouse, or returns_warehouse",
      ),
    returnsWarehouse: z.string().min(1).max(100).nullable().default(null),
    shopifyFulfillments: z
      .enum(SHOPIFY_FULFILLMENT_RULES)
      .default("record_in_ledger")
      .describe(
        "Fulfillments made in Shopify (admin, POS, apps), not by the hub: record_in_ledger (default: each line becomes one sale at the fulfillment's location) or back_office (the back office posts those sales itself)",
      ),
  })
  .strict();

export interface FulfillmentSettings {
  readonly notifyCustomer: boolean;
  readonly restockRule: RestockRule;
  readonly returnsWarehouseId: number | null;
  readonly shopifyFulfillments: ShopifyFulfillmentRule;
}

export const DEFAULT_FULFILLMENT_SETTINGS: FulfillmentSettings = {
  notifyCustomer: false,
  restockRule: "none",
  returnsWarehouseId: null,
  shopifyFulfillments: "record_in_ledger",
};

export async function loadFulfillmentSettings(db: Db | Trx, storeId: number): Promise<FulfillmentSettings> {
  const row = await db
    .selectFrom("fulfillment_settings")
    .selectAll()
    .where("store_id", "=", storeId)
    .executeTakeFirst();
  if (!row) return DEFAULT_FULFILLMENT_SETTINGS;
  return {
    notifyCustomer: row.notify_customer === 1,
    restockRule: row.restock_rule,
    returnsWarehouseId: row.returns_warehouse_id,
    shopifyFulfillments: row.shopify_fulfillments,
  };
}

export async function saveFulfillmentSettings(
  ctx: AppContext,
  storeId: number,
  input: z.infer<typeof fulfillmentSettingsInput>,
): Promise<void> {
  const db = ctx.database.db;
  let warehouseId: number | null = null;
  if (input.returnsWarehouse !== null) {
    const w = await db
      .selectFrom("warehouses")
      .select("id")
      .where("code", "=", input.returnsWarehouse)
      .executeTakeFirst();
    if (!w)
      throw new AppError("UNKNOWN_WAREHOUSE", `no warehouse ${input.returnsWarehouse}`, [
        {
          path: "returnsWarehouse",
          code: "UNKNOWN_WAREHOUSE",
          message: `no warehouse ${input.returnsWarehouse}`,
        },
      ]);
    warehouseId = w.id;
  }
  if (input.restockRule === "returns_warehouse" && warehouseId === null)
    throw new AppError("INVALID_REQUEST", "restockRule returns_warehouse needs returnsWarehouse", [
      { path: "returnsWarehouse", code: "MISSING_FIELD", message: "the warehouse returned goods go to" },
    ]);
  const now = ctx.clock.now();
  const values = {
    notify_customer: input.notifyCustomer ? 1 : 0,
    restock_rule: input.restockRule,
    returns_warehouse_id: warehouseId,
    shopify_fulfillments: input.shopifyFulfillments,
    updated_at: now,
  };
  await db
    .insertInto("fulfillment_settings")
    .values({ store_id: storeId, ...values })
    .onConflict((oc) => oc.column("store_id").doUpdateSet(values))
    .execute();
}

export async function publicFulfillmentSettings(db: Db, s: FulfillmentSettings) {
  const w =
    s.returnsWarehouseId === null
      ? undefined
      : await db
          .selectFrom("warehouses")
          .select("code")
          .where("id", "=", s.returnsWarehouseId)
          .executeTakeFirst();
  return {
    notifyCustomer: s.notifyCustomer,
    restockRule: s.restockRule,
    returnsWarehouse: w?.code ?? null,
    shopifyFulfillments: s.shopifyFulfillments,
  };
}
