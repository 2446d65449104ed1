// Products, variants, productSet (wholesale replacement of variants; emulator/products.ts),
// productDelete and productVariantsBulkUpdate, with images, metafields, SEO, category, collections.
import { gid, parseGid } from "../gid.ts";
import { applyProductDelete, applyProductSet, collectionsOf } from "../products.ts";
import { matches, parseSearch } from "../search.ts";
import {
  type Collection,
  type InventoryItem,
  levelsOfItem,
  type Metafield,
  type Product,
  type ProductImage,
  quantity,
  type Shop,
  type Variant,
  variantTitle,
} from "../state.ts";
import { taxonomyCategory } from "../taxonomy.ts";
import { type Ctx, connection, type PageArgs, type ResolverMap, sortKey, tag, userError } from "./kit.ts";

const PRODUCT_SEARCH = new Set([
  "title",
  "sku",
  "barcode",
  "status",
  "handle",
  "id",
  "vendor",
  "product_type",
  "tag",
  "updated_at",
  "created_at",
]);
const VARIANT_SEARCH = new Set(["sku", "barcode", "product_id", "id", "title", "updated_at", "created_at"]);

export const TITLE_MAX = 255;

export function productVariants(shop: Shop, p: Product): Variant[] {
  return p.variantIds.map((id) => shop.variants.get(id)).filter((v): v is Variant => !!v);
}

function productFields(shop: Shop, p: Product) {
  const vs = productVariants(shop, p);
  return {
    title: p.title,
    handle: p.handle,
    status: p.status,
    vendor: p.vendor,
    product_type: p.productType,
    tag: p.tags,
    id: String(p.id),
    sku: vs.map((v) => v.sku ?? ""),
    barcode: vs.map((v) => v.barcode ?? ""),
    updated_at: p.updatedAt,
    created_at: p.createdAt,
  };
}

function variantFields(v: Variant) {
  return {
    sku: v.sku,
    barcode: v.barcode,
    product_id: String(v.productId),
    id: String(v.id),
    title: variantTitle(v),
    updated_at: v.updatedAt,
    created_at: v.createdAt,
  };
}

export function productsOf(ctx: Ctx, args: PageArgs & { query?: string | null; sortKey?: string | null }) {
  const q = parseSearch(args.query);
  const list = [...ctx.shop.products.values()].filter((p) =>
    matches(q, productFields(ctx.shop, p), [p.title], PRODUCT_SEARCH),
  );
  const key: (p: Product) => string | number =
    args.sortKey === "TITLE"
      ? (p) => sortKey(p.title, p.id)
      : args.sortKey === "UPDATED_AT"
        ? (p) => sortKey(p.updatedAt, p.id)
        : args.sortKey === "CREATED_AT"
          ? (p) => sortKey(p.createdAt, p.id)
          : (p) => p.id;
  return connection(list, args, ctx, key);
}

export function variantsOf(ctx: Ctx, args: PageArgs & { query?: string | null; sortKey?: string | null }) {
  const q = parseSearch(args.query);
  const list = [...ctx.shop.variants.values()].filter((v) =>
    matches(q, variantFields(v), [v.sku ?? "", variantTitle(v)], VARIANT_SEARCH),
  );
  const key: (v: Variant) => string | number =
    args.sortKey === "SKU"
      ? (v) => sortKey(v.sku ?? "", v.id)
      : args.sortKey === "TITLE"
        ? (v) => sortKey(variantTitle(v), v.id)
        : (v) => v.id;
  return connection(list, args, ctx, key);
}

/** Create a variant with its inventory item (shared by control seeding and productSet). */
export function createVariant(
  shop: Shop,
  nextId: () => number,
  at: string,
  productId: number,
  input: {
    sku?: string | null;
    barcode?: string | null;
    price?: string | number | null;
    compareAtPrice?: string | number | null;
    options?: { name: string; value: string }[];
    tracked?: boolean;
  },
): Variant {
  const itemId = nextId();
  const variant: Variant = {
    id: nextId(),
    productId,
    sku: input.sku ?? null,
    barcode: input.barcode ?? null,
    price: Number(input.price ?? 0).toFixed(2),
    compareAtPrice: input.compareAtPrice == null ? null : Number(input.compareAtPrice).toFixed(2),
    inventoryItemId: itemId,
    inventoryPolicy: "DENY",
    selectedOptions: input.options ?? [{ name: "Title", value: "Default Title" }],
    taxable: true,
    createdAt: at,
    updatedAt: at,
  };
  shop.variants.set(variant.id, variant);
  shop.inventoryItems.set(itemId, {
    id: itemId,
    variantId: variant.id,
    tracked: input.tracked ?? true,
    requiresShipping: true,
    createdAt: at,
    updatedAt: at,
  });
  return variant;
}

export function deleteVariant(shop: Shop, v: Variant): void {
  shop.variants.delete(v.id);
  shop.inventoryItems.delete(v.inventoryItemId);
  for (const [k, l] of shop.levels) if (l.itemId === v.inventoryItemId) shop.levels.delete(k);
}

interface BulkVariantInput {
  id?: string | null;
  barcode?: string | null;
  price?: string | null;
  compareAtPrice?: string | null;
  inventoryItem?: { sku?: string | null; tracked?: boolean | null } | null;
  inventoryPolicy?: "DENY" | "CONTINUE" | null;
  taxable?: boolean | null;
}

function productVariantsBulkUpdate(
  ctx: Ctx,
  args: { productId: string; variants: BulkVariantInput[]; allowPartialUpdates?: boolean | null },
) {
  const { shop } = ctx;
  const pid = parseGid(args.productId, "Product");
  const product = pid === undefined ? undefined : shop.products.get(pid);
  if (!product) {
    return {
      product: null,
      productVariants: null,
      userErrors: [userError("Product does not exist", ["productId"], "PRODUCT_DOES_NOT_EXIST")],
    };
  }
  const errors: ReturnType<typeof userError>[] = [];
  const targets: Variant[] = [];
  args.variants.forEach((v, i) => {
    const vid = v.id ? parseGid(v.id, "ProductVariant") : undefined;
    const variant = vid === undefined ? undefined : shop.variants.get(vid);
    if (!variant || variant.productId !== product.id) {
      errors.push(
        userError(
          "Product variant does not exist",
          ["variants", String(i), "id"],
          "PRODUCT_VARIANT_DOES_NOT_EXIST",
        ),
      );
    } else if (v.price != null && !(Number(v.price) >= 0)) {
      errors.push(
        userError(
          "Price must be greater than or equal to 0",
          ["variants", String(i), "price"],
          "INVALID_INPUT",
        ),
      );
    } else targets.push(variant);
  });
  if (errors.length > 0 && !args.allowPartialUpdates)
    return { product, productVariants: null, userErrors: errors };
  const at = ctx.now;
  for (const v of args.variants) {
    const variant = targets.find((t) => gid("ProductVariant", t.id) === v.id);
    if (!variant) continue;
    if (v.barcode !== undefined) variant.barcode = v.barcode;
    if (v.price != null) variant.price = Number(v.price).toFixed(2);
    if (v.compareAtPrice !== undefined)
      variant.compareAtPrice = v.compareAtPrice == null ? null : Number(v.compareAtPrice).toFixed(2);
    if (v.inventoryItem?.sku !== undefined) variant.sku = v.inventoryItem.sku;
    if (v.inventoryItem?.tracked != null)
      shop.inventoryItems.get(variant.inventoryItemId)!.tracked = v.inventoryItem.tracked;
    if (v.inventoryPolicy) variant.inventoryPolicy = v.inventoryPolicy;
    if (v.taxable != null) variant.taxable = v.taxable;
    variant.updatedAt = at;
  }
  product.updatedAt = at;
  return { product, productVariants: targets, userErrors: errors };
}

export const catalogResolvers: ResolverMap = {
  QueryRoot: {
    products: (_s, args, ctx) => productsOf(ctx, args),
    product: (_s, args: { id: string }, ctx) => {
      const id = parseGid(args.id, "Product");
      return id === undefined ? null : (ctx.shop.products.get(id) ?? null);
    },
    productVariants: (_s, args, ctx) => variantsOf(ctx, args),
    productVariant: (_s, args: { id: string }, ctx) => {
      const id = parseGid(args.id, "ProductVariant");
      return id === undefined ? null : (ctx.shop.variants.get(id) ?? null);
    },
  },
  Mutation: {
    productSet: (_s, args, ctx) => applyProductSet(ctx.store, ctx.shop, ctx.now, args),
    productDelete: (_s, args: { input: { id: string } }, ctx) =>
      applyProductDelete(ctx.store, ctx.shop, args.input.id),
    productVariantsBulkUpdate: (_s, args, ctx) => productVariantsBulkUpdate(ctx, args),
  },
  ProductSetPayload: {
    product: (s) => s.product ?? null,
    productSetOperation: (s) => s.productSetOperation ?? null,
    userErrors: (s) => s.userErrors,
  },
  ProductDeletePayload: {
    deletedProductId: (s) => s.deletedProductId ?? null,
    productDeleteOperation: () => null,
    userErrors: (s) => s.userErrors,
  },
  ProductVariantsBulkUpdatePayload: {
    product: (s) => s.product ?? null,
    productVariants: (s) => s.productVariants ?? null,
    userErrors: (s) => s.userErrors,
  },
  Product: {
    id: (p: Product) => gid("Product", p.id),
    legacyResourceId: (p: Product) => String(p.id),
    title: (p: Product) => p.title,
    handle: (p: Product) => p.handle,
    status: (p: Product) => p.status,
    vendor: (p: Product) => p.vendor,
    productType: (p: Product) => p.productType,
    tags: (p: Product) => p.tags,
    descriptionHtml: (p: Product) => p.descriptionHtml,
    createdAt: (p: Product) => p.createdAt,
    updatedAt: (p: Product) => p.updatedAt,
    hasOnlyDefaultVariant: (p: Product) =>
      p.variantIds.length === 1 && p.options[0]?.values[0] === "Default Title",
    totalInventory: (p: Product, _a, ctx) =>
      productVariants(ctx.shop, p).reduce((n, v) => n + variantInventory(ctx.shop, v), 0),
    options: (p: Product, args: { first?: number | null }) =>
      p.options
        .slice(0, args.first ?? undefined)
        .map((o, i) => ({ ...o, position: i + 1, id: gid("ProductOption", p.id * 100 + i) })),
    variants: (p: Product, args, ctx) => {
      const order = p.variantIds;
      return connection(productVariants(ctx.shop, p), args, ctx, (v) => order.indexOf(v.id));
    },
    variantsCount: (p: Product) => ({ count: p.variantIds.length, precision: "EXACT" }),
    seo: (p: Product) => p.seo ?? { title: null, description: null },
    category: (p: Product) => (p.categoryId ? { id: p.categoryId } : null),
    media: (p: Product, args: PageArgs, ctx) => {
      const list = (p.media ?? []).map((m) => tag({ ...m, productId: p.id }, "MediaImage"));
      return connection(list, args, ctx, (m) => list.indexOf(m));
    },
    mediaCount: (p: Product) => ({ count: p.media?.length ?? 0, precision: "EXACT" }),
    metafields: (p: Product, args: PageArgs & { namespace?: string | null }, ctx) => {
      const list = (p.metafields ?? []).filter((m) => !args.namespace || m.namespace === args.namespace);
      return connection(list, args, ctx, (m) => m.id);
    },
    metafield: (p: Product, args: { namespace?: string | null; key: string }) =>
      p.metafields?.find((m) => m.key === args.key && (!args.namespace || m.namespace === args.namespace)) ??
      null,
    collections: (p: Product, args: PageArgs, ctx) => {
      const all = collectionsOf(ctx.shop);
      const list = (p.collectionIds ?? []).map((id) => all.get(id)).filter((c): c is Collection => !!c);
      return connection(list, args, ctx, (c) => c.id);
    },
  },
  SEO: { title: (s) => s.title ?? null, description: (s) => s.description ?? null },
  TaxonomyCategory: {
    id: (c) => c.id,
    name: (c) => taxonomyCategory(c.id)?.name ?? c.id,
    fullName: (c) => taxonomyCategory(c.id)?.fullName ?? c.id,
  },
  MediaImage: {
    id: (m: ProductImage) => gid("MediaImage", m.id),
    alt: (m: ProductImage) => m.alt,
    mediaContentType: () => "IMAGE",
    status: () => "READY",
    fileStatus: () => "READY",
    image: (m: ProductImage) => ({ id: gid("ProductImage", m.id), url: m.url, altText: m.alt }),
    mimeType: () => "image/jpeg",
  },
  Image: { id: (i) => i.id, url: (i) => i.url, altText: (i) => i.altText ?? null },
  Metafield: {
    id: (m: Metafield) => gid("Metafield", m.id),
    namespace: (m: Metafield) => m.namespace,
    key: (m: Metafield) => m.key,
    type: (m: Metafield) => m.type,
    value: (m: Metafield) => m.value,
  },
  Collection: {
    id: (c: Collection) => gid("Collection", c.id),
    title: (c: Collection) => c.title,
    handle: (c: Collection) => c.handle,
  },
  InventoryItem: {
    measurement: (it: InventoryItem) => ({
      id: gid("InventoryItemMeasurement", it.id),
      weight: it.weight ?? null,
    }),
    unitCost: (it: InventoryItem, _a, ctx) =>
      it.unitCost == null ? null : { amount: it.unitCost, currencyCode: ctx.shop.currency },
  },
  InventoryItemMeasurement: { id: (m) => m.id, weight: (m) => m.weight },
  Weight: { unit: (w) => w.unit, value: (w) => w.value },
  ProductOption: {
    id: (o) => o.id,
    name: (o) => o.name,
    position: (o) => o.position,
    values: (o) => o.values,
  },
  Count: { count: (c) => c.count, precision: (c) => c.precision },
  ProductVariant: {
    id: (v: Variant) => gid("ProductVariant", v.id),
    legacyResourceId: (v: Variant) => String(v.id),
    sku: (v: Variant) => v.sku,
    barcode: (v: Variant) => v.barcode,
    price: (v: Variant) => v.price,
    compareAtPrice: (v: Variant) => v.compareAtPrice,
    title: (v: Variant) => variantTitle(v),
    displayName: (v: Variant, _a, ctx) =>
      `${ctx.shop.products.get(v.productId)?.title ?? ""} - ${variantTitle(v)}`,
    position: (v: Variant, _a, ctx) =>
      (ctx.shop.products.get(v.productId)?.variantIds.indexOf(v.id) ?? 0) + 1,
    inventoryPolicy: (v: Variant) => v.inventoryPolicy,
    inventoryQuantity: (v: Variant, _a, ctx) => variantInventory(ctx.shop, v),
    taxable: (v: Variant) => v.taxable,
    availableForSale: (v: Variant, _a, ctx) =>
      v.inventoryPolicy === "CONTINUE" || variantInventory(ctx.shop, v) > 0,
    selectedOptions: (v: Variant) => v.selectedOptions,
    createdAt: (v: Variant) => v.createdAt,
    updatedAt: (v: Variant) => v.updatedAt,
    product: (v: Variant, _a, ctx) => ctx.shop.products.get(v.productId) ?? null,
    inventoryItem: (v: Variant, _a, ctx) => ctx.shop.inventoryItems.get(v.inventoryItemId) ?? null,
    contextualPricing: (v: Variant, _a, ctx) => ({
      price: { amount: v.price, currencyCode: ctx.shop.currency },
    }),
  },
  ProductVariantContextualPricing: { price: (p) => p.price },
  SelectedOption: { name: (o) => o.name, value: (o) => o.value },
  MoneyV2: { amount: (m) => m.amount, currencyCode: (m) => m.currencyCode },
  MoneyBag: { shopMoney: (m) => m.shopMoney, presentmentMoney: (m) => m.presentmentMoney },
};

export function variantInventory(shop: Shop, v: Variant): number {
  let n = 0;
  for (const l of levelsOfItem(shop, v.inventoryItemId)) n += quantity(l, "available");
  return n;
}
