/**
 * The bulk path of the catalog publish (issue 16): a first publish of many products (more than
 * `BULK_THRESHOLD` new products due at once) goes through `bulkOperationRunMutation` instead of a
 * `productSet` call each. Products the store has never seen (no confirmation, no link) are written
 * to a JSONL file of productSet variables (identified by the hub's key, `identifier.customId`, so
 * a run repeated after a crash updates what the first one created), uploaded through
 * `stagedUploadsCreate`, run by Shopify, and every line of the result file is recorded per
 * product: confirmed with what the hub now owns, refused with Shopify's userErrors, or deferred
 * to the next day by the daily variant limit. Sales channels follow in a second bulk mutation
 * (`publishablePublish`). Small changes keep the synchronous path under the store's throttle.
 *
 * A change that touches many products the store already has (a rule change: the title template,
 * a field switched on) goes the same way in two steps: one bulk query reads the store's products
 * (`CATALOG_BULK_QUERY`, grouped), each due product's productSet is planned against what Shopify
 * holds (the merchant's variants and metafields kept, as on the synchronous path), and the lines
 * run as one bulk mutation. A product whose images would be sent goes the synchronous way (the
 * bulk read sees images only, and productSet's file list would drop the merchant's other media).
 *
 * Non-blocking: each reconciler cycle looks at the running operation once; while it runs, the
 * store's publish waits (no product is sent twice at once). The operation's id is recorded
 * (`catalog_publish_bulk`) before the cycle returns, so a restarted worker resumes it.
 */
import { sql } from "kysely";
import type { Db } from "../../db/database.ts";
import { startBulkMutation, uploadBulkVariables } from "../../shopify/bulk-mutation.ts";
import {
  BULK_OPERATION_STATUS,
  type BulkOperationStatus,
  RUN_BULK_QUERY,
  readJsonl,
} from "../../shopify/bulk-query.ts";
import { graphql } from "../../shopify/graphql.ts";
import type { AdminTransport } from "../../shopify/transport.ts";
import { logActivity } from "../../shops/activity.ts";
import { getProduct } from "../products-store.ts";
import { CATALOG_BULK_QUERY, ProductAssembler, type ShopifyCatalogProduct } from "../shopify-catalog.ts";
import {
  type CurrentProduct,
  type DesiredOutcome,
  type DesiredProduct,
  desiredProduct,
  imagesHash,
  NO_OWNED,
  type Owned,
  type ProductSetPlan,
  productSetPlan,
} from "./desired.ts";
import {
  DAILY_VARIANT_LIMIT,
  deferToNextDay,
  publishDb,
  recordConfirmed,
  recordRefused,
  recordRetry,
  type StoreRules,
  userErrorsRefusal,
} from "./publish-store.ts";
import type { PublishRules } from "./rules.ts";
import {
  currentProductOf,
  PRICE_UPDATE,
  readPublications,
  type ShopifyUserError,
  variantOf,
} from "./shopify-publish.ts";

/** New products due at once above which the first publish goes through a bulk mutation. */
export const BULK_PUBLISH = {
  threshold: 200,
  maxLines: 10_000,
  /**
   * Off: no new bulk run starts (a running one still ends); bench:catalog-publish measures the
   * synchronous path this way, without the bulk path's candidate queries in every cycle.
   */
  startRuns: true,
};

export const BULK_PRODUCT_SET = graphql`
  mutation TillbridgeBulkProductSet($identifier: ProductSetIdentifiers, $input: ProductSetInput!) {
    productSet(identifier: $identifier, input: $input) {
      product {
        id
        variants(first: 250) {
          nodes {
            id
            sku
            inventoryItem {
              id
            }
          }
        }
        media(first: 250) {
          nodes {
            id
          }
        }
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

export const BULK_PUBLISHABLE_PUBLISH = graphql`
  mutation TillbridgeBulkPublish($id: ID!, $input: [PublicationInput!]!) {
    publishablePublish(id: $id, input: $input) {
      userErrors {
        field
        message
      }
    }
  }
`;

interface ProductLine {
  readonly productId: number;
  readonly key: string;
  readonly hash: string;
  readonly priceHash: string;
  readonly imagesHash: string;
  readonly hasFiles: boolean;
  readonly skus: readonly string[];
  readonly metafieldKeys: readonly string[];
  /** An update: what the hub owned before that this publish does not replace. */
  readonly previous?: Pick<Owned, "media" | "imagesHash" | "channels">;
}

/** A product the store has, due for a whole publish: read first (phase "read"). */
interface ReadLine {
  readonly productId: number;
  readonly key: string;
  readonly gid: string;
}

interface ChannelLine {
  readonly productId: number;
  readonly hash: string;
}

interface PriceLine {
  readonly productId: number;
  readonly key: string;
  readonly gid: string;
  readonly priceHash: string;
}

/** What one run holds: its phase, a line per product (in the file's order), the publications. */
type Run<P extends string, L> = {
  readonly phase: P;
  readonly items: readonly L[];
  readonly channels: readonly string[];
};
type Lines =
  | Run<"products", ProductLine>
  | Run<"channels", ChannelLine>
  | Run<"prices", PriceLine>
  | Run<"read", ReadLine>;

type BulkRow = {
  id: number;
  store_id: number;
  operation_gid: string | null;
  status: "starting" | "running" | "done" | "failed" | "abandoned";
  lines: string;
  error: string | null;
  started_at: number;
  finished_at: number | null;
};
type BulkTables = { catalog_publish_bulk: BulkRow & { id: import("kysely").Generated<number> } };
const bulkDb = (db: Db) => db.withTables<BulkTables>();

export interface BulkDeps {
  readonly db: Db;
  readonly now: () => number;
  readonly fetch?: typeof fetch;
}

export interface BulkAdvance {
  /** A bulk operation runs: the store's publish waits for it. */
  readonly busy: boolean;
  readonly published: number;
  readonly refused: number;
  readonly deferred: number;
}

const PHASE = {
  products: "publish",
  channels: "channel publish",
  prices: "price update",
  read: "read of the store's products",
} as const;
/** After a bulk mutation failed, the synchronous path takes over for this long. */
const BULK_PAUSE_AFTER_FAILURE_MS = 15 * 60_000;

async function setRow(db: Db, id: number, values: Partial<BulkRow>) {
  await bulkDb(db).updateTable("catalog_publish_bulk").set(values).where("id", "=", id).execute();
}

/** Products the store has never seen: never confirmed, no Shopify product known, none of their variants linked. */
async function newProducts(db: Db, storeId: number, now: number, limit: number) {
  const rows = await publishDb(db)
    .selectFrom("catalog_publish_state as s")
    .innerJoin("products as p", "p.id", "s.product_id")
    .select(["s.product_id", "p.key"])
    .where("s.store_id", "=", storeId)
    .where("s.status", "=", "pending")
    .where("s.next_attempt_at", "<=", now)
    .where("s.confirmed_hash", "is", null)
    .where("s.shopify_product_gid", "is", null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("product_links as pl")
            .select(sql.lit(1).as("one"))
            .whereRef("pl.product_id", "=", "s.product_id")
            .where("pl.store_id", "=", storeId),
        ),
      ),
    )
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("variant_links as l")
            .innerJoin("variants as v", "v.id", "l.variant_id")
            .select(sql.lit(1).as("one"))
            .whereRef("v.product_id", "=", "s.product_id")
            .where("l.store_id", "=", storeId),
        ),
      ),
    )
    .orderBy("s.product_id")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ productId: Number(r.product_id), key: r.key }));
}

type Planned = { d: Extract<DesiredOutcome, { ok: true }>; plan: Extract<ProductSetPlan, { ok: true }> };

/**
 * The product's desired state and productSet plan against Shopify's copy (null: a new product);
 * a refusal (the store's rules, or the plan) is recorded for the product and gives null.
 */
async function planned(
  deps: BulkDeps,
  store: { id: number },
  transport: AdminTransport,
  rules: StoreRules,
  line: { productId: number; key: string },
  current: CurrentProduct | null,
  owned: Owned,
): Promise<Planned | null> {
  const d = desiredProduct(await getProduct(deps.db, line.key), rules.rules);
  const plan = d.ok ? productSetPlan(d.product, current, owned, rules.rules) : null;
  const refusal = !d.ok ? d.refusal : plan && !plan.ok ? plan.refusal : null;
  if (refusal || !d.ok || !plan?.ok) {
    await recordRefused(
      deps.db,
      store.id,
      line.productId,
      { key: line.key, ...refusal },
      deps.now(),
      transport.fence,
    );
    return null;
  }
  return { d, plan };
}

/** A run's row, before Shopify is asked (a crash after the ask finds it "starting"). */
async function insertRun(deps: BulkDeps, storeId: number, lines: Lines): Promise<number> {
  const inserted = await bulkDb(deps.db)
    .insertInto("catalog_publish_bulk")
    .values({
      store_id: storeId,
      operation_gid: null,
      status: "starting",
      lines: JSON.stringify(lines),
      error: null,
      started_at: deps.now(),
      finished_at: null,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return Number(inserted.id);
}

/**
 * Products the store has that are due for a whole publish (their content or the store's rules
 * changed since Shopify confirmed them), not price-only.
 */
async function changedProducts(db: Db, storeId: number, now: number, limit: number): Promise<ReadLine[]> {
  const rows = await publishDb(db)
    .selectFrom("catalog_publish_state as s")
    .innerJoin("products as p", "p.id", "s.product_id")
    .select(["s.product_id", "p.key", "s.shopify_product_gid"])
    .where("s.store_id", "=", storeId)
    .where("s.status", "=", "pending")
    .where("s.next_attempt_at", "<=", now)
    .where("s.shopify_product_gid", "is not", null)
    .where((eb) =>
      eb.or([eb("s.confirmed_hash", "is", null), eb("s.confirmed_hash", "<>", eb.ref("s.desired_hash"))]),
    )
    .orderBy("s.product_id")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ productId: Number(r.product_id), key: r.key, gid: r.shopify_product_gid! }));
}

/** Starts the bulk read of the store's products; the publish waits for it like for a mutation. */
async function startRead(
  deps: BulkDeps,
  store: { id: number; domain: string },
  transport: AdminTransport,
  items: readonly ReadLine[],
): Promise<BulkAdvance> {
  const idle = { busy: false, published: 0, refused: 0, deferred: 0 };
  const id = await insertRun(deps, store.id, { phase: "read", items, channels: [] });
  const r = await transport.graphql<{
    bulkOperationRunQuery: {
      bulkOperation: { id: string } | null;
      userErrors: { message: string; code: string | null }[];
    };
  }>(RUN_BULK_QUERY, { query: CATALOG_BULK_QUERY, groupObjects: true });
  const op = r.data.bulkOperationRunQuery;
  if (!op.bulkOperation) {
    // Another bulk operation of the app runs (an import, a link): the synchronous path goes on.
    await setRow(deps.db, id, {
      status: "abandoned",
      error: `Shopify refused the bulk read: ${op.userErrors.map((e) => e.message).join("; ")}`,
      finished_at: deps.now(),
    });
    return idle;
  }
  await deps.db.transaction().execute(async (trx) => {
    await transport.fence?.(trx);
    await setRow(trx, id, { status: "running", operation_gid: op.bulkOperation!.id });
  });
  return { ...idle, busy: true };
}

/** What the synchronous path reads of a product, from the bulk read's reassembled product. */
const currentOf = (p: ShopifyCatalogProduct): CurrentProduct =>
  currentProductOf(p, {
    variants: p.variants.map(variantOf),
    media: p.images.map((m) => ({ id: m.id, url: m.url, alt: m.alt })),
    metafields: p.metafields,
  });

/**
 * The bulk read ended: each due product's productSet is planned against Shopify's copy and the
 * lines start as one bulk mutation. Products whose images would be sent, and products Shopify no
 * longer has, stay due for the synchronous path.
 */
async function startUpdates(
  deps: BulkDeps,
  store: { id: number; domain: string },
  transport: AdminTransport,
  rules: StoreRules,
  read: Extract<Lines, { phase: "read" }>,
  url: string | null,
): Promise<BulkAdvance> {
  const idle = { busy: false, published: 0, refused: 0, deferred: 0 };
  if (!url) return idle;
  const byGid = new Map(read.items.map((i) => [i.gid, i]));
  const items: ProductLine[] = [];
  const variables: unknown[] = [];
  let refused = 0;
  let needChannels = false;
  const plan = async (shopify: ShopifyCatalogProduct) => {
    const line = byGid.get(shopify.id);
    if (!line) return;
    const state = await publishDb(deps.db)
      .selectFrom("catalog_publish_state")
      .select(["owned", "status"])
      .where("store_id", "=", store.id)
      .where("product_id", "=", line.productId)
      .executeTakeFirst();
    if (state?.status !== "pending") return;
    const owned = state.owned ? (JSON.parse(state.owned) as Owned) : NO_OWNED;
    const r = await planned(deps, store, transport, rules, line, currentOf(shopify), owned);
    if (!r) {
      refused++;
      return;
    }
    const { d, plan: p } = r;
    if (p.input.files) return; // images to send: the synchronous path (see the head comment)
    const wanted = rules.rules.salesChannels;
    if (wanted.length > 0 && JSON.stringify(owned.channels ?? []) !== JSON.stringify(wanted))
      needChannels = true;
    items.push({
      productId: line.productId,
      key: line.key,
      hash: d.hash,
      priceHash: d.priceHash,
      imagesHash: imagesHash(d.product.images),
      hasFiles: false,
      skus: d.product.variants.map((v) => v.sku),
      metafieldKeys: [
        ...new Set([
          ...(rules.rules.fields.metafields === "always" ? [] : owned.metafields),
          ...p.metafieldKeys,
        ]),
      ],
      previous: {
        media: owned.media,
        ...(owned.imagesHash ? { imagesHash: owned.imagesHash } : {}),
        ...(owned.channels ? { channels: owned.channels } : {}),
      },
    });
    variables.push({ identifier: p.identifier, input: p.input });
  };
  const assembler = new ProductAssembler();
  for await (const row of readJsonl(url, transport.store, deps.fetch)) {
    const done = assembler.push(row as Record<string, unknown>);
    if (done) await plan(done);
  }
  const last = assembler.finish();
  if (last) await plan(last);
  if (items.length === 0) return { ...idle, refused };
  let publicationIds: string[] = [];
  if (needChannels) {
    const known = await readPublications(transport);
    // An unknown channel: the synchronous path refuses each product with the reason.
    if (rules.rules.salesChannels.some((c) => !known.has(c))) return { ...idle, refused };
    publicationIds = rules.rules.salesChannels.map((c) => known.get(c)!);
  }
  return startProducts(deps, store, transport, items, variables, publicationIds, refused);
}

/** Starts the products' bulk mutation (after their refusals were recorded). */
async function startProducts(
  deps: BulkDeps,
  store: { id: number; domain: string },
  transport: AdminTransport,
  items: ProductLine[],
  variables: unknown[],
  channels: string[],
  refused: number,
): Promise<BulkAdvance> {
  const busy = await start(deps, store, transport, { phase: "products", items, channels }, variables);
  return { busy, published: 0, refused, deferred: 0 };
}

async function operationStatus(transport: AdminTransport, id: string) {
  const r = await transport.graphql<{
    bulkOperation: { status: BulkOperationStatus; errorCode: string | null; url: string | null } | null;
  }>(BULK_OPERATION_STATUS, { id });
  return r.data.bulkOperation;
}

/**
 * One step of the bulk path for a store: looks at the running operation (recording its results
 * once it ended), or starts one when enough new products are due.
 */
export async function advanceBulkPublish(
  deps: BulkDeps,
  store: { id: number; domain: string },
  transport: AdminTransport,
  rules: StoreRules,
): Promise<BulkAdvance> {
  const idle = { busy: false, published: 0, refused: 0, deferred: 0 };
  const bdb = bulkDb(deps.db);
  const open = await bdb
    .selectFrom("catalog_publish_bulk")
    .selectAll()
    .where("store_id", "=", store.id)
    .where("status", "in", ["starting", "running"])
    .orderBy("id", "desc")
    .executeTakeFirst();
  if (open && (open.status === "starting" || !open.operation_gid)) {
    // A crash between the upload and recording the operation: the products are identified by
    // their key, so publishing them again can never duplicate one.
    await setRow(deps.db, Number(open.id), { status: "abandoned", finished_at: deps.now() });
  } else if (open) {
    const op = await operationStatus(transport, open.operation_gid!);
    if (op && (op.status === "CREATED" || op.status === "RUNNING" || op.status === "CANCELING"))
      return { ...idle, busy: true };
    const lines = JSON.parse(open.lines) as Lines;
    if (op?.status !== "COMPLETED") {
      const message = `bulk ${PHASE[lines.phase]} ${open.operation_gid} ended ${op?.status ?? "missing"}${op?.errorCode ? ` (${op.errorCode})` : ""}; the products are published one by one`;
      await setRow(deps.db, Number(open.id), { status: "failed", error: message, finished_at: deps.now() });
      await logActivity(
        deps.db,
        { storeId: store.id, flow: "catalog_publish", kind: "bulk_failed", level: "warn", message },
        deps.now(),
      );
      return idle;
    }
    if (lines.phase === "read") {
      const next = await startUpdates(deps, store, transport, rules, lines, op.url);
      // Nothing went in bulk (images to send, an unknown channel): the synchronous path takes
      // these products, and the pause after a failed run keeps them from being read again at once.
      await setRow(deps.db, Number(open.id), {
        status: next.busy ? "done" : "failed",
        error: next.busy ? null : "no product could go in bulk; they are published one by one",
        finished_at: deps.now(),
      });
      return next;
    }
    const outcome =
      lines.phase === "products"
        ? await recordProductResults(deps, store, transport, lines, op.url)
        : lines.phase === "channels"
          ? await recordChannelResults(deps, store, transport, lines, op.url)
          : await recordPriceResults(deps, store, transport, lines, op.url);
    await setRow(deps.db, Number(open.id), { status: "done", finished_at: deps.now() });
    await logActivity(
      deps.db,
      {
        storeId: store.id,
        flow: "catalog_publish",
        kind: "bulk_done",
        message: `bulk ${PHASE[lines.phase]}: ${outcome.published} ${lines.phase === "prices" ? "priced" : "published"}, ${outcome.refused} refused, ${outcome.deferred} deferred`,
        data: { operation: open.operation_gid, ...outcome },
      },
      deps.now(),
    );
    if (lines.phase === "products" && outcome.channelLines.length > 0) {
      const started = await start(
        deps,
        store,
        transport,
        {
          phase: "channels",
          items: outcome.channelLines,
          channels: lines.channels,
        },
        outcome.channelVariables,
      );
      return { ...outcome, busy: started };
    }
    return {
      busy: false,
      published: outcome.published,
      refused: outcome.refused,
      deferred: outcome.deferred,
    };
  }

  if (!BULK_PUBLISH.startRuns) return idle;
  const recentFailure = await bdb
    .selectFrom("catalog_publish_bulk")
    .select("id")
    .where("store_id", "=", store.id)
    .where("status", "=", "failed")
    .where("finished_at", ">", deps.now() - BULK_PAUSE_AFTER_FAILURE_MS)
    .executeTakeFirst();
  if (recentFailure) return idle;
  const candidates = await newProducts(deps.db, store.id, deps.now(), BULK_PUBLISH.maxLines);
  if (candidates.length < BULK_PUBLISH.threshold) {
    const changed = await changedProducts(deps.db, store.id, deps.now(), BULK_PUBLISH.maxLines);
    if (changed.length >= BULK_PUBLISH.threshold) return startRead(deps, store, transport, changed);
    return startPriceBulk(deps, store, transport, rules);
  }
  // Unknown sales channels: the synchronous path refuses each product with the reason.
  const channels = rules.rules.salesChannels;
  let publicationIds: string[] = [];
  if (channels.length > 0) {
    const known = await readPublications(transport);
    if (channels.some((c) => !known.has(c))) return idle;
    publicationIds = channels.map((c) => known.get(c)!);
  }
  const items: ProductLine[] = [];
  const variables: unknown[] = [];
  let refused = 0;
  for (const c of candidates) {
    const r = await planned(deps, store, transport, rules, c, null, NO_OWNED);
    if (!r) {
      refused++;
      continue;
    }
    const { d, plan } = r;
    items.push({
      productId: c.productId,
      key: c.key,
      hash: d.hash,
      priceHash: d.priceHash,
      imagesHash: imagesHash(d.product.images),
      hasFiles: Boolean(plan.input.files),
      skus: d.product.variants.map((v) => v.sku),
      metafieldKeys: plan.metafieldKeys,
    });
    variables.push({ identifier: plan.identifier, input: plan.input });
  }
  if (items.length === 0) return { ...idle, refused };
  return startProducts(deps, store, transport, items, variables, publicationIds, refused);
}

/** Uploads the variables and starts the operation; false when Shopify refused to start it. */
async function start(
  deps: BulkDeps,
  store: { id: number; domain: string },
  transport: AdminTransport,
  lines: Lines,
  variables: readonly unknown[],
): Promise<boolean> {
  const id = await insertRun(deps, store.id, lines);
  const key = await uploadBulkVariables(transport, variables, deps.fetch);
  if (lines.phase === "read") throw new Error("a read is a bulk query (startRead)");
  const mutation =
    lines.phase === "products"
      ? BULK_PRODUCT_SET
      : lines.phase === "channels"
        ? BULK_PUBLISHABLE_PUBLISH
        : PRICE_UPDATE;
  const r = await startBulkMutation(transport, mutation, key, `tillbridge-publish-${id}`);
  if (!r.ok) {
    const inProgress = r.code === "OPERATION_IN_PROGRESS";
    await setRow(deps.db, id, {
      status: inProgress ? "abandoned" : "failed",
      error: `Shopify refused the bulk mutation: ${r.message}`,
      finished_at: deps.now(),
    });
    if (!inProgress)
      await logActivity(
        deps.db,
        {
          storeId: store.id,
          flow: "catalog_publish",
          kind: "bulk_failed",
          level: "warn",
          message: `Shopify refused the bulk publish (${r.message}); the products are published one by one`,
        },
        deps.now(),
      );
    // Another bulk mutation of this app still runs (one started before a crash): wait for it.
    return inProgress;
  }
  await deps.db.transaction().execute(async (trx) => {
    await transport.fence?.(trx);
    await setRow(trx, id, { status: "running", operation_gid: r.id });
  });
  return true;
}

type ResultLine = {
  __lineNumber: number;
  data?: Record<string, unknown> | null;
  errors?: { message: string }[];
};

interface ProductOutcome {
  published: number;
  refused: number;
  deferred: number;
  channelLines: ChannelLine[];
  channelVariables: unknown[];
}
const noOutcome = (): ProductOutcome => ({
  published: 0,
  refused: 0,
  deferred: 0,
  channelLines: [],
  channelVariables: [],
});

async function recordProductResults(
  deps: BulkDeps,
  store: { id: number; domain: string },
  transport: AdminTransport,
  lines: Extract<Lines, { phase: "products" }>,
  url: string | null,
): Promise<ProductOutcome> {
  const out = noOutcome();
  if (!url) return out;
  let limitLogged = false;
  let batch: { line: ProductLine; gid: string; owned: Owned; hash: string }[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const now = deps.now();
    const confirmed = batch;
    batch = [];
    await deps.db.transaction().execute(async (trx) => {
      await transport.fence?.(trx);
      for (const b of confirmed)
        await recordConfirmed(
          trx,
          store.id,
          b.line.productId,
          { hash: b.hash, priceHash: b.line.priceHash, gid: b.gid, owned: b.owned },
          now,
        );
    });
  };
  for await (const row of readJsonl(url, transport.store, deps.fetch)) {
    const r = row as unknown as ResultLine;
    const line = lines.items[r.__lineNumber];
    if (!line) continue;
    const now = deps.now();
    const set = (r.data?.["productSet"] ?? null) as {
      product: {
        id: string;
        variants: { nodes: { id: string; sku: string | null; inventoryItem: { id: string } }[] };
        media: { nodes: { id: string }[] };
      } | null;
      userErrors: ShopifyUserError[];
    } | null;
    if (!set) {
      const message = r.errors?.map((e) => e.message).join("; ") || "no result";
      await recordRetry(
        deps.db,
        store.id,
        line.productId,
        { key: line.key, code: "SHOPIFY_ERROR", field: null, message: `bulk publish: ${message}` },
        1,
        now,
        now,
        transport.fence,
      );
      continue;
    }
    if (set.userErrors.length > 0 || !set.product) {
      if (set.userErrors.some((e) => DAILY_VARIANT_LIMIT.test(e.message))) {
        const message = await deferToNextDay(deps.db, store.id, line, 0, now, transport.fence);
        if (!limitLogged)
          await logActivity(
            deps.db,
            {
              storeId: store.id,
              flow: "catalog_publish",
              kind: "daily_variant_limit",
              level: "warn",
              message,
            },
            now,
          );
        limitLogged = true;
        out.deferred++;
        continue;
      }
      await recordRefused(
        deps.db,
        store.id,
        line.productId,
        userErrorsRefusal(line.key, set.userErrors),
        now,
        transport.fence,
      );
      out.refused++;
      continue;
    }
    const p = set.product;
    const bySku = new Map(p.variants.nodes.filter((v) => v.sku).map((v) => [v.sku!, v]));
    const owned: Owned = {
      variants: Object.fromEntries(
        line.skus.flatMap((sku) => {
          const v = bySku.get(sku);
          return v ? [[sku, { id: v.id, item: v.inventoryItem.id }]] : [];
        }),
      ),
      media: line.hasFiles ? p.media.nodes.map((m) => m.id) : [...(line.previous?.media ?? [])],
      ...(line.hasFiles
        ? { imagesHash: line.imagesHash }
        : line.previous?.imagesHash
          ? { imagesHash: line.previous.imagesHash }
          : {}),
      channels: [...(line.previous?.channels ?? [])],
      metafields: [...line.metafieldKeys],
    };
    // With sales channels to publish to, the product stays due until the channel publish
    // confirms it (should that fail, the synchronous path publishes it).
    const withChannels = lines.channels.length > 0;
    batch.push({ line, gid: p.id, owned, hash: withChannels ? `channels:${line.hash}` : line.hash });
    if (withChannels) {
      out.channelLines.push({ productId: line.productId, hash: line.hash });
      out.channelVariables.push({
        id: p.id,
        input: lines.channels.map((publicationId) => ({ publicationId })),
      });
    }
    out.published++;
    if (batch.length >= 200) await flush();
  }
  await flush();
  return out;
}

async function recordChannelResults(
  deps: BulkDeps,
  store: { id: number; domain: string },
  transport: AdminTransport,
  lines: Extract<Lines, { phase: "channels" }>,
  url: string | null,
): Promise<ProductOutcome> {
  const out = noOutcome();
  if (!url) return out;
  const titles = await publicationTitles(transport, lines.channels);
  for await (const row of readJsonl(url, transport.store, deps.fetch)) {
    const r = row as unknown as ResultLine;
    const line = lines.items[r.__lineNumber];
    if (!line) continue;
    const pub = (r.data?.["publishablePublish"] ?? null) as { userErrors: unknown[] } | null;
    if (!pub || pub.userErrors.length > 0) continue; // stays due: the synchronous path publishes it
    const now = deps.now();
    await deps.db.transaction().execute(async (trx) => {
      await transport.fence?.(trx);
      const s = await publishDb(trx)
        .selectFrom("catalog_publish_state")
        .select(["owned", "desired_hash", "price_hash", "confirmed_price_hash"])
        .where("store_id", "=", store.id)
        .where("product_id", "=", line.productId)
        .executeTakeFirst();
      if (!s) return;
      const owned = { ...(s.owned ? (JSON.parse(s.owned) as Owned) : NO_OWNED), channels: titles };
      const done = s.desired_hash === line.hash && s.price_hash === s.confirmed_price_hash;
      await publishDb(trx)
        .updateTable("catalog_publish_state")
        .set({
          confirmed_hash: line.hash,
          owned: JSON.stringify(owned),
          status: done ? "done" : "pending",
          updated_at: now,
        })
        .where("store_id", "=", store.id)
        .where("product_id", "=", line.productId)
        .execute();
    });
    out.published++;
  }
  return out;
}

/** The channel titles (as the rules name them) of the publications published to. */
async function publicationTitles(transport: AdminTransport, ids: readonly string[]): Promise<string[]> {
  const known = await readPublications(transport);
  const byId = new Map([...known.entries()].map(([title, id]) => [id, title]));
  return ids.map((id) => byId.get(id) ?? id);
}

/**
 * The variants of a price-only update: price, compare-at price and cost where the store's rules
 * write them on every publish (cost rides on the variant's inventoryItem).
 */
export function priceUpdateVariants(
  d: DesiredProduct,
  owned: Owned,
  rules: PublishRules,
): Record<string, unknown>[] {
  return d.prices.map((p) => {
    const v: Record<string, unknown> = { id: owned.variants[p.sku]!.id };
    if (rules.fields.price === "always" && p.price !== null) v.price = p.price;
    if (rules.fields.compareAtPrice === "always") v.compareAtPrice = p.compareAtPrice;
    if (rules.fields.cost === "always" && p.cost !== null) v.inventoryItem = { cost: p.cost };
    return v;
  });
}

/**
 * Many products due for their prices only (a price list of the back office changed): one bulk
 * mutation of productVariantsBulkUpdate instead of a call per product.
 */
async function startPriceBulk(
  deps: BulkDeps,
  store: { id: number; domain: string },
  transport: AdminTransport,
  rules: StoreRules,
): Promise<BulkAdvance> {
  const idle = { busy: false, published: 0, refused: 0, deferred: 0 };
  const rows = await publishDb(deps.db)
    .selectFrom("catalog_publish_state as s")
    .innerJoin("products as p", "p.id", "s.product_id")
    .select(["s.product_id", "p.key", "s.owned", "s.shopify_product_gid", "s.confirmed_hash"])
    .where("s.store_id", "=", store.id)
    .where("s.status", "=", "pending")
    .where("s.next_attempt_at", "<=", deps.now())
    .where("s.shopify_product_gid", "is not", null)
    .whereRef("s.confirmed_hash", "=", "s.desired_hash")
    .where((eb) =>
      eb.or([
        eb("s.confirmed_price_hash", "is", null),
        eb("s.confirmed_price_hash", "<>", eb.ref("s.price_hash")),
      ]),
    )
    .orderBy("s.product_id")
    .limit(BULK_PUBLISH.maxLines)
    .execute();
  if (rows.length < BULK_PUBLISH.threshold) return idle;
  const items: PriceLine[] = [];
  const variables: unknown[] = [];
  for (const r of rows) {
    const d = desiredProduct(await getProduct(deps.db, r.key), rules.rules);
    const owned = r.owned ? (JSON.parse(r.owned) as Owned) : NO_OWNED;
    // Anything but a price-only change goes the synchronous way.
    if (
      !d.ok ||
      d.hash !== r.confirmed_hash ||
      !d.product.variants.every((v) => owned.variants[v.sku] !== undefined)
    )
      continue;
    items.push({
      productId: Number(r.product_id),
      key: r.key,
      gid: r.shopify_product_gid!,
      priceHash: d.priceHash,
    });
    variables.push({
      productId: r.shopify_product_gid,
      variants: priceUpdateVariants(d.product, owned, rules.rules),
    });
  }
  if (items.length < BULK_PUBLISH.threshold) return idle;
  const started = await start(deps, store, transport, { phase: "prices", items, channels: [] }, variables);
  return { ...idle, busy: started };
}

async function recordPriceResults(
  deps: BulkDeps,
  store: { id: number; domain: string },
  transport: AdminTransport,
  lines: Extract<Lines, { phase: "prices" }>,
  url: string | null,
): Promise<ProductOutcome> {
  const out = noOutcome();
  if (!url) return out;
  let batch: PriceLine[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const confirmed = batch;
    batch = [];
    const now = deps.now();
    await deps.db.transaction().execute(async (trx) => {
      await transport.fence?.(trx);
      for (const line of confirmed) {
        const s = await publishDb(trx)
          .selectFrom("catalog_publish_state")
          .select("owned")
          .where("store_id", "=", store.id)
          .where("product_id", "=", line.productId)
          .executeTakeFirst();
        const owned = s?.owned ? (JSON.parse(s.owned) as Owned) : NO_OWNED;
        await recordConfirmed(
          trx,
          store.id,
          line.productId,
          { hash: null, priceHash: line.priceHash, gid: line.gid, owned },
          now,
        );
      }
    });
  };
  for await (const row of readJsonl(url, transport.store, deps.fetch)) {
    const r = row as unknown as ResultLine;
    const line = lines.items[r.__lineNumber];
    if (!line) continue;
    const update = (r.data?.["productVariantsBulkUpdate"] ?? null) as {
      userErrors: ShopifyUserError[];
    } | null;
    if (!update) continue; // stays due: the synchronous path sends it
    if (update.userErrors.length > 0) {
      // A variant deleted in Shopify since: the synchronous path publishes the product whole.
      if (
        update.userErrors.some(
          (e) => e.code === "PRODUCT_VARIANT_DOES_NOT_EXIST" || e.code === "PRODUCT_DOES_NOT_EXIST",
        )
      )
        await publishDb(deps.db)
          .updateTable("catalog_publish_state")
          .set({ confirmed_hash: "stale", updated_at: deps.now() })
          .where("store_id", "=", store.id)
          .where("product_id", "=", line.productId)
          .execute();
      else {
        await recordRefused(
          deps.db,
          store.id,
          line.productId,
          userErrorsRefusal(line.key, update.userErrors),
          deps.now(),
          transport.fence,
        );
        out.refused++;
      }
      continue;
    }
    batch.push(line);
    out.published++;
    if (batch.length >= 200) await flush();
  }
  await flush();
  return out;
}

export interface BulkRunView {
  readonly id: number;
  readonly phase: Lines["phase"];
  readonly status: BulkRow["status"];
  readonly operationId: string | null;
  readonly products: number;
  readonly error: string | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

/** A store's latest bulk runs, newest first (the console shows them beside the products). */
export async function bulkRuns(db: Db, storeId: number, limit = 10): Promise<BulkRunView[]> {
  const rows = await bulkDb(db)
    .selectFrom("catalog_publish_bulk")
    .selectAll()
    .where("store_id", "=", storeId)
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
  return rows.map((r) => {
    const lines = JSON.parse(r.lines) as Lines;
    return {
      id: Number(r.id),
      phase: lines.phase,
      status: r.status,
      operationId: r.operation_gid,
      products: lines.items.length,
      error: r.error,
      startedAt: new Date(Number(r.started_at)).toISOString(),
      finishedAt: r.finished_at === null ? null : new Date(Number(r.finished_at)).toISOString(),
    };
  });
}
