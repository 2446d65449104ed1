/**
 * Catalog publish against the emulator (issue 16), synchronous path (the bulk path is not built
 * yet): the hub's reconciler publishing N products of V variants to an empty store, then one
 * price changed on every variant. Prints, side by side:
 *  1. first publish: wall time, calls, points spent, points per second against the store's
 *     restore rate (target ≥ 0.9 of the cost ceiling);
 *  2. a price change on every variant: points spent by the price-only path
 *     (productVariantsBulkUpdate) against re-publishing the same products whole (productSet),
 *     and their ratio.
 *
 *   npm run bench:catalog-publish -- [--products 300] [--variants 5] [--plan standard]
 */
import { parseArgs } from "node:util";
import { startEmulator } from "../emulator/index.ts";
import { publishDb } from "../src/catalog/publish/publish-store.ts";
import { runPublishCycle } from "../src/catalog/publish/reconciler.ts";
import { systemClock } from "../src/core/clock.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { startTestHub } from "../test/support/hub.ts";
import { connectDirectly, emulatedStore } from "../test/support/shopify.ts";

const { values } = parseArgs({
  options: {
    products: { type: "string", default: "300" },
    variants: { type: "string", default: "5" },
    plan: { type: "string", default: "standard" },
  },
});
const PRODUCTS = Number(values.products);
const VARIANTS = Number(values.variants);
const PLAN = values.plan as "standard" | "advanced" | "plus";
const RESTORE = { standard: 100, advanced: 200, plus: 1000 }[PLAN];

const emulator = await startEmulator({ testOnlyAllowPlainHttpWebhooks: true });
const store = await emulatedStore({ emulator, domain: "publish-bench.myshopify.com", skus: [], plan: PLAN });
const hub = await startTestHub("sqlite");
const storeId = await connectDirectly(hub.ctx.database.db, store, [[]], { enabledFlows: [] });
const transport = createAdminTransport({
  store: store.domain,
  urlTemplate: `${emulator.url}/{shop}`,
  getAccessToken: async () => store.token,
  clock: systemClock,
  logger: hub.ctx.logger,
});
const deps = { db: hub.ctx.database.db, now: () => Date.now(), logger: hub.ctx.logger, windowMs: 0 };

const sizes = ["XS", "S", "M", "L", "XL", "XXL", "3XL", "4XL"];
const product = (i: number, price: string) => ({
  key: `bench-${i}`,
  title: `Bench product ${i}`,
  descriptionHtml: `<p>Product ${i}</p>`,
  vendor: "Bench",
  tags: ["bench"],
  options: [{ name: "Size", values: sizes.slice(0, VARIANTS) }],
  metafields: [{ namespace: "specs", key: "fabric", type: "single_line_text_field", value: "cotton" }],
  variants: sizes.slice(0, VARIANTS).map((s) => ({ sku: `B${i}-${s}`, options: [s], price, cost: "4.00" })),
});
const putAll = async (price: string) => {
  for (let i = 0; i < PRODUCTS; i += 100) {
    const res = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/products",
      headers: hub.auth,
      payload: {
        products: Array.from({ length: Math.min(100, PRODUCTS - i) }, (_, j) => product(i + j, price)),
      },
    });
    if (res.statusCode !== 200) throw new Error(res.body);
  }
};
const spent = (from: number) => {
  const calls = emulator.control.apiCalls(store.domain).slice(from);
  const answered = calls.filter((c) => !c.throttled);
  return {
    calls: answered.length,
    throttled: calls.length - answered.length,
    points: calls.reduce((n, c) => n + (c.actualQueryCost ?? 0), 0),
    requestedCost: answered.reduce<Record<string, number>>((m, c) => {
      for (const f of c.rootFields) m[f] = Math.max(m[f] ?? 0, c.requestedQueryCost ?? 0);
      return m;
    }, {}),
    byField: answered.reduce<Record<string, number>>((m, c) => {
      for (const f of c.rootFields) m[f] = (m[f] ?? 0) + 1;
      return m;
    }, {}),
  };
};
const converge = async () => {
  for (;;) {
    const r = await runPublishCycle(deps, { id: storeId, domain: store.domain }, transport);
    if (r.refreshed === 0 && r.published === 0 && r.priced === 0 && r.failed === 0 && !r.remaining) return;
  }
};

await putAll("19.90");
// The budget available during a phase: the bucket it started with (full) plus the refill.
const available = (start: number, seconds: number) => start + RESTORE * seconds;
const startBucket = emulator.control.getShop(store.domain).bucketSize;
let from = emulator.control.apiCalls(store.domain).length;
let t0 = performance.now();
await converge();
const firstSeconds = (performance.now() - t0) / 1000;
const first = spent(from);
const published = emulator.control.listProducts(store.domain).length;

await putAll("17.50");
from = emulator.control.apiCalls(store.domain).length;
t0 = performance.now();
await converge();
const priceSeconds = (performance.now() - t0) / 1000;
const priceOnly = spent(from);

// The same price change sent whole: forget what Shopify confirmed, publish again.
await putAll("16.00");
await publishDb(hub.ctx.database.db)
  .updateTable("catalog_publish_state")
  .set({ confirmed_hash: null })
  .where("store_id", "=", storeId)
  .execute();
from = emulator.control.apiCalls(store.domain).length;
t0 = performance.now();
await converge();
const wholeSeconds = (performance.now() - t0) / 1000;
const whole = spent(from);

const r = (n: number) => Math.round(n * 1000) / 1000;
console.log(
  JSON.stringify(
    {
      plan: PLAN,
      restoreRatePerSecond: RESTORE,
      products: PRODUCTS,
      variants: PRODUCTS * VARIANTS,
      productsInShopify: published,
      firstPublish: {
        seconds: r(firstSeconds),
        ...first,
        pointsPerSecond: r(first.points / firstSeconds),
        bucketAtStart: startBucket,
        ofCostCeiling: r(first.points / available(startBucket, firstSeconds)),
      },
      priceChangeOnEveryVariant: {
        priceOnly: { seconds: r(priceSeconds), ...priceOnly },
        republishedWhole: { seconds: r(wholeSeconds), ...whole },
        pointsRatioPriceOnlyToWhole: r(priceOnly.points / whole.points),
      },
    },
    null,
    2,
  ),
);
await hub.close();
await emulator.close();
