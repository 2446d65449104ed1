/**
 * The console's order views on both databases: GET /order-search (number, email, status, store,
 * keyset pages across a cursor boundary, served by the 0013 indexes at 20,000 orders) and
 * GET /orders/:id/history.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixedClock } from "../src/core/clock.ts";
import { orderSearchQuery } from "../src/orders/console-routes.ts";
import { handleWebhook } from "../src/orders/inbox.ts";
import { insertOrders, insertStore, keyWith, planOf } from "./support/console-data.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const MANY = 20_000;

describe.each(DIALECTS)("console order views (%s)", (dialect) => {
  let hub: TestHub;
  let a: number;
  let b: number;
  let orderIds: number[];
  const get = (url: string, headers: Record<string, string> = hub.auth) =>
    hub.server.inject({ method: "GET", url, headers });

  beforeAll(async () => {
    hub = await startTestHub(dialect, { clock: fixedClock(T0) });
    const db = hub.ctx.database.db;
    a = await insertStore(db, "a.myshopify.com", T0);
    b = await insertStore(db, "b.myshopify.com", T0);
    // Orders 1…MANY, one second apart (the newest is the highest number); every 100th parked,
    // store b every 10th. Orders 5001…5004 share one instant (ties broken by id).
    orderIds = await insertOrders(
      db,
      Array.from({ length: MANY }, (_, k) => {
        const n = k + 1;
        return {
          storeId: n % 10 === 0 ? b : a,
          number: n,
          createdAt: T0 - (MANY - (n >= 5001 && n <= 5004 ? 5001 : n)) * 1000,
          status: n % 100 === 0 ? ("parked" as const) : ("imported" as const),
        };
      }),
    );
    if (dialect === "postgres") await sql`analyze orders`.execute(db);
  }, 120_000);
  afterAll(async () => hub?.close());

  it("finds an order by number with or without #, and by email in any case", async () => {
    for (const q of ["1234", "%231234", "%20%231234%20"]) {
      const r = await get(`/api/v1/order-search?q=${q}`);
      expect(r.statusCode).toBe(200);
      expect(r.json().items.map((i: { name: string }) => i.name)).toEqual(["#1234"]);
    }
    const byEmail = (await get("/api/v1/order-search?q=BUYER777@Example.com")).json();
    expect(byEmail.items).toHaveLength(1);
    expect(byEmail.items[0]).toEqual({
      id: orderIds[776],
      store: "a.myshopify.com",
      name: "#777",
      email: "buyer777@example.com",
      createdAt: T0 - (MANY - 777) * 1000,
      status: {
        hub: "imported",
        financial: "paid",
        fulfillment: null,
        cancelled: false,
        parked: false,
        reason: null,
      },
      total: "10.00",
      currency: "EUR",
    });
    expect(byEmail.nextCursor).toBeNull();
    expect((await get("/api/v1/order-search?q=nobody@example.com")).json().items).toEqual([]);
  });

  it("pages newest first across cursor boundaries, ties broken by id, with store and status filters", async () => {
    const first = (await get("/api/v1/order-search?limit=3")).json();
    expect(first.items.map((i: { name: string }) => i.name)).toEqual(["#20000", "#19999", "#19998"]);
    const second = (await get(`/api/v1/order-search?limit=3&cursor=${first.nextCursor}`)).json();
    expect(second.items.map((i: { name: string }) => i.name)).toEqual(["#19997", "#19996", "#19995"]);
    // The four orders of one instant, split by a page boundary: none lost, none twice.
    let cursor = "";
    const seen: string[] = [];
    const after5005 = (await get("/api/v1/order-search?q=5005")).json().items[0];
    const start = Buffer.from(JSON.stringify([after5005.createdAt, after5005.id])).toString("base64url");
    cursor = start;
    for (let i = 0; i < 3; i++) {
      const page = (await get(`/api/v1/order-search?limit=2&cursor=${cursor}`)).json();
      seen.push(...page.items.map((x: { name: string }) => x.name));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(["#5004", "#5003", "#5002", "#5001", "#5000", "#4999"]);

    const parkedB = (await get("/api/v1/order-search?store=b.myshopify.com&status=parked&limit=2")).json();
    expect(parkedB.items.map((i: { name: string }) => i.name)).toEqual(["#20000", "#19900"]);
    expect(parkedB.items[0].status).toMatchObject({ hub: "parked", parked: true, reason: "unknown SKU X" });
    const next = (
      await get(
        `/api/v1/order-search?store=b.myshopify.com&status=parked&limit=2&cursor=${parkedB.nextCursor}`,
      )
    ).json();
    expect(next.items.map((i: { name: string }) => i.name)).toEqual(["#19800", "#19700"]);
    expect((await get("/api/v1/order-search?store=b.myshopify.com&q=1234")).json().items).toEqual([]);
  });

  it("refuses bad cursors and unknown stores in the error envelope", async () => {
    const bad = await get("/api/v1/order-search?cursor=notacursor");
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details[0].code).toBe("INVALID_CURSOR");
    expect((await get("/api/v1/order-search?store=zz.myshopify.com")).json().error.code).toBe(
      "UNKNOWN_STORE",
    );
  });

  it("every search shape is served by an index, never a scan of the orders", async () => {
    const db = hub.ctx.database.db;
    const base = { limit: 50 } as const;
    const cursor = Buffer.from(JSON.stringify([T0 - 100_000, 19_900])).toString("base64url");
    const shapes = [
      { query: base, store: undefined, index: "orders_created" },
      { query: { ...base, cursor }, store: undefined, index: "orders_created" },
      { query: { ...base, status: "parked" as const }, store: undefined, index: "orders_status_created" },
      { query: base, store: b, index: "orders_store_created" },
      {
        query: { ...base, status: "parked" as const, cursor },
        store: b,
        index: "orders_store_status_created",
      },
      { query: { ...base, q: "1234" }, store: undefined, index: "orders_name" },
      { query: { ...base, q: "buyer1@example.com" }, store: a, index: "orders_email" },
    ];
    for (const s of shapes) {
      const plan = await planOf(hub.ctx.database, orderSearchQuery(db, s.query, s.store));
      expect(plan, JSON.stringify(s.query)).toContain(s.index);
      expect(plan).not.toMatch(/seq scan on orders|scan o\b(?! using)/);
      if (!("q" in s.query)) expect(plan).not.toContain("temp b-tree");
    }
  });

  it("an order's history: webhooks, feed, reservation, payment, shipment, fulfillment, refund, tag, outbound, in time order", async () => {
    const db = hub.ctx.database.db;
    const [orderId] = await insertOrders(db, [
      { storeId: a, number: 90001, createdAt: T0 - 10_000, importedAt: T0 - 8_000 },
    ]);
    const gid = `gid://shopify/Order/${a}90001`;
    const id = Number(gid.split("/").at(-1));
    await handleWebhook(hub.ctx, {
      shop: "a.myshopify.com",
      topic: "orders/create",
      webhookId: "h-1",
      rawBody: JSON.stringify({ id }),
    });
    await handleWebhook(hub.ctx, {
      shop: "a.myshopify.com",
      topic: "refunds/create",
      webhookId: "h-2",
      rawBody: JSON.stringify({ id: 5, order_id: id }),
    });
    await handleWebhook(hub.ctx, {
      shop: "a.myshopify.com",
      topic: "orders/create",
      webhookId: "h-3",
      rawBody: JSON.stringify({ id: 1 }),
    });
    const now = T0 - 7_000;
    await db.insertInto("order_feed").values({ order_id: orderId!, created_at: now }).execute();
    const wh = await db
      .insertInto("warehouses")
      .values({ code: "H1", name: "H1", created_at: now, updated_at: now })
      .returning("id")
      .executeTakeFirstOrThrow();
    const v = await db
      .insertInto("variants")
      .values({
        sku: "HIST-1",
        barcode: null,
        title: null,
        option1: null,
        option2: null,
        option3: null,
        created_at: now,
        updated_at: now,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    await db
      .insertInto("reservations")
      .values({ order_id: orderId!, variant_id: Number(v.id), warehouse_id: Number(wh.id), quantity: 1 })
      .execute();
    const sh = await db
      .insertInto("shipments")
      .values({
        store_id: a,
        order_id: orderId!,
        external_id: "SH-1",
        content_hash: "h",
        warehouse_id: Number(wh.id),
        notify_customer: 0,
        status: "applied",
        reason: null,
        attempts: 1,
        next_attempt_at: now,
        tracking_pending: 0,
        created_at: T0 - 6_000,
        updated_at: T0 - 5_000,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    await db
      .insertInto("shipment_lines")
      .values({
        shipment_id: Number(sh.id),
        shopify_line_gid: "gid://shopify/LineItem/1",
        sku: "HIST-1",
        variant_id: Number(v.id),
        quantity: 1,
      })
      .execute();
    await db
      .insertInto("shipment_fulfillments")
      .values({
        shipment_id: Number(sh.id),
        fulfillment_order_gid: "gid://shopify/FulfillmentOrder/1",
        fulfillment_gid: "gid://shopify/Fulfillment/1",
        lines: "[]",
        status: "done",
        last_error: null,
        created_at: T0 - 5_000,
      })
      .execute();
    await db
      .insertInto("refunds")
      .values({
        store_id: a,
        order_id: orderId!,
        shopify_refund_gid: "gid://shopify/Refund/5",
        restock_rule: "none",
        restock_warehouse_id: null,
        lines: JSON.stringify([{ sku: "HIST-1", quantity: 1 }]),
        source: "webhook",
        shopify_created_at: T0 - 4_000,
        created_at: T0 - 4_000,
      })
      .execute();
    await db
      .insertInto("order_tag_jobs")
      .values({
        store_id: a,
        shopify_order_gid: gid,
        tag: "imported",
        status: "done",
        attempts: 1,
        next_attempt_at: now,
        last_error: null,
        created_at: T0 - 3_000,
      })
      .execute();
    await db
      .insertInto("outbound_events")
      .values({
        event_id: "ev-1",
        store_id: a,
        order_id: orderId!,
        type: "order.created",
        payload: "{}",
        status: "dead",
        attempts: 10,
        next_attempt_at: now,
        last_error: "HTTP 500",
        created_at: T0 - 2_000,
        delivered_at: null,
      })
      .execute();

    const r = await get(`/api/v1/orders/${orderId}/history`);
    expect(r.statusCode).toBe(200);
    const events = r.json().events as { at: number; kind: string; summary: string }[];
    expect(events.map((e) => e.at)).toEqual([...events.map((e) => e.at)].sort((x, y) => x - y));
    const kinds = events.map((e) => e.kind);
    for (const k of [
      "order",
      "webhook",
      "feed",
      "reservation",
      "shipment",
      "fulfillment",
      "refund",
      "tag",
      "outbound",
    ])
      expect(kinds, k).toContain(k);
    // Only this order's two deliveries (the third concerns another order).
    expect(events.filter((e) => e.kind === "webhook").map((e) => e.summary)).toEqual([
      "orders/create received (pending)",
      "refunds/create received (pending)",
    ]);
    expect(events.find((e) => e.kind === "outbound")!.summary).toContain("dead");
    expect((await get("/api/v1/orders/99999999/history")).json().error.code).toBe("NOT_FOUND");
  });

  it("needs orders.read: a stock key gets 403, an orders key and a read key get in", async () => {
    const stock = await keyWith(hub.ctx.database, ["stock"], T0);
    expect((await get("/api/v1/order-search", stock)).statusCode).toBe(403);
    expect((await get(`/api/v1/orders/${orderIds[0]}/history`, stock)).statusCode).toBe(403);
    const orders = await keyWith(hub.ctx.database, ["orders"], T0 + 1);
    expect((await get("/api/v1/order-search?limit=1", orders)).statusCode).toBe(200);
    const read = await keyWith(hub.ctx.database, ["read"], T0 + 2);
    expect((await get(`/api/v1/orders/${orderIds[0]}/history`, read)).statusCode).toBe(200);
  });
});
