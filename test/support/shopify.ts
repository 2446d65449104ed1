/**
 * A store in the emulator, and the same store connected to a hub directly in its tables (for
 * tests of one flow; the connection flows themselves are tested in test/shops-*.test.ts).
 */
import { type Emulator, startEmulator } from "../../emulator/index.ts";
import type { Db } from "../../src/db/database.ts";
import type { FlowName } from "../../src/db/tables.ts";
import { INSTALL_SCOPES } from "../../src/shops/scopes.ts";

export const APP_SCOPES = INSTALL_SCOPES;

export interface EmulatedStore {
  readonly emulator: Emulator;
  readonly domain: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly token: string;
  readonly locations: readonly { id: string; name: string }[];
  readonly variants: readonly {
    sku: string;
    variantId: string;
    inventoryItemId: string;
    barcode: string | null;
  }[];
}

export async function emulatedStore(options: {
  emulator?: Emulator;
  domain?: string;
  skus: readonly string[];
  locations?: readonly string[];
  /** Shopify's `available` before the hub connects, per SKU index and location index. */
  initial?: (skuIndex: number, locationIndex: number) => number;
  plan?: "standard" | "advanced" | "plus";
  bucketSize?: number;
}): Promise<EmulatedStore> {
  const emulator = options.emulator ?? (await startEmulator());
  const domain = options.domain ?? "test-store.myshopify.com";
  const app = emulator.control.createApp({ name: "Tillbridge", scopes: [...APP_SCOPES] });
  emulator.control.createShop({
    domain,
    plan: options.plan ?? "standard",
    ...(options.bucketSize ? { bucketSize: options.bucketSize } : {}),
  });
  const locations = (options.locations ?? ["Warehouse", "Shop floor"]).map((name) =>
    emulator.control.createLocation(domain, { name }),
  );
  const variants: EmulatedStore["variants"][number][] = [];
  // One product per 10 SKUs, as a catalog of sizes would be.
  for (let i = 0; i < options.skus.length; i += 10) {
    const product = emulator.control.createProduct(domain, {
      title: `Product ${i / 10}`,
      variants: options.skus.slice(i, i + 10).map((sku, j) => ({
        sku,
        barcode: `BC-${sku}`,
        price: "10.00",
        options: [{ name: "Size", value: `S${j}` }],
        inventory: Object.fromEntries(locations.map((l, li) => [l.id, options.initial?.(i + j, li) ?? 0])),
      })),
    });
    for (const v of product.variants)
      variants.push({ sku: v.sku!, variantId: v.id, inventoryItemId: v.inventoryItemId, barcode: v.barcode });
  }
  const { accessToken } = emulator.control.mintToken({ shop: domain, clientId: app.clientId });
  return {
    emulator,
    domain,
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    token: accessToken,
    locations: locations.map((l) => ({ id: l.id, name: l.name })),
    variants,
  };
}

/** Shopify's `available` for a SKU at a location, as the emulator holds it. */
export function shopifyAvailable(store: EmulatedStore, sku: string, locationId: string): number {
  const level = store.emulator.control.getInventoryLevel(store.domain, { sku, locationId });
  return level ? Number(level.available) : 0;
}

/** Shopify's `available`, `committed` and `on_hand` for a SKU at a location. */
export function shopifyLevel(
  store: EmulatedStore,
  sku: string,
  locationId: string,
): { available: number; committed: number; onHand: number } {
  const level = store.emulator.control.getInventoryLevel(store.domain, { sku, locationId });
  return {
    available: Number(level?.available ?? 0),
    committed: Number(level?.committed ?? 0),
    onHand: Number(level?.on_hand ?? 0),
  };
}

/**
 * Writes the connection, mapping and links straight into the hub's tables, with the inventory
 * flow enabled. `mapping[i]` lists the warehouse codes mapped to location i.
 */
export async function connectDirectly(
  db: Db,
  store: EmulatedStore,
  mapping: readonly (readonly string[])[],
  options: {
    mode?: "absolute" | "delta";
    confirmed?: "shopify" | "unknown";
    enabledFlows?: readonly FlowName[];
  } = {},
): Promise<number> {
  const now = Date.now();
  const { id: storeId } = await db
    .insertInto("stores")
    .values({
      domain: store.domain,
      name: store.domain,
      auth_kind: "custom_app",
      access_token_enc: null,
      access_token_expires_at: null,
      refresh_token_enc: null,
      refresh_token_expires_at: null,
      scopes: APP_SCOPES.join(","),
      status: "active",
      status_reason: null,
      inventory_mode: options.mode ?? "absolute",
      connected_at: now,
      disconnected_at: null,
      updated_at: now,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  const warehouses = new Map(
    (await db.selectFrom("warehouses").select(["id", "code"]).execute()).map((w) => [w.code, w.id]),
  );
  for (const [i, loc] of store.locations.entries()) {
    const { id } = await db
      .insertInto("store_locations")
      .values({
        store_id: storeId,
        location_gid: loc.id,
        name: loc.name,
        active_in_shopify: 1,
        managed: (mapping[i]?.length ?? 0) > 0 ? 1 : 0,
        is_default: i === 0 ? 1 : 0,
        updated_at: now,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    for (const code of mapping[i] ?? [])
      await db
        .insertInto("location_warehouses")
        .values({ store_location_id: id, warehouse_id: warehouses.get(code)! })
        .execute();
  }
  const variants = new Map(
    (await db.selectFrom("variants").select(["id", "sku"]).execute()).map((v) => [v.sku, v.id]),
  );
  for (const v of store.variants) {
    const variantId = variants.get(v.sku);
    if (variantId === undefined) continue;
    await db
      .insertInto("variant_links")
      .values({
        store_id: storeId,
        variant_id: variantId,
        product_variant_gid: v.variantId,
        inventory_item_gid: v.inventoryItemId,
        matched_by: "sku",
        linked_at: now,
      })
      .execute();
    if (options.confirmed !== "unknown") {
      for (const loc of store.locations) {
        await db
          .insertInto("inventory_sync")
          .values({
            store_id: storeId,
            inventory_item_gid: v.inventoryItemId,
            location_gid: loc.id,
            variant_id: variantId,
            pushed: null,
            confirmed: shopifyLevel(store, v.sku, loc.id).onHand,
            confirmed_at: now,
          })
          .execute();
      }
    }
  }
  const enabled = new Set(options.enabledFlows ?? ["inventory_push", "order_intake", "fulfillment_push"]);
  for (const flow of ["inventory_push", "order_intake", "fulfillment_push", "catalog_import"] as const) {
    await db
      .insertInto("flows")
      .values({
        store_id: storeId,
        flow,
        state: enabled.has(flow) ? "enabled" : "disabled",
        updated_at: now,
      })
      .execute();
  }
  return storeId;
}
