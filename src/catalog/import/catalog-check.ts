/**
 * Staying current when product webhooks never arrived: a store pass (under the store's lease)
 * that, every few hours, reads the products Shopify updated since the newest `updatedAt` the hub
 * has seen and applies each one as its products/update delivery would have been. Only stores
 * with imported products are checked (the watermark comes from their last-seen state).
 * Deletions are not visible to an `updated_at` search; the drift reconciliation and the next
 * import catch those.
 */

import { yieldToEventLoop } from "../../core/clock.ts";
import type { AppContext } from "../../core/context.ts";
import type { Db } from "../../db/database.ts";
import type { StorePass } from "../../runtime/worker.ts";
import { graphql } from "../../shopify/graphql.ts";
import { type Connection, pages } from "../../shopify/pager.ts";
import type { AdminTransport } from "../../shopify/transport.ts";
import { applyProductAsWebhook, type ProductBody } from "./product-webhooks.ts";

export const CATALOG_CHECK_EVERY_MS = 6 * 60 * 60_000;

/**
 * Products updated after a moment, 4 a page with up to 100 variants each: a requested cost of
 * about 810, under Shopify's 1,000 per query (more products a page would have to read fewer
 * variants each).
 */
export const PRODUCTS_UPDATED_SINCE = graphql`
  query TillbridgeProductsUpdatedSince($after: String, $query: String!) {
    products(first: 4, after: $after, query: $query, sortKey: UPDATED_AT) {
      nodes {
        id
        legacyResourceId
        title
        handle
        status
        updatedAt
        variants(first: 100) {
          nodes {
            id
            legacyResourceId
            sku
            barcode
            inventoryItem {
              legacyResourceId
            }
          }
          pageInfo {
            hasNextPage
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

interface ProductNode {
  id: string;
  legacyResourceId: string;
  title: string;
  handle: string;
  status: string;
  updatedAt: string;
  variants: {
    nodes: {
      id: string;
      legacyResourceId: string;
      sku: string | null;
      barcode: string | null;
      inventoryItem: { legacyResourceId: string };
    }[];
    pageInfo: { hasNextPage: boolean };
  };
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
function asWebhookBody(p: ProductNode): ProductBody {
  return {
    id: p.legacyResourceId,
    admin_graphql_api_id: p.id,
    updated_at: p.updatedAt,
    title: p.title,
    handle: p.handle,
    status: p.status.toLowerCase(),
    variants: p.variants.nodes.map((v) => ({
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
  readonly products: number;
  readonly changes: number;
  /** Products with more variants than one read returns: left to the next import. */
  readonly skipped: number;
}

export async function runCatalogCheck(
  ctx: AppContext,
  storeId: number,
  transport: AdminTransport,
): Promise<CatalogCheckResult> {
  const since = await lastSeenUpdatedAt(ctx.database.db, storeId);
  if (since === null) return { since, products: 0, changes: 0, skipped: 0 };
  let products = 0;
  let changes = 0;
  let skipped = 0;
  const readPage = async (after: string | null) =>
    (
      await transport.graphql<{ products: Connection<ProductNode> }>(
        PRODUCTS_UPDATED_SINCE,
        { after, query: `updated_at:>'${since}'` },
        { estimatedCost: 810 },
      )
    ).data.products;
  for await (const nodes of pages(readPage)) {
    for (const p of nodes) {
      // A product whose variants do not fit one read would look as if some were removed.
      if (p.variants.pageInfo.hasNextPage) {
        skipped++;
        continue;
      }
      products++;
      changes += await applyProductAsWebhook(ctx, storeId, asWebhookBody(p), ctx.clock.now());
    }
    await yieldToEventLoop();
  }
  return { since, products, changes, skipped };
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
export function catalogCheckStorePass(ctx: AppContext): StorePass {
  // Per process: a store whose lease moves to another process is checked there at once (cheap
  // when nothing changed: one page of products).
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
        await runCatalogCheck(ctx, store.id, transport);
      } catch (err) {
        ctx.logger.warn({ store: store.domain, err: (err as Error).message }, "catalog check failed");
      }
    },
  };
}
