/**
 * The product store: applies a validated batch in one transaction (all or nothing), reads
 * products back, pages and searches them, and archives. Variants stay keyed by SKU in
 * `variants`; a product's variants are the rows whose `product_id` is the product.
 */
import { type Kysely, sql, type Transaction } from "kysely";
import { decodeCursor, encodeCursor } from "../core/cursor.ts";
import { AppError } from "../core/errors.ts";
import { normalizeKey } from "../core/input.ts";
import { chunks } from "../db/batching.ts";
import type { Database } from "../db/database.ts";
import type { ProductStatus, Tables, WeightUnit } from "../db/tables.ts";
import {
  insertRows,
  PRODUCT_IMAGE_COLUMNS,
  PRODUCT_METAFIELD_COLUMNS,
  PRODUCT_OPTION_COLUMNS,
  VARIANT_COLUMNS,
} from "./bulk-insert.ts";
import {
  fromMinor,
  type NormalizedProduct,
  planProductBatch,
  productHash,
  referencedSkus,
} from "./products.ts";

export interface PutProductsResult {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
}

/** Lower-cased, NFC: what the title prefix search compares. */
export const titleSearchForm = (v: string): string => v.normalize("NFC").toLowerCase();

/** The smallest string greater than every string starting with `prefix` (code point order). */
export function prefixUpperBound(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    let next = last + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return points.join("") + String.fromCodePoint(next);
  }
  return undefined;
}

export async function putProducts(
  database: Database,
  items: readonly unknown[],
  now: number,
): Promise<PutProductsResult> {
  return database.db.transaction().execute(async (trx) => {
    const skus = referencedSkus(items);
    const productKeyBySku = new Map<string, string | null>();
    for (const part of chunks(skus, 500)) {
      const rows = await trx
        .selectFrom("variants")
        .leftJoin("products", "products.id", "variants.product_id")
        .select(["variants.sku", "products.key"])
        .where("variants.sku", "in", part)
        .execute();
      for (const r of rows) productKeyBySku.set(r.sku, r.key);
    }
    const plan = planProductBatch(items, { productKeyBySku });
    if (!plan.ok)
      throw new AppError(
        "INVALID_PRODUCTS",
        `${new Set(plan.errors.map((e) => e.index)).size} of ${items.length} products are invalid; nothing was saved`,
        plan.errors,
      );

    const existing = new Map<string, { id: number; content_hash: string }>();
    for (const part of chunks(
      plan.products.map((p) => p.key),
      500,
    )) {
      for (const r of await trx
        .selectFrom("products")
        .select(["id", "key", "content_hash"])
        .where("key", "in", part)
        .execute())
        existing.set(r.key, { id: Number(r.id), content_hash: r.content_hash });
    }
    const changes: Change[] = [];
    let unchanged = 0;
    for (const p of plan.products) {
      const hash = productHash(p);
      const before = existing.get(p.key);
      if (before && before.content_hash === hash) unchanged++;
      else changes.push({ product: p, hash, existingId: before?.id });
    }
    await writeProducts(trx, changes, now);
    const updated = changes.filter((c) => c.existingId !== undefined).length;
    const created = changes.length - updated;
    return { created, updated, unchanged };
  });
}

export interface Change {
  readonly product: NormalizedProduct;
  readonly hash: string;
  readonly existingId: number | undefined;
}

/** Writes every changed product of a batch with a few multi-row statements, not a few per product. */
export async function writeProducts(
  trx: Transaction<Tables>,
  changes: readonly Change[],
  now: number,
): Promise<void> {
  if (changes.length === 0) return;
  const row = (p: NormalizedProduct, hash: string) => ({
    title: p.title,
    title_lower: titleSearchForm(p.title),
    description_html: p.descriptionHtml,
    vendor: p.vendor,
    product_type: p.productType,
    tags: JSON.stringify(p.tags),
    status: p.status,
    category_gid: p.category,
    seo_title: p.seoTitle,
    seo_description: p.seoDescription,
    content_hash: hash,
    updated_at: now,
  });
  const idByKey = new Map<string, number>();
  const fresh = changes.filter((c) => c.existingId === undefined);
  for (const part of chunks(fresh, 250)) {
    const inserted = await trx
      .insertInto("products")
      .values(part.map((c) => ({ key: c.product.key, ...row(c.product, c.hash), created_at: now })))
      .onConflict((oc) => oc.column("key").doNothing())
      .returning(["id", "key"])
      .execute();
    for (const r of inserted) idByKey.set(r.key, Number(r.id));
    const lost = part.filter((c) => !idByKey.has(c.product.key));
    if (lost.length > 0)
      throw raced(`product ${lost[0]!.product.key} was created by another request at the same time`);
  }
  const updatedIds: number[] = [];
  for (const c of changes) {
    if (c.existingId === undefined) continue;
    idByKey.set(c.product.key, c.existingId);
    updatedIds.push(c.existingId);
    await trx.updateTable("products").set(row(c.product, c.hash)).where("id", "=", c.existingId).execute();
  }
  const listed = new Set(changes.flatMap((c) => c.product.variants.map((v) => v.sku)));
  for (const part of chunks(updatedIds, 500)) {
    await trx.deleteFrom("product_options").where("product_id", "in", part).execute();
    await trx.deleteFrom("product_images").where("product_id", "in", part).execute();
    await trx.deleteFrom("product_metafields").where("product_id", "in", part).execute();
    // Variants no longer listed leave the product but stay (movements refer to them by SKU).
    const held = await trx
      .selectFrom("variants")
      .select(["id", "sku"])
      .where("product_id", "in", part)
      .execute();
    const leaving = held.filter((v) => !listed.has(v.sku)).map((v) => v.id);
    for (const ids of chunks(leaving, 500))
      await trx
        .updateTable("variants")
        .set({ product_id: null, position: null, updated_at: now })
        .where("id", "in", ids)
        .execute();
  }

  const idOf = (p: NormalizedProduct) => idByKey.get(p.key)!;
  const options = changes.flatMap(({ product: p }) =>
    p.options.map((o, i) => ({
      product_id: idOf(p),
      position: i + 1,
      name: o.name,
      option_values: JSON.stringify(o.values),
    })),
  );
  for (const part of chunks(options, 1000))
    await insertRows(trx, "product_options", PRODUCT_OPTION_COLUMNS, part).execute();
  const images = changes.flatMap(({ product: p }) =>
    p.images.map((img, i) => ({ product_id: idOf(p), position: i + 1, url: img.url, alt: img.alt })),
  );
  for (const part of chunks(images, 1000))
    await insertRows(trx, "product_images", PRODUCT_IMAGE_COLUMNS, part).execute();
  const metafields = changes.flatMap(({ product: p }) =>
    p.metafields.map((m) => ({ product_id: idOf(p), ...m })),
  );
  for (const part of chunks(metafields, 1000))
    await insertRows(trx, "product_metafields", PRODUCT_METAFIELD_COLUMNS, part).execute();

  const variants = changes.flatMap(({ product: p }) =>
    p.variants.map((v, i) => ({
      sku: v.sku,
      barcode: v.barcode,
      title: v.options.length > 0 ? `${p.title} - ${v.options.join(" / ")}` : p.title,
      option1: v.options[0] ?? null,
      option2: v.options[1] ?? null,
      option3: v.options[2] ?? null,
      product_id: idOf(p),
      position: i + 1,
      weight_value: v.weightValue,
      weight_unit: v.weightUnit,
      taxable: v.taxable ? 1 : 0,
      inventory_tracked: v.inventoryTracked ? 1 : 0,
      price_minor: v.priceMinor,
      compare_at_price_minor: v.compareAtPriceMinor,
      cost_minor: v.costMinor,
      created_at: now,
      updated_at: now,
    })),
  );
  // 17 columns: 1,000 rows (17,000 parameters) stay under SQLite's 32,766 and PostgreSQL's 65,535.
  // Fewer, larger statements: each costs a round trip (PostgreSQL) and a prepare.
  for (const part of chunks(variants, 1000)) {
    const written = await insertRows(trx, "variants", VARIANT_COLUMNS, part)
      .onConflict((oc) =>
        oc
          .column("sku")
          .doUpdateSet((eb) => ({
            barcode: eb.ref("excluded.barcode"),
            title: eb.ref("excluded.title"),
            option1: eb.ref("excluded.option1"),
            option2: eb.ref("excluded.option2"),
            option3: eb.ref("excluded.option3"),
            product_id: eb.ref("excluded.product_id"),
            position: eb.ref("excluded.position"),
            weight_value: eb.ref("excluded.weight_value"),
            weight_unit: eb.ref("excluded.weight_unit"),
            taxable: eb.ref("excluded.taxable"),
            inventory_tracked: eb.ref("excluded.inventory_tracked"),
            price_minor: eb.ref("excluded.price_minor"),
            compare_at_price_minor: eb.ref("excluded.compare_at_price_minor"),
            cost_minor: eb.ref("excluded.cost_minor"),
            updated_at: eb.ref("excluded.updated_at"),
          }))
          .where((eb) =>
            eb.or([
              eb("variants.product_id", "is", null),
              eb("variants.product_id", "=", eb.ref("excluded.product_id")),
            ]),
          ),
      )
      .returning("sku")
      .execute();
    // A SKU another product took since the batch was checked is not moved: the batch is refused.
    if (written.length !== part.length) {
      const got = new Set(written.map((w) => w.sku));
      const lost = part.filter((v) => !got.has(v.sku)).map((v) => v.sku);
      throw raced(`SKU ${lost.slice(0, 5).join(", ")} was given to another product at the same time`);
    }
  }
}

const raced = (message: string) =>
  new AppError("CONFLICT", `${message}; nothing was saved, send the batch again`, [
    { code: "CONCURRENT_CHANGE", message },
  ]);

// ---------------------------------------------------------------------------------------------
// Reading

export interface ProductView {
  key: string;
  title: string;
  descriptionHtml: string | null;
  vendor: string | null;
  productType: string | null;
  tags: string[];
  status: ProductStatus;
  category: string | null;
  seo: { title: string | null; description: string | null };
  options: { name: string; values: string[] }[];
  images: { url: string; alt: string | null }[];
  metafields: { namespace: string; key: string; type: string; value: string }[];
  variants: {
    sku: string;
    barcode: string | null;
    options: string[];
    weight: { value: number; unit: WeightUnit } | null;
    taxable: boolean;
    inventoryTracked: boolean;
    price: string | null;
    compareAtPrice: string | null;
    cost: string | null;
  }[];
  createdAt: string;
  updatedAt: string;
}

export async function getProduct(db: Kysely<Tables>, key: string): Promise<ProductView> {
  const k = normalizeKey(key);
  const p = await db.selectFrom("products").selectAll().where("key", "=", k).executeTakeFirst();
  if (!p)
    throw new AppError("NOT_FOUND", `no product ${k}`, [
      { path: "key", code: "UNKNOWN_PRODUCT", message: k },
    ]);
  const id = Number(p.id);
  const [options, images, metafields, variants] = await Promise.all([
    db.selectFrom("product_options").selectAll().where("product_id", "=", id).orderBy("position").execute(),
    db.selectFrom("product_images").selectAll().where("product_id", "=", id).orderBy("position").execute(),
    db
      .selectFrom("product_metafields")
      .selectAll()
      .where("product_id", "=", id)
      .orderBy("namespace")
      .orderBy("key")
      .execute(),
    db.selectFrom("variants").selectAll().where("product_id", "=", id).orderBy("position").execute(),
  ]);
  return {
    key: p.key,
    title: p.title,
    descriptionHtml: p.description_html,
    vendor: p.vendor,
    productType: p.product_type,
    tags: JSON.parse(p.tags) as string[],
    status: p.status,
    category: p.category_gid,
    seo: { title: p.seo_title, description: p.seo_description },
    options: options.map((o) => ({ name: o.name, values: JSON.parse(o.option_values) as string[] })),
    images: images.map((i) => ({ url: i.url, alt: i.alt })),
    metafields: metafields.map((m) => ({ namespace: m.namespace, key: m.key, type: m.type, value: m.value })),
    variants: variants.map((v) => ({
      sku: v.sku,
      barcode: v.barcode,
      options: [v.option1, v.option2, v.option3].filter((o): o is string => o !== null),
      weight:
        v.weight_value === null || v.weight_unit === null
          ? null
          : { value: Number(v.weight_value), unit: v.weight_unit },
      taxable: v.taxable !== 0,
      inventoryTracked: v.inventory_tracked !== 0,
      price: fromMinor(v.price_minor === null ? null : Number(v.price_minor)),
      compareAtPrice: fromMinor(v.compare_at_price_minor === null ? null : Number(v.compare_at_price_minor)),
      cost: fromMinor(v.cost_minor === null ? null : Number(v.cost_minor)),
    })),
    createdAt: new Date(Number(p.created_at)).toISOString(),
    updatedAt: new Date(Number(p.updated_at)).toISOString(),
  };
}

export interface ProductSummary {
  key: string;
  title: string;
  status: ProductStatus;
  vendor: string | null;
  productType: string | null;
  category: string | null;
  variantCount: number;
  updatedAt: string;
}

/** The page query of `listProducts` (exported so a test can check its plan uses the indexes). */
export function productsPageQuery(db: Kysely<Tables>, q: string | undefined, after: number, limit: number) {
  let query = db
    .selectFrom("products")
    .select(["id", "key", "title", "status", "vendor", "product_type", "category_gid", "updated_at"])
    .where("id", ">", after)
    .orderBy("id")
    .limit(limit + 1);
  if (q !== undefined && q !== "") {
    const exact = normalizeKey(q.trim());
    const lower = titleSearchForm(q);
    const upper = prefixUpperBound(lower);
    query = query.where("id", "in", (eb) =>
      eb
        .selectFrom("products as t")
        .select("t.id")
        .where("t.title_lower", ">=", lower)
        .$if(upper !== undefined, (w) => w.where("t.title_lower", "<", upper!))
        .union(
          eb
            .selectFrom("variants as s")
            .select(sql<number>`s.product_id`.as("id"))
            .where("s.sku", "=", exact)
            .where("s.product_id", "is not", null),
        )
        .union(
          eb
            .selectFrom("variants as b")
            .select(sql<number>`b.product_id`.as("id"))
            .where("b.barcode", "=", exact)
            .where("b.product_id", "is not", null),
        ),
    );
  }
  return query;
}

/**
 * Products in id order, `limit` at a time from the cursor. `q` finds products with a variant
 * whose SKU or barcode is exactly `q`, and products whose title starts with `q` (case-insensitive):
 * each branch is served by an index (variants' sku and barcode, products' title_lower).
 */
export async function listProducts(
  db: Kysely<Tables>,
  query: { q?: string | undefined; cursor?: string | undefined; limit: number },
): Promise<{ items: ProductSummary[]; nextCursor: string | null }> {
  const after = query.cursor ? (decodeCursor(query.cursor, ["number"])[0] as number) : 0;
  const q = productsPageQuery(db, query.q, after, query.limit);
  const rows = await q.execute();
  const page = rows.slice(0, query.limit);
  const counts = new Map<number, number>();
  if (page.length > 0) {
    for (const r of await db
      .selectFrom("variants")
      .select(["product_id", db.fn.countAll<number>().as("n")])
      .where(
        "product_id",
        "in",
        page.map((p) => Number(p.id)),
      )
      .groupBy("product_id")
      .execute())
      counts.set(Number(r.product_id), Number(r.n));
  }
  const last = page.at(-1);
  return {
    items: page.map((p) => ({
      key: p.key,
      title: p.title,
      status: p.status,
      vendor: p.vendor,
      productType: p.product_type,
      category: p.category_gid,
      variantCount: counts.get(Number(p.id)) ?? 0,
      updatedAt: new Date(Number(p.updated_at)).toISOString(),
    })),
    nextCursor: rows.length > query.limit && last ? encodeCursor([Number(last.id)]) : null,
  };
}

/** Archives a product (status archived); nothing is deleted. The next PUT of it applies in full. */
export async function archiveProduct(
  db: Kysely<Tables>,
  key: string,
  now: number,
): Promise<{ key: string; status: "archived"; changed: boolean }> {
  const k = normalizeKey(key);
  return db.transaction().execute(async (trx) => {
    const p = await trx
      .selectFrom("products")
      .select(["id", "status"])
      .where("key", "=", k)
      .executeTakeFirst();
    if (!p)
      throw new AppError("NOT_FOUND", `no product ${k}`, [
        { path: "key", code: "UNKNOWN_PRODUCT", message: k },
      ]);
    if (p.status === "archived") return { key: k, status: "archived" as const, changed: false };
    await trx
      .updateTable("products")
      .set({ status: "archived", content_hash: "", updated_at: now })
      .where("id", "=", p.id)
      .execute();
    return { key: k, status: "archived" as const, changed: true };
  });
}
