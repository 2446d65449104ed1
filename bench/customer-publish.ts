/**
 * Customer publish against the emulator (issue 16): N customers (a share of them company
 * contacts, a share with stated consent) sent with PUT /api/v1/customers in batches of 250 and
 * published to an empty store by the reconciler. Prints:
 *  1. the PUT: wall time and customers per second, on the database chosen;
 *  2. the first publish: wall time, Shopify calls and points per customer (person, company) and
 *     points per second against the store's restore rate (the throttle's ceiling);
 *  3. an unchanged re-send and a re-run: calls spent (target 0);
 *  4. one field changed on every customer: calls per customer against the first publish (ratio).
 *
 *   npm run bench:customer-publish -- [--customers 1000] [--db sqlite|postgres] [--plan standard]
 */
import { parseArgs } from "node:util";
import { startEmulator } from "../emulator/index.ts";
import { systemClock } from "../src/core/clock.ts";
import { runCustomerPublishCycle } from "../src/customers/publish.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { startTestHub } from "../test/support/hub.ts";
import { connectDirectly, emulatedStore } from "../test/support/shopify.ts";

const { values } = parseArgs({
  options: {
    customers: { type: "string", default: "1000" },
    db: { type: "string", default: "sqlite" },
    plan: { type: "string", default: "standard" },
  },
});
const N = Number(values.customers);
const PLAN = values.plan as "standard" | "advanced" | "plus";
const RESTORE = { standard: 100, advanced: 200, plus: 1000 }[PLAN];

const emulator = await startEmulator();
const hub = await startTestHub(values.db as "sqlite" | "postgres");
const store = await emulatedStore({ emulator, domain: "customer-bench.myshopify.com", skus: [], plan: PLAN });
const storeId = await connectDirectly(hub.ctx.database.db, store, [[]], { enabledFlows: [] });
const transport = createAdminTransport({
  store: store.domain,
  urlTemplate: `${emulator.url}/{shop}`,
  getAccessToken: async () => store.token,
  clock: systemClock,
  logger: hub.ctx.logger,
});
const deps = { db: hub.ctx.database.db, now: () => Date.now(), logger: hub.ctx.logger };

const customer = (i: number, first = "Ada") => ({
  key: `B-${i}`,
  email: `c${i}@bench.example`,
  phone: `+49301${String(i).padStart(7, "0")}`,
  firstName: first,
  lastName: `Bench ${i}`,
  tags: ["bench"],
  addresses: [{ address1: `Street ${i}`, city: "Berlin", countryCode: "DE", zip: "10115" }],
  ...(i % 10 === 0 ? { companyName: `Company ${i % 50}` } : {}),
  ...(i % 3 === 0 ? { emailMarketing: { state: "subscribed", consentedAt: "2026-01-01T00:00:00Z" } } : {}),
});

const put = async (first: string) => {
  const t = performance.now();
  for (let i = 0; i < N; i += 250) {
    const res = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/customers",
      headers: hub.auth,
      payload: { customers: Array.from({ length: Math.min(250, N - i) }, (_, j) => customer(i + j, first)) },
    });
    if (res.statusCode !== 200) throw new Error(res.body);
  }
  return (performance.now() - t) / 1000;
};
const calls = () => emulator.control.apiCalls(store.domain);
const publish = async () => {
  const before = calls().length;
  const t = performance.now();
  for (;;) {
    const r = await runCustomerPublishCycle(deps, { id: storeId, domain: store.domain }, transport);
    if (r.marked === 0 && r.published === 0 && r.refused === 0 && r.failed === 0 && !r.remaining) break;
  }
  const seconds = (performance.now() - t) / 1000;
  // The emulator keeps the latest calls only: counts are exact while the log holds them all.
  const made = calls().slice(before);
  const points = made.reduce((s, c) => s + (c.actualQueryCost ?? 0), 0);
  return { seconds, calls: made.length, points };
};

const putS = await put("Ada");
console.log(`PUT ${N} customers (${values.db}): ${putS.toFixed(2)} s, ${(N / putS).toFixed(0)} customers/s`);
const first = await publish();
console.log(
  `first publish: ${first.seconds.toFixed(1)} s, ${first.calls} calls (${(first.calls / N).toFixed(2)} per customer), ${first.points} points (${(first.points / N).toFixed(1)} per customer), ${(first.points / first.seconds).toFixed(0)} points/s = ${(first.points / first.seconds / RESTORE).toFixed(2)} of the ${PLAN} restore rate`,
);
await put("Ada");
const again = await publish();
console.log(`unchanged re-send and re-run: ${again.calls} calls (target 0)`);
await put("Augusta");
const changed = await publish();
console.log(
  `one field changed on every customer: ${changed.calls} calls (${(changed.calls / N).toFixed(2)} per customer), ${changed.points} points; ratio to the first publish: calls ${(changed.calls / first.calls).toFixed(2)}, points ${(changed.points / first.points).toFixed(2)}`,
);
const s = await hub.server.inject({
  method: "GET",
  url: `/api/v1/stores/${store.domain}/customers?status=published&limit=1`,
  headers: hub.auth,
});
console.log(`published: ${s.statusCode === 200 ? "ok" : s.body}`);
const byRoot = new Map<string, number[]>();
for (const c of calls()) {
  const k = c.rootFields.join("+");
  byRoot.set(k, [...(byRoot.get(k) ?? []), c.actualQueryCost ?? 0]);
}
console.log(
  [...byRoot]
    .map(
      ([k, v]) =>
        `${k}: ${v.length} calls, ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(1)} points each`,
    )
    .join("; "),
);
await hub.close();
await emulator.close();
