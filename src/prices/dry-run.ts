/**
 * The price lists part of the publish dry run (issue 16): per price group, what publishing would
 * do to the store's price list — create it, set, change (old → new) or remove fixed prices, or
 * refuse (a list of the hub's name in another currency) — reading Shopify's fixed prices and
 * writing nothing. Prices whose product is not in the store are counted, not sent (seed 004).
 */
import type { Db } from "../db/database.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { listGroups, type PriceGroup, priceDb } from "./price-store.ts";
import { findPriceList, priceListName, readFixedPrices } from "./shopify-price-lists.ts";

/** Per group, the changes listed in full up to this many (every change is counted). */
export const DRY_RUN_CHANGES_SHOWN = 200;

type Price = { price: string; compareAtPrice: string | null };

export interface PriceChange {
  readonly sku: string;
  readonly variantId: string;
  readonly old: Price | null;
  readonly new: Price | null;
}

export interface PriceListDryRun {
  readonly code: string;
  readonly currency: string;
  readonly outcome: "create" | "update" | "unchanged" | "refused";
  readonly priceListId: string | null;
  readonly add: number;
  readonly change: number;
  readonly remove: number;
  readonly unchanged: number;
  /** Prices not sent: their product is not (yet) in the store. */
  readonly notInStore: number;
  readonly changes: readonly PriceChange[];
  readonly refusal?: { readonly code: string; readonly message: string };
}

/** Shopify answers amounts as decimals without trailing zeros: "19.9" is "19.90". */
const amount = (v: string | null) => (v === null ? null : String(Number(v)));
const same = (a: Price, b: Price) =>
  amount(a.price) === amount(b.price) && amount(a.compareAtPrice) === amount(b.compareAtPrice);

/** What one group's price list would get, compared with what Shopify holds (pure). */
export function comparePrices(
  desired: readonly (Price & { sku: string; variantId: string })[],
  current: ReadonlyMap<string, Price> | null,
): { add: number; change: number; remove: number; unchanged: number; changes: PriceChange[] } {
  const changes: PriceChange[] = [];
  let add = 0;
  let change = 0;
  let unchanged = 0;
  const wanted = new Set<string>();
  const note = (c: PriceChange) => {
    if (changes.length < DRY_RUN_CHANGES_SHOWN) changes.push(c);
  };
  for (const d of desired) {
    wanted.add(d.variantId);
    const now = { price: d.price, compareAtPrice: d.compareAtPrice };
    const old = current?.get(d.variantId);
    if (!old) {
      add++;
      note({ sku: d.sku, variantId: d.variantId, old: null, new: now });
    } else if (!same(old, now)) {
      change++;
      note({ sku: d.sku, variantId: d.variantId, old, new: now });
    } else unchanged++;
  }
  let remove = 0;
  for (const [variantId, old] of current ?? []) {
    if (wanted.has(variantId)) continue;
    remove++;
    note({ sku: "", variantId, old, new: null });
  }
  return { add, change, remove, unchanged, changes };
}

async function groupDryRun(
  db: Db,
  storeId: number,
  transport: AdminTransport,
  group: PriceGroup & { prices: number },
): Promise<PriceListDryRun> {
  const pdb = priceDb(db);
  const state = await pdb
    .selectFrom("price_list_state")
    .select("price_list_gid")
    .where("store_id", "=", storeId)
    .where("group_id", "=", group.id)
    .executeTakeFirst();
  const base = { code: group.code, currency: group.currency };
  let listId = state?.price_list_gid ?? null;
  let current: Map<string, Price> | null = listId ? await readFixedPrices(transport, listId) : null;
  if (!current) {
    // Not known, or deleted in Shopify: the reconciler looks it up by name before creating one.
    const found = await findPriceList(transport, priceListName(group.code));
    listId = found?.id ?? null;
    if (found && found.currency !== group.currency)
      return {
        ...base,
        outcome: "refused",
        priceListId: found.id,
        add: 0,
        change: 0,
        remove: 0,
        unchanged: 0,
        notInStore: 0,
        changes: [],
        refusal: {
          code: "PRICE_LIST_CURRENCY_MISMATCH",
          message: `the store's price list "${found.name}" is in ${found.currency}, the group in ${group.currency}; delete or rename that price list in Shopify`,
        },
      };
    current = found ? await readFixedPrices(transport, found.id) : null;
  }
  const desired = await pdb
    .selectFrom("price_group_prices as p")
    .innerJoin("variant_links as l", (j) =>
      j.onRef("l.variant_id", "=", "p.variant_id").on("l.store_id", "=", storeId),
    )
    .innerJoin("variants as v", "v.id", "p.variant_id")
    .select(["v.sku", "l.product_variant_gid", "p.price", "p.compare_at_price"])
    .where("p.group_id", "=", group.id)
    .orderBy("p.variant_id")
    .execute();
  const diff = comparePrices(
    desired.map((d) => ({
      sku: d.sku,
      variantId: d.product_variant_gid,
      price: d.price,
      compareAtPrice: d.compare_at_price,
    })),
    current,
  );
  // The SKUs of removals shown (variants no longer in the group, or no longer linked).
  const unnamed = diff.changes.filter((c) => c.sku === "").map((c) => c.variantId);
  if (unnamed.length > 0) {
    const rows = await pdb
      .selectFrom("variant_links as l")
      .innerJoin("variants as v", "v.id", "l.variant_id")
      .select(["v.sku", "l.product_variant_gid"])
      .where("l.store_id", "=", storeId)
      .where("l.product_variant_gid", "in", unnamed)
      .execute();
    const skus = new Map(rows.map((r) => [r.product_variant_gid, r.sku]));
    diff.changes = diff.changes.map((c) => (c.sku === "" ? { ...c, sku: skus.get(c.variantId) ?? "" } : c));
  }
  const outcome = !current
    ? desired.length > 0
      ? "create"
      : "unchanged"
    : diff.add + diff.change + diff.remove > 0
      ? "update"
      : "unchanged";
  return {
    ...base,
    outcome,
    priceListId: current ? listId : null,
    notInStore: group.prices - desired.length,
    ...diff,
  };
}

export async function priceListsDryRun(
  db: Db,
  storeId: number,
  transport: AdminTransport,
): Promise<PriceListDryRun[]> {
  const out: PriceListDryRun[] = [];
  for (const g of await listGroups(db)) out.push(await groupDryRun(db, storeId, transport, g));
  return out;
}
