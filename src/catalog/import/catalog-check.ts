/**
 * Staying current when product webhooks never arrived: a store pass (under the store's lease)
 * that, every few hours, reads the store's whole catalog in one bulk operation
 * (`bulkOperationRunQuery`, grouped JSONL streamed line by line, never held whole) of products
 * with their variants' ids, SKUs and barcodes, and
 * - applies each product Shopify updated after the newest `updatedAt` the hub has seen, as its
 *   products/update delivery would have been;
 * - treats each linked product (a product link, or variant links naming it) the file does not
 *   hold as deleted in Shopify, as its products/delete delivery would have been: its variants are
 *   unlinked and listed as `deleted_in_shopify` link problems naming the hub product's key, the
 *   product link is marked gone. A link made after the bulk operation started is never judged
 *   by it. A bulk operation that fails or expires decides nothing.
 * Only stores with linked products are checked.
 */

import { yieldToEventLoop } from "../../core/clock.ts";
import type { AppContext } from "../../core/context.ts";
import type { Db } from "../../db/database.ts";
import type { StorePass } from "../../runtime/worker.ts";
import { readJsonlLines, startAndAwaitBulkQuery } from "../../shopify/bulk-query.ts";
import { graphql } from "../../shopify/graphql.ts";
import type { AdminTransport } from "../../shopify/transport.ts";
import { applyProductAsWebhook, applyProductDeleteAsWebhook, type ProductBody } from "./product-webhooks.ts";

export const CATALOG_CHECK_EVERY_MS = 6 * 60 * 60_000;

/**
 * The whole store's products with what linking needs of their variants: one bulk operation,
 * grouped (each product's line followed by its variants' lines, `__parentId` = the product).
 */
export const CATALOG_CHECK_BULK_QUERY = graphql`
  {
    products {
      edges {
        node {
          id
          legacyResourceId
          title
          handle
          status
          updatedAt
          variants {
            edges {
              node {
                id
                legacyResourceId
                sku
                barcode
                inventoryItem {
                  legacyResourceId
                }
              }
            }
          }
        }
      }
    }
  }
`;

interface ProductLine {
  id: string;
  legacyResourceId: string;
  title: string;
  handle: string;
  status: string;
  updatedAt: string;
}

interface VariantLine {
  id: string;
  legacyResourceId: string;
  sku: string | null;
  barcode: string | null;
  inventoryItem: { legacyResourceId: string };
  __parentId: string;
}

/** The newest `updatedAt` among the store's products as last seen (null: nothing imported). */
export async function lastSeenUpdatedAt(db: Db, storeId: number): Promise<string | null> {
  let newest: string | null = null;
  let after = "";
  // Keyset pages: a 20,000-product store is never read into memory at once.
  for (;;) {
    const rows = await db
      .selectFrom("product_links")
      .select(["shopify_product_gid", "last_seen"])
      .where("store_id", "=", storeId)
      .where("shopify_product_gid", ">", after)
      .orderBy("shopify_product_gid")
      .limit(1000)
      .execute();
    for (const r of rows) {
      const at = r.last_seen ? (JSON.parse(r.last_seen) as { updatedAt?: string }).updatedAt : undefined;
      if (at && (newest === null || Date.parse(at) > Date.parse(newest))) newest = at;
    }
    if (rows.length < 1000) return newest;
    after = rows[rows.length - 1]!.shopify_product_gid;
    await yieldToEventLoop();
  }
}

/** The webhook's body for a product as read now. */
function asWebhookBody(p: ProductLine, variants: readonly VariantLine[]): ProductBody {
  return {
    id: p.legacyResourceId,
    admin_graphql_api_id: p.id,
    updated_at: p.updatedAt,
    title: p.title,
    handle: p.handle,
    status: p.status.toLowerCase(),
    variants: variants.map((v) => ({
      id: v.legacyResourceId,
      admin_graphql_api_id: v.id,
      sku: v.sku,
      barcode: v.barcode,
      inventory_item_id: v.inventoryItem.legacyResourceId,
    })),
  };
}

export interface CatalogCheckResult {
  readonly since: string | null;
  /** Products in the store (lines of the bulk result). */
  readonly read: number;
  /** Products updated since `since`, applied as products/update. */
  readonly products: number;
  readonly changes: number;
  /** Linked products the store no longer has, applied as products/delete. */
  readonly deleted: number;
  /** Kept for callers of the paged check: a bulk read has no product too large to read. */
  readonly skipped: 0;
}

/** A Shopify GID's numeric id: a set of 20,000 numbers, not 20,000 strings. */
const numericId = (gid: string) => Number(gid.slice(gid.lastIndexOf("/") + 1));

/** The Shopify products the store's links name (made before `before`), a page at a time. */
async function* linkedProducts(db: Db, storeId: number, before: number): AsyncGenerator<string[]> {
  for (const table of ["product_links", "variant_links"] as const) {
    let after = "";
    for (;;) {
      let q = db
        .selectFrom(table)
        .select("shopify_product_gid")
        .distinct()
        .where("store_id", "=", storeId)
        .where("shopify_product_gid", "is not", null)
        .where("shopify_product_gid", ">", after)
        .where("linked_at", "<", before)
        .orderBy("shopify_product_gid")
        .limit(1000);
      // A product link already marked gone stays (a late delivery is judged by it): skip it.
      if (table === "product_links")
        q = q.where((eb) =>
          eb.or([eb("last_seen", "is", null), eb("last_seen", "not like", '{"deletedAt"%')]),
        );
      const rows = (await q.execute()).map((r) => r.shopify_product_gid as string);
      if (rows.length > 0) yield rows;
      if (rows.length < 1000) break;
      after = rows[rows.length - 1]!;
    }
  }
}

export interface CatalogCheckOptions {
  /** Between bulk operation status polls (default 1 s). */
  readonly pollMs?: number;
}

export async function runCatalogCheck(
  ctx: AppContext,
  storeId: number,
  transport: AdminTransport,
  options: CatalogCheckOptions = {},
): Promise<CatalogCheckResult> {
  const db = ctx.database.db;
  const since = await lastSeenUpdatedAt(db, storeId);
  const anyLink = await db
    .selectFrom("variant_links")
    .select("variant_id")
    .where("store_id", "=", storeId)
    .where("shopify_product_gid", "is not", null)
    .limit(1)
    .executeTakeFirst();
  if (since === null && !anyLink) return { since, read: 0, products: 0, changes: 0, deleted: 0, skipped: 0 };
  const sinceMs = since === null ? Number.NEGATIVE_INFINITY : Date.parse(since);
  // Links made from now on may name products the file (a snapshot from about now) lacks.
  const startedAt = ctx.clock.now();
  const file = await startAndAwaitBulkQuery(transport, CATALOG_CHECK_BULK_QUERY, {
    clock: ctx.clock,
    pollMs: options.pollMs ?? 1000,
    groupObjects: true,
  });
  const present = new Set<number>();
  let read = 0;
  let products = 0;
  let changes = 0;
  let product: ProductLine | null = null;
  let variants: VariantLine[] = [];
  const finish = async () => {
    if (product === null) return;
    if (Date.parse(product.updatedAt) > sinceMs) {
      products++;
      changes += await applyProductAsWebhook(ctx, storeId, asWebhookBody(product, variants), ctx.clock.now());
    }
    product = null;
    variants = [];
  };
  if (file.url)
    for await (const line of readJsonlLines(file.url, transport.store)) {
      const row = JSON.parse(line) as ProductLine | VariantLine;
      if ("__parentId" in row) {
        if (product !== null && row.__parentId === product.id && row.id.includes("/ProductVariant/"))
          variants.push(row);
        continue;
      }
      await finish();
      product = row;
      present.add(numericId(row.id));
      if (++read % 1000 === 0) await yieldToEventLoop();
    }
  await finish();

  let deleted = 0;
  const gone = new Set<string>();
  for await (const gids of linkedProducts(db, storeId, startedAt))
    for (const gid of gids) if (!present.has(numericId(gid))) gone.add(gid);
  for (const gid of gone) {
    await applyProductDeleteAsWebhook(ctx, storeId, gid, ctx.clock.now());
    deleted++;
  }
  return { since, read, products, changes, deleted, skipped: 0 };
}

/** How often the pass looks whether a check is due (a read of the hub's own tables). */
export const CATALOG_CHECK_LOOK_MS = 5 * 60_000;

/**
 * Whether the store is due a check: 6 hours since this process last checked it, or the webhook
 * health check found product subscriptions missing (re-created or refused) since then, or its
 * webhooks cannot work at all.
 */
async function due(
  ctx: AppContext,
  storeId: number,
  last: number | undefined,
  now: number,
): Promise<boolean> {
  if (last === undefined || now - last >= CATALOG_CHECK_EVERY_MS) return true;
  const health = await ctx.database.db
    .selectFrom("webhook_health")
    .select(["checked_at", "missing", "problem"])
    .where("store_id", "=", storeId)
    .executeTakeFirst();
  if (!health || Number(health.checked_at) <= last) return false;
  const missing = JSON.parse(health.missing) as string[];
  return health.problem !== null || missing.some((t) => t.startsWith("PRODUCTS_"));
}

/** The pass the hub registers: a check every 6 hours per store, sooner after webhooks went missing. */
export function catalogCheckStorePass(ctx: AppContext, options: CatalogCheckOptions = {}): StorePass {
  // Per process: a store whose lease moves to another process is checked there at once (one
  // bulk read of the store's products and variants).
  const lastCheck = new Map<number, number>();
  return {
    name: "catalog:check",
    flow: null,
    everyMs: CATALOG_CHECK_LOOK_MS,
    // A failing check is logged and tried again next time: it must not hold back the store's
    // later passes (operator jobs) the way a failing pass does.
    run: async (store, transport) => {
      const now = ctx.clock.now();
      try {
        if (!(await due(ctx, store.id, lastCheck.get(store.id), now))) return;
        lastCheck.set(store.id, now);
        await runCatalogCheck(ctx, store.id, transport, options);
      } catch (err) {
        ctx.logger.warn({ store: store.domain, err: (err as Error).message }, "catalog check failed");
      }
    },
  };
}
