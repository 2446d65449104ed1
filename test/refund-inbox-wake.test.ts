/**
 * The refund inbox's store pass is woken by a refund's arrival (src/fulfillment/refunds.ts
 * `refundInboxPass`, src/runtime/worker.ts `StorePass.wakeOn`), on both databases:
 * - an idle store's pass does not look at the inbox every second: over a minute of worker
 *   passes (a clock moved by a second a pass) it drains the inbox once (the new owner's first
 *   pass) and again only at the safety interval;
 * - a refunds/create delivery is applied at the worker's next pass after it arrives;
 * - a delivery that cannot be applied yet is tried again when its retry falls due, without a new
 *   signal and before the safety interval;
 * - on PostgreSQL the signal reaches the other processes (NOTIFY/LISTEN, src/jobs/wake.ts).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Emulator } from "../emulator/index.ts";
import { fixedClock } from "../src/core/clock.ts";
import { createLogger } from "../src/core/logger.ts";
import { openDatabase } from "../src/db/database.ts";
import { FULFILLMENT_TOPICS, REFUND_INBOX_SAFETY_MS } from "../src/fulfillment/refunds.ts";
import { listenStoreWork, notifyStoreWork, type StoreWorkSignal } from "../src/jobs/wake.ts";
import { encryptSecret, sealedAt } from "../src/shops/secrets.ts";
import { createTestDatabase, DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { withOrderOperations } from "./support/order-ops.ts";
import { createWorld, startWorldEmulator } from "./support/stock-world.ts";

/** Drains of the refund inbox (the pass's only statement when there is nothing to do). */
const drains = { refunds: 0 };
vi.mock("../src/orders/inbox.ts", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../src/orders/inbox.ts")>();
  return {
    ...actual,
    drainInbox: async (...args: Parameters<typeof actual.drainInbox>) => {
      if (args[1].topics.some((t) => (FULFILLMENT_TOPICS as readonly string[]).includes(t))) drains.refunds++;
      return actual.drainInbox(...args);
    },
  };
});

let emulator: Emulator;
let app: { clientId: string; clientSecret: string };
beforeAll(async () => {
  ({ emulator, app } = await startWorldEmulator());
});
afterAll(async () => emulator?.close());

describe.each(DIALECTS)("the refund inbox pass on %s", (dialect) => {
  const clock = fixedClock(Date.now());
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub(dialect, {
      env: {
        SHOPIFY_API_KEY: app.clientId,
        SHOPIFY_API_SECRET: app.clientSecret,
        // The worker's own transport (the world's store calls through its own).
        SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}`,
      },
      listen: true,
      clock,
    });
  });
  afterAll(async () => hub?.close());

  it("idle: no drain a second; a refund: applied at the next pass; a retry: when due", async () => {
    const w = await withOrderOperations(
      await createWorld({
        emulator,
        hub,
        app,
        domain: `refund-wake-${dialect}.myshopify.com`,
        skus: [`RW-${dialect}-A`],
        mode: "absolute",
        initial: 10,
        restockRule: "order_warehouse",
      }),
    );
    // The world's store is connected without a stored token (its own transport calls Shopify);
    // the worker's passes read the token from the database.
    await hub.ctx.database.db
      .updateTable("stores")
      .set({
        access_token_enc: encryptSecret(
          w.store.token,
          hub.ctx.secretKey,
          sealedAt.storeColumn("access_token_enc", w.store.domain),
        ),
      })
      .where("id", "=", w.storeId)
      .execute();
    const sku = w.store.variants[0]!.sku;
    const placed = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku, quantity: 1 }],
      locationId: w.locations[0]!.id,
    });
    await w.settleAll();
    const shipped = await w.call("POST", "/api/v1/shipments", {
      id: `rw-ship-${dialect}`,
      orderId: await w.orderId(placed.id),
      warehouse: "W1",
      lines: [{ sku, quantity: 1 }],
    });
    expect(shipped.status, JSON.stringify(shipped.body)).toBe(201);
    await w.settleAll();
    const pass = async () => {
      clock.advance(1000);
      await hub.worker.tick();
    };

    // Idle for a minute of passes: the first (this process just took the store) drains once,
    // then nothing until the safety interval.
    drains.refunds = 0;
    for (let i = 0; i < 30; i++) await pass();
    expect(drains.refunds).toBe(1);
    for (let i = 0; i < REFUND_INBOX_SAFETY_MS / 1000 - 30; i++) await pass();
    expect(drains.refunds).toBe(1);
    // The pass a minute after the first: the safety interval.
    await pass();
    expect(drains.refunds).toBe(2);

    // A refund arrives by webhook: the next pass applies it.
    const refunds = async () =>
      (
        await hub.ctx.database.db
          .selectFrom("refunds")
          .select("id")
          .where("order_id", "=", await w.orderId(placed.id))
          .execute()
      ).length;
    emulator.control.createRefund(w.store.domain, placed.id, {
      lineItems: [{ lineItemId: placed.lineItems[0]!.id, quantity: 1, restockType: "RETURN" }],
    });
    await emulator.control.webhooksIdle(10_000);
    expect(await refunds()).toBe(0);
    await pass();
    expect(drains.refunds).toBe(3);
    expect(await refunds()).toBe(1);
    for (let i = 0; i < 5; i++) await pass();
    expect(drains.refunds).toBe(3);

    // Shopify unreachable for the refund's read: the delivery fails, and is tried again when its
    // retry is due (no signal, well before the safety interval), then applied.
    const second = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku, quantity: 1 }],
      locationId: w.locations[0]!.id,
    });
    await w.settleAll();
    const shipped2 = await w.call("POST", "/api/v1/shipments", {
      id: `rw-ship2-${dialect}`,
      orderId: await w.orderId(second.id),
      warehouse: "W1",
      lines: [{ sku, quantity: 1 }],
    });
    expect(shipped2.status, JSON.stringify(shipped2.body)).toBe(201);
    await w.settleAll();
    const before = drains.refunds;
    emulator.control.setFaults(w.store.domain, { failNext: 100, errorStatuses: [503] });
    emulator.control.createRefund(w.store.domain, second.id, {
      lineItems: [{ lineItemId: second.lineItems[0]!.id, quantity: 1, restockType: "RETURN" }],
    });
    await emulator.control.webhooksIdle(10_000);
    await pass();
    expect(drains.refunds).toBe(before + 1);
    const failed = await hub.ctx.database.db
      .selectFrom("webhook_inbox")
      .select(["status", "next_attempt_at"])
      .where("shop", "=", w.store.domain)
      .where("topic", "=", "refunds/create")
      .where("status", "in", ["pending", "failed"])
      .execute();
    expect(failed).toHaveLength(1);
    emulator.control.clearFaults(w.store.domain);
    let passes = 0;
    const secondRefunds = async () =>
      (
        await hub.ctx.database.db
          .selectFrom("refunds")
          .select("id")
          .where("order_id", "=", await w.orderId(second.id))
          .execute()
      ).length;
    while ((await secondRefunds()) === 0 && passes < REFUND_INBOX_SAFETY_MS / 1000 - 5) {
      await pass();
      passes++;
    }
    expect(await secondRefunds()).toBe(1);
    // Woken by its retry time (plus the store's backoff after the failed pass), not the safety net.
    expect(clock.now()).toBeGreaterThanOrEqual(Number(failed[0]!.next_attempt_at));
    expect(passes).toBeLessThan(REFUND_INBOX_SAFETY_MS / 1000 - 5);
  }, 180_000);
});

describe("store work signals between processes on postgres", () => {
  it("a signal sent through one connection reaches a listener on another", async () => {
    const test = await createTestDatabase("postgres");
    if (test.target.kind !== "postgres") throw new Error("postgres expected");
    const database = openDatabase(test.target);
    const got: StoreWorkSignal[] = [];
    let arrived: () => void = () => {};
    const listener = listenStoreWork(test.target.url, createLogger("silent"), (m) => {
      got.push(m);
      arrived();
    });
    try {
      const sent: StoreWorkSignal = {
        signal: "fulfillment:refund-inbox",
        shop: "a.myshopify.com",
        from: "w1",
      };
      // The listener connects in the background: send until it hears.
      const heard = new Promise<void>((resolve) => (arrived = resolve));
      for (let i = 0; i < 100 && got.length === 0; i++) {
        await notifyStoreWork(database.db, sent);
        await Promise.race([heard, new Promise((r) => setTimeout(r, 50))]);
      }
      expect(got[0]).toEqual(sent);
    } finally {
      await listener.close();
      await database.close();
      await test.drop();
    }
  });
});
