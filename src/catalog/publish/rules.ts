/**
 * A store's publish rules (issue 16; seed 001's mapping screen as settings): how the hub's
 * product becomes this store's Shopify product. Validated with zod before saving; the hash of
 * the parsed rules is part of every desired product's hash, so a rule change makes exactly the
 * products it touches due again.
 */
import { createHash } from "node:crypto";
import { z } from "zod";

/** Shopify's title limit, in characters. */
export const SHOPIFY_TITLE_MAX = 255;

/**
 * always: written on every publish; create_only: written when the product (or, for variant
 * fields, the variant) is created in Shopify, then left to the merchant (seed 004: descriptions
 * enriched in Shopify); off: never written.
 */
export const FIELD_MODES = ["always", "create_only", "off"] as const;
export type FieldMode = (typeof FIELD_MODES)[number];

export const PRODUCT_FIELDS = [
  "title",
  "descriptionHtml",
  "vendor",
  "productType",
  "tags",
  "category",
  "seo",
  "images",
  "metafields",
] as const;
export const VARIANT_FIELDS = ["barcode", "weight", "taxable", "price", "compareAtPrice", "cost"] as const;
export type ProductField = (typeof PRODUCT_FIELDS)[number];
export type VariantField = (typeof VARIANT_FIELDS)[number];
export type PublishField = ProductField | VariantField;

const CATEGORY = /^gid:\/\/shopify\/TaxonomyCategory\/[a-z]{2}(-\d+)*$/;

const fieldModes = z
  .object(Object.fromEntries([...PRODUCT_FIELDS, ...VARIANT_FIELDS].map((f) => [f, z.enum(FIELD_MODES)])))
  .partial()
  .strict() as unknown as z.ZodType<Partial<Record<PublishField, FieldMode>>>;

export const publishRulesInput = z
  .object({
    titleTooLong: z
      .enum(["fail", "truncate"])
      .optional()
      .describe(
        "A title over 255 characters: refuse the product, or cut it at 255 (on a word when one is near).",
      ),
    titleTemplate: z
      .string()
      .max(200)
      .refine((t) => t.includes("{title}"), "the template must contain {title}")
      .optional()
      .describe("The Shopify title from the hub's fields: {title}, {vendor}, {productType}, {key}."),
    fields: fieldModes.optional(),
    categoryByProductType: z
      .record(
        z.string().min(1).max(255),
        z
          .string()
          .regex(
            CATEGORY,
            "a category is a Shopify taxonomy GID such as gid://shopify/TaxonomyCategory/aa-1",
          ),
      )
      .refine((r) => Object.keys(r).length <= 1000, "at most 1,000 category rules")
      .optional()
      .describe(
        "The back office's product type → a taxonomy GID; products without a rule keep their own GID.",
      ),
    metafieldNamespace: z
      .string()
      .regex(/^[A-Za-z0-9_-]{3,255}$/, "3 to 255 letters, digits, - or _")
      .refine((n) => n !== "tillbridge", "the tillbridge namespace holds the hub's product key")
      .nullable()
      .optional()
      .describe("Namespace the product's attributes are written under (null: their own)."),
    newProductStatus: z.enum(["draft", "active"]).optional(),
    archivedStatus: z
      .enum(["draft", "archived"])
      .optional()
      .describe("What an archived hub product becomes in Shopify (never deleted)."),
    salesChannels: z
      .array(z.string().min(1).max(255))
      .max(20)
      .refine((a) => new Set(a).size === a.length, "a sales channel is listed twice")
      .optional()
      .describe(
        "Sales channels (publications) to publish products to, by title as the store shows them (Online Store, Point of Sale…); empty: channels are left to the merchant.",
      ),
    ownsProductsEntirely: z
      .boolean()
      .optional()
      .describe(
        "The hub owns the store's products: variants, images and metafields it did not create are deleted.",
      ),
  })
  .strict();

export type PublishRulesInput = z.infer<typeof publishRulesInput>;

export interface PublishRules {
  readonly titleTooLong: "fail" | "truncate";
  readonly titleTemplate: string;
  readonly fields: Readonly<Record<PublishField, FieldMode>>;
  readonly categoryByProductType: Readonly<Record<string, string>>;
  readonly metafieldNamespace: string | null;
  readonly newProductStatus: "draft" | "active";
  readonly archivedStatus: "draft" | "archived";
  readonly ownsProductsEntirely: boolean;
  readonly salesChannels: readonly string[];
}

export function resolveRules(input: PublishRulesInput = {}): PublishRules {
  const fields = Object.fromEntries(
    [...PRODUCT_FIELDS, ...VARIANT_FIELDS].map((f) => [f, input.fields?.[f] ?? "always"]),
  ) as Record<PublishField, FieldMode>;
  return {
    titleTooLong: input.titleTooLong ?? "fail",
    titleTemplate: input.titleTemplate ?? "{title}",
    fields,
    categoryByProductType: input.categoryByProductType ?? {},
    metafieldNamespace: input.metafieldNamespace ?? null,
    newProductStatus: input.newProductStatus ?? "draft",
    archivedStatus: input.archivedStatus ?? "archived",
    ownsProductsEntirely: input.ownsProductsEntirely ?? false,
    salesChannels: [...(input.salesChannels ?? [])].sort(),
  };
}

export const DEFAULT_RULES: PublishRules = resolveRules();

/** Stable across key order: the resolved rules, every default applied. */
export function rulesHash(rules: PublishRules): string {
  const sorted = {
    ...rules,
    categoryByProductType: Object.fromEntries(Object.entries(rules.categoryByProductType).sort()),
  };
  return createHash("sha256").update(JSON.stringify(sorted)).digest("base64url").slice(0, 22);
}
