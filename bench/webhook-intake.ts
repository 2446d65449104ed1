/**
 * The webhook endpoint under Shopify-like load: deliveries signed with the app secret posted
 * open-loop at a fixed rate (default 200/s for 30 s) to a hub on SQLite, while the worker
 * processes the inbox. Prints p50/p99 response time, throughput and how many deliveries were
 * stored (target: p99 ≤ 50 ms, none lost).
 *
 *   npm run bench:webhooks -- [--rate 200] [--seconds 30]
 */
import { parseArgs } from "node:util";
import { startEmulator } from "../emulator/index.ts";
import { webhookHmac } from "../src/shopify/hmac.ts";
import { startTestHub } from "../test/support/hub.ts";
import { connectDirectly, emulatedStore } from "../test/support/shopify.ts";

const { values } = parseArgs({
  options: { rate: { type: "string", default: "200" }, seconds: { type: "string", default: "30" } },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);

// TEST ONLY flag: the benchmark's hub receives webhooks on plain http:// on loopback.
const emulator = await startEmulator({ testOnlyAllowPlainHttpWebhooks: true });
const skus = Array.from({ length: 50 }, (_, i) => `W-${i}`);
const store = await emulatedStore({ emulator, domain: "hooks.myshopify.com", skus });
const hub = await startTestHub("sqlite", {
  listen: true,
  env: { SHOPIFY_API_KEY: store.clientId, SHOPIFY_API_SECRET: store.clientSecret, WORKER: "on" },
});
const inject = (method: "PUT", url: string, payload: unknown) =>
  hub.server.inject({ method, url, headers: hub.auth, payload: payload as object });
await inject("PUT", "/api/v1/warehouses", {
  warehouses: [
    { code: "W1", name: "One" },
    { code: "W2", name: "Two" },
  ],
});
await inject("PUT", "/api/v1/variants", { variants: skus.map((sku) => ({ sku })) });
await connectDirectly(hub.ctx.database.db, store, [["W1"], ["W2"]], { enabledFlows: ["order_intake"] });

// Real order payloads from the emulator, re-sent with distinct ids so each one is a new order.
const template = emulator.control.orderPayload(
  store.domain,
  emulator.control.placeOrder(store.domain, {
    lineItems: [{ sku: skus[0]!, quantity: 1 }],
    locationId: store.locations[0]!.id,
    email: "bench@example.com",
  }).id,
) as Record<string, unknown>;
const total = RATE * SECONDS;
const latencies: number[] = [];
let failures = 0;
const inflight: Promise<void>[] = [];
const start = performance.now();
for (let i = 0; i < total; i++) {
  const due = start + (i * 1000) / RATE;
  const wait = due - performance.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  const id = 9_000_000_000 + i;
  const body = JSON.stringify({
    ...template,
    id,
    admin_graphql_api_id: `gid://shopify/Order/${id}`,
    name: `#B${i}`,
    line_items: (template.line_items as Record<string, unknown>[]).map((l) => ({
      ...l,
      sku: skus[i % skus.length],
    })),
  });
  const sent = performance.now();
  inflight.push(
    fetch(`${hub.url}/webhooks/shopify`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-shopify-topic": "orders/create",
        "x-shopify-hmac-sha256": webhookHmac(body, store.clientSecret),
        "x-shopify-shop-domain": store.domain,
        "x-shopify-webhook-id": `bench-${i}`,
        "x-shopify-api-version": "2026-10",
        "x-shopify-triggered-at": new Date().toISOString(),
      },
      body,
    }).then(
      async (res) => {
        await res.arrayBuffer();
        if (res.status !== 200) failures++;
        latencies.push(performance.now() - sent);
      },
      () => {
        failures++;
      },
    ),
  );
}
await Promise.all(inflight);
const elapsed = (performance.now() - start) / 1000;
const stored = await hub.ctx.database.db
  .selectFrom("webhook_inbox")
  .select((eb) => eb.fn.countAll<number>().as("n"))
  .where("webhook_id", "like", "bench-%")
  .executeTakeFirstOrThrow();
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
console.log(
  `webhook intake — SQLite, ${RATE} deliveries/s for ${SECONDS} s (${total} signed orders/create deliveries), worker processing the inbox meanwhile`,
);
console.log(
  `  response time: p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms (target p99 ≤ 50 ms → ratio ${(pct(99) / 50).toFixed(2)})`,
);
console.log(
  `  throughput: ${(total / elapsed).toFixed(0)} deliveries/s offered and answered; non-200 or failed: ${failures}`,
);
console.log(`  stored in the inbox: ${Number(stored.n)} of ${total} (${total - Number(stored.n)} lost)`);
await hub.close();
await emulator.close();
