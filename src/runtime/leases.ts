/**
 * Store leases: with several worker processes on one PostgreSQL database, each store is worked
 * by one worker at a time, so each store's API budget has exactly one spender. A lease is
 * renewed on every pass and lapses when its holder dies; another worker then takes over.
 */

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { sql } from "kysely";
import type { Db } from "../db/database.ts";

export const newWorkerId = () => `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;

/** Takes or renews the lease; true when `owner` holds it until `now + ttlMs`. */
export async function acquireLease(
  db: Db,
  storeId: number,
  owner: string,
  now: number,
  ttlMs: number,
): Promise<boolean> {
  const row = await db
    .insertInto("store_leases")
    .values({ store_id: storeId, owner, expires_at: now + ttlMs })
    .onConflict((oc) =>
      oc
        .column("store_id")
        .doUpdateSet({ owner, expires_at: now + ttlMs })
        .where((eb) =>
          eb.or([eb("store_leases.owner", "=", owner), eb("store_leases.expires_at", "<", now)]),
        ),
    )
    .returning("owner")
    .executeTakeFirst();
  return row?.owner === owner;
}

export async function releaseLeases(db: Db, owner: string): Promise<void> {
  await db.deleteFrom("store_leases").where("owner", "=", owner).execute();
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
