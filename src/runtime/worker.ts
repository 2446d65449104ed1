/**
 * The background loop of one hub process: per store, the inventory push (one cycle at a time
 * per store, so each store's API budget has one spender) and scheduled drift checks; plus
 * periodic jobs that other capabilities register (order inbox, backfill, outbound delivery).
 */
import type { AppContext } from "../core/context.ts";
import { coerceError } from "../core/errors.ts";
import type { FlowState, InventoryMode } from "../db/tables.ts";
import { runDriftCheck } from "../inventory/push/drift.ts";
import { type PushCycleResult, runPushCycle } from "../inventory/push/reconciler.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { acquireLease, newWorkerId, releaseLeases } from "./leases.ts";

export interface ActiveStore {
  readonly id: number;
  readonly domain: string;
  readonly mode: InventoryMode;
  readonly flows: Readonly<Record<string, FlowState>>;
}

export type TransportFor = (store: { id: number; domain: string }) => AdminTransport;

export interface PeriodicJob {
  readonly name: string;
  readonly everyMs: number;
  run(now: number): Promise<void>;
}

/** Work on one store that spends its API budget: runs under the store's lease, after the push. */
export interface StorePass {
  readonly name: string;
  /** Runs only while this flow of the store is enabled. */
  readonly flow: string;
  readonly everyMs: number;
  run(store: ActiveStore, transport: AdminTransport, now: number): Promise<void>;
}

export interface WorkerOptions {
  readonly tickMs?: number;
  readonly driftIntervalMs?: number;
  /** How long a store lease lasts without renewal (a dead worker's stores move after this). */
  readonly leaseTtlMs?: number;
}

export async function activeStores(ctx: AppContext): Promise<ActiveStore[]> {
  const stores = await ctx.database.db
    .selectFrom("stores")
    .select(["id", "domain", "inventory_mode"])
    .where("status", "=", "active")
    .orderBy("id")
    .execute();
  if (stores.length === 0) return [];
  const flows = await ctx.database.db
    .selectFrom("flows")
    .select(["store_id", "flow", "state"])
    .where(
      "store_id",
      "in",
      stores.map((s) => s.id),
    )
    .execute();
  return stores.map((s) => ({
    id: s.id,
    domain: s.domain,
    mode: s.inventory_mode,
    flows: Object.fromEntries(flows.filter((f) => f.store_id === s.id).map((f) => [f.flow, f.state])),
  }));
}

export class Worker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private readonly busy = new Set<number>();
  private readonly lastJob = new Map<string, number>();
  private readonly jobs: PeriodicJob[] = [];
  private readonly storePasses: StorePass[] = [];
  private readonly lastStorePass = new Map<string, number>();
  private readonly tickMs: number;
  private readonly driftIntervalMs: number;
  private readonly leaseTtlMs: number;
  readonly workerId = newWorkerId();

  constructor(
    private readonly ctx: AppContext,
    private readonly transportFor: TransportFor,
    options: WorkerOptions = {},
  ) {
    this.tickMs = options.tickMs ?? 200;
    this.driftIntervalMs = options.driftIntervalMs ?? 6 * 3600_000;
    this.leaseTtlMs = options.leaseTtlMs ?? 30_000;
    if (this.driftIntervalMs > 0) {
      this.addStorePass({
        name: "inventory:drift-check",
        flow: "inventory_push",
        everyMs: this.driftIntervalMs,
        // The first pass after a start checks at once: a restart is when drift is likeliest.
        run: async (store, transport) =>
          void (await runDriftCheck(this.pushDeps(), store, transport, "schedule")),
      });
    }
  }

  private pushDeps() {
    return {
      db: this.ctx.database.db,
      now: () => this.ctx.clock.now(),
      logger: this.ctx.logger,
      windowMs: this.ctx.config.coalesceWindowMs,
    };
  }

  addJob(job: PeriodicJob): void {
    this.jobs.push(job);
  }

  addStorePass(pass: StorePass): void {
    this.storePasses.push(pass);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    // SQLite serves one hub process: leases left by a crashed predecessor (whose worker id died
    // with it) are this process's to take at once, instead of waiting out their lifetime.
    const takeOver =
      this.ctx.database.dialect === "sqlite"
        ? this.ctx.database.db
            .deleteFrom("store_leases")
            .execute()
            .then(() => undefined)
        : Promise.resolve();
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick().finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, this.tickMs);
      });
    };
    this.running = takeOver.then(loop, (err) => {
      this.ctx.logger.error({ err: coerceError(err) }, "worker: cannot take over store leases");
      loop();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await releaseLeases(this.ctx.database.db, this.workerId).catch(() => {});
  }

  /** One pass over every store and job. Tests call it directly instead of sleeping. */
  async tick(): Promise<void> {
    const now = this.ctx.clock.now();
    let stores: ActiveStore[] = [];
    try {
      stores = await activeStores(this.ctx);
    } catch (err) {
      this.ctx.logger.error({ err: coerceError(err) }, "worker: cannot read stores");
    }
    await Promise.all([
      ...stores.map((s) => this.storePass(s, now)),
      ...this.jobs.map(async (job) => {
        if (now - (this.lastJob.get(job.name) ?? 0) < job.everyMs) return;
        this.lastJob.set(job.name, now);
        try {
          await job.run(now);
        } catch (err) {
          this.ctx.logger.error({ err: coerceError(err), job: job.name }, "worker: job failed");
        }
      }),
    ]);
  }

  /** Pushes one store until nothing is ready (used by tick, by tests and by the operator's "push now"). */
  async pushStore(store: ActiveStore): Promise<PushCycleResult | undefined> {
    if (store.flows.inventory_push !== "enabled") return undefined;
    return runPushCycle(this.pushDeps(), store, this.transportFor(store));
  }

  private async storePass(store: ActiveStore, now: number): Promise<void> {
    if (this.busy.has(store.id)) return;
    this.busy.add(store.id);
    try {
      if (!(await acquireLease(this.ctx.database.db, store.id, this.workerId, now, this.leaseTtlMs))) return;
      const result = await this.pushStore(store);
      if (result && result.calls > 0)
        this.ctx.logger.debug({ store: store.domain, ...result }, "inventory push cycle");
      for (const pass of this.storePasses) {
        const key = `${pass.name}:${store.id}`;
        if (store.flows[pass.flow] !== "enabled" || now - (this.lastStorePass.get(key) ?? 0) < pass.everyMs)
          continue;
        this.lastStorePass.set(key, now);
        try {
          await pass.run(store, this.transportFor(store), now);
        } catch (err) {
          this.ctx.logger.error(
            { err: coerceError(err), store: store.domain, pass: pass.name },
            "worker: store pass failed",
          );
        }
      }
    } catch (err) {
      this.ctx.logger.error({ err: coerceError(err), store: store.domain }, "worker: store pass failed");
    } finally {
      this.busy.delete(store.id);
    }
  }
}
