import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireLease, leaseHolder, releaseLeases } from "../src/runtime/leases.ts";
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
});
