// Products, variants, productSet (wholesale replacement of variants) and productVariantsBulkUpdate.
import { gid, parseGid } from "../gid.ts";
import { LevelEvents } from "../level-events.ts";
import { matches, parseSearch } from "../search.ts";
import {
  ensureLevel,
  levelsOfItem,
  type Product,
  quantity,
  type Shop,
  setQuantity,
  type Variant,
  variantTitle,
} from "../state.ts";
import { type Ctx, connection, type PageArgs, type ResolverMap, sortKey, userError } from "./kit.ts";

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

function handleize(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "product"
  );
}

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

interface VariantSetInput {
  id?: string | null;
  sku?: string | null;
  barcode?: string | null;
  price?: string | null;
  compareAtPrice?: string | null;
  optionValues: {
    name?: string | null;
    optionName?: string | null;
    id?: string | null;
    optionId?: string | null;
  }[];
  inventoryItem?: { sku?: string | null; tracked?: boolean | null } | null;
  inventoryQuantities?: { locationId: string; name: string; quantity: number }[] | null;
}

interface ProductSetInput {
  id?: string | null;
  title?: string | null;
  handle?: string | null;
  status?: Product["status"] | null;
  vendor?: string | null;
  productType?: string | null;
  tags?: string[] | null;
  descriptionHtml?: string | null;
  productOptions?: { name?: string | null; values?: { name?: string | null }[] | null }[] | null;
  variants?: VariantSetInput[] | null;
}

function productSet(
  ctx: Ctx,
  args: { input: ProductSetInput; identifier?: { id?: string | null; handle?: string | null } | null },
) {
  const { shop, store } = ctx;
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

  const at = ctx.now;
  const levelEvents = new LevelEvents(store, shop);
  if (!product) {
    product = {
      id: store.nextId(),
      title: input.title!,
      handle: input.handle ?? handleize(input.title!),
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
  ctx.store.emit(shop, "products/update", {
    id: p.id,
    title: p.title,
    admin_graphql_api_id: gid("Product", p.id),
  });
  return { product: p, productSetOperation: null, userErrors: [] };
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
    productSet: (_s, args, ctx) => productSet(ctx, args),
    productVariantsBulkUpdate: (_s, args, ctx) => productVariantsBulkUpdate(ctx, args),
  },
  ProductSetPayload: {
    product: (s) => s.product ?? null,
    productSetOperation: (s) => s.productSetOperation ?? null,
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
  },
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
