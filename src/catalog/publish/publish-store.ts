/**
 * The publish flow's tables (migration 0022), typed here so the shared table list stays
 * untouched (`withTables`), and the queries over them: a store's rules, which products are
 * stale (their content or the rules changed since their desired hashes were computed), which
 * are due, and recording Shopify's confirmation.
 */
import type { Kysely } from "kysely";
import { chunks } from "../../db/batching.ts";
import type { Db } from "../../db/database.ts";
import type { Tables } from "../../db/tables.ts";
import { markStoreDirtyFor } from "../../inventory/push/push-store.ts";
import { NO_OWNED, type Owned, type PublishRefusal } from "./desired.ts";
import {
  DEFAULT_RULES,
  type PublishRules,
  type PublishRulesInput,
  resolveRules,
  rulesHash,
} from "./rules.ts";

export type PublishStatus = "pending" | "done" | "refused";

export type PublishTables = {
  catalog_publish_settings: {
    store_id: number;
    rules: string;
    rules_hash: string;
    custom_id_definition_gid: string | null;
    updated_at: number;
  };
  catalog_publish_state: {
    store_id: number;
    product_id: number;
    source_hash: string;
    rules_hash: string;
    desired_hash: string;
    confirmed_hash: string | null;
    price_hash: string;
    confirmed_price_hash: string | null;
    shopify_product_gid: string | null;
    /** JSON Owned */
    owned: string | null;
    status: PublishStatus;
    /** JSON { code, field, message, userErrors? } of the last refusal or failure. */
    error: string | null;
    attempts: number;
    next_attempt_at: number;
    marked_at: number;
    published_at: number | null;
    updated_at: number;
  };
  catalog_publish_dry_runs: {
    id: import("kysely").Generated<number>;
    store_id: number;
    job_id: number;
    product_key: string;
    outcome: string;
    /** JSON */
    detail: string;
  };
};

export type PublishDb = Kysely<Tables & PublishTables>;
export const publishDb = (db: Db): PublishDb => db.withTables<PublishTables>() as unknown as PublishDb;

export interface StoreRules {
  readonly rules: PublishRules;
  readonly input: PublishRulesInput;
  readonly hash: string;
  readonly customIdDefinition: string | null;
}

export async function loadRules(db: Db, storeId: number): Promise<StoreRules> {
  const row = await publishDb(db)
    .selectFrom("catalog_publish_settings")
    .selectAll()
    .where("store_id", "=", storeId)
    .executeTakeFirst();
  if (!row)
    return { rules: DEFAULT_RULES, input: {}, hash: rulesHash(DEFAULT_RULES), customIdDefinition: null };
  const input = JSON.parse(row.rules) as PublishRulesInput;
  return {
    rules: resolveRules(input),
    input,
    hash: row.rules_hash,
    customIdDefinition: row.custom_id_definition_gid,
  };
}

export async function saveRules(
  db: Db,
  storeId: number,
  input: PublishRulesInput,
  now: number,
): Promise<string> {
  const hash = rulesHash(resolveRules(input));
  await publishDb(db)
    .insertInto("catalog_publish_settings")
    .values({ store_id: storeId, rules: JSON.stringify(input), rules_hash: hash, updated_at: now })
    .onConflict((oc) =>
      oc.column("store_id").doUpdateSet({ rules: JSON.stringify(input), rules_hash: hash, updated_at: now }),
    )
    .execute();
  return hash;
}

export async function saveCustomIdDefinition(
  db: Db,
  storeId: number,
  gid: string,
  now: number,
): Promise<void> {
  await publishDb(db)
    .insertInto("catalog_publish_settings")
    .values({
      store_id: storeId,
      rules: "{}",
      rules_hash: rulesHash(DEFAULT_RULES),
      custom_id_definition_gid: gid,
      updated_at: now,
    })
    .onConflict((oc) => oc.column("store_id").doUpdateSet({ custom_id_definition_gid: gid }))
    .execute();
}

/**
 * Products whose desired hashes are out of date for this store: never computed, the product's
 * content changed, or the store's rules did. Products changed within the coalescing window wait,
 * so a burst of back-office edits becomes one publish.
 */
export async function staleProducts(
  db: Db,
  storeId: number,
  rules: string,
  settledBefore: number,
  limit: number,
): Promise<{ id: number; key: string; content_hash: string }[]> {
  const rows = await publishDb(db)
    .selectFrom("products as p")
    .leftJoin("catalog_publish_state as s", (j) =>
      j.onRef("s.product_id", "=", "p.id").on("s.store_id", "=", storeId),
    )
    .select(["p.id", "p.key", "p.content_hash"])
    .where((eb) =>
      eb.or([
        eb("s.product_id", "is", null),
        eb("s.source_hash", "<>", eb.ref("p.content_hash")),
        eb("s.rules_hash", "<>", rules),
      ]),
    )
    .where("p.updated_at", "<=", settledBefore)
    .orderBy("p.id")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: Number(r.id), key: r.key, content_hash: r.content_hash }));
}

export interface StateRow {
  readonly productId: number;
  readonly key: string;
  readonly desiredHash: string;
  readonly confirmedHash: string | null;
  readonly priceHash: string;
  readonly confirmedPriceHash: string | null;
  readonly shopifyProductGid: string | null;
  readonly owned: Owned;
  readonly attempts: number;
}

/** Records freshly computed desired hashes; a product whose hashes moved becomes due at once. */
export async function recordDesired(
  db: Db,
  storeId: number,
  productId: number,
  v: {
    sourceHash: string;
    rulesHash: string;
    hash: string;
    priceHash: string;
    refusal: PublishRefusal | null;
  },
  now: number,
): Promise<void> {
  const pdb = publishDb(db);
  const before = await pdb
    .selectFrom("catalog_publish_state")
    .select(["desired_hash", "price_hash", "confirmed_hash", "confirmed_price_hash", "status"])
    .where("store_id", "=", storeId)
    .where("product_id", "=", productId)
    .executeTakeFirst();
  const inSync = before?.confirmed_hash === v.hash && before?.confirmed_price_hash === v.priceHash;
  const status: PublishStatus = v.refusal ? "refused" : inSync ? "done" : "pending";
  const moved = !before || before.desired_hash !== v.hash || before.price_hash !== v.priceHash;
  const values = {
    source_hash: v.sourceHash,
    rules_hash: v.rulesHash,
    desired_hash: v.hash,
    price_hash: v.priceHash,
    status,
    ...(v.refusal ? { error: JSON.stringify(v.refusal) } : moved ? { error: null } : {}),
    ...(moved ? { attempts: 0, next_attempt_at: now } : {}),
    ...(moved && before?.status !== "pending" ? { marked_at: now } : {}),
    updated_at: now,
  };
  if (!before) {
    await pdb
      .insertInto("catalog_publish_state")
      .values({
        store_id: storeId,
        product_id: productId,
        ...values,
        confirmed_hash: null,
        confirmed_price_hash: null,
        shopify_product_gid: null,
        owned: null,
        attempts: 0,
        next_attempt_at: now,
        marked_at: now,
        published_at: null,
      })
      .onConflict((oc) => oc.columns(["store_id", "product_id"]).doUpdateSet(values))
      .execute();
  } else {
    await pdb
      .updateTable("catalog_publish_state")
      .set(values)
      .where("store_id", "=", storeId)
      .where("product_id", "=", productId)
      .execute();
  }
}

export async function dueProducts(db: Db, storeId: number, now: number, limit: number): Promise<StateRow[]> {
  const rows = await publishDb(db)
    .selectFrom("catalog_publish_state as s")
    .innerJoin("products as p", "p.id", "s.product_id")
    .select([
      "s.product_id",
      "p.key",
      "s.desired_hash",
      "s.confirmed_hash",
      "s.price_hash",
      "s.confirmed_price_hash",
      "s.shopify_product_gid",
      "s.owned",
      "s.attempts",
    ])
    .where("s.store_id", "=", storeId)
    .where("s.status", "=", "pending")
    .where("s.next_attempt_at", "<=", now)
    .orderBy("s.marked_at")
    .orderBy("s.product_id")
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    productId: Number(r.product_id),
    key: r.key,
    desiredHash: r.desired_hash,
    confirmedHash: r.confirmed_hash,
    priceHash: r.price_hash,
    confirmedPriceHash: r.confirmed_price_hash,
    shopifyProductGid: r.shopify_product_gid,
    owned: r.owned ? (JSON.parse(r.owned) as Owned) : NO_OWNED,
    attempts: Number(r.attempts),
  }));
}

/**
 * Shopify confirmed `hash` / `priceHash` for the product: recorded with what the hub now owns,
 * and the product link. The product stays due if it changed again meanwhile.
 */
export async function recordConfirmed(
  trx: Db,
  storeId: number,
  productId: number,
  v: { hash: string | null; priceHash: string; gid: string; owned: Owned },
  now: number,
): Promise<void> {
  const pdb = publishDb(trx);
  const row = await pdb
    .selectFrom("catalog_publish_state")
    .select(["desired_hash", "price_hash", "confirmed_hash"])
    .where("store_id", "=", storeId)
    .where("product_id", "=", productId)
    .executeTakeFirstOrThrow();
  const confirmed = v.hash ?? row.confirmed_hash;
  const done = row.desired_hash === confirmed && row.price_hash === v.priceHash;
  await pdb
    .updateTable("catalog_publish_state")
    .set({
      confirmed_hash: confirmed,
      confirmed_price_hash: v.priceHash,
      shopify_product_gid: v.gid,
      owned: JSON.stringify(v.owned),
      status: done ? "done" : "pending",
      error: null,
      attempts: 0,
      next_attempt_at: now,
      published_at: now,
      updated_at: now,
    })
    .where("store_id", "=", storeId)
    .where("product_id", "=", productId)
    .execute();
  // The product link the import also keeps (hub product ↔ Shopify product).
  await trx
    .insertInto("product_links")
    .values({ store_id: storeId, product_id: productId, shopify_product_gid: v.gid, linked_at: now })
    .onConflict((oc) => oc.columns(["store_id", "product_id"]).doUpdateSet({ shopify_product_gid: v.gid }))
    .execute();
  await linkPublishedVariants(trx, storeId, v.gid, v.owned, now);
}

/**
 * The variants the hub published are linked like matched ones, so their stock is the inventory
 * push's job (never the publish's): a new link makes the variant due for the push at once.
 */
async function linkPublishedVariants(
  trx: Db,
  storeId: number,
  productGid: string,
  owned: Owned,
  now: number,
) {
  const skus = Object.keys(owned.variants);
  if (skus.length === 0) return;
  const fresh: number[] = [];
  for (const part of chunks(skus, 500)) {
    const hub = await trx
      .selectFrom("variants as v")
      .leftJoin("variant_links as l", (j) =>
        j.onRef("l.variant_id", "=", "v.id").on("l.store_id", "=", storeId),
      )
      .select(["v.id", "v.sku", "l.inventory_item_gid"])
      .where("v.sku", "in", part)
      .execute();
    const links = hub.flatMap((h) => {
      const o = owned.variants[h.sku];
      return !o || h.inventory_item_gid === o.item ? [] : [{ variantId: Number(h.id), o }];
    });
    if (links.length === 0) continue;
    // An item may be linked to another hub variant (a SKU moved): the published one wins. Two
    // deletes (by item, by variant: each through its unique index; one with OR scanned the
    // store's links) and one insert for the product's variants (distinct SKUs, distinct items).
    await trx
      .deleteFrom("variant_links")
      .where("store_id", "=", storeId)
      .where(
        "inventory_item_gid",
        "in",
        links.map((l) => l.o.item),
      )
      .execute();
    await trx
      .deleteFrom("variant_links")
      .where("store_id", "=", storeId)
      .where(
        "variant_id",
        "in",
        links.map((l) => l.variantId),
      )
      .execute();
    await trx
      .insertInto("variant_links")
      .values(
        links.map((l) => ({
          store_id: storeId,
          variant_id: l.variantId,
          product_variant_gid: l.o.id,
          inventory_item_gid: l.o.item,
          matched_by: "sku",
          linked_at: now,
          shopify_product_gid: productGid,
        })),
      )
      .execute();
    fresh.push(...links.map((l) => l.variantId));
  }
  if (fresh.length > 0) await markStoreDirtyFor(trx, storeId, fresh, now);
}

/** Shopify refused the product (userErrors) or the hub's rules did: kept with its reason until it changes. */
export async function recordRefused(
  db: Db,
  storeId: number,
  productId: number,
  error: unknown,
  now: number,
  fence?: (trx: Db) => Promise<void>,
): Promise<void> {
  await fenced(db, fence, (d) =>
    publishDb(d)
      .updateTable("catalog_publish_state")
      .set({ status: "refused", error: JSON.stringify(error), updated_at: now })
      .where("store_id", "=", storeId)
      .where("product_id", "=", productId)
      .execute(),
  );
}

/** Shopify's userErrors as a product's refusal: each error with its field path, the first field. */
export function userErrorsRefusal(
  key: string,
  errors: readonly { field: readonly string[] | null; message: string; code: string | null }[],
  field: string | null = errors[0]?.field?.join(".") ?? null,
) {
  return {
    key,
    code: "SHOPIFY_USER_ERRORS",
    field,
    message: errors.map((e) => `${(e.field ?? []).join(".")}: ${e.message}`).join("; "),
    userErrors: errors,
  };
}

/** Shopify's answer when a large store's daily allowance of new variants is used up. */
export const DAILY_VARIANT_LIMIT = /daily variant creation limit/i;

/**
 * Not the product's fault: it waits for the next UTC day instead of failing in a loop. Returns
 * the message (for the activity log).
 */
export async function deferToNextDay(
  db: Db,
  storeId: number,
  product: { productId: number; key: string },
  attempts: number,
  now: number,
  fence?: (trx: Db) => Promise<void>,
): Promise<string> {
  const resume = (Math.floor(now / 86_400_000) + 1) * 86_400_000;
  const message = `Shopify lets a store with more than 50,000 variants create only 1,000 new variants a day; ${product.key} waits until ${new Date(resume).toISOString()}`;
  await recordRetry(
    db,
    storeId,
    product.productId,
    { key: product.key, code: "DAILY_VARIANT_LIMIT", field: "variants", message },
    attempts,
    resume,
    now,
    fence,
  );
  return message;
}

/** A write recording a Shopify outcome, refused once a newer owner holds the store's lease. */
async function fenced(
  db: Db,
  fence: ((trx: Db) => Promise<void>) | undefined,
  write: (d: Db) => Promise<unknown>,
) {
  if (!fence) return void (await write(db));
  await db.transaction().execute(async (trx) => {
    await fence(trx);
    await write(trx);
  });
}

/** A transient failure: retried later with backoff; other products go on. */
export async function recordRetry(
  db: Db,
  storeId: number,
  productId: number,
  error: unknown,
  attempts: number,
  next: number,
  now: number,
  fence?: (trx: Db) => Promise<void>,
): Promise<void> {
  await fenced(db, fence, (d) =>
    publishDb(d)
      .updateTable("catalog_publish_state")
      .set({ error: JSON.stringify(error), attempts, next_attempt_at: next, updated_at: now })
      .where("store_id", "=", storeId)
      .where("product_id", "=", productId)
      .execute(),
  );
}

/** The product link the import made, if any (publishing then updates that product). */
export async function linkedProduct(db: Db, storeId: number, productId: number): Promise<string | null> {
  const row = await db
    .selectFrom("product_links")
    .select("shopify_product_gid")
    .where("store_id", "=", storeId)
    .where("product_id", "=", productId)
    .executeTakeFirst();
  return row?.shopify_product_gid ?? null;
}

/** Backlog and lag of the flow (for the store's flow status). */
export async function publishQueue(
  db: Db,
  storeId: number,
): Promise<{
  backlog: number;
  oldestAt: number | null;
  lastSuccessAt: number | null;
  refused: number;
  failure: string | null;
}> {
  const pdb = publishDb(db);
  const waiting = await pdb
    .selectFrom("catalog_publish_state")
    .select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.min("marked_at").as("oldest")])
    .where("store_id", "=", storeId)
    .where("status", "=", "pending")
    .executeTakeFirstOrThrow();
  // Products changed since the reconciler last looked wait too (a paused flow does not look).
  const rules = await loadRules(db, storeId);
  const stale = await pdb
    .selectFrom("products as p")
    .leftJoin("catalog_publish_state as s", (j) =>
      j.onRef("s.product_id", "=", "p.id").on("s.store_id", "=", storeId),
    )
    .select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.min("p.updated_at").as("oldest")])
    .where((eb) =>
      eb.or([
        eb("s.product_id", "is", null),
        eb("s.source_hash", "<>", eb.ref("p.content_hash")),
        eb("s.rules_hash", "<>", rules.hash),
      ]),
    )
    .executeTakeFirstOrThrow();
  const last = await pdb
    .selectFrom("catalog_publish_state")
    .select((eb) => eb.fn.max("published_at").as("at"))
    .where("store_id", "=", storeId)
    .executeTakeFirst();
  const refused = await pdb
    .selectFrom("catalog_publish_state")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("store_id", "=", storeId)
    .where("status", "=", "refused")
    .executeTakeFirstOrThrow();
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const oldest = [num(waiting.oldest), num(stale.oldest)].filter((v): v is number => v !== null);
  return {
    backlog: Number(waiting.n) + Number(stale.n),
    oldestAt: oldest.length > 0 ? Math.min(...oldest) : null,
    lastSuccessAt: num(last?.at),
    refused: Number(refused.n),
    // A refused product is shown per product, never as the flow failing: the others go on.
    failure: null,
  };
}
