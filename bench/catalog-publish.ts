/**
 * Catalog publish against the emulator (issue 16): the hub's reconciler publishing N products of
 * V variants to two empty stores, one through the bulk path (stagedUploadsCreate +
 * bulkOperationRunMutation) and one through the synchronous path (productSet per product under
 * the store's throttle), then one price changed on one variant of every product. Prints:
 *  1. first publish, bulk path: wall time, calls, points;
 *  2. first publish, synchronous path: wall time, calls, points, points per second against the
 *     store's cost ceiling (bucket + restore rate; target ≥ 0.9), side by side with one call in
 *     flight (products one at a time, as before; `--skip-serial` leaves it out) and `--in-flight`
 *     products at once in the publish's own lane of the transport (default: what the hub chooses
 *     for the plan, `publishInFlight`: 45 on Plus, 4 on Standard), the other flows' default lane
 *     of 4 beside it as in the hub; THROTTLED answers counted from the emulator's log;
 *  3. the price change: points spent by the price-only path (productVariantsBulkUpdate, through a
 *     bulk mutation above the threshold, and one call per product) against re-publishing the same
 *     products whole (productSet), and their ratios.
 *
 *   npm run bench:catalog-publish -- [--products 1000] [--variants 5] [--plan plus] [--in-flight n]
 *     [--latency-ms 0] (each Admin API call of the synchronous stores answered that much later)
 *     [--skip-serial] [--skip-bulk] (leave out the one-in-flight or the bulk first publish)
 */
import { parseArgs } from "node:util";
import { startEmulator } from "../emulator/index.ts";
import { BULK_PUBLISH } from "../src/catalog/publish/bulk-publish.ts";
import { publishDb } from "../src/catalog/publish/publish-store.ts";
import { publishInFlight, runPublishCycle } from "../src/catalog/publish/reconciler.ts";
import { systemClock } from "../src/core/clock.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { startTestHub } from "../test/support/hub.ts";
import { connectDirectly, emulatedStore } from "../test/support/shopify.ts";

const { values } = parseArgs({
  options: {
    products: { type: "string", default: "1000" },
    variants: { type: "string", default: "5" },
    plan: { type: "string", default: "plus" },
    "in-flight": { type: "string" },
    "skip-serial": { type: "boolean", default: false },
    "skip-bulk": { type: "boolean", default: false },
    // Shopify answers a call in roughly 100-300 ms; the emulator in this process answers at once,
    // so without a latency the synchronous path measures the machine's CPU, not the waits.
    "latency-ms": { type: "string", default: "0" },
  },
});
const PRODUCTS = Number(values.products);
const VARIANTS = Number(values.variants);
const PLAN = values.plan as "standard" | "advanced" | "plus";
const RESTORE = { standard: 100, advanced: 200, plus: 1000 }[PLAN];
const IN_FLIGHT = values["in-flight"] ? Number(values["in-flight"]) : publishInFlight(RESTORE);
const SKIP_SERIAL = values["skip-serial"];
const SKIP_BULK = values["skip-bulk"];
const LATENCY_MS = Number(values["latency-ms"]);

const emulator = await startEmulator({ testOnlyAllowPlainHttpWebhooks: true });
const hub = await startTestHub("sqlite");
const deps = { db: hub.ctx.database.db, now: () => Date.now(), logger: hub.ctx.logger, windowMs: 0 };
const connect = async (domain: string, inFlight = IN_FLIGHT) => {
  const store = await emulatedStore({ emulator, domain, skus: [], plan: PLAN });
  const id = await connectDirectly(hub.ctx.database.db, store, [[]], { enabledFlows: [] });
  const transport = createAdminTransport({
    store: store.domain,
    urlTemplate: `${emulator.url}/{shop}`,
    getAccessToken: async () => store.token,
    clock: systemClock,
    logger: hub.ctx.logger,
    // As the hub's transports: the default lane of 4 calls, and the publish's lane beside it.
    maxInFlight: Math.min(4, inFlight),
    maxInFlightTotal: Math.min(4, inFlight) + inFlight,
  });
  // Calls and points counted as the hub sees them (each answer's actualQueryCost): the emulator's
  // call log keeps only its latest 20,000 entries, fewer than a phase at full size makes.
  const counted: Counted = { calls: 0, points: 0, byOperation: {} };
  const counting: typeof transport = {
    ...transport,
    store: transport.store,
    async graphql(document, variables, options) {
      const r = await transport.graphql<never>(document, variables, options);
      counted.calls++;
      counted.points += r.cost?.actualQueryCost ?? 0;
      const name = /(?:query|mutation)\s+(\w+)/.exec(document)?.[1] ?? "anonymous";
      counted.byOperation[name] = (counted.byOperation[name] ?? 0) + 1;
      return r;
    },
  };
  return { domain: store.domain, id, transport: counting, counted, inFlight };
};
interface Counted {
  calls: number;
  points: number;
  byOperation: Record<string, number>;
}
const bulkStore = await connect("publish-bench-bulk.myshopify.com");
const syncStore = await connect("publish-bench-sync.myshopify.com");
const serialStore = await connect("publish-bench-serial.myshopify.com", 1);
if (LATENCY_MS > 0)
  for (const s of [syncStore, serialStore]) emulator.control.setFaults(s.domain, { latencyMs: LATENCY_MS });
type BenchStore = typeof bulkStore;

const sizes = ["XS", "S", "M", "L", "XL", "XXL", "3XL", "4XL"];
const product = (i: number, price: string, first = price) => ({
  key: `bench-${i}`,
  title: `Bench product ${i}`,
  descriptionHtml: `<p>Product ${i}</p>`,
  vendor: "Bench",
  tags: ["bench"],
  options: [{ name: "Size", values: sizes.slice(0, VARIANTS) }],
  metafields: [{ namespace: "specs", key: "fabric", type: "single_line_text_field", value: "cotton" }],
  variants: sizes
    .slice(0, VARIANTS)
    .map((s, n) => ({ sku: `B${i}-${s}`, options: [s], price: n === 0 ? first : price, cost: "4.00" })),
});
const putAll = async (price: string, first = price) => {
  for (let i = 0; i < PRODUCTS; i += 100) {
    const res = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/products",
      headers: hub.auth,
      payload: {
        products: Array.from({ length: Math.min(100, PRODUCTS - i) }, (_, j) => product(i + j, price, first)),
      },
    });
    if (res.statusCode !== 200) throw new Error(res.body);
  }
};
const snapshot = (store: BenchStore) => ({
  calls: store.counted.calls,
  points: store.counted.points,
  byOperation: { ...store.counted.byOperation },
  // The emulator's log, to count THROTTLED answers (retried inside the transport).
  marker: emulator.control.apiCalls(store.domain).at(-1),
});
const spent = (store: BenchStore, from: ReturnType<typeof snapshot>) => {
  const log = emulator.control.apiCalls(store.domain);
  const start = from.marker === undefined ? 0 : log.indexOf(from.marker) + 1;
  return {
    calls: store.counted.calls - from.calls,
    points: store.counted.points - from.points,
    // null: more calls than the emulator's log keeps.
    throttled:
      from.marker !== undefined && start === 0 ? null : log.slice(start).filter((c) => c.throttled).length,
    byOperation: Object.fromEntries(
      Object.entries(store.counted.byOperation)
        .map(([k, n]) => [k, n - (from.byOperation[k] ?? 0)] as const)
        .filter(([, n]) => n > 0),
    ),
  };
};
const converge = async (store: BenchStore) => {
  for (;;) {
    const r = await runPublishCycle(
      { ...deps, inFlight: store.inFlight },
      { id: store.id, domain: store.domain },
      store.transport,
    );
    if (r.bulk) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    if (r.refreshed === 0 && r.published === 0 && r.priced === 0 && r.failed === 0 && !r.remaining) return;
  }
};
const timed = async (store: BenchStore, phase: string) => {
  const from = snapshot(store);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await converge(store);
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  const out = {
    seconds,
    // CPU of this process (hub and emulator) per second of the phase: near 1, one core is the limit.
    cpuSecondsPerSecond: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 100) / 100,
    ...spent(store, from),
  };
  // Progress on stderr, so a long run shows each phase as it ends.
  console.error(
    `${phase}: ${out.seconds.toFixed(1)} s, ${out.calls} calls, ${out.points} points, CPU ${out.cpuSecondsPerSecond} s/s, throttled ${out.throttled}`,
  );
  return out;
};

await putAll("19.90");
// The budget available during a phase: the bucket it started with (full) plus the refill.
const available = (start: number, seconds: number) => start + RESTORE * seconds;
const startBucket = emulator.control.getShop(syncStore.domain).bucketSize;

// 1. The bulk path (the default: a first publish above the threshold).
const bulk = SKIP_BULK ? null : await timed(bulkStore, "first publish, bulk");
const bulkPublished = emulator.control.listProducts(bulkStore.domain).length;
// 2. The synchronous path: the same first publish with the bulk path switched off.
BULK_PUBLISH.startRuns = false;
const serial = SKIP_SERIAL
  ? null
  : await timed(serialStore, "first publish, synchronous, one call in flight");
const serialPublished = emulator.control.listProducts(serialStore.domain).length;
const sync = await timed(syncStore, `first publish, synchronous, ${IN_FLIGHT} in flight`);
const syncPublished = emulator.control.listProducts(syncStore.domain).length;

// 3. One price changed on one variant of every product: price-only through a bulk mutation (the
// default above the threshold), price-only one call per product, then the same sent whole.
BULK_PUBLISH.startRuns = true;
await putAll("19.90", "17.50");
const priceOnlyBulk = await timed(syncStore, "price change, bulk");
BULK_PUBLISH.startRuns = false;
await putAll("19.90", "17.00");
const priceOnly = await timed(syncStore, "price change, synchronous");
await putAll("19.90", "16.00");
await publishDb(hub.ctx.database.db)
  .updateTable("catalog_publish_state")
  .set({ confirmed_hash: null })
  .where("store_id", "=", syncStore.id)
  .execute();
const whole = await timed(syncStore, "price change sent whole");

const r = (n: number) => Math.round(n * 1000) / 1000;
console.log(
  JSON.stringify(
    {
      plan: PLAN,
      restoreRatePerSecond: RESTORE,
      latencyMsSynchronousStores: LATENCY_MS,
      products: PRODUCTS,
      variants: PRODUCTS * VARIANTS,
      firstPublishBulk: bulk && { productsInShopify: bulkPublished, ...bulk, seconds: r(bulk.seconds) },
      firstPublishSynchronousOneInFlight: serial && {
        productsInShopify: serialPublished,
        ...serial,
        seconds: r(serial.seconds),
        pointsPerSecond: r(serial.points / serial.seconds),
        ofRestoreRate: r(serial.points / serial.seconds / RESTORE),
        ofCostCeiling: r(serial.points / available(startBucket, serial.seconds)),
      },
      firstPublishSynchronous: {
        inFlight: IN_FLIGHT,
        productsInShopify: syncPublished,
        ...sync,
        seconds: r(sync.seconds),
        pointsPerSecond: r(sync.points / sync.seconds),
        // Points/s against the restore rate alone: a run shorter than bucket / restore rate
        // can only use a fraction of the ceiling below, which counts the full bucket it began with.
        ofRestoreRate: r(sync.points / sync.seconds / RESTORE),
        bucketAtStart: startBucket,
        ofCostCeiling: r(sync.points / available(startBucket, sync.seconds)),
      },
      wallTimeRatioBulkToSynchronous: bulk && r(bulk.seconds / sync.seconds),
      wallTimeRatioInFlightToOne: serial && r(sync.seconds / serial.seconds),
      priceChangedOnVariants: PRODUCTS,
      priceChange: {
        priceOnlyBulk: { ...priceOnlyBulk, seconds: r(priceOnlyBulk.seconds) },
        priceOnlySynchronous: { ...priceOnly, seconds: r(priceOnly.seconds) },
        republishedWhole: { ...whole, seconds: r(whole.seconds) },
        pointsRatioPriceOnlyBulkToWhole: Math.round((priceOnlyBulk.points / whole.points) * 100000) / 100000,
        pointsRatioPriceOnlySynchronousToWhole: r(priceOnly.points / whole.points),
      },
    },
    null,
    2,
  ),
);
await hub.close();
await emulator.close();
