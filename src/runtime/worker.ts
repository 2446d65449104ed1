/**
 * The background loop of one hub process.
 *
 * The worker knows no capability: each registers its store passes and hub-wide jobs
 * (src/runtime/capability.ts; the inventory push and drift check are the inventory capability's
 * first passes). Per store, everything that spends the store's API budget runs only under the
 * store's lease:
 *
 * - the lease is taken before a pass and renewed by a heartbeat (every `leaseHeartbeatMs`, well
 *   inside `leaseTtlMs`) for as long as this process runs, so a long pass never outlives it;
 * - every Shopify call goes through a lease-guarded transport that checks, right before the
 *   request is sent, that the lease is still held (locally, then in the database);
 * - writes of Shopify results carry the lease generation as a fencing token (the push's
 *   confirmed levels through its deps; order cursors and tags, shipment outcomes and fulfillment
 *   records through the guarded transport's `fence`);
 * - a process owns at most its fair share ⌈stores / live workers⌉ and sheds the excess when
 *   another process joins; a dead process's stores move after its lease lapses; a clean stop
 *   releases them at once;
 * - a pass that fails is retried with capped exponential backoff and jitter; an error no retry
 *   can fix (a key that does not open the token, a revoked token, a missing scope) marks the
 *   flow failing with its reason and gives the store up.
 *
 * Hub-wide jobs (inboxes, retention) run in one process at a time, under a lease of their own
 * (`HUB_JOBS_LEASE`); jobs on claimed queues (outbound delivery) run in every process.
 */
import type { AppContext } from "../core/context.ts";
import { coerceError } from "../core/errors.ts";
import type { FlowState, InventoryMode } from "../db/tables.ts";
import { backoffMs } from "../jobs/backoff.ts";
import { listenStoreWork, notifyStoreWork } from "../jobs/wake.ts";
import { ShopifyAuthError } from "../shopify/errors.ts";
import type { AdminTransport, GraphQLCallOptions } from "../shopify/transport.ts";
import { logActivity } from "../shops/activity.ts";
import { SecretError } from "../shops/secrets.ts";
import { SERIES_SAMPLE_MS, sampleSeries } from "../shops/series.ts";
import {
  fenceLease,
  HUB_JOBS_LEASE,
  heartbeatWorker,
  holdsLease,
  LeaseLostError,
  newWorkerId,
  releaseLease,
  releaseLeases,
  removeWorker,
  renewLeases,
  storesHeldByOthers,
  takeLease,
} from "./leases.ts";

export interface ActiveStore {
  readonly id: number;
  readonly domain: string;
  readonly mode: InventoryMode;
  /** The store's longest coalescing window; null: COALESCE_WINDOW_MS. */
  readonly coalesceWindowMs?: number | null;
  readonly flows: Readonly<Record<string, FlowState>>;
  /** Flows marked failing, with the reason. */
  readonly failing?: Readonly<Record<string, string>>;
}

export type TransportFor = (store: { id: number; domain: string }) => AdminTransport;

export interface PeriodicJob {
  readonly name: string;
  readonly everyMs: number;
  /**
   * The job claims its items (src/jobs/queue.ts), so every process may run it at once and the
   * work spreads over them; otherwise it runs in one process at a time, under the hub-wide lease.
   */
  readonly everyProcess?: boolean;
  run(now: number): Promise<void>;
}

/** Work on one store that spends its API budget: runs under the store's lease, in registration order. */
export interface StorePass {
  readonly name: string;
  /** Runs only while this flow of the store is enabled; null: whatever the flows (operator jobs). */
  readonly flow: string | null;
  /** How often it runs; for a woken pass (`wakeOn`), the safety interval between wakes. */
  readonly everyMs: number;
  /**
   * A woken pass: it runs when its work arrives (`storeWorkArrived(ctx, wakeOn, shop)` from
   * src/core/context.ts, in any process: the one holding the store is told), when the time its
   * last run returned comes (a retried item's next attempt), at once when this process takes the
   * store, and otherwise only every `everyMs` (a lost signal's safety net). An idle store costs
   * nothing between. On PostgreSQL the signal reaches other processes by NOTIFY (src/jobs/wake.ts).
   */
  readonly wakeOn?: string;
  /** `nextAt`: when a woken pass has work due again without a signal (epoch ms; null: none). */
  run(store: ActiveStore, transport: AdminTransport, now: number): Promise<void | PassOutcome>;
}

export interface PassOutcome {
  readonly nextAt?: number | null;
}

export interface WorkerOptions {
  readonly tickMs?: number;
  /** How long a store lease lasts without renewal (a dead worker's stores move after this). */
  readonly leaseTtlMs?: number;
  /** How often held leases are renewed; well inside the TTL. */
  readonly leaseHeartbeatMs?: number;
  /** How long a stop waits for running passes before giving up on them. */
  readonly stopGraceMs?: number;
  readonly random?: () => number;
}

export const DEFAULT_LEASE_TTL_MS = 8000;
export const DEFAULT_LEASE_HEARTBEAT_MS = 2000;
/** How soon after a stock change recorded in this process the loop runs its next pass. */
const NUDGE_MS = 20;

/** An error no retry can fix: the flow is marked failing and the store given up. */
export function permanentReason(err: unknown): string | undefined {
  if (err instanceof SecretError) return `the store's token cannot be read: ${err.message}`;
  if (err instanceof ShopifyAuthError) return err.message;
  return undefined;
}

/** A failed store pass waits the hub's one backoff (src/jobs/backoff.ts) before the next. */
export function retryDelayMs(failures: number, random: () => number, baseMs = 1000, capMs = 60_000): number {
  return backoffMs(failures, { baseMs, capMs }, random);
}

export async function activeStores(ctx: AppContext): Promise<ActiveStore[]> {
  const stores = await ctx.database.db
    .selectFrom("stores")
    .select(["id", "domain", "inventory_mode", "coalesce_window_ms"])
    .where("status", "=", "active")
    .orderBy("id")
    .execute();
  if (stores.length === 0) return [];
  const flows = await ctx.database.db
    .selectFrom("flows")
    .select(["store_id", "flow", "state", "failure"])
    .where(
      "store_id",
      "in",
      stores.map((s) => s.id),
    )
    .execute();
  return stores.map((s) => {
    const own = flows.filter((f) => f.store_id === s.id);
    return {
      id: s.id,
      domain: s.domain,
      mode: s.inventory_mode,
      coalesceWindowMs: s.coalesce_window_ms,
      flows: Object.fromEntries(own.map((f) => [f.flow, f.state])),
      failing: Object.fromEntries(own.flatMap((f) => (f.failure ? [[f.flow, f.failure]] : []))),
    };
  });
}

/** What this process knows of a lease it holds. */
interface Held {
  readonly generation: number;
  expiresAt: number;
  lost: boolean;
  /** Calls sent to Shopify and not answered yet. */
  inFlight: number;
}

/** What a pass's guarded transport saw go wrong. */
interface PassErrors {
  permanent: string | undefined;
  failed: boolean;
  /** A call to Shopify succeeded: only then is a flow's failure cleared. */
  answered?: boolean;
}

export class Worker {
  private loopTimer: NodeJS.Timeout | undefined;
  /** The loop's next pass, while it waits for its tick (nudge runs it sooner). */
  private waitingLoop: (() => void) | undefined;
  private nudgeTimer: NodeJS.Timeout | undefined;
  /** A nudge came while a pass was being scheduled: the next one follows at once. */
  private nudged = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private scheduling: Promise<void> | undefined;
  private stopped = true;
  private stopping = false;
  private readonly held = new Map<number, Held>();
  private readonly running = new Map<number, Promise<void>>();
  private readonly runningJobs = new Map<string, Promise<void>>();
  private readonly failures = new Map<number, { count: number; notBefore: number }>();
  private readonly lastJob = new Map<string, number>();
  private readonly jobs: PeriodicJob[] = [];
  private readonly storePasses: StorePass[] = [];
  private readonly lastStorePass = new Map<string, number>();
  /** Woken passes' due times, by `wakeKey(signal, shop)`. */
  private readonly woken = new Map<string, number>();
  private signals: { close(): Promise<void> } | undefined;
  private readonly tickMs: number;
  readonly leaseTtlMs: number;
  readonly leaseHeartbeatMs: number;
  private readonly stopGraceMs: number;
  private readonly random: () => number;
  /** A lease with less than this left is not used for a new call (the request must land first). */
  private readonly sendMarginMs: number;
  readonly workerId = newWorkerId();

  constructor(
    private readonly ctx: AppContext,
    private readonly transportFor: TransportFor,
    options: WorkerOptions = {},
  ) {
    this.tickMs = options.tickMs ?? 200;
    // Stock changes recorded here wake the loop (see nudge).
    ctx.stockListeners.push(async () => this.nudge());
    // Work for a woken pass, stored here: this worker, then the others (the store's holder may be
    // another process; an API-only process only tells them).
    ctx.storeWorkListeners?.push(async (signal, shop) => {
      this.wake(signal, shop);
      if (ctx.database.dialect === "postgres")
        await notifyStoreWork(ctx.database.db, { signal, shop, from: this.workerId });
    });
    this.leaseTtlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    this.leaseHeartbeatMs =
      options.leaseHeartbeatMs ?? Math.min(DEFAULT_LEASE_HEARTBEAT_MS, this.leaseTtlMs / 4);
    this.stopGraceMs = options.stopGraceMs ?? 3000;
    this.random = options.random ?? Math.random;
    this.sendMarginMs = Math.min(1000, this.leaseTtlMs / 4);
    // The console's lag and throughput chart (src/shops/series.ts): hub-wide, no Shopify call.
    this.addJob({
      name: "shops:series",
      everyMs: SERIES_SAMPLE_MS,
      run: async (now) => void (await sampleSeries(this.ctx.database.db, now)),
    });
  }

  addJob(job: PeriodicJob): void {
    this.jobs.push(job);
  }

  addStorePass(pass: StorePass): void {
    this.storePasses.push(pass);
  }

  /** Stores whose lease this process holds now. */
  ownedStores(): number[] {
    return [...this.held.entries()]
      .filter(([id, h]) => id !== HUB_JOBS_LEASE && !h.lost)
      .map(([id]) => id)
      .sort((a, b) => a - b);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopping = false;
    const { db, dialect } = this.ctx.database;
    const target = this.ctx.config.database;
    if (target.kind === "postgres")
      this.signals = listenStoreWork(target.url, this.ctx.logger, (m) => {
        if (m.from !== this.workerId) this.wake(m.signal, m.shop);
      });
    // SQLite serves one hub process: leases left by a crashed predecessor (whose worker id died
    // with it) are this process's to take at once, instead of waiting out their lifetime.
    const takeOver =
      dialect === "sqlite"
        ? db
            .updateTable("store_leases")
            .set({ expires_at: 0 })
            .execute()
            .then(() => db.deleteFrom("hub_workers").execute())
            .then(() => undefined)
        : Promise.resolve();
    const loop = () => {
      this.waitingLoop = undefined;
      if (this.stopped) return;
      this.scheduling = this.schedule()
        .then(() => undefined)
        .finally(() => {
          if (this.stopped) return;
          const delay = this.nudged ? NUDGE_MS : this.tickMs;
          this.nudged = false;
          this.waitingLoop = loop;
          this.loopTimer = setTimeout(loop, delay);
        });
    };
    const beat = () => {
      if (this.stopped) return;
      void this.heartbeat().finally(() => {
        if (!this.stopped) this.heartbeatTimer = setTimeout(beat, this.leaseHeartbeatMs);
      });
    };
    this.scheduling = takeOver
      .catch((err) => {
        this.ctx.logger.error({ err: coerceError(err) }, "worker: cannot take over store leases");
      })
      .then(() => this.heartbeat())
      .then(() => {
        this.heartbeatTimer = setTimeout(beat, this.leaseHeartbeatMs);
        loop();
      });
  }

  /**
   * A stock change was recorded in this process: schedule the next pass now rather than at the
   * next tick, so with room in a store's budget (the push's coalescing window is then 0) the
   * change leaves within a few hundred milliseconds (src/inventory/push/coalescing.ts). Debounced
   * by NUDGE_MS, which also lets the change's transaction commit before the pass reads its marks
   * (if it has not, the next tick sees them). Changes recorded by another process wait for the
   * tick of the process holding the store.
   */
  nudge(): void {
    if (this.stopped || this.nudgeTimer) return;
    this.nudgeTimer = setTimeout(() => {
      this.nudgeTimer = undefined;
      if (this.stopped) return;
      const waiting = this.waitingLoop;
      if (!waiting) {
        this.nudged = true;
        return;
      }
      if (this.loopTimer) clearTimeout(this.loopTimer);
      waiting();
    }, NUDGE_MS);
  }

  /**
   * Work for the woken pass `signal` of store `shop` arrived: it runs at the store's next pass in
   * this process, if this process holds the store (soon: the loop is nudged).
   */
  wake(signal: string, shop: string): void {
    const key = wakeKey(signal, shop);
    const now = this.ctx.clock.now();
    this.woken.set(key, Math.min(this.woken.get(key) ?? now, now));
    this.nudge();
  }

  /**
   * Runs `work` on one store now, in this process, under the store's lease, with the lease-guarded
   * transport: an operator's request (a dry run, linking) answered by the process that can spend
   * the store's budget. Resolves true once the work ran; false at once when another process holds
   * the lease (its worker does the work at its next pass) or this one is stopping.
   *
   * Without the background loop (an API-only process, or a test hub), the lease is taken for the
   * work alone: renewed while it runs, released after.
   */
  async runNow(
    store: { id: number; domain: string },
    work: (transport: AdminTransport) => Promise<unknown>,
  ): Promise<boolean> {
    for (;;) {
      if (this.stopping) return false;
      const current = this.running.get(store.id);
      if (!current) break;
      // The running pass of this process does the store's work after it; without the loop,
      // what runs is another request's work: this one follows it.
      if (!this.stopped) return false;
      await current.catch(() => {});
    }
    const now = this.ctx.clock.now();
    const already = this.isHeld(store.id, now);
    const held = already ?? (await this.take(store.id, now));
    if (!held || this.stopping) return false;
    const errors: PassErrors = { permanent: undefined, failed: false };
    const active: ActiveStore = { id: store.id, domain: store.domain, mode: "absolute", flows: {} };
    const transport = this.guarded(active, held, errors);
    const alone = this.stopped;
    const beat = alone ? setInterval(() => void this.renewHeld(), this.leaseHeartbeatMs) : undefined;
    const run = (async () => {
      try {
        await work(transport);
      } catch (err) {
        if (!(err instanceof LeaseLostError))
          this.ctx.logger.error(
            { err: coerceError(err), store: store.domain },
            "worker: work on request failed",
          );
      } finally {
        clearInterval(beat);
        if (alone && !already) await this.giveUp(store.id).catch(() => {});
      }
    })();
    this.running.set(store.id, run);
    await run;
    if (this.running.get(store.id) === run) this.running.delete(store.id);
    return true;
  }

  /**
   * Stops: no new call leaves from here on; waits up to the grace period for running passes,
   * then releases every lease at once, except those of stores with a call still in flight at
   * Shopify (those lapse after their TTL, so no second spender can overlap the call).
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    const looping = !this.stopped;
    this.stopped = true;
    this.stopping = true;
    // A hub without the loop may still be running work on request.
    if (!looping && this.running.size === 0 && this.held.size === 0) return;
    if (this.loopTimer) clearTimeout(this.loopTimer);
    if (this.nudgeTimer) clearTimeout(this.nudgeTimer);
    this.nudgeTimer = undefined;
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    const signals = this.signals;
    this.signals = undefined;
    void signals?.close();
    const all = Promise.allSettled([this.scheduling, ...this.running.values(), ...this.runningJobs.values()]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, this.stopGraceMs)))]);
    clearTimeout(timer);
    const keep = [...this.held.entries()].filter(([, h]) => h.inFlight > 0).map(([id]) => id);
    const { db } = this.ctx.database;
    await releaseLeases(db, this.workerId, keep).catch(() => {});
    await removeWorker(db, this.workerId, this.ctx.clock.now()).catch(() => {});
    this.held.clear();
  }

  /** One pass over every store and job, waiting for them. Tests call it instead of sleeping. */
  async tick(): Promise<void> {
    await this.schedule();
    await Promise.allSettled([...this.running.values(), ...this.runningJobs.values()]);
  }

  /** Renews held leases alone (work on request without the loop: not a worker of the fleet). */
  private async renewHeld(): Promise<void> {
    return this.heartbeat(false);
  }

  /** Renews every held lease and this worker's registration; marks lapsed leases lost. */
  private async heartbeat(register = true): Promise<void> {
    const now = this.ctx.clock.now();
    const { db } = this.ctx.database;
    // Leases taken while the renewal runs are not judged by it.
    const before = [...this.held.entries()];
    try {
      const renewed = new Map(
        (await renewLeases(db, this.workerId, now, this.leaseTtlMs)).map((l) => [l.storeId, l]),
      );
      for (const [id, h] of before) {
        if (this.held.get(id) !== h) continue;
        const r = renewed.get(id);
        if (r && r.generation === h.generation) h.expiresAt = r.expiresAt;
        else {
          h.lost = true;
          this.held.delete(id);
          if (id !== HUB_JOBS_LEASE)
            this.ctx.logger.warn({ storeId: id }, "worker: store lease lost (it lapsed or was taken over)");
        }
      }
      if (register) await heartbeatWorker(db, this.workerId, now, this.leaseTtlMs);
    } catch (err) {
      // Leases keep their last known expiry: calls stop by themselves when it comes near.
      this.ctx.logger.error({ err: coerceError(err) }, "worker: lease heartbeat failed");
    }
  }

  private isHeld(storeId: number, now: number): Held | undefined {
    const h = this.held.get(storeId);
    if (!h || h.lost) return undefined;
    if (h.expiresAt - this.sendMarginMs < now) return undefined;
    return h;
  }

  private async take(storeId: number, now: number): Promise<Held | undefined> {
    const current = this.isHeld(storeId, now);
    if (current) return current;
    const lease = await takeLease(this.ctx.database.db, storeId, this.workerId, now, this.leaseTtlMs);
    if (!lease) {
      // Lapsed and taken by another worker: no longer ours.
      const stale = this.held.get(storeId);
      if (stale) {
        stale.lost = true;
        this.held.delete(storeId);
      }
      return undefined;
    }
    const held: Held = { generation: lease.generation, expiresAt: lease.expiresAt, lost: false, inFlight: 0 };
    this.held.set(storeId, held);
    return held;
  }

  private async giveUp(storeId: number): Promise<void> {
    const h = this.held.get(storeId);
    if (!h || h.inFlight > 0) return;
    h.lost = true;
    this.held.delete(storeId);
    await releaseLease(this.ctx.database.db, storeId, this.workerId);
  }

  /** Decides what runs now and starts it; passes and jobs run on without being awaited. */
  private async schedule(): Promise<void> {
    if (this.stopping) return;
    const now = this.ctx.clock.now();
    const { db } = this.ctx.database;
    let stores: ActiveStore[] = [];
    let others = new Set<number>();
    let live = 1;
    try {
      stores = await activeStores(this.ctx);
      others = await storesHeldByOthers(db, this.workerId, now);
      const row = await db
        .selectFrom("hub_workers")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("expires_at", ">=", now)
        .executeTakeFirst();
      live = Math.max(1, Number(row?.n ?? 1));
    } catch (err) {
      this.ctx.logger.error({ err: coerceError(err) }, "worker: cannot read stores");
      return;
    }
    if (this.stopping) return;

    // Jobs on claimed queues run in every process; the other hub-wide jobs in one at a time.
    this.startJobs(now, true);
    if (this.jobs.some((j) => !j.everyProcess) && !others.has(HUB_JOBS_LEASE)) {
      try {
        if (await this.take(HUB_JOBS_LEASE, now)) this.startJobs(now, false);
      } catch (err) {
        this.ctx.logger.error({ err: coerceError(err) }, "worker: cannot take the hub jobs lease");
      }
    }

    // The fair share: ⌈stores / live workers⌉; a process over it gives the excess up.
    const ids = new Set(stores.map((s) => s.id));
    const target = Math.ceil(stores.length / live);
    const mine = this.ownedStores().filter((id) => ids.has(id));
    for (const id of this.ownedStores()) if (!ids.has(id) && !this.running.has(id)) await this.giveUp(id);
    let count = mine.length;
    for (const id of [...mine].reverse()) {
      if (count <= target) break;
      if (this.running.has(id)) continue;
      await this.giveUp(id).catch(() => {});
      count--;
    }

    for (const store of stores) {
      if (this.stopping) return;
      if (this.running.has(store.id)) continue;
      const failure = this.failures.get(store.id);
      if (failure && failure.notBefore > now) continue;
      // Ours even when its lease nears the send margin (a heartbeat late under load): take() renews
      // it. Judged by the margin instead, such a store counted in the share but was skipped as a
      // new one once the share was full, and waited for the heartbeat with its work.
      const mine = this.held.get(store.id);
      const owned = mine !== undefined && !mine.lost;
      if (!owned && (others.has(store.id) || count >= target)) continue;
      let held: Held | undefined;
      try {
        held = await this.take(store.id, now);
      } catch (err) {
        this.ctx.logger.error({ err: coerceError(err), store: store.domain }, "worker: cannot take lease");
        continue;
      }
      if (!held) continue;
      if (!owned) {
        count++;
        // Newly this process's: its woken passes look at once (signals sent before went elsewhere).
        for (const pass of this.storePasses)
          if (pass.wakeOn !== undefined) this.woken.set(wakeKey(pass.wakeOn, store.domain), now);
      }
      const run = this.storePass(store, held, now).finally(() => this.running.delete(store.id));
      this.running.set(store.id, run);
    }
  }

  private startJobs(now: number, everyProcess: boolean): void {
    for (const job of this.jobs) {
      if ((job.everyProcess === true) !== everyProcess) continue;
      if (this.runningJobs.has(job.name)) continue;
      if (now - (this.lastJob.get(job.name) ?? 0) < job.everyMs) continue;
      this.lastJob.set(job.name, now);
      const run = job
        .run(now)
        .catch((err) => {
          this.ctx.logger.error({ err: coerceError(err), job: job.name }, "worker: job failed");
        })
        .finally(() => this.runningJobs.delete(job.name));
      this.runningJobs.set(job.name, run);
    }
  }

  /**
   * The store's transport as one pass sees it: each call checks the lease right before it is
   * sent, in-flight calls are counted, and errors are remembered for the pass's outcome.
   */
  private guarded(store: ActiveStore, held: Held, errors: PassErrors): AdminTransport {
    const inner = this.transportFor(store);
    const check = async () => {
      const refuse = (why: string) => {
        throw new LeaseLostError(store.id, why);
      };
      if (this.stopping) refuse("the hub is stopping; the call was not sent");
      if (held.lost || this.held.get(store.id) !== held) refuse("the lease was lost; the call was not sent");
      const now = this.ctx.clock.now();
      if (held.expiresAt - this.sendMarginMs < now)
        refuse("the lease is about to lapse; the call was not sent");
      const ok = await holdsLease(
        this.ctx.database.db,
        { storeId: store.id, generation: held.generation, expiresAt: held.expiresAt },
        this.workerId,
        now,
      );
      if (!ok) {
        held.lost = true;
        if (this.held.get(store.id) === held) this.held.delete(store.id);
        refuse("another worker holds the lease; the call was not sent");
      }
      if (this.stopping) refuse("the hub is stopping; the call was not sent");
      if (held.expiresAt - this.sendMarginMs < this.ctx.clock.now())
        refuse("the lease is about to lapse; the call was not sent");
    };
    const { dialect } = this.ctx.database;
    return {
      store: inner.store,
      // The push's coalescing window adapts to the bucket (src/inventory/push/coalescing.ts).
      ...(inner.throttleState ? { throttleState: () => inner.throttleState!() } : {}),
      // Writes that record this pass's Shopify results are refused once a newer owner exists.
      fence: (trx) =>
        fenceLease(trx, dialect, { storeId: store.id, generation: held.generation }, this.workerId),
      graphql: <T>(document: string, variables?: Record<string, unknown>, options?: GraphQLCallOptions) => {
        let sent = false;
        const call = inner.graphql<T>(document, variables, {
          ...options,
          beforeSend: async () => {
            await options?.beforeSend?.();
            await check();
            if (!sent) {
              sent = true;
              held.inFlight++;
            }
          },
        });
        return call.then(
          (r) => {
            if (sent) held.inFlight--;
            errors.answered = true;
            return r;
          },
          (err: unknown) => {
            if (sent) held.inFlight--;
            if (!(err instanceof LeaseLostError)) {
              errors.failed = true;
              errors.permanent ??= permanentReason(err);
            }
            throw err;
          },
        );
      },
    };
  }

  private async storePass(store: ActiveStore, held: Held, now: number): Promise<void> {
    const errors: PassErrors = { permanent: undefined, failed: false };
    const transport = this.guarded(store, held, errors);
    const log = this.ctx.logger.child({ store: store.domain });
    const attempt = async (flow: string, run: () => Promise<void>): Promise<boolean> => {
      errors.failed = false;
      errors.permanent = undefined;
      errors.answered = false;
      try {
        await run();
      } catch (err) {
        if (err instanceof LeaseLostError) {
          log.warn({ err: err.message }, "worker: pass stopped, the store lease is gone");
          return false;
        }
        errors.failed = true;
        errors.permanent ??= permanentReason(err);
        log.error({ err: coerceError(err), flow }, "worker: store pass failed");
      }
      if (errors.permanent) {
        await this.markFailing(store, flow, errors.permanent);
        return false;
      }
      // Cleared once Shopify answered the flow again, not by a pass that had nothing to send
      // (a store whose token cannot be read stays failing until it can).
      if (!errors.failed && errors.answered && store.failing?.[flow]) await this.clearFailing(store, flow);
      return !errors.failed;
    };
    // In registration order (the inventory push first): a pass that fails holds back the rest.
    let ok = true;
    for (const pass of this.storePasses) {
      if (!ok || held.lost || this.stopping) break;
      const key = `${pass.name}:${store.id}`;
      if (pass.flow !== null && store.flows[pass.flow] !== "enabled") continue;
      const signal = pass.wakeOn === undefined ? undefined : wakeKey(pass.wakeOn, store.domain);
      const dueAt = signal === undefined ? undefined : this.woken.get(signal);
      const woken = dueAt !== undefined && dueAt <= now;
      if (!woken && now - (this.lastStorePass.get(key) ?? 0) < pass.everyMs) continue;
      this.lastStorePass.set(key, now);
      // Taken: a signal arriving while the pass runs leaves it due again.
      if (woken) this.woken.delete(signal!);
      const ran: { outcome?: void | PassOutcome } = {};
      ok = await attempt(pass.flow ?? "inventory_push", async () => {
        ran.outcome = await pass.run(store, transport, now);
      });
      if (signal !== undefined) {
        // Due again: a failed run after the store's backoff, or when its retried items fall due.
        const next = ok ? ran.outcome?.nextAt : this.ctx.clock.now();
        if (next !== undefined && next !== null)
          this.woken.set(signal, Math.min(this.woken.get(signal) ?? next, next));
      }
    }
    if (ok) {
      this.failures.delete(store.id);
      return;
    }
    if (held.lost || this.stopping) return;
    const count = (this.failures.get(store.id)?.count ?? 0) + 1;
    const permanent = errors.permanent !== undefined;
    const delay = retryDelayMs(count, this.random, 1000, permanent ? 600_000 : 60_000);
    this.failures.set(store.id, { count, notBefore: this.ctx.clock.now() + delay });
    if (permanent) {
      // Another process (perhaps with the right key) may take the store meanwhile.
      await this.giveUp(store.id).catch(() => {});
    }
  }

  private async markFailing(store: ActiveStore, flow: string, reason: string): Promise<void> {
    const now = this.ctx.clock.now();
    const db = this.ctx.database.db;
    try {
      await db
        .updateTable("flows")
        .set({ failure: reason, failed_at: now })
        .where("store_id", "=", store.id)
        .where("flow", "=", flow as never)
        .execute();
      if (store.failing?.[flow] !== reason)
        await logActivity(
          db,
          {
            storeId: store.id,
            flow,
            kind: "flow_failing",
            level: "error",
            message: `${flow} stopped on an error a retry cannot fix: ${reason}`,
          },
          now,
        );
      this.ctx.logger.error({ store: store.domain, flow, reason }, "worker: flow failing");
    } catch (err) {
      this.ctx.logger.error({ err: coerceError(err) }, "worker: cannot mark the flow failing");
    }
  }

  private async clearFailing(store: ActiveStore, flow: string): Promise<void> {
    await this.ctx.database.db
      .updateTable("flows")
      .set({ failure: null, failed_at: null })
      .where("store_id", "=", store.id)
      .where("flow", "=", flow as never)
      .execute()
      .catch(() => {});
  }
}

const wakeKey = (signal: string, shop: string) => `${signal}\n${shop}`;
