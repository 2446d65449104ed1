/**
 * Reads of the hub's catalog the import needs, a batch at a time: hub variants by id (the fields
 * a merge keeps), whole products by id as the product store would write them, and the hub keys
 * already taken.
 */
import type { Kysely, Transaction } from "kysely";
import { chunks } from "../../db/batching.ts";
import type { Tables } from "../../db/tables.ts";
import type { NormalizedProduct, NormalizedVariant } from "../products.ts";
import type { HubVariantRow } from "./import-plan.ts";

type Db = Kysely<Tables> | Transaction<Tables>;

type VariantRow = {
  id: number;
  sku: string;
  barcode: string | null;
  product_id: number | null;
  option1: string | null;
  option2: string | null;
  option3: string | null;
  weight_value: number | null;
  weight_unit: HubVariantRow["weightUnit"];
  taxable: number | null;
  inventory_tracked: number | null;
  price_minor: number | null;
  compare_at_price_minor: number | null;
  cost_minor: number | null;
  position: number | null;
};

const VARIANT_COLUMNS = [
  "id",
  "sku",
  "barcode",
  "product_id",
  "option1",
  "option2",
  "option3",
  "weight_value",
  "weight_unit",
  "taxable",
  "inventory_tracked",
  "price_minor",
  "compare_at_price_minor",
  "cost_minor",
  "position",
] as const;

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function hubVariant(r: VariantRow): HubVariantRow {
  return {
    id: Number(r.id),
    sku: r.sku,
    barcode: r.barcode,
    productId: num(r.product_id),
    weightValue: num(r.weight_value),
    weightUnit: r.weight_unit,
    taxable: r.taxable === null ? null : r.taxable !== 0,
    inventoryTracked: r.inventory_tracked === null ? null : r.inventory_tracked !== 0,
    priceMinor: num(r.price_minor),
    compareAtPriceMinor: num(r.compare_at_price_minor),
    costMinor: num(r.cost_minor),
    options: [r.option1, r.option2, r.option3].filter((o): o is string => o !== null),
  };
}

export async function hubVariantsById(db: Db, ids: readonly number[]): Promise<Map<number, HubVariantRow>> {
  const out = new Map<number, HubVariantRow>();
  for (const part of chunks([...new Set(ids)], 1000)) {
    const rows = await db.selectFrom("variants").select(VARIANT_COLUMNS).where("id", "in", part).execute();
    for (const r of rows) out.set(Number(r.id), hubVariant(r as VariantRow));
  }
  return out;
}

export function normalizedVariant(v: HubVariantRow): NormalizedVariant {
  return {
    sku: v.sku,
    barcode: v.barcode,
    options: v.options,
    weightValue: v.weightValue,
    weightUnit: v.weightUnit,
    taxable: v.taxable ?? true,
    inventoryTracked: v.inventoryTracked ?? true,
    priceMinor: v.priceMinor,
    compareAtPriceMinor: v.compareAtPriceMinor,
    costMinor: v.costMinor,
  };
}

export interface StoredProduct {
  readonly id: number;
  readonly contentHash: string;
  readonly product: NormalizedProduct;
  /** Its variants as rows (ids), in position order. */
  readonly variants: readonly HubVariantRow[];
}

/** Whole products by id, as `writeProducts` takes them. */
export async function productsById(db: Db, ids: readonly number[]): Promise<Map<number, StoredProduct>> {
  const out = new Map<number, StoredProduct>();
  for (const part of chunks([...new Set(ids)], 200)) {
    const [products, options, images, metafields, variants] = await Promise.all([
      db.selectFrom("products").selectAll().where("id", "in", part).execute(),
      db
        .selectFrom("product_options")
        .selectAll()
        .where("product_id", "in", part)
        .orderBy("position")
        .execute(),
      db
        .selectFrom("product_images")
        .selectAll()
        .where("product_id", "in", part)
        .orderBy("position")
        .execute(),
      db
        .selectFrom("product_metafields")
        .selectAll()
        .where("product_id", "in", part)
        .orderBy("namespace")
        .orderBy("key")
        .execute(),
      db
        .selectFrom("variants")
        .select(VARIANT_COLUMNS)
        .where("product_id", "in", part)
        .orderBy("position")
        .execute(),
    ]);
    const by = <T extends { product_id: number }>(rows: T[]) => {
      const m = new Map<number, T[]>();
      for (const r of rows) {
        const k = Number(r.product_id);
        const list = m.get(k);
        if (list) list.push(r);
        else m.set(k, [r]);
      }
      return m;
    };
    const o = by(options);
    const i = by(images);
    const mf = by(metafields);
    const v = by(variants.map((r) => ({ ...(r as VariantRow), product_id: Number(r.product_id) })));
    for (const p of products) {
      const id = Number(p.id);
      const rows = (v.get(id) ?? []).map(hubVariant);
      out.set(id, {
        id,
        contentHash: p.content_hash,
        variants: rows,
        product: {
          key: p.key,
          title: p.title,
          descriptionHtml: p.description_html,
          vendor: p.vendor,
          productType: p.product_type,
          tags: JSON.parse(p.tags) as string[],
          status: p.status,
          category: p.category_gid,
          seoTitle: p.seo_title,
          seoDescription: p.seo_description,
          options: (o.get(id) ?? []).map((x) => ({
            name: x.name,
            values: JSON.parse(x.option_values) as string[],
          })),
          images: (i.get(id) ?? []).map((x) => ({ url: x.url, alt: x.alt })),
          metafields: (mf.get(id) ?? []).map((x) => ({
            namespace: x.namespace,
            key: x.key,
            type: x.type,
            value: x.value,
          })),
          variants: rows.map(normalizedVariant),
        },
      });
    }
  }
  return out;
}

/** Which of these keys the hub already uses. */
export async function takenKeys(db: Db, keys: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const part of chunks([...new Set(keys)], 1000))
    for (const r of await db.selectFrom("products").select("key").where("key", "in", part).execute())
      out.add(r.key);
  return out;
}
