import { describe, expect, it } from "vitest";
import { type HubVariant, matchVariants, type ShopifyVariant } from "./matching.ts";

const hub = (id: number, sku: string, barcode: string | null = null): HubVariant => ({ id, sku, barcode });
const shop = (n: number, sku: string | null, barcode: string | null = null): ShopifyVariant => ({
  id: `gid://shopify/ProductVariant/${n}`,
  sku,
  barcode,
  inventoryItemId: `gid://shopify/InventoryItem/${n}`,
});

describe("matchVariants", () => {
  it("links by SKU first, then by barcode for the rest", () => {
    const r = matchVariants(
      [hub(1, "A", "111"), hub(2, "B", "222")],
      [shop(10, "A", "222"), shop(11, "B-OLD", "222")],
      [],
    );
    // A takes the SKU match even though its barcode is elsewhere; B falls back to barcode 222 on 11.
    expect(r.links).toEqual([
      {
        variantId: 1,
        productVariantGid: shop(10, "").id,
        inventoryItemGid: shop(10, "").inventoryItemId,
        matchedBy: "sku",
      },
      {
        variantId: 2,
        productVariantGid: shop(11, "").id,
        inventoryItemGid: shop(11, "").inventoryItemId,
        matchedBy: "barcode",
      },
    ]);
    expect(r.problems).toEqual([]);
  });

  it("never guesses: duplicate SKU or barcode in Shopify, or a barcode shared in the hub, links nothing", () => {
    const r = matchVariants(
      [hub(1, "DUP", "900"), hub(2, "X", "333"), hub(3, "Y", "444"), hub(4, "Z", "444")],
      [
        shop(10, "DUP"),
        shop(11, "DUP", "900"),
        shop(12, "q", "333"),
        shop(13, "r", "333"),
        shop(14, "s", "444"),
      ],
      [],
    );
    expect(r.links).toEqual([]);
    const kinds = r.problems.map((p) => `${p.kind}:${p.sku ?? p.barcode}`).sort();
    expect(kinds).toEqual([
      "duplicate_barcode_in_shopify:333",
      "duplicate_sku_in_shopify:DUP",
      "not_in_hub:s",
      "not_in_shopify:Y",
      "not_in_shopify:Z",
    ]);
  });

  it("reports a linked variant deleted in Shopify, or relinks it when a new match exists", () => {
    const existing = [
      { variantId: 1, productVariantGid: shop(10, "").id, inventoryItemGid: shop(10, "").inventoryItemId },
      { variantId: 2, productVariantGid: shop(20, "").id, inventoryItemGid: shop(20, "").inventoryItemId },
    ];
    const r = matchVariants([hub(1, "A"), hub(2, "B")], [shop(21, "B")], existing);
    expect(r.links.map((l) => [l.variantId, l.productVariantGid])).toEqual([[2, shop(21, "").id]]);
    expect(r.problems).toEqual([
      expect.objectContaining({ kind: "deleted_in_shopify", sku: "A", productVariantGid: shop(10, "").id }),
    ]);
  });

  it("ignores blank SKUs and barcodes on the Shopify side", () => {
    const r = matchVariants([hub(1, "A")], [shop(10, "  "), shop(11, null, "")], []);
    expect(r.links).toEqual([]);
    // Neither SKU nor barcode: nothing to match them by, a problem of its own.
    expect(r.problems.map((p) => p.kind).sort()).toEqual([
      "no_sku_or_barcode",
      "no_sku_or_barcode",
      "not_in_shopify",
    ]);
  });

  it("a hub variant matching one Shopify variant by SKU and another by barcode links neither", () => {
    const r = matchVariants(
      [{ id: 1, sku: "A", barcode: "111" }],
      [shop(10, "A", "999"), shop(11, "OTHER", "111")],
      [],
    );
    expect(r.links).toEqual([]);
    expect(r.problems.map((p) => [p.kind, p.sku, p.productVariantGid])).toEqual([
      ["hub_variant_matches_two", "A", "gid://shopify/ProductVariant/10"],
    ]);
    expect(r.problems[0]!.detail).toContain("gid://shopify/ProductVariant/11");
  });
});
