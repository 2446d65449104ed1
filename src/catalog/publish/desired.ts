/**
 * The pure core of the catalog publish: the hub's product after a store's rules (the desired
 * Shopify product), its two hashes (the product without prices, and the prices alone, so a price
 * change is a cheap update), and the `productSet` input that brings Shopify's current product to
 * it without deleting what the hub did not create.
 *
 * `productSet` replaces list fields wholesale (variants, options, metafields, files left out are
 * deleted), so the input lists are always complete: the hub's entries, plus the merchant's
 * variants, media and foreign metafields as Shopify holds them, unless the store says the hub
 * owns its products entirely.
 */
import { createHash } from "node:crypto";
import type { ProductView } from "../products-store.ts";
import { type FieldMode, type PublishField, type PublishRules, SHOPIFY_TITLE_MAX } from "./rules.ts";

/** The unique-values metafield that carries the hub's product key (`identifier.customId`). */
export const CUSTOM_ID = { namespace: "tillbridge", key: "product_key" } as const;

export interface DesiredVariant {
  readonly sku: string;
  readonly barcode: string | null;
  readonly options: readonly string[];
  readonly weight: { readonly value: number; readonly unit: string } | null;
  readonly taxable: boolean;
  readonly tracked: boolean;
}

export interface DesiredPrice {
  readonly sku: string;
  readonly price: string | null;
  readonly compareAtPrice: string | null;
  readonly cost: string | null;
}

export interface DesiredProduct {
  readonly key: string;
  readonly title: string;
  readonly descriptionHtml: string | null;
  readonly vendor: string | null;
  readonly productType: string | null;
  readonly tags: readonly string[];
  /** Shopify's status word. */
  readonly status: "ACTIVE" | "DRAFT" | "ARCHIVED";
  readonly category: string | null;
  readonly seo: { readonly title: string | null; readonly description: string | null };
  readonly options: readonly { readonly name: string; readonly values: readonly string[] }[];
  readonly images: readonly { readonly url: string; readonly alt: string | null }[];
  readonly metafields: readonly {
    readonly namespace: string;
    readonly key: string;
    readonly type: string;
    readonly value: string;
  }[];
  readonly variants: readonly DesiredVariant[];
  readonly prices: readonly DesiredPrice[];
}

export interface PublishRefusal {
  readonly code: string;
  readonly field: string;
  readonly message: string;
}

export type DesiredOutcome =
  | { readonly ok: true; readonly product: DesiredProduct; readonly hash: string; readonly priceHash: string }
  | {
      readonly ok: false;
      readonly refusal: PublishRefusal;
      readonly hash: string;
      readonly priceHash: string;
    };

const digest = (v: unknown) =>
  createHash("sha256").update(JSON.stringify(v)).digest("base64url").slice(0, 22);

/** Cuts at 255 characters (code points), on a word boundary when one is within the last 20. */
export function truncateTitle(title: string): string {
  const points = Array.from(title);
  if (points.length <= SHOPIFY_TITLE_MAX) return title;
  const cut = points.slice(0, SHOPIFY_TITLE_MAX).join("");
  const space = cut.lastIndexOf(" ");
  return space >= SHOPIFY_TITLE_MAX - 20 ? cut.slice(0, space).trimEnd() : cut;
}

function fillTemplate(template: string, p: ProductView): string {
  return template
    .replaceAll("{title}", p.title)
    .replaceAll("{vendor}", p.vendor ?? "")
    .replaceAll("{productType}", p.productType ?? "")
    .replaceAll("{key}", p.key)
    .replace(/\s+/g, " ")
    .trim();
}

/** The hub's product as this store should show it, or why it cannot be published (pure). */
export function desiredProduct(p: ProductView, rules: PublishRules): DesiredOutcome {
  let title = fillTemplate(rules.titleTemplate, p);
  const prices = p.variants.map((v) => ({
    sku: v.sku,
    price: rules.fields.price === "off" ? null : v.price,
    compareAtPrice: rules.fields.compareAtPrice === "off" ? null : v.compareAtPrice,
    cost: rules.fields.cost === "off" ? null : v.cost,
  }));
  // Only prices written on every publish can make a product due; create-only ones go with new variants.
  const priceHash = digest(
    prices.map((x) => ({
      sku: x.sku,
      price: rules.fields.price === "always" ? x.price : null,
      compareAtPrice: rules.fields.compareAtPrice === "always" ? x.compareAtPrice : null,
      cost: rules.fields.cost === "always" ? x.cost : null,
    })),
  );
  if (Array.from(title).length > SHOPIFY_TITLE_MAX) {
    if (rules.titleTooLong === "fail") {
      const refusal = {
        code: "TITLE_TOO_LONG",
        field: "title",
        message: `the title is ${Array.from(title).length} characters; Shopify allows ${SHOPIFY_TITLE_MAX} (the store's rule is to refuse, not truncate)`,
      };
      return { ok: false, refusal, hash: digest({ refused: refusal, title }), priceHash };
    }
    title = truncateTitle(title);
  }
  const ns = rules.metafieldNamespace;
  const product: DesiredProduct = {
    key: p.key,
    title,
    descriptionHtml: p.descriptionHtml,
    vendor: p.vendor,
    productType: p.productType,
    tags: p.tags,
    status:
      p.status === "archived"
        ? rules.archivedStatus === "archived"
          ? "ARCHIVED"
          : "DRAFT"
        : p.status === "draft"
          ? "DRAFT"
          : "ACTIVE",
    category: (p.productType ? rules.categoryByProductType[p.productType] : undefined) ?? p.category,
    seo: p.seo,
    options: p.options,
    images: p.images,
    metafields: p.metafields
      .filter((m) => m.namespace !== CUSTOM_ID.namespace)
      .map((m) => ({ ...m, namespace: ns ?? m.namespace })),
    variants: p.variants.map((v) => ({
      sku: v.sku,
      barcode: v.barcode,
      options: v.options,
      weight: v.weight,
      taxable: v.taxable,
      tracked: v.inventoryTracked,
    })),
    prices,
  };
  // Fields switched off are not part of what is published, so changing them sends nothing.
  const { prices: _p, ...rest } = product;
  const hashed = Object.fromEntries(
    Object.entries(rest).filter(([k]) => (rules.fields as Record<string, FieldMode>)[k] !== "off"),
  );
  return { ok: true, product, hash: digest({ hashed, rules: rulesShape(rules) }), priceHash };
}

/** The parts of the rules that shape the productSet input beyond the desired fields. */
const rulesShape = (r: PublishRules) => ({
  fields: r.fields,
  newProductStatus: r.newProductStatus,
  owns: r.ownsProductsEntirely,
  channels: r.salesChannels,
});

// ---------------------------------------------------------------------------------------------
// Shopify's product as read before a publish, and what the hub created in it.

export interface CurrentVariant {
  readonly id: string;
  readonly sku: string | null;
  readonly barcode: string | null;
  readonly price: string | null;
  readonly compareAtPrice: string | null;
  readonly taxable: boolean;
  readonly selectedOptions: readonly { readonly name: string; readonly value: string }[];
  readonly inventoryItemId: string;
  readonly cost: string | null;
}

export interface CurrentProduct {
  readonly id: string;
  readonly title: string;
  readonly descriptionHtml: string;
  readonly vendor: string;
  readonly productType: string;
  readonly tags: readonly string[];
  readonly status: string;
  readonly category: string | null;
  readonly seo: { readonly title: string | null; readonly description: string | null };
  readonly variants: readonly CurrentVariant[];
  readonly media: readonly {
    readonly id: string;
    readonly url: string | null;
    readonly alt: string | null;
  }[];
  readonly metafields: readonly {
    readonly namespace: string;
    readonly key: string;
    readonly type: string;
    readonly value: string;
  }[];
}

/** What the hub created in one Shopify product: the only entries it may ever delete. */
export interface Owned {
  /** SKU → the Shopify variant and its inventory item. */
  readonly variants: Readonly<Record<string, { readonly id: string; readonly item: string }>>;
  readonly media: readonly string[];
  readonly metafields: readonly string[];
  /** The hub's image list last sent (its hash): unchanged images are not uploaded again. */
  readonly imagesHash?: string;
  /** Sales channels (titles) the product was published to. */
  readonly channels?: readonly string[];
}

export const imagesHash = (images: DesiredProduct["images"]) => digest(images);

export const NO_OWNED: Owned = { variants: {}, media: [], metafields: [] };

// biome-ignore lint/suspicious/noExplicitAny: the productSet input is plain JSON validated by Shopify's schema
type Json = Record<string, any>;

export type ProductSetPlan =
  | {
      readonly ok: true;
      readonly identifier: Json;
      readonly input: Json;
      readonly create: boolean;
      /** Media GIDs kept by id (the merchant's); the rest of the answer's media are the hub's. */
      readonly keptMedia: readonly string[];
      /** Metafields the hub writes (namespace.key), recorded as owned once Shopify confirms. */
      readonly metafieldKeys: readonly string[];
    }
  | { readonly ok: false; readonly refusal: PublishRefusal };

const mfKey = (m: { namespace: string; key: string }) => `${m.namespace}.${m.key}`;

/**
 * The productSet input (pure). `current` is Shopify's product as read just before (null: none
 * found by the linked id or the customId, so it is created). Fields are written by their mode:
 * create_only fields only when creating (variant fields when creating the variant).
 */
export function productSetPlan(
  d: DesiredProduct,
  current: CurrentProduct | null,
  owned: Owned,
  rules: PublishRules,
): ProductSetPlan {
  const create = current === null;
  const write = (f: PublishField, isNew = create) => {
    const mode = rules.fields[f];
    return mode === "always" || (mode === "create_only" && isNew);
  };
  const input: Json = {};
  if (write("title")) input.title = d.title;
  if (write("descriptionHtml")) input.descriptionHtml = d.descriptionHtml ?? "";
  if (write("vendor")) input.vendor = d.vendor ?? "";
  if (write("productType")) input.productType = d.productType ?? "";
  if (write("tags")) input.tags = d.tags;
  if (write("category") && d.category) input.category = d.category;
  if (write("seo")) input.seo = { title: d.seo.title, description: d.seo.description };
  // A new product starts in the store's status; an existing one follows the hub only when the
  // hub stops selling it (draft, archived): the merchant's own review is left alone otherwise.
  if (create) input.status = d.status === "ACTIVE" ? rules.newProductStatus.toUpperCase() : d.status;
  else if (d.status !== "ACTIVE") input.status = d.status;

  // Options: the hub's, with values the merchant's surviving variants use appended.
  const noOptions = d.options.length === 0;
  const options = noOptions
    ? [{ name: "Title", values: ["Default Title"] }]
    : d.options.map((o) => ({ name: o.name, values: [...o.values] }));
  const hubSkus = new Set(d.variants.map((v) => v.sku));
  const currentById = new Map((current?.variants ?? []).map((v) => [v.id, v]));
  const currentBySku = new Map<string, CurrentVariant>();
  for (const v of current?.variants ?? []) if (v.sku && !currentBySku.has(v.sku)) currentBySku.set(v.sku, v);
  const claimed = new Set<string>();
  const variants: Json[] = [];
  const prices = new Map(d.prices.map((p) => [p.sku, p]));
  for (const v of d.variants) {
    const ownedId = owned.variants[v.sku]?.id;
    const existing =
      (ownedId !== undefined ? currentById.get(ownedId) : undefined) ?? currentBySku.get(v.sku);
    if (existing) claimed.add(existing.id);
    const isNew = existing === undefined;
    const out: Json = {
      optionValues: noOptions
        ? [{ optionName: "Title", name: "Default Title" }]
        : v.options.map((value, i) => ({ optionName: d.options[i]!.name, name: value })),
    };
    if (existing) out.id = existing.id;
    const item: Json = { sku: v.sku };
    if (isNew) item.tracked = v.tracked;
    if (write("barcode", isNew)) out.barcode = v.barcode;
    if (write("taxable", isNew)) out.taxable = v.taxable;
    if (write("weight", isNew) && v.weight) item.measurement = { weight: v.weight };
    const price = prices.get(v.sku);
    if (write("price", isNew) && price?.price != null) out.price = price.price;
    else if (isNew) out.price = "0.00";
    if (write("compareAtPrice", isNew) && price) out.compareAtPrice = price.compareAtPrice;
    if (write("cost", isNew) && price?.cost != null) item.cost = price.cost;
    out.inventoryItem = item;
    variants.push(out);
  }
  const ownedIds = new Set(Object.values(owned.variants).map((o) => o.id));
  if (!rules.ownsProductsEntirely) {
    for (const v of current?.variants ?? []) {
      // The merchant's variants survive; the hub's own that it no longer lists are dropped.
      if (claimed.has(v.id) || ownedIds.has(v.id) || (v.sku !== null && hubSkus.has(v.sku))) continue;
      if (noOptions && v.selectedOptions.every((o) => o.name === "Title")) continue;
      const names = options.map((o) => o.name);
      if (v.selectedOptions.length !== names.length || v.selectedOptions.some((o, i) => o.name !== names[i]))
        return {
          ok: false,
          refusal: {
            code: "MERCHANT_VARIANT_OPTIONS",
            field: "options",
            message: `variant ${v.sku ?? v.id} was added in Shopify with options ${v.selectedOptions.map((o) => o.name).join(" / ")}, which differ from the hub's (${names.join(" / ") || "none"}); remove it in Shopify, give the hub product the same options, or let the hub own this store's products entirely`,
          },
        };
      v.selectedOptions.forEach((o, i) => {
        if (!options[i]!.values.includes(o.value)) options[i]!.values.push(o.value);
      });
      variants.push({
        id: v.id,
        optionValues: v.selectedOptions.map((o) => ({ optionName: o.name, name: o.value })),
      });
    }
  }
  input.productOptions = options.map((o) => ({ name: o.name, values: o.values.map((name) => ({ name })) }));
  input.variants = variants;

  // Media: sent only when creating or when the hub's images changed; the merchant's kept by id.
  const ownedMedia = new Set(owned.media);
  const keptMedia = rules.ownsProductsEntirely
    ? []
    : (current?.media ?? []).filter((m) => !ownedMedia.has(m.id)).map((m) => m.id);
  // Images only when creating or when the hub's list changed: re-sending would re-upload them.
  const imagesChanged = create || owned.imagesHash !== imagesHash(d.images);
  if (write("images") && imagesChanged) {
    input.files = [
      ...keptMedia.map((id) => ({ id })),
      ...d.images.map((i) => ({ originalSource: i.url, alt: i.alt ?? "", contentType: "IMAGE" })),
    ];
  }

  // Metafields: the customId always; the hub's when written; foreign ones re-sent as they are.
  const customId = { ...CUSTOM_ID, type: "single_line_text_field", value: d.key };
  const hubMetafields = write("metafields") ? d.metafields : [];
  const hubKeys = new Set(hubMetafields.map(mfKey));
  const ownedKeys = new Set(owned.metafields);
  const foreign = rules.ownsProductsEntirely
    ? []
    : (current?.metafields ?? []).filter((m) => {
        const k = mfKey(m);
        if (k === mfKey(CUSTOM_ID) || hubKeys.has(k)) return false;
        // The hub's own from an earlier publish, no longer listed, go; unless its writing is off
        // or create-only (the merchant then keeps them).
        return !(ownedKeys.has(k) && rules.fields.metafields === "always");
      });
  input.metafields = [
    customId,
    ...hubMetafields.map((m) => ({ namespace: m.namespace, key: m.key, type: m.type, value: m.value })),
    ...foreign.map((m) => ({ namespace: m.namespace, key: m.key, type: m.type, value: m.value })),
  ];

  const identifier = current ? { id: current.id } : { customId: { ...CUSTOM_ID, value: d.key } };
  return {
    ok: true,
    identifier,
    input,
    create,
    keptMedia,
    metafieldKeys: hubMetafields.map(mfKey),
  };
}

// ---------------------------------------------------------------------------------------------
// Dry run: what a publish would do, field by field.

export interface FieldChange {
  readonly field: string;
  readonly old: unknown;
  readonly new: unknown;
}

export type DryRunOutcome =
  | { readonly outcome: "create"; readonly changes: readonly FieldChange[] }
  | { readonly outcome: "update"; readonly changes: readonly FieldChange[] }
  | { readonly outcome: "unchanged" }
  | { readonly outcome: "refused"; readonly refusal: PublishRefusal };

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Compares the plan's input with Shopify's product (pure); never writes. */
export function dryRunOutcome(
  d: DesiredOutcome,
  current: CurrentProduct | null,
  owned: Owned,
  rules: PublishRules,
): DryRunOutcome {
  if (!d.ok) return { outcome: "refused", refusal: d.refusal };
  const plan = productSetPlan(d.product, current, owned, rules);
  if (!plan.ok) return { outcome: "refused", refusal: plan.refusal };
  const i = plan.input;
  if (!current) {
    const changes = Object.entries(i)
      .filter(([k]) => k !== "productOptions")
      .map(([field, v]) => ({
        field,
        old: null,
        new: Array.isArray(v) && field !== "tags" ? `${v.length} entr${v.length === 1 ? "y" : "ies"}` : v,
      }));
    return { outcome: "create", changes };
  }
  const changes: FieldChange[] = [];
  const compare = (field: string, old: unknown, next: unknown) => {
    if (next !== undefined && !same(old, next)) changes.push({ field, old, new: next });
  };
  compare("title", current.title, i.title);
  compare("descriptionHtml", current.descriptionHtml, i.descriptionHtml);
  compare("vendor", current.vendor, i.vendor);
  compare("productType", current.productType, i.productType);
  compare("tags", current.tags, i.tags);
  compare("status", current.status, i.status);
  compare("category", current.category, i.category);
  compare("seo", current.seo, i.seo);
  const byId = new Map(current.variants.map((v) => [v.id, v]));
  for (const v of i.variants as Json[]) {
    const old = v.id ? byId.get(v.id) : undefined;
    const sku = v.inventoryItem?.sku ?? old?.sku ?? v.id;
    if (!old) {
      changes.push({ field: `variants[${sku}]`, old: null, new: "created" });
      continue;
    }
    if (!v.inventoryItem) continue; // a merchant's variant, kept as it is
    compare(`variants[${sku}].price`, old.price, v.price);
    compare(`variants[${sku}].compareAtPrice`, old.compareAtPrice, v.compareAtPrice);
    compare(`variants[${sku}].barcode`, old.barcode, v.barcode);
    compare(`variants[${sku}].cost`, old.cost, v.inventoryItem.cost);
    compare(
      `variants[${sku}].options`,
      old.selectedOptions.map((o) => o.value),
      (v.optionValues as Json[]).map((o) => o.name),
    );
  }
  const kept = new Set((i.variants as Json[]).map((v) => v.id).filter(Boolean));
  for (const v of current.variants)
    if (!kept.has(v.id)) changes.push({ field: `variants[${v.sku ?? v.id}]`, old: "exists", new: "deleted" });
  if (i.files) {
    const hubNow = current.media.filter((m) => !plan.keptMedia.includes(m.id)).map((m) => m.url);
    const next = (i.files as Json[]).filter((f) => f.originalSource).map((f) => f.originalSource);
    if (!same(hubNow, next)) changes.push({ field: "images", old: hubNow, new: next });
  }
  const mfNow = new Map(current.metafields.map((m) => [mfKey(m), m.value]));
  for (const m of i.metafields as Json[])
    compare(`metafields[${mfKey(m as never)}]`, mfNow.get(mfKey(m as never)), m.value);
  return changes.length === 0 ? { outcome: "unchanged" } : { outcome: "update", changes };
}
