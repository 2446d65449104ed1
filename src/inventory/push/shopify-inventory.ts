/**
 * The inventory push's Shopify operations, each document beside the code that sends it and the
 * translation of its userErrors into a result the reconciler switches on.
 */
import { type Clock, yieldToEventLoop } from "../../core/clock.ts";
import { runBulkQuery } from "../../shopify/bulk-query.ts";
import { ShopifyQueryError } from "../../shopify/errors.ts";
import { graphql } from "../../shopify/graphql.ts";
import { type Connection, pages } from "../../shopify/pager.ts";
import type { AdminTransport } from "../../shopify/transport.ts";
import type { AdjustChange, SetQuantity } from "./planner.ts";

const REASON = "correction";
/** Points back to the hub so a merchant can see who changed the count. */
const REFERENCE = "tillbridge://inventory-push";

export const SET_QUANTITIES = graphql`
  mutation TillbridgeSetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
    inventorySetQuantities(input: $input) @idempotent(key: $key) {
      inventoryAdjustmentGroup {
        id
      }
      userErrors {
        code
        field
        message
      }
    }
  }
`;

export const ADJUST_QUANTITIES = graphql`
  mutation TillbridgeAdjustQuantities($input: InventoryAdjustQuantitiesInput!, $key: String!) {
    inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
      inventoryAdjustmentGroup {
        id
        changes(quantityNames: ["available", "on_hand"]) {
          name
          delta
          quantityAfterChange
          item {
            id
          }
          location {
            id
          }
        }
      }
      userErrors {
        code
        field
        message
      }
    }
  }
`;

export const ITEM_LEVELS_AT_LOCATION = graphql`
  query TillbridgeItemLevels($ids: [ID!]!, $locationId: ID!) {
    nodes(ids: $ids) {
      ... on InventoryItem {
        id
        inventoryLevel(locationId: $locationId) {
          quantities(names: ["available", "committed", "on_hand"]) {
            name
            quantity
          }
        }
      }
    }
  }
`;

export const ACTIVATE_ITEM = graphql`
  mutation TillbridgeActivateItem($inventoryItemId: ID!, $locationId: ID!, $available: Int, $key: String!) {
    inventoryActivate(inventoryItemId: $inventoryItemId, locationId: $locationId, available: $available) @idempotent(key: $key) {
      inventoryLevel {
        id
      }
      userErrors {
        field
        message
      }
    }
  }
`;

/** 250 levels a page: 36 requested points where 100 cost 30 (Shopify sizes connections logarithmically). */
export const LOCATION_LEVELS_PAGE = graphql`
  query TillbridgeLocationLevels($locationId: ID!, $after: String) {
    location(id: $locationId) {
      inventoryLevels(first: 250, after: $after) {
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          item {
            id
          }
          quantities(names: ["available", "committed", "on_hand"]) {
            name
            quantity
          }
        }
      }
    }
  }
`;

/** One inventory level as Shopify holds it. */
export interface LevelReading {
  readonly onHand: number;
  readonly available: number;
  readonly committed: number;
}

function reading(quantities: readonly { name: string; quantity: number }[]): LevelReading {
  const q = (name: string) => quantities.find((x) => x.name === name)?.quantity ?? 0;
  return { onHand: q("on_hand"), available: q("available"), committed: q("committed") };
}

export const NOT_STOCKED: LevelReading = { onHand: 0, available: 0, committed: 0 };

interface UserError {
  code: string | null;
  field: string[] | null;
  message: string;
}

export type MutationOutcome =
  | { readonly kind: "applied"; readonly after: ReadonlyMap<string, number> }
  | { readonly kind: "stale"; readonly message: string }
  | { readonly kind: "rejected"; readonly errors: readonly UserError[] };

const levelKey = (item: string, location: string) => `${item}|${location}`;

export { levelKey as itemLocationKey };

function outcomeOf(userErrors: readonly UserError[]): MutationOutcome | undefined {
  if (userErrors.length === 0) return undefined;
  if (
    userErrors.some((e) => e.code === "CHANGE_FROM_QUANTITY_STALE" || e.code === "COMPARE_QUANTITY_STALE")
  ) {
    return { kind: "stale", message: userErrors.map((e) => e.message).join("; ") };
  }
  return { kind: "rejected", errors: userErrors };
}

export async function setQuantities(
  transport: AdminTransport,
  quantities: readonly SetQuantity[],
  key: string,
): Promise<MutationOutcome> {
  const { data } = await transport.graphql<{
    inventorySetQuantities: { userErrors: UserError[] } | null;
  }>(
    SET_QUANTITIES,
    {
      key,
      input: { name: "on_hand", reason: REASON, referenceDocumentUri: REFERENCE, quantities },
    },
    { estimatedCost: 10 },
  );
  const payload = data.inventorySetQuantities;
  if (!payload)
    throw new ShopifyQueryError("inventorySetQuantities returned no payload", transport.store, []);
  return (
    outcomeOf(payload.userErrors) ?? {
      kind: "applied",
      after: new Map(quantities.map((q) => [levelKey(q.inventoryItemId, q.locationId), q.quantity])),
    }
  );
}

export async function adjustQuantities(
  transport: AdminTransport,
  changes: readonly AdjustChange[],
  key: string,
): Promise<MutationOutcome> {
  const { data } = await transport.graphql<{
    inventoryAdjustQuantities: {
      inventoryAdjustmentGroup: {
        changes: {
          name: string;
          quantityAfterChange: number | null;
          item: { id: string };
          location: { id: string };
        }[];
      } | null;
      userErrors: UserError[];
    } | null;
  }>(
    ADJUST_QUANTITIES,
    {
      key,
      input: { name: "available", reason: REASON, referenceDocumentUri: REFERENCE, changes },
    },
    { estimatedCost: 10 },
  );
  const payload = data.inventoryAdjustQuantities;
  if (!payload)
    throw new ShopifyQueryError("inventoryAdjustQuantities returned no payload", transport.store, []);
  const failed = outcomeOf(payload.userErrors);
  if (failed) return failed;
  const after = new Map<string, number>();
  // `after` holds on_hand; a change of `available` moves on_hand by the same amount.
  for (const c of payload.inventoryAdjustmentGroup?.changes ?? []) {
    if (c.name === "on_hand" && c.quantityAfterChange !== null)
      after.set(levelKey(c.item.id, c.location.id), c.quantityAfterChange);
  }
  return { kind: "applied", after };
}

/**
 * Shopify's current quantities for items at one location; null when the item is not stocked
 * there (no inventory level: it must be activated before it can hold a quantity).
 */
export async function readItemLevels(
  transport: AdminTransport,
  locationGid: string,
  itemGids: readonly string[],
): Promise<Map<string, LevelReading | null>> {
  const out = new Map<string, LevelReading | null>();
  for (let i = 0; i < itemGids.length; i += 100) {
    const ids = itemGids.slice(i, i + 100);
    const { data } = await transport.graphql<{
      nodes: ({
        id: string;
        inventoryLevel: { quantities: { name: string; quantity: number }[] } | null;
      } | null)[];
    }>(ITEM_LEVELS_AT_LOCATION, { ids, locationId: locationGid }, { estimatedCost: 2 + ids.length * 3 });
    for (const node of data.nodes) {
      if (!node) continue;
      out.set(
        levelKey(node.id, locationGid),
        node.inventoryLevel ? reading(node.inventoryLevel.quantities) : null,
      );
    }
  }
  return out;
}

/** Every inventory level of the store in one bulk operation (JSONL: levels carry their location as `__parentId`). */
export const ALL_LEVELS_BULK = graphql`
  {
    locations {
      edges {
        node {
          id
          inventoryLevels {
            edges {
              node {
                item {
                  id
                }
                quantities(names: ["available", "committed", "on_hand"]) {
                  name
                  quantity
                }
              }
            }
          }
        }
      }
    }
  }
`;

/**
 * Shopify's levels of a whole store, compactly: one row per item (its gid once) and three
 * numbers per location in a typed array, instead of a key string and an object per level
 * (500,000 levels were some 90 MB of small objects and strings; this holds them in about 15).
 */
export class LevelTable {
  private readonly slots = new Map<string, number>();
  private readonly rows = new Map<string, number>();
  /** [onHand, available, committed] per (row, slot); NaN where the item has no level. */
  private values: Float64Array;

  /** `items`: how many items to make room for at once (the linked count), so the array is not regrown. */
  constructor(locationGids: readonly string[], items = 1024) {
    for (const l of locationGids) this.slots.set(l, this.slots.size);
    this.values = new Float64Array(Math.max(1, this.slots.size) * 3 * Math.max(1, items)).fill(Number.NaN);
  }

  /** Levels held. */
  size = 0;

  setLevel(itemGid: string, locationGid: string, r: LevelReading): void {
    const slot = this.slots.get(locationGid);
    if (slot === undefined) return;
    let row = this.rows.get(itemGid);
    if (row === undefined) {
      row = this.rows.size;
      this.rows.set(itemGid, row);
      const need = (row + 1) * this.slots.size * 3;
      if (need > this.values.length) {
        const grown = new Float64Array(Math.max(need, Math.ceil(this.values.length * 1.5))).fill(Number.NaN);
        grown.set(this.values);
        this.values = grown;
      }
    }
    const at = (row * this.slots.size + slot) * 3;
    if (Number.isNaN(this.values[at]!)) this.size++;
    this.values[at] = r.onHand;
    this.values[at + 1] = r.available;
    this.values[at + 2] = r.committed;
  }

  getLevel(itemGid: string, locationGid: string): LevelReading | undefined {
    const slot = this.slots.get(locationGid);
    const row = this.rows.get(itemGid);
    if (slot === undefined || row === undefined) return undefined;
    const at = (row * this.slots.size + slot) * 3;
    const onHand = this.values[at]!;
    if (Number.isNaN(onHand)) return undefined;
    return { onHand, available: this.values[at + 1]!, committed: this.values[at + 2]! };
  }

  /** By `itemLocationKey(item, location)`. */
  get(key: string): LevelReading | undefined {
    const cut = key.lastIndexOf("|");
    return this.getLevel(key.slice(0, cut), key.slice(cut + 1));
  }
}

/** Every item's quantities at every location, through a bulk operation (large stores). */
export async function readAllLevelsBulk(
  transport: AdminTransport,
  clock: Clock,
  locationGids: ReadonlySet<string>,
  /** Run while the operation is polled (a drift check runs the store's push meanwhile). */
  whileWaiting?: () => Promise<void>,
  items?: number,
): Promise<LevelTable> {
  const out = new LevelTable([...locationGids], items);
  let rows = 0;
  const sleep = async (ms: number) => {
    const until = clock.now() + ms;
    await whileWaiting?.();
    const left = until - clock.now();
    if (left > 0) await new Promise((r) => setTimeout(r, left));
  };
  for await (const row of runBulkQuery(transport, ALL_LEVELS_BULK, { clock, pollMs: 500, sleep })) {
    // The lines of a downloaded file arrive through promises alone while the stream has data
    // queued: without a turn of the event loop now and then, reading 500,000 of them held it
    // for seconds (a dry run's /healthz waited 5.7 s on the loaded machine).
    if (++rows % 1000 === 0) await yieldToEventLoop();
    const location = row.__parentId;
    const item = (row.item as { id?: string } | undefined)?.id;
    if (!location || !item || !locationGids.has(location)) continue;
    const quantities = (row.quantities as { name: string; quantity: number }[] | undefined) ?? [];
    out.setLevel(item, location, reading(quantities));
  }
  return out;
}

/** Every item's quantities at a location, page by page. */
export async function readLocationLevels(
  transport: AdminTransport,
  locationGid: string,
): Promise<Map<string, LevelReading>> {
  const out = new Map<string, LevelReading>();
  const levelPages = pages(async (after) => {
    const { data } = await transport.graphql<{
      location: {
        inventoryLevels: Connection<{
          item: { id: string };
          quantities: { name: string; quantity: number }[];
        }>;
      } | null;
    }>(LOCATION_LEVELS_PAGE, { locationId: locationGid, after }, { estimatedCost: 40 });
    if (!data.location)
      throw new ShopifyQueryError(`location ${locationGid} no longer exists in Shopify`, transport.store, []);
    return data.location.inventoryLevels;
  });
  for await (const nodes of levelPages)
    for (const n of nodes) out.set(levelKey(n.item.id, locationGid), reading(n.quantities));
  return out;
}

/** Above this many item-locations one bulk operation is cheaper than paging level by level. */
export const BULK_READ_THRESHOLD = 2500;

/**
 * Every item's quantities at these locations: page by page for a small store, one bulk
 * operation (streamed, never held as a file) when `expected` item-locations exceed `threshold`.
 */
export async function readLevels(
  transport: AdminTransport,
  clock: Clock,
  locationGids: readonly string[],
  expected: number,
  threshold = BULK_READ_THRESHOLD,
  whileWaiting?: () => Promise<void>,
): Promise<LevelTable> {
  if (expected > threshold)
    return readAllLevelsBulk(
      transport,
      clock,
      new Set(locationGids),
      whileWaiting,
      // Room for every linked item (Shopify may hold a few more: the table grows then).
      Math.ceil(expected / Math.max(1, locationGids.length)),
    );
  const all = new LevelTable(locationGids);
  for (const location of locationGids)
    for (const [k, v] of await readLocationLevels(transport, location))
      all.setLevel(k.slice(0, k.lastIndexOf("|")), location, v);
  return all;
}

/**
 * Starts stocking an item at a location with the hub's quantity (`available`: a level that did
 * not exist has no committed units, so it equals the desired on_hand).
 */
export async function activateItem(
  transport: AdminTransport,
  inventoryItemId: string,
  locationId: string,
  available: number,
  key: string,
): Promise<MutationOutcome> {
  const { data } = await transport.graphql<{
    inventoryActivate: { userErrors: { field: string[] | null; message: string }[] } | null;
  }>(ACTIVATE_ITEM, { inventoryItemId, locationId, available, key }, { estimatedCost: 10 });
  const errors = data.inventoryActivate?.userErrors ?? [];
  if (errors.length > 0)
    return {
      kind: "rejected",
      errors: errors.map((e) => ({ code: null, field: e.field, message: e.message })),
    };
  return { kind: "applied", after: new Map([[levelKey(inventoryItemId, locationId), available]]) };
}
