/**
 * Property: a well-formed product batch is accepted, and one fault of each kind put into one
 * product is reported with its own code on that product only (the pure validation of issue 15).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeProduct, planProductBatch, productHash, productInput } from "../src/catalog/products.ts";
import { controlCharacterProblem } from "../src/core/input.ts";

type Product = {
  key: string;
  title: string;
  category?: string;
  options: { name: string; values: string[] }[];
  variants: { sku: string; options: string[]; price?: string }[];
  metafields?: { namespace: string; key: string; type: string; value: string }[];
  images?: { url: string }[];
};

const value = fc.stringMatching(/^[A-Za-z0-9]{1,6}$/);
const productArb = (index: number): fc.Arbitrary<Product> =>
  fc
    .array(fc.uniqueArray(value, { minLength: 1, maxLength: 4 }), { minLength: 0, maxLength: 3 })
    .chain((optionValues) => {
      const combos = optionValues.reduce<string[][]>(
        (acc, values) => acc.flatMap((c) => values.map((v) => [...c, v])),
        [[]],
      );
      return fc
        .subarray(combos, { minLength: 1 })
        .chain((chosen) =>
          fc.tuple(
            fc.constant(chosen),
            fc.array(fc.option(fc.stringMatching(/^\d{1,5}(\.\d{1,2})?$/), { nil: undefined }), {
              minLength: chosen.length,
              maxLength: chosen.length,
            }),
            fc
              .string({ minLength: 1, maxLength: 40 })
              .filter((t) => controlCharacterProblem(t, false) === undefined),
          ),
        )
        .map(([chosen, prices, title]) => ({
          key: `P${index}`,
          title,
          options: optionValues.map((values, i) => ({ name: `Opt${i}`, values })),
          variants: chosen.map((options, j) => ({
            sku: `P${index}-V${j}`,
            options,
            ...(prices[j] === undefined ? {} : { price: prices[j] }),
          })),
        }));
    });

const FAULTS = {
  TOO_MANY_OPTIONS: (p: Product) => {
    p.options = [1, 2, 3, 4].map((i) => ({ name: `F${i}`, values: ["x"] }));
  },
  OPTION_VALUES_MISMATCH: (p: Product) => {
    p.variants[0]!.options = [...p.variants[0]!.options, "extra"];
  },
  DUPLICATE_OPTION_VALUES: (p: Product) => {
    p.variants.push({ sku: `${p.key}-dup`, options: [...p.variants[0]!.options] });
  },
  DUPLICATE_SKU_IN_BATCH: (p: Product) => {
    p.variants[0]!.sku = "P0-V0";
  },
  TITLE_TOO_LONG: (p: Product) => {
    p.title = "t".repeat(256);
  },
  INVALID_CATEGORY: (p: Product) => {
    p.category = "gid://shopify/TaxonomyCategory/";
  },
  INVALID_PRICE: (p: Product) => {
    p.variants[0]!.price = "1.234";
  },
  INVALID_METAFIELD_VALUE: (p: Product) => {
    p.metafields = [{ namespace: "custom", key: "count", type: "number_integer", value: "one" }];
  },
  INVALID_IMAGE_URL: (p: Product) => {
    p.images = [{ url: "file:///etc/passwd" }];
  },
} as const;

describe("product batch validation (property)", () => {
  it("accepts well-formed batches; hashing is stable through JSON", () => {
    fc.assert(
      fc.property(fc.tuple(productArb(0), productArb(1), productArb(2)), (products) => {
        const plan = planProductBatch(products, { productKeyBySku: new Map() });
        expect(plan.ok, JSON.stringify(plan)).toBe(true);
        for (const p of products) {
          const a = productHash(normalizeProduct(productInput.parse(p)));
          const b = productHash(normalizeProduct(productInput.parse(JSON.parse(JSON.stringify(p)))));
          expect(a).toBe(b);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("reports one injected fault with its own code, on that product only", () => {
    fc.assert(
      fc.property(
        fc.tuple(productArb(0), productArb(1), productArb(2)),
        fc.constantFrom(...(Object.keys(FAULTS) as (keyof typeof FAULTS)[])),
        (generated, fault) => {
          const products = structuredClone(generated);
          // The duplicate SKU is taken from product 0: put the fault in product 2.
          FAULTS[fault](products[2]);
          const plan = planProductBatch(products, { productKeyBySku: new Map() });
          expect(plan.ok).toBe(false);
          if (plan.ok) return;
          expect(plan.errors.map((e) => e.code)).toContain(fault);
          expect(plan.errors.every((e) => e.index === 2 && e.path?.startsWith("products[2]"))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a SKU another product holds, and accepts it from a SKU-only variant or the same product", () => {
    const p = { key: "K", title: "T", variants: [{ sku: "S1" }] };
    const held = (holder: string | null) =>
      planProductBatch([p], { productKeyBySku: new Map([["S1", holder]]) });
    expect(held("OTHER")).toMatchObject({
      ok: false,
      errors: [{ code: "SKU_IN_OTHER_PRODUCT", path: "products[0].variants[0].sku" }],
    });
    expect(held(null).ok).toBe(true);
    expect(held("K").ok).toBe(true);
  });
});
