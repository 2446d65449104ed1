/**
 * Failures in one place, on both databases: every kind listed with its resolving call, counts,
 * pages across kinds, dismissing with a reason (audited; no longer listed or counted), retrying a
 * refused item, replaying a dead delivery, and permissions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixedClock } from "../src/core/clock.ts";
import { insertOrders, insertStore, insertVariants, keyWith } from "./support/console-data.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);

describe.each(DIALECTS)("console failures (%s)", (dialect) => {
  let hub: TestHub;
  let a: number;
  let variantId: number;
  const get = (url: string, headers: Record<string, string> = hub.auth) =>
    hub.server.inject({ method: "GET", url, headers });
  const post = (url: string, payload: unknown, headers: Record<string, string> = hub.auth) =>
    hub.server.inject({ method: "POST", url, headers, payload: payload as never });

  beforeAll(async () => {
    hub = await startTestHub(dialect, { clock: fixedClock(T0) });
    const db = hub.ctx.database.db;
    a = await insertStore(db, "fail.myshopify.com", T0, { inventory_push: "enabled" });
    const b = await insertStore(db, "calm.myshopify.com", T0);
    variantId = (await insertVariants(db, 1, T0, "FAIL-"))[0]!;
    await db
      .insertInto("webhook_inbox")
      .values([
        {
          webhook_id: "d1",
          shop: "fail.myshopify.com",
          topic: "orders/create",
          body: "{}",
          received_at: T0 - 9000,
          status: "dead",
          attempts: 8,
          next_attempt_at: T0,
          last_error: "unreadable body",
          processed_at: null,
        },
        {
          webhook_id: "d2",
          shop: "calm.myshopify.com",
          topic: "refunds/create",
          body: "{}",
          received_at: T0 - 8000,
          status: "dead",
          attempts: 8,
          next_attempt_at: T0,
          last_error: "no such order",
          processed_at: null,
        },
        {
          webhook_id: "ok",
          shop: "fail.myshopify.com",
          topic: "orders/create",
          body: "{}",
          received_at: T0,
          status: "done",
          attempts: 1,
          next_attempt_at: T0,
          last_error: null,
          processed_at: T0,
        },
      ])
      .execute();
    const [o1, o2] = await insertOrders(db, [
      { storeId: a, number: 1, createdAt: T0, status: "parked" },
      { storeId: b, number: 2, createdAt: T0 },
    ]);
    await db
      .insertInto("outbound_events")
      .values({
        event_id: "e1",
        store_id: a,
        order_id: o1!,
        type: "order.created",
        payload: "{}",
        status: "dead",
        attempts: 10,
        next_attempt_at: T0,
        last_error: "HTTP 503",
        created_at: T0 - 5000,
        delivered_at: null,
      })
      .execute();
    void o2;
    await db
      .insertInto("inventory_sync")
      .values({
        store_id: a,
        inventory_item_gid: "gid://shopify/InventoryItem/9",
        location_gid: "gid://shopify/Location/1",
        variant_id: variantId!,
        pushed: 1,
        confirmed: 1,
        confirmed_at: T0,
        error: "Quantity exceeds limit",
        error_attempts: 3,
        retry_at: T0 + 600_000,
      })
      .execute();
    await db
      .insertInto("variant_links")
      .values({
        store_id: a,
        variant_id: variantId!,
        product_variant_gid: "gid://shopify/ProductVariant/9",
        inventory_item_gid: "gid://shopify/InventoryItem/9",
        matched_by: "sku",
        linked_at: T0,
      })
      .execute();
    await db
      .insertInto("link_problems")
      .values({
        store_id: a,
        kind: "not_in_shopify",
        sku: "FAIL-00000",
        barcode: null,
        product_variant_gid: null,
        detail: "no Shopify variant has SKU FAIL-00000",
        detected_at: T0,
      })
      .execute();
    await db
      .insertInto("operator_jobs")
      .values({
        store_id: a,
        kind: "dry_run",
        status: "failed",
        progress: null,
        result: null,
        error: "Shopify timed out",
        cancel_requested: 0,
        attempts: 3,
        created_at: T0 - 1000,
        started_at: T0 - 1000,
        finished_at: T0 - 500,
      })
      .execute();
  });
  afterAll(async () => hub?.close());

  it("lists every kind with its resolving call, and counts each kind", async () => {
    const r = await get("/api/v1/failures");
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    expect(body.counts).toEqual({
      dead_letter: 2,
      outbound_dead: 1,
      parked_order: 1,
      failing_item: 1,
      link_problem: 1,
      failed_job: 1,
    });
    expect(body.items.map((i: { kind: string }) => i.kind)).toEqual([
      "dead_letter",
      "dead_letter",
      "outbound_dead",
      "parked_order",
      "failing_item",
      "link_problem",
      "failed_job",
    ]);
    // The first item of each kind.
    type Item = { kind: string; action: { url: string; body?: unknown } } & Record<string, unknown>;
    const byKind: Record<string, Item> = Object.fromEntries(
      [...(body.items as Item[])].reverse().map((i) => [i.kind, i]),
    );
    expect(byKind.dead_letter).toMatchObject({
      store: "fail.myshopify.com",
      reason: "unreadable body",
      since: T0 - 9000,
      action: { method: "POST", url: expect.stringMatching(/^\/api\/v1\/inbox\/\d+\/replay$/) },
    });
    expect(byKind.outbound_dead!.action.url).toMatch(/^\/api\/v1\/outbound\/\d+\/replay$/);
    expect(byKind.parked_order).toMatchObject({
      reason: "unknown SKU X",
      action: { url: "/api/v1/stores/fail.myshopify.com/orders/reprocess" },
    });
    expect(byKind.failing_item).toMatchObject({
      reason: "Quantity exceeds limit",
      action: { url: "/api/v1/failures/retry", body: { kind: "failing_item" } },
    });
    expect(byKind.link_problem!.action).toEqual({
      label: expect.any(String),
      method: "POST",
      url: "/api/v1/stores/fail.myshopify.com/jobs",
      body: { kind: "link" },
    });
    expect(byKind.failed_job).toMatchObject({
      reason: "Shopify timed out",
      action: { body: { kind: "dry_run" } },
    });
    expect(body.nextCursor).toBeNull();

    const calm = (await get("/api/v1/failures?store=calm.myshopify.com")).json();
    expect(calm.items.map((i: { kind: string; reason: string }) => [i.kind, i.reason])).toEqual([
      ["dead_letter", "no such order"],
    ]);
    expect(calm.counts.dead_letter).toBe(1);
    expect(calm.counts.parked_order).toBe(0);
    const onlyJobs = (await get("/api/v1/failures?kind=failed_job")).json();
    expect(onlyJobs.items).toHaveLength(1);
  });

  it("pages across kinds without losing or repeating one", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const url: string = `/api/v1/failures?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const page: { items: { kind: string; id: string }[]; nextCursor: string | null } = (
        await get(url)
      ).json();
      seen.push(...page.items.map((x: { kind: string; id: string }) => `${x.kind}:${x.id}`));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
  });

  it("dismissing one with a reason hides it, takes it out of the counts and records who and why", async () => {
    const before = (await get("/api/v1/failures?kind=link_problem")).json();
    const item = before.items[0];
    const missing = await post("/api/v1/failures/dismiss", { kind: "link_problem", id: item.id });
    expect(missing.statusCode).toBe(400);
    const r = await post("/api/v1/failures/dismiss", {
      kind: "link_problem",
      id: item.id,
      reason: "discontinued, not sold online",
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ dismissed: true, by: "api-key:test" });
    const after = (await get("/api/v1/failures")).json();
    expect(after.counts.link_problem).toBe(0);
    expect(after.items.some((i: { kind: string }) => i.kind === "link_problem")).toBe(false);
    const audit = (await get("/api/v1/audit?limit=5")).json();
    const entry = audit.items.find((e: { action: string }) => e.action === "failure.dismiss");
    expect(entry).toMatchObject({
      actor: "api-key:test",
      target: `link_problem:${item.id}`,
      after: { reason: "discontinued, not sold online" },
    });
    expect(
      (await post("/api/v1/failures/dismiss", { kind: "failed_job", id: "999999", reason: "x" })).json().error
        .code,
    ).toBe("NOT_FOUND");
  });

  it("retries a refused item now and replays a dead delivery", async () => {
    const db = hub.ctx.database.db;
    const item = (await get("/api/v1/failures?kind=failing_item")).json().items[0];
    const r = await post(item.action.url, item.action.body);
    expect(r.statusCode, r.body).toBe(200);
    const sync = await db
      .selectFrom("inventory_sync")
      .select("retry_at")
      .where("store_id", "=", a)
      .executeTakeFirstOrThrow();
    expect(sync.retry_at).toBeNull();
    const dirty = await db.selectFrom("push_dirty").select("variant_id").where("store_id", "=", a).execute();
    expect(dirty.map((d) => Number(d.variant_id))).toEqual([variantId]);

    const dead = (await get("/api/v1/failures?kind=dead_letter&store=fail.myshopify.com")).json().items[0];
    expect((await post(dead.action.url, {})).statusCode).toBe(200);
    expect(
      (await get("/api/v1/failures?kind=dead_letter&store=fail.myshopify.com")).json().counts.dead_letter,
    ).toBe(0);
    expect((await post(dead.action.url, {})).json().error.code).toBe("NOT_FOUND");
  });

  it("permissions: listing needs store.read, dismissing and retrying store.operate", async () => {
    const stock = await keyWith(hub.ctx.database, ["stock"], T0);
    expect((await get("/api/v1/failures", stock)).statusCode).toBe(403);
    const read = await keyWith(hub.ctx.database, ["read"], T0 + 1);
    expect((await get("/api/v1/failures", read)).statusCode).toBe(200);
    const job = (await get("/api/v1/failures?kind=failed_job")).json().items[0];
    expect(
      (await post("/api/v1/failures/dismiss", { kind: "failed_job", id: job.id, reason: "known" }, read))
        .statusCode,
    ).toBe(403);
    expect((await post("/api/v1/inbox/1/replay", {}, read)).statusCode).toBe(403);
    const operate = await keyWith(hub.ctx.database, ["operate"], T0 + 2);
    expect(
      (await post("/api/v1/failures/dismiss", { kind: "failed_job", id: job.id, reason: "known" }, operate))
        .statusCode,
    ).toBe(200);
  });
});
