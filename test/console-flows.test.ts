/**
 * The console's flow views on both databases: GET /stores/:domain/flows (status, backlog, lag,
 * last success, never contradicting each other) and GET /stores/:domain/series (the sampled
 * time series, bounded).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixedClock } from "../src/core/clock.ts";
import { flowStatus } from "../src/shops/flow-status.ts";
import { SERIES_KEEP_MS, sampleSeries } from "../src/shops/series.ts";
import { insertOrders, insertStore, keyWith } from "./support/console-data.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);

describe.each(DIALECTS)("console flow views (%s)", (dialect) => {
  let hub: TestHub;
  const clock = fixedClock(T0);
  let storeId: number;
  const get = (url: string, headers: Record<string, string> = hub.auth) =>
    hub.server.inject({ method: "GET", url, headers });

  beforeAll(async () => {
    hub = await startTestHub(dialect, { clock });
    const db = hub.ctx.database.db;
    storeId = await insertStore(db, "flows.myshopify.com", T0, {
      inventory_push: "enabled",
      order_intake: "paused",
      fulfillment_push: "enabled",
    });
    await db
      .updateTable("flows")
      .set({ failure: "Shopify refused the token", failed_at: T0 })
      .where("store_id", "=", storeId)
      .where("flow", "=", "fulfillment_push")
      .execute();
  });
  afterAll(async () => hub?.close());

  it("reports each flow's status, backlog, lag and last success from the hub's own rows", async () => {
    const db = hub.ctx.database.db;
    const variants = await db
      .insertInto("variants")
      .values(
        [1, 2, 3].map((i) => ({
          sku: `F-${i}`,
          barcode: null,
          title: null,
          option1: null,
          option2: null,
          option3: null,
          created_at: T0,
          updated_at: T0,
        })),
      )
      .returning("id")
      .execute();
    await db
      .insertInto("push_dirty")
      .values(
        variants.map((v, i) => ({
          store_id: storeId,
          variant_id: Number(v.id),
          first_marked_at: T0 - (i + 1) * 10_000,
          generation: 1,
        })),
      )
      .execute();
    await db
      .insertInto("push_batches")
      .values({
        store_id: storeId,
        idempotency_key: "b1",
        mode: "delta",
        payload: "{}",
        status: "done",
        attempts: 1,
        last_error: null,
        created_at: T0 - 60_000,
        finished_at: T0 - 50_000,
      })
      .execute();
    await db
      .insertInto("webhook_inbox")
      .values({
        webhook_id: "w1",
        shop: "flows.myshopify.com",
        topic: "orders/create",
        body: "{}",
        received_at: T0 - 5_000,
        status: "pending",
        attempts: 0,
        next_attempt_at: T0,
        last_error: null,
        processed_at: null,
      })
      .execute();
    await insertOrders(db, [{ storeId, number: 1001, createdAt: T0 - 100_000, importedAt: T0 - 90_000 }]);

    const r = await get("/api/v1/stores/flows.myshopify.com/flows");
    expect(r.statusCode).toBe(200);
    const items = r.json().items as Record<string, unknown>[];
    expect(items.map((i) => i.flow)).toEqual([
      "inventory_push",
      "order_intake",
      "fulfillment_push",
      "catalog_import",
      "catalog_publish",
      "customer_publish",
    ]);
    expect(items[0]).toEqual({
      flow: "inventory_push",
      state: "enabled",
      status: "running",
      reason: null,
      backlog: 3,
      lagSeconds: 30,
      lastSuccessAt: T0 - 50_000,
    });
    expect(items[1]).toMatchObject({
      status: "paused",
      backlog: 1,
      lagSeconds: 5,
      lastSuccessAt: T0 - 90_000,
    });
    expect(items[2]).toMatchObject({
      status: "failing",
      reason: "Shopify refused the token",
      backlog: 0,
      lagSeconds: null,
    });
    expect(items[3]).toMatchObject({ status: "disabled", backlog: 0, lagSeconds: null, lastSuccessAt: null });
    for (const i of items) {
      // Never contradictory: a lag exactly when something waits; failing and disconnected say why.
      expect(i.lagSeconds === null).toBe(i.backlog === 0);
      if (i.status === "failing" || i.status === "disconnected") expect(i.reason).toBeTruthy();
      if (i.status === "running") expect(i.reason).toBeNull();
    }
  });

  it("a disconnected store's flows are all disconnected, with the store's reason", async () => {
    const db = hub.ctx.database.db;
    const id = await insertStore(db, "gone.myshopify.com", T0, { inventory_push: "enabled" });
    await db
      .updateTable("stores")
      .set({ status: "disconnected", status_reason: "app uninstalled" })
      .where("id", "=", id)
      .execute();
    const items = (await get("/api/v1/stores/gone.myshopify.com/flows")).json().items as {
      status: string;
      reason: string;
    }[];
    expect(new Set(items.map((i) => i.status))).toEqual(new Set(["disconnected"]));
    expect(items[0]!.reason).toBe("app uninstalled");
    expect(
      flowStatus({ state: "paused", failure: "x", storeStatus: "active", storeReason: null }).status,
    ).toBe("failing");
  });

  it("a failed push batch after the last success makes the push failing, with Shopify's error", async () => {
    const db = hub.ctx.database.db;
    await db
      .insertInto("push_batches")
      .values({
        store_id: storeId,
        idempotency_key: "b2",
        mode: "delta",
        payload: "{}",
        status: "failed",
        attempts: 5,
        last_error: "Internal error",
        created_at: T0 - 1000,
        finished_at: T0,
      })
      .execute();
    const push = (await get("/api/v1/stores/flows.myshopify.com/flows")).json().items[0];
    expect(push).toMatchObject({ status: "failing", backlog: 3 });
    expect(push.reason).toContain("Internal error");
    await db.deleteFrom("push_batches").where("idempotency_key", "=", "b2").execute();
  });

  it("samples a series every step, sums throughput per step and drops old points", async () => {
    const db = hub.ctx.database.db;
    await sampleSeries(db, T0 - 60_000); // first sample: counts start here
    await db
      .insertInto("activity_log")
      .values({
        store_id: storeId,
        flow: "inventory_push",
        kind: "push",
        level: "info",
        message: "Set 7",
        data: JSON.stringify({ items: 7 }),
        created_at: T0 - 45_000,
      })
      .execute();
    await insertOrders(db, [
      { storeId, number: 1002, createdAt: T0 - 40_000, importedAt: T0 - 40_000 },
      { storeId, number: 1003, createdAt: T0 - 35_000, importedAt: T0 - 35_000 },
    ]);
    await sampleSeries(db, T0 - 30_000);
    await sampleSeries(db, T0);
    // An old sample is dropped by the next pass.
    await db
      .insertInto("store_series")
      .values({
        store_id: storeId,
        at: T0 - SERIES_KEEP_MS - 1,
        lag_seconds: null,
        backlog: 0,
        pushed: 0,
        orders_imported: 0,
        activity_id: 0,
      })
      .execute();
    await sampleSeries(db, T0 + 1);
    const old = await db
      .selectFrom("store_series")
      .select("at")
      .where("at", "<", T0 - SERIES_KEEP_MS)
      .execute();
    expect(old).toEqual([]);

    const r = await get("/api/v1/stores/flows.myshopify.com/series?range=hour");
    expect(r.statusCode).toBe(200);
    const s = r.json();
    expect(s.range).toBe("hour");
    expect(s.stepSeconds).toBe(30);
    const total = (k: string) => s.points.reduce((n: number, p: Record<string, number>) => n + p[k]!, 0);
    expect(total("pushed")).toBe(7);
    expect(total("ordersImported")).toBe(2);
    for (const p of s.points) expect(p.lagSeconds === null).toBe(p.backlog === 0);
    expect(s.points.at(-1).backlog).toBe(3);
    const day = (await get("/api/v1/stores/flows.myshopify.com/series?range=day")).json();
    expect(day.stepSeconds).toBe(300);
    expect(day.points.reduce((n: number, p: { pushed: number }) => n + p.pushed, 0)).toBe(7);
  });

  it("needs store.read: a stock key is refused, an unknown store is named", async () => {
    const stock = await keyWith(hub.ctx.database, ["stock"], T0);
    expect((await get("/api/v1/stores/flows.myshopify.com/flows", stock)).statusCode).toBe(403);
    expect((await get("/api/v1/stores/flows.myshopify.com/series", stock)).statusCode).toBe(403);
    const read = await keyWith(hub.ctx.database, ["read"], T0 + 1);
    expect((await get("/api/v1/stores/flows.myshopify.com/flows", read)).statusCode).toBe(200);
    const unknown = await get("/api/v1/stores/nope.myshopify.com/flows");
    expect(unknown.json().error.code).toBe("UNKNOWN_STORE");
  });
});
