/**
 * The console's stock views on both databases: GET /stock/detail (per warehouse and per store
 * location) and GET /movements (newest first, by SKU and warehouse, keyset pages, plans on the
 * 0013 indexes at 20,000 ledger entries).
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixedClock } from "../src/core/clock.ts";
import { movementsListQuery } from "../src/inventory/console-routes.ts";
import { insertStore, insertVariants, keyWith, planOf } from "./support/console-data.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const ENTRIES = 20_000;

describe.each(DIALECTS)("console stock views (%s)", (dialect) => {
  let hub: TestHub;
  let bulkVariant: number;
  const get = (url: string, headers: Record<string, string> = hub.auth) =>
    hub.server.inject({ method: "GET", url, headers });
  const send = (method: "PUT" | "POST", url: string, payload: unknown) =>
    hub.server.inject({ method, url, headers: hub.auth, payload: payload as never });

  beforeAll(async () => {
    hub = await startTestHub(dialect, { clock: fixedClock(T0) });
    const db = hub.ctx.database.db;
    await send("PUT", "/api/v1/warehouses", {
      warehouses: [
        { code: "MAIN", name: "Main" },
        { code: "SHOP", name: "Shop floor" },
      ],
    });
    await send("PUT", "/api/v1/variants", { variants: [{ sku: "ST-1", title: "Shirt" }, { sku: "ST-2" }] });
    const at = (s: number) => new Date(T0 - 3600_000 + s * 1000).toISOString();
    const r = await send("POST", "/api/v1/movements", {
      movements: [
        { id: "m1", type: "receipt", sku: "ST-1", warehouse: "MAIN", quantity: 10, occurredAt: at(1) },
        {
          id: "m2",
          type: "transfer",
          sku: "ST-1",
          warehouse: "MAIN",
          toWarehouse: "SHOP",
          quantity: 3,
          occurredAt: at(2),
        },
        { id: "m3", type: "sale", sku: "ST-1", warehouse: "SHOP", quantity: -1, occurredAt: at(3) },
        { id: "m4", type: "receipt", sku: "ST-2", warehouse: "MAIN", quantity: 5, occurredAt: at(4) },
      ],
    });
    expect(r.statusCode, r.body).toBe(200);
    await send("PUT", "/api/v1/safety-stock", {
      items: [{ sku: "ST-1", warehouse: "MAIN", safetyStock: 2 }],
    });

    // A store with MAIN and SHOP mapped to one managed location, ST-1 linked and confirmed.
    const storeId = await insertStore(db, "stock.myshopify.com", T0);
    const ids = Object.fromEntries(
      (await db.selectFrom("warehouses").select(["id", "code"]).execute()).map((w) => [w.code, Number(w.id)]),
    );
    const v1 = Number(
      (await db.selectFrom("variants").select("id").where("sku", "=", "ST-1").executeTakeFirstOrThrow()).id,
    );
    const loc = await db
      .insertInto("store_locations")
      .values({
        store_id: storeId,
        location_gid: "gid://shopify/Location/1",
        name: "Store",
        active_in_shopify: 1,
        managed: 1,
        is_default: 1,
        updated_at: T0,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    await db
      .insertInto("location_warehouses")
      .values([
        { store_location_id: Number(loc.id), warehouse_id: ids.MAIN! },
        { store_location_id: Number(loc.id), warehouse_id: ids.SHOP! },
      ])
      .execute();
    await db
      .insertInto("variant_links")
      .values({
        store_id: storeId,
        variant_id: v1,
        product_variant_gid: "gid://shopify/ProductVariant/1",
        inventory_item_gid: "gid://shopify/InventoryItem/1",
        matched_by: "sku",
        linked_at: T0,
      })
      .execute();
    await db
      .insertInto("inventory_sync")
      .values({
        store_id: storeId,
        inventory_item_gid: "gid://shopify/InventoryItem/1",
        location_gid: "gid://shopify/Location/1",
        variant_id: v1,
        pushed: 7,
        confirmed: 6,
        confirmed_at: T0 - 1000,
        error: null,
        retry_at: null,
      })
      .execute();
    await insertStore(db, "unlinked.myshopify.com", T0);

    // Bulk ledger entries for the plans: 20,000 receipts over 1,000 variants and both warehouses.
    const bulk = await insertVariants(db, 1000, T0, "BULK-");
    bulkVariant = bulk[0]!;
    for (let i = 0; i < ENTRIES; i += 1000) {
      const ms = await db
        .insertInto("movements")
        .values(
          Array.from({ length: 1000 }, (_, k) => ({
            external_id: `bulk-${i + k}`,
            type: "receipt" as const,
            variant_id: bulk[(i + k) % 1000]!,
            warehouse_id: (i + k) % 3 === 0 ? ids.MAIN! : ids.SHOP!,
            to_warehouse_id: null,
            quantity: 1,
            occurred_at: T0,
            recorded_at: T0,
            content_hash: "h",
          })),
        )
        .returning("id")
        .execute();
      await db
        .insertInto("ledger_entries")
        .values(
          ms.map((m, k) => ({
            movement_id: Number(m.id),
            variant_id: bulk[(i + k) % 1000]!,
            warehouse_id: (i + k) % 3 === 0 ? ids.MAIN! : ids.SHOP!,
            kind: "delta" as const,
            quantity: 1,
            occurred_at: T0,
          })),
        )
        .execute();
    }
    if (dialect === "postgres") await sql`analyze`.execute(db);
  }, 120_000);
  afterAll(async () => hub?.close());

  it("stock detail: per warehouse on hand, reserved, safety and sellable; per store location expected and confirmed", async () => {
    const r = await get("/api/v1/stock/detail?sku=ST-1");
    expect(r.statusCode, r.body).toBe(200);
    const d = r.json();
    expect(d).toMatchObject({ sku: "ST-1", title: "Shirt" });
    expect(
      d.warehouses.map((w: Record<string, unknown>) => [
        w.warehouse,
        w.onHand,
        w.reserved,
        w.safetyStock,
        w.sellable,
      ]),
    ).toEqual([
      ["MAIN", 7, 0, 2, 5],
      ["SHOP", 2, 0, 0, 2],
    ]);
    expect(d.totals).toEqual({ onHand: 9, reserved: 0, safetyStock: 2, sellable: 7 });
    expect(d.stores).toEqual([
      {
        store: "stock.myshopify.com",
        linked: true,
        inventoryItemId: "gid://shopify/InventoryItem/1",
        heldBack: 0,
        locations: [
          {
            locationId: "gid://shopify/Location/1",
            name: "Store",
            warehouses: ["MAIN", "SHOP"],
            sellable: 7,
            committed: 0,
            expectedOnHand: 7,
            confirmedOnHand: 6,
            confirmedAt: T0 - 1000,
            error: null,
          },
        ],
      },
      { store: "unlinked.myshopify.com", linked: false, inventoryItemId: null, heldBack: 0, locations: [] },
    ]);
    const unknown = await get("/api/v1/stock/detail?sku=NOPE");
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.code).toBe("UNKNOWN_SKU");
  });

  it("a store's own safety stock lowers what each location may sell (never below 0), marks the store for the push, is audited and validated", async () => {
    const db = hub.ctx.database.db;
    const url = "/api/v1/stores/stock.myshopify.com/stock-rules";
    expect((await get(url)).json()).toEqual({ safetyStock: 0 });
    for (const bad of [-1, 1.5, "2", null, 1_000_001])
      expect((await send("PUT", url, { safetyStock: bad })).json().error.details[0].path, String(bad)).toBe(
        "safetyStock",
      );
    const { id: storeId } = await db
      .selectFrom("stores")
      .select("id")
      .where("domain", "=", "stock.myshopify.com")
      .executeTakeFirstOrThrow();
    await db.deleteFrom("push_dirty").where("store_id", "=", storeId).execute();
    const put = await send("PUT", url, { safetyStock: 3 });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toEqual({ safetyStock: 3 });
    const linked = await db
      .selectFrom("variant_links")
      .select("variant_id")
      .where("store_id", "=", storeId)
      .execute();
    const marked = await db
      .selectFrom("push_dirty")
      .select("variant_id")
      .where("store_id", "=", storeId)
      .execute();
    expect(marked.map((m) => m.variant_id).sort()).toEqual(linked.map((l) => l.variant_id).sort());
    const store = (await get("/api/v1/stock/detail?sku=ST-1")).json().stores[0];
    expect(store.heldBack).toBe(3);
    // The warehouses' 7 less the store's 3; Shopify's on_hand follows (nothing committed here).
    expect(store.locations[0]).toMatchObject({ sellable: 4, committed: 0, expectedOnHand: 4 });
    await send("PUT", url, { safetyStock: 50 });
    expect((await get("/api/v1/stock/detail?sku=ST-1")).json().stores[0].locations[0].sellable).toBe(0);
    const audit = (await get("/api/v1/audit?limit=10"))
      .json()
      .items.filter((i: { action: string }) => i.action === "stock_rules.update");
    expect(audit.map((i: { before: unknown; after: unknown }) => [i.before, i.after])).toEqual([
      [{ safetyStock: 3 }, { safetyStock: 50 }],
      [{ safetyStock: 0 }, { safetyStock: 3 }],
    ]);
    // Saving the same value again marks nothing.
    await db.deleteFrom("push_dirty").where("store_id", "=", storeId).execute();
    await send("PUT", url, { safetyStock: 50 });
    expect(
      await db.selectFrom("push_dirty").select("variant_id").where("store_id", "=", storeId).execute(),
    ).toEqual([]);
    await send("PUT", url, { safetyStock: 0 });
    expect((await get("/api/v1/stock/detail?sku=ST-1")).json().stores[0].locations[0].sellable).toBe(7);
  });

  it("movements newest first, a transfer on both sides, filtered by SKU and warehouse, across a cursor", async () => {
    const r = (await get("/api/v1/movements?sku=ST-1&limit=2")).json();
    expect(r.items.map((m: Record<string, unknown>) => [m.id, m.type, m.warehouse, m.quantity])).toEqual([
      ["m3", "sale", "SHOP", -1],
      ["m2", "transfer", "SHOP", 3],
    ]);
    expect(r.items[1]).toMatchObject({ fromWarehouse: "MAIN", toWarehouse: "SHOP", kind: "delta" });
    const next = (await get(`/api/v1/movements?sku=ST-1&limit=2&cursor=${r.nextCursor}`)).json();
    expect(next.items.map((m: Record<string, unknown>) => [m.id, m.warehouse, m.quantity])).toEqual([
      ["m2", "MAIN", -3],
      ["m1", "MAIN", 10],
    ]);
    expect(next.nextCursor).toBeNull();
    const shop = (await get("/api/v1/movements?sku=ST-1&warehouse=SHOP")).json();
    expect(shop.items.map((m: { id: string }) => m.id)).toEqual(["m3", "m2"]);
    const both = (await get("/api/v1/movements?sku=ST-2&warehouse=MAIN")).json();
    expect(both.items.map((m: { id: string }) => m.id)).toEqual(["m4"]);
    expect((await get("/api/v1/movements?warehouse=NOWHERE")).json().error.code).toBe("UNKNOWN_WAREHOUSE");
  });

  it("plans: movements by SKU, by warehouse and both walk an index newest first", async () => {
    const db = hub.ctx.database.db;
    const main = Number(
      (await db.selectFrom("warehouses").select("id").where("code", "=", "MAIN").executeTakeFirstOrThrow())
        .id,
    );
    const cursor = Buffer.from(JSON.stringify([15_000])).toString("base64url");
    for (const [ids, index] of [
      [{ variantId: bulkVariant }, /ledger_entries_variant_id/],
      // Half the entries are at MAIN: walking the primary key backwards is as good.
      [{ warehouseId: main }, /ledger_entries_warehouse_id|ledger_entries_pkey/],
      [
        { variantId: bulkVariant, warehouseId: main },
        /ledger_entries_(variant|warehouse)_id|ledger_entries_by_level/,
      ],
    ] as const) {
      const plan = await planOf(hub.ctx.database, movementsListQuery(db, { limit: 50, cursor }, ids));
      expect(plan, JSON.stringify(ids)).toMatch(index);
      expect(plan, plan).not.toMatch(/seq scan on (ledger_entries|movements)|temp b-tree/);
    }
  });

  it("permissions: stock.read (a stock key) reads stock; a key without it is refused", async () => {
    const stock = await keyWith(hub.ctx.database, ["stock"], T0);
    expect((await get("/api/v1/stock/detail?sku=ST-1", stock)).statusCode).toBe(200);
    expect((await get("/api/v1/movements?limit=1", stock)).statusCode).toBe(200);
    const openapi = (await get("/api/v1/openapi.json")).json();
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(["/api/v1/stock/detail", "/api/v1/movements", "/api/v1/order-search"]),
    );
  });
});
