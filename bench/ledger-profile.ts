/**
 * Where a 1,000-movement batch spends its time: statements per batch (by kind), time in the
 * database versus in the hub, and the CPU of the hub process and of its PostgreSQL backends per
 * 1,000 movements. The batches are bench/ledger-ingest's, written through the store directly.
 *
 *   node --import tsx bench/ledger-profile.ts [--dialect sqlite|postgres] [--batches 20]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { upsertVariants } from "../src/catalog/variants-store.ts";
import { openDatabase } from "../src/db/database.ts";
import { migrateToLatest } from "../src/db/migrate.ts";
import { ingestMovements } from "../src/inventory/ledger-store.ts";
import { planBatch, referencedKeys } from "../src/inventory/movements.ts";
import { upsertWarehouses } from "../src/inventory/warehouses-store.ts";
import { createTestDatabase, type TestDialect } from "../test/support/databases.ts";

const { values } = parseArgs({
  options: {
    dialect: { type: "string", default: "postgres" },
    batches: { type: "string", default: "20" },
    listener: { type: "boolean", default: false },
    /** Experiment: run the SQL given (e.g. dropping a constraint) after the migrations. */
    alter: { type: "string", multiple: true, default: [] },
  },
});
const dialect = values.dialect as TestDialect;
const BATCHES = Number(values.batches);
const BATCH = 1000;
const SKUS = 5000;

let seq = 0;
function batch() {
  const base = Date.UTC(2026, 10, 1);
  return Array.from({ length: BATCH }, (_, i) => {
    const n = seq++;
    const type = n % 50 === 0 ? "count" : n % 3 === 0 ? "receipt" : "sale";
    return {
      id: `m-${n}`,
      type,
      sku: `SKU-${(n * 7919) % SKUS}`,
      warehouse: `W${n % 3}`,
      quantity: type === "count" ? 100 : type === "receipt" ? 5 : -1,
      occurredAt: new Date(base + n * 1000 - (i % 10) * 60_000).toISOString(),
    };
  });
}

/** CPU seconds (user + system) of a process, from /proc. */
function procCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}

const test = await createTestDatabase(dialect);
const base = openDatabase(test.target);
await migrateToLatest(base);
for (const statement of values.alter ?? []) await sql.raw(statement).execute(base.db);
await upsertWarehouses(
  base,
  ["W0", "W1", "W2"].map((code) => ({ code, name: code })),
  Date.now(),
);
for (let i = 0; i < SKUS; i += 1000)
  await upsertVariants(
    base,
    Array.from({ length: 1000 }, (_, j) => ({ sku: `SKU-${i + j}` })),
    Date.now(),
  );

const counts = new Map<string, { n: number; ms: number }>();
const started = new Map<unknown, { kind: string; at: number }>();
let counting = false;
const db = base.db.withPlugin({
  transformQuery(args) {
    if (counting) {
      const node = args.node as { kind: string; into?: unknown; from?: unknown; sqlFragments?: string[] };
      let kind = node.kind.replace("QueryNode", "").toLowerCase();
      const table = JSON.stringify(node.into ?? node.from ?? "").match(/"name":"([a-z_]+)"/)?.[1];
      if (node.kind === "RawNode")
        kind = (node.sqlFragments ?? [])
          .join(" ")
          .replace(/\s+/g, " ")
          .trim()
          .split(" ")
          .slice(0, 4)
          .join(" ");
      started.set(args.queryId, { kind: `${kind} ${table ?? ""}`.trim(), at: performance.now() });
    }
    return args.node;
  },
  async transformResult(args) {
    const s = started.get(args.queryId);
    if (s) {
      started.delete(args.queryId);
      const c = counts.get(s.kind) ?? { n: 0, ms: 0 };
      c.n++;
      c.ms += performance.now() - s.at;
      counts.set(s.kind, c);
    }
    return args.result;
  },
});
const database = { ...base, db };

const listener = values.listener
  ? async (
      trx: Parameters<NonNullable<Parameters<typeof ingestMovements>[3]>>[0],
      ids: readonly number[],
      now: number,
    ) => {
      const { markPushDirty } = await import("../src/inventory/push/push-store.ts");
      await markPushDirty(trx, ids, now);
    }
  : undefined;

const bodies = Array.from({ length: BATCHES + 2 }, () => batch());
await ingestMovements(database, bodies[0]!, Date.now(), listener);
await ingestMovements(database, bodies[1]!, Date.now(), listener);

// Validation alone (zod + planning), with a complete lookup.
const variantIdBySku = new Map<string, number>();
for (const r of await base.db.selectFrom("variants").select(["id", "sku"]).execute())
  variantIdBySku.set(r.sku, r.id);
const warehouseIdByCode = new Map<string, number>();
for (const r of await base.db.selectFrom("warehouses").select(["id", "code"]).execute())
  warehouseIdByCode.set(r.code, r.id);
{
  const t = performance.now();
  for (let b = 2; b < bodies.length; b++) {
    referencedKeys(bodies[b]!);
    planBatch(bodies[b]!, { variantIdBySku, warehouseIdByCode, recordedHashById: new Map() }, Date.now());
  }
  console.log(`validation+planning alone: ${((performance.now() - t) / BATCHES).toFixed(1)} ms per batch`);
}

let backends: number[] = [];
const pgCpu = () => backends.reduce((s, pid) => s + procCpu(pid), 0);
if (dialect === "postgres") {
  // Open every pool connection the bench will use, then find their backends.
  const r = await sql<{
    pid: number;
  }>`select pid from pg_stat_activity where datname = current_database()`.execute(base.db);
  backends = r.rows.map((x) => Number(x.pid));
}
counting = true;
const cpu0 = process.cpuUsage();
const pg0 = pgCpu();
const t0 = performance.now();
for (let b = 2; b < bodies.length; b++) await ingestMovements(database, bodies[b]!, Date.now(), listener);
const wall = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const pg1 = pgCpu();
counting = false;

const perBatch = (x: number) => (x / BATCHES).toFixed(1);
console.log(
  `${dialect}: ${BATCHES} batches of ${BATCH}, ${Math.round((BATCHES * BATCH) / (wall / 1000)).toLocaleString("en-US")} movements/s`,
);
console.log(`  wall ${perBatch(wall)} ms per batch`);
console.log(
  `  hub CPU ${perBatch((cpu.user + cpu.system) / 1000)} ms per batch (user ${perBatch(cpu.user / 1000)})`,
);
if (dialect === "postgres")
  console.log(
    `  postgres backends CPU ${perBatch((pg1 - pg0) * 1000)} ms per batch (${backends.length} backends)`,
  );
let total = 0;
let totalMs = 0;
for (const [kind, c] of [...counts].sort((a, b) => b[1].ms - a[1].ms)) {
  total += c.n;
  totalMs += c.ms;
  console.log(
    `  ${kind.padEnd(40)} ${(c.n / BATCHES).toFixed(1).padStart(7)} per batch ${perBatch(c.ms).padStart(8)} ms`,
  );
}
console.log(`  statements: ${(total / BATCHES).toFixed(1)} per batch, ${perBatch(totalMs)} ms in them`);
await base.close();
await test.drop();
