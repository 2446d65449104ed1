/**
 * How a capability (inventory, orders, …) plugs into the hub: its webhook topics and their
 * handlers, its HTTP routes, its hub-wide jobs and its store passes, declared in one object by
 * the capability's own `index.ts` and listed once in the hub (src/runtime/hub.ts). The worker
 * knows no capability: it runs the store passes it is given, in the order they were registered
 * (a pass that fails holds back the store's later passes until its retry), under the store's
 * lease, and the jobs under the hub-wide lease.
 */
import type { AnyRoute } from "../core/route.ts";
import type { JobRunner } from "../jobs/runner.ts";
import type { WebhookHandlers } from "../shops/webhooks.ts";
import type { PeriodicJob, StorePass, Worker } from "./worker.ts";

/** What the hub hands a capability's routes. */
export interface CapabilityDeps {
  /** Store work asked for over HTTP runs as an operator job under the store's lease. */
  readonly jobs: JobRunner;
}

export interface Capability {
  readonly name: string;
  /** The webhook topics a connected store subscribes to for this capability. */
  readonly webhookTopics: readonly string[];
  /** Installs the capability's webhook handlers (deliveries are stored in the inbox). */
  registerWebhooks(handlers: WebhookHandlers): void;
  routes(deps: CapabilityDeps): readonly AnyRoute[];
  /** Hub-wide periodic jobs (no Shopify budget), run by one process at a time. */
  readonly jobs: readonly PeriodicJob[];
  /** Per-store work that spends the store's budget, run in this order under the store's lease. */
  readonly storePasses: readonly StorePass[];
}

/** Every topic the capabilities subscribe to, each once. */
export function capabilityTopics(capabilities: readonly Capability[]): string[] {
  return [...new Set(capabilities.flatMap((c) => c.webhookTopics))];
}

/** Gives the worker the capabilities' jobs and store passes, in the capabilities' order. */
export function registerWithWorker(worker: Worker, capabilities: readonly Capability[]): void {
  for (const c of capabilities) {
    for (const job of c.jobs) worker.addJob(job);
    for (const pass of c.storePasses) worker.addStorePass(pass);
  }
}
