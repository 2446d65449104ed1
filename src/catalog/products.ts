/**
 * The hub's product model (issue 15) and the validation of a back-office batch of products, as a
 * pure function of the batch and what the hub already knows (which product holds each SKU).
 * Every bad item is reported in one answer with its index, path and a code of its own, so a back
 * office can fix a batch in one round trip; the store applies nothing unless every item is good.
 *
 * Glossary:
 * - key: the back office's own code for a product (handle-like, NFC-normalised), its identity.
 * - options: at most 3 (name + values in order); each variant picks one value of each.
 * - money: decimal strings on the wire ("19.90"), integer minor units (cents) in the database.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { ErrorDetail } from "../core/errors.ts";
import { controlCharacterProblem, key, line, normalizeKey, text, trimmedKey } from "../core/input.ts";
import type { ProductStatus, WeightUnit } from "../db/tables.ts";

export const MAX_PRODUCTS_PER_BATCH = 100;
export const MAX_OPTIONS = 3;
export const MAX_VARIANTS_PER_PRODUCT = 2048;
export const MAX_TITLE = 255;
export const PRODUCT_STATUSES = ["active", "draft", "archived"] as const;
export const WEIGHT_UNITS = ["GRAMS", "KILOGRAMS", "OUNCES", "POUNDS"] as const;

/** Prices: non-negative decimals with at most 2 places (the shop currency's minor unit). */
const MONEY = /^\d{1,11}(\.\d{1,2})?$/;
const CATEGORY = /^gid:\/\/shopify\/TaxonomyCategory\/[a-z]{2}(-\d+)*$/;

const money = () =>
  z
    .string()
    .regex(MONEY, 'a price is a non-negative decimal string with at most 2 decimal places, e.g. "19.90"');

const httpUrl = z
  .string()
  .max(2048)
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
    } catch {
      return false;
    }
  }, "an image URL must be an absolute http(s) URL");

export const variantOfProductInput = z
  .object({
    sku: trimmedKey(255).describe("The variant's SKU: its identity in the hub, unique across products."),
    barcode: trimmedKey(255).nullable().optional(),
    options: z
      .array(line(255))
      .max(MAX_OPTIONS)
      .optional()
      .describe("One value of each of the product's options, in the options' order."),
    weight: z
      .object({ value: z.number().min(0).max(1_000_000), unit: z.enum(WEIGHT_UNITS) })
      .strict()
      .nullable()
      .optional(),
    taxable: z.boolean().optional().describe("Default true."),
    inventoryTracked: z.boolean().optional().describe("Default true."),
    price: money().nullable().optional(),
    compareAtPrice: money().nullable().optional(),
    cost: money().nullable().optional(),
  })
  .strict();

export const productInput = z
  .object({
    key: key(255).describe("The back office's own code for the product (handle-like): its identity."),
    title: line(MAX_TITLE).min(1),
    descriptionHtml: text(512_000).nullable().optional(),
    vendor: line(255).nullable().optional(),
    productType: line(255).nullable().optional(),
    tags: z
      .array(
        line(255)
          .min(1)
          .regex(/^[^,]*$/, "a tag cannot contain a comma"),
      )
      .max(250)
      .optional(),
    status: z.enum(PRODUCT_STATUSES).optional().describe("Default active."),
    category: z
      .string()
      .max(255)
      .regex(CATEGORY, "a category is a Shopify taxonomy GID such as gid://shopify/TaxonomyCategory/aa-1")
      .nullable()
      .optional(),
    seo: z
      .object({ title: line(255).nullable().optional(), description: text(320).nullable().optional() })
      .strict()
      .optional(),
    options: z
      .array(
        z
          .object({
            name: line(255).min(1),
            values: z.array(line(255).min(1)).min(1).max(MAX_VARIANTS_PER_PRODUCT),
          })
          .strict(),
      )
      .max(MAX_OPTIONS, `a product has at most ${MAX_OPTIONS} options`)
      .optional(),
    images: z
      .array(z.object({ url: httpUrl, alt: line(512).nullable().optional() }).strict())
      .max(250)
      .optional(),
    metafields: z
      .array(
        z
          .object({
            namespace: z.string().regex(/^[A-Za-z0-9_-]{2,255}$/, "2 to 255 letters, digits, - or _"),
            key: z.string().regex(/^[A-Za-z0-9_-]{2,64}$/, "2 to 64 letters, digits, - or _"),
            type: z.string().max(100),
            value: text(65_535),
          })
          .strict(),
      )
      .max(250)
      .optional(),
    variants: z
      .array(variantOfProductInput)
      .min(1)
      .max(MAX_VARIANTS_PER_PRODUCT, `a product has at most ${MAX_VARIANTS_PER_PRODUCT} variants`),
  })
  .strict();

export type ProductInput = z.infer<typeof productInput>;

export const productBatchInput = z.object({
  products: z.array(productInput).min(1).max(MAX_PRODUCTS_PER_BATCH),
});

/** A product as the hub stores it: every default applied, money in minor units. */
export interface NormalizedProduct {
  readonly key: string;
  readonly title: string;
  readonly descriptionHtml: string | null;
  readonly vendor: string | null;
  readonly productType: string | null;
  readonly tags: readonly string[];
  readonly status: ProductStatus;
  readonly category: string | null;
  readonly seoTitle: string | null;
  readonly seoDescription: string | null;
  readonly options: readonly { readonly name: string; readonly values: readonly string[] }[];
  readonly images: readonly { readonly url: string; readonly alt: string | null }[];
  readonly metafields: readonly {
    readonly namespace: string;
    readonly key: string;
    readonly type: string;
    readonly value: string;
  }[];
  readonly variants: readonly NormalizedVariant[];
}

export interface NormalizedVariant {
  readonly sku: string;
  readonly barcode: string | null;
  readonly options: readonly string[];
  readonly weightValue: number | null;
  readonly weightUnit: WeightUnit | null;
  readonly taxable: boolean;
  readonly inventoryTracked: boolean;
  readonly priceMinor: number | null;
  readonly compareAtPriceMinor: number | null;
  readonly costMinor: number | null;
}

export const toMinor = (v: string | null | undefined): number | null => {
  if (v === null || v === undefined) return null;
  const [whole, frac = ""] = v.split(".");
  return Number(whole) * 100 + Number(frac.padEnd(2, "0"));
};

export const fromMinor = (v: number | null): string | null => {
  if (v === null) return null;
  const n = Number(v);
  return `${Math.trunc(n / 100)}.${String(n % 100).padStart(2, "0")}`;
};

export function normalizeProduct(p: ProductInput): NormalizedProduct {
  return {
    key: p.key,
    title: p.title,
    descriptionHtml: p.descriptionHtml ?? null,
    vendor: p.vendor ?? null,
    productType: p.productType ?? null,
    tags: p.tags ?? [],
    status: p.status ?? "active",
    category: p.category ?? null,
    seoTitle: p.seo?.title ?? null,
    seoDescription: p.seo?.description ?? null,
    options: (p.options ?? []).map((o) => ({ name: o.name, values: o.values })),
    images: (p.images ?? []).map((i) => ({ url: i.url, alt: i.alt ?? null })),
    metafields: (p.metafields ?? []).map((m) => ({
      namespace: m.namespace,
      key: m.key,
      type: m.type,
      value: m.value,
    })),
    variants: p.variants.map((v) => ({
      sku: v.sku,
      barcode: v.barcode ?? null,
      options: v.options ?? [],
      weightValue: v.weight?.value ?? null,
      weightUnit: v.weight?.unit ?? null,
      taxable: v.taxable ?? true,
      inventoryTracked: v.inventoryTracked ?? true,
      priceMinor: toMinor(v.price),
      compareAtPriceMinor: toMinor(v.compareAtPrice),
      costMinor: toMinor(v.cost),
    })),
  };
}

/** The same product sent twice hashes the same (defaults applied, "19.9" and "19.90" alike). */
export function productHash(p: NormalizedProduct): string {
  return createHash("sha256").update(JSON.stringify(p)).digest("base64url");
}

// ---------------------------------------------------------------------------------------------
// Metafield values: Shopify's common types, the value always a string as Shopify sends it.

const GID = /^gid:\/\/shopify\/[A-Za-z]+\/\d+$/;
const REFERENCE_TYPES: Record<string, string> = {
  product_reference: "Product",
  variant_reference: "ProductVariant",
  collection_reference: "Collection",
  file_reference: "",
  page_reference: "Page",
  metaobject_reference: "Metaobject",
  customer_reference: "Customer",
  company_reference: "Company",
};

const isDate = (v: string) => {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return (
    d.getUTCFullYear() === Number(m[1]) &&
    d.getUTCMonth() === Number(m[2]) - 1 &&
    d.getUTCDate() === Number(m[3])
  );
};

const parseJson = (v: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: JSON.parse(v) };
  } catch {
    return { ok: false };
  }
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A problem with a scalar value of `type`, or undefined when it fits; "unknown type" when unsupported. */
function scalarProblem(type: string, v: string): string | undefined | "unknown type" {
  switch (type) {
    case "single_line_text_field":
      return /[\r\n]/.test(v) ? "a single_line_text_field cannot contain a line break" : undefined;
    case "multi_line_text_field":
      return undefined;
    case "number_integer":
      return /^-?\d{1,16}$/.test(v) && Number.isSafeInteger(Number(v))
        ? undefined
        : "a number_integer is a whole number such as 42";
    case "number_decimal":
      return /^-?\d{1,21}(\.\d{1,9})?$/.test(v) ? undefined : "a number_decimal is a decimal such as 4.25";
    case "boolean":
      return v === "true" || v === "false" ? undefined : 'a boolean is "true" or "false"';
    case "url":
      try {
        const u = new URL(v);
        return ["http:", "https:", "mailto:", "sms:", "tel:"].includes(u.protocol)
          ? undefined
          : "a url uses http, https, mailto, sms or tel";
      } catch {
        return "a url is an absolute URL such as https://example.com";
      }
    case "date":
      return isDate(v) ? undefined : "a date is YYYY-MM-DD";
    case "date_time":
      return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/.test(v) &&
        isDate(v.slice(0, 10)) &&
        !Number.isNaN(Date.parse(v))
        ? undefined
        : "a date_time is ISO 8601, e.g. 2026-11-28T09:30:00Z";
    case "color":
      return /^#[0-9A-Fa-f]{6}$/.test(v) ? undefined : "a color is #RRGGBB";
    case "json":
      return parseJson(v).ok ? undefined : "a json value must be valid JSON";
    case "weight":
    case "volume":
    case "dimension": {
      const j = parseJson(v);
      return j.ok &&
        isObject(j.value) &&
        typeof j.value.value === "number" &&
        typeof j.value.unit === "string"
        ? undefined
        : `a ${type} is JSON such as {"value": 2.5, "unit": "${type === "weight" ? "kg" : type === "volume" ? "ml" : "cm"}"}`;
    }
    case "money": {
      const j = parseJson(v);
      return j.ok &&
        isObject(j.value) &&
        typeof j.value.amount === "string" &&
        /^-?\d+(\.\d+)?$/.test(j.value.amount) &&
        typeof j.value.currency_code === "string" &&
        /^[A-Z]{3}$/.test(j.value.currency_code)
        ? undefined
        : 'a money value is JSON such as {"amount": "5.99", "currency_code": "EUR"}';
    }
    case "rating": {
      const j = parseJson(v);
      return j.ok &&
        isObject(j.value) &&
        ["value", "scale_min", "scale_max"].every((k) =>
          /^-?\d+(\.\d+)?$/.test(String((j.value as Record<string, unknown>)[k])),
        )
        ? undefined
        : 'a rating is JSON such as {"value": "3.5", "scale_min": "1.0", "scale_max": "5.0"}';
    }
  }
  if (type in REFERENCE_TYPES) {
    const kind = REFERENCE_TYPES[type];
    return GID.test(v) && (kind === "" || v.startsWith(`gid://shopify/${kind}/`))
      ? undefined
      : `a ${type} is a Shopify GID such as gid://shopify/${kind || "MediaImage"}/1`;
  }
  return "unknown type";
}

export const METAFIELD_TYPES = [
  "single_line_text_field",
  "multi_line_text_field",
  "number_integer",
  "number_decimal",
  "boolean",
  "url",
  "date",
  "date_time",
  "color",
  "json",
  "weight",
  "volume",
  "dimension",
  "money",
  "rating",
  ...Object.keys(REFERENCE_TYPES),
];

/** Why `value` does not fit metafield `type` (`list.X` is a JSON array of X), or undefined. */
export function metafieldProblem(type: string, value: string): { code: string; message: string } | undefined {
  const list = type.startsWith("list.") ? type.slice(5) : undefined;
  const base = list ?? type;
  if (scalarProblem(base, "") === "unknown type")
    return {
      code: "INVALID_METAFIELD_TYPE",
      message: `unsupported metafield type ${JSON.stringify(type.slice(0, 100))}; use one of ${METAFIELD_TYPES.join(", ")} or list.<type>`,
    };
  if (list === undefined) {
    const p = scalarProblem(type, value);
    return p === undefined
      ? undefined
      : { code: "INVALID_METAFIELD_VALUE", message: `value does not fit ${type}: ${p}` };
  }
  const j = parseJson(value);
  if (!j.ok || !Array.isArray(j.value))
    return { code: "INVALID_METAFIELD_VALUE", message: `a ${type} value is a JSON array` };
  for (const [i, item] of j.value.entries()) {
    const asString = typeof item === "string" ? item : JSON.stringify(item);
    const p = scalarProblem(base, asString);
    if (p !== undefined)
      return { code: "INVALID_METAFIELD_VALUE", message: `item ${i} does not fit ${base}: ${p}` };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------

export interface ProductLookup {
  /** The key of the product holding each SKU already (null: a variant known only by SKU). */
  readonly productKeyBySku: ReadonlyMap<string, string | null>;
}

export type ProductBatchPlan =
  | { readonly ok: true; readonly products: readonly NormalizedProduct[] }
  | { readonly ok: false; readonly errors: readonly ErrorDetail[] };

function issueCode(path: readonly PropertyKey[], issue: z.core.$ZodIssue, input: unknown): string {
  const [first, , third] = path;
  if (issue.code === "custom" && issue.message.includes("control characters")) return "CONTROL_CHARACTER";
  if (issue.code === "custom" && issue.message.includes("surrogate")) return "CONTROL_CHARACTER";
  if (issue.code === "unrecognized_keys") return "UNKNOWN_FIELD";
  if (issue.code === "invalid_type" && input === undefined) return "MISSING_FIELD";
  if (first === "title" && issue.code === "too_big") return "TITLE_TOO_LONG";
  if (first === "options" && path.length === 1 && issue.code === "too_big") return "TOO_MANY_OPTIONS";
  if (first === "variants" && path.length === 1 && issue.code === "too_big") return "TOO_MANY_VARIANTS";
  if (first === "variants" && third === "options" && path.length === 3 && issue.code === "too_big")
    return "OPTION_VALUES_MISMATCH";
  if (first === "category") return "INVALID_CATEGORY";
  if (first === "images" && third === "url") return "INVALID_IMAGE_URL";
  if (first === "variants" && (third === "price" || third === "compareAtPrice" || third === "cost"))
    return "INVALID_PRICE";
  return "INVALID_FIELD";
}

const valueAt = (raw: unknown, path: readonly PropertyKey[]): unknown => {
  let v = raw;
  for (const p of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
};

const pathText = (index: number, path: readonly PropertyKey[]) =>
  `products[${index}]${path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}`;

/** Keys and SKUs a raw batch mentions, read shallowly so the store can look them up first. */
export function referencedSkus(items: readonly unknown[]): string[] {
  const skus = new Set<string>();
  for (const item of items) {
    const variants = valueAt(item, ["variants"]);
    if (!Array.isArray(variants)) continue;
    for (const v of variants.slice(0, MAX_VARIANTS_PER_PRODUCT)) {
      const sku = valueAt(v, ["sku"]);
      if (typeof sku === "string" && sku.length <= 300 && controlCharacterProblem(sku, false) === undefined)
        skus.add(normalizeKey(sku.trim()));
    }
  }
  return [...skus];
}

export function planProductBatch(items: readonly unknown[], lookup: ProductLookup): ProductBatchPlan {
  const errors: ErrorDetail[] = [];
  const products: NormalizedProduct[] = [];
  const keyIndex = new Map<string, number>();
  const skuOwner = new Map<string, { index: number; variant: number }>();

  items.forEach((raw, index) => {
    const rawKey = valueAt(raw, ["key"]);
    const id = typeof rawKey === "string" && rawKey !== "" ? rawKey.slice(0, 255) : undefined;
    const at = (path: readonly PropertyKey[], code: string, message: string): ErrorDetail => ({
      index,
      ...(id === undefined ? {} : { id }),
      path: pathText(index, path),
      code,
      message,
    });
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      errors.push(at([], "NOT_AN_OBJECT", "each product must be a JSON object"));
      return;
    }
    const parsed = productInput.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const input = valueAt(raw, issue.path);
        const code = issueCode(issue.path, issue, input);
        const field = pathText(index, issue.path);
        errors.push(
          at(
            issue.path,
            code,
            code === "MISSING_FIELD" ? `${field} is required` : `${field}: ${issue.message}`,
          ),
        );
      }
      // Metafield values are checked even when another field is wrong: one round trip fixes both.
      const reported = new Set(errors.map((e) => e.path));
      const metafields = valueAt(raw, ["metafields"]);
      if (Array.isArray(metafields))
        metafields.slice(0, 250).forEach((m, i) => {
          const type = valueAt(m, ["type"]);
          const value = valueAt(m, ["value"]);
          if (typeof type !== "string" || typeof value !== "string" || type.length > 100) return;
          const problem = metafieldProblem(type, value);
          const path = ["metafields", i, problem?.code === "INVALID_METAFIELD_TYPE" ? "type" : "value"];
          if (problem && !reported.has(pathText(index, path)))
            errors.push(at(path, problem.code, problem.message));
        });
      return;
    }
    const p = normalizeProduct(parsed.data);
    const problems: ErrorDetail[] = [];
    const earlier = keyIndex.get(p.key);
    if (earlier !== undefined)
      problems.push(
        at(
          ["key"],
          "DUPLICATE_PRODUCT_KEY",
          `product ${p.key} appears twice (items ${earlier} and ${index})`,
        ),
      );
    else keyIndex.set(p.key, index);

    const optionNames = new Set<string>();
    p.options.forEach((o, i) => {
      const name = o.name.toLowerCase();
      if (optionNames.has(name))
        problems.push(
          at(["options", i, "name"], "DUPLICATE_OPTION_NAME", `option ${o.name} is listed twice`),
        );
      optionNames.add(name);
      const seen = new Set<string>();
      o.values.forEach((v, j) => {
        if (seen.has(v))
          problems.push(
            at(["options", i, "values", j], "DUPLICATE_OPTION_VALUE", `option ${o.name} lists ${v} twice`),
          );
        seen.add(v);
      });
    });

    const combos = new Map<string, number>();
    p.variants.forEach((v, j) => {
      if (v.options.length !== p.options.length) {
        problems.push(
          at(
            ["variants", j, "options"],
            "OPTION_VALUES_MISMATCH",
            `the product has ${p.options.length} option${p.options.length === 1 ? "" : "s"}; variant ${v.sku} gives ${v.options.length} value${v.options.length === 1 ? "" : "s"}`,
          ),
        );
      } else {
        v.options.forEach((value, k) => {
          const option = p.options[k]!;
          if (!option.values.includes(value))
            problems.push(
              at(
                ["variants", j, "options", k],
                "OPTION_VALUES_MISMATCH",
                `${JSON.stringify(value)} is not a value of option ${option.name} (${option.values.slice(0, 10).join(", ")}${option.values.length > 10 ? ", …" : ""})`,
              ),
            );
        });
        const combo = JSON.stringify(v.options);
        const first = combos.get(combo);
        if (first !== undefined)
          problems.push(
            at(
              ["variants", j, "options"],
              "DUPLICATE_OPTION_VALUES",
              `variants ${first} and ${j} have the same option values${v.options.length ? ` (${v.options.join(" / ")})` : " (a product without options has one variant)"}`,
            ),
          );
        else combos.set(combo, j);
      }

      const owner = skuOwner.get(v.sku);
      if (owner !== undefined)
        problems.push(
          at(
            ["variants", j, "sku"],
            "DUPLICATE_SKU_IN_BATCH",
            `SKU ${v.sku} is also products[${owner.index}].variants[${owner.variant}]`,
          ),
        );
      else {
        skuOwner.set(v.sku, { index, variant: j });
        const holder = lookup.productKeyBySku.get(v.sku);
        if (holder !== undefined && holder !== null && holder !== p.key)
          problems.push(
            at(
              ["variants", j, "sku"],
              "SKU_IN_OTHER_PRODUCT",
              `SKU ${v.sku} belongs to product ${holder}; remove it there first`,
            ),
          );
      }
    });

    const metafieldKeys = new Set<string>();
    p.metafields.forEach((m, i) => {
      const k = `${m.namespace}.${m.key}`;
      if (metafieldKeys.has(k))
        problems.push(at(["metafields", i, "key"], "DUPLICATE_METAFIELD", `metafield ${k} is listed twice`));
      metafieldKeys.add(k);
      const problem = metafieldProblem(m.type, m.value);
      if (problem)
        problems.push(
          at(
            ["metafields", i, problem.code === "INVALID_METAFIELD_TYPE" ? "type" : "value"],
            problem.code,
            problem.message,
          ),
        );
    });

    if (problems.length > 0) errors.push(...problems);
    else products.push(p);
  });

  return errors.length > 0 ? { ok: false, errors } : { ok: true, products };
}
