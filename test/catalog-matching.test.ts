/**
 * Properties of SKU-then-barcode matching (src/catalog/matching.ts), the rules both linking and
 * the catalog import use, over random catalogs with collisions on purpose (few SKUs and barcodes,
 * blanks, duplicates on both sides):
 * - never guessed: each link's SKU is equal on both sides (or, for a barcode link, the barcodes
 *   are equal and no Shopify variant has the hub variant's SKU), and no hub or Shopify variant
 *   is in two links;
 * - a SKU carried by two Shopify variants links neither;
 * - every Shopify variant is either linked or named by a problem (none silently dropped), and every
 *   hub variant is either linked or accounted for;
 * - the result does not depend on the order the variants come in.
 * - links made by hand are kept while both variants exist, and a SKU linked by hand is never
 *   offered for creation.
 * - the match in chunks (linking and the import run it so, the event loop free between chunks)
 *   gives exactly the answer of the match at once, and does pause.
 * Plus the import's compact decision table round-trips every decision (hand-made links too).
 * Fixed seed in the suite (CATALOG_MATCHING_SEED=random or a number explores others).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecisionTable, type VariantDecision } from "../src/catalog/import/import-plan.ts";
import {
  type HubVariant,
  matchVariants,
  matchVariantsInChunks,
  type ShopifyVariant,
} from "../src/catalog/matching.ts";

/** A fixed seed in the suite; CATALOG_MATCHING_SEED=random (or a number) explores others. */
const seedEnv = process.env.CATALOG_MATCHING_SEED;
const seed = seedEnv === "random" ? Date.now() % 2 ** 31 : seedEnv ? Number(seedEnv) : 150_006;

const code = (prefix: string, n: number) =>
  fc.option(
    fc.integer({ min: 0, max: n }).map((i) => `${prefix}${i}`),
    { nil: null },
  );

const catalogs = fc
  .record({
    hub: fc.uniqueArray(
      fc.record({ sku: fc.integer({ min: 0, max: 12 }).map((i) => `S${i}`), barcode: code("B", 8) }),
      {
        selector: (h) => h.sku,
        maxLength: 10,
      },
    ),
    shopify: fc.array(fc.record({ sku: fc.oneof(code("S", 14), fc.constant("  ")), barcode: code("B", 8) }), {
      maxLength: 14,
    }),
  })
  .map(({ hub, shopify }) => ({
    hub: hub.map((h, i): HubVariant => ({ id: i + 1, sku: h.sku, barcode: h.barcode })),
    shopify: shopify.map(
      (v, i): ShopifyVariant => ({
        id: `gid://shopify/ProductVariant/${100 + i}`,
        sku: v.sku,
        barcode: v.barcode,
        inventoryItemId: `gid://shopify/InventoryItem/${500 + i}`,
      }),
    ),
  }));

const norm = (s: string | null) => (s?.trim() ? s.trim() : null);

describe("SKU-then-barcode matching", () => {
  it("never guesses, never links twice, names every Shopify variant it does not link", () => {
    fc.assert(
      fc.property(catalogs, ({ hub, shopify }) => {
        const { links, problems } = matchVariants(hub, shopify, []);
        const hubById = new Map(hub.map((h) => [h.id, h]));
        const shopById = new Map(shopify.map((v) => [v.id, v]));
        expect(new Set(links.map((l) => l.variantId)).size).toBe(links.length);
        expect(new Set(links.map((l) => l.productVariantGid)).size).toBe(links.length);
        const skuCount = new Map<string, number>();
        for (const v of shopify) {
          const s = norm(v.sku);
          if (s) skuCount.set(s, (skuCount.get(s) ?? 0) + 1);
        }
        for (const l of links) {
          const h = hubById.get(l.variantId)!;
          const v = shopById.get(l.productVariantGid)!;
          expect(l.inventoryItemGid).toBe(v.inventoryItemId);
          if (l.matchedBy === "sku") {
            expect(norm(v.sku)).toBe(h.sku);
            expect(skuCount.get(h.sku)).toBe(1);
          } else {
            expect(norm(v.barcode)).not.toBeNull();
            expect(norm(v.barcode)).toBe(norm(h.barcode));
            expect(skuCount.has(h.sku)).toBe(false);
          }
        }
        // A SKU two Shopify variants carry links neither of them.
        for (const [sku, n] of skuCount)
          if (n > 1) {
            expect(links.some((l) => norm(shopById.get(l.productVariantGid)!.sku) === sku)).toBe(false);
            expect(problems.some((p) => p.kind === "duplicate_sku_in_shopify" && p.sku === sku)).toBe(true);
          }
        // Every Shopify variant is linked or named by a problem (by id, or inside its detail).
        const linked = new Set(links.map((l) => l.productVariantGid));
        for (const v of shopify) {
          if (linked.has(v.id)) continue;
          const named = problems.some((p) => p.productVariantGid === v.id || p.detail.includes(v.id));
          expect(named, `${v.id} (${v.sku}/${v.barcode}) is neither linked nor a problem`).toBe(true);
          if (norm(v.sku) === null && norm(v.barcode) === null)
            expect(problems.some((p) => p.kind === "no_sku_or_barcode" && p.productVariantGid === v.id)).toBe(
              true,
            );
        }
        // Every hub variant is linked, not in Shopify, or part of a named ambiguity.
        const linkedHub = new Set(links.map((l) => l.variantId));
        for (const h of hub) {
          if (linkedHub.has(h.id)) continue;
          const named = problems.some(
            (p) => p.sku === h.sku || (h.barcode !== null && p.barcode === norm(h.barcode)),
          );
          expect(named, `hub ${h.sku} is neither linked nor named`).toBe(true);
        }
      }),
      { seed, numRuns: 400 },
    );
  });

  it("gives the same links and problems whatever order the variants come in", () => {
    fc.assert(
      fc.property(catalogs, fc.integer(), ({ hub, shopify }, seed) => {
        const shuffle = <T>(xs: readonly T[]) => {
          const out = [...xs];
          let s = seed;
          for (let i = out.length - 1; i > 0; i--) {
            s = (s * 1103515245 + 12345) & 0x7fffffff;
            const j = s % (i + 1);
            [out[i], out[j]] = [out[j]!, out[i]!];
          }
          return out;
        };
        const a = matchVariants(hub, shopify, []);
        const b = matchVariants(shuffle(hub), shuffle(shopify), []);
        const key = (r: typeof a) => ({
          links: r.links.map((l) => `${l.variantId}>${l.productVariantGid}:${l.matchedBy}`).sort(),
          problems: r.problems.map((p) => `${p.kind}:${p.sku}:${p.barcode}:${p.productVariantGid}`).sort(),
        });
        expect(key(b)).toEqual(key(a));
      }),
      { seed, numRuns: 200 },
    );
  });

  it("two hub variants sharing a barcode, each linked by SKU, both match a SKU-less Shopify variant with it", () => {
    // Found by the property above (seed -245296386): only the last hub variant with the barcode
    // was a problem, which one depended on the order the variants came in.
    const hub: HubVariant[] = [
      { id: 1, sku: "S0", barcode: "B0" },
      { id: 2, sku: "S11", barcode: "B0" },
    ];
    const v = (n: number, sku: string | null, barcode: string | null): ShopifyVariant => ({
      id: `gid://shopify/ProductVariant/${n}`,
      sku,
      barcode,
      inventoryItemId: `gid://shopify/InventoryItem/${n}`,
    });
    const shopify = [v(100, "  ", "B0"), v(101, "S0", null), v(102, "S11", null)];
    for (const [h, s] of [
      [hub, shopify],
      [[...hub].reverse(), [...shopify].reverse()],
    ] as const) {
      const r = matchVariants(h, s, []);
      expect(r.links).toEqual([]);
      expect(r.problems.map((p) => [p.kind, p.sku, p.candidates]).sort()).toEqual([
        ["hub_variant_matches_two", "S0", [v(101, "", null).id, v(100, "", null).id]],
        ["hub_variant_matches_two", "S11", [v(102, "", null).id, v(100, "", null).id]],
      ]);
    }
  });

  it("keeps every link made by hand whose variants still exist, and still never links twice", () => {
    fc.assert(
      fc.property(
        catalogs,
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 4 }),
        ({ hub, shopify }, picks) => {
          if (hub.length === 0 || shopify.length === 0) return;
          // Hand-made links between random variants, each side at most once (as the API ensures).
          const usedHub = new Set<number>();
          const usedShop = new Set<string>();
          const manual = picks.flatMap(([a, b]) => {
            const h = hub[a % hub.length]!;
            const v = shopify[b % shopify.length]!;
            if (usedHub.has(h.id) || usedShop.has(v.id)) return [];
            usedHub.add(h.id);
            usedShop.add(v.id);
            return [
              {
                variantId: h.id,
                productVariantGid: v.id,
                inventoryItemGid: v.inventoryItemId,
                matchedBy: "manual" as const,
              },
            ];
          });
          const { links, problems } = matchVariants(hub, shopify, manual);
          for (const m of manual) expect(links).toContainEqual(m);
          expect(new Set(links.map((l) => l.variantId)).size).toBe(links.length);
          expect(new Set(links.map((l) => l.productVariantGid)).size).toBe(links.length);
          // No Shopify variant that carries a hand-linked SKU is left to be created (not_in_hub).
          const handSkus = new Set(manual.map((m) => hub.find((h) => h.id === m.variantId)!.sku));
          for (const p of problems)
            if (p.kind === "not_in_hub") expect(handSkus.has(p.sku ?? "")).toBe(false);
          // A hand-linked variant gone from Shopify is matched again as any other.
          const gone = matchVariants(hub, [], manual);
          expect(gone.links).toEqual([]);
        },
      ),
      { seed, numRuns: 200 },
    );
  });

  it("in chunks gives the same answer as at once, pausing between chunks", async () => {
    await fc.assert(
      fc.asyncProperty(
        catalogs,
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 3 }),
        fc.integer({ min: 1, max: 7 }),
        async ({ hub, shopify }, picks, every) => {
          const manual = picks.flatMap(([a, b], i) =>
            hub.length === 0 || shopify.length === 0 || i > 0
              ? []
              : [
                  {
                    variantId: hub[a % hub.length]!.id,
                    productVariantGid: shopify[b % shopify.length]!.id,
                    inventoryItemGid: shopify[b % shopify.length]!.inventoryItemId,
                    matchedBy: "manual" as const,
                  },
                ],
          );
          let pauses = 0;
          const chunked = await matchVariantsInChunks(hub, shopify, manual, {
            every,
            pause: async () => {
              pauses++;
            },
          });
          expect(chunked).toEqual(matchVariants(hub, shopify, manual));
          if (hub.length + shopify.length > every) expect(pauses).toBeGreaterThan(0);
        },
      ),
      { seed, numRuns: 200 },
    );
  });

  it("in chunks lets the event loop run while a large store is matched", async () => {
    const n = 30_000;
    const hub = Array.from(
      { length: n },
      (_, i): HubVariant => ({ id: i + 1, sku: `S${i}`, barcode: `B${i}` }),
    );
    const shopify = Array.from(
      { length: n },
      (_, i): ShopifyVariant => ({
        id: `gid://shopify/ProductVariant/${i}`,
        sku: i % 3 === 0 ? null : `S${i}`,
        barcode: `B${i}`,
        inventoryItemId: `gid://shopify/InventoryItem/${i}`,
      }),
    );
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const result = await matchVariantsInChunks(hub, shopify, [], { every: 2000 });
    clearInterval(timer);
    expect(result.links).toHaveLength(n);
    // Timers ran during the match (a synchronous match lets none run).
    expect(ticks).toBeGreaterThan(0);
  });

  it("the import's decision table returns every decision it was given", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 1, max: 2 ** 40 }),
            fc.oneof(
              fc.record({
                kind: fc.constant("link" as const),
                variantId: fc.integer({ min: 1, max: 2 ** 31 }),
                matchedBy: fc.constantFrom("sku" as const, "barcode" as const, "manual" as const),
              }),
              fc.constant({ kind: "create" as const }),
              fc.constant({ kind: "problem" as const }),
            ),
          ),
          { maxLength: 50 },
        ),
        (entries) => {
          const table = new DecisionTable();
          const expected = new Map<number, VariantDecision>();
          for (const [id, d] of entries) {
            table.set(`gid://shopify/ProductVariant/${id}`, d);
            expected.set(id, d);
          }
          for (const [id, d] of expected) expect(table.get(`gid://shopify/ProductVariant/${id}`)).toEqual(d);
          expect(table.get("gid://shopify/ProductVariant/0")).toEqual({ kind: "problem" });
        },
      ),
      { seed },
    );
  });
});
