/**
 * The Shopify operations of the catalog publish, each document beside the code that sends it:
 * the customId metafield definition (unique values, created once per store), reading a product
 * by id or customId before a publish, `productSet` (synchronous), and the cheap price update.
 * `userErrors` become a typed result here; transport failures stay exceptions.
 */
import { graphql } from "../../shopify/graphql.ts";
import type { AdminTransport } from "../../shopify/transport.ts";
import { CUSTOM_ID, type CurrentProduct, type CurrentVariant } from "./desired.ts";

export interface ShopifyUserError {
  readonly field: readonly string[] | null;
  readonly message: string;
  readonly code: string | null;
}

export const CUSTOM_ID_DEFINITION_CREATE = graphql`
  mutation TillbridgeCustomIdDefinition($definition: MetafieldDefinitionInput!) {
    metafieldDefinitionCreate(definition: $definition) {
      createdDefinition {
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

export const CUSTOM_ID_DEFINITION_FIND = graphql`
  query TillbridgeCustomIdDefinitionFind($namespace: String!, $key: String!) {
    metafieldDefinitions(first: 1, ownerType: PRODUCT, namespace: $namespace, key: $key) {
      nodes {
        id
      }
    }
  }
`;

/** The definition's GID: created with unique values, or found when it exists already. */
export async function ensureCustomIdDefinition(transport: AdminTransport): Promise<string> {
  const created = await transport.graphql<{
    metafieldDefinitionCreate: {
      createdDefinition: { id: string } | null;
      userErrors: ShopifyUserError[];
    };
  }>(CUSTOM_ID_DEFINITION_CREATE, {
    definition: {
      name: "Tillbridge product key",
      namespace: CUSTOM_ID.namespace,
      key: CUSTOM_ID.key,
      description: "The back office's product key; set by Tillbridge, do not edit.",
      type: "single_line_text_field",
      ownerType: "PRODUCT",
      capabilities: { uniqueValues: { enabled: true } },
    },
  });
  const def = created.data.metafieldDefinitionCreate;
  if (def.createdDefinition) return def.createdDefinition.id;
  const found = await transport.graphql<{ metafieldDefinitions: { nodes: { id: string }[] } }>(
    CUSTOM_ID_DEFINITION_FIND,
    { namespace: CUSTOM_ID.namespace, key: CUSTOM_ID.key },
  );
  const id = found.data.metafieldDefinitions.nodes[0]?.id;
  if (!id)
    throw new Error(
      `cannot create the product key metafield definition: ${def.userErrors.map((e) => e.message).join("; ")}`,
    );
  return id;
}

export const PUBLISH_READ_PRODUCT = graphql`
  query TillbridgePublishReadProduct($identifier: ProductIdentifierInput!) {
    productByIdentifier(identifier: $identifier) {
      ...TillbridgePublishProduct
      variants(first: 100) {
        nodes {
          ...TillbridgePublishVariant
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
  fragment TillbridgePublishVariant on ProductVariant {
    id
    sku
    barcode
    price
    compareAtPrice
    taxable
    selectedOptions {
      name
      value
    }
    inventoryItem {
      id
      unitCost {
        amount
      }
    }
  }
  fragment TillbridgePublishProduct on Product {
    id
    title
    descriptionHtml
    vendor
    productType
    tags
    status
    category {
      id
    }
    seo {
      title
      description
    }
    media(first: 100) {
      pageInfo {
        hasNextPage
      }
      nodes {
        id
        alt
        ... on MediaImage {
          image {
            url
          }
        }
      }
    }
    metafields(first: 100) {
      pageInfo {
        hasNextPage
      }
      nodes {
        namespace
        key
        type
        value
      }
    }
  }
`;

export const PUBLISH_READ_VARIANTS = graphql`
  query TillbridgePublishReadVariants($id: ID!, $after: String) {
    product(id: $id) {
      variants(first: 250, after: $after) {
        nodes {
          id
          sku
          barcode
          price
          compareAtPrice
          taxable
          selectedOptions {
            name
            value
          }
          inventoryItem {
            id
            unitCost {
              amount
            }
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

/** A variant as Shopify answers it (a product read, or the bulk read of the store). */
export interface RawVariant {
  readonly id: string;
  readonly sku: string | null;
  readonly barcode: string | null;
  readonly price: string | null;
  readonly compareAtPrice: string | null;
  readonly taxable: boolean;
  readonly selectedOptions: readonly { name: string; value: string }[];
  readonly inventoryItem: { readonly id: string; readonly unitCost: { amount: string } | null };
}

interface RawPage {
  nodes: RawVariant[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export const variantOf = (v: RawVariant): CurrentVariant => ({
  id: v.id,
  sku: v.sku || null,
  barcode: v.barcode,
  price: v.price,
  compareAtPrice: v.compareAtPrice,
  taxable: v.taxable,
  selectedOptions: v.selectedOptions,
  inventoryItemId: v.inventoryItem.id,
  cost: v.inventoryItem.unitCost ? Number(v.inventoryItem.unitCost.amount).toFixed(2) : null,
});

const READ_PAGE = 100;
/** Requested costs (what Shopify checks the bucket against), as the emulator computes them. */
const READ_COST = 75;
const VARIANT_PAGE_COST = 30;

/** A product whose lists the hub cannot read whole in one call: refused, never half-sent. */
export class PublishReadLimit extends Error {
  readonly code = "PRODUCT_TOO_LARGE";
}

/** Shopify's product by its GID or by the hub's key (customId); null when there is none. */
export async function readCurrentProduct(
  transport: AdminTransport,
  by: { id: string } | { key: string },
): Promise<CurrentProduct | null> {
  const identifier = "id" in by ? { id: by.id } : { customId: { ...CUSTOM_ID, value: by.key } };
  const r = await transport.graphql<{
    productByIdentifier:
      | (Omit<CurrentProduct, "variants" | "media" | "metafields" | "category"> & {
          category: { id: string } | null;
          media: {
            pageInfo: { hasNextPage: boolean };
            nodes: { id: string; alt: string | null; image?: { url: string } | null }[];
          };
          metafields: { pageInfo: { hasNextPage: boolean }; nodes: CurrentProduct["metafields"][number][] };
          variants: RawPage;
        })
      | null;
  }>(PUBLISH_READ_PRODUCT, { identifier }, { estimatedCost: READ_COST });
  const p = r.data.productByIdentifier;
  if (!p) return null;
  // productSet replaces these lists wholesale: a list read in part would delete the rest.
  if (p.media.pageInfo.hasNextPage || p.metafields.pageInfo.hasNextPage)
    throw new PublishReadLimit(
      `${p.id} has more than ${READ_PAGE} ${p.media.pageInfo.hasNextPage ? "media" : "metafields"}; the hub does not publish such a product yet (it would have to send them all back)`,
    );
  const variants = p.variants.nodes.map(variantOf);
  let page = p.variants.pageInfo;
  while (page.hasNextPage) {
    const more = await transport.graphql<{ product: { variants: RawPage } | null }>(
      PUBLISH_READ_VARIANTS,
      { id: p.id, after: page.endCursor },
      { estimatedCost: VARIANT_PAGE_COST },
    );
    if (!more.data.product) break;
    variants.push(...more.data.product.variants.nodes.map(variantOf));
    page = more.data.product.variants.pageInfo;
  }
  return currentProductOf(p, {
    variants,
    media: p.media.nodes.map((m) => ({ id: m.id, url: m.image?.url ?? null, alt: m.alt })),
    metafields: p.metafields.nodes,
  });
}

/** A product's own fields as both reads select them (this read and the bulk read). */
type ProductFields = Omit<CurrentProduct, "category" | "variants" | "media" | "metafields"> & {
  readonly category: { readonly id: string } | null;
};

/**
 * Shopify's product as the publish plans against it: the one mapper of the synchronous read
 * (above) and the bulk read's reassembled products (bulk-publish.ts), its lists already read.
 */
export function currentProductOf(
  p: ProductFields,
  lists: Pick<CurrentProduct, "variants" | "media" | "metafields">,
): CurrentProduct {
  return {
    id: p.id,
    title: p.title,
    descriptionHtml: p.descriptionHtml,
    vendor: p.vendor,
    productType: p.productType,
    tags: p.tags,
    status: p.status,
    category: p.category?.id ?? null,
    seo: p.seo,
    ...lists,
  };
}

export const PRODUCT_SET = graphql`
  mutation TillbridgePublishProductSet($identifier: ProductSetIdentifiers, $input: ProductSetInput!) {
    productSet(identifier: $identifier, input: $input, synchronous: true) {
      product {
        id
        variants(first: 250) {
          nodes {
            id
            sku
            inventoryItem {
              id
            }
          }
        }
        media(first: 250) {
          nodes {
            id
          }
        }
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

export type ProductSetResult =
  | {
      readonly ok: true;
      readonly productId: string;
      readonly variants: readonly { id: string; sku: string | null; item: string }[];
      readonly media: readonly string[];
    }
  | { readonly ok: false; readonly userErrors: readonly ShopifyUserError[] };

export async function sendProductSet(
  transport: AdminTransport,
  identifier: Record<string, unknown>,
  input: Record<string, unknown>,
): Promise<ProductSetResult> {
  const r = await transport.graphql<{
    productSet: {
      product: {
        id: string;
        variants: { nodes: { id: string; sku: string | null; inventoryItem: { id: string } }[] };
        media: { nodes: { id: string }[] };
      } | null;
      userErrors: ShopifyUserError[];
    };
  }>(PRODUCT_SET, { identifier, input }, { estimatedCost: 10 });
  const set = r.data.productSet;
  if (set.userErrors.length > 0 || !set.product) return { ok: false, userErrors: set.userErrors };
  return {
    ok: true,
    productId: set.product.id,
    variants: set.product.variants.nodes.map((v) => ({ id: v.id, sku: v.sku, item: v.inventoryItem.id })),
    media: set.product.media.nodes.map((m) => m.id),
  };
}

export const PRICE_UPDATE = graphql`
  mutation TillbridgePublishPrices($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
    productVariantsBulkUpdate(productId: $productId, variants: $variants) {
      productVariants {
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
 * Prices, compare-at prices and costs of one product's variants in one call: a price change
 * does not re-send the product. Cost rides on the variant's `inventoryItem.cost` (the same field
 * `inventoryItemUpdate` writes), saving a call per variant.
 */
export async function sendPrices(
  transport: AdminTransport,
  productId: string,
  variants: readonly Record<string, unknown>[],
): Promise<readonly ShopifyUserError[]> {
  const r = await transport.graphql<{
    productVariantsBulkUpdate: { userErrors: ShopifyUserError[] };
  }>(PRICE_UPDATE, { productId, variants }, { estimatedCost: 10 });
  return r.data.productVariantsBulkUpdate.userErrors;
}

export const PUBLICATIONS = graphql`
  query TillbridgePublishPublications {
    publications(first: 50) {
      nodes {
        id
        catalog {
          title
        }
      }
    }
  }
`;

/** The store's sales channels (publications) by title. */
export async function readPublications(transport: AdminTransport): Promise<Map<string, string>> {
  const r = await transport.graphql<{
    publications: { nodes: { id: string; catalog: { title: string } | null }[] };
  }>(PUBLICATIONS, {}, { estimatedCost: 10 });
  return new Map(r.data.publications.nodes.flatMap((p) => (p.catalog ? [[p.catalog.title, p.id]] : [])));
}

export const PUBLISHABLE_PUBLISH = graphql`
  mutation TillbridgePublishToChannels($id: ID!, $input: [PublicationInput!]!) {
    publishablePublish(id: $id, input: $input) {
      userErrors {
        field
        message
      }
    }
  }
`;

/** Publishes the product to the given publications (publishing again is a no-op in Shopify). */
export async function publishToChannels(
  transport: AdminTransport,
  productId: string,
  publicationIds: readonly string[],
): Promise<readonly ShopifyUserError[]> {
  const r = await transport.graphql<{
    publishablePublish: { userErrors: { field: string[] | null; message: string }[] };
  }>(
    PUBLISHABLE_PUBLISH,
    { id: productId, input: publicationIds.map((publicationId) => ({ publicationId })) },
    {
      estimatedCost: 10,
    },
  );
  return r.data.publishablePublish.userErrors.map((e) => ({ ...e, code: null }));
}

export const TAXONOMY_CATEGORIES = graphql`
  query TillbridgeTaxonomyCategories($ids: [ID!]!) {
    nodes(ids: $ids) {
      ... on TaxonomyCategory {
        id
      }
    }
  }
`;

/** Which of these category GIDs Shopify's product taxonomy holds (at most 250 a call). */
export async function knownCategories(
  transport: AdminTransport,
  ids: readonly string[],
): Promise<Set<string>> {
  const known = new Set<string>();
  for (let i = 0; i < ids.length; i += 250) {
    const r = await transport.graphql<{ nodes: ({ id?: string } | null)[] }>(TAXONOMY_CATEGORIES, {
      ids: ids.slice(i, i + 250),
    });
    for (const n of r.data.nodes) if (n?.id) known.add(n.id);
  }
  return known;
}
