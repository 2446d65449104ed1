/**
 * What the hub's reads cost on the emulator, which charges Shopify's calculated query cost
 * (logarithmically sized connections, emulator/cost.ts): points per 1,000 orders read by the
 * polling backfill (the page read and each order's money read apart) and per 1,000 inventory
 * levels read (by location page, by item ids, by bulk operation), requested (what the bucket must
 * hold before a call) and actual (what it is charged after). Issue 18: the hub had been tuned to
 * tiny pages for the emulator's old linear cost (ORDERS_PAGE = 15).
 *
 *   npm run bench:costs -- [--orders 300] [--levels 2000]
 */
import { parseArgs } from "node:util";
import { parse } from "graphql";
import { findOperation, requestedCost } from "../emulator/cost.ts";
import { startEmulator } from "../emulator/index.ts";
import { adminSchema } from "../emulator/schema.ts";
import { systemClock } from "../src/core/clock.ts";
import {
  ITEM_LEVELS_AT_LOCATION,
  LOCATION_LEVELS_PAGE,
  readAllLevelsBulk,
  readItemLevels,
  readLocationLevels,
} from "../src/inventory/push/shopify-inventory.ts";
import { backfillOrders, ORDERS_PAGE, ORDERS_UPDATED_SINCE_QUERY } from "../src/orders/backfill.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import type { AdminTransport, GraphQLCallOptions } from "../src/shopify/transport.ts";
import { startTestHub } from "../test/support/hub.ts";
import { connectDirectly, emulatedStore } from "../test/support/shopify.ts";

const { values } = parseArgs({
  options: { orders: { type: "string", default: "300" }, levels: { type: "string", default: "2000" } },
});
const ORDERS = Number(values.orders);
const LEVELS = Number(values.levels);

// --- the calculation alone, per page size ------------------------------------------------------
const schema = adminSchema();
const requested = (doc: string, variables: Record<string, unknown>) => {
  const d = parse(doc);
  return requestedCost(schema, d, findOperation(d)!, variables);
};
const orderPage = (first: number) => requested(ORDERS_UPDATED_SINCE_QUERY, { first, query: "updated_at:>0" });

// --- live: every call counted by operation -----------------------------------------------------
type Tally = Map<string, { calls: number; requested: number; actual: number }>;
function counting(inner: AdminTransport, tally: Tally): AdminTransport {
  return {
    store: inner.store,
    graphql: async <T>(
      document: string,
      variables?: Record<string, unknown>,
      options?: GraphQLCallOptions,
    ) => {
      const r = await inner.graphql<T>(document, variables, options);
      const name = /\b(?:query|mutation)\s+(\w+)/.exec(document)?.[1] ?? "(anonymous)";
      const t = tally.get(name) ?? { calls: 0, requested: 0, actual: 0 };
      t.calls++;
      t.requested += r.cost?.requestedQueryCost ?? 0;
      t.actual += r.cost?.actualQueryCost ?? r.cost?.requestedQueryCost ?? 0;
      tally.set(name, t);
      return r;
    },
  };
}
const per1000 = (points: number, n: number) => ((points * 1000) / n).toFixed(0);
const lines = (tally: Tally, n: number, what: string) =>
  [...tally].map(
    ([name, t]) =>
      `    ${name}: ${t.calls} calls, requested ${t.requested} (${per1000(t.requested, n)} per 1,000 ${what}), actual ${t.actual} (${per1000(t.actual, n)} per 1,000 ${what})`,
  );

const emulator = await startEmulator({ testOnlyAllowPlainHttpWebhooks: true });

// Orders: placed in Shopify, read by the backfill into a hub.
const skus = Array.from({ length: 20 }, (_, i) => `Q-${i}`);
const store = await emulatedStore({ emulator, domain: "costs.myshopify.com", skus, initial: () => 1000 });
const hub = await startTestHub("sqlite");
await hub.server.inject({
  method: "PUT",
  url: "/api/v1/warehouses",
  headers: hub.auth,
  payload: { warehouses: [{ code: "W1", name: "W1" }] },
});
await hub.server.inject({
  method: "PUT",
  url: "/api/v1/variants",
  headers: hub.auth,
  payload: { variants: skus.map((sku) => ({ sku })) },
});
const storeId = await connectDirectly(hub.ctx.database.db, store, [["W1"], []], {
  enabledFlows: ["order_intake"],
});
for (let i = 0; i < ORDERS; i++)
  emulator.control.placeOrder(store.domain, {
    lineItems: [
      { sku: skus[i % 20]!, quantity: 1 },
      { sku: skus[(i + 7) % 20]!, quantity: 2 },
    ],
    customer: { email: `buyer${i}@example.com`, firstName: "B", lastName: `${i}` },
    ...(i % 3 === 0 ? { locationId: store.locations[0]!.id } : {}),
  });
const transport = createAdminTransport({
  store: store.domain,
  urlTemplate: `${emulator.url}/{shop}`,
  getAccessToken: async () => store.token,
  clock: systemClock,
  logger: hub.ctx.logger,
});
const orderTally: Tally = new Map();
const backfill = await backfillOrders(hub.ctx, counting(transport, orderTally), storeId);

// Levels: a catalog at one location, read three ways.
const levelShop = "costs-levels.myshopify.com";
const app = emulator.control.createApp({ scopes: ["read_inventory", "read_products", "read_locations"] });
emulator.control.createShop({ domain: levelShop, plan: "plus" });
const seeded = emulator.control.seedCatalog(levelShop, {
  variants: LEVELS,
  variantsPerProduct: 10,
  locations: 1,
  skuPrefix: "L-",
});
const levelToken = emulator.control.mintToken({ shop: levelShop, clientId: app.clientId }).accessToken;
const levelTransport = createAdminTransport({
  store: levelShop,
  urlTemplate: `${emulator.url}/{shop}`,
  getAccessToken: async () => levelToken,
  clock: systemClock,
  logger: hub.ctx.logger,
});
const location = seeded.locations[0]!;
const byPage: Tally = new Map();
const read = await readLocationLevels(counting(levelTransport, byPage), location);
const byIds: Tally = new Map();
const items = [...read.keys()].map((k) => k.slice(0, k.lastIndexOf("|")));
await readItemLevels(counting(levelTransport, byIds), location, items);
const byBulk: Tally = new Map();
await readAllLevelsBulk(counting(levelTransport, byBulk), systemClock, new Set([location]));

console.log("query cost on the emulator (Shopify's calculation: connections sized logarithmically)");
console.log(
  `  orders page (TillbridgeOrdersUpdatedSince), requested per page → per 1,000 orders: first 15 ${orderPage(15)} → ${per1000(orderPage(15), 15)}; first ${ORDERS_PAGE} (ORDERS_PAGE) ${orderPage(ORDERS_PAGE)} → ${per1000(orderPage(ORDERS_PAGE), ORDERS_PAGE)}`,
);
console.log(
  `  levels by location page, requested per page: ${requested(LOCATION_LEVELS_PAGE, { locationId: "x" })}; by 250 item ids: ${requested(ITEM_LEVELS_AT_LOCATION, { ids: Array.from({ length: 250 }, (_, i) => String(i)), locationId: "x" })}`,
);
console.log(`  backfill of ${backfill.read} orders (ORDERS_PAGE ${ORDERS_PAGE}):`);
for (const l of lines(orderTally, ORDERS, "orders")) console.log(l);
const total = [...orderTally.values()].reduce((s, t) => s + t.actual, 0);
console.log(`    all reads: ${per1000(total, ORDERS)} actual points per 1,000 orders`);
console.log(`  ${read.size} levels at one location:`);
for (const [how, tally] of [
  ["by location page", byPage],
  ["by item ids", byIds],
  ["by bulk operation", byBulk],
] as const) {
  console.log(`   ${how}:`);
  for (const l of lines(tally, read.size, "levels")) console.log(l);
}
await hub.close();
await emulator.close();
