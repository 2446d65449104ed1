// Products as Shopify stores them: options, variants, images (MediaImage), metafields, SEO, taxonomy
// category and collections. `productSet` (synchronous) and `productDelete` run here for both the
// Admin API and the control API, and fire products/create|update|delete as Shopify does (the
// REST-shaped payload with the product's variants).
import { gid, parseGid } from "./gid.ts";
import { LevelEvents } from "./level-events.ts";
import { indexProductMetafields, unindexProduct } from "./metafield-index.ts";
import { createVariant, deleteVariant, productVariants, TITLE_MAX } from "./resolvers/catalog.ts";
import { userError } from "./resolvers/kit.ts";
import {
  type Collection,
  ControlError,
  ensureLevel,
  type InventoryItem,
  type Metafield,
  type Product,
  type Shop,
  type Store,
  setQuantity,
  type Variant,
  variantTitle,
} from "./state.ts";
import { taxonomyCategory } from "./taxonomy.ts";

type WeightUnit = "GRAMS" | "KILOGRAMS" | "OUNCES" | "POUNDS";

export interface VariantSetInput {
  id?: string | null;
  sku?: string | null;
  barcode?: string | null;
  price?: string | number | null;
  compareAtPrice?: string | number | null;
  taxable?: boolean | null;
  optionValues: {
    name?: string | null;
    optionName?: string | null;
    id?: string | null;
    optionId?: string | null;
  }[];
  inventoryItem?: {
    sku?: string | null;
    tracked?: boolean | null;
    cost?: string | number | null;
    measurement?: { weight?: { value: number; unit: WeightUnit } | null } | null;
  } | null;
  inventoryQuantities?: { locationId: string; name: string; quantity: number }[] | null;
}

export interface ProductSetInput {
  id?: string | null;
  title?: string | null;
  handle?: string | null;
  status?: Product["status"] | null;
  vendor?: string | null;
  productType?: string | null;
  tags?: string[] | null;
  descriptionHtml?: string | null;
  category?: string | null;
  seo?: { title?: string | null; description?: string | null } | null;
  collections?: string[] | null;
  files?: { originalSource?: string | null; alt?: string | null; contentType?: string | null }[] | null;
  metafields?:
    | { namespace?: string | null; key?: string | null; type?: string | null; value?: string | null }[]
    | null;
  productOptions?: { name?: string | null; values?: { name?: string | null }[] | null }[] | null;
  variants?: VariantSetInput[] | null;
}

export interface ProductSetArgs {
  input: ProductSetInput;
  identifier?: { id?: string | null; handle?: string | null } | null;
}

export function handleize(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "product"
  );
}

export function collectionsOf(shop: Shop): Map<number, Collection> {
  if (!shop.collections) shop.collections = new Map();
  return shop.collections;
}

/** A collection by title (created when missing): the control API's way to put products in one. */
export function ensureCollection(store: Store, shop: Shop, title: string): Collection {
  const all = collectionsOf(shop);
  for (const c of all.values()) if (c.title === title) return c;
  const c = { id: store.nextId(), title, handle: handleize(title) };
  all.set(c.id, c);
  return c;
}

/**
 * `productSet` with `synchronous: true`: validates everything first (nothing half-applied), then
 * creates or updates the product; list fields given (variants, metafields, files) replace the
 * product's wholesale, as Shopify's do.
 */
export function applyProductSet(store: Store, shop: Shop, at: string, args: ProductSetArgs) {
  const input = args.input;
  const errors: ReturnType<typeof userError>[] = [];
  const idRaw = args.identifier?.id ?? input.id;
  let product: Product | undefined;
  if (idRaw) {
    const id = parseGid(idRaw, "Product");
    product = id === undefined ? undefined : shop.products.get(id);
    if (!product) errors.push(userError("Product does not exist", ["input", "id"], "PRODUCT_DOES_NOT_EXIST"));
  } else if (args.identifier?.handle) {
    product = [...shop.products.values()].find((p) => p.handle === args.identifier!.handle);
  }
  if (!product && !input.title)
    errors.push(userError("Title can't be blank", ["input", "title"], "INVALID_INPUT"));
  if (input.title && input.title.length > TITLE_MAX) {
    errors.push(
      userError(
        `Title is too long (maximum is ${TITLE_MAX} characters)`,
        ["input", "title"],
        "INVALID_INPUT",
      ),
    );
  }
  // An id the taxonomy does not hold (mistyped, or from another taxonomy) is the product's error;
  // INVALID_INPUT because ProductSetUserErrorCode has no code of its own for it.
  if (input.category && !taxonomyCategory(input.category))
    errors.push(
      userError(
        `Product category ${input.category} does not exist in Shopify's product taxonomy`,
        ["input", "category"],
        "INVALID_INPUT",
      ),
    );
  for (const [i, c] of (input.collections ?? []).entries()) {
    const cid = parseGid(c, "Collection");
    if (cid === undefined || !collectionsOf(shop).has(cid))
      errors.push(
        userError("Collection does not exist", ["input", "collections", String(i)], "INVALID_INPUT"),
      );
  }
  for (const [i, m] of (input.metafields ?? []).entries()) {
    if (!m.namespace || !m.key || !m.type || m.value == null)
      errors.push(
        userError(
          "Metafield needs namespace, key, type and value",
          ["input", "metafields", String(i)],
          "INVALID_METAFIELD",
        ),
      );
  }
  for (const [i, f] of (input.files ?? []).entries()) {
    if (!f.originalSource || !/^https?:\/\//.test(f.originalSource))
      errors.push(
        userError("Image URL is invalid", ["input", "files", String(i), "originalSource"], "INVALID_INPUT"),
      );
  }
  const variants = input.variants ?? null;
  if (variants && variants.length > 2048)
    errors.push(userError("Too many variants", ["input", "variants"], "VARIANTS_OVER_LIMIT"));
  if (
    variants &&
    input.productOptions == null &&
    variants.some((v) => v.optionValues.length > 0) &&
    !product
  ) {
    errors.push(
      userError(
        "Product options input is required when variants are given",
        ["input", "productOptions"],
        "PRODUCT_OPTIONS_INPUT_MISSING",
      ),
    );
  }
  variants?.forEach((v, i) => {
    if (v.id) {
      const vid = parseGid(v.id, "ProductVariant");
      const existing = vid === undefined ? undefined : shop.variants.get(vid);
      if (!existing || (product && existing.productId !== product.id)) {
        errors.push(
          userError(
            "Product variant does not exist",
            ["input", "variants", String(i), "id"],
            "PRODUCT_VARIANT_DOES_NOT_EXIST",
          ),
        );
      }
    }
    for (const [j, q] of (v.inventoryQuantities ?? []).entries()) {
      const lid = parseGid(q.locationId, "Location");
      if (lid === undefined || !shop.locations.has(lid)) {
        errors.push(
          userError(
            "Location does not exist",
            ["input", "variants", String(i), "inventoryQuantities", String(j), "locationId"],
            "INVALID_INPUT",
          ),
        );
      }
    }
  });
  if (errors.length > 0) return { product: null, productSetOperation: null, userErrors: errors };

  const levelEvents = new LevelEvents(store, shop);
  const itemsBefore = new Map<number, string>();
  const changedItems: number[] = [];
  const created = !product;
  if (!product) {
    product = {
      id: store.nextId(),
      title: input.title!,
      handle: input.handle ?? uniqueHandle(shop, handleize(input.title!)),
      status: input.status ?? "ACTIVE",
      vendor: input.vendor ?? "",
      productType: input.productType ?? "",
      tags: input.tags ?? [],
      descriptionHtml: input.descriptionHtml ?? "",
      options: [],
      variantIds: [],
      createdAt: at,
      updatedAt: at,
    };
    shop.products.set(product.id, product);
  }
  const p = product;
  if (input.title != null) p.title = input.title;
  if (input.handle != null) p.handle = input.handle;
  if (input.status != null) p.status = input.status;
  if (input.vendor != null) p.vendor = input.vendor;
  if (input.productType != null) p.productType = input.productType;
  if (input.tags != null) p.tags = input.tags;
  if (input.descriptionHtml != null) p.descriptionHtml = input.descriptionHtml;
  if (input.category !== undefined) p.categoryId = input.category;
  if (input.seo != null)
    p.seo = {
      title: input.seo.title ?? p.seo?.title ?? null,
      description: input.seo.description ?? p.seo?.description ?? null,
    };
  if (input.collections != null) p.collectionIds = input.collections.map((c) => parseGid(c, "Collection")!);
  if (input.files != null)
    p.media = input.files.map((f) => ({ id: store.nextId(), url: f.originalSource!, alt: f.alt ?? null }));
  if (input.metafields != null) {
    p.metafields = input.metafields.map((m) => metafieldOf(store, p, m));
    indexProductMetafields(shop, p);
  }
  if (input.productOptions != null) {
    p.options = input.productOptions.map((o) => ({
      name: o.name ?? "Title",
      values: (o.values ?? []).map((v) => v.name ?? ""),
    }));
  }
  if (variants) {
    // Wholesale replacement: variants left out of the list are deleted.
    const keep = new Set<number>();
    const ids: number[] = [];
    for (const v of variants) {
      const options = v.optionValues.map((o) => ({
        name: o.optionName ?? o.name ?? "Title",
        value: o.name ?? "",
      }));
      const sku = v.inventoryItem?.sku ?? v.sku;
      let variant: Variant;
      const vid = v.id ? parseGid(v.id, "ProductVariant") : undefined;
      if (vid !== undefined && shop.variants.has(vid)) {
        variant = shop.variants.get(vid)!;
        const before = shop.inventoryItems.get(variant.inventoryItemId)!;
        itemsBefore.set(before.id, itemState(variant.sku, before));
        if (sku !== undefined) variant.sku = sku;
        if (v.barcode !== undefined) variant.barcode = v.barcode;
        if (v.price != null) variant.price = Number(v.price).toFixed(2);
        if (v.compareAtPrice !== undefined)
          variant.compareAtPrice = v.compareAtPrice == null ? null : Number(v.compareAtPrice).toFixed(2);
        if (options.length) variant.selectedOptions = options;
        variant.updatedAt = at;
      } else {
        variant = createVariant(shop, () => store.nextId(), at, p.id, {
          sku: sku ?? null,
          barcode: v.barcode ?? null,
          price: v.price ?? "0",
          compareAtPrice: v.compareAtPrice ?? null,
          options: options.length ? options : undefined,
          tracked: v.inventoryItem?.tracked ?? true,
        });
      }
      if (v.taxable != null) variant.taxable = v.taxable;
      const item = shop.inventoryItems.get(variant.inventoryItemId)!;
      if (v.inventoryItem?.tracked != null) item.tracked = v.inventoryItem.tracked;
      if (v.inventoryItem?.measurement?.weight !== undefined)
        item.weight = v.inventoryItem.measurement.weight;
      if (v.inventoryItem?.cost !== undefined)
        item.unitCost = v.inventoryItem.cost == null ? null : Number(v.inventoryItem.cost).toFixed(2);
      const was = itemsBefore.get(item.id);
      if (was !== undefined && was !== itemState(variant.sku, item)) changedItems.push(item.id);
      for (const q of v.inventoryQuantities ?? []) {
        const lid = parseGid(q.locationId, "Location")!;
        const level = levelEvents.touch(ensureLevel(shop, variant.inventoryItemId, lid, at));
        setQuantity(level, q.name === "on_hand" ? "on_hand" : "available", q.quantity, at);
      }
      keep.add(variant.id);
      ids.push(variant.id);
    }
    for (const old of productVariants(shop, p)) if (!keep.has(old.id)) deleteVariant(shop, old);
    p.variantIds = ids;
    if (input.productOptions == null && ids.length) {
      const names = new Map<string, Set<string>>();
      for (const v of productVariants(shop, p)) {
        for (const o of v.selectedOptions) names.set(o.name, (names.get(o.name) ?? new Set()).add(o.value));
      }
      p.options = [...names].map(([name, values]) => ({ name, values: [...values] }));
    }
  }
  if (p.variantIds.length === 0) {
    const v = createVariant(shop, () => store.nextId(), at, p.id, {});
    p.variantIds = [v.id];
    p.options = [{ name: "Title", values: ["Default Title"] }];
  }
  p.updatedAt = at;
  levelEvents.flush();
  store.emit(shop, created ? "products/create" : "products/update", productPayload(shop, p));
  // A variant's SKU, tracking and cost live on its inventory item: Shopify tells of their change.
  for (const itemId of changedItems) {
    const item = shop.inventoryItems.get(itemId);
    const variant = item ? shop.variants.get(item.variantId) : undefined;
    if (!item || !variant) continue;
    item.updatedAt = at;
    store.emit(shop, "inventory_items/update", inventoryItemPayload(variant.sku, item));
  }
  return { product: p, productSetOperation: null, userErrors: [] };
}

function uniqueHandle(shop: Shop, base: string): string {
  const taken = new Set([...shop.products.values()].map((p) => p.handle));
  if (!taken.has(base)) return base;
  for (let i = 1; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

function metafieldOf(
  store: Store,
  p: Product,
  m: NonNullable<ProductSetInput["metafields"]>[number],
): Metafield {
  const old = p.metafields?.find((x) => x.namespace === m.namespace && x.key === m.key);
  return {
    id: old?.id ?? store.nextId(),
    namespace: m.namespace!,
    key: m.key!,
    type: m.type!,
    value: m.value!,
  };
}

/** `productDelete`: the product, its variants, inventory items and levels go; products/delete fires. */
export function applyProductDelete(store: Store, shop: Shop, productGid: string) {
  const id = parseGid(productGid, "Product");
  const p = id === undefined ? undefined : shop.products.get(id);
  if (!p)
    return {
      deletedProductId: null,
      productDeleteOperation: null,
      userErrors: [userError("Product does not exist", ["input", "id"], "PRODUCT_DOES_NOT_EXIST")],
    };
  for (const v of productVariants(shop, p)) deleteVariant(shop, v);
  shop.products.delete(p.id);
  unindexProduct(shop, p);
  store.emit(shop, "products/delete", { id: p.id });
  return { deletedProductId: gid("Product", p.id), productDeleteOperation: null, userErrors: [] };
}

const itemState = (sku: string | null, i: InventoryItem) =>
  JSON.stringify([sku ?? null, i.tracked, i.unitCost ?? null]);

/** The REST-shaped body of inventory_items/update. */
export function inventoryItemPayload(sku: string | null, i: InventoryItem) {
  return {
    id: i.id,
    admin_graphql_api_id: gid("InventoryItem", i.id),
    sku: sku ?? "",
    tracked: i.tracked,
    cost: i.unitCost ?? null,
    requires_shipping: i.requiresShipping,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
  };
}

/** The REST-shaped body of products/create and products/update (the fields the hub reads, and more). */
export function productPayload(shop: Shop, p: Product) {
  const variants = productVariants(shop, p);
  return {
    id: p.id,
    admin_graphql_api_id: gid("Product", p.id),
    title: p.title,
    handle: p.handle,
    body_html: p.descriptionHtml,
    vendor: p.vendor,
    product_type: p.productType,
    status: p.status.toLowerCase(),
    tags: p.tags.join(", "),
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    options: p.options.map((o, i) => ({ name: o.name, position: i + 1, values: o.values })),
    variants: variants.map((v, i) => variantPayload(shop, v, i + 1)),
    images: (p.media ?? []).map((m, i) => ({ id: m.id, position: i + 1, src: m.url, alt: m.alt })),
  };
}

function variantPayload(shop: Shop, v: Variant, position: number) {
  const item = shop.inventoryItems.get(v.inventoryItemId);
  return {
    id: v.id,
    admin_graphql_api_id: gid("ProductVariant", v.id),
    product_id: v.productId,
    title: variantTitle(v),
    sku: v.sku ?? "",
    barcode: v.barcode,
    price: v.price,
    compare_at_price: v.compareAtPrice,
    position,
    taxable: v.taxable,
    inventory_item_id: v.inventoryItemId,
    option1: v.selectedOptions[0]?.value ?? null,
    option2: v.selectedOptions[1]?.value ?? null,
    option3: v.selectedOptions[2]?.value ?? null,
    grams: item?.weight ? gramsOf(item.weight) : 0,
    weight: item?.weight?.value ?? 0,
    weight_unit: item?.weight ? UNIT_REST[item.weight.unit] : "kg",
    created_at: v.createdAt,
    updated_at: v.updatedAt,
  };
}

const UNIT_REST: Record<WeightUnit, string> = { GRAMS: "g", KILOGRAMS: "kg", OUNCES: "oz", POUNDS: "lb" };
const GRAMS_PER: Record<WeightUnit, number> = { GRAMS: 1, KILOGRAMS: 1000, OUNCES: 28.3495, POUNDS: 453.592 };
const gramsOf = (w: { value: number; unit: WeightUnit }) => Math.round(w.value * GRAMS_PER[w.unit]);

// ---- control API ----

/** The control API's productSet: throws the first user error as a ControlError. */
export function controlProductSet(store: Store, shop: Shop, args: ProductSetArgs) {
  const r = applyProductSet(store, shop, store.nowIso(), args);
  if (r.userErrors.length > 0 || !r.product) {
    const e = r.userErrors[0]!;
    throw new ControlError(e.code ?? "INVALID_INPUT", `${e.message} (${(e.field ?? []).join(".")})`);
  }
  return productPayload(shop, r.product);
}

export function controlProductDelete(store: Store, shop: Shop, productGid: string) {
  const r = applyProductDelete(store, shop, productGid);
  if (r.userErrors.length > 0)
    throw new ControlError("PRODUCT_DOES_NOT_EXIST", r.userErrors[0]!.message, 404);
  return { deletedProductId: r.deletedProductId };
}

// ---- seeding a realistic catalog ----

const SIZES = ["XS", "S", "M", "L", "XL", "XXL", "3XL", "4XL"];
const COLORS = ["Black", "White", "Navy", "Red", "Green", "Grey", "Sand", "Olive", "Blue", "Pink"];
const MATERIALS = ["Cotton", "Linen", "Wool", "Silk", "Denim", "Fleece"];

/**
 * Option values for `n` variants: Size, then Color, then Material as more are needed (at most
 * 8 × 10 × 6 = 480 combinations; beyond that a numbered Style option takes the third place).
 */
export function seedOptions(n: number): { names: string[]; values: string[][] } {
  const lists =
    n <= SIZES.length ? [SIZES] : n <= SIZES.length * COLORS.length ? [SIZES, COLORS] : [SIZES, COLORS];
  let third: string[] | undefined;
  if (n > SIZES.length * COLORS.length) {
    const need = Math.ceil(n / (SIZES.length * COLORS.length));
    third = need <= MATERIALS.length ? MATERIALS : Array.from({ length: need }, (_, i) => `Style ${i + 1}`);
  }
  const names = ["Size", "Color", "Material"].slice(0, lists.length + (third ? 1 : 0));
  const all = third ? [...lists, third] : lists;
  const values: string[][] = [];
  for (let i = 0; i < n; i++) {
    const combo: string[] = [];
    let rest = i;
    for (const list of all) {
      combo.push(list[rest % list.length]!);
      rest = Math.floor(rest / list.length);
    }
    values.push(combo);
  }
  return { names: names.slice(0, all.length), values };
}

export interface RichSeedInput {
  images: number;
  metafields: number;
  barcodePrefix?: string;
}

/** Adds the catalog fields a curated store has (images, metafields, SEO, a collection) to a seeded product. */
export function enrichSeedProduct(
  store: Store,
  shop: Shop,
  p: Product,
  index: number,
  input: RichSeedInput,
): void {
  p.descriptionHtml = `<p>${p.title}: a seeded product with options, images and metafields.</p>`;
  p.vendor = `Brand ${(index % 50) + 1}`;
  p.productType = ["Shirts", "Trousers", "Jackets", "Accessories"][index % 4]!;
  p.tags = ["seed", `group-${index % 20}`];
  p.seo = { title: `${p.title} | Seed shop`, description: `Buy ${p.title} online` };
  p.categoryId = "gid://shopify/TaxonomyCategory/aa-1";
  p.media = Array.from({ length: input.images }, (_, j) => ({
    id: store.nextId(),
    url: `https://cdn.example.com/seed/${p.handle}/${j + 1}.jpg`,
    alt: `${p.title} image ${j + 1}`,
  }));
  p.metafields = Array.from({ length: input.metafields }, (_, j) =>
    j % 2 === 0
      ? {
          id: store.nextId(),
          namespace: "custom",
          key: `care_${j + 1}`,
          type: "single_line_text_field",
          value: "Wash at 30",
        }
      : {
          id: store.nextId(),
          namespace: "custom",
          key: `fit_${j + 1}`,
          type: "number_integer",
          value: String(index % 7),
        },
  );
  indexProductMetafields(shop, p);
  p.collectionIds = [ensureCollection(store, shop, `Collection ${(index % 10) + 1}`).id];
}
