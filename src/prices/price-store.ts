/**
 * Price groups (issue 16, seed 004): the back office's groups with one currency each, their
 * prices per variant, and per store the Shopify price list each group became. Tables of
 * migration 0024, typed here (`withTables`) so the shared table list stays untouched.
 *
 * Level-triggered like the inventory push: `price_group_prices.hash` is what the group's price
 * list should hold for a variant, `price_list_prices.hash` (with the Shopify variant it was set
 * on) what Shopify last confirmed. A price is only desired in a store where its variant is
 * linked (the product exists there) and for a group that exists: seed 004's two checks.
 */
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import { chunks } from "../db/batching.ts";
import type { Db } from "../db/database.ts";
import type { Tables } from "../db/tables.ts";

export type PriceTables = {
  price_groups: {
    id: import("kysely").Generated<number>;
    code: string;
    name: string;
    currency: string;
    created_at: number;
    updated_at: number;
  };
  price_group_prices: {
    group_id: number;
    variant_id: number;
    price: string;
    compare_at_price: string | null;
    hash: string;
    updated_at: number;
  };
  price_list_state: {
    store_id: number;
    group_id: number;
    price_list_gid: string | null;
    catalog_gid: string | null;
    currency: string | null;
    error: string | null;
    attempts: number;
    next_attempt_at: number;
    synced_at: number | null;
    updated_at: number;
  };
  price_list_prices: {
    store_id: number;
    group_id: number;
    variant_id: number;
    product_variant_gid: string;
    hash: string;
    confirmed_at: number;
  };
};

export type PriceDb = Kysely<Tables & PriceTables>;
export const priceDb = (db: Db): PriceDb => db.withTables<PriceTables>() as unknown as PriceDb;

export interface PriceGroup {
  readonly id: number;
  readonly code: string;
  readonly name: string;
  readonly currency: string;
}

/** What a price list should hold for one variant: its hash covers price, compare-at and currency. */
export const priceHash = (price: string, compareAt: string | null, currency: string): string =>
  createHash("sha256")
    .update(JSON.stringify([price, compareAt, currency]))
    .digest("base64url")
    .slice(0, 22);

export async function listGroups(db: Db): Promise<(PriceGroup & { prices: number })[]> {
  const pdb = priceDb(db);
  const rows = await pdb
    .selectFrom("price_groups as g")
    .leftJoin("price_group_prices as p", "p.group_id", "g.id")
    .select((eb) => [
      "g.id",
      "g.code",
      "g.name",
      "g.currency",
      eb.fn.count<number>("p.variant_id").as("prices"),
    ])
    .groupBy(["g.id", "g.code", "g.name", "g.currency"])
    .orderBy("g.code")
    .execute();
  return rows.map((r) => ({ ...r, id: Number(r.id), prices: Number(r.prices) }));
}

export async function findGroup(db: Db, code: string): Promise<PriceGroup | undefined> {
  const r = await priceDb(db)
    .selectFrom("price_groups")
    .select(["id", "code", "name", "currency"])
    .where("code", "=", code)
    .executeTakeFirst();
  return r ? { ...r, id: Number(r.id) } : undefined;
}

/** Does any store hold a Shopify price list for the group (its currency is then fixed)? */
export async function groupHasPriceList(db: Db, groupId: number): Promise<boolean> {
  const r = await priceDb(db)
    .selectFrom("price_list_state")
    .select("store_id")
    .where("group_id", "=", groupId)
    .where("price_list_gid", "is not", null)
    .limit(1)
    .executeTakeFirst();
  return r !== undefined;
}

export async function countPrices(db: Db, groupId: number): Promise<number> {
  const r = await priceDb(db)
    .selectFrom("price_group_prices")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("group_id", "=", groupId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Variant ids by SKU, for the SKUs the hub knows. */
export async function variantIds(db: Db, skus: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const part of chunks([...new Set(skus)], 500)) {
    const rows = await priceDb(db)
      .selectFrom("variants")
      .select(["id", "sku"])
      .where("sku", "in", part)
      .execute();
    for (const r of rows) out.set(r.sku, Number(r.id));
  }
  return out;
}

/** A store's view of one group: its price list and how many of its prices Shopify holds. */
export interface PriceListView {
  readonly code: string;
  readonly name: string;
  readonly currency: string;
  readonly priceListId: string | null;
  readonly catalogId: string | null;
  /** Prices of the group. */
  readonly prices: number;
  /** Prices whose variant's product is not in this store (not sent, seed 004's check). */
  readonly notInStore: number;
  /** Prices Shopify holds as the hub last sent them. */
  readonly confirmed: number;
  /** Prices waiting to be sent (new, changed, or to be removed). */
  readonly pending: number;
  readonly state: "in_sync" | "pending" | "failing";
  readonly error: { code: string; message: string } | null;
  readonly syncedAt: string | null;
}

export async function storePriceLists(db: Db, storeId: number): Promise<PriceListView[]> {
  const pdb = priceDb(db);
  const groups = await listGroups(db);
  const out: PriceListView[] = [];
  for (const g of groups) {
    const state = await pdb
      .selectFrom("price_list_state")
      .selectAll()
      .where("store_id", "=", storeId)
      .where("group_id", "=", g.id)
      .executeTakeFirst();
    const linked = await pdb
      .selectFrom("price_group_prices as p")
      .innerJoin("variant_links as l", (j) =>
        j.onRef("l.variant_id", "=", "p.variant_id").on("l.store_id", "=", storeId),
      )
      .leftJoin("price_list_prices as c", (j) =>
        j
          .onRef("c.variant_id", "=", "p.variant_id")
          .onRef("c.group_id", "=", "p.group_id")
          .on("c.store_id", "=", storeId),
      )
      .select((eb) => [
        eb.fn.countAll<number>().as("linked"),
        eb.fn
          .sum<number>(
            eb
              .case()
              .when(
                eb.and([
                  eb("c.hash", "=", eb.ref("p.hash")),
                  eb("c.product_variant_gid", "=", eb.ref("l.product_variant_gid")),
                ]),
              )
              .then(1)
              .else(0)
              .end(),
          )
          .as("confirmed"),
      ])
      .where("p.group_id", "=", g.id)
      .executeTakeFirstOrThrow();
    const stale = await staleConfirmed(db, storeId, g.id, 1_000_000);
    const confirmed = Number(linked.confirmed ?? 0);
    const pending = Number(linked.linked) - confirmed + stale.length;
    const error = state?.error ? (JSON.parse(state.error) as { code: string; message: string }) : null;
    out.push({
      code: g.code,
      name: g.name,
      currency: g.currency,
      priceListId: state?.price_list_gid ?? null,
      catalogId: state?.catalog_gid ?? null,
      prices: g.prices,
      notInStore: g.prices - Number(linked.linked),
      confirmed,
      pending,
      state: error ? "failing" : pending > 0 ? "pending" : "in_sync",
      error,
      syncedAt: state?.synced_at ? new Date(Number(state.synced_at)).toISOString() : null,
    });
  }
  return out;
}

export interface PriceToSend {
  readonly variantId: number;
  readonly gid: string;
  readonly price: string;
  readonly compareAtPrice: string | null;
  readonly hash: string;
}

/** Prices whose variant is linked in the store and that Shopify does not hold as desired. */
export async function pricesToSend(
  db: Db,
  storeId: number,
  groupId: number,
  limit: number,
): Promise<PriceToSend[]> {
  const rows = await priceDb(db)
    .selectFrom("price_group_prices as p")
    .innerJoin("variant_links as l", (j) =>
      j.onRef("l.variant_id", "=", "p.variant_id").on("l.store_id", "=", storeId),
    )
    .leftJoin("price_list_prices as c", (j) =>
      j
        .onRef("c.variant_id", "=", "p.variant_id")
        .onRef("c.group_id", "=", "p.group_id")
        .on("c.store_id", "=", storeId),
    )
    .select(["p.variant_id", "l.product_variant_gid", "p.price", "p.compare_at_price", "p.hash"])
    .where("p.group_id", "=", groupId)
    .where((eb) =>
      eb.or([
        eb("c.variant_id", "is", null),
        eb("c.hash", "<>", eb.ref("p.hash")),
        eb("c.product_variant_gid", "<>", eb.ref("l.product_variant_gid")),
      ]),
    )
    .orderBy("p.variant_id")
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    variantId: Number(r.variant_id),
    gid: r.product_variant_gid,
    price: r.price,
    compareAtPrice: r.compare_at_price,
    hash: r.hash,
  }));
}

/**
 * Prices Shopify holds that must go: the group's price was removed, the variant is no longer
 * linked in the store, or it is linked to another Shopify variant now.
 */
export async function staleConfirmed(
  db: Db,
  storeId: number,
  groupId: number,
  limit: number,
): Promise<{ variantId: number; gid: string }[]> {
  const rows = await priceDb(db)
    .selectFrom("price_list_prices as c")
    .leftJoin("price_group_prices as p", (j) =>
      j.onRef("p.variant_id", "=", "c.variant_id").onRef("p.group_id", "=", "c.group_id"),
    )
    .leftJoin("variant_links as l", (j) =>
      j.onRef("l.variant_id", "=", "c.variant_id").onRef("l.store_id", "=", "c.store_id"),
    )
    .select(["c.variant_id", "c.product_variant_gid"])
    .where("c.store_id", "=", storeId)
    .where("c.group_id", "=", groupId)
    .where((eb) =>
      eb.or([
        eb("p.variant_id", "is", null),
        eb("l.variant_id", "is", null),
        eb("l.product_variant_gid", "<>", eb.ref("c.product_variant_gid")),
      ]),
    )
    .orderBy("c.variant_id")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ variantId: Number(r.variant_id), gid: r.product_variant_gid }));
}
