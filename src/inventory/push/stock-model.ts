/**
 * What the hub sets in Shopify, as pure functions (docs/STOCK-MODEL.md has the state table).
 *
 * The hub owns Shopify's `on_hand` per item and location and lets Shopify subtract its own
 * commitments: Shopify's `available` = `on_hand` − `committed`, so a store's own orders are
 * counted once, by Shopify, whatever the hub has imported yet.
 *
 *   desired on_hand = sellable + committed to this store
 *   sellable        = Σ over the location's warehouses of max(0, on hand − reserved − safety)
 *                     − the store's own safety stock (store-safety.ts), never below 0
 *   committed       = the hub's reservations for this store's orders (units still to ship)
 *                   + units the hub recorded as shipped for this store's orders that Shopify
 *                     has not fulfilled yet (still `committed` and still in `on_hand` there)
 *
 * Units Shopify moves by itself (fulfillments, restocks of returns) are never sent: in absolute
 * mode the compare-and-set sees them, in delta mode they move the baseline (`pushed`) in the
 * same transaction that records them.
 */

export interface StockFigures {
  /** Sellable summed over the warehouses mapped to the location. */
  readonly sellable: number;
  /** Units of this store's open orders that Shopify counts as committed, as the hub knows them. */
  readonly committed: number;
}

export function desiredOnHand(f: StockFigures): number {
  return f.sellable + f.committed;
}

/** Shopify's `available` when it holds the desired on_hand and its committed equals the hub's. */
export function expectedAvailable(f: StockFigures): number {
  return f.sellable;
}

export interface ShippedLine {
  /** Units the back office shipped through the hub for one order line at one warehouse. */
  readonly shipped: number;
  /** Of those, units Shopify already shows fulfilled. */
  readonly fulfilled: number;
  /** Shopify's fulfillable quantity of the line as last imported (0 for a cancelled order). */
  readonly fulfillable: number;
}

/**
 * Units shipped by the hub that Shopify still holds as committed: never more than Shopify still
 * has open on the line (a cancelled order or a removed line holds nothing).
 */
export function inTransit(l: ShippedLine): number {
  return Math.max(0, Math.min(l.shipped - l.fulfilled, l.fulfillable));
}

export interface Comparison {
  readonly mode: "absolute" | "delta";
  readonly shopify: { readonly onHand: number; readonly available: number; readonly committed: number };
  readonly hub: { readonly onHand: number; readonly available: number; readonly committed: number };
  /** Shopify's last refusal of this item-location, if any. */
  readonly error: string | null;
  /** A hub change of this variant waits to be pushed. */
  readonly waiting: boolean;
  /** Delta mode: the hub has sent nothing for this item-location yet (no baseline). */
  readonly neverSent?: boolean;
}

/** The likely reason Shopify and the hub differ, in words an operator can act on; null when they agree. */
export function likelyCause(c: Comparison): string | null {
  const onHand = c.hub.onHand - c.shopify.onHand;
  const committed = c.shopify.committed - c.hub.committed;
  if (onHand === 0 && committed === 0) return null;
  if (onHand === 0)
    return committed > 0
      ? `Shopify holds ${committed} more unit(s) committed to orders than the hub knows: orders not imported yet (or filtered out); Shopify keeps them off sale`
      : `Shopify holds ${-committed} fewer unit(s) committed than the hub: an order fulfilled or cancelled in Shopify that the hub has not heard of yet`;
  if (c.error !== null) return `Shopify refused the last push: ${c.error}`;
  if (c.mode === "delta" && c.neverSent)
    return "delta mode: the hub sends only its own changes from the moment the push is enabled, so Shopify keeps its own count here until the hub's stock changes; an initial sync sends the hub's value once";
  if (c.waiting) return "a hub change is waiting for its coalescing window or its next push";
  if (committed < 0)
    return `an order fulfilled or cancelled in Shopify that the hub has not recorded yet (Shopify holds ${-committed} fewer committed unit(s))`;
  return c.mode === "delta"
    ? `Shopify's own change (an edit in Shopify, or a restock the hub does not follow); delta mode keeps it`
    : `changed in Shopify (an edit, or a restock the hub does not follow); absolute mode overwrites it`;
}
