/**
 * One store in the emulator connected to a real hub (HTTP webhooks with HMAC into the hub's
 * inbox), with the hub's background work run by hand until everything is quiet, and the stock
 * invariants of docs/STOCK-MODEL.md checked against what the emulator holds. Used by the stock
 * model's end-to-end and property tests.
 */
import { expect } from "vitest";
import { type Emulator, startEmulator } from "../../emulator/index.ts";
import { systemClock } from "../../src/core/clock.ts";
import { deliverStoreShipments } from "../../src/fulfillment/deliver.ts";
import { FULFILLMENT_WEBHOOK_SUBSCRIPTIONS, processRefundInbox } from "../../src/fulfillment/refunds.ts";
import {
  processFulfillmentInbox,
  syncUnexplainedFulfillments,
} from "../../src/fulfillment/shopify-fulfillments.ts";
import { dryRun } from "../../src/inventory/push/drift.ts";
import { loadTargets, markStoreDirtyFor } from "../../src/inventory/push/push-store.ts";
import { type PushDeps, type PushStore, runPushCycle } from "../../src/inventory/push/reconciler.ts";
import { LEVEL_SUBSCRIPTIONS, processLevelInbox } from "../../src/inventory/push/shopify-level-events.ts";
import { processInbox } from "../../src/orders/inbox.ts";
import { ORDER_WEBHOOK_SUBSCRIPTIONS } from "../../src/orders/webhooks.ts";
import { orderStorePass } from "../../src/orders/worker-jobs.ts";
import { createAdminTransport } from "../../src/shopify/admin-client.ts";
import type { AdminTransport } from "../../src/shopify/transport.ts";
import { registerWebhooks } from "../../src/shops/webhook-subscriptions.ts";
import type { TestDialect } from "./databases.ts";
import { startTestHub, type TestHub } from "./hub.ts";
import { APP_SCOPES, connectDirectly, type EmulatedStore, shopifyLevel } from "./shopify.ts";

export const WORLD_WAREHOUSES = ["W1", "W2"] as const;

export interface WorldOptions {
  readonly emulator: Emulator;
  readonly hub: TestHub;
  /** The app every world's store installs (its secret signs webhooks; the hub is configured with it). */
  readonly app: { clientId: string; clientSecret: string };
  readonly domain: string;
  readonly skus: readonly string[];
  readonly mode: "absolute" | "delta";
  /** Units per SKU and warehouse in the hub (a count) and in Shopify before connecting. */
  readonly initial: number;
  readonly restockRule?: "none" | "order_warehouse";
  readonly shopifyFulfillments?: "record_in_ledger" | "back_office";
}

export interface World {
  readonly store: EmulatedStore;
  readonly storeId: number;
  readonly transport: AdminTransport;
  readonly hub: TestHub;
  readonly mode: "absolute" | "delta";
  /** Location i sells from warehouse WORLD_WAREHOUSES[i]. */
  readonly locations: readonly { id: string; warehouse: string }[];
  call(
    method: "GET" | "POST" | "PUT" | "PATCH",
    url: string,
    payload?: unknown,
  ): Promise<{
    status: number;
    // biome-ignore lint/suspicious/noExplicitAny: test reads of JSON answers
    body: any;
  }>;
  /** Runs every background step (inboxes, shipments, polling, push) until nothing is left. */
  settle(): Promise<void>;
  /** One random background step, as a busy hub would interleave them. */
  step(which: number): Promise<void>;
  /** More background steps (another capability's inboxes and passes), run by `step` and `settle`. */
  addSteps(more: readonly (() => Promise<void>)[]): void;
  pushStore(): Promise<PushStore>;
  pushDeps(): PushDeps;
  /** The hub's on hand per `sku|warehouse`. */
  onHand(): Promise<Map<string, number>>;
  /** Shopify's quantities equal the model's for every linked item and managed location. */
  expectShopifyAsModel(): Promise<void>;
}

export async function createWorld(o: WorldOptions): Promise<World> {
  const { emulator, hub, domain } = o;
  const db = hub.ctx.database.db;
  emulator.control.createShop({ domain, plan: "plus" });
  const locs = WORLD_WAREHOUSES.map((w) => emulator.control.createLocation(domain, { name: `Store ${w}` }));
  const product = emulator.control.createProduct(domain, {
    title: `Product ${domain}`,
    variants: o.skus.map((sku, j) => ({
      sku,
      price: "10.00",
      options: [{ name: "Size", value: `S${j}` }],
      inventory: Object.fromEntries(locs.map((l) => [l.id, o.initial])),
    })),
  });
  const { accessToken } = emulator.control.mintToken({ shop: domain, clientId: o.app.clientId });
  const store: EmulatedStore = {
    emulator,
    domain,
    clientId: o.app.clientId,
    clientSecret: o.app.clientSecret,
    token: accessToken,
    locations: locs.map((l) => ({ id: l.id, name: l.name })),
    variants: product.variants.map((v) => ({
      sku: v.sku!,
      variantId: v.id,
      inventoryItemId: v.inventoryItemId,
      barcode: v.barcode,
    })),
  };
  const call: World["call"] = async (method, url, payload) => {
    const res = await hub.server.inject({ method, url, headers: hub.auth, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.body ? res.json() : null };
  };
  const wh = await call("PUT", "/api/v1/warehouses", {
    warehouses: WORLD_WAREHOUSES.map((code) => ({ code, name: code })),
  });
  expect(wh.status, JSON.stringify(wh.body)).toBe(200);
  const put = await call("PUT", "/api/v1/variants", { variants: o.skus.map((sku) => ({ sku })) });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  const at = new Date(Date.now() - 60_000).toISOString();
  const counted = await call("POST", "/api/v1/movements", {
    movements: o.skus.flatMap((sku) =>
      WORLD_WAREHOUSES.map((w) => ({
        id: `${domain}:count:${sku}:${w}`,
        type: "count",
        sku,
        warehouse: w,
        quantity: o.initial,
        occurredAt: at,
      })),
    ),
  });
  expect(counted.status, JSON.stringify(counted.body)).toBe(200);
  const storeId = await connectDirectly(db, store, [["W1"], ["W2"]], {
    mode: o.mode,
    confirmed: o.mode === "absolute" ? "shopify" : "unknown",
  });
  const settings = await call("PUT", `/api/v1/stores/${domain}/order-settings`, { tag: null });
  expect(settings.status, JSON.stringify(settings.body)).toBe(200);
  const fs = await call("PUT", `/api/v1/stores/${domain}/fulfillment-settings`, {
    notifyCustomer: false,
    restockRule: o.restockRule ?? "order_warehouse",
    shopifyFulfillments: o.shopifyFulfillments ?? "record_in_ledger",
  });
  expect(fs.status, JSON.stringify(fs.body)).toBe(200);
  const transport = createAdminTransport({
    store: domain,
    urlTemplate: `${emulator.url}/{shop}`,
    getAccessToken: async () => accessToken,
    clock: systemClock,
    logger: hub.ctx.logger,
  });
  const reg = await registerWebhooks(
    transport,
    [...ORDER_WEBHOOK_SUBSCRIPTIONS, ...FULFILLMENT_WEBHOOK_SUBSCRIPTIONS, ...LEVEL_SUBSCRIPTIONS],
    `${hub.url}/webhooks/shopify`,
  );
  expect(reg.failed).toEqual([]);

  const pushStore = async (): Promise<PushStore> => {
    const s = await db
      .selectFrom("stores")
      .select(["id", "domain", "inventory_mode"])
      .where("id", "=", storeId)
      .executeTakeFirstOrThrow();
    return { id: s.id, domain: s.domain, mode: s.inventory_mode };
  };
  const pushDeps = (): PushDeps => ({ db, now: () => Date.now(), logger: hub.ctx.logger, windowMs: 0 });
  const count = async (q: Promise<{ n: unknown } | undefined>) => Number((await q)?.n ?? 0);

  const steps: (() => Promise<void>)[] = [
    async () => void (await processInbox(hub.ctx)),
    async () => void (await processFulfillmentInbox(hub.ctx)),
    async () => void (await processRefundInbox(hub.ctx, transport)),
    async () => void (await processLevelInbox(hub.ctx)),
    async () => void (await deliverStoreShipments(hub.ctx, transport, storeId, Date.now() + 3_600_000)),
    async () => void (await runPushCycle(pushDeps(), await pushStore(), transport)),
    async () => void (await orderStorePass(hub.ctx, transport, storeId, { backfill: true })),
  ];
  const world: World = {
    store,
    storeId,
    transport,
    hub,
    mode: o.mode,
    locations: locs.map((l, i) => ({ id: l.id, warehouse: WORLD_WAREHOUSES[i]! })),
    call,
    pushStore,
    pushDeps,
    addSteps(more) {
      steps.push(...more);
    },
    async step(which) {
      // Retries wait for their backoff in production; here time is what the test says.
      await db
        .updateTable("webhook_inbox")
        .set({ next_attempt_at: 0 })
        .where("status", "in", ["pending", "failed"])
        .execute();
      await steps[which % steps.length]!();
    },
    async settle() {
      for (let round = 0; round < 40; round++) {
        await emulator.control.webhooksIdle(10_000);
        for (let i = 0; i < steps.length; i++) await world.step(i);
        await syncUnexplainedFulfillments(hub.ctx, transport, storeId);
        // Refused items wait for their retry time; here it has come.
        await db
          .updateTable("inventory_sync")
          .set({ retry_at: null })
          .where("store_id", "=", storeId)
          .execute();
        await db
          .updateTable("push_dirty")
          .set({ first_marked_at: 0 })
          .where("store_id", "=", storeId)
          .execute();
        await emulator.control.webhooksIdle(10_000);
        const inbox = await count(
          db
            .selectFrom("webhook_inbox")
            .select((eb) => eb.fn.countAll().as("n"))
            .where("status", "in", ["pending", "failed"])
            .where("shop", "=", domain)
            .executeTakeFirst(),
        );
        const dirty = await count(
          db
            .selectFrom("push_dirty")
            .select((eb) => eb.fn.countAll().as("n"))
            .where("store_id", "=", storeId)
            .executeTakeFirst(),
        );
        const shipments = await count(
          db
            .selectFrom("shipments")
            .select((eb) => eb.fn.countAll().as("n"))
            .where("store_id", "=", storeId)
            .where("status", "in", ["pending"])
            .executeTakeFirst(),
        );
        if (inbox === 0 && dirty === 0 && shipments === 0) return;
      }
      const dead = await db
        .selectFrom("webhook_inbox")
        .select(["topic", "last_error"])
        .where("status", "!=", "done")
        .execute();
      throw new Error(`the hub did not settle: ${JSON.stringify(dead).slice(0, 2000)}`);
    },
    async onHand() {
      const rows = await db
        .selectFrom("stock_levels as s")
        .innerJoin("variants as v", "v.id", "s.variant_id")
        .innerJoin("warehouses as w", "w.id", "s.warehouse_id")
        .select(["v.sku", "w.code", "s.on_hand"])
        .where("v.sku", "in", [...o.skus])
        .execute();
      return new Map(rows.map((r) => [`${r.sku}|${r.code}`, r.on_hand]));
    },
    async expectShopifyAsModel() {
      const targets = await loadTargets(db, storeId, "all");
      const skuOf = new Map(store.variants.map((v) => [v.inventoryItemId, v.sku]));
      const seen = targets.map((t) => {
        const sku = skuOf.get(t.inventoryItemGid)!;
        const level = shopifyLevel(store, sku, t.locationGid);
        return {
          sku,
          location: t.locationGid,
          shopify: { available: level.available, onHand: level.onHand, committed: level.committed },
        };
      });
      const want = targets.map((t) => ({
        sku: skuOf.get(t.inventoryItemGid)!,
        location: t.locationGid,
        shopify: { available: t.sellable, onHand: t.desired, committed: t.committed },
      }));
      expect(seen).toEqual(want);
      const report = await dryRun(pushDeps(), await pushStore(), transport, true);
      expect(report.rows).toEqual([]);
    },
  };
  // As enabling the push does: every linked item is due once.
  await markStoreDirtyFor(db, storeId, "all", Date.now());
  await world.settle();
  return world;
}

/** The emulator every world of a test file lives in, and the app its stores install. */
export async function startWorldEmulator(): Promise<{ emulator: Emulator; app: WorldOptions["app"] }> {
  const emulator = await startEmulator();
  emulator.control.setWebhookOptions({ baseDelayMs: 5, timeoutMs: 5000 });
  const app = emulator.control.createApp({ name: "Tillbridge", scopes: [...APP_SCOPES] });
  return { emulator, app };
}

/** A hub listening on a real port (webhooks arrive over HTTP), configured with the app's secret. */
export const startWorldHub = (dialect: TestDialect, app: WorldOptions["app"]): Promise<TestHub> =>
  startTestHub(dialect, {
    env: { SHOPIFY_API_KEY: app.clientId, SHOPIFY_API_SECRET: app.clientSecret },
    listen: true,
  });
