/**
 * Issue 13, the claimed queues with real processes: three `tillbridge start` processes on one
 * PostgreSQL database. Every order webhook is posted twice (to two processes) while the process
 * holding the hub-wide jobs is killed (-9); then a shipment per order is posted while Shopify is
 * slow and the store's owner is killed (-9) mid-delivery. Each delivery is applied once (one
 * order, its reservations once, one notification to the back office), each shipment reaches
 * Shopify as exactly one fulfillment (a fulfillment the killed owner created is adopted, never
 * created twice or refused), and no two processes ever have calls in flight for the store.
 * Last, a process joins and Shopify answers each call after twice the lease's lifetime: the
 * owner renews its lease while the calls run and keeps the store throughout.
 */
import type { ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import type { ApiCall } from "../emulator/state.ts";
import { openDatabase } from "../src/db/database.ts";
import { HUB_JOBS_LEASE } from "../src/runtime/leases.ts";
import { createTestDatabase, type TestDatabase } from "./support/databases.ts";
import { processEnv } from "./support/process-api.ts";
import { runCli, startHubProcess } from "./support/processes.ts";
import { emulatedStore } from "./support/shopify.ts";

const SKUS = ["FQ-A", "FQ-B", "FQ-C"];
const ORDERS = 10;
const TTL = 3000;
const WEBHOOK_SECRET = "fleet-queues-webhook-secret";

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => child.once("exit", () => r()));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

async function poll<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await sleep(100);
  }
}

/** Pairs of calls from different processes whose [arrived, answered] intervals overlap. */
function overlaps(calls: readonly ApiCall[]): string[] {
  const sorted = [...calls].sort((a, b) => a.receivedAt! - b.receivedAt!);
  const lastAnswer = new Map<string, number>();
  const found: string[] = [];
  for (const c of sorted) {
    for (const [client, answered] of lastAnswer)
      if (client !== c.client && answered > c.receivedAt!)
        found.push(`${c.client} sent at ${c.receivedAt} while ${client} had a call until ${answered}`);
    lastAnswer.set(c.client!, Math.max(lastAnswer.get(c.client!) ?? 0, c.answeredAt!));
  }
  return found;
}

let emulator: Emulator;
let test: TestDatabase;
beforeAll(async () => {
  emulator = await startEmulator();
  test = await createTestDatabase("postgres");
});
afterAll(async () => {
  await emulator?.close();
  await test?.drop();
});

describe("claimed queues with several hub processes on PostgreSQL", () => {
  it("apply each webhook delivery once and deliver each shipment once through kill -9; a call longer than the lease keeps its owner", async () => {
    const domain = `fleetq-${Date.now().toString(36)}.myshopify.com`;
    const store = await emulatedStore({
      emulator,
      domain,
      skus: SKUS,
      locations: ["Warehouse"],
      initial: () => 100,
      bucketSize: 100_000,
    });
    const location = store.locations[0]!.id;
    // The test posts the deliveries itself (twice each), to processes it knows are alive.
    emulator.control.setFaults(domain, { webhookDropRate: 1 });
    const env = { ...processEnv(test.target, emulator.url, 5), LEASE_TTL_MS: String(TTL) };
    const created = runCli(["api-key", "create", "--name", "fleetq", "--scope", "admin"], env);
    expect(created.status, created.stderr).toBe(0);
    const key = created.stdout.trim().split("\n").pop()!;
    const hubs = await Promise.all([0, 1, 2].map(() => startHubProcess(env)));
    const byPid = new Map(hubs.map((h) => [h.child.pid!, h]));
    const living = () => hubs.filter((h) => alive(h.child));
    const database = openDatabase(test.target);
    const db = database.db;
    try {
      /** Sends to a living process, and to the next one if that one dies meanwhile. */
      const send = async (
        method: string,
        path: string,
        body?: unknown,
        headers: Record<string, string> = {},
      ) => {
        for (let attempt = 0; ; attempt++) {
          const hub = living()[attempt % living().length]!;
          try {
            const res = await fetch(`${hub.url}${path}`, {
              method,
              headers: {
                authorization: `Bearer ${key}`,
                ...(body === undefined ? {} : { "content-type": "application/json" }),
                ...headers,
              },
              ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
            });
            const text = await res.text();
            if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${text}`);
            return text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch (err) {
            if (attempt >= 20 || !(err instanceof TypeError)) throw err;
            await sleep(100);
          }
        }
      };
      await send("PUT", "/api/v1/warehouses", { warehouses: [{ code: "W1", name: "Main" }] });
      await send("PUT", "/api/v1/variants", { variants: SKUS.map((sku) => ({ sku })) });
      await send("POST", "/api/v1/movements", {
        movements: SKUS.map((sku) => ({
          id: `count-${sku}`,
          sku,
          type: "count",
          quantity: 100,
          warehouse: "W1",
          occurredAt: new Date().toISOString(),
        })),
      });
      await send("POST", "/api/v1/stores", {
        domain,
        accessToken: store.token,
        webhookSecret: WEBHOOK_SECRET,
      });
      // The set-up after connecting reads the locations in the background: read them here, as
      // the console's setup does, so the mapping never races it (a CI run mapped first: 400).
      await send("POST", `/api/v1/stores/${domain}/locations/sync?waitSeconds=120`);
      await send("PUT", `/api/v1/stores/${domain}/locations/mapping`, {
        locations: [{ locationId: location, warehouses: ["W1"], managed: true, default: true }],
      });
      await send("POST", `/api/v1/stores/${domain}/link?waitSeconds=120`);
      await send("PUT", `/api/v1/stores/${domain}/order-settings`, { tag: null });
      await send("POST", `/api/v1/stores/${domain}/flows/order_intake/enable`);
      await send("POST", `/api/v1/stores/${domain}/flows/fulfillment_push/enable`);
      const storeId = Number(
        (await db.selectFrom("stores").select("id").where("domain", "=", domain).executeTakeFirstOrThrow())
          .id,
      );
      const leaseOwner = async (id: number) => {
        const row = await db
          .selectFrom("store_leases")
          .select("owner")
          .where("store_id", "=", id)
          .where("expires_at", ">=", Date.now())
          .executeTakeFirst();
        return row ? Number(row.owner.split(":")[1]) : undefined;
      };

      // ---- order webhooks, each posted twice, while the hub-wide jobs' holder is killed ----
      const orders = Array.from({ length: ORDERS }, (_, i) =>
        emulator.control.placeOrder(domain, {
          lineItems: [
            { sku: SKUS[i % 3]!, quantity: 1 + (i % 2) },
            { sku: SKUS[(i + 1) % 3]!, quantity: 1 },
          ],
          locationId: location,
        }),
      );
      const deliver = (i: number) => {
        const raw = JSON.stringify(emulator.control.orderPayload(domain, orders[i]!.id));
        return send("POST", "/webhooks/shopify", raw, {
          "x-shopify-topic": "orders/create",
          "x-shopify-shop-domain": domain,
          "x-shopify-webhook-id": `fleetq-order-${i}`,
          "x-shopify-hmac-sha256": createHmac("sha256", WEBHOOK_SECRET).update(raw).digest("base64"),
        });
      };
      const hubJobs = await poll(
        "the hub-wide jobs' holder",
        () => leaseOwner(HUB_JOBS_LEASE),
        (p) => !!p,
      );
      for (let i = 0; i < ORDERS / 2; i++) await Promise.all([deliver(i), deliver(i)]);
      byPid.get(hubJobs!)!.child.kill("SIGKILL");
      await exited(byPid.get(hubJobs!)!.child);
      for (let i = ORDERS / 2; i < ORDERS; i++) await Promise.all([deliver(i), deliver(i)]);
      const inbox = () =>
        db
          .selectFrom("webhook_inbox")
          .select(["webhook_id", "status"])
          .where("webhook_id", "like", "fleetq-order-%")
          .execute();
      // Deliveries a killed process had claimed come back after the claim's lifetime (15 s).
      const rows = await poll(
        "every delivery applied",
        inbox,
        (r) => r.filter((x) => x.status === "done").length === ORDERS,
      );
      expect(rows).toHaveLength(ORDERS);
      const imported = await db
        .selectFrom("orders")
        .select(["id", "shopify_order_gid"])
        .where("store_id", "=", storeId)
        .execute();
      expect(imported.map((o) => o.shopify_order_gid).sort()).toEqual(orders.map((o) => o.id).sort());
      const ordered = (sku: string) =>
        orders.reduce(
          (n, o) => n + o.lineItems.filter((l) => l.sku === sku).reduce((m, l) => m + l.quantity, 0),
          0,
        );
      const stock = async () =>
        (
          (await send("GET", "/api/v1/stock?limit=500")) as {
            items: { sku: string; onHand: number; reserved: number }[];
          }
        ).items
          .filter((r) => SKUS.includes(r.sku))
          .map((r) => ({ sku: r.sku, onHand: r.onHand, reserved: r.reserved }))
          .sort((a, b) => a.sku.localeCompare(b.sku));
      // Reserved once per order line, not once per delivery.
      expect(await stock()).toEqual(SKUS.map((sku) => ({ sku, onHand: 100, reserved: ordered(sku) })));
      const notified = await db
        .selectFrom("outbound_events")
        .select(["order_id", "type"])
        .where("store_id", "=", storeId)
        .execute();
      const perOrder = new Map<string, number>();
      for (const e of notified)
        perOrder.set(`${e.order_id}:${e.type}`, (perOrder.get(`${e.order_id}:${e.type}`) ?? 0) + 1);
      expect([...perOrder.values()].filter((n) => n !== 1)).toEqual([]);

      // ---- a shipment per order while Shopify is slow; the store's owner killed mid-delivery ----
      const from = emulator.control.apiCalls(domain).length;
      emulator.control.setFaults(domain, { latencyMs: 1200 });
      for (const [i, o] of orders.entries())
        await send("POST", "/api/v1/shipments", {
          id: `fleetq-ship-${i}`,
          orderId: o.id,
          warehouse: "W1",
          lines: o.lineItems.map((l) => ({ lineId: l.id, quantity: l.quantity })),
          packages: [{ carrier: "UPS", trackingNumber: `1Z-FLEETQ-${i}` }],
        });
      const shipments = () =>
        db
          .selectFrom("shipments")
          .select(["external_id", "status", "reason"])
          .where("store_id", "=", storeId)
          .execute();
      // Killed right after Shopify answered its read of an order's fulfillment orders: the
      // fulfillmentCreate that follows is in flight (Shopify is slow) and is applied by Shopify
      // after its sender died, so the next owner must adopt it rather than create or refuse.
      const operation = (c: ApiCall) => c.rootFields.join(",");
      let killedAt = 0;
      // Waits while the hub makes progress (every call takes 1.2 s), not for a fixed time.
      for (let seen = 0, quietSince = Date.now(), checked = Date.now(); ; ) {
        const calls = emulator.control.apiCalls(domain).slice(from);
        if (calls.length > seen) [seen, quietSince] = [calls.length, Date.now()];
        const last = calls.at(-1);
        if (
          calls.filter((c) => operation(c) === "fulfillmentCreate").length >= 2 &&
          last &&
          operation(last) === "order"
        ) {
          await sleep(350);
          const owner = await leaseOwner(storeId);
          expect(owner).toBeDefined();
          byPid.get(owner!)!.child.kill("SIGKILL");
          killedAt = Date.now();
          await exited(byPid.get(owner!)!.child);
          break;
        }
        if (Date.now() - quietSince > 30_000)
          throw new Error(
            `no call to Shopify for 30 s, shipments not delivered: ${calls.map((c) => operation(c)).join(", ")}`,
          );
        if (Date.now() - checked > 500) {
          checked = Date.now();
          if ((await shipments()).every((s) => s.status !== "pending" && s.status !== "parked"))
            throw new Error(
              `every shipment was delivered before its owner could be killed: ${calls.map((c) => operation(c)).join(", ")}`,
            );
        }
        await sleep(5);
      }
      const done = await poll(
        "every shipment delivered",
        shipments,
        (r) => r.every((s) => s.status !== "pending" && s.status !== "parked"),
        90_000,
      );
      emulator.control.clearFaults(domain);
      expect(done.filter((s) => s.status !== "applied")).toEqual([]);
      for (const o of orders) {
        const shopOrder = emulator.control.getOrder(domain, o.id);
        expect({ order: o.id, fulfillments: shopOrder.fulfillments.length }).toEqual({
          order: o.id,
          fulfillments: 1,
        });
        expect(shopOrder.displayFulfillmentStatus).toBe("FULFILLED");
      }
      // Each sale recorded once: nothing reserved, on hand down by what was shipped.
      expect(await stock()).toEqual(SKUS.map((sku) => ({ sku, onHand: 100 - ordered(sku), reserved: 0 })));
      const calls = emulator.control.apiCalls(domain).slice(from);
      // The killed owner's last fulfillmentCreate was applied by Shopify after it died.
      expect(
        calls.filter((c) => operation(c) === "fulfillmentCreate" && c.answeredAt! > killedAt),
      ).not.toEqual([]);
      expect(new Set(calls.map((c) => c.client)).size).toBeGreaterThanOrEqual(2);
      expect(overlaps(calls)).toEqual([]);

      // ---- a call slower than the lease's lifetime: the owner renews it and keeps the store ----
      hubs.push(await startHubProcess(env));
      byPid.set(hubs.at(-1)!.child.pid!, hubs.at(-1)!);
      const slowFrom = emulator.control.apiCalls(domain).length;
      const slow = emulator.control.placeOrder(domain, {
        lineItems: [{ sku: SKUS[0]!, quantity: 1 }],
        locationId: location,
      });
      orders.push(slow);
      await deliver(ORDERS);
      await poll(
        "the slow order imported",
        async () => (await inbox()).length,
        (n) => n === ORDERS + 1,
      );
      await poll(
        "the slow order imported",
        () => db.selectFrom("orders").select("id").where("shopify_order_gid", "=", slow.id).execute(),
        (r) => r.length === 1,
      );
      emulator.control.setFaults(domain, { latencyMs: 2 * TTL });
      await send("POST", "/api/v1/shipments", {
        id: "fleetq-ship-slow",
        orderId: slow.id,
        warehouse: "W1",
        lines: slow.lineItems.map((l) => ({ lineId: l.id, quantity: l.quantity })),
        packages: [{ carrier: "UPS", trackingNumber: "1Z-FLEETQ-SLOW" }],
      });
      const owners = new Set<number | undefined>();
      const slowShipment = () =>
        db.selectFrom("shipments").select("status").where("external_id", "=", "fleetq-ship-slow").execute();
      for (const deadline = Date.now() + 90_000; (await slowShipment())[0]?.status !== "applied"; ) {
        owners.add(await leaseOwner(storeId));
        if (Date.now() > deadline) throw new Error("the slow shipment was not delivered");
        await sleep(200);
      }
      emulator.control.clearFaults(domain);
      // One owner throughout (never lapsed), its calls each longer than the lease's lifetime.
      expect([...owners]).toHaveLength(1);
      expect(owners.has(undefined)).toBe(false);
      const slowCalls = emulator.control.apiCalls(domain).slice(slowFrom);
      expect(slowCalls.some((c) => c.answeredAt! - c.receivedAt! >= 2 * TTL)).toBe(true);
      expect(overlaps(slowCalls)).toEqual([]);
      expect(emulator.control.getOrder(domain, slow.id).fulfillments).toHaveLength(1);
    } finally {
      emulator.control.clearFaults(domain);
      await database.close();
      for (const h of hubs) if (alive(h.child)) h.child.kill("SIGKILL");
      await Promise.all(hubs.map((h) => exited(h.child)));
    }
  }, 240_000);
});
