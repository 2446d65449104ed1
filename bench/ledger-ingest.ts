/**
 * Movements per second into the ledger: through the store directly and through the HTTP API,
 * on SQLite and on PostgreSQL, with 1,000-movement batches. Target: ≥ 20,000/s into SQLite.
 * Then PostgreSQL with 1, 2 and 4 hub processes posting concurrently over HTTP to one database
 * (each its own SKUs, then a hot-SKU variant where every batch also moves 10 shared SKUs):
 * movements/s and the ratio to one process (issue 13: ≥ 1.5× with 2), and the CPU the hub
 * processes and their PostgreSQL backends spent per 1,000 movements: what bounds the rate on
 * this machine's cores whatever the number of processes.
 *
 *   npm run bench:ledger -- [--batches 40] [--only fleet|single] [--processes 1,2,4]
 *     [--skus distinct,hot] [--dialects sqlite,postgres]
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { createApiKey } from "../src/auth/api-keys.ts";
import { upsertVariants } from "../src/catalog/variants-store.ts";
import { loadConfig } from "../src/config/config.ts";
import { createLogger } from "../src/core/logger.ts";
import { ingestMovements } from "../src/inventory/ledger-store.ts";
import { upsertWarehouses } from "../src/inventory/warehouses-store.ts";
import { startHub } from "../src/runtime/hub.ts";
import { createTestDatabase, DIALECTS, type TestDialect } from "../test/support/databases.ts";

const { values } = parseArgs({
  options: {
    batches: { type: "string", default: "40" },
    only: { type: "string" },
    child: { type: "string" },
    hot: { type: "boolean", default: false },
    processes: { type: "string", default: "1,2,4" },
    skus: { type: "string", default: "distinct,hot" },
    dialects: { type: "string", default: DIALECTS.join(",") },
  },
});
const BATCHES = Number(values.batches);
const BATCH = 1000;
const SKUS = 5000;
const TARGET_SQLITE = 20_000;
const cores = availableParallelism();

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

async function run(dialect: TestDialect, via: "store" | "http"): Promise<number> {
  const test = await createTestDatabase(dialect);
  const config = loadConfig({
    DATABASE_URL: test.target.kind === "sqlite" ? test.target.path : test.target.url,
    DEMO: "off",
    WORKER: "off",
    PORT: "0",
    LOG_LEVEL: "silent",
    ENCRYPTION_KEY: Buffer.alloc(32, 3).toString("base64"),
  });
  const hub = await startHub(config, { logger: createLogger("silent"), listen: via === "http" });
  try {
    const { database } = hub.ctx;
    await upsertWarehouses(
      database,
      ["W0", "W1", "W2"].map((code) => ({ code, name: code })),
      Date.now(),
    );
    for (let i = 0; i < SKUS; i += 1000) {
      await upsertVariants(
        database,
        Array.from({ length: 1000 }, (_, j) => ({ sku: `SKU-${i + j}` })),
        Date.now(),
      );
    }
    const { key } = await createApiKey(database, "bench", Date.now(), ["stock"]);
    const bodies = Array.from({ length: BATCHES + 2 }, () => batch());
    const send = async (movements: ReturnType<typeof batch>) => {
      if (via === "store") return ingestMovements(database, movements, Date.now());
      const res = await fetch(`${hub.url}/api/v1/movements`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ movements }),
      });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      return res.json();
    };
    await send(bodies[0]!); // warm-up
    await send(bodies[1]!);
    const start = performance.now();
    for (let b = 2; b < bodies.length; b++) await send(bodies[b]!);
    const seconds = (performance.now() - start) / 1000;
    return (BATCHES * BATCH) / seconds;
  } finally {
    await hub.stop();
    await test.drop();
  }
}

/** Fleet child: a hub on the shared database posting its own batches over HTTP when told to go. */
async function child(url: string, index: number, hot: boolean): Promise<void> {
  const config = loadConfig({
    DATABASE_URL: url,
    DEMO: "off",
    WORKER: "off",
    PORT: "0",
    LOG_LEVEL: "silent",
    ENCRYPTION_KEY: Buffer.alloc(32, 3).toString("base64"),
  });
  const hub = await startHub(config, { logger: createLogger("silent"), listen: true });
  const { key } = await createApiKey(hub.ctx.database, `bench-${index}`, Date.now(), ["stock"]);
  const base = Date.UTC(2026, 10, 1);
  let n = 0;
  const body = () =>
    Array.from({ length: BATCH }, (_, i) => {
      const k = n++;
      const type = k % 50 === 0 ? "count" : k % 3 === 0 ? "receipt" : "sale";
      const sku = hot && i < 10 ? `SKU-${i}` : `SKU-${index * 1000 + 10 + ((k * 7919) % 990)}`;
      return {
        id: `p${index}-m-${k}`,
        type,
        sku,
        warehouse: `W${k % 3}`,
        quantity: type === "count" ? 100 : type === "receipt" ? 5 : -1,
        occurredAt: new Date(base + k * 1000 - (i % 10) * 60_000).toISOString(),
      };
    });
  const bodies = Array.from({ length: BATCHES + 1 }, body);
  const send = async (movements: ReturnType<typeof body>) => {
    const res = await fetch(`${hub.url}/api/v1/movements`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ movements }),
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  await send(bodies[0]!);
  console.log("ready");
  const lines = createInterface({ input: process.stdin });
  for await (const _ of lines) break;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  for (let b = 1; b < bodies.length; b++) await send(bodies[b]!);
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `done ${BATCHES * BATCH} ${(performance.now() - start) / 1000} ${(cpu.user + cpu.system) / 1e6}`,
  );
  await hub.stop();
  process.exit(0);
}

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of the PostgreSQL server processes serving one database, by pid: found by their
 * process title ("postgres: user database host …"), so connections opened and closed by the
 * pools during the run are counted too when sampled often enough.
 */
function backendCpu(database: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (title.startsWith("postgres: ") && title.includes(` ${database} `))
        out.set(Number(entry), procCpuSeconds(Number(entry)));
    } catch {}
  }
  return out;
}

interface FleetResult {
  readonly rate: number;
  /** CPU seconds per 1,000 movements: the hub processes (HTTP client included), and their PostgreSQL backends. */
  readonly hubCpu: number;
  readonly postgresCpu: number;
}

async function fleet(processes: number, hot: boolean): Promise<FleetResult> {
  const test = await createTestDatabase("postgres");
  const url = test.target.kind === "postgres" ? test.target.url : "";
  const config = loadConfig({
    DATABASE_URL: url,
    DEMO: "off",
    WORKER: "off",
    PORT: "0",
    LOG_LEVEL: "silent",
    ENCRYPTION_KEY: Buffer.alloc(32, 3).toString("base64"),
  });
  const hub = await startHub(config, { logger: createLogger("silent"), listen: false });
  try {
    await upsertWarehouses(
      hub.ctx.database,
      ["W0", "W1", "W2"].map((code) => ({ code, name: code })),
      Date.now(),
    );
    for (let i = 0; i < 4000; i += 1000)
      await upsertVariants(
        hub.ctx.database,
        Array.from({ length: 1000 }, (_, j) => ({ sku: `SKU-${i + j}` })),
        Date.now(),
      );
  } finally {
    await hub.stop();
  }
  try {
    const children = Array.from({ length: processes }, (_, i) =>
      spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          import.meta.filename,
          "--child",
          String(i),
          "--batches",
          String(BATCHES),
          ...(hot ? ["--hot"] : []),
        ],
        { env: { ...process.env, BENCH_DATABASE_URL: url }, stdio: ["pipe", "pipe", "inherit"] },
      ),
    );
    const outputs = children.map((c) => createInterface({ input: c.stdout! })[Symbol.asyncIterator]());
    for (const o of outputs) {
      const line = await o.next();
      if (line.value !== "ready") throw new Error(`child: ${line.value}`);
    }
    const database = new URL(url).pathname.slice(1);
    const first = backendCpu(database);
    const last = new Map(first);
    const sampler = setInterval(() => {
      for (const [pid, cpu] of backendCpu(database)) last.set(pid, cpu);
    }, 50);
    for (const c of children) c.stdin!.write("go\n");
    let total = 0;
    let slowest = 0;
    let hubCpu = 0;
    for (const o of outputs) {
      const [, count, seconds, cpu] = String((await o.next()).value).split(" ");
      total += Number(count);
      slowest = Math.max(slowest, Number(seconds));
      hubCpu += Number(cpu);
    }
    clearInterval(sampler);
    for (const [pid, cpu] of backendCpu(database)) last.set(pid, cpu);
    let postgresCpu = 0;
    for (const [pid, cpu] of last) postgresCpu += cpu - (first.get(pid) ?? 0);
    return {
      rate: total / slowest,
      hubCpu: (hubCpu / total) * 1000,
      postgresCpu: (postgresCpu / total) * 1000,
    };
  } finally {
    await test.drop();
  }
}

if (values.child !== undefined) {
  await child(process.env.BENCH_DATABASE_URL!, Number(values.child), values.hot ?? false);
} else {
  if (values.only !== "fleet") {
    console.log(
      `ledger ingest: ${BATCHES} batches of ${BATCH} movements over ${SKUS} SKUs × 3 warehouses (2% counts)`,
    );
    const results: Record<string, number> = {};
    for (const dialect of values.dialects.split(",") as TestDialect[]) {
      for (const via of ["store", "http"] as const) {
        const rate = await run(dialect, via);
        results[`${dialect}/${via}`] = rate;
        console.log(
          `  ${dialect.padEnd(8)} via ${via.padEnd(5)} ${Math.round(rate).toLocaleString("en-US").padStart(8)} movements/s`,
        );
      }
    }
    const sqliteHttp = results["sqlite/http"];
    if (sqliteHttp !== undefined)
      console.log(
        `  SQLite over HTTP vs target ${TARGET_SQLITE.toLocaleString("en-US")}/s: ratio ${(sqliteHttp / TARGET_SQLITE).toFixed(2)} ${sqliteHttp >= TARGET_SQLITE ? "(met)" : "(NOT met)"}`,
      );
  }
  if (values.only !== "single") {
    console.log(`PostgreSQL, several hub processes over HTTP, ${BATCHES} batches of ${BATCH} each:`);
    for (const hot of values.skus.split(",").map((v) => v === "hot")) {
      let one = 0;
      for (const n of values.processes.split(",").map(Number)) {
        const { rate, hubCpu, postgresCpu } = await fleet(n, hot);
        if (n === 1) one = rate;
        console.log(
          `  ${hot ? "hot SKUs" : "distinct"} ${n} process${n > 1 ? "es" : "  "} ${Math.round(rate).toLocaleString("en-US").padStart(8)} movements/s  ${(rate / one).toFixed(2)}× one  CPU per 1,000 movements: hubs ${(hubCpu * 1000).toFixed(0)} ms, postgres ${(postgresCpu * 1000).toFixed(0)} ms (${cores} cores: at most ${Math.round((cores * 1000) / (hubCpu + postgresCpu)).toLocaleString("en-US")}/s)`,
        );
      }
    }
  }
}
