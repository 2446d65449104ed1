// `inventory_levels/update`, Shopify's REST payload, sent once per level whose `available` or
// `on_hand` moved. Every path that changes stock (checkout, cancel, refund, fulfil, fulfilment cancel,
// order edit, the inventory mutations, productSet, control.setInventory) snapshots the levels it
// touches here before changing them, then flushes.
import { type InventoryLevel, quantity, type Shop, type Store } from "./state.ts";

export function levelPayload(level: InventoryLevel) {
  return {
    inventory_item_id: level.itemId,
    location_id: level.locationId,
    available: quantity(level, "available"),
    updated_at: level.updatedAt,
    admin_graphql_api_id: `gid://shopify/InventoryLevel/${level.locationId}?inventory_item_id=${level.itemId}`,
  };
}

export class LevelEvents {
  /** By item and location: two lookups of one level may give two views of it (levels.ts). */
  private readonly before = new Map<string, { level: InventoryLevel; available: number; onHand: number }>();

  constructor(
    private readonly store: Store,
    private readonly shop: Shop,
  ) {}

  /** Remember a level as it is before a change (the first call per level counts); returns it. */
  touch(level: InventoryLevel): InventoryLevel {
    const key = `${level.itemId}:${level.locationId}`;
    if (!this.before.has(key))
      this.before.set(key, { level, available: quantity(level, "available"), onHand: level.q.on_hand });
    return level;
  }

  /** Emit for every touched level whose available or on_hand differs from its snapshot. */
  flush(): void {
    for (const { level, available, onHand } of this.before.values()) {
      if (quantity(level, "available") !== available || level.q.on_hand !== onHand)
        this.store.emit(this.shop, "inventory_levels/update", levelPayload(level));
    }
    this.before.clear();
  }
}
