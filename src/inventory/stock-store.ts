/** Reading stock and setting safety stock. */
import { z } from "zod";
import type { StockChangeListener } from "../core/context.ts";
import { AppError, type ErrorDetail } from "../core/errors.ts";
import { count, key, normalizeKey, trimmedKey } from "../core/input.ts";
import type { Database } from "../db/database.ts";
import { sellable } from "./ledger.ts";

export const stockQuery = z.object({
  sku: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe("One SKU, several comma-separated, or the parameter repeated."),
  warehouse: z.union([z.string(), z.array(z.string())]).optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
  after: z.string().optional().describe("Cursor from the previous page's `nextCursor`."),
});
export type StockQuery = z.infer<typeof stockQuery>;

export interface StockRow {
  sku: string;
  warehouse: string;
  onHand: number;
  reserved: number;
  safetyStock: number;
  sellable: number;
}

const listOf = (v: string | string[] | undefined) =>
  v === undefined
    ? undefined
    : (Array.isArray(v) ? v : [v])
        .flatMap((s) => s.split(","))
        .map((s) => normalizeKey(s.trim()))
        .filter(Boolean);

function decodeCursor(after: string): [number, number] {
  const m = /^(\d+):(\d+)$/.exec(Buffer.from(after, "base64url").toString());
  if (!m)
    throw new AppError("INVALID_REQUEST", "after is not a cursor this API produced", [
      { path: "after", code: "INVALID_CURSOR", message: "use nextCursor from the previous page" },
    ]);
  return [Number(m[1]), Number(m[2])];
}

export async function listStock(
  database: Database,
  q: StockQuery,
): Promise<{ items: StockRow[]; nextCursor: string | null }> {
  let query = database.db
    .selectFrom("stock_levels as s")
    .innerJoin("variants as v", "v.id", "s.variant_id")
    .innerJoin("warehouses as w", "w.id", "s.warehouse_id")
    .select([
      "s.variant_id",
      "s.warehouse_id",
      "v.sku",
      "w.code",
      "s.on_hand",
      "s.reserved",
      "s.safety_stock",
    ])
    .orderBy("s.variant_id")
    .orderBy("s.warehouse_id")
    .limit(q.limit + 1);
  const skus = listOf(q.sku);
  if (skus) query = query.where("v.sku", "in", skus.length ? skus : [""]);
  const warehouses = listOf(q.warehouse);
  if (warehouses) query = query.where("w.code", "in", warehouses.length ? warehouses : [""]);
  if (q.after) {
    const [v, w] = decodeCursor(q.after);
    query = query.where((eb) =>
      eb.or([eb("s.variant_id", ">", v), eb.and([eb("s.variant_id", "=", v), eb("s.warehouse_id", ">", w)])]),
    );
  }
  const rows = await query.execute();
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => ({
      sku: r.sku,
      warehouse: r.code,
      onHand: r.on_hand,
      reserved: r.reserved,
      safetyStock: r.safety_stock,
      sellable: sellable({ onHand: r.on_hand, reserved: r.reserved, safetyStock: r.safety_stock }),
    })),
    nextCursor:
      rows.length > q.limit && last
        ? Buffer.from(`${last.variant_id}:${last.warehouse_id}`).toString("base64url")
        : null,
  };
}

export const safetyStockInput = z
  .object({
    sku: trimmedKey(255),
    warehouse: key(100),
    safetyStock: count(),
  })
  .strict();
export const safetyStockBatchInput = z.object({ items: z.array(safetyStockInput).min(1).max(1000) });

export async function setSafetyStock(
  database: Database,
  items: readonly z.infer<typeof safetyStockInput>[],
  now: number,
  onStockChanged?: StockChangeListener,
): Promise<{ updated: number }> {
  return database.db.transaction().execute(async (trx) => {
    const skus = [...new Set(items.map((i) => i.sku))];
    const codes = [...new Set(items.map((i) => i.warehouse))];
    const variants = new Map(
      (await trx.selectFrom("variants").select(["id", "sku"]).where("sku", "in", skus).execute()).map((r) => [
        r.sku,
        r.id,
      ]),
    );
    const warehouses = new Map(
      (await trx.selectFrom("warehouses").select(["id", "code"]).where("code", "in", codes).execute()).map(
        (r) => [r.code, r.id],
      ),
    );
    const problems: ErrorDetail[] = [];
    const seen = new Map<string, number>();
    items.forEach((i, index) => {
      const key = `${i.sku}\u0000${i.warehouse}`;
      const first = seen.get(key);
      if (first !== undefined)
        problems.push({
          index,
          path: `items[${index}]`,
          code: "DUPLICATE_ITEM",
          message: `${i.sku} at ${i.warehouse} is listed twice (items ${first} and ${index})`,
        });
      else seen.set(key, index);
      if (!variants.has(i.sku))
        problems.push({
          index,
          path: `items[${index}].sku`,
          code: "UNKNOWN_SKU",
          message: `unknown SKU ${i.sku}`,
        });
      if (!warehouses.has(i.warehouse))
        problems.push({
          index,
          path: `items[${index}].warehouse`,
          code: "UNKNOWN_WAREHOUSE",
          message: `unknown warehouse ${i.warehouse}`,
        });
    });
    if (problems.length > 0)
      throw new AppError("INVALID_REQUEST", "some items are invalid; nothing was saved", problems);
    await trx
      .insertInto("stock_levels")
      .values(
        items.map((i) => ({
          variant_id: variants.get(i.sku)!,
          warehouse_id: warehouses.get(i.warehouse)!,
          on_hand: 0,
          reserved: 0,
          safety_stock: i.safetyStock,
          last_count_at: null,
          last_count_seq: null,
          updated_at: now,
        })),
      )
      .onConflict((oc) =>
        oc.columns(["variant_id", "warehouse_id"]).doUpdateSet((eb) => ({
          safety_stock: eb.ref("excluded.safety_stock"),
          updated_at: eb.ref("excluded.updated_at"),
        })),
      )
      .execute();
    if (onStockChanged) await onStockChanged(trx, [...new Set(items.map((i) => variants.get(i.sku)!))], now);
    return { updated: items.length };
  });
}
