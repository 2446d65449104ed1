/**
 * The Shopify side of the catalog: the one bulk query an import runs over the store's products,
 * and the types of the objects its JSONL holds. With `groupObjects: true` each product's line is
 * followed by its own children (collections, media, metafields, variants), each carrying
 * `__parentId` = the product's id, so a product is complete when the next product's line starts.
 * Five connections, two levels deep: within Shopify's limits for one bulk query.
 */
import { graphql } from "../shopify/graphql.ts";

export const CATALOG_BULK_QUERY = graphql`
  {
    products {
      edges {
        node {
          id
          handle
          title
          descriptionHtml
          vendor
          productType
          tags
          status
          updatedAt
          category {
            id
          }
          seo {
            title
            description
          }
          options {
            name
            values
          }
          collections {
            edges {
              node {
                id
                handle
                title
              }
            }
          }
          media {
            edges {
              node {
                ... on MediaImage {
                  id
                  alt
                  image {
                    url
                  }
                }
              }
            }
          }
          metafields {
            edges {
              node {
                id
                namespace
                key
                type
                value
              }
            }
          }
          variants {
            edges {
              node {
                id
                sku
                barcode
                price
                compareAtPrice
                taxable
                position
                selectedOptions {
                  name
                  value
                }
                inventoryItem {
                  id
                  tracked
                  unitCost {
                    amount
                  }
                  measurement {
                    weight {
                      unit
                      value
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
`;

export type ShopifyWeightUnit = "GRAMS" | "KILOGRAMS" | "OUNCES" | "POUNDS";

/** A variant as the bulk query reads it. */
export interface ShopifyCatalogVariant {
  readonly id: string;
  readonly sku: string | null;
  readonly barcode: string | null;
  readonly price: string | null;
  readonly compareAtPrice: string | null;
  readonly taxable: boolean;
  readonly position: number;
  readonly selectedOptions: readonly { name: string; value: string }[];
  readonly inventoryItem: {
    readonly id: string;
    readonly tracked: boolean;
    readonly unitCost: { amount: string } | null;
    readonly measurement: { weight: { unit: ShopifyWeightUnit; value: number } | null } | null;
  };
}

/** A product reassembled from its JSONL lines. */
export interface ShopifyCatalogProduct {
  readonly id: string;
  readonly handle: string;
  readonly title: string;
  readonly descriptionHtml: string;
  readonly vendor: string;
  readonly productType: string;
  readonly tags: readonly string[];
  readonly status: "ACTIVE" | "DRAFT" | "ARCHIVED";
  readonly updatedAt: string;
  readonly category: { id: string } | null;
  readonly seo: { title: string | null; description: string | null };
  readonly options: readonly { name: string; values: readonly string[] }[];
  readonly collections: { id: string; handle: string; title: string }[];
  readonly images: { id: string; url: string; alt: string | null }[];
  readonly metafields: { namespace: string; key: string; type: string; value: string }[];
  readonly variants: ShopifyCatalogVariant[];
}

const kindOf = (id: unknown): string | undefined =>
  typeof id === "string" ? /^gid:\/\/shopify\/([A-Za-z]+)\//.exec(id)?.[1] : undefined;

/**
 * Reassembles products from JSONL rows as they stream (grouped output: children follow their
 * product). Holds one product at a time; `push` returns the product completed by this row, if any.
 */
export class ProductAssembler {
  private current:
    | {
        -readonly [K in keyof ShopifyCatalogProduct]: ShopifyCatalogProduct[K];
      }
    | null = null;

  /** Feeds one row; returns the previous product when this row starts a new one. */
  push(row: Record<string, unknown>): ShopifyCatalogProduct | undefined {
    const parent = row.__parentId;
    if (typeof parent !== "string") {
      const done = this.current ?? undefined;
      this.current = {
        id: String(row.id),
        handle: String(row.handle ?? ""),
        title: String(row.title ?? ""),
        descriptionHtml: String(row.descriptionHtml ?? ""),
        vendor: String(row.vendor ?? ""),
        productType: String(row.productType ?? ""),
        tags: (row.tags as string[] | undefined) ?? [],
        status: (row.status as ShopifyCatalogProduct["status"]) ?? "ACTIVE",
        updatedAt: String(row.updatedAt ?? ""),
        category: (row.category as { id: string } | null | undefined) ?? null,
        seo: (row.seo as ShopifyCatalogProduct["seo"] | undefined) ?? { title: null, description: null },
        options: (row.options as ShopifyCatalogProduct["options"] | undefined) ?? [],
        collections: [],
        images: [],
        metafields: [],
        variants: [],
      };
      return done;
    }
    const p = this.current;
    // A child whose product is not the current one: grouped output never does this.
    if (!p || p.id !== parent) throw new Error(`bulk result line with __parentId ${parent} out of its group`);
    switch (kindOf(row.id)) {
      case "ProductVariant":
        p.variants.push(row as unknown as ShopifyCatalogVariant);
        break;
      case "MediaImage": {
        const image = row.image as { url?: string } | null | undefined;
        if (image?.url)
          p.images.push({ id: String(row.id), url: image.url, alt: (row.alt as string | null) ?? null });
        break;
      }
      case "Metafield":
        p.metafields.push({
          namespace: String(row.namespace),
          key: String(row.key),
          type: String(row.type),
          value: String(row.value),
        });
        break;
      case "Collection":
        p.collections.push({ id: String(row.id), handle: String(row.handle), title: String(row.title) });
        break;
      default:
        break; // media of other kinds (video, 3D) select no fields: nothing to keep
    }
    return undefined;
  }

  /** The last product, at the end of the file. */
  finish(): ShopifyCatalogProduct | undefined {
    const done = this.current ?? undefined;
    this.current = null;
    return done;
  }
}
