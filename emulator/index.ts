// Tillbridge's Shopify emulator: start it in-process (tests, demo, benchmarks) or via cli.ts.
import type { AddressInfo } from "node:net";
import { dropBulkResults } from "./bulk-files.ts";
import { Clock } from "./clock.ts";
import { Control } from "./control.ts";
import { openDueScheduled } from "./fulfillment-holds.ts";
import { OrderFlowsControl } from "./order-flows-control.ts";
import { buildServer } from "./server.ts";
import { Store } from "./state.ts";
import { WebhookDispatcher } from "./webhooks.ts";

export type { Control } from "./control.ts";
export { oauthHmac } from "./oauth.ts";
export type { OrderFlowsControl } from "./order-flows-control.ts";
export { API_VERSION } from "./schema.ts";
export type { Faults, Plan, QuantityName } from "./state.ts";
export type { Delivery, WebhookOptions } from "./webhooks.ts";
export { signWebhook } from "./webhooks.ts";

export interface EmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  logger?: boolean;
  /**
   * TEST ONLY: accept plain `http://` webhook addresses on loopback hosts (Shopify accepts HTTPS
   * only). Also on when the environment has EMULATOR_TEST_ONLY_ALLOW_PLAIN_HTTP_WEBHOOKS=1 (the
   * test runner sets it: the hub's tests receive deliveries on a local plain-HTTP server).
   */
  testOnlyAllowPlainHttpWebhooks?: boolean;
}

export const TEST_ONLY_PLAIN_HTTP_ENV = "EMULATOR_TEST_ONLY_ALLOW_PLAIN_HTTP_WEBHOOKS";

export interface Emulator {
  /** e.g. http://127.0.0.1:PORT; a shop's Admin API is at `${url}/{shop}/admin/api/2026-10/graphql.json`. */
  url: string;
  control: Control;
  /** Pickup checkouts, return requests and admin-side return steps (order-flows.ts). */
  flows: OrderFlowsControl;
  close(): Promise<void>;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const clock = new Clock();
  const store = new Store(clock);
  store.testOnlyAllowPlainHttpWebhooks =
    options.testOnlyAllowPlainHttpWebhooks ?? process.env[TEST_ONLY_PLAIN_HTTP_ENV] === "1";
  const webhooks = new WebhookDispatcher(store);
  // Scheduled fulfillment orders (pre-orders, subscriptions) open when the clock reaches them.
  clock.onAdvance(() => openDueScheduled(store));
  const control = new Control(store, webhooks);
  let url = "";
  const server = buildServer({ store, control, logger: options.logger ?? false, baseUrl: () => url });
  await server.listen({ port: options.port ?? 0, host: options.host ?? "127.0.0.1" });
  const addr = server.server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  url = `http://${host}:${addr.port}`;
  return {
    url,
    control,
    flows: new OrderFlowsControl(store),
    async close() {
      webhooks.close();
      await server.close();
      dropBulkResults(store);
    },
  };
}
