/**
 * Store leases: with several hub processes on one PostgreSQL database, each store is worked by
 * one worker at a time, so each store's API budget has exactly one spender.
 *
 * A lease is a row (store, owner, expires_at, generation). The holder renews it by heartbeat
 * well inside its lifetime for as long as any pass runs; it lapses when the holder dies, and
 * another worker then takes it over. Every change of hands raises the generation: the holder's
 * writes that record Shopify results carry it as a fencing token (`fenceLease`), so a paused
 * or partitioned former owner can never overwrite the new owner's state. Releasing keeps the
 * row (expired) so generations never repeat.
 *
 * Times are epoch milliseconds from the processes' clocks: hosts sharing a database must keep
 * their clocks synchronised (NTP); skew eats into the margin between heartbeat and lifetime.
 */

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { sql } from "kysely";
import type { Db } from "../db/database.ts";

export const newWorkerId = () => `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;

/** A lease this worker holds: its fencing token and until when it is valid. */
export interface HeldLease {
  readonly storeId: number;
  readonly generation: number;
  readonly expiresAt: number;
}

/** The lease of the hub-wide jobs (not a store): one process runs them at a time. */
export const HUB_JOBS_LEASE = 0;

/** Thrown when work is attempted on a store whose lease this worker no longer holds. */
export class LeaseLostError extends Error {
  readonly code = "LEASE_LOST";
  constructor(
    readonly storeId: number,
    reason: string,
  ) {
    super(`store ${storeId}: ${reason}`);
    this.name = "LeaseLostError";
  }
}

/**
 * Takes the lease, or renews it when `owner` already holds it. A lease taken from another owner,
 * or after it lapsed, gets the next generation; a renewal keeps it. Undefined when another
 * worker holds a live lease.
 */
export async function takeLease(
  db: Db,
  storeId: number,
  owner: string,
  now: number,
  ttlMs: number,
): Promise<HeldLease | undefined> {
  const expiresAt = now + ttlMs;
  const row = await db
    .insertInto("store_leases")
    .values({ store_id: storeId, owner, expires_at: expiresAt, generation: 1 })
    .onConflict((oc) =>
      oc
        .column("store_id")
        .doUpdateSet({
          owner,
          expires_at: expiresAt,
          generation: sql<number>`case when store_leases.owner = ${owner} and store_leases.expires_at >= ${now}
            then store_leases.generation else store_leases.generation + 1 end`,
        })
        .where((eb) =>
          eb.or([eb("store_leases.owner", "=", owner), eb("store_leases.expires_at", "<", now)]),
        ),
    )
    .returning(["owner", "generation"])
    .executeTakeFirst();
  return row?.owner === owner ? { storeId, generation: Number(row.generation), expiresAt } : undefined;
}

/** The old boolean form: true when `owner` holds the lease until `now + ttlMs`. */
export async function acquireLease(
  db: Db,
  storeId: number,
  owner: string,
  now: number,
  ttlMs: number,
): Promise<boolean> {
  return (await takeLease(db, storeId, owner, now, ttlMs)) !== undefined;
}

/**
 * The heartbeat: extends every live lease `owner` holds to `now + ttlMs` in one statement.
 * Returns the leases still held (a lease that lapsed is not revived: its pass must stop).
 */
export async function renewLeases(db: Db, owner: string, now: number, ttlMs: number): Promise<HeldLease[]> {
  const expiresAt = now + ttlMs;
  const rows = await db
    .updateTable("store_leases")
    .set({ expires_at: expiresAt })
    .where("owner", "=", owner)
    .where("expires_at", ">=", now)
    .returning(["store_id", "generation"])
    .execute();
  return rows.map((r) => ({ storeId: Number(r.store_id), generation: Number(r.generation), expiresAt }));
}

/** True when `owner` still holds the lease of this generation at `now` (the check before each call). */
export async function holdsLease(db: Db, lease: HeldLease, owner: string, now: number): Promise<boolean> {
  const row = await db
    .selectFrom("store_leases")
    .select("store_id")
    .where("store_id", "=", lease.storeId)
    .where("owner", "=", owner)
    .where("generation", "=", lease.generation)
    .where("expires_at", ">=", now)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The fencing check of a write that records Shopify work: run it inside the write's transaction.
 * On PostgreSQL the lease row is locked (FOR SHARE) until the transaction ends, so a takeover
 * waits for the write, and a write after a takeover is refused. SQLite serialises writers.
 */
export async function fenceLease(
  trx: Db,
  dialect: "sqlite" | "postgres",
  lease: Pick<HeldLease, "storeId" | "generation">,
  owner: string,
): Promise<void> {
  let q = trx
    .selectFrom("store_leases")
    .select("generation")
    .where("store_id", "=", lease.storeId)
    .where("owner", "=", owner)
    .where("generation", "=", lease.generation);
  if (dialect === "postgres") q = q.forShare();
  if (!(await q.executeTakeFirst()))
    throw new LeaseLostError(
      lease.storeId,
      "another worker took the store over; this result is not recorded",
    );
}

/** Gives one lease up at once (kept as an expired row, so its generation keeps counting). */
export async function releaseLease(db: Db, storeId: number, owner: string): Promise<void> {
  await db
    .updateTable("store_leases")
    .set({ expires_at: 0 })
    .where("store_id", "=", storeId)
    .where("owner", "=", owner)
    .execute();
}

/** Gives up every lease of `owner` at once (a clean shutdown). */
export async function releaseLeases(db: Db, owner: string, except: readonly number[] = []): Promise<void> {
  let q = db.updateTable("store_leases").set({ expires_at: 0 }).where("owner", "=", owner);
  if (except.length > 0) q = q.where("store_id", "not in", except);
  await q.execute();
}

export async function leaseHolder(db: Db, storeId: number, now: number): Promise<string | undefined> {
  const row = await db
    .selectFrom("store_leases")
    .select("owner")
    .where("store_id", "=", storeId)
    .where("expires_at", ">=", sql.lit(now))
    .executeTakeFirst();
  return row?.owner;
}

/** Registers (or keeps alive) a worker process; returns how many workers are live now. */
export async function heartbeatWorker(
  db: Db,
  id: string,
  now: number,
  ttlMs: number,
): Promise<{ live: number }> {
  await db
    .insertInto("hub_workers")
    .values({ id, started_at: now, expires_at: now + ttlMs })
    .onConflict((oc) => oc.column("id").doUpdateSet({ expires_at: now + ttlMs }))
    .execute();
  const row = await db
    .selectFrom("hub_workers")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("expires_at", ">=", now)
    .executeTakeFirst();
  return { live: Math.max(1, Number(row?.n ?? 1)) };
}

export async function removeWorker(db: Db, id: string, now: number): Promise<void> {
  await db.deleteFrom("hub_workers").where("id", "=", id).execute();
  // Long-dead entries are cleared by whoever leaves or arrives.
  await db
    .deleteFrom("hub_workers")
    .where("expires_at", "<", now - 3600_000)
    .execute();
}

/** Live leases per owner, for the fair share (the hub-wide jobs lease not counted). */
export async function leasesHeldBy(db: Db, owner: string, now: number): Promise<number[]> {
  const rows = await db
    .selectFrom("store_leases")
    .select("store_id")
    .where("owner", "=", owner)
    .where("expires_at", ">=", now)
    .where("store_id", "!=", HUB_JOBS_LEASE)
    .execute();
  return rows.map((r) => Number(r.store_id));
}

/** Stores whose lease is live and held by someone else. */
export async function storesHeldByOthers(db: Db, owner: string, now: number): Promise<Set<number>> {
  const rows = await db
    .selectFrom("store_leases")
    .select("store_id")
    .where("owner", "!=", owner)
    .where("expires_at", ">=", now)
    .execute();
  return new Set(rows.map((r) => Number(r.store_id)));
}
