// Price lists and catalogs (issue 16): priceListCreate, priceListDelete, catalogCreate (company-location or market
// context, a price list attached), priceListFixedPricesAdd / Update / Delete with Shopify's
// userErrors (PRICE_LIST_NOT_FOUND, VARIANT_NOT_FOUND, PRICE_LIST_CURRENCY_MISMATCH,
// PRICE_NOT_FIXED, TAKEN, BLANK, CATALOG_DOES_NOT_EXIST…), each call all or nothing; the
// priceLists / priceList / catalogs / catalog reads. Held per shop beside the emulator's state.
import { gid, parseGid } from "../gid.ts";
import type { Shop } from "../state.ts";
import { type Ctx, connection, type PageArgs, type ResolverMap, tag, userError } from "./kit.ts";

export interface FixedPrice {
  price: string;
  compareAtPrice: string | null;
}

export interface PriceList {
  id: number;
  name: string;
  currency: string;
  catalogId: number | null;
  adjustment: { type: string; value: number };
  /** Fixed prices by variant id. */
  prices: Map<number, FixedPrice>;
}

export interface Catalog {
  id: number;
  title: string;
  status: string;
  priceListId: number | null;
  companyLocationIds: string[];
  marketIds: string[];
}

interface PriceState {
  priceLists: Map<number, PriceList>;
  catalogs: Map<number, Catalog>;
}

const byShop = new WeakMap<Shop, PriceState>();
/** A shop's price lists and catalogs (for the customer publish and tests). */
export function priceStateOf(shop: Shop): PriceState {
  let s = byShop.get(shop);
  if (!s) {
    s = { priceLists: new Map(), catalogs: new Map() };
    byShop.set(shop, s);
  }
  return s;
}

type UserError = ReturnType<typeof userError>;
interface MoneyInput {
  amount: string;
  currencyCode: string;
}
interface PriceInput {
  variantId: string;
  price: MoneyInput;
  compareAtPrice?: MoneyInput | null;
}

const money = (m: MoneyInput) => Number(m.amount).toFixed(2);

function attach(state: PriceState, list: PriceList, catalog: Catalog) {
  // A catalog holds one price list: the one it had is unlinked.
  for (const other of state.priceLists.values()) if (other.catalogId === catalog.id) other.catalogId = null;
  const previous = list.catalogId === null ? undefined : state.catalogs.get(list.catalogId);
  if (previous) previous.priceListId = null;
  list.catalogId = catalog.id;
  catalog.priceListId = list.id;
}

function priceListCreate(
  ctx: Ctx,
  args: {
    input: {
      name: string;
      currency: string;
      catalogId?: string | null;
      parent: { adjustment: { type: string; value: number } };
    };
  },
) {
  const state = priceStateOf(ctx.shop);
  const { input } = args;
  const errors: UserError[] = [];
  if (!input.name.trim()) errors.push(userError("Name can't be blank", ["input", "name"], "BLANK"));
  else if (input.name.length > 255) errors.push(userError("Name is too long", ["input", "name"], "TOO_LONG"));
  else if ([...state.priceLists.values()].some((p) => p.name === input.name))
    errors.push(userError("Name has already been taken", ["input", "name"], "TAKEN"));
  const adj = input.parent.adjustment;
  if (adj.value < 0 || (adj.type === "PERCENTAGE_DECREASE" && adj.value > 100) || adj.value > 1000)
    errors.push(
      userError(
        "The adjustment value must be a positive value and not be greater than 100% for PERCENTAGE_DECREASE and not be greater than 1000% for PERCENTAGE_INCREASE.",
        ["input", "parent", "adjustment", "value"],
        "INVALID_ADJUSTMENT_VALUE",
      ),
    );
  let catalog: Catalog | undefined;
  if (input.catalogId) {
    const id =
      parseGid(input.catalogId, "CompanyLocationCatalog") ?? parseGid(input.catalogId, "MarketCatalog");
    catalog = id === undefined ? undefined : state.catalogs.get(id);
    if (!catalog)
      errors.push(userError("Catalog does not exist", ["input", "catalogId"], "CATALOG_DOES_NOT_EXIST"));
  }
  if (errors.length > 0) return { priceList: null, userErrors: errors };
  const list: PriceList = {
    id: ctx.store.nextId(),
    name: input.name,
    currency: input.currency,
    catalogId: null,
    adjustment: { type: adj.type, value: adj.value },
    prices: new Map(),
  };
  state.priceLists.set(list.id, list);
  if (catalog) attach(state, list, catalog);
  return { priceList: list, userErrors: [] };
}

function catalogCreate(
  ctx: Ctx,
  args: {
    input: {
      title: string;
      status: string;
      priceListId?: string | null;
      context: { companyLocationIds?: string[] | null; marketIds?: string[] | null };
    };
  },
) {
  const state = priceStateOf(ctx.shop);
  const { input } = args;
  const errors: UserError[] = [];
  if (!input.title.trim()) errors.push(userError("Title can't be blank", ["input", "title"], "BLANK"));
  else if (input.title.length > 255)
    errors.push(userError("Title is too long", ["input", "title"], "TOO_LONG"));
  const hasLocations = input.context.companyLocationIds != null;
  const hasMarkets = input.context.marketIds != null;
  if (hasLocations === hasMarkets)
    errors.push(
      userError(
        "Must provide exactly one context type.",
        ["input", "context"],
        "MUST_PROVIDE_EXACTLY_ONE_CONTEXT_TYPE",
      ),
    );
  let list: PriceList | undefined;
  if (input.priceListId) {
    const id = parseGid(input.priceListId, "PriceList");
    list = id === undefined ? undefined : state.priceLists.get(id);
    if (!list)
      errors.push(userError("Price list not found.", ["input", "priceListId"], "PRICE_LIST_NOT_FOUND"));
  }
  if (errors.length > 0) return { catalog: null, userErrors: errors };
  const catalog: Catalog = {
    id: ctx.store.nextId(),
    title: input.title,
    status: input.status,
    priceListId: null,
    companyLocationIds: [...(input.context.companyLocationIds ?? [])],
    marketIds: [...(input.context.marketIds ?? [])],
  };
  state.catalogs.set(catalog.id, catalog);
  if (list) attach(state, list, catalog);
  return { catalog: tagCatalog(catalog), userErrors: [] };
}

const tagCatalog = (c: Catalog) =>
  tag(c, c.marketIds.length > 0 ? "MarketCatalog" : "CompanyLocationCatalog");

function findList(ctx: Ctx, priceListId: string): PriceList | undefined {
  const id = parseGid(priceListId, "PriceList");
  return id === undefined ? undefined : priceStateOf(ctx.shop).priceLists.get(id);
}

/** Validates prices to add; the variant ids they name. */
function checkPrices(
  ctx: Ctx,
  list: PriceList,
  prices: readonly PriceInput[],
  field: string,
  errors: UserError[],
) {
  const ids: number[] = [];
  prices.forEach((p, i) => {
    const vid = parseGid(p.variantId, "ProductVariant");
    if (vid === undefined || !ctx.shop.variants.has(vid))
      errors.push(userError("Variant not found.", [field, String(i), "variantId"], "VARIANT_NOT_FOUND"));
    for (const [name, m] of [
      ["price", p.price],
      ["compareAtPrice", p.compareAtPrice],
    ] as const) {
      if (m && m.currencyCode !== list.currency)
        errors.push(
          userError(
            `The currency of the price must match the currency of the price list (${list.currency}).`,
            [field, String(i), name, "currencyCode"],
            "PRICE_LIST_CURRENCY_MISMATCH",
          ),
        );
    }
    ids.push(vid ?? -1);
  });
  return ids;
}

function checkDeletes(
  ctx: Ctx,
  list: PriceList,
  variantIds: readonly string[],
  field: string,
  errors: UserError[],
) {
  const ids: number[] = [];
  variantIds.forEach((v, i) => {
    const vid = parseGid(v, "ProductVariant");
    if (vid === undefined || !ctx.shop.variants.has(vid))
      errors.push(userError("Variant not found.", [field, String(i)], "VARIANT_NOT_FOUND"));
    else if (!list.prices.has(vid))
      errors.push(userError("Only fixed prices can be deleted.", [field, String(i)], "PRICE_NOT_FIXED"));
    ids.push(vid ?? -1);
  });
  return ids;
}

const notFound = () => [userError("Price list not found.", ["priceListId"], "PRICE_LIST_NOT_FOUND")];

const setPrices = (list: PriceList, ids: readonly number[], prices: readonly PriceInput[]) =>
  prices.map((p, i) => {
    const fixed = {
      price: money(p.price),
      compareAtPrice: p.compareAtPrice ? money(p.compareAtPrice) : null,
    };
    list.prices.set(ids[i]!, fixed);
    return { list, variantId: ids[i]!, ...fixed };
  });

export const priceListResolvers: ResolverMap = {
  QueryRoot: {
    priceLists: (_s, args: PageArgs, ctx: Ctx) =>
      connection([...priceStateOf(ctx.shop).priceLists.values()], args, ctx, (p) => p.id),
    priceList: (_s, args: { id: string }, ctx: Ctx) => findList(ctx, args.id) ?? null,
    catalogs: (_s, args: PageArgs & { type?: string | null }, ctx: Ctx) => {
      const all = [...priceStateOf(ctx.shop).catalogs.values()].filter(
        (c) =>
          !args.type ||
          (args.type === "MARKET"
            ? c.marketIds.length > 0
            : args.type === "COMPANY_LOCATION" && c.marketIds.length === 0),
      );
      return connection(all.map(tagCatalog), args, ctx, (c) => c.id);
    },
    catalog: (_s, args: { id: string }, ctx: Ctx) => {
      const id = parseGid(args.id, "CompanyLocationCatalog") ?? parseGid(args.id, "MarketCatalog");
      const c = id === undefined ? undefined : priceStateOf(ctx.shop).catalogs.get(id);
      return c ? tagCatalog(c) : null;
    },
  },
  Mutation: {
    priceListCreate: (_s, args, ctx) => priceListCreate(ctx, args),
    catalogCreate: (_s, args, ctx) => catalogCreate(ctx, args),
    priceListFixedPricesAdd: (_s, args: { priceListId: string; prices: PriceInput[] }, ctx: Ctx) => {
      const list = findList(ctx, args.priceListId);
      if (!list) return { prices: null, userErrors: notFound() };
      const errors: UserError[] = [];
      const ids = checkPrices(ctx, list, args.prices, "prices", errors);
      if (errors.length > 0) return { prices: null, userErrors: errors };
      return { prices: setPrices(list, ids, args.prices), userErrors: [] };
    },
    priceListFixedPricesUpdate: (
      _s,
      args: { priceListId: string; pricesToAdd: PriceInput[]; variantIdsToDelete: string[] },
      ctx: Ctx,
    ) => {
      const list = findList(ctx, args.priceListId);
      if (!list)
        return {
          priceList: null,
          pricesAdded: null,
          deletedFixedPriceVariantIds: null,
          userErrors: notFound(),
        };
      const errors: UserError[] = [];
      const addIds = checkPrices(ctx, list, args.pricesToAdd, "pricesToAdd", errors);
      const delIds = checkDeletes(ctx, list, args.variantIdsToDelete, "variantIdsToDelete", errors);
      if (errors.length > 0)
        return { priceList: null, pricesAdded: null, deletedFixedPriceVariantIds: null, userErrors: errors };
      for (const id of delIds) list.prices.delete(id);
      const added = setPrices(list, addIds, args.pricesToAdd);
      return {
        priceList: list,
        pricesAdded: added,
        deletedFixedPriceVariantIds: args.variantIdsToDelete,
        userErrors: [],
      };
    },
    priceListDelete: (_s, args: { id: string }, ctx: Ctx) => {
      const state = priceStateOf(ctx.shop);
      const list = findList(ctx, args.id);
      if (!list)
        return {
          deletedId: null,
          userErrors: [userError("Price list not found.", ["id"], "PRICE_LIST_NOT_FOUND")],
        };
      const catalog = list.catalogId === null ? undefined : state.catalogs.get(list.catalogId);
      if (catalog) catalog.priceListId = null;
      state.priceLists.delete(list.id);
      return { deletedId: args.id, userErrors: [] };
    },
    priceListFixedPricesDelete: (_s, args: { priceListId: string; variantIds: string[] }, ctx: Ctx) => {
      const list = findList(ctx, args.priceListId);
      if (!list) return { deletedFixedPriceVariantIds: null, userErrors: notFound() };
      const errors: UserError[] = [];
      const ids = checkDeletes(ctx, list, args.variantIds, "variantIds", errors);
      if (errors.length > 0) return { deletedFixedPriceVariantIds: null, userErrors: errors };
      for (const id of ids) list.prices.delete(id);
      return { deletedFixedPriceVariantIds: args.variantIds, userErrors: [] };
    },
  },
  PriceListCreatePayload: { priceList: (s) => s.priceList ?? null, userErrors: (s) => s.userErrors },
  PriceListDeletePayload: { deletedId: (s) => s.deletedId, userErrors: (s) => s.userErrors },
  CatalogCreatePayload: { catalog: (s) => s.catalog ?? null, userErrors: (s) => s.userErrors },
  PriceListFixedPricesAddPayload: { prices: (s) => s.prices, userErrors: (s) => s.userErrors },
  PriceListFixedPricesUpdatePayload: {
    priceList: (s) => s.priceList,
    pricesAdded: (s) => s.pricesAdded,
    deletedFixedPriceVariantIds: (s) => s.deletedFixedPriceVariantIds,
    userErrors: (s) => s.userErrors,
  },
  PriceListFixedPricesDeletePayload: {
    deletedFixedPriceVariantIds: (s) => s.deletedFixedPriceVariantIds,
    userErrors: (s) => s.userErrors,
  },
  PriceList: {
    id: (p: PriceList) => gid("PriceList", p.id),
    name: (p: PriceList) => p.name,
    currency: (p: PriceList) => p.currency,
    fixedPricesCount: (p: PriceList) => p.prices.size,
    parent: (p: PriceList) => ({ adjustment: p.adjustment, settings: { compareAtMode: "ADJUSTED" } }),
    catalog: (p: PriceList, _a, ctx: Ctx) => {
      const c = p.catalogId === null ? undefined : priceStateOf(ctx.shop).catalogs.get(p.catalogId);
      return c ? tagCatalog(c) : null;
    },
    prices: (p: PriceList, args: PageArgs & { originType?: string | null }, ctx: Ctx) => {
      const rows =
        args.originType === "RELATIVE"
          ? []
          : [...p.prices.entries()].map(([variantId, f]) => ({ list: p, variantId, ...f }));
      return connection(rows, args, ctx, (r) => r.variantId);
    },
  },
  PriceListParent: { adjustment: (s) => s.adjustment, settings: (s) => s.settings },
  PriceListAdjustment: { type: (s) => s.type, value: (s) => s.value },
  PriceListPrice: {
    price: (r: { list: PriceList; price: string }) => ({ amount: r.price, currencyCode: r.list.currency }),
    compareAtPrice: (r: { list: PriceList; compareAtPrice: string | null }) =>
      r.compareAtPrice === null ? null : { amount: r.compareAtPrice, currencyCode: r.list.currency },
    originType: () => "FIXED",
    variant: (r: { variantId: number }, _a, ctx: Ctx) => ctx.shop.variants.get(r.variantId) ?? null,
  },
  CompanyLocationCatalog: {
    id: (c: Catalog) => gid("CompanyLocationCatalog", c.id),
    title: (c: Catalog) => c.title,
    status: (c: Catalog) => c.status,
    priceList: (c: Catalog, _a, ctx: Ctx) =>
      c.priceListId === null ? null : (priceStateOf(ctx.shop).priceLists.get(c.priceListId) ?? null),
  },
  MarketCatalog: {
    id: (c: Catalog) => gid("MarketCatalog", c.id),
    title: (c: Catalog) => c.title,
    status: (c: Catalog) => c.status,
    priceList: (c: Catalog, _a, ctx: Ctx) =>
      c.priceListId === null ? null : (priceStateOf(ctx.shop).priceLists.get(c.priceListId) ?? null),
  },
};

/** For tests: a price list's fixed prices by variant GID. */
export function fixedPricesOf(
  shop: Shop,
  name: string,
): Map<string, FixedPrice & { currency: string }> | undefined {
  const list = [...priceStateOf(shop).priceLists.values()].find((p) => p.name === name);
  if (!list) return undefined;
  return new Map(
    [...list.prices.entries()].map(([v, f]) => [gid("ProductVariant", v), { ...f, currency: list.currency }]),
  );
}
