/**
 * PostgreSQL upkeep of the hub's own tables: dead row versions cleared and planner statistics
 * refreshed, by the hub itself when the server does not keep up.
 *
 * Under load the push's marks, its sync state, the stock levels and the inbox are rewritten
 * thousands of times a second. PostgreSQL's autovacuum clears the dead versions and refreshes
 * the statistics, but where it is off (`autovacuum = off`: seen on CI and hardened servers) or
 * lags (it looks once a minute by default), every read wades through dead versions and stale
 * statistics choose plans that scan them. Measured with `bench:fleet` (1 store, 5,000 SKUs,
 * 2,500 receipts/s, autovacuum off): 0.47 of the store's cost ceiling and a p99 of 13 s without,
 * 0.88 and 3.5 s with a VACUUM (ANALYZE) every 10 s; one read of a cycle's targets took 240 ms
 * (a plan that scanned every level of the warehouse per variant) instead of 4 ms.
 *
 * The decision is a pure function of `pg_stat_user_tables` (what autovacuum itself reads), so a
 * server whose autovacuum keeps up leaves nothing for the hub to do. SQLite needs none of this:
 * it reuses freed pages and plans without statistics.
 */
import { sql } from "kysely";
import type { Logger } from "pino";
import type { Db } from "./database.ts";

/** How often one process looks (a hub-wide job: one process at a time). */
export const UPKEEP_EVERY_MS = 10_000;

/** A table's counters, as `pg_stat_user_tables` has them. */
export interface TableStats {
  readonly table: string;
  readonly live: number;
  readonly dead: number;
  /** Rows inserted, updated or deleted since the last analyse. */
  readonly modifiedSinceAnalyze: number;
  /** The latest analyse, by autovacuum or by anyone (epoch ms; null: never). */
  readonly lastAnalyzedAt: number | null;
}

export type Upkeep = { readonly table: string; readonly action: "vacuum" | "analyze" };

/**
 * Dead versions beyond this many rows and this share of the live ones are cleared (autovacuum's
 * own defaults are 50 rows and 20%: a busier floor, since the hub looks six times as often).
 */
const VACUUM_MIN_DEAD = 1000;
const VACUUM_DEAD_SHARE = 0.2;
/** Statistics are refreshed when a tenth of the table changed, at most once a minute. */
const ANALYZE_MIN_CHANGED = 1000;
const ANALYZE_CHANGED_SHARE = 0.1;
const ANALYZE_AT_MOST_EVERY_MS = 60_000;

/** What to do for each table: a vacuum (which analyses too) where dead versions piled up, else an analyse where the table changed. */
export function upkeepFor(tables: readonly TableStats[], now: number): Upkeep[] {
  const out: Upkeep[] = [];
  for (const t of tables) {
    if (t.dead >= Math.max(VACUUM_MIN_DEAD, VACUUM_DEAD_SHARE * t.live)) {
      out.push({ table: t.table, action: "vacuum" });
      continue;
    }
    const changed = t.modifiedSinceAnalyze >= Math.max(ANALYZE_MIN_CHANGED, ANALYZE_CHANGED_SHARE * t.live);
    // Never analysed: a table filled since it was created is planned as if it were empty.
    const due = t.lastAnalyzedAt === null || now - t.lastAnalyzedAt >= ANALYZE_AT_MOST_EVERY_MS;
    if (changed && due) out.push({ table: t.table, action: "analyze" });
  }
  return out;
}

export async function tableStats(db: Db): Promise<TableStats[]> {
  const rows = await sql<{
    table: string;
    live: number;
    dead: number;
    modified: number;
    analyzed: Date | null;
  }>`select relname as table, n_live_tup as live, n_dead_tup as dead, n_mod_since_analyze as modified,
       greatest(last_analyze, last_autoanalyze) as analyzed
     from pg_stat_user_tables where schemaname = current_schema()`.execute(db);
  return rows.rows.map((r) => ({
    table: r.table,
    live: Number(r.live),
    dead: Number(r.dead),
    modifiedSinceAnalyze: Number(r.modified),
    lastAnalyzedAt: r.analyzed === null ? null : new Date(r.analyzed).getTime(),
  }));
}

/**
 * Looks at the hub's tables and tends the ones that need it. SKIP_LOCKED: a table autovacuum (or
 * another vacuum) is working on is left to it. Neither statement blocks reads or writes.
 */
export async function runUpkeep(db: Db, now: number): Promise<Upkeep[]> {
  const todo = upkeepFor(await tableStats(db), now);
  for (const u of todo) {
    const table = sql.table(u.table);
    if (u.action === "vacuum") await sql`vacuum (analyze, skip_locked) ${table}`.execute(db);
    else await sql`analyze (skip_locked) ${table}`.execute(db);
  }
  return todo;
}

/** Whether the server's autovacuum runs (a warning at start if not: other databases there are not tended). */
export async function autovacuumIsOn(db: Db): Promise<boolean> {
  const r = await sql<{ on: string }>`select current_setting('autovacuum') as on`.execute(db);
  return r.rows[0]?.on === "on";
}

/** The hub-wide job (PostgreSQL only), in the shape `Worker.addJob` takes. */
export function upkeepJob(db: Db, logger: Logger) {
  let warned = false;
  return {
    name: "db:upkeep",
    everyMs: UPKEEP_EVERY_MS,
    run: async (now: number) => {
      if (!warned) {
        warned = true;
        if (!(await autovacuumIsOn(db)))
          logger.warn(
            "PostgreSQL's autovacuum is off: the hub vacuums and analyses its own tables every 10 s, but nothing tends the server's other databases; turn autovacuum on",
          );
      }
      const done = await runUpkeep(db, now);
      if (done.length > 0) logger.debug({ upkeep: done }, "database upkeep");
    },
  };
}
