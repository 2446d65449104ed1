/**
 * The console's shipment list and store catalog on both databases: shapes, filters, pages across
 * a cursor boundary, permissions, and plans served by indexes at 20,000 variants and shipments.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogVariantQuery } from "../src/catalog/console-routes.ts";
import { fixedClock } from "../src/core/clock.ts";
import { shipmentListQuery } from "../src/fulfillment/console-routes.ts";
import { insertOrders, insertStore, insertVariants, keyWith, planOf } from "./support/console-data.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const VARIANTS = 20_000;
const SHIPMENTS = 20_000;

describe.each(DIALECTS)("console catalog and shipments (%s)", (dialect) => {
  let hub: TestHub;
  let a: number;
  let b: number;
  let variantIds: number[];
  const get = (url: string, headers: Record<string, string> = hub.auth) =>
    hub.server.inject({ method: "GET", url, headers });

  beforeAll(async () => {
    hub = await startTestHub(dialect, { clock: fixedClock(T0) });
    const db = hub.ctx.database.db;
    a = await insertStore(db, "cat.myshopify.com", T0);
    b = await insertStore(db, "other.myshopify.com", T0);
    variantIds = await insertVariants(db, VARIANTS, T0);
    // Every variant but each 7th is linked to store a.
    const links = variantIds
      .map((id, i) => ({ id, i }))
      .filter(({ i }) => i % 7 !== 0)
      .map(({ id, i }) => ({
        store_id: a,
        variant_id: id,
        product_variant_gid: `gid://shopify/ProductVariant/${i}`,
        inventory_item_gid: `gid://shopify/InventoryItem/${i}`,
        matched_by: "sku" as const,
        linked_at: T0,
      }));
    for (let i = 0; i < links.length; i += 500)
      await db
        .insertInto("variant_links")
        .values(links.slice(i, i + 500))
        .execute();
    await db
      .insertInto("link_problems")
      .values([
        {
          store_id: a,
          kind: "duplicate_sku_in_shopify",
          sku: "SKU-00000",
          barcode: null,
          product_variant_gid: "gid://shopify/ProductVariant/a",
          detail: "2 Shopify variants have SKU SKU-00000",
          detected_at: T0,
        },
        {
          store_id: a,
          kind: "not_in_hub",
          sku: "ONLY-SHOPIFY",
          barcode: null,
          product_variant_gid: "gid://shopify/ProductVariant/z",
          detail: "no hub variant has SKU ONLY-SHOPIFY",
          detected_at: T0,
        },
        {
          store_id: a,
          kind: "not_in_shopify",
          sku: "SKU-00007",
          barcode: null,
          product_variant_gid: null,
          detail: "no Shopify variant has SKU SKU-00007",
          detected_at: T0,
        },
      ])
      .execute();

    const wh = await db
      .insertInto("warehouses")
      .values({ code: "W1", name: "W1", created_at: T0, updated_at: T0 })
      .returning("id")
      .executeTakeFirstOrThrow();
    const [oa, ob] = await insertOrders(db, [
      { storeId: a, number: 1, createdAt: T0 },
      { storeId: b, number: 2, createdAt: T0 },
    ]);
    const statuses = ["applied", "pending", "failed", "partially_applied"] as const;
    for (let i = 0; i < SHIPMENTS; i += 1000)
      await db
        .insertInto("shipments")
        .values(
          Array.from({ length: 1000 }, (_, k) => {
            const n = i + k;
            return {
              store_id: n % 20 === 0 ? a : b,
              order_id: n % 20 === 0 ? oa! : ob!,
              external_id: `SH-${n}`,
              content_hash: "h",
              warehouse_id: Number(wh.id),
              notify_customer: 0,
              status: n % 100 === 0 ? statuses[2] : statuses[n % 20 === 0 ? 0 : 1],
              reason: n % 100 === 0 ? "Shopify refused: line already fulfilled" : null,
              attempts: 1,
              next_attempt_at: T0,
              tracking_pending: 0,
              created_at: T0 + n,
              updated_at: T0 + n,
            };
          }),
        )
        .execute();
    const last = await db
      .selectFrom("shipments")
      .select("id")
      .where("external_id", "=", `SH-${SHIPMENTS - 20}`)
      .executeTakeFirstOrThrow();
    await db
      .insertInto("shipment_lines")
      .values([
        {
          shipment_id: Number(last.id),
          shopify_line_gid: "gid://shopify/LineItem/1",
          sku: "SKU-00001",
          variant_id: variantIds[1]!,
          quantity: 3,
          fulfilled_quantity: 1,
        },
        {
          shipment_id: Number(last.id),
          shopify_line_gid: "gid://shopify/LineItem/2",
          sku: "SKU-00002",
          variant_id: variantIds[2]!,
          quantity: 1,
          fulfilled_quantity: 0,
        },
      ])
      .execute();
    await db
      .insertInto("shipment_packages")
      .values({
        shipment_id: Number(last.id),
        carrier: "DHL",
        tracking_number: "TRK1",
        tracking_url: "https://t.example/TRK1",
      })
      .execute();
    await db
      .insertInto("shipment_fulfillments")
      .values({
        shipment_id: Number(last.id),
        fulfillment_order_gid: "gid://shopify/FulfillmentOrder/1",
        fulfillment_gid: "gid://shopify/Fulfillment/1",
        lines: "[]",
        status: "done",
        last_error: null,
        created_at: T0,
      })
      .execute();
    if (dialect === "postgres") await sql`analyze`.execute(db);
  }, 120_000);
  afterAll(async () => hub?.close());

  it("lists shipments newest first with order, lines, tracking and Shopify's fulfillment state", async () => {
    const r = await get("/api/v1/shipments?store=cat.myshopify.com&limit=2");
    expect(r.statusCode).toBe(200);
    const page = r.json();
    expect(page.items.map((s: { id: string }) => s.id)).toEqual([
      `SH-${SHIPMENTS - 20}`,
      `SH-${SHIPMENTS - 40}`,
    ]);
    expect(page.items[0]).toMatchObject({
      store: "cat.myshopify.com",
      order: { name: "#1" },
      warehouse: "W1",
      status: "applied",
      shopifyState: "partially_fulfilled",
      unitsShipped: 4,
      unitsFulfilledInShopify: 1,
      tracking: [{ carrier: "DHL", number: "TRK1", url: "https://t.example/TRK1" }],
      fulfillments: [{ fulfillmentId: "gid://shopify/Fulfillment/1", status: "done", error: null }],
      error: null,
    });
    const next = (
      await get(`/api/v1/shipments?store=cat.myshopify.com&limit=2&cursor=${page.nextCursor}`)
    ).json();
    expect(next.items.map((s: { id: string }) => s.id)).toEqual([
      `SH-${SHIPMENTS - 60}`,
      `SH-${SHIPMENTS - 80}`,
    ]);
    const failed = (await get("/api/v1/shipments?status=failed&limit=3")).json();
    expect(failed.items.map((s: { id: string }) => s.id)).toEqual(["SH-19900", "SH-19800", "SH-19700"]);
    expect(failed.items[0].error).toContain("Shopify refused");
    const all = (await get("/api/v1/shipments?limit=1")).json();
    expect(all.items[0].id).toBe(`SH-${SHIPMENTS - 1}`);
  });

  it("lists the catalog with link state, ids and problems, across a cursor boundary", async () => {
    const first = (await get("/api/v1/stores/cat.myshopify.com/catalog?limit=8")).json();
    expect(first.items.map((i: { sku: string }) => i.sku)).toEqual(
      Array.from({ length: 8 }, (_, k) => `SKU-0000${k}`),
    );
    expect(first.items[0]).toMatchObject({
      state: "problem",
      problem: { kind: "duplicate_sku_in_shopify" },
      inventoryItemId: null,
    });
    expect(first.items[1]).toEqual({
      variantId: variantIds[1],
      sku: "SKU-00001",
      barcode: "BC1",
      title: "Variant 1",
      state: "linked",
      shopifyVariantId: "gid://shopify/ProductVariant/1",
      inventoryItemId: "gid://shopify/InventoryItem/1",
      matchedBy: "sku",
      problem: null,
    });
    const second = (
      await get(`/api/v1/stores/cat.myshopify.com/catalog?limit=8&cursor=${first.nextCursor}`)
    ).json();
    expect(second.items[0].sku).toBe("SKU-00008");

    const unlinked = (await get("/api/v1/stores/cat.myshopify.com/catalog?state=unlinked&limit=3")).json();
    expect(unlinked.items.map((i: { sku: string; state: string }) => [i.sku, i.state])).toEqual([
      ["SKU-00000", "problem"],
      ["SKU-00007", "problem"],
      ["SKU-00014", "unlinked"],
    ]);
    const linked = (await get("/api/v1/stores/cat.myshopify.com/catalog?state=linked&limit=2")).json();
    expect(linked.items.map((i: { sku: string }) => i.sku)).toEqual(["SKU-00001", "SKU-00002"]);
    const problems = (await get("/api/v1/stores/cat.myshopify.com/catalog?state=problem&limit=2")).json();
    expect(problems.items.map((i: { sku: string }) => i.sku)).toEqual(["SKU-00000", "ONLY-SHOPIFY"]);
    expect(problems.items[1]).toMatchObject({
      variantId: null,
      shopifyVariantId: "gid://shopify/ProductVariant/z",
      problem: { reason: "no hub variant has SKU ONLY-SHOPIFY" },
    });
    const more = (
      await get(
        `/api/v1/stores/cat.myshopify.com/catalog?state=problem&limit=2&cursor=${problems.nextCursor}`,
      )
    ).json();
    expect(more.items.map((i: { sku: string }) => i.sku)).toEqual(["SKU-00007"]);
    expect(more.nextCursor).toBeNull();
    // Another store has no links: everything unlinked.
    expect((await get("/api/v1/stores/other.myshopify.com/catalog?state=linked")).json().items).toEqual([]);
  });

  it("searches the catalog by SKU prefix or barcode, paging by SKU", async () => {
    const p = (await get("/api/v1/stores/cat.myshopify.com/catalog?q=SKU-0001&limit=4")).json();
    expect(p.items.map((i: { sku: string }) => i.sku)).toEqual([
      "SKU-00010",
      "SKU-00011",
      "SKU-00012",
      "SKU-00013",
    ]);
    const p2 = (
      await get(`/api/v1/stores/cat.myshopify.com/catalog?q=SKU-0001&limit=4&cursor=${p.nextCursor}`)
    ).json();
    expect(p2.items.map((i: { sku: string }) => i.sku)).toEqual([
      "SKU-00014",
      "SKU-00015",
      "SKU-00016",
      "SKU-00017",
    ]);
    const bc = (await get("/api/v1/stores/cat.myshopify.com/catalog?q=BC12345")).json();
    expect(bc.items.map((i: { sku: string }) => i.sku)).toEqual(["SKU-12345"]);
    const bad = await get("/api/v1/stores/cat.myshopify.com/catalog?cursor=eyJ4Ijo1fQ");
    expect(bad.json().error.details[0].code).toBe("INVALID_CURSOR");
  });

  it("plans: every list shape is served by an index", async () => {
    const db = hub.ctx.database.db;
    const cursorId = Buffer.from(JSON.stringify(["i", 10_000])).toString("base64url");
    const checks: [string, { compile(): { sql: string; parameters: readonly unknown[] } }, RegExp][] = [
      ["catalog", catalogVariantQuery(db, a, { limit: 50, cursor: cursorId }), /variants_pkey|primary key/],
      [
        "catalog linked",
        catalogVariantQuery(db, a, { limit: 50, state: "linked" }),
        /variant_links|pkey|primary key/,
      ],
      ["catalog q", catalogVariantQuery(db, a, { limit: 50, q: "SKU-123" }), /sku/],
      ["shipments", shipmentListQuery(db, { limit: 50 }, undefined), /shipments_pkey|^scan s$/m],
      ["shipments store", shipmentListQuery(db, { limit: 50 }, a), /shipments_store_id/],
      [
        "shipments status",
        shipmentListQuery(db, { limit: 50, status: "failed" }, undefined),
        /shipments_status_id/,
      ],
      [
        "shipments store status",
        shipmentListQuery(db, { limit: 50, status: "failed" }, a),
        /shipments_store_status_id/,
      ],
    ];
    for (const [name, query, index] of checks) {
      const plan = await planOf(hub.ctx.database, query);
      expect(plan, name).toMatch(index);
      expect(plan, `${name}\n${plan}`).not.toMatch(
        // SQLite's `scan s` alone is a walk of the table in id order (stopped by the limit);
        // a scan that sorts afterwards would add a temp b-tree.
        // (a search sorts its matches, found through the SKU and barcode indexes).
        name.endsWith(" q")
          ? /seq scan on variants|scan v\b(?! using)/
          : /seq scan on (variants|shipments|variant_links)|temp b-tree/,
      );
    }
  });

  it("permissions: shipments need orders.read, the catalog store.read", async () => {
    const stock = await keyWith(hub.ctx.database, ["stock"], T0);
    expect((await get("/api/v1/shipments", stock)).statusCode).toBe(403);
    expect((await get("/api/v1/stores/cat.myshopify.com/catalog", stock)).statusCode).toBe(403);
    const orders = await keyWith(hub.ctx.database, ["orders"], T0 + 1);
    expect((await get("/api/v1/shipments?limit=1", orders)).statusCode).toBe(200);
    expect((await get("/api/v1/stores/cat.myshopify.com/catalog", orders)).statusCode).toBe(403);
    const read = await keyWith(hub.ctx.database, ["read"], T0 + 2);
    expect((await get("/api/v1/stores/cat.myshopify.com/catalog?limit=1", read)).statusCode).toBe(200);
  });
});
