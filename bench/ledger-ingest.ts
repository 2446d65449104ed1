/**
 * Movements per second into the ledger: through the store directly and through the HTTP API,
 * on SQLite and on PostgreSQL, with 1,000-movement batches. Target: ≥ 20,000/s into SQLite.
 *
 *   npm run bench:ledger -- [--batches 40]
 */
import { parseArgs } from "node:util";
import { createApiKey } from "../src/auth/api-keys.ts";
import { upsertVariants } from "../src/catalog/variants-store.ts";
import { loadConfig } from "../src/config/config.ts";
import { createLogger } from "../src/core/logger.ts";
import { ingestMovements } from "../src/inventory/ledger-store.ts";
import { upsertWarehouses } from "../src/inventory/warehouses-store.ts";
import { startHub } from "../src/runtime/hub.ts";
import { createTestDatabase, DIALECTS, type TestDialect } from "../test/support/databases.ts";

const { values } = parseArgs({ options: { batches: { type: "string", default: "40" } } });
const BATCHES = Number(values.batches);
const BATCH = 1000;
const SKUS = 5000;
const TARGET_SQLITE = 20_000;

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
    const { key } = await createApiKey(database, "bench", Date.now());
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

console.log(
  `ledger ingest: ${BATCHES} batches of ${BATCH} movements over ${SKUS} SKUs × 3 warehouses (2% counts)`,
);
const results: Record<string, number> = {};
for (const dialect of DIALECTS) {
  for (const via of ["store", "http"] as const) {
    const rate = await run(dialect, via);
    results[`${dialect}/${via}`] = rate;
    console.log(
      `  ${dialect.padEnd(8)} via ${via.padEnd(5)} ${Math.round(rate).toLocaleString("en-US").padStart(8)} movements/s`,
    );
  }
}
const sqliteHttp = results["sqlite/http"]!;
console.log(
  `  SQLite over HTTP vs target ${TARGET_SQLITE.toLocaleString("en-US")}/s: ratio ${(sqliteHttp / TARGET_SQLITE).toFixed(2)} ${sqliteHttp >= TARGET_SQLITE ? "(met)" : "(NOT met)"}`,
);
