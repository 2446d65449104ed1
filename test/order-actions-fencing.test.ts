/**
 * Order actions' outcomes are fenced by the store's lease: a worker that lost the store while its
 * orderClose was at Shopify (paused past its lease, another worker took over) cannot record the
 * action as done or failed; the new owner's pass records it. Retries follow the hub's one backoff
 * rule (src/jobs/backoff.ts). Both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORDER_ACTION_RETRY, runOrderActions } from "../src/fulfillment/order-actions.ts";
import { fenceLease, takeLease } from "../src/runtime/leases.ts";
import { Worker } from "../src/runtime/worker.ts";
import type { AdminTransport } from "../src/shopify/transport.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";

describe.each(DIALECTS)("order action outcomes are fenced by the store lease on %s", (dialect) => {
  let hub: TestHub;
  let storeId: number;
  let orderId: number;
  const domain = "actions-fenced.myshopify.com";
  let duringCall: () => Promise<void> = async () => {};
  let answer: () => unknown = () => ({
    orderClose: { order: { id: "gid://shopify/Order/9" }, userErrors: [] },
  });
  const calls: string[] = [];
  const shopify: AdminTransport = {
    store: domain,
    async graphql<T>(document: string) {
      calls.push(document.includes("orderClose") ? "orderClose" : "other");
      await duringCall();
      return { data: answer() as T, cost: undefined };
    },
  };

  beforeAll(async () => {
    hub = await startTestHub(dialect);
    const db = hub.ctx.database.db;
    const now = Date.now();
    ({ id: storeId } = await db
      .insertInto("stores")
      .values({
        domain,
        name: "fenced",
        auth_kind: "custom_app",
        access_token_enc: null,
        access_token_expires_at: null,
        refresh_token_enc: null,
        refresh_token_expires_at: null,
        scopes: "",
        status: "active",
        status_reason: null,
        inventory_mode: "absolute",
        connected_at: now,
        disconnected_at: null,
        updated_at: now,
      })
      .returning("id")
      .executeTakeFirstOrThrow());
    ({ id: orderId } = await db
      .insertInto("orders")
      .values({
        store_id: storeId,
        shopify_order_gid: "gid://shopify/Order/9",
        name: "#1009",
        shopify_updated_at: now,
        shopify_created_at: now,
        financial_status: "paid",
        fulfillment_status: "fulfilled",
        cancelled_at: null,
        location_gid: null,
        warehouse_id: null,
        customer_id: null,
        company_id: null,
        status: "imported",
        park_reason: null,
        email: null,
        customer_name: null,
        phone: null,
        addresses: null,
        currency: "EUR",
        total_price: "1.00",
        source: "web",
        content_hash: "x",
        feed_seq: null,
        imported_at: now,
        acked_at: null,
        acked_seq: null,
        finished_at: null,
        redacted_at: null,
        created_at: now,
        updated_at: now,
        fulfil_warehouse_id: null,
      })
      .returning("id")
      .executeTakeFirstOrThrow());
  }, 60_000);
  afterAll(async () => hub?.close());

  const addAction = async (requestId: string) => {
    const now = Date.now();
    const { id } = await hub.ctx.database.db
      .insertInto("order_actions")
      .values({
        store_id: storeId,
        order_id: orderId,
        kind: "close",
        request_id: requestId,
        content_hash: requestId,
        input: JSON.stringify({ requestId }),
        status: "pending",
        attempts: 0,
        next_attempt_at: now - 1000,
        error_code: null,
        last_error: null,
        result: null,
        created_at: now,
        updated_at: now,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return id;
  };
  const actionRow = (id: number) =>
    hub.ctx.database.db
      .selectFrom("order_actions")
      .select(["status", "attempts", "error_code", "next_attempt_at"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();

  /** Worker A runs the store's actions; during its Shopify call, B takes the store over. */
  const raceTakeover = async () => {
    const db = hub.ctx.database.db;
    await db.updateTable("store_leases").set({ expires_at: 0 }).where("store_id", "=", storeId).execute();
    const a = new Worker(hub.ctx, () => shopify);
    let outcome: { code?: string } = {};
    duringCall = async () => {
      duringCall = async () => {};
      await db.updateTable("store_leases").set({ expires_at: 0 }).where("store_id", "=", storeId).execute();
      expect(await takeLease(db, storeId, "worker-b", Date.now(), 60_000)).toBeDefined();
    };
    const ran = await a.runNow({ id: storeId, domain }, async (transport) => {
      try {
        await runOrderActions(hub.ctx, transport, storeId);
      } catch (err) {
        outcome = err as { code?: string };
        throw err;
      }
    });
    expect(ran).toBe(true);
    await a.stop();
    return outcome;
  };
  const newOwner = async (): Promise<AdminTransport> => {
    const lease = await takeLease(hub.ctx.database.db, storeId, "worker-b", Date.now(), 60_000);
    expect(lease).toBeDefined();
    return {
      ...shopify,
      fence: (trx) =>
        fenceLease(trx, hub.ctx.database.dialect, { storeId, generation: lease!.generation }, "worker-b"),
    };
  };

  it("the old owner's success is not recorded; the new owner's is", async () => {
    const id = await addAction("close-ok");
    const err = await raceTakeover();
    expect(err.code).toBe("LEASE_LOST");
    expect(calls).toContain("orderClose");
    expect(await actionRow(id)).toMatchObject({ status: "pending", attempts: 0, error_code: null });
    const r = await runOrderActions(hub.ctx, await newOwner(), storeId);
    expect(r.done).toBe(1);
    expect(await actionRow(id)).toMatchObject({ status: "done", attempts: 1 });
  });

  it("the old owner's failure is not counted; the new owner's retry waits by the shared backoff", async () => {
    const id = await addAction("close-fails");
    answer = () => {
      throw Object.assign(new Error("Shopify answered 502"), { retriable: true });
    };
    try {
      const err = await raceTakeover();
      expect(err.code).toBe("LEASE_LOST");
      expect(await actionRow(id)).toMatchObject({ status: "pending", attempts: 0, error_code: null });
      const before = Date.now();
      const r = await runOrderActions(hub.ctx, await newOwner(), storeId);
      expect(r.retried).toBe(1);
      const row = await actionRow(id);
      expect(row).toMatchObject({ status: "pending", attempts: 1, error_code: "SHOPIFY_ERROR" });
      // First failure: a wait in [base/2, base] (backoff.ts's jitter over the upper half).
      expect(row.next_attempt_at - before).toBeGreaterThanOrEqual(ORDER_ACTION_RETRY.baseMs / 2 - 50);
      expect(row.next_attempt_at - before).toBeLessThanOrEqual(ORDER_ACTION_RETRY.baseMs + 1000);
    } finally {
      answer = () => ({ orderClose: { order: { id: "gid://shopify/Order/9" }, userErrors: [] } });
    }
  });
});
