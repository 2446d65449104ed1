/**
 * The newcomer's first run: with no Shopify app configured, `tillbridge start` also starts the
 * built-in emulator with a demo store and connects it through the hub's own API, exactly as an
 * operator would (custom-app token, location mapping, linking, dry run, enabling the push). The
 * only thing the demo changes in the hub is configuration: where the Admin API lives and which
 * app secret signs webhooks.
 */

import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, type DemoSeed, seedDemo } from "../../emulator/demo.ts";
import { type Emulator, startEmulator } from "../../emulator/index.ts";
import { createApiKey } from "../auth/api-keys.ts";
import type { Hub } from "../runtime/hub.ts";

export interface DemoEmulator {
  readonly emulator: Emulator;
  readonly seed: DemoSeed;
  /** Environment the hub's configuration is loaded with on top of the user's. */
  readonly env: Record<string, string>;
}

export async function startDemoEmulator(port: number): Promise<DemoEmulator> {
  const emulator = await startEmulator({ port });
  const seed = seedDemo(emulator.control);
  return {
    emulator,
    seed,
    env: {
      SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}`,
      SHOPIFY_API_KEY: DEMO_CLIENT_ID,
      SHOPIFY_API_SECRET: DEMO_CLIENT_SECRET,
      DEMO: "on",
    },
  };
}

const WAREHOUSES = [
  { code: "MAIN", name: "Main warehouse", location: "Main Warehouse", stock: 40 },
  { code: "CITY", name: "City store backroom", location: "City Store", stock: 6 },
];

/** Connects the demo store through the hub's API; safe to run on every start. */
export async function connectDemoStore(hub: Hub, demo: DemoEmulator): Promise<{ apiKey: string }> {
  const { key } = await createApiKey(hub.ctx.database, "demo", hub.ctx.clock.now());
  const call = async (method: "GET" | "POST" | "PUT", url: string, payload?: unknown) => {
    const res = await hub.server.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    if (res.statusCode >= 400)
      throw new Error(`demo set-up: ${method} ${url} → ${res.statusCode} ${res.body}`);
    return res.json();
  };
  const shop = demo.seed.shop;
  await call("PUT", "/api/v1/warehouses", {
    warehouses: WAREHOUSES.map(({ code, name }) => ({ code, name })),
  });
  await call("PUT", "/api/v1/variants", {
    variants: demo.seed.skus.map((sku) => ({ sku, title: `Demo ${sku}` })),
  });
  // Stock-takes with fixed ids: on a restart they are reported as duplicates, not applied twice.
  await call("POST", "/api/v1/movements", {
    movements: demo.seed.skus.flatMap((sku, i) =>
      WAREHOUSES.map((w) => ({
        id: `demo-count-${sku}-${w.code}`,
        type: "count",
        sku,
        warehouse: w.code,
        quantity: w.stock + i,
        occurredAt: "2026-01-01T00:00:00Z",
      })),
    ),
  });
  await call("POST", "/api/v1/stores", {
    domain: shop,
    accessToken: demo.seed.accessToken,
    name: "Demo Outfitters",
    webhookSecret: DEMO_CLIENT_SECRET,
  });
  const { items: locations } = (await call("GET", `/api/v1/stores/${shop}/locations`)) as {
    items: { locationId: string; name: string }[];
  };
  await call("PUT", `/api/v1/stores/${shop}/locations/mapping`, {
    locations: WAREHOUSES.map((w, i) => ({
      locationId: locations.find((l) => l.name === w.location)!.locationId,
      warehouses: [w.code],
      managed: true,
      default: i === 0,
    })),
  });
  await call("POST", `/api/v1/stores/${shop}/link`);
  await call("PUT", `/api/v1/stores/${shop}/inventory-mode`, { mode: "absolute" });
  await call("POST", `/api/v1/stores/${shop}/inventory/dry-run?onlyDifferences=true`);
  await call("POST", `/api/v1/stores/${shop}/flows/inventory_push/enable`);
  await call("POST", `/api/v1/stores/${shop}/flows/order_intake/enable`);
  await call("POST", `/api/v1/stores/${shop}/flows/fulfillment_push/enable`);
  return { apiKey: key };
}

export function demoInstructions(hub: Hub, demo: DemoEmulator, apiKey: string): string {
  const shop = demo.seed.shop;
  const sku = demo.seed.skus[0]!;
  const main = demo.seed.locations.find((l) => l.name === "Main Warehouse") ?? demo.seed.locations[0]!;
  return `
Tillbridge is running at ${hub.url} with a demo Shopify store (${shop}) in the built-in emulator at ${demo.emulator.url}.
The store is connected, its locations are mapped (Main Warehouse ← MAIN, City Store ← CITY), its
variants are linked, the inventory push, order intake and fulfillment push are enabled. Demo API key (shown once): ${apiKey}

  Console:  ${hub.url}/console/  (paste the key)

  Record a sale of 3 × ${sku} in the MAIN warehouse:
    curl -s -X POST ${hub.url}/api/v1/movements -H 'authorization: Bearer ${apiKey}' -H 'content-type: application/json' \\
      -d '{"movements":[{"id":"sale-1","type":"sale","sku":"${sku}","warehouse":"MAIN","quantity":-3,"occurredAt":"'$(date -u +%FT%TZ)'"}]}'

  Watch the new quantity arrive in the store (within the ${hub.ctx.config.coalesceWindowMs} ms coalescing window):
    curl -s '${demo.emulator.url}/_emulator/shops/${shop}/inventory/level?sku=${sku}&locationId=${encodeURIComponent(main.id)}'

  Place an order in the store as a checkout would, then read it from the back-office feed:
    curl -s -X POST ${demo.emulator.url}/_emulator/shops/${shop}/orders -H 'content-type: application/json' \
      -d '{"lineItems":[{"sku":"${sku}","quantity":2}],"email":"ada@example.com","financialStatus":"paid","locationId":"${main.id}"}'
    curl -s ${hub.url}/api/v1/orders -H 'authorization: Bearer ${apiKey}'
`;
}
