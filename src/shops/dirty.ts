/** Marks variants dirty for a store's inventory push (the reconciler clears the generations it has seen). */
import { sql } from "kysely";
import { chunks } from "../db/batching.ts";
import type { Db } from "../db/database.ts";

export async function markPushDirty(
  db: Db,
  storeId: number,
  variantIds: readonly number[],
  now: number,
): Promise<void> {
  for (const part of chunks([...new Set(variantIds)], 500)) {
    await db
      .insertInto("push_dirty")
      .values(
        part.map((variant_id) => ({ store_id: storeId, variant_id, first_marked_at: now, generation: 1 })),
      )
      .onConflict((oc) =>
        oc
          .columns(["store_id", "variant_id"])
          .doUpdateSet({ generation: sql<number>`push_dirty.generation + 1` }),
      )
      .execute();
  }
}
