/**
 * Linking hub variants to a store's inventory items (SKU, then barcode), replacing the store's
 * link problems each run, then reading Shopify's current `on_hand` at the managed locations
 * into inventory_sync.confirmed (the push's `changeFromQuantity`). New links are marked dirty.
 * A large store is read with bulk operations.
 */

import { type Clock, yieldToEventLoop } from "../core/clock.ts";
import { chunks } from "../db/batching.ts";
import type { Database, Db } from "../db/database.ts";
import { confirmAllLevels } from "../inventory/push/confirm-levels.ts";
import { markStoreDirtyFor } from "../inventory/push/push-store.ts";
import { runBulkQuery } from "../shopify/bulk-query.ts";
import { graphql } from "../shopify/graphql.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { logActivity } from "../shops/activity.ts";
import { HeapGuard } from "./import/heap.ts";
import {
  type ExistingLink,
  type HubVariant,
  type LinkProblem,
  matchVariantsInChunks,
  type ShopifyVariant,
} from "./matching.ts";

export const PRODUCT_VARIANTS_QUERY = graphql`
  query TillbridgeProductVariants($after: String) {
    productVariants(first: 250, after: $after) {
      nodes {
        id
        sku
        barcode
        inventoryItem {
          id
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

/** The same read for a large store: one bulk operation, streamed (JSONL, one line per variant). */
export const PRODUCT_VARIANTS_BULK = graphql`
  {
    productVariants {
      edges {
        node {
          id
          sku
          barcode
          inventoryItem {
            id
          }
        }
      }
    }
  }
`;

interface VariantsPage {
  productVariants: {
    nodes: { id: string; sku: string | null; barcode: string | null; inventoryItem: { id: string } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

/**
 * Every variant of the store: one page when the store is small; otherwise the rest comes from
 * one bulk operation (a few points instead of ~500 per 250 variants).
 */
export async function readShopifyVariants(
  transport: AdminTransport,
  clock: Clock,
  heap?: HeapGuard,
): Promise<ShopifyVariant[]> {
  const first: { data: VariantsPage } = await transport.graphql<VariantsPage>(
    PRODUCT_VARIANTS_QUERY,
    { after: null },
    { estimatedCost: 502 },
  );
  const toVariant = (v: VariantsPage["productVariants"]["nodes"][number]): ShopifyVariant => ({
    id: v.id,
    sku: v.sku,
    barcode: v.barcode,
    inventoryItemId: v.inventoryItem.id,
  });
  if (!first.data.productVariants.pageInfo.hasNextPage)
    return first.data.productVariants.nodes.map(toVariant);
  const out: ShopifyVariant[] = [];
  for await (const row of runBulkQuery(transport, PRODUCT_VARIANTS_BULK, { clock, pollMs: 500 })) {
    const item = (row.inventoryItem as { id?: string } | undefined)?.id;
    if (typeof row.id !== "string" || !item) continue;
    out.push({
      id: row.id,
      sku: (row.sku as string | null | undefined) ?? null,
      barcode: (row.barcode as string | null | undefined) ?? null,
      inventoryItemId: item,
    });
    if (out.length % 10_000 === 0) heap?.check();
  }
  return out;
}

/** Rows per page of the whole-store reads below. */
const PAGE = 5000;

/**
 * Every hub variant (what matching needs, and its product), a page at a time (keyset on id) with
 * the event loop free between pages: one 100,000-row SELECT held SQLite's one connection, and so
 * /healthz and the API, for its whole length.
 */
export async function readHubVariants(db: Db): Promise<(HubVariant & { productId: number | null })[]> {
  const out: (HubVariant & { productId: number | null })[] = [];
  for (let after = -1; ; ) {
    const page = await db
      .selectFrom("variants")
      .select(["id", "sku", "barcode", "product_id"])
      .where("id", ">", after)
      .orderBy("id")
      .limit(PAGE)
      .execute();
    for (const v of page)
      out.push({
        id: Number(v.id),
        sku: v.sku,
        barcode: v.barcode,
        productId: v.product_id === null ? null : Number(v.product_id),
      });
    if (page.length < PAGE) return out;
    after = Number(page[page.length - 1]!.id);
    await yieldToEventLoop();
  }
}

/** The store's variant links as matching takes them (not their last-seen state), paged the same way. */
export async function readExistingLinks(db: Db, storeId: number): Promise<ExistingLink[]> {
  const out: ExistingLink[] = [];
  for (let after = -1; ; ) {
    const page = await db
      .selectFrom("variant_links")
      .select(["variant_id", "product_variant_gid", "inventory_item_gid", "matched_by"])
      .where("store_id", "=", storeId)
      .where("variant_id", ">", after)
      .orderBy("variant_id")
      .limit(PAGE)
      .execute();
    for (const r of page)
      out.push({
        variantId: Number(r.variant_id),
        productVariantGid: r.product_variant_gid,
        inventoryItemGid: r.inventory_item_gid,
        matchedBy: r.matched_by,
      });
    if (page.length < PAGE) return out;
    after = Number(page[page.length - 1]!.variant_id);
    await yieldToEventLoop();
  }
}

export interface LinkSummary {
  readonly linked: number;
  readonly bySku: number;
  readonly byBarcode: number;
  readonly newlyLinked: number;
  readonly removed: number;
  readonly problems: number;
  readonly problemsByKind: Record<string, number>;
  readonly levelsRead: number;
}

export async function linkVariants(
  database: Database,
  transport: AdminTransport,
  storeId: number,
  now: number,
): Promise<LinkSummary> {
  // The match in a function of its own: a suspended async function may keep its locals, and the
  // whole store's variants, links and problems (131 MB live in a heap snapshot at 100,000
  // variants) must not stay reachable through the levels' read below. Once it returns they are
  // garbage, collected here: the levels' read (every linked item at every managed location)
  // starts from a small heap.
  const counted = await matchAndLink(database, transport, storeId, now);
  new HeapGuard().collect();
  const levelsRead = await readConfirmedLevels(database, transport, storeId, now);
  const summary: LinkSummary = { ...counted, levelsRead };
  await logActivity(
    database.db,
    {
      storeId,
      flow: "inventory_push",
      kind: "linked",
      level: summary.problems > 0 ? "warn" : "info",
      message: `linked ${summary.linked} variant(s) (${summary.bySku} by SKU, ${summary.byBarcode} by barcode), ${summary.problems} problem(s)`,
      data: { ...summary },
    },
    now,
  );
  return summary;
}

/** Reads the store's variants, matches them with the hub's, writes the links and problems. */
async function matchAndLink(
  database: Database,
  transport: AdminTransport,
  storeId: number,
  now: number,
): Promise<Omit<LinkSummary, "levelsRead">> {
  // Garbage collected as it grows (src/catalog/import/heap.ts): the match allocates a few
  // whole-store tables and V8 otherwise lets the old generation fill with them first.
  const heap = new HeapGuard();
  const shopify = await readShopifyVariants(transport, { now: () => now }, heap);
  const db = database.db;
  const hub = await readHubVariants(db);
  const existing = await readExistingLinks(db, storeId);
  heap.check();
  // In chunks: a 100,000-variant store's match gives the event loop a turn every few thousand.
  const result = await matchVariantsInChunks(hub, shopify, existing, {
    pause: async () => {
      heap.check();
      await yieldToEventLoop();
    },
  });
  hub.length = 0;
  shopify.length = 0;
  heap.check();
  // A turn of the event loop between the whole-store steps (each some tens of ms at 100,000).
  await yieldToEventLoop();
  const before = new Map(existing.map((e) => [e.variantId, e]));
  await yieldToEventLoop();
  const after = new Map(result.links.map((l) => [l.variantId, l]));
  await yieldToEventLoop();
  const changed = result.links.filter((l) => {
    const old = before.get(l.variantId);
    return (
      !old || old.productVariantGid !== l.productVariantGid || old.inventoryItemGid !== l.inventoryItemGid
    );
  });
  await yieldToEventLoop();
  const dropped = existing.filter((e) => {
    const now2 = after.get(e.variantId);
    return (
      !now2 || now2.inventoryItemGid !== e.inventoryItemGid || now2.productVariantGid !== e.productVariantGid
    );
  });
  await yieldToEventLoop();

  // Short transactions, a page of links each (with their push marks), the event loop free
  // between them: 100,000 links in one transaction held SQLite's one connection (and so /healthz
  // and the API) for seconds. A crash part-way leaves some links written; linking again diffs
  // against what is stored and finishes the rest.
  await dropLinks(database, storeId, dropped);
  for (const part of chunks(changed, 300)) {
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto("variant_links")
        .values(
          part.map((l) => ({
            store_id: storeId,
            variant_id: l.variantId,
            product_variant_gid: l.productVariantGid,
            inventory_item_gid: l.inventoryItemGid,
            matched_by: l.matchedBy,
            linked_at: now,
          })),
        )
        .execute();
      await markStoreDirtyFor(
        trx,
        storeId,
        part.map((l) => l.variantId),
        now,
      );
    });
    await yieldToEventLoop();
  }
  // matched_by may change without the item changing (SKU match after a barcode match).
  const changedSet = new Set(changed);
  const rematched = result.links.filter((l) => {
    const old = before.get(l.variantId);
    return old && old.matchedBy !== l.matchedBy && !changedSet.has(l);
  });
  for (const part of chunks(rematched, 300)) {
    await db.transaction().execute(async (trx) => {
      for (const l of part)
        await trx
          .updateTable("variant_links")
          .set({ matched_by: l.matchedBy })
          .where("store_id", "=", storeId)
          .where("variant_id", "=", l.variantId)
          .execute();
    });
    await yieldToEventLoop();
  }
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom("link_problems").where("store_id", "=", storeId).execute();
    for (const part of chunks<LinkProblem>(result.problems, 500)) {
      await trx
        .insertInto("link_problems")
        .values(
          part.map((p) => ({
            store_id: storeId,
            kind: p.kind,
            sku: p.sku,
            barcode: p.barcode,
            product_variant_gid: p.productVariantGid,
            detail: p.detail,
            detected_at: now,
            candidates: p.candidates ? JSON.stringify(p.candidates) : null,
          })),
        )
        .execute();
    }
  });

  const problemsByKind: Record<string, number> = {};
  for (const p of result.problems) problemsByKind[p.kind] = (problemsByKind[p.kind] ?? 0) + 1;
  return {
    linked: result.links.length,
    bySku: result.links.filter((l) => l.matchedBy === "sku").length,
    byBarcode: result.links.filter((l) => l.matchedBy === "barcode").length,
    newlyLinked: changed.length,
    removed: dropped.filter((d) => !after.has(d.variantId)).length,
    problems: result.problems.length,
    problemsByKind,
  };
}

/** Shopify's `on_hand` for every linked item at the managed locations, as the push's confirmed values. */
export const readConfirmedLevels = (
  database: Database,
  transport: AdminTransport,
  storeId: number,
  now: number,
) => confirmAllLevels(database.db, transport, storeId, now);

export interface LinkProblemView {
  readonly kind: string;
  readonly sku: string | null;
  readonly barcode: string | null;
  readonly productVariantId: string | null;
  readonly detail: string;
  readonly detectedAt: string;
  /** Shopify variants to pick one of (link by hand); empty when there is nothing to pick. */
  readonly candidates: readonly string[];
}

export async function listLinkProblems(database: Database, storeId: number): Promise<LinkProblemView[]> {
  const rows = await database.db
    .selectFrom("link_problems")
    .selectAll()
    .where("store_id", "=", storeId)
    .orderBy("kind")
    .orderBy("id")
    .execute();
  return rows.map((r) => ({
    kind: r.kind,
    sku: r.sku,
    barcode: r.barcode,
    productVariantId: r.product_variant_gid,
    detail: r.detail,
    detectedAt: new Date(Number(r.detected_at)).toISOString(),
    candidates: r.candidates ? (JSON.parse(r.candidates) as string[]) : [],
  }));
}

/**
 * Removes links that went away or changed, with their sync state (the item is no longer ours), a
 * page of 300 per transaction with the event loop free between them (linking and the import).
 */
export async function dropLinks(
  database: Database,
  storeId: number,
  dropped: readonly Pick<ExistingLink, "variantId" | "inventoryItemGid">[],
): Promise<void> {
  for (const part of chunks(dropped, 300)) {
    await database.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom("variant_links")
        .where("store_id", "=", storeId)
        .where(
          "variant_id",
          "in",
          part.map((d) => d.variantId),
        )
        .execute();
      await trx
        .deleteFrom("inventory_sync")
        .where("store_id", "=", storeId)
        .where(
          "inventory_item_gid",
          "in",
          part.map((d) => d.inventoryItemGid),
        )
        .execute();
    });
    await yieldToEventLoop();
  }
}
