import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import { pageQuery } from "../core/cursor.ts";
import { AppError } from "../core/errors.ts";
import { route } from "../core/route.ts";
import { MAX_PRODUCTS_PER_BATCH, PRODUCT_STATUSES, productBatchInput, WEIGHT_UNITS } from "./products.ts";
import { archiveProduct, getProduct, listProducts, putProducts } from "./products-store.ts";
import { upsertVariants, variantBatchInput } from "./variants-store.ts";

const productView = z.object({
  key: z.string(),
  title: z.string(),
  descriptionHtml: z.string().nullable(),
  vendor: z.string().nullable(),
  productType: z.string().nullable(),
  tags: z.array(z.string()),
  status: z.enum(PRODUCT_STATUSES),
  category: z.string().nullable(),
  seo: z.object({ title: z.string().nullable(), description: z.string().nullable() }),
  options: z.array(z.object({ name: z.string(), values: z.array(z.string()) })),
  images: z.array(z.object({ url: z.string(), alt: z.string().nullable() })),
  metafields: z.array(
    z.object({ namespace: z.string(), key: z.string(), type: z.string(), value: z.string() }),
  ),
  variants: z.array(
    z.object({
      sku: z.string(),
      barcode: z.string().nullable(),
      options: z.array(z.string()),
      weight: z.object({ value: z.number(), unit: z.enum(WEIGHT_UNITS) }).nullable(),
      taxable: z.boolean(),
      inventoryTracked: z.boolean(),
      price: z.string().nullable(),
      compareAtPrice: z.string().nullable(),
      cost: z.string().nullable(),
    }),
  ),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const productSummary = z.object({
  key: z.string(),
  title: z.string(),
  status: z.enum(PRODUCT_STATUSES),
  vendor: z.string().nullable(),
  productType: z.string().nullable(),
  category: z.string().nullable(),
  variantCount: z.number().int(),
  updatedAt: z.string(),
});

const keyParams = z.object({ key: z.string().min(1).max(255).describe("The product's key (URL-encoded).") });

export function catalogRoutes(ctx: AppContext) {
  return [
    route({
      method: "PUT",
      url: "/api/v1/variants",
      tag: "catalog",
      auth: "stock.write",
      summary: "Create or update variants by SKU (barcode, title, up to three option values).",
      body: variantBatchInput,
      response: z.object({ created: z.number().int(), updated: z.number().int() }),
      handler: ({ body }) => upsertVariants(ctx.database, body.variants, ctx.clock.now()),
    }),
    route({
      method: "PUT",
      url: "/api/v1/products",
      tag: "catalog",
      auth: "stock.write",
      summary: `Create or update up to ${MAX_PRODUCTS_PER_BATCH} products by key, each with its options, variants (by SKU), images and metafields. All or nothing: if any product is invalid nothing is saved and every problem is listed with its index, path and code (TOO_MANY_OPTIONS, OPTION_VALUES_MISMATCH, DUPLICATE_OPTION_VALUES, DUPLICATE_SKU_IN_BATCH, SKU_IN_OTHER_PRODUCT, TOO_MANY_VARIANTS, TITLE_TOO_LONG, INVALID_CATEGORY, INVALID_METAFIELD_VALUE, INVALID_METAFIELD_TYPE, INVALID_IMAGE_URL, INVALID_PRICE, …). A product sent again unchanged changes nothing (unchanged). A product's variants not listed any more leave it but stay as variants known by SKU.`,
      body: productBatchInput,
      bodyValidation: "handler",
      response: z.object({
        created: z.number().int(),
        updated: z.number().int(),
        unchanged: z.number().int(),
      }),
      async handler({ body }) {
        const b = body as unknown;
        const items =
          typeof b === "object" && b !== null ? (b as { products?: unknown }).products : undefined;
        if (!Array.isArray(items))
          throw new AppError("INVALID_REQUEST", "the body must be an object with a `products` array", [
            { path: "products", code: "MISSING_FIELD", message: "products must be an array of products" },
          ]);
        if (items.length === 0 || items.length > MAX_PRODUCTS_PER_BATCH)
          throw new AppError("INVALID_REQUEST", `a batch holds 1 to ${MAX_PRODUCTS_PER_BATCH} products`, [
            { path: "products", code: "BATCH_SIZE", message: `got ${items.length} products` },
          ]);
        return putProducts(ctx.database, items, ctx.clock.now());
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/products",
      tag: "catalog",
      auth: "stock.read",
      summary:
        "Products in a stable order, paged with `cursor=nextCursor`. `q` finds products with a variant whose SKU or barcode is exactly q, or whose title starts with q (case-insensitive).",
      query: z.object({ q: z.string().max(255).optional(), ...pageQuery }),
      response: z.object({ items: z.array(productSummary), nextCursor: z.string().nullable() }),
      handler: ({ query }) => listProducts(ctx.database.db, query),
    }),
    route({
      method: "GET",
      url: "/api/v1/products/:key",
      tag: "catalog",
      auth: "stock.read",
      summary: "One product with its options, variants (prices as decimal strings), images and metafields.",
      params: keyParams,
      response: productView,
      handler: ({ params }) => getProduct(ctx.database.db, params.key),
    }),
    route({
      method: "DELETE",
      url: "/api/v1/products/:key",
      tag: "catalog",
      auth: "stock.write",
      summary:
        "Archives a product (status archived); nothing is deleted. Sending the product again restores it.",
      params: keyParams,
      response: z.object({ key: z.string(), status: z.literal("archived"), changed: z.boolean() }),
      handler: ({ params }) => archiveProduct(ctx.database.db, params.key, ctx.clock.now()),
    }),
  ];
}
