// Shop, locations, and the generic pieces every connection shares.

import { gid, parseGid } from "../gid.ts";
import { DEFAULT_SHOP_TIMEZONE } from "../rest-time.ts";
import { matches, parseSearch } from "../search.ts";
import type { Address, Location } from "../state.ts";
import { type Ctx, connection, type PageArgs, plain, type ResolverMap } from "./kit.ts";

export function addressFields(a: Address | null) {
  if (!a) return null;
  return {
    ...a,
    name: [a.firstName, a.lastName].filter(Boolean).join(" ") || null,
    formatted: [a.address1, a.address2, [a.zip, a.city].filter(Boolean).join(" "), a.country].filter(
      (x): x is string => !!x,
    ),
  };
}

const LOCATION_SEARCH = new Set(["name", "id", "active"]);

export function locationsOf(
  ctx: Ctx,
  args: PageArgs & { query?: string | null; includeInactive?: boolean | null },
) {
  const q = parseSearch(args.query);
  const list = [...ctx.shop.locations.values()].filter(
    (l) =>
      (l.isActive || args.includeInactive) &&
      matches(q, { name: l.name, id: String(l.id), active: String(l.isActive) }, [l.name], LOCATION_SEARCH),
  );
  return connection(list, args, ctx, (l) => l.id);
}

export const shopResolvers: ResolverMap = {
  QueryRoot: {
    shop: (_s, _a, ctx) => ctx.shop,
    // The calling app's installation on the shop: the scopes its token was granted.
    currentAppInstallation: (_s, _a, ctx) => ({ scopes: [...ctx.scopes].sort() }),
    locations: (_s, args, ctx) => locationsOf(ctx, args),
    location: (_s, args: { id?: string | null }, ctx) => {
      if (!args.id) return [...ctx.shop.locations.values()][0] ?? null;
      const id = parseGid(args.id, "Location");
      return id === undefined ? null : (ctx.shop.locations.get(id) ?? null);
    },
  },
  Shop: {
    id: () => gid("Shop", 1),
    name: (s) => s.name,
    email: (s) => s.email,
    contactEmail: (s) => s.email,
    myshopifyDomain: (s) => s.domain,
    currencyCode: (s) => s.currency,
    ianaTimezone: (s) => s.timezone ?? DEFAULT_SHOP_TIMEZONE,
    createdAt: (s) => s.createdAt,
    plan: (s) => ({
      partnerDevelopment: false,
      shopifyPlus: s.plan === "plus" || s.plan === "enterprise",
      publicDisplayName: s.plan,
    }),
    locations: (_s, args, ctx) => locationsOf(ctx, args),
  },
  ShopPlan: plain("partnerDevelopment", "shopifyPlus", "publicDisplayName"),
  AppInstallation: {
    id: () => gid("AppInstallation", 1),
    accessScopes: (s: { scopes: string[] }) => s.scopes.map((handle) => ({ handle, description: handle })),
  },
  AccessScope: plain("handle", "description"),
  Location: {
    id: (l: Location) => gid("Location", l.id),
    legacyResourceId: (l: Location) => String(l.id),
    name: (l: Location) => l.name,
    isActive: (l: Location) => l.isActive,
    isPrimary: (l: Location, _a, ctx) => [...ctx.shop.locations.keys()][0] === l.id,
    fulfillsOnlineOrders: (l: Location) => l.fulfillsOnlineOrders,
    shipsInventory: () => true,
    hasActiveInventory: (l: Location, _a, ctx) => !ctx.shop.levels.atLocation(l.id).next().done,
    createdAt: (l: Location) => l.createdAt,
    updatedAt: (l: Location) => l.updatedAt,
    address: (l: Location) => addressFields(l.address),
  },
  LocationAddress: plain(
    "address1",
    "address2",
    "city",
    "country",
    "countryCode",
    "province",
    "provinceCode",
    "zip",
    "phone",
    "formatted",
  ),
  PageInfo: plain("hasNextPage", "hasPreviousPage", "startCursor", "endCursor"),
};
