/**
 * The newcomer's first run: with no Shopify app configured, `tillbridge start` also starts the
 * built-in emulator with a demo store and connects it through the hub's own API, exactly as an
 * operator would (custom-app token, location mapping, linking, dry run, enabling the push). The
 * only thing the demo changes in the hub's configuration is where the demo store's Admin API
 * lives (SHOPIFY_ADMIN_URL_OVERRIDES): every other store keeps SHOPIFY_ADMIN_URL_TEMPLATE.
 *
 * The demo must never weaken a real installation:
 * - the demo app's secret is random per run and is given to the hub as the demo store's own
 *   webhook secret, so it verifies the demo store's webhooks and no other shop's (the hub gets no
 *   app-wide SHOPIFY_API_SECRET from the demo);
 * - the demo's API key is revoked at the next start (one live demo key at most) and when the
 *   demo switches off;
 * - once a real store (any other shop) is connected, the demo switches itself off: at start it
 *   does not run at all, while running it revokes its key and disconnects the demo store.
 */

import { randomBytes } from "node:crypto";
import { DEMO_SHOP, type DemoSeed, seedDemo } from "../../emulator/demo.ts";
import { type Emulator, startEmulator } from "../../emulator/index.ts";
import { createApiKey } from "../auth/api-keys.ts";
import type { Database } from "../db/database.ts";
import type { Hub } from "../runtime/hub.ts";
import { disconnectStore } from "../shops/stores.ts";

/** The name of the demo's API key; keys with this name are revoked when the demo restarts or stops. */
export const DEMO_KEY_NAME = "tillbridge-demo";
export const DEMO_OFF_REASON = "the demo switched itself off: a real store is connected";

export interface DemoEmulator {
  readonly emulator: Emulator;
  readonly seed: DemoSeed;
  /** This run's random app secret (signs the demo store's webhooks only). */
  readonly webhookSecret: string;
  /** Environment the hub's configuration is loaded with on top of the user's. */
  readonly env: Record<string, string>;
}

export async function startDemoEmulator(port: number): Promise<DemoEmulator> {
  // The demo hub receives webhooks on http://localhost: the emulator's TEST ONLY flag admits that
  // (Shopify itself takes HTTPS addresses only).
  const emulator = await startEmulator({ port, testOnlyAllowPlainHttpWebhooks: true });
  const webhookSecret = randomBytes(32).toString("base64url");
  const seed = seedDemo(emulator.control, { clientSecret: webhookSecret });
  return {
    emulator,
    seed,
    webhookSecret,
    env: {
      // The demo store alone lives in the emulator; every other store keeps the real Admin API.
      SHOPIFY_ADMIN_URL_OVERRIDES: `${DEMO_SHOP}=${emulator.url}/{shop}`,
      DEMO: "on",
    },
  };
}

/** The first active store that is not the demo's, if any: its presence switches the demo off. */
export async function realStoreConnected(database: Database): Promise<string | undefined> {
  const row = await database.db
    .selectFrom("stores")
    .select("domain")
    .where("status", "=", "active")
    .where("domain", "!=", DEMO_SHOP)
    .orderBy("id")
    .executeTakeFirst();
  return row?.domain;
}

/** Revokes every demo key still live; returns how many were revoked. */
export async function revokeDemoKeys(database: Database, now: number): Promise<number> {
  const r = await database.db
    .updateTable("api_keys")
    .set({ revoked_at: now })
    .where("name", "=", DEMO_KEY_NAME)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Switches the demo off for good in this database: its keys revoked, the demo store
 * disconnected (its webhooks are then dead-lettered, its flows stop).
 */
export async function switchOffDemo(database: Database, now: number): Promise<void> {
  await revokeDemoKeys(database, now);
  const demoStore = await database.db
    .selectFrom("stores")
    .select("id")
    .where("domain", "=", DEMO_SHOP)
    .where("status", "=", "active")
    .executeTakeFirst();
  if (demoStore) await disconnectStore(database, Number(demoStore.id), DEMO_OFF_REASON, now);
}

/**
 * Watches for a real store while the demo runs; the first one switches the demo off. `check`
 * runs one look (tests call it directly); `stop` ends the watch.
 */
export function watchForRealStore(
  hub: Hub,
  demo: DemoEmulator,
  intervalMs = 2000,
): { check(): Promise<boolean>; stop(): void } {
  let off = false;
  const check = async () => {
    if (off) return true;
    const real = await realStoreConnected(hub.ctx.database);
    if (!real) return false;
    off = true;
    await switchOffDemo(hub.ctx.database, hub.ctx.clock.now());
    hub.ctx.logger.warn(
      { store: real },
      `store ${real} is connected: the demo switched itself off (demo API key revoked, demo store disconnected)`,
    );
    await demo.emulator.close().catch(() => {});
    return true;
  };
  const timer = setInterval(() => {
    check().catch((err) => hub.ctx.logger.error({ err }, "demo watch failed"));
  }, intervalMs);
  timer.unref();
  return {
    check,
    stop: () => clearInterval(timer),
  };
}

const WAREHOUSES = [
  { code: "MAIN", name: "Main warehouse", location: "Main Warehouse", stock: 40 },
  { code: "CITY", name: "City store backroom", location: "City Store", stock: 6 },
];

/** Connects the demo store through the hub's API; safe to run on every start. */
export async function connectDemoStore(hub: Hub, demo: DemoEmulator): Promise<{ apiKey: string }> {
  // One live demo key at most: the previous run's key stops working now.
  await revokeDemoKeys(hub.ctx.database, hub.ctx.clock.now());
  const { key } = await createApiKey(hub.ctx.database, DEMO_KEY_NAME, hub.ctx.clock.now(), ["admin"]);
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
    webhookSecret: demo.webhookSecret,
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
  // Linking and the dry run are jobs under the store's lease: wait for them to end (enabling
  // the push needs the dry run's result).
  await call("POST", `/api/v1/stores/${shop}/link?waitSeconds=120`);
  await call("PUT", `/api/v1/stores/${shop}/inventory-mode`, { mode: "absolute" });
  await call("POST", `/api/v1/stores/${shop}/inventory/dry-run?onlyDifferences=true&waitSeconds=120`);
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
