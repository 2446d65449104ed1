import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  acquireLease,
  fenceLease,
  holdsLease,
  LeaseLostError,
  leaseHolder,
  releaseLease,
  releaseLeases,
  renewLeases,
  takeLease,
} from "../src/runtime/leases.ts";
import { DIALECTS, openTestDatabase } from "./support/databases.ts";

describe.each(DIALECTS)("store leases on %s", (dialect) => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    database = await openTestDatabase(dialect);
  });
  afterAll(async () => database?.drop());

  it("gives a store to one worker at a time and hands it over when the lease lapses", async () => {
    const db = database.db;
    expect(await acquireLease(db, 1, "a", 1000, 100)).toBe(true);
    expect(await acquireLease(db, 1, "b", 1050, 100)).toBe(false);
    expect(await acquireLease(db, 1, "a", 1090, 100)).toBe(true); // renewal
    expect(await acquireLease(db, 1, "b", 1150, 100)).toBe(false);
    expect(await acquireLease(db, 1, "b", 1191, 100)).toBe(true); // a died: lapsed
    expect(await acquireLease(db, 1, "a", 1200, 100)).toBe(false);
    expect(await leaseHolder(db, 1, 1200)).toBe("b");
  });

  it("lets only one of many concurrent workers win", async () => {
    const wins = await Promise.all(
      Array.from({ length: 8 }, (_, i) => acquireLease(database.db, 2, `w${i}`, 5000, 1000)),
    );
    expect(wins.filter(Boolean)).toHaveLength(1);
    await releaseLeases(database.db, `w${wins.indexOf(true)}`);
    expect(await leaseHolder(database.db, 2, 5000)).toBeUndefined();
  });

  it("raises the generation on every change of hands and fences the former owner's writes", async () => {
    const db = database.db;
    const a1 = await takeLease(db, 3, "a", 1000, 100);
    expect(a1?.generation).toBe(1);
    // The heartbeat keeps it (same generation) …
    expect(await renewLeases(db, "a", 1080, 100)).toEqual([{ storeId: 3, generation: 1, expiresAt: 1180 }]);
    expect(await takeLease(db, 3, "b", 1150, 100)).toBeUndefined();
    expect(await holdsLease(db, a1!, "a", 1150)).toBe(true);
    // … until a is paused past its lifetime: b takes over with the next generation.
    const b = await takeLease(db, 3, "b", 1181, 100);
    expect(b?.generation).toBe(2);
    expect(await holdsLease(db, a1!, "a", 1182)).toBe(false);
    // a resumed: its heartbeat does not revive the lease, its writes are refused.
    expect(await renewLeases(db, "a", 1190, 100)).toEqual([]);
    await expect(
      db.transaction().execute((trx) => fenceLease(trx, dialect, a1!, "a")),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await db.transaction().execute((trx) => fenceLease(trx, dialect, b!, "b"));
    // A released lease is free at once and never reuses a generation.
    await releaseLease(db, 3, "b");
    expect(await leaseHolder(db, 3, 1200)).toBeUndefined();
    expect((await takeLease(db, 3, "a", 1200, 100))?.generation).toBe(3);
  });
});
