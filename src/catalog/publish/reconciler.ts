/**
 * The catalog publish reconciler of one store (flow `catalog_publish`), run under the store's
 * lease by the worker's store pass. Level-triggered like the inventory push:
 *
 * 1. products whose content or the store's rules changed (and settled for the coalescing window)
 *    get their desired hashes recomputed; a product whose hashes moved becomes due;
 * 2. due products are published: the whole product with `productSet` when the product hash
 *    differs from the confirmed one, only the prices (`productVariantsBulkUpdate`) when only the
 *    price hash does; unchanged products are never re-sent;
 * 3. Shopify's confirmation is recorded with the lease's fence; the product keeps its identity
 *    through the hub's key (`identifier.customId`) so a retry after a crash, or a duplicated
 *    run, updates the product it created instead of creating another.
 *
 * One product's refusal (Shopify's userErrors, or a rule) or transient failure never stops the
 * others.
 */
import type { Logger } from "pino";
import type { Db } from "../../db/database.ts";
import { backoffMs } from "../../jobs/backoff.ts";
import { LeaseLostError } from "../../runtime/leases.ts";
import { ShopifyAuthError } from "../../shopify/errors.ts";
import type { AdminTransport, GraphQLCallOptions } from "../../shopify/transport.ts";
import { logActivity } from "../../shops/activity.ts";
import { getProduct } from "../products-store.ts";
import { advanceBulkPublish, priceUpdateVariants } from "./bulk-publish.ts";
import { type DesiredOutcome, desiredProduct, imagesHash, type Owned, productSetPlan } from "./desired.ts";
import {
  DAILY_VARIANT_LIMIT,
  deferToNextDay,
  dueProducts,
  linkedProduct,
  loadRules,
  recordConfirmed,
  recordDesired,
  recordRefused,
  recordRetry,
  type StateRow,
  type StoreRules,
  saveCustomIdDefinition,
  staleProducts,
  userErrorsRefusal,
} from "./publish-store.ts";
import type { PublishRules } from "./rules.ts";
import {
  ensureCustomIdDefinition,
  PublishReadLimit,
  publishToChannels,
  readCurrentProduct,
  readPublications,
  sendPrices,
  sendProductSet,
} from "./shopify-publish.ts";

export interface PublishDeps {
  readonly db: Db;
  readonly now: () => number;
  readonly logger: Logger;
  /** Products changed within this window wait (a burst of edits becomes one publish). */
  readonly windowMs: number;
  readonly random?: () => number;
  /** For uploading and downloading bulk files (default global fetch). */
  readonly fetch?: typeof fetch;
  /**
   * Products published at once (default: `publishInFlight` of the store's restore rate). Each
   * product's calls are sequential (read, then productSet); several products overlap, in the
   * transport's `catalog_publish` lane, so a large plan's budget is filled although each call
   * waits ~100-300 ms for its answer (the transport still caps the lane and reserves each
   * call's cost against the bucket).
   */
  readonly inFlight?: number;
}

export interface PublishCycleResult {
  readonly refreshed: number;
  readonly published: number;
  readonly priced: number;
  readonly refused: number;
  readonly failed: number;
  /** Waiting for Shopify's daily allowance of new variants. */
  readonly deferred: number;
  /** More due products than one cycle takes. */
  readonly remaining: boolean;
  /** A bulk publish runs (the store's publish waits for it). */
  readonly bulk?: boolean;
}

const REFRESH_PER_CYCLE = 500;
/** Due products taken by one cycle: several waves of the products in flight, 25 at least. */
const PUBLISH_WAVES_PER_CYCLE = 4;
const PUBLISH_PER_CYCLE_MIN = 25;
/** Products in flight before the store's bucket is known, and on small plans. */
export const PUBLISH_IN_FLIGHT = 4;
/** Products in flight at most (the hub's transports allow this many calls in the publish's lane). */
export const PUBLISH_IN_FLIGHT_MAX = 48;
/** Restore rate (points/s) per product in flight: Plus (1,000/s) gets 45, Advanced 9, Standard 4. */
const POINTS_PER_SECOND_PER_PRODUCT = 22;

/**
 * How many products to publish at once for a store restoring `restoreRate` points a second. A
 * product of 5 variants costs ~11 points over 2 calls: at 100 ms a call, one product in flight
 * spends ~55 points/s, but it also waits between its calls (the hub reads and records): Plus
 * needed 32 at once to reach its restore rate at 10,000 products (bench:catalog-publish, 24
 * gave 0.83 of it) and 44 to spend its starting bucket as well (0.95 of bucket + restore rate
 * in 96 s, none throttled; 32 gave 0.85); on Standard 4 already wait for the budget, and more
 * would only crowd out the other flows' calls. Every call reserves its cost first, so more in
 * flight never exceeds the bucket.
 */
export function publishInFlight(restoreRate: number | undefined): number {
  if (!restoreRate || !Number.isFinite(restoreRate)) return PUBLISH_IN_FLIGHT;
  const n = Math.floor(restoreRate / POINTS_PER_SECOND_PER_PRODUCT);
  return Math.min(PUBLISH_IN_FLIGHT_MAX, Math.max(PUBLISH_IN_FLIGHT, n));
}
const RETRY = { baseMs: 5_000, capMs: 3600_000 };

/** Rethrown: the pass must stop (lease gone) or the flow is failing (token, scope). */
const fatal = (err: unknown) => err instanceof LeaseLostError || err instanceof ShopifyAuthError;

export async function refreshDesired(
  deps: PublishDeps,
  storeId: number,
  rules: StoreRules,
  limit = REFRESH_PER_CYCLE,
): Promise<number> {
  const now = deps.now();
  const stale = await staleProducts(deps.db, storeId, rules.hash, now - deps.windowMs, limit);
  for (const p of stale) {
    const d = desiredProduct(await getProduct(deps.db, p.key), rules.rules);
    await recordDesired(
      deps.db,
      storeId,
      p.id,
      {
        sourceHash: p.content_hash,
        rulesHash: rules.hash,
        hash: d.hash,
        priceHash: d.priceHash,
        refusal: d.ok ? null : ({ ...d.refusal, key: p.key } as never),
      },
      now,
    );
  }
  return stale.length;
}

export async function runPublishCycle(
  deps: PublishDeps,
  store: { id: number; domain: string },
  transport: AdminTransport,
): Promise<PublishCycleResult> {
  let rules = await loadRules(deps.db, store.id);
  const refreshed = await refreshDesired(deps, store.id, rules);
  // Many products changed at once (a first publish, a rule change): their desired state is all
  // computed before anything is sent, so the bulk path sees them together.
  if (refreshed >= REFRESH_PER_CYCLE)
    return { refreshed, published: 0, priced: 0, refused: 0, failed: 0, deferred: 0, remaining: true };
  const bucket = transport.throttleState?.();
  const inFlight = Math.max(
    1,
    deps.inFlight ?? publishInFlight(bucket?.observed ? bucket.restoreRate : undefined),
  );
  const perCycle = Math.max(PUBLISH_PER_CYCLE_MIN, inFlight * PUBLISH_WAVES_PER_CYCLE);
  const due = await dueProducts(deps.db, store.id, deps.now(), perCycle + 1);
  const result = {
    refreshed,
    published: 0,
    priced: 0,
    refused: 0,
    failed: 0,
    deferred: 0,
    remaining: due.length > perCycle,
  };
  if (due.length === 0) return result;
  if (!rules.customIdDefinition) {
    const gid = await ensureCustomIdDefinition(transport);
    await saveCustomIdDefinition(deps.db, store.id, gid, deps.now());
    rules = { ...rules, customIdDefinition: gid };
  }
  // A first publish of many products goes through a bulk mutation (bulk-publish.ts).
  const bulk = await advanceBulkPublish(
    { db: deps.db, now: deps.now, ...(deps.fetch ? { fetch: deps.fetch } : {}) },
    store,
    transport,
    rules,
  );
  result.published += bulk.published;
  result.refused += bulk.refused;
  result.deferred += bulk.deferred;
  if (bulk.busy) return { ...result, bulk: true, remaining: false };
  // A bulk run just ended: the next cycle decides afresh (more new products may go in bulk).
  if (bulk.published + bulk.refused + bulk.deferred > 0) return { ...result, remaining: true };
  let publications: Promise<Map<string, string>> | undefined;
  const channels = () => {
    publications ??= readPublications(transport);
    return publications;
  };
  const laned = inLane(transport, "catalog_publish", inFlight);
  const one = async (row: StateRow) => {
    try {
      const outcome = await publishOne(deps, store.id, laned, rules.rules, row, channels);
      result[outcome]++;
    } catch (err) {
      if (fatal(err)) throw err;
      if (err instanceof PublishReadLimit) {
        await recordRefused(
          deps.db,
          store.id,
          row.productId,
          { key: row.key, code: err.code, field: null, message: err.message },
          deps.now(),
          transport.fence,
        );
        result.refused++;
        return;
      }
      result.failed++;
      const now = deps.now();
      const attempts = row.attempts + 1;
      const message = err instanceof Error ? err.message : String(err);
      deps.logger.warn(
        { store: store.domain, product: row.key, err: message },
        "catalog publish: product failed, retried later",
      );
      await recordRetry(
        deps.db,
        store.id,
        row.productId,
        { key: row.key, code: "SHOPIFY_ERROR", field: null, message },
        attempts,
        now + backoffMs(attempts, RETRY, deps.random),
        now,
        transport.fence,
      );
    }
  };
  await eachInFlight(due.slice(0, perCycle), inFlight, one);
  return result;
}

/**
 * The transport with every call in the lane `name` of `inFlight` calls (GraphQLCallOptions.lane):
 * the products' calls overlap up to that many, beside the other flows' default lane.
 */
export function inLane(transport: AdminTransport, name: string, inFlight: number): AdminTransport {
  return {
    ...transport,
    store: transport.store,
    graphql: <T>(document: string, variables?: Record<string, unknown>, options?: GraphQLCallOptions) =>
      transport.graphql<T>(document, variables, { ...options, lane: { name, inFlight } }),
  };
}

/**
 * Runs `work` over the items with at most `limit` at once. The first error stops taking new
 * items; it is thrown once the ones in flight have ended (none is left running unobserved).
 */
async function eachInFlight<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw failure.err;
}

type Outcome = "published" | "priced" | "refused" | "deferred";

async function publishOne(
  deps: PublishDeps,
  storeId: number,
  transport: AdminTransport,
  rules: PublishRules,
  row: StateRow,
  channels: () => Promise<Map<string, string>>,
): Promise<Outcome> {
  const product = await getProduct(deps.db, row.key);
  const d: DesiredOutcome = desiredProduct(product, rules);
  const now = deps.now();
  const refuse = async (refusal: unknown) => {
    await recordRefused(deps.db, storeId, row.productId, refusal, now, transport.fence);
    return "refused" as const;
  };
  if (!d.ok) return refuse({ key: row.key, ...d.refusal });
  const owned = row.owned;
  const priceOnly =
    row.shopifyProductGid !== null &&
    d.hash === row.confirmedHash &&
    d.product.variants.every((v) => owned.variants[v.sku] !== undefined);
  if (priceOnly) {
    if (d.priceHash === row.confirmedPriceHash) {
      await confirm(deps, transport, storeId, row, {
        hash: null,
        priceHash: d.priceHash,
        gid: row.shopifyProductGid!,
        owned,
      });
      return "priced";
    }
    const variants = priceUpdateVariants(d.product, owned, rules);
    const errors = await sendPrices(transport, row.shopifyProductGid!, variants);
    if (errors.length > 0) {
      // A variant deleted in Shopify since: the whole product is published next time.
      if (
        errors.some((e) => e.code === "PRODUCT_VARIANT_DOES_NOT_EXIST" || e.code === "PRODUCT_DOES_NOT_EXIST")
      ) {
        await confirm(deps, transport, storeId, row, {
          hash: "stale",
          priceHash: row.confirmedPriceHash ?? "",
          gid: row.shopifyProductGid!,
          owned,
        });
        throw new Error(
          `prices of ${row.key}: Shopify no longer has a variant; the product is published whole next`,
        );
      }
      return refuse(userErrorsRefusal(row.key, errors));
    }
    await confirm(deps, transport, storeId, row, {
      hash: null,
      priceHash: d.priceHash,
      gid: row.shopifyProductGid!,
      owned,
    });
    return "priced";
  }

  // The whole product: Shopify's copy is read first (by the known id, else by the hub's key), so
  // the lists sent keep what the hub did not create.
  const gid = row.shopifyProductGid ?? (await linkedProduct(deps.db, storeId, row.productId));
  let current = gid ? await readCurrentProduct(transport, { id: gid }) : null;
  current ??= await readCurrentProduct(transport, { key: row.key });
  const plan = productSetPlan(d.product, current, owned, rules);
  if (!plan.ok) {
    return refuse({ key: row.key, ...plan.refusal });
  }
  // Sales channels are resolved before anything is written: an unknown one refuses the product.
  const wantChannels = rules.salesChannels;
  const publishChannels =
    wantChannels.length > 0 && JSON.stringify(owned.channels ?? []) !== JSON.stringify(wantChannels);
  let publicationIds: string[] = [];
  if (publishChannels) {
    const known = await channels();
    const unknown = wantChannels.filter((c) => !known.has(c));
    if (unknown.length > 0) {
      return refuse({
        key: row.key,
        code: "UNKNOWN_SALES_CHANNEL",
        field: "salesChannels",
        message: `the store has no sales channel ${unknown.join(", ")} (it has ${[...known.keys()].join(", ") || "none"}); change the store's publish rules`,
      });
    }
    publicationIds = wantChannels.map((c) => known.get(c)!);
  }
  const sent = await sendProductSet(transport, plan.identifier, plan.input);
  if (!sent.ok && sent.userErrors.some((e) => DAILY_VARIANT_LIMIT.test(e.message))) {
    const message = await deferToNextDay(deps.db, storeId, row, row.attempts, now, transport.fence);
    await logActivity(
      deps.db,
      { storeId, flow: "catalog_publish", kind: "daily_variant_limit", level: "warn", message },
      now,
    );
    return "deferred";
  }
  if (!sent.ok) {
    return refuse(userErrorsRefusal(row.key, sent.userErrors));
  }
  if (publishChannels) {
    const errors = await publishToChannels(transport, sent.productId, publicationIds);
    if (errors.length > 0) {
      return refuse(userErrorsRefusal(row.key, errors, "salesChannels"));
    }
  }
  const bySku = new Map(sent.variants.filter((v) => v.sku).map((v) => [v.sku!, v]));
  const kept = new Set(plan.keptMedia);
  const nextOwned: Owned = {
    variants: Object.fromEntries(
      d.product.variants.flatMap((v) => {
        const s = bySku.get(v.sku);
        return s ? [[v.sku, { id: s.id, item: s.item }]] : [];
      }),
    ),
    media: plan.input.files ? sent.media.filter((m) => !kept.has(m)) : owned.media,
    imagesHash: plan.input.files ? imagesHash(d.product.images) : owned.imagesHash,
    channels: publishChannels ? wantChannels : owned.channels,
    metafields: [
      ...new Set([...(rules.fields.metafields === "always" ? [] : owned.metafields), ...plan.metafieldKeys]),
    ],
  };
  await confirm(deps, transport, storeId, row, {
    hash: d.hash,
    priceHash: d.priceHash,
    gid: sent.productId,
    owned: nextOwned,
  });
  return "published";
}

async function confirm(
  deps: PublishDeps,
  transport: AdminTransport,
  storeId: number,
  row: StateRow,
  v: { hash: string | null; priceHash: string; gid: string; owned: Owned },
): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await transport.fence?.(trx);
    await recordConfirmed(trx, storeId, row.productId, v, deps.now());
  });
}
