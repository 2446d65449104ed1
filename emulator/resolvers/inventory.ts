// Inventory items, levels, named quantities, and the two 2026-10 inventory mutations with their
// compare-and-swap rule: every quantity must carry `changeFromQuantity` (explicit null opts out),
// and one stale value rejects the whole call.
import { gid, parseGid } from "../gid.ts";
import { LevelEvents } from "../level-events.ts";
import { matches, parseSearch } from "../search.ts";
import {
  ensureLevel,
  getLevel,
  type InventoryItem,
  type InventoryLevel,
  levelsOfItem,
  QUANTITY_NAMES,
  type QuantityName,
  quantity,
  type Shop,
  setQuantity,
} from "../state.ts";
import { type Ctx, connection, type PageArgs, type ResolverMap, sortKey, userError } from "./kit.ts";

/** Reasons Shopify accepts on inventory changes. */
export const INVENTORY_REASONS = new Set([
  "correction",
  "cycle_count_available",
  "damaged",
  "movement_created",
  "movement_updated",
  "movement_received",
  "movement_canceled",
  "other",
  "promotion",
  "quality_control",
  "received",
  "reservation_created",
  "reservation_deleted",
  "reservation_updated",
  "restock",
  "safety_stock",
  "shrinkage",
]);

const MAX_QUANTITY = 1_000_000_000;
const ITEM_SEARCH = new Set(["sku", "id", "created_at", "updated_at"]);

export function levelGid(l: InventoryLevel): string {
  return `gid://shopify/InventoryLevel/${l.locationId}?inventory_item_id=${l.itemId}`;
}

export function itemSku(shop: Shop, item: InventoryItem): string | null {
  return shop.variants.get(item.variantId)?.sku ?? null;
}

function itemLevels(shop: Shop, itemId: number): InventoryLevel[] {
  return levelsOfItem(shop, itemId);
}

export interface InventoryChangeOut {
  name: string;
  delta: number;
  quantityAfterChange: number;
  itemId: number;
  locationId: number;
  ledgerDocumentUri: string | null;
}

export interface AdjustmentGroup {
  id: number;
  createdAt: string;
  reason: string;
  referenceDocumentUri: string | null;
  changes: InventoryChangeOut[];
}

type Err = ReturnType<typeof userError>;

function checkTarget(
  shop: Shop,
  itemGid: string,
  locGid: string,
  path: string[],
  errors: Err[],
): [number, number] | undefined {
  const itemId = parseGid(itemGid, "InventoryItem");
  const locId = parseGid(locGid, "Location");
  if (itemId === undefined || !shop.inventoryItems.has(itemId)) {
    errors.push(
      userError(
        "The specified inventory item could not be found.",
        [...path, "inventoryItemId"],
        "INVALID_INVENTORY_ITEM",
      ),
    );
    return undefined;
  }
  if (locId === undefined || !shop.locations.has(locId)) {
    errors.push(
      userError("The specified location could not be found.", [...path, "locationId"], "INVALID_LOCATION"),
    );
    return undefined;
  }
  return [itemId, locId];
}

interface SetInput {
  name: string;
  reason: string;
  referenceDocumentUri?: string | null;
  quantities: {
    inventoryItemId: string;
    locationId: string;
    quantity: number;
    changeFromQuantity?: number | null;
  }[];
}

export function inventorySetQuantities(ctx: Ctx, input: SetInput) {
  const { shop } = ctx;
  const errors: Err[] = [];
  if (input.name !== "available" && input.name !== "on_hand") {
    errors.push(
      userError(
        "The quantity name must be either 'available' or 'on_hand'.",
        ["input", "name"],
        "INVALID_NAME",
      ),
    );
  }
  if (!INVENTORY_REASONS.has(input.reason)) {
    errors.push(userError("The specified reason is invalid.", ["input", "reason"], "INVALID_REASON"));
  }
  const seen = new Set<string>();
  const targets: { itemId: number; locId: number; quantity: number }[] = [];
  input.quantities.forEach((q, i) => {
    const path = ["input", "quantities", String(i)];
    if (!("changeFromQuantity" in q)) {
      errors.push(
        userError(
          "The changeFromQuantity argument must be given to each quantity; pass null to skip the check.",
          [...path, "changeFromQuantity"],
          "COMPARE_QUANTITY_REQUIRED",
        ),
      );
    }
    if (q.quantity > MAX_QUANTITY) {
      errors.push(
        userError(
          "The quantity can't be higher than 1,000,000,000.",
          [...path, "quantity"],
          "INVALID_QUANTITY_TOO_HIGH",
        ),
      );
    }
    if (input.name === "on_hand" && q.quantity < 0) {
      errors.push(
        userError("The quantity can't be negative.", [...path, "quantity"], "INVALID_QUANTITY_NEGATIVE"),
      );
    }
    const t = checkTarget(shop, q.inventoryItemId, q.locationId, path, errors);
    if (!t) return;
    const key = `${t[0]}:${t[1]}`;
    if (seen.has(key)) {
      errors.push(
        userError(
          "The combination of inventoryItemId and locationId must be unique.",
          path,
          "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
        ),
      );
      return;
    }
    seen.add(key);
    const level = getLevel(shop, t[0], t[1]);
    const current = level ? quantity(level, input.name as QuantityName) : 0;
    if (q.changeFromQuantity != null && q.changeFromQuantity !== current) {
      errors.push(
        userError(
          "The specified compare quantity does not match the current quantity.",
          [...path, "changeFromQuantity"],
          "CHANGE_FROM_QUANTITY_STALE",
        ),
      );
    }
    targets.push({ itemId: t[0], locId: t[1], quantity: q.quantity });
  });
  if (errors.length > 0) return { inventoryAdjustmentGroup: null, userErrors: errors };

  const at = ctx.now;
  const group = newGroup(ctx, input);
  const events = new LevelEvents(ctx.store, shop);
  const other: QuantityName = input.name === "available" ? "on_hand" : "available";
  for (const t of targets) {
    const level = events.touch(ensureLevel(shop, t.itemId, t.locId, at));
    const before = quantity(level, input.name as QuantityName);
    const beforeOther = quantity(level, other);
    setQuantity(level, input.name as QuantityName, t.quantity, at);
    const base = { itemId: t.itemId, locationId: t.locId, ledgerDocumentUri: null };
    group.changes.push({
      ...base,
      name: input.name,
      delta: t.quantity - before,
      quantityAfterChange: t.quantity,
    });
    group.changes.push({
      ...base,
      name: other,
      delta: quantity(level, other) - beforeOther,
      quantityAfterChange: quantity(level, other),
    });
  }
  events.flush();
  return { inventoryAdjustmentGroup: group, userErrors: [] };
}

interface AdjustInput {
  name: string;
  reason: string;
  referenceDocumentUri?: string | null;
  changes: {
    inventoryItemId: string;
    locationId: string;
    delta: number;
    changeFromQuantity?: number | null;
    ledgerDocumentUri?: string | null;
  }[];
}

const ADJUSTABLE = new Set<string>([
  "available",
  "on_hand",
  "damaged",
  "incoming",
  "quality_control",
  "reserved",
  "safety_stock",
]);

/** Apply a delta to one named quantity; states that are part of on_hand move on_hand with them. */
export function applyDelta(level: InventoryLevel, name: QuantityName, delta: number, at: string): void {
  if (name === "available" || name === "on_hand") level.q.on_hand += delta;
  else if (name === "incoming") level.q.incoming += delta;
  else {
    level.q[name] += delta;
    level.q.on_hand += delta;
  }
  level.updatedAt = at;
}

export function inventoryAdjustQuantities(ctx: Ctx, input: AdjustInput) {
  const { shop } = ctx;
  const errors: Err[] = [];
  if (!ADJUSTABLE.has(input.name)) {
    errors.push(
      userError("The quantity name is not valid for adjustment.", ["input", "name"], "INVALID_QUANTITY_NAME"),
    );
  }
  if (!INVENTORY_REASONS.has(input.reason)) {
    errors.push(userError("The specified reason is invalid.", ["input", "reason"], "INVALID_REASON"));
  }
  const name = input.name as QuantityName;
  const targets: { itemId: number; locId: number; delta: number; ledger: string | null }[] = [];
  const pending = new Map<string, number>();
  input.changes.forEach((c, i) => {
    const path = ["input", "changes", String(i)];
    if (!("changeFromQuantity" in c)) {
      // The 2026-10 enum has no dedicated code for this; Shopify documents it only as "returns an error".
      errors.push(
        userError(
          "The changeFromQuantity argument must be given to each change; pass null to skip the check.",
          [...path, "changeFromQuantity"],
        ),
      );
    }
    if (name !== "available" && ADJUSTABLE.has(name) && !c.ledgerDocumentUri) {
      errors.push(
        userError(
          "A ledger document URI is required for quantity names other than available.",
          [...path, "ledgerDocumentUri"],
          "INVALID_LEDGER_DOCUMENT",
        ),
      );
    }
    if (c.ledgerDocumentUri?.startsWith("gid://shopify/")) {
      errors.push(
        userError(
          "The ledger document URI can't reference Shopify.",
          [...path, "ledgerDocumentUri"],
          "INTERNAL_LEDGER_DOCUMENT",
        ),
      );
    }
    const t = checkTarget(shop, c.inventoryItemId, c.locationId, path, errors);
    if (!t) return;
    const key = `${t[0]}:${t[1]}`;
    const level = getLevel(shop, t[0], t[1]);
    const current = (level && ADJUSTABLE.has(name) ? quantity(level, name) : 0) + (pending.get(key) ?? 0);
    if (c.changeFromQuantity != null && c.changeFromQuantity !== current) {
      errors.push(
        userError(
          "The changeFromQuantity argument no longer matches the persisted quantity.",
          [...path, "changeFromQuantity"],
          "CHANGE_FROM_QUANTITY_STALE",
        ),
      );
    }
    if (Math.abs(current + c.delta) > MAX_QUANTITY) {
      errors.push(
        userError(
          "The quantity can't be higher than 1,000,000,000.",
          [...path, "delta"],
          "INVALID_QUANTITY_TOO_HIGH",
        ),
      );
    }
    pending.set(key, (pending.get(key) ?? 0) + c.delta);
    targets.push({ itemId: t[0], locId: t[1], delta: c.delta, ledger: c.ledgerDocumentUri ?? null });
  });
  if (errors.length > 0) return { inventoryAdjustmentGroup: null, userErrors: errors };

  const at = ctx.now;
  const group = newGroup(ctx, input);
  const events = new LevelEvents(ctx.store, shop);
  for (const t of targets) {
    const level = events.touch(ensureLevel(shop, t.itemId, t.locId, at));
    applyDelta(level, name, t.delta, at);
    group.changes.push({
      name,
      delta: t.delta,
      quantityAfterChange: quantity(level, name),
      itemId: t.itemId,
      locationId: t.locId,
      ledgerDocumentUri: t.ledger,
    });
    if (name !== "on_hand" && name !== "incoming") {
      group.changes.push({
        name: "on_hand",
        delta: t.delta,
        quantityAfterChange: level.q.on_hand,
        itemId: t.itemId,
        locationId: t.locId,
        ledgerDocumentUri: t.ledger,
      });
    }
  }
  events.flush();
  return { inventoryAdjustmentGroup: group, userErrors: [] };
}

function levelsConnection(ctx: Ctx, list: InventoryLevel[], args: PageArgs) {
  return connection(list, args, ctx, (l) => sortKey(l.locationId, l.itemId));
}

export const inventoryResolvers: ResolverMap = {
  QueryRoot: {
    inventoryItem: (_s, args: { id: string }, ctx) => {
      const id = parseGid(args.id, "InventoryItem");
      return id === undefined ? null : (ctx.shop.inventoryItems.get(id) ?? null);
    },
    inventoryItems: (_s, args: PageArgs & { query?: string | null }, ctx) => {
      const q = parseSearch(args.query);
      const list = [...ctx.shop.inventoryItems.values()].filter((it) =>
        matches(
          q,
          {
            sku: itemSku(ctx.shop, it),
            id: String(it.id),
            created_at: it.createdAt,
            updated_at: it.updatedAt,
          },
          [itemSku(ctx.shop, it) ?? ""],
          ITEM_SEARCH,
        ),
      );
      return connection(list, args, ctx, (it) => it.id);
    },
    inventoryLevel: (_s, args: { id: string }, ctx) => {
      const m = /^gid:\/\/shopify\/InventoryLevel\/(\d+)\?inventory_item_id=(\d+)$/.exec(args.id);
      if (!m) return null;
      return getLevel(ctx.shop, Number(m[2]), Number(m[1])) ?? null;
    },
  },
  Mutation: {
    inventorySetQuantities: (_s, args: { input: SetInput }, ctx) => inventorySetQuantities(ctx, args.input),
    inventoryAdjustQuantities: (_s, args: { input: AdjustInput }, ctx) =>
      inventoryAdjustQuantities(ctx, args.input),
    inventoryActivate: (_s, args: ActivateArgs, ctx) => inventoryActivate(ctx, args),
  },
  InventoryActivatePayload: {
    inventoryLevel: (s) => s.inventoryLevel ?? null,
    userErrors: (s) => s.userErrors,
  },
  InventorySetQuantitiesPayload: {
    inventoryAdjustmentGroup: (s) => s.inventoryAdjustmentGroup ?? null,
    userErrors: (s) => s.userErrors,
  },
  InventoryAdjustQuantitiesPayload: {
    inventoryAdjustmentGroup: (s) => s.inventoryAdjustmentGroup ?? null,
    userErrors: (s) => s.userErrors,
  },
  InventoryAdjustmentGroup: {
    id: (g: AdjustmentGroup) => gid("InventoryAdjustmentGroup", g.id),
    createdAt: (g: AdjustmentGroup) => g.createdAt,
    reason: (g: AdjustmentGroup) => g.reason,
    referenceDocumentUri: (g: AdjustmentGroup) => g.referenceDocumentUri,
    app: () => null,
    staffMember: () => null,
    changes: (
      g: AdjustmentGroup,
      args: {
        inventoryItemIds?: string[] | null;
        locationIds?: string[] | null;
        quantityNames?: string[] | null;
      },
    ) =>
      g.changes.filter(
        (c) =>
          (!args.inventoryItemIds || args.inventoryItemIds.includes(gid("InventoryItem", c.itemId))) &&
          (!args.locationIds || args.locationIds.includes(gid("Location", c.locationId))) &&
          (!args.quantityNames || args.quantityNames.includes(c.name)),
      ),
  },
  InventoryChange: {
    name: (c: InventoryChangeOut) => c.name,
    delta: (c: InventoryChangeOut) => c.delta,
    quantityAfterChange: (c: InventoryChangeOut) => c.quantityAfterChange,
    ledgerDocumentUri: (c: InventoryChangeOut) => c.ledgerDocumentUri,
    item: (c: InventoryChangeOut, _a, ctx) => ctx.shop.inventoryItems.get(c.itemId) ?? null,
    location: (c: InventoryChangeOut, _a, ctx) => ctx.shop.locations.get(c.locationId) ?? null,
  },
  InventoryItem: {
    id: (it: InventoryItem) => gid("InventoryItem", it.id),
    legacyResourceId: (it: InventoryItem) => String(it.id),
    sku: (it: InventoryItem, _a, ctx) => itemSku(ctx.shop, it),
    tracked: (it: InventoryItem) => it.tracked,
    requiresShipping: (it: InventoryItem) => it.requiresShipping,
    createdAt: (it: InventoryItem) => it.createdAt,
    updatedAt: (it: InventoryItem) => it.updatedAt,
    variant: (it: InventoryItem, _a, ctx) => ctx.shop.variants.get(it.variantId) ?? null,
    inventoryLevel: (it: InventoryItem, args: { locationId: string }, ctx) => {
      const lid = parseGid(args.locationId, "Location");
      return lid === undefined ? null : (getLevel(ctx.shop, it.id, lid) ?? null);
    },
    inventoryLevels: (it: InventoryItem, args: PageArgs, ctx) =>
      levelsConnection(ctx, itemLevels(ctx.shop, it.id), args),
    locationsCount: (it: InventoryItem, _a, ctx) => ({
      count: itemLevels(ctx.shop, it.id).length,
      precision: "EXACT",
    }),
  },
  InventoryLevel: {
    id: (l: InventoryLevel) => levelGid(l),
    isActive: () => true,
    canDeactivate: () => true,
    createdAt: (l: InventoryLevel) => l.createdAt,
    updatedAt: (l: InventoryLevel) => l.updatedAt,
    item: (l: InventoryLevel, _a, ctx) => ctx.shop.inventoryItems.get(l.itemId) ?? null,
    location: (l: InventoryLevel, _a, ctx) => ctx.shop.locations.get(l.locationId) ?? null,
    quantities: (l: InventoryLevel, args: { names: string[] }) =>
      args.names.map((name) => {
        if (!(QUANTITY_NAMES as readonly string[]).includes(name)) {
          throw new Error(`Invalid quantity name: ${name}`);
        }
        // Not tagged: the field's type is concrete, and a bulk read makes three per level.
        return { level: l, name: name as QuantityName };
      }),
  },
  InventoryQuantity: {
    id: (q: { level: InventoryLevel; name: string }) => `${levelGid(q.level)}&name=${q.name}`,
    name: (q: { name: string }) => q.name,
    quantity: (q: { level: InventoryLevel; name: QuantityName }) => quantity(q.level, q.name),
    updatedAt: (q: { level: InventoryLevel }) => q.level.updatedAt,
  },
  Location: {
    inventoryLevel: (loc: { id: number }, args: { inventoryItemId: string }, ctx) => {
      const iid = parseGid(args.inventoryItemId, "InventoryItem");
      return iid === undefined ? null : (getLevel(ctx.shop, iid, loc.id) ?? null);
    },
    inventoryLevels: (loc: { id: number }, args: PageArgs, ctx) =>
      levelsConnection(ctx, [...ctx.shop.levels.atLocation(loc.id)], args),
  },
};

interface ActivateArgs {
  inventoryItemId: string;
  locationId: string;
  available?: number | null;
  onHand?: number | null;
}

/** Starts stocking an item at a location (creates its inventory level); an active level is returned as is. */
export function inventoryActivate(ctx: Ctx, args: ActivateArgs) {
  const errors: Err[] = [];
  const t = checkTarget(ctx.shop, args.inventoryItemId, args.locationId, [], errors);
  if (!t) return { inventoryLevel: null, userErrors: errors };
  const existing = getLevel(ctx.shop, t[0], t[1]);
  if (existing) return { inventoryLevel: existing, userErrors: [] };
  const level = ensureLevel(ctx.shop, t[0], t[1], ctx.now);
  if (args.onHand != null) setQuantity(level, "on_hand", args.onHand, ctx.now);
  if (args.available != null) setQuantity(level, "available", args.available, ctx.now);
  return { inventoryLevel: level, userErrors: [] };
}

/** The record of one inventory mutation, its changes filled in by the caller. */
function newGroup(
  ctx: Ctx,
  input: { reason: string; referenceDocumentUri?: string | null },
): AdjustmentGroup {
  return {
    id: ctx.store.nextId(),
    createdAt: ctx.now,
    reason: input.reason,
    referenceDocumentUri: input.referenceDocumentUri ?? null,
    changes: [],
  };
}

/**
 * An inventory mutation's answer as its idempotency record keeps it (admin-api.ts), the changes
 * in columns: the 1,000 answers a shop keeps, 500 changes each (a push of 250 quantities), held
 * some 160 MB as objects (a hub pushing 100,000 variants at 5 locations), some 20 MB so.
 * `unpackMutationResult` gives back an answer equal to the one packed.
 */
interface PackedChanges {
  readonly packed: "inventory-changes";
  readonly group: Omit<AdjustmentGroup, "changes">;
  readonly userErrors: unknown[];
  /** Distinct quantity names and ledger URIs; each change points at them by index. */
  readonly names: string[];
  readonly uris: (string | null)[];
  /** Per change: name index, URI index, item id, location id, delta, quantity after. */
  readonly columns: Float64Array;
}

const PACKED_WIDTH = 6;

export function packMutationResult(result: unknown): unknown {
  const r = result as { inventoryAdjustmentGroup?: AdjustmentGroup | null; userErrors?: unknown[] } | null;
  const group = r?.inventoryAdjustmentGroup;
  if (!group || !Array.isArray(group.changes) || Object.keys(r).length !== 2) return result;
  const { changes, ...meta } = group;
  const names: string[] = [];
  const uris: (string | null)[] = [];
  const indexIn = <T>(list: T[], v: T) => {
    const i = list.indexOf(v);
    return i >= 0 ? i : list.push(v) - 1;
  };
  const columns = new Float64Array(changes.length * PACKED_WIDTH);
  changes.forEach((c, i) => {
    const at = i * PACKED_WIDTH;
    columns[at] = indexIn(names, c.name);
    columns[at + 1] = indexIn(uris, c.ledgerDocumentUri);
    columns[at + 2] = c.itemId;
    columns[at + 3] = c.locationId;
    columns[at + 4] = c.delta;
    columns[at + 5] = c.quantityAfterChange;
  });
  const packed: PackedChanges = {
    packed: "inventory-changes",
    group: meta,
    userErrors: r.userErrors ?? [],
    names,
    uris,
    columns,
  };
  return packed;
}

export function unpackMutationResult(stored: unknown): unknown {
  const p = stored as PackedChanges | null;
  if (p?.packed !== "inventory-changes") return stored;
  const changes: InventoryChangeOut[] = [];
  for (let at = 0; at < p.columns.length; at += PACKED_WIDTH)
    changes.push({
      name: p.names[p.columns[at]!]!,
      delta: p.columns[at + 4]!,
      quantityAfterChange: p.columns[at + 5]!,
      itemId: p.columns[at + 2]!,
      locationId: p.columns[at + 3]!,
      ledgerDocumentUri: p.uris[p.columns[at + 1]!] ?? null,
    });
  return { inventoryAdjustmentGroup: { ...p.group, changes }, userErrors: p.userErrors };
}
