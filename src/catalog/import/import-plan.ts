/**
 * The import's decisions, pure: which fields a run may write, the hub product a Shopify product
 * belongs to, whether its unmatched variants are created, and the product the hub stores after
 * the import (Shopify's value for each chosen field, the hub's own for the rest).
 *
 * Glossary: a Shopify product's **home** is the hub product it belongs to: the one already linked
 * to it in this store, else the product most of its matched hub variants belong to; none means
 * the import creates one.
 */
import type { CatalogImportMode, ProductStatus, WeightUnit } from "../../db/tables.ts";
import type { MatchedBy } from "../matching.ts";
import type { NormalizedProduct, NormalizedVariant } from "../products.ts";
import type { ShopifyCatalogProduct, ShopifyCatalogVariant } from "../shopify-catalog.ts";

export const IMPORT_MODES = [
  "create_only",
  "create_and_overwrite",
] as const satisfies readonly CatalogImportMode[];

/**
 * What an import may write. `variants`: the option structure and adding Shopify's variants to an
 * existing product (with taxable and tracked); `prices`: price, compare-at and cost.
 */
export const IMPORT_FIELDS = [
  "title",
  "description",
  "vendor",
  "productType",
  "tags",
  "status",
  "category",
  "seo",
  "images",
  "metafields",
  "variants",
  "prices",
  "barcodes",
  "weights",
] as const;
export type ImportField = (typeof IMPORT_FIELDS)[number];

/** One Shopify variant's outcome, decided once the whole store has been read. */
export type VariantDecision =
  | { readonly kind: "link"; readonly variantId: number; readonly matchedBy: MatchedBy }
  | { readonly kind: "create" }
  | { readonly kind: "problem" };

/** Hub variant as the import reads it (the columns a product's variant has). */
export interface HubVariantRow {
  readonly id: number;
  readonly sku: string;
  readonly barcode: string | null;
  readonly productId: number | null;
  readonly weightValue: number | null;
  readonly weightUnit: WeightUnit | null;
  readonly taxable: boolean | null;
  readonly inventoryTracked: boolean | null;
  readonly priceMinor: number | null;
  readonly compareAtPriceMinor: number | null;
  readonly costMinor: number | null;
  readonly options: readonly string[];
}

/** The home of each Shopify product: its linked product, else the majority product of its matched variants. */
export function homeOf(
  linkedProductId: number | undefined,
  matchedProductIds: readonly (number | null)[],
): number | null {
  if (linkedProductId !== undefined) return linkedProductId;
  const count = new Map<number, number>();
  for (const id of matchedProductIds) if (id !== null) count.set(id, (count.get(id) ?? 0) + 1);
  let best: number | null = null;
  let bestN = 0;
  for (const [id, n] of count)
    if (n > bestN || (n === bestN && best !== null && id < best)) [best, bestN] = [id, n];
  return best;
}

/** Whether an unmatched Shopify variant (with a unique SKU) is created in the hub by this run. */
export function createsVariants(
  home: number | null,
  mode: CatalogImportMode,
  fields: ReadonlySet<ImportField>,
): boolean {
  return home === null || (mode === "create_and_overwrite" && fields.has("variants"));
}

const STATUS: Record<ShopifyCatalogProduct["status"], ProductStatus> = {
  ACTIVE: "active",
  DRAFT: "draft",
  ARCHIVED: "archived",
};

/** Shopify's Money/Decimal text ("19.9", "19.90", "4") in minor units; null when absent or not a number. */
export function toMinor(v: string | null | undefined): number | null {
  if (v === null || v === undefined || v === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? Math.round(n * 100) : null;
}

const blank = (s: string | null | undefined) => (s ? s : null);

/** Shopify's single "Default Title" option is no option at all in the hub. */
export function shopifyOptions(p: ShopifyCatalogProduct): { name: string; values: string[] }[] {
  if (
    p.options.length === 1 &&
    p.options[0]!.values.length === 1 &&
    p.options[0]!.values[0] === "Default Title"
  )
    return [];
  return p.options.map((o) => ({ name: o.name, values: [...o.values] }));
}

function optionValuesOf(p: ShopifyCatalogProduct, v: ShopifyCatalogVariant): string[] {
  const names = shopifyOptions(p).map((o) => o.name);
  return names.map((n) => v.selectedOptions.find((o) => o.name === n)?.value ?? "");
}

/** A variant's fields from Shopify for the chosen fields, the hub's (or defaults) for the rest. */
export function mergeVariant(
  sku: string,
  p: ShopifyCatalogProduct,
  v: ShopifyCatalogVariant,
  hub: HubVariantRow | undefined,
  fields: ReadonlySet<ImportField>,
  options: readonly string[] | undefined,
): NormalizedVariant {
  const weight = v.inventoryItem.measurement?.weight ?? null;
  // Unchosen fields keep the hub's value; a variant the import creates leaves them empty.
  const take = (f: ImportField) => fields.has(f);
  return {
    sku,
    barcode: take("barcodes") ? blank(v.barcode) : (hub?.barcode ?? null),
    options: options ?? optionValuesOf(p, v),
    weightValue: take("weights") ? (weight?.value ?? null) : (hub?.weightValue ?? null),
    weightUnit: take("weights") ? (weight?.unit ?? null) : (hub?.weightUnit ?? null),
    taxable: take("variants") || hub === undefined ? v.taxable : (hub.taxable ?? true),
    inventoryTracked:
      take("variants") || hub === undefined ? v.inventoryItem.tracked : (hub.inventoryTracked ?? true),
    priceMinor: take("prices") ? toMinor(v.price) : (hub?.priceMinor ?? null),
    compareAtPriceMinor: take("prices") ? toMinor(v.compareAtPrice) : (hub?.compareAtPriceMinor ?? null),
    costMinor: take("prices") ? toMinor(v.inventoryItem.unitCost?.amount ?? null) : (hub?.costMinor ?? null),
  };
}

/** The product-level fields: Shopify's where chosen (or when creating), else the existing product's. */
export function mergeProductFields(
  p: ShopifyCatalogProduct,
  existing: NormalizedProduct | undefined,
  fields: ReadonlySet<ImportField>,
): Omit<NormalizedProduct, "key" | "options" | "variants"> {
  const take = (f: ImportField) => fields.has(f) || existing === undefined;
  return {
    // A created product needs a title even when the run may not write titles.
    title: take("title") ? p.title : existing!.title,
    descriptionHtml: take("description") ? blank(p.descriptionHtml) : existing!.descriptionHtml,
    vendor: take("vendor") ? blank(p.vendor) : existing!.vendor,
    productType: take("productType") ? blank(p.productType) : existing!.productType,
    tags: take("tags") ? [...p.tags] : existing!.tags,
    status: take("status") ? STATUS[p.status] : existing!.status,
    category: take("category") ? (p.category?.id ?? null) : existing!.category,
    seoTitle: take("seo") ? blank(p.seo.title) : existing!.seoTitle,
    seoDescription: take("seo") ? blank(p.seo.description) : existing!.seoDescription,
    images: take("images") ? p.images.map((i) => ({ url: i.url, alt: i.alt })) : existing!.images,
    metafields: take("metafields") ? p.metafields.map((m) => ({ ...m })) : existing!.metafields,
  };
}

/** The fields a created product leaves empty when the run may not write them. */
export function withoutUnchosen(
  base: Omit<NormalizedProduct, "key" | "options" | "variants">,
  fields: ReadonlySet<ImportField>,
): Omit<NormalizedProduct, "key" | "options" | "variants"> {
  return {
    ...base,
    descriptionHtml: fields.has("description") ? base.descriptionHtml : null,
    vendor: fields.has("vendor") ? base.vendor : null,
    productType: fields.has("productType") ? base.productType : null,
    tags: fields.has("tags") ? base.tags : [],
    status: fields.has("status") ? base.status : "active",
    category: fields.has("category") ? base.category : null,
    seoTitle: fields.has("seo") ? base.seoTitle : null,
    seoDescription: fields.has("seo") ? base.seoDescription : null,
    images: fields.has("images") ? base.images : [],
    metafields: fields.has("metafields") ? base.metafields : [],
  };
}

/** A hub key for a product created from Shopify: its handle, or handle-<id> when taken. */
export function importKey(p: ShopifyCatalogProduct, taken: (key: string) => boolean): string {
  const handle = p.handle || "product";
  if (!taken(handle)) return handle;
  return `${handle}-${p.id.slice(p.id.lastIndexOf("/") + 1)}`;
}

/** A Shopify GID's numeric id (`gid://shopify/ProductVariant/123` → 123): a map key without a string. */
const numericId = (gid: string) => Number(gid.slice(gid.lastIndexOf("/") + 1));

/**
 * Every Shopify variant's decision, compactly: numbers keyed by the variant's numeric id (a
 * 100,000-variant store's table is a few MB, not one object and GID string per variant).
 * Encoding: hub variant id × 3 (+ 1 when matched by barcode, + 2 by hand) for a link, -1 to create,
 * -2 a problem.
 */
const BY_CODE: Record<MatchedBy, number> = { sku: 0, barcode: 1, manual: 2 };
const BY_OF_CODE: readonly MatchedBy[] = ["sku", "barcode", "manual"];

export class DecisionTable {
  private readonly codes = new Map<number, number>();
  set(gid: string, d: VariantDecision): void {
    this.codes.set(
      numericId(gid),
      d.kind === "link" ? d.variantId * 3 + BY_CODE[d.matchedBy] : d.kind === "create" ? -1 : -2,
    );
  }
  has(gid: string): boolean {
    return this.codes.has(numericId(gid));
  }
  get(gid: string): VariantDecision {
    const c = this.codes.get(numericId(gid));
    if (c === undefined || c === -2) return { kind: "problem" };
    if (c === -1) return { kind: "create" };
    return { kind: "link", variantId: Math.floor(c / 3), matchedBy: BY_OF_CODE[c % 3]! };
  }
}

/** Each Shopify product's home (null: created by the import), keyed by the product's numeric id. */
export class HomeTable {
  private readonly homes = new Map<number, number>();
  set(gid: string, home: number | null): void {
    this.homes.set(numericId(gid), home ?? -1);
  }
  has(gid: string): boolean {
    return this.homes.has(numericId(gid));
  }
  get(gid: string): number | null {
    const h = this.homes.get(numericId(gid));
    return h === undefined || h === -1 ? null : h;
  }
}
