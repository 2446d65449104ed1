/**
 * Which processes work which stores, as an operator needs to see it when several `tillbridge`
 * processes share one database (issue 13): the live worker processes, each store's owner and
 * its lease, how often the store changed hands, and what is wrong (no worker at all, a store
 * nobody works, an owner that stopped answering). Read-only: it reads the lease tables the
 * worker keeps (src/runtime/leases.ts) and changes nothing. `describeFleet` is pure.
 */
import type { Kysely } from "kysely";
import type { Tables } from "../db/tables.ts";
import { HUB_JOBS_LEASE } from "./leases.ts";

export interface WorkerRow {
  readonly id: string;
  readonly startedAt: number;
  readonly expiresAt: number;
}

export interface LeaseRow {
  readonly storeId: number;
  readonly owner: string;
  readonly expiresAt: number;
  readonly generation: number;
}

export interface StoreRow {
  readonly id: number;
  readonly domain: string;
  readonly connected: boolean;
}

export type ProcessState = "running" | "not_responding";
export type StoreWorkState = "worked" | "owner_not_responding" | "waiting" | "disconnected";

export interface FleetProcess {
  readonly id: string;
  readonly host: string;
  readonly pid: number | null;
  readonly state: ProcessState;
  readonly startedAt: number;
  /** Its registration holds until then unless renewed (renewed every heartbeat while it runs). */
  readonly aliveUntil: number;
  /** Stores whose live lease it holds. */
  readonly stores: number;
  /** Whether it also runs the hub-wide jobs (outbound notifications, clean-ups). */
  readonly hubJobs: boolean;
}

export interface FleetStore {
  readonly domain: string;
  readonly state: StoreWorkState;
  readonly owner: string | null;
  readonly leaseExpiresAt: number | null;
  /** Times the store changed hands (the lease's fencing generation). */
  readonly generation: number;
}

export interface FleetProblem {
  readonly code: "NO_WORKER" | "STORES_WAITING" | "OWNER_NOT_RESPONDING";
  readonly message: string;
  readonly stores: readonly string[];
}

export interface FleetStatus {
  readonly now: number;
  readonly processes: readonly FleetProcess[];
  readonly stores: readonly FleetStore[];
  /** With N running processes and M connected stores, no process should hold more than this. */
  readonly fairShare: number | null;
  readonly hubJobsOwner: string | null;
  readonly problems: readonly FleetProblem[];
}

/** `host:pid:random` (src/runtime/leases.ts `newWorkerId`); a host name may itself hold colons. */
export function parseWorkerId(id: string): { host: string; pid: number | null } {
  const parts = id.split(":");
  if (parts.length < 3) return { host: id, pid: null };
  const pid = Number(parts[parts.length - 2]);
  return {
    host: parts.slice(0, -2).join(":"),
    pid: Number.isSafeInteger(pid) && pid > 0 ? pid : null,
  };
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function describeFleet(
  input: {
    readonly workers: readonly WorkerRow[];
    readonly leases: readonly LeaseRow[];
    readonly stores: readonly StoreRow[];
  },
  now: number,
): FleetStatus {
  const running = new Set(input.workers.filter((w) => w.expiresAt >= now).map((w) => w.id));
  const live = input.leases.filter((l) => l.expiresAt >= now);
  const leaseOf = new Map(
    input.leases.filter((l) => l.storeId !== HUB_JOBS_LEASE).map((l) => [l.storeId, l]),
  );
  const hubJobs = live.find((l) => l.storeId === HUB_JOBS_LEASE) ?? null;
  const heldBy = new Map<string, number>();
  for (const l of live) if (l.storeId !== HUB_JOBS_LEASE) heldBy.set(l.owner, (heldBy.get(l.owner) ?? 0) + 1);

  const processes = [...input.workers]
    .sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id))
    .map(
      (w): FleetProcess => ({
        id: w.id,
        ...parseWorkerId(w.id),
        state: running.has(w.id) ? "running" : "not_responding",
        startedAt: w.startedAt,
        aliveUntil: w.expiresAt,
        stores: heldBy.get(w.id) ?? 0,
        hubJobs: hubJobs?.owner === w.id,
      }),
    );

  const stores = [...input.stores]
    .sort((a, b) => a.domain.localeCompare(b.domain))
    .map((s): FleetStore => {
      const lease = leaseOf.get(s.id);
      const held = lease && lease.expiresAt >= now ? lease : undefined;
      const state: StoreWorkState = !s.connected
        ? "disconnected"
        : !held
          ? "waiting"
          : running.has(held.owner)
            ? "worked"
            : "owner_not_responding";
      return {
        domain: s.domain,
        state,
        owner: held?.owner ?? null,
        leaseExpiresAt: held?.expiresAt ?? null,
        generation: lease?.generation ?? 0,
      };
    });

  const connected = input.stores.filter((s) => s.connected).length;
  const problems: FleetProblem[] = [];
  if (running.size === 0) {
    problems.push({
      code: "NO_WORKER",
      message:
        connected === 0
          ? "No process runs the workers. Connected stores will wait until one does: start a process with WORKER=on (the default of tillbridge start) against this database."
          : `No process runs the workers: stock, orders and shipments of ${plural(connected, "store", "stores")} wait. Start a process with WORKER=on (the default of tillbridge start) against this database.`,
      stores: stores.filter((s) => s.state !== "disconnected").map((s) => s.domain),
    });
  } else {
    const waiting = stores.filter((s) => s.state === "waiting").map((s) => s.domain);
    if (waiting.length > 0)
      problems.push({
        code: "STORES_WAITING",
        message: `${plural(waiting.length, "store is", "stores are")} not worked by any process right now; a running process takes ${waiting.length === 1 ? "it" : "them"} at its next turn (within a few seconds). If this lasts, check the processes' logs.`,
        stores: waiting,
      });
  }
  const orphaned = stores.filter((s) => s.state === "owner_not_responding");
  if (orphaned.length > 0)
    problems.push({
      code: "OWNER_NOT_RESPONDING",
      message: `${plural(orphaned.length, "store is", "stores are")} held by a process that stopped answering (crashed or paused); another process takes ${orphaned.length === 1 ? "it" : "them"} over when the lease runs out.`,
      stores: orphaned.map((s) => s.domain),
    });

  return {
    now,
    processes,
    stores,
    fairShare: running.size > 0 ? Math.ceil(connected / running.size) + 1 : null,
    hubJobsOwner: hubJobs?.owner ?? null,
    problems,
  };
}

export async function loadFleetStatus(db: Kysely<Tables>, now: number): Promise<FleetStatus> {
  const [workers, leases, stores] = await Promise.all([
    db.selectFrom("hub_workers").select(["id", "started_at", "expires_at"]).execute(),
    db.selectFrom("store_leases").select(["store_id", "owner", "expires_at", "generation"]).execute(),
    db.selectFrom("stores").select(["id", "domain", "status"]).execute(),
  ]);
  return describeFleet(
    {
      workers: workers.map((w) => ({
        id: w.id,
        startedAt: Number(w.started_at),
        expiresAt: Number(w.expires_at),
      })),
      leases: leases.map((l) => ({
        storeId: Number(l.store_id),
        owner: l.owner,
        expiresAt: Number(l.expires_at),
        generation: Number(l.generation),
      })),
      stores: stores.map((s) => ({ id: Number(s.id), domain: s.domain, connected: s.status === "active" })),
    },
    now,
  );
}
