/** Minimal catalog: variants keyed by SKU, upserted in batches by the back office. */
import { z } from "zod";
import { AppError, type ErrorDetail } from "../core/errors.ts";
import { line, trimmedKey } from "../core/input.ts";
import { chunks } from "../db/batching.ts";
import type { Database } from "../db/database.ts";

export const MAX_VARIANTS_PER_BATCH = 1000;

export const variantInput = z
  .object({
    sku: trimmedKey(255),
    barcode: trimmedKey(255).nullable().optional(),
    title: line(255).nullable().optional(),
    options: z.array(line(255)).max(3, "a variant has at most three option values").optional(),
  })
  .strict();

export const variantBatchInput = z.object({
  variants: z.array(variantInput).min(1).max(MAX_VARIANTS_PER_BATCH),
});
export type VariantInput = z.infer<typeof variantInput>;

export async function upsertVariants(
  database: Database,
  variants: readonly VariantInput[],
  now: number,
): Promise<{ created: number; updated: number }> {
  const seen = new Map<string, number>();
  const problems: ErrorDetail[] = [];
  variants.forEach((v, index) => {
    const first = seen.get(v.sku);
    if (first !== undefined) {
      problems.push({
        index,
        path: `variants[${index}].sku`,
        code: "DUPLICATE_SKU_IN_BATCH",
        message: `SKU ${v.sku} appears twice (items ${first} and ${index})`,
      });
    } else seen.set(v.sku, index);
  });
  if (problems.length > 0)
    throw new AppError(
      "INVALID_REQUEST",
      "the batch lists a SKU more than once; nothing was saved",
      problems,
    );

  return database.db.transaction().execute(async (trx) => {
    const existing = new Set<string>();
    for (const part of chunks([...seen.keys()], 500)) {
      for (const r of await trx.selectFrom("variants").select("sku").where("sku", "in", part).execute())
        existing.add(r.sku);
    }
    for (const part of chunks(variants, 100)) {
      await trx
        .insertInto("variants")
        .values(
          part.map((v) => ({
            sku: v.sku,
            barcode: v.barcode ?? null,
            title: v.title ?? null,
            option1: v.options?.[0] ?? null,
            option2: v.options?.[1] ?? null,
            option3: v.options?.[2] ?? null,
            created_at: now,
            updated_at: now,
          })),
        )
        .onConflict((oc) =>
          oc.column("sku").doUpdateSet((eb) => ({
            barcode: eb.ref("excluded.barcode"),
            title: eb.ref("excluded.title"),
            option1: eb.ref("excluded.option1"),
            option2: eb.ref("excluded.option2"),
            option3: eb.ref("excluded.option3"),
            updated_at: eb.ref("excluded.updated_at"),
          })),
        )
        .execute();
      // A product whose variant changed here is applied in full on its next PUT /products.
      await trx
        .updateTable("products")
        .set({ content_hash: "" })
        .where("id", "in", (eb) =>
          eb
            .selectFrom("variants")
            .select("product_id")
            .where("product_id", "is not", null)
            .where(
              "sku",
              "in",
              part.map((v) => v.sku),
            ),
        )
        .execute();
    }
    return { created: variants.length - existing.size, updated: existing.size };
  });
}
