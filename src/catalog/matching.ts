/**
 * Pure SKU-then-barcode matching of hub variants to Shopify product variants. Ambiguity is a
 * problem with a reason, never a guess.
 *
 * One implementation, a generator that pauses every few thousand variants: `matchVariants` runs it
 * through at once (small stores, tests), `matchVariantsInChunks` gives the event loop a turn at
 * each pause, so a 100,000-variant store's match never holds the process (its /healthz, its other
 * stores) for the whole of it. Both give the same answer: they are the same steps.
 */
import type { LinkProblemKind } from "../db/tables.ts";

export interface HubVariant {
  readonly id: number;
  readonly sku: string;
  readonly barcode: string | null;
}

export interface ShopifyVariant {
  readonly id: string;
  readonly sku: string | null;
  readonly barcode: string | null;
  readonly inventoryItemId: string;
}

/** How a link was made: by SKU or barcode by matching, or by an operator's hand (kept by every later match). */
export type MatchedBy = "sku" | "barcode" | "manual";

export interface ExistingLink {
  readonly variantId: number;
  readonly productVariantGid: string;
  readonly inventoryItemGid: string;
  readonly matchedBy?: MatchedBy;
}

export interface Link {
  readonly variantId: number;
  readonly productVariantGid: string;
  readonly inventoryItemGid: string;
  readonly matchedBy: MatchedBy;
}

export interface LinkProblem {
  readonly kind: LinkProblemKind;
  readonly sku: string | null;
  readonly barcode: string | null;
  readonly productVariantGid: string | null;
  readonly detail: string;
  /** Shopify variants the operator may pick one of to link the hub's SKU by hand. */
  readonly candidates?: readonly string[];
}

export interface MatchResult {
  readonly links: Link[];
  readonly problems: LinkProblem[];
}

const norm = (s: string | null | undefined) => {
  const t = s?.trim();
  return t ? t : null;
};

/** Variants handled between two pauses of the chunked match. */
export const MATCH_CHUNK = 5000;

/** A counter that says when a pause is due: every `every` calls. */
const pacer = (every: number) => {
  let n = 0;
  return () => ++n % every === 0;
};
type Pace = () => boolean;

function* groupBy<T>(
  items: readonly T[],
  key: (t: T) => string | null,
  pause: Pace,
): Generator<void, Map<string, T[]>> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    if (pause()) yield;
    const k = key(item);
    if (k === null) continue;
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** `new Map(items.map((t) => [key(t), t]))`, pausing as groupBy does. */
function* indexBy<T, K>(items: readonly T[], key: (t: T) => K, pause: Pace): Generator<void, Map<K, T>> {
  const out = new Map<K, T>();
  for (const item of items) {
    if (pause()) yield;
    out.set(key(item), item);
  }
  return out;
}

/** `items.filter(keep)`, pausing as groupBy does. */
function* filterBy<T>(items: readonly T[], keep: (t: T) => boolean, pause: Pace): Generator<void, T[]> {
  const out: T[] = [];
  for (const item of items) {
    if (pause()) yield;
    if (keep(item)) out.push(item);
  }
  return out;
}

export function matchVariants(
  allHub: readonly HubVariant[],
  allShopify: readonly ShopifyVariant[],
  existing: readonly ExistingLink[],
): MatchResult {
  const steps = matchSteps(allHub, allShopify, existing, () => false);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * The same match, pausing every `every` variants (default MATCH_CHUNK) for `pause` (default: one
 * turn of the event loop, `setImmediate`).
 */
export async function matchVariantsInChunks(
  allHub: readonly HubVariant[],
  allShopify: readonly ShopifyVariant[],
  existing: readonly ExistingLink[],
  options: { every?: number; pause?: () => Promise<void> } = {},
): Promise<MatchResult> {
  const pause = options.pause ?? (() => new Promise<void>((resolve) => setImmediate(resolve)));
  const steps = matchSteps(allHub, allShopify, existing, pacer(options.every ?? MATCH_CHUNK));
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await pause();
  }
}

function* matchSteps(
  allHub: readonly HubVariant[],
  allShopify: readonly ShopifyVariant[],
  existing: readonly ExistingLink[],
  pause: Pace,
): Generator<void, MatchResult> {
  const links: Link[] = [];
  const problems: LinkProblem[] = [];

  // 0. Links an operator made by hand stay while both variants exist (the Shopify variant's
  // inventory item as read now); both sides are out of the matching that follows.
  // Every whole-store table is built with pauses too (a 100,000-entry Map is tens of ms).
  const shopifyById = yield* indexBy(allShopify, (v) => v.id, pause);
  const hubIds = yield* indexBy(allHub, (h) => h.id, pause);
  const manualHub = new Set<number>();
  const manualShopify = new Set<string>();
  for (const e of existing) {
    if (e.matchedBy !== "manual" || !hubIds.has(e.variantId)) continue;
    const v = shopifyById.get(e.productVariantGid);
    if (!v || manualShopify.has(v.id) || manualHub.has(e.variantId)) continue;
    links.push({
      variantId: e.variantId,
      productVariantGid: v.id,
      inventoryItemGid: v.inventoryItemId,
      matchedBy: "manual",
    });
    manualHub.add(e.variantId);
    manualShopify.add(v.id);
  }
  const manualBySku = new Map<string, { variant: HubVariant; gid: string }>();
  if (manualHub.size > 0) {
    const gidOf = new Map(links.map((l) => [l.variantId, l.productVariantGid]));
    for (const h of allHub)
      if (manualHub.has(h.id)) manualBySku.set(h.sku.trim(), { variant: h, gid: gidOf.get(h.id)! });
  }
  const hub = manualHub.size > 0 ? yield* filterBy(allHub, (h) => !manualHub.has(h.id), pause) : allHub;
  const shopify =
    manualShopify.size > 0 ? yield* filterBy(allShopify, (v) => !manualShopify.has(v.id), pause) : allShopify;
  const usedShopify = new Set<string>();
  const settled = new Set<number>();

  // 1. SKU. A SKU carried by several Shopify variants links none of them.
  const bySku = yield* groupBy(shopify, (v) => norm(v.sku), pause);
  const excluded = new Set<string>();
  // The hub's variant of a SKU by lookup, not a scan per duplicated SKU (quadratic in a store
  // where many SKUs are duplicated).
  const hubBySku = new Map<string, HubVariant>();
  for (const h of hub) {
    if (pause()) yield;
    if (!hubBySku.has(h.sku.trim())) hubBySku.set(h.sku.trim(), h);
  }
  for (const [sku, vs] of bySku) {
    if (vs.length < 2) continue;
    for (const v of vs) excluded.add(v.id);
    const hubOne = hubBySku.get(sku);
    if (hubOne) settled.add(hubOne.id);
    problems.push({
      kind: "duplicate_sku_in_shopify",
      sku,
      barcode: null,
      productVariantGid: null,
      detail: `SKU ${sku} is used by ${vs.length} Shopify variants: ${vs.map((v) => v.id).join(", ")}; none is linked until the SKU is unique`,
      ...(hubOne ? { candidates: vs.map((v) => v.id) } : {}),
    });
  }
  for (const h of hub) {
    if (pause()) yield;
    if (settled.has(h.id)) continue;
    const vs = bySku.get(h.sku.trim());
    if (vs?.length === 1) {
      const v = vs[0]!;
      links.push({
        variantId: h.id,
        productVariantGid: v.id,
        inventoryItemGid: v.inventoryItemId,
        matchedBy: "sku",
      });
      usedShopify.add(v.id);
      settled.add(h.id);
    }
  }

  // 1b. A Shopify variant left over whose barcode is that of a hub variant just linked by SKU: the
  // hub variant matches two Shopify variants (one by SKU, one by barcode). Neither is linked.
  const hubById = yield* indexBy(hub, (h) => h.id, pause);
  // Several hub variants may share a barcode: each of them matches the leftover variant, so each
  // is a problem (keeping one of them only would depend on the order the variants came in).
  const skuLinksByBarcode = yield* groupBy(
    links.filter((l) => l.matchedBy === "sku"), // a hand-made link is the operator's choice
    (l) => norm(hubById.get(l.variantId)?.barcode),
    pause,
  );
  const second = new Map<Link, ShopifyVariant[]>();
  for (const v of shopify) {
    if (pause()) yield;
    if (usedShopify.has(v.id) || excluded.has(v.id)) continue;
    const code = norm(v.barcode);
    for (const link of code === null ? [] : (skuLinksByBarcode.get(code) ?? [])) {
      const list = second.get(link);
      if (list) list.push(v);
      else second.set(link, [v]);
    }
  }
  if (second.size > 0) {
    for (const [link, others] of second) {
      const h = hubById.get(link.variantId)!;
      usedShopify.delete(link.productVariantGid);
      excluded.add(link.productVariantGid);
      for (const v of others) excluded.add(v.id);
      problems.push({
        kind: "hub_variant_matches_two",
        sku: h.sku,
        barcode: h.barcode,
        productVariantGid: link.productVariantGid,
        detail: `SKU ${h.sku} matches Shopify variant ${link.productVariantGid} by SKU and ${others.map((v) => v.id).join(", ")} by its barcode ${h.barcode}; none is linked until one of them changes`,
        candidates: [link.productVariantGid, ...others.map((v) => v.id)],
      });
    }
    const dropped = new Set(second.keys());
    const kept = links.filter((l) => !dropped.has(l));
    links.length = 0;
    links.push(...kept);
  }

  // 2. Barcode, for the rest on both sides.
  const restShopify = yield* filterBy(shopify, (v) => !usedShopify.has(v.id) && !excluded.has(v.id), pause);
  const restHub = yield* filterBy(hub, (h) => !settled.has(h.id), pause);
  const shopifyByBarcode = yield* groupBy(restShopify, (v) => norm(v.barcode), pause);
  const hubByBarcode = yield* groupBy(restHub, (h) => norm(h.barcode), pause);
  for (const [barcode, vs] of shopifyByBarcode) {
    if (vs.length < 2 || !hubByBarcode.has(barcode)) continue;
    for (const v of vs) excluded.add(v.id);
    for (const h of hubByBarcode.get(barcode)!) settled.add(h.id);
    problems.push({
      kind: "duplicate_barcode_in_shopify",
      sku: null,
      barcode,
      productVariantGid: null,
      detail: `barcode ${barcode} is used by ${vs.length} Shopify variants: ${vs.map((v) => v.id).join(", ")}; none is linked`,
    });
  }
  for (const h of restHub) {
    if (pause()) yield;
    if (settled.has(h.id)) continue;
    const code = norm(h.barcode);
    if (code === null) continue;
    const vs = shopifyByBarcode.get(code);
    if (vs?.length !== 1) continue;
    if ((hubByBarcode.get(code)?.length ?? 0) > 1) continue; // several hub variants share it: not guessed
    const v = vs[0]!;
    links.push({
      variantId: h.id,
      productVariantGid: v.id,
      inventoryItemGid: v.inventoryItemId,
      matchedBy: "barcode",
    });
    usedShopify.add(v.id);
    settled.add(h.id);
  }

  // 3. What is left on either side.
  const shopifyIds = yield* indexBy(shopify, (v) => v.id, pause);
  const previous = yield* indexBy(existing, (e) => e.variantId, pause);
  for (const h of hub) {
    if (pause()) yield;
    if (settled.has(h.id)) continue;
    const old = previous.get(h.id);
    if (old && !shopifyIds.has(old.productVariantGid)) {
      problems.push({
        kind: "deleted_in_shopify",
        sku: h.sku,
        barcode: h.barcode,
        productVariantGid: old.productVariantGid,
        detail: `the Shopify variant ${old.productVariantGid} linked to SKU ${h.sku} no longer exists; the link was removed`,
      });
      continue;
    }
    const shared = norm(h.barcode) !== null && (hubByBarcode.get(norm(h.barcode)!)?.length ?? 0) > 1;
    problems.push({
      kind: "not_in_shopify",
      sku: h.sku,
      barcode: h.barcode,
      productVariantGid: null,
      detail: shared
        ? `no Shopify variant has SKU ${h.sku}, and its barcode ${h.barcode} is shared by several hub variants`
        : `no Shopify variant has SKU ${h.sku}${h.barcode ? ` or barcode ${h.barcode}` : ""}`,
    });
  }
  for (const v of shopify) {
    if (pause()) yield;
    if (usedShopify.has(v.id) || excluded.has(v.id)) continue;
    if (norm(v.sku) === null && norm(v.barcode) === null) {
      problems.push({
        kind: "no_sku_or_barcode",
        sku: null,
        barcode: null,
        productVariantGid: v.id,
        detail: `Shopify variant ${v.id} has neither SKU nor barcode: nothing to match it by; give it a SKU in Shopify`,
      });
      continue;
    }
    const hand = manualBySku.get(norm(v.sku) ?? "");
    if (hand) {
      // The hub has this SKU, but its variant was linked by hand to another Shopify variant: this
      // one is not created (the SKU is taken) nor linked.
      problems.push({
        kind: "hub_variant_matches_two",
        sku: hand.variant.sku,
        barcode: hand.variant.barcode,
        productVariantGid: v.id,
        detail: `SKU ${hand.variant.sku} is linked by hand to Shopify variant ${hand.gid}; Shopify variant ${v.id} has the same SKU and is not linked`,
      });
      continue;
    }
    problems.push({
      kind: "not_in_hub",
      sku: norm(v.sku),
      barcode: norm(v.barcode),
      productVariantGid: v.id,
      detail: `no hub variant has SKU ${norm(v.sku) ?? "(none)"}${norm(v.barcode) ? ` or barcode ${norm(v.barcode)}` : ""}`,
    });
  }
  return { links, problems };
}
