/**
 * A large store from an empty hub to a converged push, as an operator would do it, with the hub
 * as a real `tillbridge start` process and the emulator as the store:
 * connect → map → link → dry run → absolute mode + enable → receipts for every variant at every
 * warehouse → every level in Shopify equal to the hub's sellable.
 *
 * Prints per phase: wall time, the query points it spent and their theoretical time at the
 * plan's restore rate; the hub's peak RSS; the longest /healthz answer during the run; the
 * levels correct at the end.
 *
 *   node --import tsx bench/large-store.ts [--variants 100000] [--locations 5] [--db sqlite|postgres] [--plan standard]
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startEmulator } from "../emulator/index.ts";
import { INSTALL_SCOPES } from "../src/shops/scopes.ts";
import { hubNodeFlags, prepareHubData, TILLBRIDGE_BIN } from "./support/hub-data.ts";

const { values } = parseArgs({
  options: {
    variants: { type: "string", default: "100000" },
    locations: { type: "string", default: "5" },
    db: { type: "string", default: "sqlite" },
    plan: { type: "string", default: "standard" },
    timeout: { type: "string", default: "3600" },
  },
});
const VARIANTS = Number(values.variants);
const LOCATIONS = Number(values.locations);
const PLAN = values.plan as "standard" | "advanced" | "plus";
const RESTORE = { standard: 100, advanced: 200, plus: 1000 }[PLAN];
const DOMAIN = "large.myshopify.com";

const t0 = Date.now();
const loadAtStart = loadavg();
// TEST ONLY flag: the benchmark's hub receives webhooks on plain http:// on loopback.
const emulator = await startEmulator({ testOnlyAllowPlainHttpWebhooks: true });
const app = emulator.control.createApp({ name: "Tillbridge", scopes: [...INSTALL_SCOPES] });
emulator.control.createShop({ domain: DOMAIN, plan: PLAN });
const locations = Array.from({ length: LOCATIONS }, (_, i) =>
  emulator.control.createLocation(DOMAIN, { name: `Location ${i + 1}` }),
);
// The catalog is seeded at once (emulator/README.md, seedCatalog): 100,000 variants at 5 locations in seconds.
const seeded = emulator.control.seedCatalog(DOMAIN, {
  variants: VARIANTS,
  variantsPerProduct: 100,
  locations: locations.map((l) => l.id),
  skuPrefix: "LG-",
  quantity: 0,
  title: "Product",
});
const skus = Array.from({ length: VARIANTS }, (_, i) => `LG-${String(i).padStart(7, "0")}`);
if (seeded.firstSku !== skus[0] || seeded.lastSku !== skus[VARIANTS - 1])
  throw new Error("unexpected seeded SKUs");
const { accessToken } = emulator.control.mintToken({ shop: DOMAIN, clientId: app.clientId });
const seedMs = Date.now() - t0;
const seededRss = process.memoryUsage().rss;

// The hub: a real process on its own data folder (SQLite) or a fresh PostgreSQL database.
const data = await prepareHubData({
  prefix: "large",
  db: values.db as "sqlite" | "postgres",
  portBase: 18_000,
  emulatorUrl: emulator.url,
  app,
});
const { dataDir, env, port, key } = data;
const hubFlags = hubNodeFlags();
const hubProcess = spawn(process.execPath, [...hubFlags, TILLBRIDGE_BIN, "start"], {
  env,
  stdio: "inherit",
});
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/healthz`)).ok) break;
  } catch {}
  // Up to 2 minutes: a first start transpiles every source file, slow on a loaded machine.
  if (i > 1200) throw new Error("the hub did not start");
  await new Promise((r) => setTimeout(r, 100));
}

// Watchers: the hub's RSS and its /healthz answer time, from a process of their own (the
// emulator's work in this process must not count as the hub's latency). Every sample goes to a
// file (epoch ms, RSS bytes, /healthz ms), so each phase gets its own peak and longest answer.
const samplesFile = join(dataDir, "samples.jsonl");
const watcher = spawn(
  process.execPath,
  [
    "-e",
    `
    const fs = require("node:fs");
    let stop = false;
    let n = 0;
    process.on("message", () => { stop = true; });
    (async () => {
      while (!stop) {
        let rss = 0;
        try {
          rss = 1024 * Number(/VmRSS:\\s+(\\d+)/.exec(fs.readFileSync("/proc/${hubProcess.pid}/status", "utf8"))?.[1] ?? 0);
        } catch {}
        const at = Date.now();
        const t = performance.now();
        try { await fetch("${base}/healthz", { signal: AbortSignal.timeout(60000) }); } catch {}
        const ms = performance.now() - t;
        // Every 2 s the hub's own view (/metrics): V8 heap used, to tell live data from heap growth.
        // and the longest event-loop delay since the previous scrape (a stall, not DB queueing).
        let heap = 0;
        let lag = 0;
        if (++n % 10 === 0) {
          try {
            const text = await (await fetch("${base}/metrics", { signal: AbortSignal.timeout(60000) })).text();
            heap = Number(/^tillbridge_nodejs_heap_size_used_bytes (\\S+)/m.exec(text)?.[1] ?? 0);
            lag = 1000 * Number(/^tillbridge_nodejs_eventloop_lag_max_seconds (\\S+)/m.exec(text)?.[1] ?? 0);
          } catch {}
        }
        fs.appendFileSync(${JSON.stringify(samplesFile)}, JSON.stringify([at, rss, ms, heap, lag]) + "\\n");
        await new Promise((r) => setTimeout(r, 200));
      }
      process.send("stopped", () => process.exit(0));
    })();
    `,
  ],
  { stdio: ["ignore", "inherit", "inherit", "ipc"] },
);
const watched = new Promise<void>((resolve) => watcher.on("message", () => resolve()));
const samples = () =>
  readFileSync(samplesFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as [number, number, number, number, number]);

const api = async (method: string, path: string, body?: unknown) => {
  let res: Response;
  for (let attempt = 1; ; attempt++) {
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(Number(values.timeout) * 1000),
      });
      break;
    } catch (err) {
      // A kept-alive connection the hub closed as the request was written (EPIPE: it never
      // arrived) is sent again; so is a read (GET) that failed on the way.
      const code = ((err as Error).cause as { code?: string } | undefined)?.code;
      if (attempt >= 5 || (method !== "GET" && code !== "EPIPE")) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : null;
};
const points = () => emulator.control.apiCalls(DOMAIN).reduce((n, c) => n + (c.actualQueryCost ?? 0), 0);
/** This process's RSS (the emulator with the store, plus the bench's own few arrays), sampled each second. */
let benchPeakRss = 0;
const benchRss: [number, number, number][] = [];
/** The emulator's webhook backlog toward the hub: in memory (bounded) and waiting in its files. */
let peakQueuedInMemory = 0;
let peakQueuedInFiles = 0;
const rssTimer = setInterval(() => {
  const { rss, heapUsed } = process.memoryUsage();
  benchPeakRss = Math.max(benchPeakRss, rss);
  benchRss.push([Date.now(), rss, heapUsed]);
  const queued = emulator.control.webhookQueue();
  peakQueuedInMemory = Math.max(peakQueuedInMemory, queued.inMemory);
  peakQueuedInFiles = Math.max(peakQueuedInFiles, queued.inFiles);
}, 1000);
const phases: { phase: string; seconds: number; points: number; from: number; to: number }[] = [];
const phase = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
  const started = Date.now();
  const before = points();
  const result = await run();
  const to = Date.now();
  phases.push({ phase: name, seconds: (to - started) / 1000, points: points() - before, from: started, to });
  console.log(`${name}: ${((to - started) / 1000).toFixed(1)} s`);
  return result;
};

const warehouses = locations.map((_, i) => `W${i + 1}`);
await phase("catalog into the hub", async () => {
  await api("PUT", "/api/v1/warehouses", { warehouses: warehouses.map((code) => ({ code, name: code })) });
  for (let i = 0; i < skus.length; i += 1000)
    await api("PUT", "/api/v1/variants", { variants: skus.slice(i, i + 1000).map((sku) => ({ sku })) });
});
await phase("connect and map", async () => {
  await api("POST", "/api/v1/stores", { domain: DOMAIN, accessToken, webhookSecret: app.clientSecret });
  // The store's locations are read from Shopify when it connects; wait until all are there.
  let items: { locationId: string; name: string }[] = [];
  for (let i = 0; i < 120 && items.length < LOCATIONS; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 500));
    if (i > 0 && i % 10 === 0) await api("POST", `/api/v1/stores/${DOMAIN}/locations/sync`);
    items = (await api("GET", `/api/v1/stores/${DOMAIN}/locations`)).items;
  }
  await api("PUT", `/api/v1/stores/${DOMAIN}/locations/mapping`, {
    locations: (items as { locationId: string; name: string }[]).map((l) => ({
      locationId: l.locationId,
      warehouses: [warehouses[Number(l.name.split(" ")[1]) - 1]],
      managed: true,
      default: l.name === "Location 1",
    })),
  });
});
/** Starts an operator job and follows it until it ends (the hub's worker runs it under the store's lease). */
const job = async (kind: string) => {
  let j = await api("POST", `/api/v1/stores/${DOMAIN}/jobs`, { kind });
  while (j.status === "queued" || j.status === "running") {
    await new Promise((r) => setTimeout(r, 500));
    j = await api("GET", `/api/v1/jobs/${j.id}`);
  }
  if (j.status !== "done") throw new Error(`${kind} job ${j.status}: ${j.error}`);
  return j.result;
};
const link = await phase("link (job)", () => job("link"));
/** For profiling a phase (HUB_NODE_FLAGS=--cpu-prof): BENCH_STOP_AFTER=link|enable ends the run there; the hub writes its profile on exit. */
const stopIfAsked = async (after: string) => {
  if (process.env.BENCH_STOP_AFTER !== after) return;
  hubProcess.kill("SIGTERM");
  await new Promise((r) => hubProcess.on("exit", r));
  watcher.send("stop");
  await watched;
  const all = samples();
  for (const p of phases) {
    const s = all.filter(([at]) => at >= p.from && at <= p.to);
    console.log(
      `${p.phase}: longest /healthz ${Math.max(0, ...s.map((x) => x[2])).toFixed(0)} ms, longest event-loop delay ${Math.max(0, ...s.map((x) => x[4] ?? 0)).toFixed(0)} ms`,
    );
  }
  await emulator.close();
  await data.remove();
  process.exit(0);
};
await stopIfAsked("link");
const dry = await phase("dry run (job)", () => job("dry_run"));
await phase("absolute mode and enable", async () => {
  await api("PUT", `/api/v1/stores/${DOMAIN}/inventory-mode`, { mode: "absolute" });
  await api("POST", `/api/v1/stores/${DOMAIN}/flows/inventory_push/enable`);
});
await stopIfAsked("enable");
const expectedLevels = VARIANTS * LOCATIONS;
await phase("receipts for every variant and warehouse", async () => {
  const at = new Date().toISOString();
  const perPost = Math.max(1, Math.floor(1000 / LOCATIONS));
  for (let first = 0; first < VARIANTS; first += perPost) {
    const movements = skus.slice(first, first + perPost).flatMap((sku, k) =>
      warehouses.map((w, j) => ({
        id: `r-${sku}-${w}`,
        type: "receipt",
        sku,
        warehouse: w,
        quantity: 1 + ((first + k + j) % 13),
        occurredAt: at,
      })),
    );
    await api("POST", "/api/v1/movements", { movements });
  }
});
const locationIndex = new Map(locations.map((l, j) => [l.legacyId, j]));
/** Levels whose available is the quantity received for its SKU and warehouse (no per-level objects). */
const correct = () => {
  let n = 0;
  emulator.control.eachInventoryLevel(DOMAIN, (level) => {
    const j = locationIndex.get(level.locationId);
    if (!level.sku || j === undefined) return;
    const i = Number(level.sku.slice(3));
    if (level.available === 1 + ((i + j) % 13)) n++;
  });
  return n;
};
await phase("push until converged", async () => {
  const deadline = Date.now() + Number(values.timeout) * 1000;
  while (correct() < expectedLevels && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2000));
});
const finalCorrect = correct();
watcher.send("stop");
await watched;
const all = samples();
const within = (p: { from: number; to: number }) => all.filter(([at]) => at >= p.from && at <= p.to);
const peakRss = Math.max(0, ...all.map((x) => x[1]));
const longestHealth = Math.max(0, ...all.map((x) => x[2]));
hubProcess.kill("SIGTERM");
await new Promise((r) => hubProcess.on("exit", r));
await emulator.close();
await data.remove();

console.log(
  `\n${VARIANTS} variants × ${LOCATIONS} locations on ${values.db}, ${PLAN} plan (${RESTORE} points/s); emulator seeded in ${(seedMs / 1000).toFixed(1)} s; hub node flags: ${hubFlags.join(" ") || "none"}`,
);
console.log(
  "phase | wall s | query points | at the plan's rate s | at Standard's 100/s s | peak RSS MB | peak heap used MB | longest /healthz ms | longest event-loop delay ms | emulator peak RSS MB | emulator peak heap used MB",
);
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
for (const p of phases) {
  const s = within(p);
  const emu = benchRss.filter(([at]) => at >= p.from && at <= p.to);
  console.log(
    `${p.phase} | ${p.seconds.toFixed(1)} | ${p.points} | ${(p.points / RESTORE).toFixed(1)} | ${(p.points / 100).toFixed(1)} | ${mb(Math.max(0, ...s.map((x) => x[1])))} | ${mb(Math.max(0, ...s.map((x) => x[3] ?? 0)))} | ${Math.max(0, ...s.map((x) => x[2])).toFixed(0)} | ${Math.max(0, ...s.map((x) => x[4] ?? 0)).toFixed(0)} | ${mb(Math.max(0, ...emu.map((x) => x[1])))} | ${mb(Math.max(0, ...emu.map((x) => x[2])))}`,
  );
}
console.log(
  `link: ${link.linked} linked, ${link.problems} problems, ${link.levelsRead} levels read; dry run: ${dry.checked} checked`,
);
console.log(
  `hub peak RSS: ${(peakRss / 2 ** 20).toFixed(0)} MB; longest /healthz: ${longestHealth.toFixed(0)} ms`,
);
clearInterval(rssTimer);
console.log(
  `emulator (bench process) peak RSS: ${(benchPeakRss / 2 ** 20).toFixed(0)} MB; after seeding: ${(seededRss / 2 ** 20).toFixed(0)} MB`,
);
console.log(
  `emulator webhook backlog toward the hub, at most: ${peakQueuedInMemory} deliveries in memory, ${peakQueuedInFiles} in its files`,
);
console.log(`levels correct at the end: ${finalCorrect} of ${expectedLevels}`);
const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(" / ");
console.log(`load average (1/5/15 min) at the start: ${load(loadAtStart)}; at the end: ${load(loadavg())}`);
process.exit(finalCorrect === expectedLevels ? 0 : 1);
