/**
 * The Shopify operations of price groups, each document beside the code that sends it: finding
 * the hub's price list by name (a crash after `priceListCreate` must not create a second one),
 * `priceListCreate`, `catalogCreate` with the price list attached, and the fixed prices of one
 * list (`priceListFixedPricesUpdate`: adds and deletions in one call, only that list touched).
 */
import { graphql } from "../shopify/graphql.ts";
import type { AdminTransport } from "../shopify/transport.ts";

export interface ShopifyUserError {
  readonly field: readonly string[] | null;
  readonly message: string;
  readonly code: string | null;
}

/** The name the hub gives a group's price list (and its catalog) in every store. */
export const priceListName = (code: string) => `Tillbridge price group ${code}`;

export const PRICE_LISTS = graphql`
  query TillbridgePriceLists($after: String) {
    priceLists(first: 100, after: $after) {
      nodes {
        id
        name
        currency
        catalog {
          id
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

export interface ShopifyPriceList {
  readonly id: string;
  readonly name: string;
  readonly currency: string;
  readonly catalogId: string | null;
}

export async function findPriceList(
  transport: AdminTransport,
  name: string,
): Promise<ShopifyPriceList | null> {
  let after: string | null = null;
  for (;;) {
    const r: {
      data: {
        priceLists: {
          nodes: { id: string; name: string; currency: string; catalog: { id: string } | null }[];
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      };
    } = await transport.graphql(PRICE_LISTS, { after }, { estimatedCost: 12 });
    const found = r.data.priceLists.nodes.find((p) => p.name === name);
    if (found)
      return {
        id: found.id,
        name: found.name,
        currency: found.currency,
        catalogId: found.catalog?.id ?? null,
      };
    if (!r.data.priceLists.pageInfo.hasNextPage) return null;
    after = r.data.priceLists.pageInfo.endCursor;
  }
}

export const PRICE_LIST_CREATE = graphql`
  mutation TillbridgePriceListCreate($input: PriceListCreateInput!) {
    priceListCreate(input: $input) {
      priceList {
        id
        currency
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

export async function createPriceList(
  transport: AdminTransport,
  name: string,
  currency: string,
): Promise<{ ok: true; id: string } | { ok: false; userErrors: readonly ShopifyUserError[] }> {
  const r = await transport.graphql<{
    priceListCreate: { priceList: { id: string } | null; userErrors: ShopifyUserError[] };
  }>(
    PRICE_LIST_CREATE,
    // Fixed prices only: the parent adjustment leaves every other price as the store's.
    { input: { name, currency, parent: { adjustment: { type: "PERCENTAGE_DECREASE", value: 0 } } } },
    { estimatedCost: 10 },
  );
  const p = r.data.priceListCreate;
  if (!p.priceList || p.userErrors.length > 0) return { ok: false, userErrors: p.userErrors };
  return { ok: true, id: p.priceList.id };
}

export const CATALOG_CREATE = graphql`
  mutation TillbridgeCatalogCreate($input: CatalogCreateInput!) {
    catalogCreate(input: $input) {
      catalog {
        id
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

/**
 * A company-location catalog carrying the price list: the customers of the group (their company
 * locations) are added to it by the customer publish.
 */
export async function createCatalog(
  transport: AdminTransport,
  title: string,
  priceListId: string,
): Promise<{ ok: true; id: string } | { ok: false; userErrors: readonly ShopifyUserError[] }> {
  const r = await transport.graphql<{
    catalogCreate: { catalog: { id: string } | null; userErrors: ShopifyUserError[] };
  }>(
    CATALOG_CREATE,
    { input: { title, status: "ACTIVE", priceListId, context: { companyLocationIds: [] } } },
    { estimatedCost: 10 },
  );
  const c = r.data.catalogCreate;
  if (!c.catalog || c.userErrors.length > 0) return { ok: false, userErrors: c.userErrors };
  return { ok: true, id: c.catalog.id };
}

export const FIXED_PRICES_UPDATE = graphql`
  mutation TillbridgePriceListFixedPrices(
    $priceListId: ID!
    $pricesToAdd: [PriceListPriceInput!]!
    $variantIdsToDelete: [ID!]!
  ) {
    priceListFixedPricesUpdate(
      priceListId: $priceListId
      pricesToAdd: $pricesToAdd
      variantIdsToDelete: $variantIdsToDelete
    ) {
      pricesAdded {
        variant {
          id
        }
      }
      deletedFixedPriceVariantIds
      userErrors {
        field
        message
        code
      }
    }
  }
`;

export interface FixedPrice {
  readonly variantId: string;
  readonly price: string;
  readonly compareAtPrice: string | null;
}

/** Sets and removes fixed prices of one price list in one call (at most 250 of each). */
export async function updateFixedPrices(
  transport: AdminTransport,
  priceListId: string,
  currency: string,
  add: readonly FixedPrice[],
  remove: readonly string[],
): Promise<readonly ShopifyUserError[]> {
  const pricesToAdd = add.map((p) => ({
    variantId: p.variantId,
    price: { amount: p.price, currencyCode: currency },
    compareAtPrice: p.compareAtPrice === null ? null : { amount: p.compareAtPrice, currencyCode: currency },
  }));
  const r = await transport.graphql<{ priceListFixedPricesUpdate: { userErrors: ShopifyUserError[] } }>(
    FIXED_PRICES_UPDATE,
    { priceListId, pricesToAdd, variantIdsToDelete: remove },
    { estimatedCost: 10 },
  );
  return r.data.priceListFixedPricesUpdate.userErrors;
}

export const PRICE_LIST_PRICES = graphql`
  query TillbridgePriceListPrices($id: ID!, $after: String) {
    priceList(id: $id) {
      id
      prices(first: 250, after: $after, originType: FIXED) {
        nodes {
          variant {
            id
          }
          price {
            amount
          }
          compareAtPrice {
            amount
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`;

/** The fixed prices a price list holds, by Shopify variant id; null when the list is gone. */
export async function readFixedPrices(
  transport: AdminTransport,
  priceListId: string,
): Promise<Map<string, { price: string; compareAtPrice: string | null }> | null> {
  const out = new Map<string, { price: string; compareAtPrice: string | null }>();
  let after: string | null = null;
  for (;;) {
    const r: {
      data: {
        priceList: {
          prices: {
            nodes: {
              variant: { id: string };
              price: { amount: string };
              compareAtPrice: { amount: string } | null;
            }[];
            pageInfo: { hasNextPage: boolean; endCursor: string | null };
          };
        } | null;
      };
    } = await transport.graphql(PRICE_LIST_PRICES, { id: priceListId, after }, { estimatedCost: 30 });
    if (!r.data.priceList) return null;
    for (const n of r.data.priceList.prices.nodes)
      out.set(n.variant.id, { price: n.price.amount, compareAtPrice: n.compareAtPrice?.amount ?? null });
    if (!r.data.priceList.prices.pageInfo.hasNextPage) return out;
    after = r.data.priceList.prices.pageInfo.endCursor;
  }
}
