// What the hub's catalog publish needs beyond emulator/products.ts (issue 16), layered over the
// catalog resolvers: metafield definitions with unique values; productSet's identifier forms
// (id, handle, customId through a unique-values definition) with DUPLICATED_METAFIELD_VALUE for
// a unique value another product holds; files kept by id (FileSetInput.id) across a wholesale
// replacement; productByIdentifier; and a variant's cost through productVariantsBulkUpdate's
// inventoryItem.cost.
import { gid, parseGid } from "../gid.ts";
import { productsWithMetafield } from "../metafield-index.ts";
import { applyProductSet, type ProductSetArgs } from "../products.ts";
import type { Product, ProductImage, Shop } from "../state.ts";
import { catalogResolvers } from "./catalog.ts";
import { type Ctx, connection, type PageArgs, type ResolverMap, tag, userError } from "./kit.ts";

interface Definition {
  id: number;
  name: string;
  namespace: string;
  key: string;
  type: string;
  ownerType: string;
  unique: boolean;
  description: string | null;
}

// Sales channels: each shop has Online Store and Point of Sale (as Shopify's do once installed);
// a product is sellable on a channel once published to its publication.
interface Publication {
  id: number;
  title: string;
  products: Set<number>;
}
const publicationsByShop = new WeakMap<Shop, Publication[]>();
export function publicationsOf(shop: Shop, nextId: () => number): Publication[] {
  let list = publicationsByShop.get(shop);
  if (!list) {
    list = ["Online Store", "Point of Sale"].map((title) => ({
      id: nextId(),
      title,
      products: new Set<number>(),
    }));
    publicationsByShop.set(shop, list);
  }
  return list;
}

function publishablePublish(
  ctx: Ctx,
  args: { id: string; input: { publicationId?: string | null; channelId?: string | null }[] },
) {
  const pid = parseGid(args.id, "Product");
  const product = pid === undefined ? undefined : ctx.shop.products.get(pid);
  const userErrors: ReturnType<typeof userError>[] = [];
  if (!product) userErrors.push(userError("Resource does not exist", ["id"]));
  const list = publicationsOf(ctx.shop, () => ctx.store.nextId());
  const targets: Publication[] = [];
  args.input.forEach((i, n) => {
    const id = i.publicationId ? parseGid(i.publicationId, "Publication") : undefined;
    const pub = list.find((p) => p.id === id);
    if (!pub) userErrors.push(userError("Publication does not exist", ["input", String(n), "publicationId"]));
    else targets.push(pub);
  });
  if (userErrors.length > 0 || !product) return { publishable: null, userErrors };
  for (const t of targets) t.products.add(product.id);
  return { publishable: tag(product, "Product"), userErrors: [] };
}

const definitionsByShop = new WeakMap<Shop, Map<number, Definition>>();
const definitionsOf = (shop: Shop) => {
  let m = definitionsByShop.get(shop);
  if (!m) {
    m = new Map();
    definitionsByShop.set(shop, m);
  }
  return m;
};

const findDefinition = (shop: Shop, namespace: string, key: string) =>
  [...definitionsOf(shop).values()].find(
    (d) => d.ownerType === "PRODUCT" && d.namespace === namespace && d.key === key,
  );

function metafieldDefinitionCreate(
  ctx: Ctx,
  args: {
    definition: {
      name: string;
      namespace?: string | null;
      key: string;
      type: string;
      ownerType: string;
      description?: string | null;
      capabilities?: { uniqueValues?: { enabled: boolean } | null } | null;
    };
  },
) {
  const d = args.definition;
  const namespace = d.namespace ?? `app--${ctx.app.id}`;
  const errors: ReturnType<typeof userError>[] = [];
  if (!d.name) errors.push(userError("Name can't be blank", ["definition", "name"], "BLANK"));
  if (d.key.length < 2) errors.push(userError("Key is too short", ["definition", "key"], "TOO_SHORT"));
  if (
    [...definitionsOf(ctx.shop).values()].some(
      (x) => x.ownerType === d.ownerType && x.namespace === namespace && x.key === d.key,
    )
  )
    errors.push(
      userError(
        "Key is in use for Product metafields on the 'namespace' namespace.",
        ["definition", "key"],
        "TAKEN",
      ),
    );
  const unique = d.capabilities?.uniqueValues?.enabled === true;
  if (unique && !["single_line_text_field", "url", "number_integer"].includes(d.type))
    errors.push(
      userError(
        "The unique values capability is not available for this type.",
        ["definition", "capabilities"],
        "INVALID_CAPABILITY",
      ),
    );
  if (errors.length > 0) return { createdDefinition: null, userErrors: errors };
  const def: Definition = {
    id: ctx.store.nextId(),
    name: d.name,
    namespace,
    key: d.key,
    type: d.type,
    ownerType: d.ownerType,
    unique,
    description: d.description ?? null,
  };
  definitionsOf(ctx.shop).set(def.id, def);
  return { createdDefinition: def, userErrors: [] };
}

function byIdentifier(
  shop: Shop,
  identifier: {
    id?: string | null;
    handle?: string | null;
    customId?: { namespace?: string | null; key: string; value: string } | null;
  },
): Product | undefined {
  if (identifier.id) {
    const id = parseGid(identifier.id, "Product");
    return id === undefined ? undefined : shop.products.get(id);
  }
  if (identifier.handle) return [...shop.products.values()].find((p) => p.handle === identifier.handle);
  if (identifier.customId) {
    const { namespace = "", key, value } = identifier.customId;
    return productsWithMetafield(shop, namespace ?? "", key, value)[0];
  }
  return undefined;
}

type CustomId = { namespace?: string | null; key: string; value: string };

/**
 * Shopify's limit: a store with more than 50,000 variants may create only 1,000 new variants a
 * day. The numbers can be lowered for a test (in-process emulators only).
 */
export const VARIANT_CREATION_LIMIT = { storeVariants: 50_000, perDay: 1_000 };
export const DAILY_VARIANT_LIMIT_MESSAGE = "Daily variant creation limit reached. Please try again later.";
const createdToday = new WeakMap<Shop, { day: string; n: number }>();

function productSet(
  ctx: Ctx,
  args: ProductSetArgs & { identifier?: ProductSetArgs["identifier"] & { customId?: CustomId | null } },
) {
  const { shop } = ctx;
  const identifier = args.identifier ?? undefined;
  const input = { ...args.input };
  let target: Product | undefined;
  if (identifier?.customId) {
    const c = identifier.customId;
    const def = findDefinition(shop, c.namespace ?? "", c.key);
    if (!def?.unique)
      return {
        product: null,
        productSetOperation: null,
        userErrors: [
          userError(
            "The metafield definition for the custom id does not exist or does not have unique values enabled.",
            ["identifier", "customId"],
            "INVALID_METAFIELD",
          ),
        ],
      };
    target = byIdentifier(shop, { customId: c });
    // A product created through its custom id carries it.
    const listed = input.metafields?.some((m) => m.namespace === c.namespace && m.key === c.key);
    if (!listed && (input.metafields != null || !target))
      input.metafields = [
        ...(input.metafields ?? []),
        { namespace: c.namespace ?? "", key: c.key, type: def.type, value: c.value },
      ];
  } else if (identifier?.id || identifier?.handle) {
    target = byIdentifier(shop, identifier);
    if (identifier.id && !target)
      return {
        product: null,
        productSetOperation: null,
        userErrors: [userError("Product does not exist", ["identifier", "id"], "PRODUCT_DOES_NOT_EXIST")],
      };
  }
  // Unique values: no other product may hold one.
  for (const [i, m] of (input.metafields ?? []).entries()) {
    const def = m.namespace && m.key ? findDefinition(shop, m.namespace, m.key) : undefined;
    if (!def?.unique || m.value == null) continue;
    const holder = productsWithMetafield(shop, def.namespace, def.key, m.value).find((p) => p !== target);
    if (holder)
      return {
        product: null,
        productSetOperation: null,
        userErrors: [
          userError(
            `Value has already been taken by another product (${gid("Product", holder.id)}).`,
            ["input", "metafields", String(i), "value"],
            "DUPLICATED_METAFIELD_VALUE",
          ),
        ],
      };
  }
  const newVariants = (input.variants ?? []).filter((v) => !v.id).length;
  const day = ctx.now.slice(0, 10);
  const today = createdToday.get(shop)?.day === day ? createdToday.get(shop)! : { day, n: 0 };
  if (
    newVariants > 0 &&
    shop.variants.size > VARIANT_CREATION_LIMIT.storeVariants &&
    today.n + newVariants > VARIANT_CREATION_LIMIT.perDay
  )
    return {
      product: null,
      productSetOperation: null,
      userErrors: [userError(DAILY_VARIANT_LIMIT_MESSAGE, ["input", "variants"], "GENERIC_ERROR")],
    };
  // Files kept by id: validated, left out of the replacement, put back in their place after it.
  const before = new Map((target?.media ?? []).map((m) => [gid("MediaImage", m.id), m]));
  const files = input.files ?? null;
  if (files) {
    for (const [i, f] of files.entries()) {
      const id = (f as { id?: string | null }).id;
      if (id && !before.has(id))
        return {
          product: null,
          productSetOperation: null,
          userErrors: [
            userError("File does not exist", ["input", "files", String(i), "id"], "INVALID_INPUT"),
          ],
        };
    }
    input.files = files.filter((f) => !(f as { id?: string | null }).id);
  }
  const result = applyProductSet(ctx.store, shop, ctx.now, {
    input,
    identifier: target ? { id: gid("Product", target.id) } : null,
  });
  if (result.product && newVariants > 0) createdToday.set(shop, { day, n: today.n + newVariants });
  if (result.product && files) {
    const fresh = [...(result.product.media ?? [])];
    result.product.media = files.map((f) => {
      const id = (f as { id?: string | null }).id;
      return id ? before.get(id)! : fresh.shift()!;
    }) as ProductImage[];
  }
  return result;
}

function productVariantsBulkUpdate(
  ctx: Ctx,
  args: {
    productId: string;
    variants: { id?: string | null; inventoryItem?: { cost?: string | number | null } | null }[];
  },
  info: unknown,
) {
  const inner = catalogResolvers.Mutation!.productVariantsBulkUpdate!;
  const result = inner(undefined, args, ctx, info as never) as {
    userErrors: unknown[];
    productVariants: unknown;
  };
  if (result.userErrors.length > 0 && result.productVariants === null) return result;
  for (const v of args.variants) {
    if (v.inventoryItem?.cost === undefined || !v.id) continue;
    const vid = parseGid(v.id, "ProductVariant");
    const variant = vid === undefined ? undefined : ctx.shop.variants.get(vid);
    const item = variant ? ctx.shop.inventoryItems.get(variant.inventoryItemId) : undefined;
    if (item) item.unitCost = v.inventoryItem.cost == null ? null : Number(v.inventoryItem.cost).toFixed(2);
  }
  return result;
}

export const publishResolvers: ResolverMap = {
  QueryRoot: {
    publications: (_s, args: PageArgs, ctx: Ctx) => {
      const list = publicationsOf(ctx.shop, () => ctx.store.nextId());
      return connection(list, args, ctx, (p) => p.id);
    },
    productByIdentifier: (_s, args: { identifier: Parameters<typeof byIdentifier>[1] }, ctx: Ctx) =>
      byIdentifier(ctx.shop, args.identifier) ?? null,
    metafieldDefinitions: (
      _s,
      args: PageArgs & { ownerType: string; namespace?: string | null; key?: string | null },
      ctx: Ctx,
    ) => {
      const list = [...definitionsOf(ctx.shop).values()].filter(
        (d) =>
          d.ownerType === args.ownerType &&
          (args.namespace == null || d.namespace === args.namespace) &&
          (args.key == null || d.key === args.key),
      );
      return connection(list, args, ctx, (d) => d.id);
    },
  },
  Mutation: {
    publishablePublish: (_s, args, ctx) => publishablePublish(ctx, args),
    metafieldDefinitionCreate: (_s, args, ctx) => metafieldDefinitionCreate(ctx, args),
    productSet: (_s, args, ctx) => productSet(ctx, args),
    productVariantsBulkUpdate: (_s, args, ctx, info) => productVariantsBulkUpdate(ctx, args, info),
  },
  PublishablePublishPayload: {
    publishable: (s) => s.publishable ?? null,
    shop: (_s, _a, ctx: Ctx) => ctx.shop,
    userErrors: (s) => s.userErrors,
  },
  Publication: {
    id: (p: Publication) => gid("Publication", p.id),
    name: (p: Publication) => p.title,
    catalog: (p: Publication) => tag({ id: p.id, title: p.title }, "AppCatalog"),
  },
  AppCatalog: {
    id: (c: { id: number }) => gid("AppCatalog", c.id),
    title: (c: { title: string }) => c.title,
    status: () => "ACTIVE",
  },
  Product: {
    publishedOnPublication: (p: Product, args: { publicationId: string }, ctx: Ctx) => {
      const id = parseGid(args.publicationId, "Publication");
      return publicationsOf(ctx.shop, () => ctx.store.nextId()).some(
        (x) => x.id === id && x.products.has(p.id),
      );
    },
  },
  MetafieldDefinitionCreatePayload: {
    createdDefinition: (s) => s.createdDefinition ?? null,
    userErrors: (s) => s.userErrors,
  },
  MetafieldDefinition: {
    id: (d: Definition) => gid("MetafieldDefinition", d.id),
    name: (d: Definition) => d.name,
    namespace: (d: Definition) => d.namespace,
    key: (d: Definition) => d.key,
    ownerType: (d: Definition) => d.ownerType,
    description: (d: Definition) => d.description,
    type: (d: Definition) => ({ name: d.type, category: "TEXT" }),
    capabilities: (d: Definition) => ({ uniqueValues: { enabled: d.unique, eligible: true } }),
  },
  MetafieldDefinitionType: { name: (t) => t.name, category: (t) => t.category },
  MetafieldCapabilities: { uniqueValues: (c) => c.uniqueValues },
  MetafieldCapabilityUniqueValues: { enabled: (c) => c.enabled, eligible: (c) => c.eligible },
};

/** For tests: the products that hold a custom id value. */
export function productsWithCustomId(shop: Shop, namespace: string, key: string, value: string): Product[] {
  return productsWithMetafield(shop, namespace, key, value);
}
