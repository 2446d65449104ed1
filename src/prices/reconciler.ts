/**
 * The price list reconciler of one store, run under the store's lease with the catalog publish
 * (flow `catalog_publish`). Level-triggered: per group and variant, the desired price (hash in
 * `price_group_prices`) against what Shopify confirmed (`price_list_prices`); what differs is sent
 * with `priceListFixedPricesUpdate` to that group's list alone, 250 prices a call. A price is only
 * sent where its variant is linked (the product exists in the store) and for a group that exists.
 * The price list is created on the first price to send, found again by name after a crash, then
 * attached to a catalog of its own.
 */
import type { Logger } from "pino";
import type { Db } from "../db/database.ts";
import { backoffMs } from "../jobs/backoff.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { logActivity } from "../shops/activity.ts";
import { listGroups, type PriceGroup, priceDb, pricesToSend, staleConfirmed } from "./price-store.ts";
import {
  createCatalog,
  createPriceList,
  findPriceList,
  priceListName,
  type ShopifyUserError,
  updateFixedPrices,
} from "./shopify-price-lists.ts";

export interface PriceDeps {
  readonly db: Db;
  readonly now: () => number;
  readonly logger: Logger;
  readonly random?: () => number;
}

export interface PriceCycleResult {
  readonly calls: number;
  readonly sent: number;
  readonly removed: number;
  readonly failed: number;
}

/** Shopify takes at most 250 items in an input list. */
export const PRICES_PER_CALL = 250;
const CALLS_PER_GROUP = 40;
const RETRY = { baseMs: 10_000, capMs: 3600_000 };

type State = {
  price_list_gid: string | null;
  catalog_gid: string | null;
  attempts: number;
  next_attempt_at: number;
  error: string | null;
};

export async function runPriceListCycle(
  deps: PriceDeps,
  store: { id: number; domain: string },
  transport: AdminTransport,
): Promise<PriceCycleResult> {
  const result = { calls: 0, sent: 0, removed: 0, failed: 0 };
  for (const group of await listGroups(deps.db)) {
    await reconcileGroup(deps, store, transport, group, result);
  }
  return result;
}

async function loadState(db: Db, storeId: number, groupId: number): Promise<State | undefined> {
  return priceDb(db)
    .selectFrom("price_list_state")
    .select(["price_list_gid", "catalog_gid", "attempts", "next_attempt_at", "error"])
    .where("store_id", "=", storeId)
    .where("group_id", "=", groupId)
    .executeTakeFirst();
}

async function saveState(
  deps: PriceDeps,
  transport: AdminTransport,
  storeId: number,
  groupId: number,
  values: Partial<{
    price_list_gid: string | null;
    catalog_gid: string | null;
    currency: string | null;
    error: string | null;
    attempts: number;
    next_attempt_at: number;
    synced_at: number | null;
  }>,
): Promise<void> {
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await transport.fence?.(trx);
    await priceDb(trx)
      .insertInto("price_list_state")
      .values({
        store_id: storeId,
        group_id: groupId,
        price_list_gid: null,
        catalog_gid: null,
        currency: null,
        error: null,
        attempts: 0,
        next_attempt_at: now,
        synced_at: null,
        ...values,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(["store_id", "group_id"]).doUpdateSet({ ...values, updated_at: now }))
      .execute();
  });
}

async function fail(
  deps: PriceDeps,
  transport: AdminTransport,
  store: { id: number; domain: string },
  group: PriceGroup,
  state: State | undefined,
  error: { code: string; message: string; userErrors?: readonly ShopifyUserError[] },
): Promise<void> {
  const attempts = (state?.attempts ?? 0) + 1;
  const now = deps.now();
  await saveState(deps, transport, store.id, group.id, {
    error: JSON.stringify(error),
    attempts,
    next_attempt_at: now + backoffMs(attempts, RETRY, deps.random),
  });
  if (!state?.error)
    await logActivity(
      deps.db,
      {
        storeId: store.id,
        flow: "catalog_publish",
        kind: "price_list_failed",
        level: "warn",
        message: `price group ${group.code}: ${error.message}`,
      },
      now,
    );
}

const describe = (errors: readonly ShopifyUserError[]) =>
  errors.map((e) => `${(e.field ?? []).join(".")}: ${e.message}${e.code ? ` (${e.code})` : ""}`).join("; ");

async function reconcileGroup(
  deps: PriceDeps,
  store: { id: number; domain: string },
  transport: AdminTransport,
  group: PriceGroup,
  result: { calls: number; sent: number; removed: number; failed: number },
): Promise<void> {
  let state = await loadState(deps.db, store.id, group.id);
  if (state && state.next_attempt_at > deps.now()) return;
  for (let call = 0; call < CALLS_PER_GROUP; call++) {
    const add = await pricesToSend(deps.db, store.id, group.id, PRICES_PER_CALL);
    const remove = await staleConfirmed(deps.db, store.id, group.id, PRICES_PER_CALL);
    if (add.length === 0 && remove.length === 0) {
      if (state && (state.error || state.attempts > 0 || call > 0))
        await saveState(deps, transport, store.id, group.id, {
          error: null,
          attempts: 0,
          synced_at: deps.now(),
        });
      return;
    }
    let listId = state?.price_list_gid ?? null;
    if (!listId) {
      if (add.length === 0) {
        // Nothing to hold and no list known: what was confirmed went with a list Shopify lost.
        await priceDb(deps.db)
          .deleteFrom("price_list_prices")
          .where("store_id", "=", store.id)
          .where("group_id", "=", group.id)
          .execute();
        return;
      }
      const name = priceListName(group.code);
      const found = await findPriceList(transport, name);
      result.calls++;
      let catalogId = found?.catalogId ?? null;
      if (found && found.currency !== group.currency) {
        await fail(deps, transport, store, group, state, {
          code: "PRICE_LIST_CURRENCY_MISMATCH",
          message: `the store's price list "${name}" is in ${found.currency}, the group in ${group.currency}; delete or rename that price list in Shopify`,
        });
        result.failed++;
        return;
      }
      if (found) listId = found.id;
      else {
        const created = await createPriceList(transport, name, group.currency);
        result.calls++;
        if (!created.ok) {
          await fail(deps, transport, store, group, state, {
            code: "SHOPIFY_USER_ERRORS",
            message: `Shopify refused the price list: ${describe(created.userErrors)}`,
            userErrors: created.userErrors,
          });
          result.failed++;
          return;
        }
        listId = created.id;
      }
      await saveState(deps, transport, store.id, group.id, {
        price_list_gid: listId,
        currency: group.currency,
      });
      if (!catalogId) {
        const catalog = await createCatalog(transport, name, listId);
        result.calls++;
        if (!catalog.ok) {
          await fail(deps, transport, store, group, state, {
            code: "SHOPIFY_USER_ERRORS",
            message: `Shopify refused the catalog of the price list: ${describe(catalog.userErrors)}`,
            userErrors: catalog.userErrors,
          });
          result.failed++;
          return;
        }
        catalogId = catalog.id;
      }
      await saveState(deps, transport, store.id, group.id, { catalog_gid: catalogId });
      state = await loadState(deps.db, store.id, group.id);
      if (!found) {
        // A new list holds nothing yet: what was confirmed belonged to a list Shopify no longer has
        // (deleted there, or lost with the hub's state), so every price is sent again.
        await forgetConfirmed(deps, transport, store.id, group.id);
        continue;
      }
    }
    const errors = await updateFixedPrices(
      transport,
      listId,
      group.currency,
      add.map((p) => ({ variantId: p.gid, price: p.price, compareAtPrice: p.compareAtPrice })),
      remove.map((r) => r.gid),
    );
    result.calls++;
    if (errors.some((e) => e.code === "PRICE_LIST_NOT_FOUND")) {
      // Deleted in Shopify: created again, every price sent again.
      await deps.db.transaction().execute(async (trx) => {
        await transport.fence?.(trx);
        await priceDb(trx)
          .deleteFrom("price_list_prices")
          .where("store_id", "=", store.id)
          .where("group_id", "=", group.id)
          .execute();
        await priceDb(trx)
          .updateTable("price_list_state")
          .set({ price_list_gid: null, catalog_gid: null, updated_at: deps.now() })
          .where("store_id", "=", store.id)
          .where("group_id", "=", group.id)
          .execute();
      });
      state = await loadState(deps.db, store.id, group.id);
      continue;
    }
    if (errors.length > 0) {
      await fail(deps, transport, store, group, state, {
        code: "SHOPIFY_USER_ERRORS",
        message: `Shopify refused prices of price group ${group.code}: ${describe(errors)}`,
        userErrors: errors,
      });
      result.failed++;
      return;
    }
    const now = deps.now();
    await deps.db.transaction().execute(async (trx) => {
      await transport.fence?.(trx);
      const t = priceDb(trx);
      for (const r of remove)
        await t
          .deleteFrom("price_list_prices")
          .where("store_id", "=", store.id)
          .where("group_id", "=", group.id)
          .where("variant_id", "=", r.variantId)
          .where("product_variant_gid", "=", r.gid)
          .execute();
      if (add.length > 0)
        await t
          .insertInto("price_list_prices")
          .values(
            add.map((p) => ({
              store_id: store.id,
              group_id: group.id,
              variant_id: p.variantId,
              product_variant_gid: p.gid,
              hash: p.hash,
              confirmed_at: now,
            })),
          )
          .onConflict((oc) =>
            oc.columns(["store_id", "group_id", "variant_id"]).doUpdateSet((eb) => ({
              product_variant_gid: eb.ref("excluded.product_variant_gid"),
              hash: eb.ref("excluded.hash"),
              confirmed_at: eb.ref("excluded.confirmed_at"),
            })),
          )
          .execute();
    });
    result.sent += add.length;
    result.removed += remove.length;
  }
}

async function forgetConfirmed(deps: PriceDeps, transport: AdminTransport, storeId: number, groupId: number) {
  await deps.db.transaction().execute(async (trx) => {
    await transport.fence?.(trx);
    await priceDb(trx)
      .deleteFrom("price_list_prices")
      .where("store_id", "=", storeId)
      .where("group_id", "=", groupId)
      .execute();
  });
}
