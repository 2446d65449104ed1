/**
 * An import run: one store's catalog read from Shopify into the hub, as an operator job under the
 * store's lease.
 *
 * 1. One bulk operation (`CATALOG_BULK_QUERY`, grouped) prepares the store's catalog as a JSONL file;
 *    its id and URL are kept on the run, so a resumed run finds the same file.
 * 2. First pass, streamed: each Shopify variant's SKU, barcode, inventory item and product (a few
 *    strings each; the file itself is never held).
 * 3. Matching over the whole store (SKU, then barcode; src/catalog/matching.ts), the home of each
 *    product and whether its unmatched variants are created; links that no longer hold are removed
 *    and the store's link problems replaced.
 * 4. Second pass, streamed: products reassembled by `__parentId` and applied 100 at a time (500 on PostgreSQL), each
 *    batch in one transaction with the run's line offset, so a run resumed after a crash starts at
 *    the first product not yet applied and nothing is written twice.
 * Stock is never touched: no movement, no ledger entry, no stock level.
 */
import type { Transaction } from "kysely";
import { type Clock, yieldToEventLoop } from "../../core/clock.ts";
import type { AppContext } from "../../core/context.ts";
import { AppError } from "../../core/errors.ts";
import { chunks } from "../../db/batching.ts";
import type { CatalogImportMode, LinkProblemKind, Tables } from "../../db/tables.ts";
import { markStoreDirtyFor } from "../../inventory/push/push-store.ts";
import { JobCancelled, type JobControl } from "../../jobs/operator-jobs.ts";
import { awaitBulkOperation, readJsonlLines, startAndAwaitBulkQuery } from "../../shopify/bulk-query.ts";
import { ShopifyTransientError } from "../../shopify/errors.ts";
import type { AdminTransport } from "../../shopify/transport.ts";
import { logActivity } from "../../shops/activity.ts";
import { insertRows, PRODUCT_LINK_COLUMNS, VARIANT_LINK_COLUMNS } from "../bulk-insert.ts";
import { dropLinks, readExistingLinks, readHubVariants } from "../linking.ts";
import { type LinkProblem, type MatchedBy, matchVariantsInChunks, type ShopifyVariant } from "../matching.ts";
import { productHash } from "../products.ts";
import { type Change, writeProducts } from "../products-store.ts";
import {
  CATALOG_BULK_QUERY,
  ProductAssembler,
  type ShopifyCatalogProduct,
  type ShopifyCatalogVariant,
} from "../shopify-catalog.ts";
import { hubVariantsById, normalizedVariant, productsById, takenKeys } from "./catalog-read.ts";
import { HeapGuard } from "./heap.ts";
import {
  createsVariants,
  DecisionTable,
  HomeTable,
  type HubVariantRow,
  homeOf,
  type ImportField,
  importKey,
  mergeProductFields,
  mergeVariant,
  shopifyOptions,
  withoutUnchosen,
} from "./import-plan.ts";
import { type ImportRun, type ImportSummary, importRunOf } from "./import-store.ts";

/**
 * Products applied per transaction. On SQLite a transaction holds the one connection, and its
 * statements run synchronously one after the other, so a batch holds the event loop and every
 * other query (/healthz too) for its whole length: 250 products took about 200 ms on a quiet
 * machine. PostgreSQL takes 500: each statement is a round trip there (the
 * many-row ones hold a page of rows whatever the batch), the event loop runs between them, and
 * the statements per batch, not their rows, set the pace on a busy machine.
 */
export const IMPORT_BATCH = 100;
export const IMPORT_BATCH_POSTGRES = 500;

export interface ImportDeps {
  readonly ctx: AppContext;
  /** Between bulk operation status polls (default 1 s). */
  readonly pollMs?: number;
  /** Products per transaction (default IMPORT_BATCH, IMPORT_BATCH_POSTGRES on PostgreSQL). */
  readonly batchSize?: number;
  /** Tests: called after each applied batch (a simulated crash throws from here). */
  readonly afterBatch?: (run: ImportRun) => Promise<void> | void;
}

type Trx = Transaction<Tables>;

/** A Shopify variant as the first pass keeps it. */
interface IndexedVariant extends ShopifyVariant {
  readonly productGid: string;
}

/** The outcome of step 3, what the second pass needs. */
interface Plan {
  readonly decisions: DecisionTable;
  /** Home of each Shopify product (null: the import creates one). */
  readonly homes: HomeTable;
  /** Links as stored before the run: hub variant id → Shopify variant gid. */
  readonly linkedBefore: Map<number, string>;
  readonly problems: number;
  readonly products: number;
  readonly variants: number;
  readonly lines: number;
}

export async function runCatalogImport(
  deps: ImportDeps,
  store: { id: number; domain: string },
  transport: AdminTransport,
  control: JobControl,
  params: Record<string, unknown>,
): Promise<ImportSummary> {
  const { ctx } = deps;
  const db = ctx.database.db;
  let run = await ensureRun(deps, store.id, control.jobId, params);
  if (run.status !== "running") return summaryOf(run);
  const log = ctx.logger.child({ store: store.domain, flow: "catalog_import", importRun: run.id });
  if (run.lineOffset === 0 && run.resultUrl === null)
    await logActivity(
      db,
      {
        storeId: store.id,
        flow: "catalog_import",
        kind: "import_started",
        message: `catalog import ${run.id} started (${run.mode.replace(/_/g, " ")}; fields: ${run.fields.join(", ")})`,
        data: { importRun: run.id, job: control.jobId },
      },
      ctx.clock.now(),
    );
  try {
    // The heap kept near the live data (src/catalog/import/heap.ts): reading, then applying.
    const heap = new HeapGuard();
    let plan: Plan | undefined;
    for (let attempt = 0; !plan; attempt++) {
      run = await prepareFile(deps, run, transport, control);
      try {
        plan = await planRun(deps, store.id, run, transport, control, heap);
      } catch (err) {
        // The stored result file is gone (Shopify keeps them a week; a resumed run may be late):
        // read the store again. Applying from the start is safe: every write is idempotent.
        if (
          attempt === 0 &&
          run.resultUrl !== null &&
          err instanceof ShopifyTransientError &&
          err.status !== undefined &&
          err.status >= 400 &&
          err.status < 500
        ) {
          log.warn({ status: err.status }, "the bulk result file is gone; reading the catalog again");
          run = await patchRun(
            db,
            run.id,
            {
              // The counts start again with the new file (what a partial first pass created is
              // then counted as matched).
              bulk_operation_gid: null,
              result_url: null,
              line_offset: 0,
              products_read: 0,
              variants_read: 0,
              matched: 0,
              created: 0,
              updated: 0,
            },
            ctx.clock.now(),
          );
          continue;
        }
        throw err;
      }
    }
    // The planning step's whole-store tables are garbage now: the heap starts small for applying.
    heap.collect();
    run = await applyFile(deps, store.id, run, plan, transport, control, heap);
    run = await patchRun(db, run.id, { status: "done", finished_at: ctx.clock.now() }, ctx.clock.now());
    const summary = summaryOf(run);
    await logActivity(
      db,
      {
        storeId: store.id,
        flow: "catalog_import",
        kind: "import_done",
        level: summary.problems > 0 ? "warn" : "info",
        message: `catalog import ${run.id}: ${summary.variantsRead} variant(s) of ${summary.productsRead} product(s) read, ${summary.matched} matched, ${summary.created} created, ${summary.updated} product(s) updated, ${summary.problems} link problem(s)`,
        data: { ...summary },
      },
      ctx.clock.now(),
    );
    return summary;
  } catch (err) {
    if ((err as { code?: string }).code === "LEASE_LOST") throw err; // the new owner resumes it
    const cancelled = err instanceof JobCancelled;
    const message = err instanceof Error ? err.message : String(err);
    await patchRun(
      db,
      run.id,
      {
        status: cancelled ? "cancelled" : "failed",
        error: cancelled ? null : message.slice(0, 1000),
        finished_at: ctx.clock.now(),
      },
      ctx.clock.now(),
    );
    await logActivity(
      db,
      {
        storeId: store.id,
        flow: "catalog_import",
        kind: cancelled ? "import_cancelled" : "import_failed",
        level: cancelled ? "info" : "error",
        message: cancelled
          ? `catalog import ${run.id} cancelled by the operator after ${run.lineOffset} line(s); what was applied stays`
          : `catalog import ${run.id} failed: ${message.slice(0, 300)}`,
        data: { importRun: run.id },
      },
      ctx.clock.now(),
    );
    throw err;
  }
}

async function ensureRun(
  deps: ImportDeps,
  storeId: number,
  jobId: number,
  params: Record<string, unknown>,
): Promise<ImportRun> {
  const db = deps.ctx.database.db;
  const now = deps.ctx.clock.now();
  const mode: CatalogImportMode =
    params.mode === "create_and_overwrite" ? "create_and_overwrite" : "create_only";
  const fields = Array.isArray(params.fields) ? (params.fields as string[]) : [];
  await db
    .insertInto("catalog_imports")
    .values({
      store_id: storeId,
      job_id: jobId,
      mode,
      fields: JSON.stringify(fields),
      status: "running",
      bulk_operation_gid: null,
      result_url: null,
      line_offset: 0,
      products_read: 0,
      variants_read: 0,
      matched: 0,
      created: 0,
      updated: 0,
      problems: 0,
      error: null,
      started_at: now,
      updated_at: now,
      finished_at: null,
    })
    .onConflict((oc) => oc.column("job_id").doNothing())
    .execute();
  const row = await db
    .selectFrom("catalog_imports")
    .selectAll()
    .where("job_id", "=", jobId)
    .executeTakeFirstOrThrow();
  return importRunOf(row);
}

async function patchRun(
  db: AppContext["database"]["db"] | Trx,
  id: number,
  set: Partial<Omit<Tables["catalog_imports"], "id">>,
  now: number,
): Promise<ImportRun> {
  await db
    .updateTable("catalog_imports")
    .set({ ...set, updated_at: now } as never)
    .where("id", "=", id)
    .execute();
  return importRunOf(
    await db.selectFrom("catalog_imports").selectAll().where("id", "=", id).executeTakeFirstOrThrow(),
  );
}

function summaryOf(run: ImportRun): ImportSummary {
  return {
    importRun: run.id,
    status: run.status,
    mode: run.mode,
    fields: run.fields,
    productsRead: run.productsRead,
    variantsRead: run.variantsRead,
    matched: run.matched,
    created: run.created,
    updated: run.updated,
    problems: run.problems,
  };
}

/** Step 1: the run's result file, from its bulk operation (started now, or found again by id). */
async function prepareFile(
  deps: ImportDeps,
  run: ImportRun,
  transport: AdminTransport,
  control: JobControl,
): Promise<ImportRun> {
  if (run.resultUrl !== null) return run;
  const db = deps.ctx.database.db;
  const clock: Clock = deps.ctx.clock;
  await control.progress({ phase: "Shopify is preparing the store's catalog (bulk operation)" });
  const options = { clock, pollMs: deps.pollMs ?? 1000 };
  const result =
    run.bulkOperationGid !== null
      ? await awaitBulkOperation(transport, run.bulkOperationGid, options)
      : await startAndAwaitBulkQuery(transport, CATALOG_BULK_QUERY, {
          ...options,
          groupObjects: true,
          onStarted: async (id) => {
            await patchRun(db, run.id, { bulk_operation_gid: id }, clock.now());
          },
        });
  // An empty store has no file: "" marks the operation done with nothing to read.
  return patchRun(db, run.id, { bulk_operation_gid: result.id, result_url: result.url ?? "" }, clock.now());
}

async function* lines(run: ImportRun, transport: AdminTransport): AsyncGenerator<string> {
  if (!run.resultUrl) return;
  yield* readJsonlLines(run.resultUrl, transport.store);
}

/** Items between two turns of the event loop in the whole-store loops. */
const TURN = 5000;

/** The items, with a turn of the event loop every TURN of them (for `for await`). */
async function* turns<T>(items: readonly T[]): AsyncGenerator<T> {
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % TURN === 0) await yieldToEventLoop();
    yield items[i]!;
  }
}

const kindOf = (id: unknown) =>
  typeof id === "string" ? /^gid:\/\/shopify\/([A-Za-z]+)\//.exec(id)?.[1] : undefined;

/** Steps 2 and 3. */
async function planRun(
  deps: ImportDeps,
  storeId: number,
  run: ImportRun,
  transport: AdminTransport,
  control: JobControl,
  heap: HeapGuard,
): Promise<Plan> {
  const { ctx } = deps;
  const db = ctx.database.db;
  await control.progress({ phase: "reading the store's catalog" });
  const shopify: IndexedVariant[] = [];
  let products = 0;
  let count = 0;
  // The current product's id: its variants share this one string instead of a copy each.
  let product = "";
  for await (const line of lines(run, transport)) {
    count++;
    // Only variant lines are parsed whole here; product and other lines are counted.
    if (line.includes('"__parentId"') && line.includes("/ProductVariant/")) {
      const row = JSON.parse(line) as ShopifyCatalogVariant & { __parentId: string };
      if (kindOf(row.id) === "ProductVariant")
        shopify.push({
          id: row.id,
          sku: row.sku,
          barcode: row.barcode,
          inventoryItemId: row.inventoryItem.id,
          productGid: row.__parentId === product ? product : row.__parentId,
        });
    } else if (!line.includes('"__parentId"')) {
      products++;
      product = (JSON.parse(line) as { id: string }).id;
    }
    if (count % 20_000 === 0) {
      heap.check();
      if (await control.cancelled()) throw new JobCancelled();
      await control.progress({ phase: "reading the store's catalog", done: count });
    }
  }
  await control.progress({ phase: "matching by SKU, then barcode" });
  const hub = await readHubVariants(db);
  const productOfVariant = new Map<number, number | null>();
  for await (const v of turns(hub)) productOfVariant.set(v.id, v.productId);
  const existing = await readExistingLinks(db, storeId);
  // In chunks: a 100,000-variant store's match gives the event loop a turn every few thousand.
  heap.check();
  const result = await matchVariantsInChunks(hub, shopify, existing, {
    // Between chunks: the event loop's turn, and the garbage of the chunks before collected.
    pause: async () => {
      heap.check();
      await yieldToEventLoop();
    },
  });
  hub.length = 0;
  heap.check();

  // Each whole-store loop below gives the event loop a turn every TURN items (`turns`).
  const decisions = new DecisionTable();
  for await (const l of turns(result.links))
    decisions.set(l.productVariantGid, { kind: "link", variantId: l.variantId, matchedBy: l.matchedBy });
  await yieldToEventLoop();
  const productLinks = new Map<string, number>();
  for (const r of await db
    .selectFrom("product_links")
    .select(["product_id", "shopify_product_gid"])
    .where("store_id", "=", storeId)
    .execute())
    productLinks.set(r.shopify_product_gid, Number(r.product_id));
  const matchedProducts = new Map<string, (number | null)[]>();
  for await (const v of turns(shopify)) {
    const d = decisions.get(v.id);
    if (d?.kind !== "link") continue;
    const list = matchedProducts.get(v.productGid) ?? [];
    list.push(productOfVariant.get(d.variantId) ?? null);
    matchedProducts.set(v.productGid, list);
  }
  const homes = new HomeTable();
  for await (const v of turns(shopify))
    if (!homes.has(v.productGid))
      homes.set(
        v.productGid,
        homeOf(productLinks.get(v.productGid), matchedProducts.get(v.productGid) ?? []),
      );
  const fields = new Set(run.fields);
  // The product of each Shopify variant only for those that may be created (not every variant's).
  const creatable = new Set(
    result.problems.flatMap((p) =>
      p.kind === "not_in_hub" && p.sku !== null && p.productVariantGid !== null ? [p.productVariantGid] : [],
    ),
  );
  await yieldToEventLoop();
  const productOf = new Map<string, string>();
  for await (const v of turns(shopify)) if (creatable.has(v.id)) productOf.set(v.id, v.productGid);
  const problems: LinkProblem[] = [];
  for await (const p of turns(result.problems)) {
    // A Shopify variant with a SKU no hub variant has: created, when its product may take it.
    if (p.kind === "not_in_hub" && p.sku !== null && p.productVariantGid !== null) {
      const home = homes.get(productOf.get(p.productVariantGid)!) ?? null;
      if (createsVariants(home, run.mode, fields)) {
        decisions.set(p.productVariantGid, { kind: "create" });
        continue;
      }
      problems.push({
        ...p,
        detail: `${p.detail}; its product is already in the hub and this import may not add variants to it`,
      });
      continue;
    }
    problems.push(p);
  }
  for await (const v of turns(shopify)) if (!decisions.has(v.id)) decisions.set(v.id, { kind: "problem" });

  // Links that no longer hold go (with their sync state: the item is no longer ours), as linking does.
  const after = new Map(result.links.map((l) => [l.variantId, l]));
  const dropped = existing.filter((e) => {
    const l = after.get(e.variantId);
    return !l || l.productVariantGid !== e.productVariantGid || l.inventoryItemGid !== e.inventoryItemGid;
  });
  const droppedSet = new Set(dropped);
  const now = ctx.clock.now();
  await dropLinks(ctx.database, storeId, dropped);
  await replaceProblems(db, storeId, problems, now);
  await patchRun(db, run.id, { problems: problems.length }, now);
  return {
    decisions,
    homes,
    linkedBefore: new Map(
      existing.filter((e) => !droppedSet.has(e)).map((e) => [e.variantId, e.productVariantGid]),
    ),
    problems: problems.length,
    products,
    variants: shopify.length,
    lines: count,
  };
}

async function replaceProblems(
  db: AppContext["database"]["db"],
  storeId: number,
  problems: readonly LinkProblem[],
  now: number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom("link_problems").where("store_id", "=", storeId).execute();
    for (const part of chunks(problems, 500))
      await trx
        .insertInto("link_problems")
        .values(
          part.map((p) => ({
            store_id: storeId,
            kind: p.kind as LinkProblemKind,
            sku: p.sku,
            barcode: p.barcode,
            product_variant_gid: p.productVariantGid,
            detail: p.detail,
            detected_at: now,
            candidates: p.candidates ? JSON.stringify(p.candidates) : null,
          })),
        )
        .execute();
  });
}

/** Step 4: the file again, from the run's line offset, a batch of products per transaction. */
async function applyFile(
  deps: ImportDeps,
  storeId: number,
  start: ImportRun,
  plan: Plan,
  transport: AdminTransport,
  control: JobControl,
  heap: HeapGuard,
): Promise<ImportRun> {
  let run = start;
  const batchSize =
    deps.batchSize ?? (deps.ctx.database.dialect === "postgres" ? IMPORT_BATCH_POSTGRES : IMPORT_BATCH);
  const assembler = new ProductAssembler();
  let batch: ShopifyCatalogProduct[] = [];
  let index = 0;
  const flush = async (offset: number) => {
    if (await control.cancelled()) throw new JobCancelled();
    run = await applyBatch(deps, storeId, run, plan, batch, offset);
    batch = [];
    await deps.afterBatch?.(run);
    heap.check();
    await control.progress({
      phase: "applying products",
      done: run.productsRead,
      total: plan.products,
    });
    await yieldToEventLoop();
  };
  for await (const line of lines(run, transport)) {
    const i = index++;
    if (i < start.lineOffset) continue;
    const done = assembler.push(JSON.parse(line) as Record<string, unknown>);
    if (done) {
      batch.push(done);
      if (batch.length >= batchSize) await flush(i);
    }
  }
  const last = assembler.finish();
  if (last) batch.push(last);
  if (batch.length > 0 || run.lineOffset < index) await flush(index);
  return run;
}

interface LinkRow {
  variantId: number;
  shopify: ShopifyCatalogVariant;
  matchedBy: MatchedBy;
  productGid: string;
}

async function applyBatch(
  deps: ImportDeps,
  storeId: number,
  run: ImportRun,
  plan: Plan,
  products: readonly ShopifyCatalogProduct[],
  offset: number,
): Promise<ImportRun> {
  const { ctx } = deps;
  const now = ctx.clock.now();
  const fields = new Set<ImportField>(run.fields);
  const overwrite = run.mode === "create_and_overwrite";
  return ctx.database.db.transaction().execute(async (trx) => {
    const linkedIds: number[] = [];
    for (const p of products)
      for (const v of p.variants) {
        const d = plan.decisions.get(v.id);
        if (d?.kind === "link") linkedIds.push(d.variantId);
      }
    const hubRows = await hubVariantsById(trx, linkedIds);
    const homeIds = products.map((p) => plan.homes.get(p.id) ?? null).filter((h): h is number => h !== null);
    const stored = overwrite ? await productsById(trx, homeIds) : new Map();
    const taken = await takenKeys(
      trx,
      products.map((p) => p.handle),
    );

    const changes: Change[] = [];
    const created = new Map<string, string>(); // Shopify product gid → key of the product created for it
    let variantsCreated = 0;
    let updated = 0;
    let matched = 0;
    const links: LinkRow[] = [];
    const toCreate: { sku: string; shopify: ShopifyCatalogVariant; productGid: string }[] = [];
    for (const p of products) {
      const home = plan.homes.get(p.id) ?? null;
      const decided = p.variants.map((v) => ({
        v,
        d: plan.decisions.get(v.id),
      }));
      for (const { v, d } of decided) {
        if (d.kind === "link") {
          matched++;
          links.push({ variantId: d.variantId, shopify: v, matchedBy: d.matchedBy, productGid: p.id });
        }
      }
      const fresh = (v: ShopifyCatalogVariant) => {
        toCreate.push({ sku: v.sku!.trim(), shopify: v, productGid: p.id });
        return mergeVariant(v.sku!.trim(), p, v, undefined, fields, undefined);
      };
      if (home === null) {
        // A product new to the hub: created with Shopify's fields the run may write, its matched
        // variants known only by SKU adopted (keeping their own values in create-only mode).
        const adoptFields = overwrite ? fields : new Set<ImportField>();
        const variants = decided.flatMap(({ v, d }) => {
          if (d.kind === "create") return [fresh(v)];
          if (d.kind !== "link") return [];
          const h = hubRows.get(d.variantId);
          if (!h || h.productId !== null) return [];
          return [mergeVariant(h.sku, p, v, h, adoptFields, undefined)];
        });
        if (variants.length === 0) continue;
        const key = importKey(p, (k) => taken.has(k));
        taken.add(key);
        const product = {
          key,
          ...withoutUnchosen(mergeProductFields(p, undefined, fields), fields),
          options: shopifyOptions(p),
          variants,
        };
        changes.push({ product, hash: productHash(product), existingId: undefined });
        created.set(p.id, key);
        variantsCreated += decided.filter(({ d }) => d.kind === "create").length;
        continue;
      }
      if (!overwrite) continue; // create-only: an existing product is left as it is; links only
      const s = stored.get(home);
      if (!s) continue;
      const base = mergeProductFields(p, s.product, fields);
      let options = s.product.options;
      let variants = s.product.variants;
      if (fields.has("variants")) {
        options = shopifyOptions(p);
        variants = decided.flatMap(({ v, d }) => {
          if (d.kind === "create") {
            variantsCreated++;
            return [fresh(v)];
          }
          if (d.kind !== "link") return [];
          const h = hubRows.get(d.variantId);
          if (!h || (h.productId !== null && h.productId !== home)) return [];
          return [mergeVariant(h.sku, p, v, h, fields, undefined)];
        });
      } else {
        const byHub = new Map(
          decided.flatMap(({ v, d }) => (d.kind === "link" ? [[d.variantId, v] as const] : [])),
        );
        variants = s.variants.map((h: HubVariantRow) => {
          const v = byHub.get(h.id);
          return v ? mergeVariant(h.sku, p, v, h, fields, h.options) : normalizedVariant(h);
        });
      }
      const product = { key: s.product.key, ...base, options, variants };
      const hash = productHash(product);
      if (hash === s.contentHash) continue;
      changes.push({ product, hash, existingId: home });
      updated++;
    }
    await writeProducts(trx, changes, now);

    // Ids of what was just created: the new products and variants.
    const productIdByKey = new Map<string, number>();
    for (const part of chunks([...created.values()], 1000))
      for (const r of await trx
        .selectFrom("products")
        .select(["id", "key"])
        .where("key", "in", part)
        .execute())
        productIdByKey.set(r.key, Number(r.id));
    for (const part of chunks(toCreate, 1000)) {
      const ids = new Map(
        (
          await trx
            .selectFrom("variants")
            .select(["id", "sku"])
            .where(
              "sku",
              "in",
              part.map((c) => c.sku),
            )
            .execute()
        ).map((r) => [r.sku, Number(r.id)]),
      );
      for (const c of part) {
        const id = ids.get(c.sku);
        if (id !== undefined)
          links.push({ variantId: id, shopify: c.shopify, matchedBy: "sku", productGid: c.productGid });
      }
    }
    await writeLinks(trx, storeId, plan, links, now);

    const productLinks = products.flatMap((p) => {
      const home = plan.homes.get(p.id) ?? null;
      const id = home ?? (created.has(p.id) ? productIdByKey.get(created.get(p.id)!) : undefined);
      return id === undefined ? [] : [{ productId: id, product: p }];
    });
    await writeProductLinks(trx, storeId, productLinks, now);

    const variantsInBatch = products.reduce((n, p) => n + p.variants.length, 0);
    // The run's new counts in the same statement (one round trip less per batch on PostgreSQL).
    const row = await trx
      .updateTable("catalog_imports")
      .set((eb) => ({
        line_offset: offset,
        products_read: eb("products_read", "+", products.length),
        variants_read: eb("variants_read", "+", variantsInBatch),
        matched: eb("matched", "+", matched),
        created: eb("created", "+", variantsCreated),
        updated: eb("updated", "+", updated),
        updated_at: now,
      }))
      .where("id", "=", run.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return importRunOf(row);
  });
}

/** Variant links with the Shopify product and the variant as last seen; new or moved links are marked for the push. */
async function writeLinks(
  trx: Trx,
  storeId: number,
  plan: Plan,
  links: readonly LinkRow[],
  now: number,
): Promise<void> {
  // 9 columns: 1,000 rows a statement; each statement is a round trip on PostgreSQL.
  for (const part of chunks(links, 1000)) {
    const ids = part.map((l) => l.variantId);
    // One statement (a round trip each on PostgreSQL): the links these variants or items had.
    await trx
      .deleteFrom("variant_links")
      .where("store_id", "=", storeId)
      .where((eb) =>
        eb.or([
          eb("variant_id", "in", ids),
          eb(
            "inventory_item_gid",
            "in",
            part.map((l) => l.shopify.inventoryItem.id),
          ),
        ]),
      )
      .execute();
    await insertRows(
      trx,
      "variant_links",
      VARIANT_LINK_COLUMNS,
      part.map((l) => ({
        store_id: storeId,
        variant_id: l.variantId,
        product_variant_gid: l.shopify.id,
        inventory_item_gid: l.shopify.inventoryItem.id,
        matched_by: l.matchedBy,
        linked_at: now,
        shopify_product_gid: l.productGid,
        last_seen: JSON.stringify({ sku: l.shopify.sku, barcode: l.shopify.barcode }),
        last_seen_at: now,
      })),
    ).execute();
    const fresh = part
      .filter((l) => plan.linkedBefore.get(l.variantId) !== l.shopify.id)
      .map((l) => l.variantId);
    if (fresh.length > 0) await markStoreDirtyFor(trx, storeId, fresh, now);
  }
}

/** The product as last seen in Shopify: what a later check compares against. */
export function lastSeenProduct(p: ShopifyCatalogProduct) {
  return {
    title: p.title,
    handle: p.handle,
    status: p.status,
    updatedAt: p.updatedAt,
    collections: p.collections.map((c) => c.handle),
    variants: p.variants.map((v) => ({ id: v.id, sku: v.sku, barcode: v.barcode })),
  };
}

async function writeProductLinks(
  trx: Trx,
  storeId: number,
  links: readonly { productId: number; product: ShopifyCatalogProduct }[],
  now: number,
): Promise<void> {
  // One Shopify product per hub product: when two Shopify products share a home, the first keeps it.
  const seen = new Set<number>();
  const unique = links.filter((l) => !seen.has(l.productId) && seen.add(l.productId));
  for (const part of chunks(unique, 1000)) {
    await trx
      .deleteFrom("product_links")
      .where("store_id", "=", storeId)
      .where((eb) =>
        eb.or([
          eb(
            "product_id",
            "in",
            part.map((l) => l.productId),
          ),
          eb(
            "shopify_product_gid",
            "in",
            part.map((l) => l.product.id),
          ),
        ]),
      )
      .execute();
    await insertRows(
      trx,
      "product_links",
      PRODUCT_LINK_COLUMNS,
      part.map((l) => ({
        store_id: storeId,
        product_id: l.productId,
        shopify_product_gid: l.product.id,
        last_seen: JSON.stringify(lastSeenProduct(l.product)),
        last_seen_at: now,
        linked_at: now,
      })),
    ).execute();
  }
}

export class ImportNotFound extends AppError {
  constructor(id: number) {
    super("NOT_FOUND", `no catalog import ${id}`);
  }
}
