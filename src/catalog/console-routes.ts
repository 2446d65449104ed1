/**
 * The operator's view of a store's catalog: the hub's variants with their link to the store
 * (linked, with the Shopify variant and inventory item; unlinked; or a link problem with its
 * reason). Keyset-paged: by variant id, or by SKU when searching (a SKU prefix or a barcode).
 */
import type { ExpressionBuilder } from "kysely";
import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import { decodeCursor, pageOf, pageQuery } from "../core/cursor.ts";
import { line, trimmedKey } from "../core/input.ts";
import { route } from "../core/route.ts";
import type { Db } from "../db/database.ts";
import type { Tables } from "../db/tables.ts";
import { requireStore } from "../shops/stores.ts";

const catalogQuery = z.object({
  q: trimmedKey(255).optional().describe("A SKU or its beginning, or a barcode"),
  state: z.enum(["linked", "problem", "unlinked"]).optional(),
  ...pageQuery,
});
export type CatalogQuery = z.infer<typeof catalogQuery>;

export const catalogItemSchema = z.object({
  variantId: z
    .number()
    .int()
    .nullable()
    .meta({ description: "The hub's variant; null for a Shopify variant the hub does not have" }),
  sku: z.string().nullable(),
  barcode: z.string().nullable(),
  title: z.string().nullable(),
  state: z.enum(["linked", "problem", "unlinked"]),
  shopifyVariantId: z.string().nullable(),
  inventoryItemId: z.string().nullable(),
  matchedBy: z.enum(["sku", "barcode", "manual"]).nullable(),
  problem: z
    .object({
      id: z.number().int(),
      kind: z.string(),
      reason: z.string(),
      detectedAt: z.number(),
    })
    .nullable(),
});
type CatalogItem = z.infer<typeof catalogItemSchema>;

/** The highest code point: `[q, q + MAX)` holds exactly the strings that start with q. */
const MAX = "\u{10FFFF}";

export function catalogVariantQuery(db: Db, storeId: number, query: CatalogQuery) {
  const bySku = query.q !== undefined;
  if (query.state === "linked" && !bySku) {
    // Walk the store's links in variant order (their primary key), each variant by its own.
    let q = db
      .selectFrom("variant_links as l")
      .innerJoin("variants as v", "v.id", "l.variant_id")
      .select(["v.id", "v.sku", "v.barcode", "v.title"])
      .where("l.store_id", "=", storeId)
      .orderBy("l.variant_id")
      .limit(query.limit + 1);
    if (query.cursor) {
      const [, id] = decodeCursor(query.cursor, ["string", "number"]) as [string, number];
      // Both sides of the join start at the cursor (a merge join would otherwise walk the
      // variants from the first one).
      q = q.where("l.variant_id", ">", id).where("v.id", ">", id);
    }
    return q;
  }
  let q = db
    .selectFrom("variants as v")
    .select(["v.id", "v.sku", "v.barcode", "v.title"])
    .limit(query.limit + 1);
  const linkOf = (eb: ExpressionBuilder<Tables & { v: Tables["variants"] }, "v">) =>
    eb
      .selectFrom("variant_links as l")
      .select("l.variant_id")
      .where("l.store_id", "=", storeId)
      .whereRef("l.variant_id", "=", "v.id");
  if (query.state === "linked") q = q.where((eb) => eb.exists(linkOf(eb)));
  if (query.state === "unlinked") q = q.where((eb) => eb.not(eb.exists(linkOf(eb))));
  if (bySku) {
    const text = query.q!;
    q = q
      .where((eb) =>
        eb.or([eb.and([eb("v.sku", ">=", text), eb("v.sku", "<", text + MAX)]), eb("v.barcode", "=", text)]),
      )
      .orderBy("v.sku");
    if (query.cursor) {
      const [, sku] = decodeCursor(query.cursor, ["string", "string"]) as [string, string];
      q = q.where("v.sku", ">", sku);
    }
  } else {
    q = q.orderBy("v.id");
    if (query.cursor) {
      const [, id] = decodeCursor(query.cursor, ["string", "number"]) as [string, number];
      q = q.where("v.id", ">", id);
    }
  }
  return q;
}

export function catalogProblemQuery(db: Db, storeId: number, query: CatalogQuery) {
  let q = db
    .selectFrom("link_problems as p")
    .leftJoin("variants as v", "v.sku", "p.sku")
    .select([
      "p.id",
      "p.kind",
      "p.sku",
      "p.barcode",
      "p.product_variant_gid",
      "p.detail",
      "p.detected_at",
      "v.id as variant_id",
      "v.barcode as variant_barcode",
      "v.title",
    ])
    .where("p.store_id", "=", storeId)
    .orderBy("p.id")
    .limit(query.limit + 1);
  if (query.q !== undefined) {
    const text = query.q;
    q = q.where((eb) =>
      eb.or([eb.and([eb("p.sku", ">=", text), eb("p.sku", "<", text + MAX)]), eb("p.barcode", "=", text)]),
    );
  }
  if (query.cursor) {
    const [, id] = decodeCursor(query.cursor, ["string", "number"]) as [string, number];
    q = q.where("p.id", ">", id);
  }
  return q;
}

export async function listCatalog(
  db: Db,
  storeId: number,
  query: CatalogQuery,
): Promise<{ items: CatalogItem[]; nextCursor: string | null }> {
  if (query.state === "problem") {
    const rows = await catalogProblemQuery(db, storeId, query).execute();
    const page = pageOf(rows, query.limit, (r) => ["p", Number(r.id)]);
    return {
      items: page.rows.map((r) => ({
        variantId: r.variant_id === null ? null : Number(r.variant_id),
        sku: r.sku,
        barcode: r.barcode ?? r.variant_barcode,
        title: r.title,
        state: "problem" as const,
        shopifyVariantId: r.product_variant_gid,
        inventoryItemId: null,
        matchedBy: null,
        problem: { id: Number(r.id), kind: r.kind, reason: r.detail, detectedAt: Number(r.detected_at) },
      })),
      nextCursor: page.nextCursor,
    };
  }
  const rows = await catalogVariantQuery(db, storeId, query).execute();
  const page = pageOf(rows, query.limit, (r) => (query.q !== undefined ? ["s", r.sku] : ["i", Number(r.id)]));
  const ids = page.rows.map((r) => Number(r.id));
  const links =
    ids.length === 0
      ? []
      : await db
          .selectFrom("variant_links")
          .select(["variant_id", "product_variant_gid", "inventory_item_gid", "matched_by"])
          .where("store_id", "=", storeId)
          .where("variant_id", "in", ids)
          .execute();
  const linkOf = new Map(links.map((l) => [Number(l.variant_id), l]));
  // The problems of the page's unlinked variants, by SKU (one indexed look-up).
  const unlinked = page.rows.filter((r) => !linkOf.has(Number(r.id))).map((r) => r.sku);
  const problems =
    unlinked.length === 0
      ? []
      : await db
          .selectFrom("link_problems")
          .select(["id", "sku", "kind", "detail", "detected_at", "product_variant_gid"])
          .where("store_id", "=", storeId)
          .where("sku", "in", unlinked)
          .orderBy("id")
          .execute();
  const problemOf = new Map(problems.map((p) => [p.sku, p]));
  return {
    items: page.rows.map((r) => {
      const l = linkOf.get(Number(r.id));
      const p = l ? undefined : problemOf.get(r.sku);
      return {
        variantId: Number(r.id),
        sku: r.sku,
        barcode: r.barcode,
        title: r.title,
        state: l ? ("linked" as const) : p ? ("problem" as const) : ("unlinked" as const),
        shopifyVariantId: l?.product_variant_gid ?? p?.product_variant_gid ?? null,
        inventoryItemId: l?.inventory_item_gid ?? null,
        matchedBy: l?.matched_by ?? null,
        problem: p
          ? { id: Number(p.id), kind: p.kind, reason: p.detail, detectedAt: Number(p.detected_at) }
          : null,
      };
    }),
    nextCursor: page.nextCursor,
  };
}

export function catalogConsoleRoutes(ctx: AppContext) {
  return [
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/catalog",
      tag: "catalog",
      auth: "store.read",
      summary:
        "The hub's variants and their link to the store: linked (with the Shopify variant and inventory item), unlinked, or a link problem with its reason (state=problem lists every problem, also Shopify variants the hub lacks). Search by SKU prefix or barcode; page with `cursor=nextCursor`.",
      params: z.object({ domain: line(255).pipe(z.string().min(1)) }),
      query: catalogQuery,
      response: z.object({ items: z.array(catalogItemSchema), nextCursor: z.string().nullable() }),
      async handler({ params, query }) {
        const store = await requireStore(ctx.database, params.domain);
        return listCatalog(ctx.database.db, store.id, query);
      },
    }),
  ];
}
