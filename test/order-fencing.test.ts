/**
 * Fencing of the order flows' Shopify results: a worker that lost its store's lease in the middle
 * of a call (paused past the lease's lifetime, then resumed) cannot record what the call did —
 * the tag marked done, the backfill cursor moved, an order imported as Shopify's authoritative
 * state — once another worker took the store over; the new owner's writes go through. Two workers
 * on one database, the takeover made to happen while the old owner's call is at Shopify.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { backfillOrders } from "../src/orders/backfill.ts";
import { processTagJobs } from "../src/orders/tagging.ts";
import { fenceLease, takeLease } from "../src/runtime/leases.ts";
import { Worker } from "../src/runtime/worker.ts";
import type { AdminTransport } from "../src/shopify/transport.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { MONEY_SKUS, type MoneyWorld, moneyWorld } from "./support/money-world.ts";

const EMPTY_PAGE = { orders: { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } } };

describe.each(DIALECTS)("order results are fenced by the store lease on %s", (dialect) => {
  let hub: TestHub;
  let storeId: number;
  const domain = "fenced.myshopify.com";
  /** What the fake Shopify does during a call: lets a test take the store over meanwhile. */
  let duringCall: () => Promise<void> = async () => {};
  const calls: string[] = [];
  const shopify: AdminTransport = {
    store: domain,
    async graphql<T>(document: string) {
      calls.push(document.includes("tagsAdd") ? "tagsAdd" : "orders");
      await duringCall();
      const data = document.includes("tagsAdd")
        ? { tagsAdd: { node: { id: "gid://shopify/Order/1" }, userErrors: [] } }
        : EMPTY_PAGE;
      return { data: data as T, cost: undefined };
    },
  };

  beforeAll(async () => {
    hub = await startTestHub(dialect);
    const now = Date.now();
    ({ id: storeId } = await hub.ctx.database.db
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
  }, 60_000);
  afterAll(async () => hub?.close());

  /** Worker A works the store; during its Shopify call, B takes the store over (A's lease lapsed). */
  const raceTakeover = async (work: (transport: AdminTransport) => Promise<unknown>) => {
    const db = hub.ctx.database.db;
    // Nobody holds the store at first: A takes it.
    await db.updateTable("store_leases").set({ expires_at: 0 }).where("store_id", "=", storeId).execute();
    const a = new Worker(hub.ctx, () => shopify);
    let outcome: unknown = "no error";
    duringCall = async () => {
      duringCall = async () => {};
      // A is paused past its lease: the lease lapses and B takes the store (next generation).
      await db.updateTable("store_leases").set({ expires_at: 0 }).where("store_id", "=", storeId).execute();
      expect(await takeLease(db, storeId, "worker-b", Date.now(), 60_000)).toBeDefined();
    };
    const ran = await a.runNow({ id: storeId, domain }, async (transport) => {
      try {
        await work(transport);
      } catch (err) {
        outcome = err;
        throw err;
      }
    });
    expect(ran).toBe(true);
    await a.stop();
    return outcome as { code?: string };
  };

  const newOwner = async () => {
    const db = hub.ctx.database.db;
    const lease = await takeLease(db, storeId, "worker-b", Date.now(), 60_000);
    expect(lease).toBeDefined();
    return {
      ...shopify,
      fence: (trx: Parameters<NonNullable<AdminTransport["fence"]>>[0]) =>
        fenceLease(trx, hub.ctx.database.dialect, { storeId, generation: lease!.generation }, "worker-b"),
    } satisfies AdminTransport;
  };

  it("a tag sent by the old owner is not recorded as done; the new owner's is", async () => {
    const db = hub.ctx.database.db;
    const now = Date.now();
    await db
      .insertInto("order_tag_jobs")
      .values({
        store_id: storeId,
        shopify_order_gid: "gid://shopify/Order/1",
        tag: "tillbridge",
        status: "pending",
        attempts: 0,
        next_attempt_at: now - 1000,
        last_error: null,
        created_at: now,
      })
      .execute();
    const err = await raceTakeover((transport) => processTagJobs(hub.ctx, transport, storeId));
    expect(err.code).toBe("LEASE_LOST");
    expect(calls).toContain("tagsAdd");
    const after = await db
      .selectFrom("order_tag_jobs")
      .select(["status", "attempts"])
      .where("store_id", "=", storeId)
      .executeTakeFirstOrThrow();
    // Neither done nor counted as a failed attempt: the new owner's to send.
    expect(after).toEqual({ status: "pending", attempts: 0 });

    const r = await processTagJobs(hub.ctx, await newOwner(), storeId);
    expect(r.done).toBe(1);
    expect(
      (await db.selectFrom("order_tag_jobs").select("status").where("store_id", "=", storeId).execute()).map(
        (j) => j.status,
      ),
    ).toEqual(["done"]);
  });

  it("a backfill cursor moved by the old owner is refused; the new owner's is kept", async () => {
    const db = hub.ctx.database.db;
    const before = await db
      .selectFrom("order_settings")
      .select(["backfill_at"])
      .where("store_id", "=", storeId)
      .executeTakeFirst();
    const err = await raceTakeover((transport) => backfillOrders(hub.ctx, transport, storeId));
    expect(err.code).toBe("LEASE_LOST");
    const refused = await db
      .selectFrom("order_settings")
      .select(["backfill_at"])
      .where("store_id", "=", storeId)
      .executeTakeFirst();
    expect(refused?.backfill_at ?? null).toBe(before?.backfill_at ?? null);

    await backfillOrders(hub.ctx, await newOwner(), storeId);
    const kept = await db
      .selectFrom("order_settings")
      .select(["backfill_at"])
      .where("store_id", "=", storeId)
      .executeTakeFirstOrThrow();
    expect(kept.backfill_at).not.toBeNull();
  });
});

describe.each(DIALECTS)("the backfill's authoritative import is fenced on %s", (dialect) => {
  let emulator: Emulator;
  let w: MoneyWorld;
  beforeAll(async () => {
    emulator = await startEmulator();
    emulator.control.setWebhookOptions({ baseDelayMs: 20, timeoutMs: 5000 });
    w = await moneyWorld(emulator, dialect, "fence-import");
  }, 60_000);
  afterAll(async () => {
    await w?.close();
    await emulator?.close();
  });

  it("an order read by the old owner is not imported once a newer owner holds the store; the new owner's is", async () => {
    const db = w.hub.ctx.database.db;
    // Its webhooks wait in the inbox (nothing applies them here): the backfill alone imports it.
    const placed = w.place({ lineItems: [{ sku: MONEY_SKUS[0]!, quantity: 1 }] });
    const orderRow = () =>
      db
        .selectFrom("orders")
        .select(["id", "status"])
        .where("store_id", "=", w.storeId)
        .where("shopify_order_gid", "=", placed.gid)
        .executeTakeFirst();
    let takeover: (() => Promise<void>) | undefined = async () => {
      await db.updateTable("store_leases").set({ expires_at: 0 }).where("store_id", "=", w.storeId).execute();
      expect(await takeLease(db, w.storeId, "worker-b", Date.now(), 60_000)).toBeDefined();
    };
    // The old owner's money read is answered; the store changes hands while the answer travels.
    const slow: AdminTransport = {
      store: w.transport.store,
      async graphql(document, variables, options) {
        const r = await w.transport.graphql(document, variables, options);
        if (document.includes("TillbridgeOrderMoney") && takeover) {
          const t = takeover;
          takeover = undefined;
          await t();
        }
        return r as never;
      },
    };
    await db.updateTable("store_leases").set({ expires_at: 0 }).where("store_id", "=", w.storeId).execute();
    const a = new Worker(w.hub.ctx, () => slow);
    let outcome: { code?: string } = {};
    expect(
      await a.runNow({ id: w.storeId, domain: w.domain }, async (transport) => {
        await backfillOrders(w.hub.ctx, transport, w.storeId).catch((err) => {
          outcome = err;
        });
      }),
    ).toBe(true);
    await a.stop();
    expect(takeover).toBeUndefined();
    expect(outcome.code).toBe("LEASE_LOST");
    expect(await orderRow()).toBeUndefined();

    const lease = await takeLease(db, w.storeId, "worker-b", Date.now(), 60_000);
    await backfillOrders(
      w.hub.ctx,
      {
        ...w.transport,
        fence: (trx) =>
          fenceLease(
            trx,
            w.hub.ctx.database.dialect,
            { storeId: w.storeId, generation: lease!.generation },
            "worker-b",
          ),
      },
      w.storeId,
    );
    expect(await orderRow()).toBeDefined();
  }, 60_000);
});
