/**
 * Test support for the shops tests: a hub assembled with the shops routes and webhook plugin on a
 * real test database, talking to a real emulator through a tiny unthrottled fetch transport.
 */
import { createApiKey } from "../src/auth/api-keys.ts";
import { loadConfig } from "../src/config/config.ts";
import { type Clock, systemClock } from "../src/core/clock.ts";
import type { AppContext } from "../src/core/context.ts";
import { createLogger } from "../src/core/logger.ts";
import { createMetrics } from "../src/core/metrics.ts";
import { buildServer } from "../src/http/server.ts";
import { runStoreJobs } from "../src/jobs/operator-jobs.ts";
import { createJobRunner } from "../src/jobs/runner.ts";
import { operatorJobHandlers } from "../src/runtime/operator-job-handlers.ts";
import { Worker } from "../src/runtime/worker.ts";
import { SHOPIFY_API_VERSION } from "../src/shopify/api-version.ts";
import { ShopifyAuthError, ShopifyQueryError, ShopifyTransientError } from "../src/shopify/errors.ts";
import { createShops, type ShopsOptions } from "../src/shops/index.ts";
import type { AdminTransportFactory } from "../src/shops/routes.ts";
import { openTestDatabase, type TestDialect } from "./support/databases.ts";

export const KEY = Buffer.alloc(32, 9);
export const PUBLIC_URL = "https://hub.test";

/** Unthrottled, no retries: enough to exercise the shops code against the emulator. */
export const fetchTransport: AdminTransportFactory = ({ store, urlTemplate, getAccessToken }) => ({
  store,
  async graphql<T>(document: string, variables?: Record<string, unknown>) {
    const url = `${urlTemplate.replace("{shop}", store)}/admin/api/${SHOPIFY_API_VERSION}/graphql.json`;
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-shopify-access-token": await getAccessToken() },
      body: JSON.stringify({ query: document, variables: variables ?? {} }),
    });
    if (res.status === 401 || res.status === 403)
      throw new ShopifyAuthError(`HTTP ${res.status}`, store, res.status);
    if (res.status >= 500) throw new ShopifyTransientError(`HTTP ${res.status}`, store, res.status);
    const body = (await res.json()) as {
      data?: T;
      errors?: { message: string; extensions?: { code?: string } }[];
      extensions?: { cost?: never };
    };
    if (body.errors?.length) {
      if (body.errors.some((e) => e.extensions?.code === "ACCESS_DENIED")) {
        throw new ShopifyAuthError(body.errors[0]!.message, store, 403);
      }
      throw new ShopifyQueryError(body.errors[0]!.message, store, body.errors);
    }
    return { data: body.data as T, cost: body.extensions?.cost };
  },
});

export interface ShopsHub {
  readonly ctx: AppContext;
  readonly shops: ReturnType<typeof createShops>;
  readonly server: Awaited<ReturnType<typeof buildServer>>;
  readonly auth: { authorization: string };
  call(
    method: "GET" | "POST" | "PUT",
    url: string,
    payload?: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected ad hoc
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function startShopsHub(
  dialect: TestDialect,
  options: {
    emulatorUrl: string;
    app?: { clientId: string; clientSecret: string };
    clock?: Clock;
    shops?: Partial<ShopsOptions>;
  },
): Promise<ShopsHub> {
  const database = await openTestDatabase(dialect);
  const config = loadConfig({
    DATABASE_URL: "sqlite:/unused.db",
    DEMO: "off",
    WORKER: "off",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    PUBLIC_URL,
    TEST_ONLY_PLAIN_HTTP_OUTBOUND: "on",
    SHOPIFY_ADMIN_URL_TEMPLATE: `${options.emulatorUrl}/{shop}`,
    ...(options.app
      ? { SHOPIFY_API_KEY: options.app.clientId, SHOPIFY_API_SECRET: options.app.clientSecret }
      : {}),
  });
  const clock = options.clock ?? systemClock;
  const ctx: AppContext = {
    config,
    database,
    clock,
    logger: createLogger(config.logLevel),
    metrics: createMetrics(),
    secretKey: Buffer.alloc(32, 7),
    stockListeners: [],
  };
  // Store work over HTTP runs as jobs under the store's lease, taken by a worker whose loop is off.
  const handlers = operatorJobHandlers(ctx, { webhookTopics: options.shops?.webhookTopics });
  const jobs = createJobRunner(ctx, (store) =>
    worker.runNow(store, (transport) => runStoreJobs(ctx, store, transport, handlers)),
  );
  const shops = createShops(ctx, {
    jobs,
    createTransport: process.env.SHOPS_REAL_TRANSPORT
      ? (await import("../src/shopify/admin-client.ts")).createAdminTransport
      : fetchTransport,
    key: KEY,
    ...options.shops,
  });
  const worker = new Worker(ctx, shops.transportFor);
  const server = await buildServer(ctx, { routes: shops.routes, plugins: [shops.webhookPlugin] });
  await server.ready();
  const { key } = await createApiKey(database, "test", clock.now(), ["admin"]);
  const auth = { authorization: `Bearer ${key}` };
  return {
    ctx,
    shops,
    server,
    auth,
    async call(method, url, payload) {
      const res = await server.inject({ method, url, payload: payload as never, headers: auth });
      let body: unknown;
      try {
        body = res.body ? JSON.parse(res.body) : undefined;
      } catch {
        body = res.body;
      }
      return { status: res.statusCode, body, headers: res.headers };
    },
    async close() {
      await worker.stop();
      await server.close();
      await database.drop();
    },
  };
}

/** Follows an OAuth install: hub → emulator authorize → back to the hub's callback (returned, not sent). */
export async function installRedirect(hub: ShopsHub, shop: string): Promise<URL> {
  const start = await hub.server.inject({ method: "GET", url: `/shopify/install?shop=${shop}` });
  if (start.statusCode !== 302) throw new Error(`install answered ${start.statusCode}: ${start.body}`);
  const authorize = await fetch(String(start.headers.location), { redirect: "manual" });
  if (authorize.status !== 302)
    throw new Error(`authorize answered ${authorize.status}: ${await authorize.text()}`);
  return new URL(authorize.headers.get("location")!);
}

export async function sendCallback(hub: ShopsHub, callback: URL) {
  const res = await hub.server.inject({ method: "GET", url: `${callback.pathname}${callback.search}` });
  return { status: res.statusCode, body: res.body, headers: res.headers };
}
