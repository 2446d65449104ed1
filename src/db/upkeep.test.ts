import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestDatabase } from "../../test/support/databases.ts";
import type { Database } from "./database.ts";
import { runUpkeep, type TableStats, tableStats, upkeepFor } from "./upkeep.ts";

const stats = (over: Partial<TableStats>): TableStats => ({
  table: "push_dirty",
  live: 10_000,
  dead: 0,
  modifiedSinceAnalyze: 0,
  lastAnalyzedAt: 0,
  ...over,
});

describe("database upkeep: what to tend", () => {
  it("vacuums where dead versions passed both the floor and a fifth of the live rows", () => {
    expect(upkeepFor([stats({ dead: 1999 })], 0)).toEqual([]);
    expect(upkeepFor([stats({ dead: 2000 })], 0)).toEqual([{ table: "push_dirty", action: "vacuum" }]);
    // A small table churned hard: the floor, not the share.
    expect(upkeepFor([stats({ live: 10, dead: 999 })], 0)).toEqual([]);
    expect(upkeepFor([stats({ live: 10, dead: 1000 })], 0)).toEqual([
      { table: "push_dirty", action: "vacuum" },
    ]);
  });

  it("analyses a table a tenth of which changed, at most once a minute, and at once if never analysed", () => {
    const changed = stats({ modifiedSinceAnalyze: 1000, lastAnalyzedAt: 100_000 });
    expect(upkeepFor([changed], 159_999)).toEqual([]);
    expect(upkeepFor([changed], 160_000)).toEqual([{ table: "push_dirty", action: "analyze" }]);
    expect(upkeepFor([stats({ modifiedSinceAnalyze: 999, lastAnalyzedAt: null })], 0)).toEqual([]);
    expect(upkeepFor([stats({ live: 0, modifiedSinceAnalyze: 5000, lastAnalyzedAt: null })], 0)).toEqual([
      { table: "push_dirty", action: "analyze" },
    ]);
  });
});

describe("database upkeep on PostgreSQL", () => {
  let database: Database & { drop(): Promise<void> };
  beforeAll(async () => {
    database = await openTestDatabase("postgres");
  });
  afterAll(async () => database?.drop());

  /** The server's counters reach other sessions within a second or so (at most ~10 s when idle). */
  const until = async (check: (t: TableStats | undefined) => boolean): Promise<TableStats | undefined> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const t = (await tableStats(database.db)).find((s) => s.table === "push_dirty");
      if (check(t) || Date.now() > deadline) return t;
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  it("clears the dead versions a churned table left and leaves a tended one alone", async () => {
    const { db } = database;
    // Marks made and cleared, as a busy push does: 20,000 dead versions (deleted rows: updates
    // would mostly be pruned in passing, the table leaves room for that, see migration 0039).
    await sql`insert into push_dirty (store_id, variant_id, first_marked_at, generation)
      select 1, g, 0, 1 from generate_series(1, 20000) g`.execute(db);
    await sql`delete from push_dirty`.execute(db);
    const churned = await until((t) => (t?.dead ?? 0) >= 15_000);
    expect(churned?.dead).toBeGreaterThanOrEqual(15_000);

    const done = await runUpkeep(db, Date.now());
    expect(done).toContainEqual({ table: "push_dirty", action: "vacuum" });
    const tended = await until((t) => (t?.dead ?? Infinity) < 1000);
    expect(tended?.dead).toBeLessThan(1000);
    expect(tended?.lastAnalyzedAt).not.toBeNull();
    expect(await runUpkeep(db, Date.now())).not.toContainEqual({ table: "push_dirty", action: "vacuum" });
  });
});
