import { z } from "zod";
import { AppError } from "../core/errors.ts";
import { line } from "../core/input.ts";
import type { Database } from "../db/database.ts";

export const warehouseInput = z
  .object({
    code: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9._-]+$/, "a warehouse code holds letters, digits, dot, dash and underscore only"),
    name: line(255).trim().min(1),
  })
  .strict();
export const warehouseBatchInput = z.object({ warehouses: z.array(warehouseInput).min(1).max(500) });
export type WarehouseInput = z.infer<typeof warehouseInput>;

export async function upsertWarehouses(
  database: Database,
  warehouses: readonly WarehouseInput[],
  now: number,
) {
  const codes = warehouses.map((w) => w.code);
  const dup = codes.find((c, i) => codes.indexOf(c) !== i);
  if (dup !== undefined)
    throw new AppError("INVALID_REQUEST", `warehouse ${dup} appears twice in the batch; nothing was saved`);
  return database.db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom("warehouses").select("code").where("code", "in", codes).execute();
    await trx
      .insertInto("warehouses")
      .values(warehouses.map((w) => ({ code: w.code, name: w.name, created_at: now, updated_at: now })))
      .onConflict((oc) =>
        oc.column("code").doUpdateSet((eb) => ({
          name: eb.ref("excluded.name"),
          updated_at: eb.ref("excluded.updated_at"),
        })),
      )
      .execute();
    return { created: warehouses.length - existing.length, updated: existing.length };
  });
}

export async function listWarehouses(database: Database) {
  return database.db.selectFrom("warehouses").select(["id", "code", "name"]).orderBy("code").execute();
}
