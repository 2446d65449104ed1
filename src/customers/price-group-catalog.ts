/**
 * The Shopify catalog of a back-office price group in one store, as the catalog publish's price
 * lists recorded it (migration 0024, `price_list_state`); null while the group is not a price
 * list there (unknown group, not published yet, or refused). Company customers' locations are
 * added to this catalog.
 */
import type { Kysely } from "kysely";
import type { Db } from "../db/database.ts";

export type PriceTables = {
  price_groups: { id: number; code: string };
  price_list_state: { store_id: number; group_id: number; catalog_gid: string | null };
};

export async function priceGroupCatalog(db: Db, storeId: number, code: string): Promise<string | null> {
  const pdb = db.withTables<PriceTables>() as unknown as Kysely<PriceTables>;
  const row = await pdb
    .selectFrom("price_list_state as s")
    .innerJoin("price_groups as g", "g.id", "s.group_id")
    .select("s.catalog_gid")
    .where("s.store_id", "=", storeId)
    .where("g.code", "=", code)
    .executeTakeFirst();
  return row?.catalog_gid ?? null;
}
