/**
 * `GET /api/v1/processes`: the processes sharing this database and the stores each works (see
 * fleet-status.ts). Listed once in the hub as the `fleet` capability; it has no webhooks, jobs
 * or store passes of its own.
 */
import { Gauge } from "prom-client";
import { z } from "zod";
import type { AppContext } from "../core/context.ts";
import { route } from "../core/route.ts";
import type { Capability } from "./capability.ts";
import { type FleetStatus, loadFleetStatus } from "./fleet-status.ts";

const fleetOut = z.object({
  now: z.number(),
  leaseTtlMs: z.number(),
  /** The worker of the process that answered; null when it runs no worker (API=on, WORKER=off). */
  answeredBy: z.string().nullable(),
  fairShare: z.number().nullable(),
  hubJobsOwner: z.string().nullable(),
  processes: z.array(
    z.object({
      id: z.string(),
      host: z.string(),
      pid: z.number().nullable(),
      state: z.enum(["running", "not_responding"]),
      startedAt: z.number(),
      aliveUntil: z.number(),
      stores: z.number(),
      hubJobs: z.boolean(),
    }),
  ),
  stores: z.array(
    z.object({
      domain: z.string(),
      state: z.enum(["worked", "owner_not_responding", "waiting", "disconnected"]),
      owner: z.string().nullable(),
      leaseExpiresAt: z.number().nullable(),
      generation: z.number(),
    }),
  ),
  problems: z.array(
    z.object({
      code: z.enum(["NO_WORKER", "STORES_WAITING", "OWNER_NOT_RESPONDING"]),
      message: z.string(),
      stores: z.array(z.string()),
    }),
  ),
});

export function fleetCapability(ctx: AppContext, thisWorker: () => string | null): Capability {
  registerFleetMetrics(ctx);
  return {
    name: "fleet",
    webhookTopics: [],
    registerWebhooks: () => {},
    jobs: [],
    storePasses: [],
    routes: () => [
      route({
        method: "GET",
        url: "/api/v1/processes",
        tag: "operations",
        auth: "store.read",
        summary:
          "The hub processes sharing this database (running, or stopped answering) and, per store, the process that works it under its lease, until when, and how often it changed hands; with what is wrong (no worker, stores nobody works, an owner that stopped answering).",
        response: fleetOut,
        async handler() {
          const status = await loadFleetStatus(ctx.database.db, ctx.clock.now());
          return { ...status, leaseTtlMs: ctx.config.leaseTtlMs, answeredBy: thisWorker() };
        },
      }),
    ],
  };
}

/** Counts only (no store domains: /metrics needs no authentication), for alerts on "no worker". */
function registerFleetMetrics(ctx: AppContext): void {
  // Both gauges are collected in one scrape: they share one read of the lease tables.
  let read: { at: number; status: Promise<FleetStatus> } | undefined;
  const status = () => {
    const now = ctx.clock.now();
    if (!read || now - read.at > 1000) read = { at: now, status: loadFleetStatus(ctx.database.db, now) };
    return read.status;
  };
  const countGauge = <S extends string>(
    name: string,
    help: string,
    states: readonly S[],
    stateOf: (f: FleetStatus) => readonly { state: string }[],
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["state"] as const,
      registers: [ctx.metrics.registry],
      async collect() {
        const items = stateOf(await status());
        this.reset();
        for (const state of states) this.set({ state }, items.filter((x) => x.state === state).length);
      },
    });
  countGauge(
    "tillbridge_worker_processes",
    "Hub processes registered as running workers on the database, by state (running, not_responding)",
    ["running", "not_responding"],
    (f) => f.processes,
  );
  countGauge(
    "tillbridge_stores_by_work_state",
    "Stores by whether a running process works them (worked, waiting, owner_not_responding, disconnected)",
    ["worked", "waiting", "owner_not_responding", "disconnected"],
    (f) => f.stores,
  );
}
