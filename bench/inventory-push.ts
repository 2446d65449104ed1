/**
 * Inventory push against the emulator's Standard plan (100 cost points/s):
 *  1. quantity updates per second achieved vs the ceiling the cost budget allows
 *     (restore rate ÷ measured cost of one call × 250 quantities per call); target ≥ 0.9;
 *  2. the same run against a one-quantity-per-call push; target ≥ 200×;
 *  3. p50/p99 delay from a movement accepted by the API to the new value readable in the
 *     emulator, at 1,000 movements/s with the default 2 s coalescing window; target p99 ≤ 3 s.
 *
 *   npm run bench:push -- [--items 5000] [--seconds 12]
 */
import { parseArgs } from "node:util";
import { startEmulator } from "../emulator/index.ts";
import { systemClock } from "../src/core/clock.ts";
import { inventoryCapability } from "../src/inventory/index.ts";
import { markPushDirty } from "../src/inventory/push/push-store.ts";
import { runPushCycle } from "../src/inventory/push/reconciler.ts";
import { registerWithWorker } from "../src/runtime/capability.ts";
import { Worker } from "../src/runtime/worker.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import type { AdminTransport } from "../src/shopify/transport.ts";
import { startTestHub } from "../test/support/hub.ts";
import { connectDirectly, emulatedStore } from "../test/support/shopify.ts";

const { values } = parseArgs({
  options: { items: { type: "string", default: "5000" }, seconds: { type: "string", default: "12" } },
});
const ITEMS = Number(values.items);
const SECONDS = Number(values.seconds);
const WINDOW_MS = 2000;

// TEST ONLY flag: the benchmark's hub receives webhooks on plain http:// on loopback.
const emulator = await startEmulator({ testOnlyAllowPlainHttpWebhooks: true });
const skus = Array.from({ length: ITEMS }, (_, i) => `B-${i}`);
const store = await emulatedStore({
  emulator,
  domain: "bench.myshopify.com",
  skus,
  locations: ["Main"],
  plan: "standard",
});
const hub = await startTestHub("sqlite", { env: { COALESCE_WINDOW_MS: String(WINDOW_MS) }, listen: true });
hub.ctx.stockListeners.push(markPushDirty);
const post = async (path: string, method: string, body: unknown) => {
  const res = await fetch(`${hub.url}${path}`, {
    method,
    headers: { ...hub.auth, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
};
await post("/api/v1/warehouses", "PUT", { warehouses: [{ code: "MAIN", name: "Main" }] });
for (let i = 0; i < ITEMS; i += 1000)
  await post("/api/v1/variants", "PUT", { variants: skus.slice(i, i + 1000).map((sku) => ({ sku })) });
const storeId = await connectDirectly(hub.ctx.database.db, store, [["MAIN"]]);
const transport: AdminTransport = createAdminTransport({
  store: store.domain,
  urlTemplate: `${emulator.url}/{shop}`,
  getAccessToken: async () => store.token,
  clock: systemClock,
  logger: hub.ctx.logger,
});
const storeRef = { id: storeId, domain: store.domain, mode: "absolute" as const };
const deps = { db: hub.ctx.database.db, now: () => Date.now(), logger: hub.ctx.logger, windowMs: 0 };
let n = 0;
const bump = async (from: number, to: number) => {
  for (let i = from; i < to; i += 1000) {
    await post("/api/v1/movements", "POST", {
      movements: skus.slice(i, Math.min(to, i + 1000)).map((sku) => ({
        id: `mv-${n++}`,
        type: "receipt",
        sku,
        warehouse: "MAIN",
        quantity: 1,
        occurredAt: new Date().toISOString(),
      })),
    });
  }
};
/** Starts the measurement with an empty bucket, so the burst allowance does not flatter us. */
const drain = async () => {
  emulator.control.setThrottlePressure({
    shop: store.domain,
    clientId: store.clientId,
    available: 0,
    drainRate: 0,
  });
};

// --- 1. Throughput against the cost ceiling --------------------------------------------------
await bump(0, ITEMS);
await runPushCycle(deps, storeRef, transport); // first push: warms up, learns the bucket
const restoreRate = emulator.control.getShop(store.domain).restoreRate;
const mutationCalls = () =>
  emulator.control.apiCalls(store.domain).filter((c) => JSON.stringify(c).includes("inventorySetQuantities"));
const lastCost = (mutationCalls().at(-1) as { actualCost?: number; cost?: number } | undefined) ?? {};
const costPerCall = Number(lastCost.actualCost ?? lastCost.cost ?? 10);
const ceiling = (restoreRate / costPerCall) * 250;

await drain();
let updates = 0;
let producing = true;
// Movements keep arriving while the push runs, so the push always has work waiting.
const producer = (async () => {
  while (producing) await bump(0, ITEMS);
})();
const t0 = performance.now();
while ((performance.now() - t0) / 1000 < SECONDS) {
  const r = await runPushCycle(deps, storeRef, transport);
  updates += r.pushed;
  // SQLite answers synchronously: without a macrotask yield this loop would starve the HTTP
  // server that receives the producer's movements.
  if (r.pushed === 0) await new Promise((resolve) => setTimeout(resolve, 5));
}
const batchedRate = updates / ((performance.now() - t0) / 1000);
producing = false;
await producer;

// --- 2. One quantity per call -----------------------------------------------------------------
await bump(0, ITEMS);
await drain();
const SET_ONE = `mutation One($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) { userErrors { code message } } }`;
const levels = new Map(
  emulator.control.listInventoryLevels(store.domain).map((l) => [l.inventoryItemId, Number(l.available)]),
);
let naive = 0;
const t1 = performance.now();
while ((performance.now() - t1) / 1000 < Math.min(SECONDS, 6)) {
  const v = store.variants[naive % store.variants.length]!;
  const from = levels.get(v.inventoryItemId) ?? 0;
  await transport.graphql(SET_ONE, {
    key: `naive-${naive}`,
    input: {
      name: "available",
      reason: "correction",
      quantities: [
        {
          inventoryItemId: v.inventoryItemId,
          locationId: store.locations[0]!.id,
          quantity: from + 1,
          changeFromQuantity: from,
        },
      ],
    },
  });
  levels.set(v.inventoryItemId, from + 1);
  naive++;
}
const naiveRate = naive / ((performance.now() - t1) / 1000);
// Let the hub own the values again before the latency run.
await hub.ctx.database.db.deleteFrom("inventory_sync").execute();

// --- 3. Latency at 1,000 movements/s with the worker running --------------------------------
emulator.control.setThrottlePressure({ shop: store.domain, clientId: store.clientId, drainRate: 0 });
const worker = new Worker(hub.ctx, () => transport, { tickMs: 100 });
registerWithWorker(worker, [inventoryCapability(hub.ctx, { driftIntervalMs: 0 })]);
await hub.ctx.database.db.deleteFrom("push_dirty").execute();
const { markStoreDirtyFor } = await import("../src/inventory/push/push-store.ts");
await markStoreDirtyFor(hub.ctx.database.db, storeId, "all", 0);
await runPushCycle(deps, storeRef, transport);
while ((await runPushCycle(deps, storeRef, transport)).remaining);
worker.start();
const expected = new Map<string, number>(); // sku → hub value after the movement
const pendingChecks: { sku: string; value: number; acceptedAt: number }[] = [];
for (const l of emulator.control.listInventoryLevels(store.domain)) expected.set(l.sku!, Number(l.available));
const delays: number[] = [];
const poller = setInterval(() => {
  const now = performance.now();
  const current = new Map(
    emulator.control.listInventoryLevels(store.domain).map((l) => [l.sku!, Number(l.available)]),
  );
  for (let i = pendingChecks.length - 1; i >= 0; i--) {
    const c = pendingChecks[i]!;
    if ((current.get(c.sku) ?? 0) >= c.value) {
      delays.push(now - c.acceptedAt);
      pendingChecks.splice(i, 1);
    }
  }
}, 25);
const RATE = 1000;
const LATENCY_SECONDS = Math.min(SECONDS, 10);
const start = performance.now();
for (let tick = 0; tick < LATENCY_SECONDS * 10; tick++) {
  const batch = Array.from({ length: RATE / 10 }, () => skus[Math.floor(Math.random() * ITEMS)]!);
  await post("/api/v1/movements", "POST", {
    movements: batch.map((sku) => ({
      id: `lat-${n++}`,
      type: "receipt",
      sku,
      warehouse: "MAIN",
      quantity: 1,
      occurredAt: new Date().toISOString(),
    })),
  });
  const acceptedAt = performance.now();
  for (const sku of batch) {
    const value = (expected.get(sku) ?? 0) + 1;
    expected.set(sku, value);
    pendingChecks.push({ sku, value, acceptedAt });
  }
  const wait = start + (tick + 1) * 100 - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
const deadline = performance.now() + 15_000;
while (pendingChecks.length > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
clearInterval(poller);
await worker.stop();
delays.sort((a, b) => a - b);
const pct = (p: number) =>
  delays[Math.min(delays.length - 1, Math.floor((p / 100) * delays.length))] ?? Number.NaN;

console.log(
  `inventory push — emulator Standard plan (restore ${restoreRate} points/s), ${ITEMS} items, one location`,
);
console.log(`  measured cost of one 250-quantity inventorySetQuantities call: ${costPerCall} points`);
console.log(`  ceiling (restore ÷ cost × 250):        ${ceiling.toFixed(0)} quantity updates/s`);
console.log(
  `  achieved, batched push:                ${batchedRate.toFixed(0)} quantity updates/s  → ratio to ceiling ${(batchedRate / ceiling).toFixed(3)} (target ≥ 0.9)`,
);
console.log(
  `  one quantity per call:                 ${naiveRate.toFixed(1)} quantity updates/s  → batched/naive ${(batchedRate / naiveRate).toFixed(0)}× (target ≥ 200×)`,
);
console.log(
  `  movement accepted → visible in Shopify at ${RATE} movements/s, window ${WINDOW_MS} ms: p50 ${pct(50).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms over ${delays.length} movements (${pendingChecks.length} never seen; target p99 ≤ ${WINDOW_MS + 1000} ms)`,
);
await hub.close();
await emulator.close();
