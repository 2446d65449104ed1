/**
 * Properties of the productSet input (pure): whatever Shopify holds, the lists sent are complete
 * (productSet deletes what they leave out), so the merchant's variants, media and foreign
 * metafields are always in them, every hub SKU is there once, no Shopify variant is named twice,
 * every option value used is declared, and the product is named by its id or the hub's key.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ProductView } from "../products-store.ts";
import { CUSTOM_ID, type CurrentProduct, desiredProduct, type Owned, productSetPlan } from "./desired.ts";
import { resolveRules } from "./rules.ts";

const SIZES = ["XS", "S", "M", "L", "XL", "XXL"];

const world = fc
  .record({
    hubSizes: fc.subarray(SIZES, { minLength: 1 }),
    merchantSizes: fc.array(fc.constantFrom("3XL", "4XL", "S", "Kids"), { maxLength: 3 }),
    merchantOtherOption: fc.boolean(),
    inShopify: fc.boolean(),
    ownedShare: fc.integer({ min: 0, max: 3 }),
    foreign: fc.array(fc.constantFrom("reviews.rating", "custom.care", "specs.fabric"), { maxLength: 3 }),
    owns: fc.boolean(),
    mediaForeign: fc.integer({ min: 0, max: 2 }),
  })
  .map((w) => ({ ...w, merchantSizes: [...new Set(w.merchantSizes)] }));

type World = typeof world extends fc.Arbitrary<infer T> ? T : never;

function build(w: World) {
  const hub: ProductView = {
    key: "p",
    title: "P",
    descriptionHtml: null,
    vendor: null,
    productType: null,
    tags: [],
    status: "active",
    category: null,
    seo: { title: null, description: null },
    options: [{ name: "Size", values: w.hubSizes }],
    images: [],
    metafields: [{ namespace: "specs", key: "fabric", type: "single_line_text_field", value: "cotton" }],
    variants: w.hubSizes.map((s: string) => ({
      sku: `P-${s}`,
      barcode: null,
      options: [s],
      weight: null,
      taxable: true,
      inventoryTracked: true,
      price: "1.00",
      compareAtPrice: null,
      cost: null,
    })),
    createdAt: "",
    updatedAt: "",
  };
  let n = 0;
  const hubInShopify = w.hubSizes.slice(0, Math.max(0, w.hubSizes.length - 1));
  const variants = w.inShopify
    ? [
        ...hubInShopify.map((s: string) => ({ sku: `P-${s}`, opts: [{ name: "Size", value: s }] })),
        ...w.merchantSizes.map((s: string, i: number) => ({
          sku: `M-${i}`,
          opts: [{ name: w.merchantOtherOption && i === 0 ? "Colour" : "Size", value: s }],
        })),
      ].map((v) => ({
        id: `gid://shopify/ProductVariant/${++n}`,
        sku: v.sku,
        barcode: null,
        price: "1.00",
        compareAtPrice: null,
        taxable: true,
        selectedOptions: v.opts,
        inventoryItemId: `gid://shopify/InventoryItem/${n}`,
        cost: null,
      }))
    : [];
  const current: CurrentProduct | null = w.inShopify
    ? {
        id: "gid://shopify/Product/1",
        title: "P",
        descriptionHtml: "",
        vendor: "",
        productType: "",
        tags: [],
        status: "ACTIVE",
        category: null,
        seo: { title: null, description: null },
        variants,
        media: Array.from({ length: w.mediaForeign }, (_, i) => ({
          id: `gid://shopify/MediaImage/${i}`,
          url: null,
          alt: null,
        })),
        metafields: [
          { ...CUSTOM_ID, type: "single_line_text_field", value: "p" },
          ...w.foreign.map((k: string) => {
            const [namespace, key] = k.split(".");
            return { namespace: namespace!, key: key!, type: "single_line_text_field", value: `v-${k}` };
          }),
        ],
      }
    : null;
  const owned: Owned = {
    variants: Object.fromEntries(
      variants
        .filter((v) => v.sku.startsWith("P-"))
        .slice(0, w.ownedShare)
        .map((v) => [v.sku, { id: v.id, item: v.inventoryItemId }]),
    ),
    media: [],
    metafields: [],
  };
  return { hub, current, owned };
}

describe("productSet input", () => {
  it("keeps what the hub did not create, names each hub SKU once and declares every option value", () => {
    fc.assert(
      fc.property(world, (w) => {
        const { hub, current, owned } = build(w);
        const rules = resolveRules({ ownsProductsEntirely: w.owns });
        const d = desiredProduct(hub, rules);
        if (!d.ok) throw new Error("unexpected refusal");
        const plan = productSetPlan(d.product, current, owned, rules);
        const merchant = (current?.variants ?? []).filter((v) => v.sku?.startsWith("M-"));
        if (!plan.ok) {
          // Only a merchant's variant with other options can refuse, and only when it must be kept.
          expect(plan.refusal.code).toBe("MERCHANT_VARIANT_OPTIONS");
          expect(w.owns).toBe(false);
          expect(merchant.some((v) => v.selectedOptions[0]!.name !== "Size")).toBe(true);
          return;
        }
        const sent = plan.input.variants as {
          id?: string;
          inventoryItem?: { sku: string };
          optionValues: { optionName: string; name: string }[];
        }[];
        const ids = sent.flatMap((v) => (v.id ? [v.id] : []));
        expect(new Set(ids).size).toBe(ids.length);
        const skus = sent.flatMap((v) => (v.inventoryItem ? [v.inventoryItem.sku] : []));
        expect(skus.sort()).toEqual(hub.variants.map((v) => v.sku).sort());
        for (const m of merchant) expect(ids.includes(m.id)).toBe(!w.owns);
        const declared = new Map(
          (plan.input.productOptions as { name: string; values: { name: string }[] }[]).map((o) => [
            o.name,
            new Set(o.values.map((v) => v.name)),
          ]),
        );
        for (const v of sent)
          for (const o of v.optionValues) expect(declared.get(o.optionName)?.has(o.name)).toBe(true);
        const metafields = plan.input.metafields as { namespace: string; key: string; value: string }[];
        expect(metafields.filter((m) => m.namespace === CUSTOM_ID.namespace)).toEqual([
          { ...CUSTOM_ID, type: "single_line_text_field", value: "p" },
        ]);
        for (const f of current?.metafields ?? []) {
          if (f.namespace === CUSTOM_ID.namespace || `${f.namespace}.${f.key}` === "specs.fabric") continue;
          expect(
            metafields.some((m) => m.namespace === f.namespace && m.key === f.key && m.value === f.value),
          ).toBe(!w.owns);
        }
        if (plan.input.files)
          for (const m of current?.media ?? [])
            expect((plan.input.files as { id?: string }[]).some((f) => f.id === m.id)).toBe(!w.owns);
        expect(plan.identifier).toEqual(
          current ? { id: current.id } : { customId: { ...CUSTOM_ID, value: "p" } },
        );
      }),
      { numRuns: 300 },
    );
  });
});
