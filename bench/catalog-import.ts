/**
 * Importing a curated Shopify catalog into a hub: by default 100,000 variants over 20,000 products
 * (5 variants each, with options), 3 images and 2 metafields per product, in the emulator; the
 * hub a real `tillbridge start` process on SQLite (or PostgreSQL) that already knows half the
 * SKUs (matched and adopted) and creates the rest.
 *
 * Prints the import's wall time (from the request to the run's end), variants per second, the
 * hub's peak RSS during the import (sampled every 100 ms from /proc) and its high-water mark,
 * and the counts of the run. Targets: ≤ 60 s and ≤ 300 MB. `--db both` imports the same store
 * into a SQLite hub, then a PostgreSQL one (one at a time, so they do not compete), and prints
 * the two side by side with their ratio.
 *
 * Afterwards (`--after-seconds`, default 60; 0 skips it) the store's 5 locations are mapped to
 * warehouses, the link job run (it reads Shopify's levels at every managed location), a dry run,
 * the push enabled (absolute mode) and left running that long; the hub's peak RSS over all of it
 * is the second half of the target, "holding those 100,000 variants linked at 5 locations with
 * the push running".
 *
 * `--priority=-10` runs the bench (emulator and /healthz prober) and the hub at that scheduling
 * priority (os.setPriority; below 0 needs root): on a machine other work keeps busy, /healthz
 * then shows the hub's own waits rather than its turns for a core.
 *
 *   node --import tsx bench/catalog-import.ts [--variants 100000] [--per-product 5] [--db sqlite|postgres|both]
 *     [--locations 5] [--after-seconds 60] [--priority=0]
 */
import { spawn } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { loadavg, setPriority } from "node:os";
import { parseArgs } from "node:util";
import { startEmulator } from "../emulator/index.ts";
import { INSTALL_SCOPES } from "../src/shops/scopes.ts";
import { hubNodeFlags, prepareHubData, TILLBRIDGE_BIN } from "./support/hub-data.ts";

const { values } = parseArgs({
  options: {
    variants: { type: "string", default: "100000" },
    "per-product": { type: "string", default: "5" },
    db: { type: "string", default: "sqlite" },
    timeout: { type: "string", default: "1800" },
    locations: { type: "string", default: "5" },
    "after-seconds": { type: "string", default: "60" },
    priority: { type: "string", default: "0" },
  },
});
const VARIANTS = Number(values.variants);
const PER_PRODUCT = Number(values["per-product"]);
const DOMAIN = "catalog.myshopify.com";
const _root = new URL("..", import.meta.url).pathname;
const mb = (b: number) => Math.round(b / 2 ** 20);

const PRIORITY = Number(values.priority);
if (PRIORITY !== 0) setPriority(PRIORITY);
const loadAtStart = loadavg();
const emulator = await startEmulator();
const app = emulator.control.createApp({ name: "Tillbridge", scopes: [...INSTALL_SCOPES] });
emulator.control.createShop({ domain: DOMAIN, plan: "standard" });
const seedStarted = Date.now();
const seeded = emulator.control.seedCatalog(DOMAIN, {
  variants: VARIANTS,
  variantsPerProduct: PER_PRODUCT,
  catalog: true,
  images: 3,
  metafields: 2,
  locations: Number(values.locations),
  skuPrefix: "CI-",
  barcodePrefix: "40",
  title: "Product",
});
const seedMs = Date.now() - seedStarted;
const { accessToken } = emulator.control.mintToken({ shop: DOMAIN, clientId: app.clientId });

interface RunResult {
  readonly db: string;
  readonly wallMs: number;
  readonly variantsPerSecond: number;
  readonly peakRss: number;
  /** Afterwards: linked at the locations with the push running (0: not measured). */
  readonly afterPeakRss: number;
  readonly rssBefore: number;
  /** Seconds per phase (from the first time it was seen to the next one). */
  readonly phases: readonly { phase: string; seconds: number; peakRss: number }[];
}

async function runOnce(dbKind: "sqlite" | "postgres"): Promise<RunResult | undefined> {
  const data = await prepareHubData({
    prefix: "catalog",
    db: dbKind,
    portBase: 19_000,
    emulatorUrl: emulator.url,
    app,
  });
  const { env, port, key } = data;
  // The hub runs as `npm start` runs it (its memory flags are part of the RSS measured).
  const hubFlags = hubNodeFlags();
  const hub = spawn(process.execPath, [...hubFlags, TILLBRIDGE_BIN, "start"], {
    env,
    stdio: "inherit",
  });
  if (PRIORITY !== 0 && hub.pid !== undefined) setPriority(hub.pid, PRIORITY);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    if (i > 1200) throw new Error("the hub did not start");
    await new Promise((r) => setTimeout(r, 100));
  }

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : undefined;
  };
  const status = (field: "VmRSS" | "VmHWM") => {
    try {
      const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${hub.pid}/status`, "utf8"));
      return 1024 * Number(m?.[1] ?? 0);
    } catch {
      return 0;
    }
  };

  /** The RSS of the process's brk heap (glibc's main malloc arena), MB. */
  const mallocHeap = () => {
    try {
      const m = /\[heap\]\n(?:.*\n)*?Rss:\s+(\d+)/.exec(readFileSync(`/proc/${hub.pid}/smaps`, "utf8"));
      return mb(1024 * Number(m?.[1] ?? 0));
    } catch {
      return 0;
    }
  };
  // BENCH_METRICS_LOG=file: the hub's memory figures every second with the stage (diagnosis).
  let label = "starting";
  const metricsLog = process.env.BENCH_METRICS_LOG;
  const logger = metricsLog
    ? setInterval(() => {
        fetch(`${base}/metrics`)
          .then((r) => r.text())
          .then((text) => {
            const m = (name: string) =>
              mb(Number(new RegExp(`^tillbridge_${name} (\\S+)`, "m").exec(text)?.[1] ?? 0));
            appendFileSync(
              metricsLog,
              `${new Date().toISOString().slice(11, 19)} rss ${mb(status("VmRSS"))} heapTotal ${m("nodejs_heap_size_total_bytes")} heapUsed ${m("nodejs_heap_size_used_bytes")} external ${m("nodejs_external_memory_bytes")} lagMax ${Number(/^tillbridge_nodejs_eventloop_lag_max_seconds (\S+)/m.exec(text)?.[1] ?? 0).toFixed(3)} malloc ${mallocHeap()} ${label}\n`,
            );
          })
          .catch(() => {});
      }, 1000)
    : undefined;
  let result: RunResult | undefined;
  try {
    // The back office knows every other SKU (sent before the import, as its variants feed would).
    const known: { sku: string }[] = [];
    for (let i = 0; i < VARIANTS; i += 2) known.push({ sku: `CI-${String(i).padStart(7, "0")}` });
    for (let i = 0; i < known.length; i += 1000)
      await api("PUT", "/api/v1/variants", { variants: known.slice(i, i + 1000) });
    await api("POST", "/api/v1/stores", { domain: DOMAIN, accessToken });
    const rssBefore = status("VmRSS");

    /** When each phase was first seen (ms from the request): where the time goes. */
    const phases: [string, number][] = [];
    let peak = 0;
    /** Peak RSS per phase (the phase the last status poll saw). */
    const phasePeak = new Map<string, number>();
    /** Peak V8 heap in use per phase (the hub's /metrics, every second): live data against RSS. */
    const phaseHeap = new Map<string, number>();
    let ticks = 0;
    const sampler = setInterval(() => {
      const rss = status("VmRSS");
      peak = Math.max(peak, rss);
      const phase = phases.at(-1)?.[0] ?? "starting";
      phasePeak.set(phase, Math.max(phasePeak.get(phase) ?? 0, rss));
      if (++ticks % 10 === 0)
        fetch(`${base}/metrics`)
          .then((r) => r.text())
          .then((text) => {
            const heap = Number(/^tillbridge_nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? 0);
            phaseHeap.set(phase, Math.max(phaseHeap.get(phase) ?? 0, heap));
          })
          .catch(() => {});
    }, 100);
    // /healthz answered throughout the import (target ≤ 200 ms): the longest wait per phase.
    let probing = true;
    const healthzByPhase = new Map<string, number>();
    const probed = (async () => {
      while (probing) {
        const phase = phases.at(-1)?.[0] ?? "starting";
        const t0 = Date.now();
        await fetch(`${base}/healthz`)
          .then((res) => res.text())
          .catch(() => "");
        healthzByPhase.set(phase, Math.max(healthzByPhase.get(phase) ?? 0, Date.now() - t0));
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const started = Date.now();
    const start = await api("POST", `/api/v1/stores/${DOMAIN}/catalog-imports`, {
      mode: "create_only",
      waitSeconds: 1,
    });
    const jobId = start.job.id as number;
    const deadline = started + Number(values.timeout) * 1000;
    let job = start.job;
    while (job.status === "queued" || job.status === "running") {
      if (Date.now() > deadline) throw new Error(`the import did not end within ${values.timeout} s`);
      await new Promise((r) => setTimeout(r, 250));
      job = await api("GET", `/api/v1/jobs/${jobId}`);
      const phase = job.progress?.phase ?? job.status;
      if (phase !== phases.at(-1)?.[0]) phases.push([phase, Date.now() - started]);
      label = phase;
    }
    const wallMs = Date.now() - started;
    clearInterval(sampler);
    probing = false;
    await probed;
    peak = Math.max(peak, status("VmRSS"));
    if (job.status !== "done") throw new Error(`the import ended ${job.status}: ${job.error}`);
    const r = job.result as Record<string, number>;
    const line = (k: string, v: string | number) => console.log(`${k.padEnd(34)} ${v}`);
    console.log(
      `\ncatalog import: ${dbKind}, ${VARIANTS.toLocaleString("en")} variants over ${seeded.products.toLocaleString("en")} products`,
    );
    line("emulator seeding (--catalog)", `${(seedMs / 1000).toFixed(1)} s`);
    line("import wall time", `${(wallMs / 1000).toFixed(1)} s (target ≤ 60 s)`);
    line("variants/s", Math.round((r.variantsRead ?? 0) / (wallMs / 1000)));
    line("hub peak RSS during the import", `${mb(peak)} MB (target ≤ 300 MB; before it ${mb(rssBefore)} MB)`);
    line("hub RSS high-water mark (VmHWM)", `${mb(status("VmHWM"))} MB`);
    line("bench process RSS (emulator + store)", `${mb(process.memoryUsage().rss)} MB`);
    line(
      "read / matched / created / problems",
      `${r.variantsRead} / ${r.matched} / ${r.created} / ${r.problems}`,
    );
    line("products read", r.productsRead ?? 0);
    for (const [phase, at] of phases)
      line(
        `  from ${(at / 1000).toFixed(1)} s`,
        `${phase} (peak RSS ${mb(phasePeak.get(phase) ?? 0)} MB, heap used ${mb(phaseHeap.get(phase) ?? 0)} MB, longest /healthz ${healthzByPhase.get(phase) ?? 0} ms)`,
      );
    line(
      "load average (1 min) start → end",
      `${loadAtStart[0]!.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}${PRIORITY !== 0 ? ` (bench and hub at priority ${PRIORITY})` : ""}`,
    );
    if (r.variantsRead !== VARIANTS) {
      console.error(`expected ${VARIANTS} variants read, got ${r.variantsRead}`);
      exitCode = 1;
    }
    let afterPeak = 0;
    const afterSeconds = Number(values["after-seconds"]);
    if (afterSeconds > 0) {
      const warehouses = Array.from({ length: Number(values.locations) }, (_, i) => `W${i + 1}`);
      await api("PUT", "/api/v1/warehouses", {
        warehouses: warehouses.map((code) => ({ code, name: code })),
      });
      let items: { locationId: string; name: string }[] = [];
      for (let i = 0; i < 120 && items.length < warehouses.length; i++) {
        if (i > 0) await new Promise((res) => setTimeout(res, 500));
        if (i > 0 && i % 10 === 0) await api("POST", `/api/v1/stores/${DOMAIN}/locations/sync`);
        items = (await api("GET", `/api/v1/stores/${DOMAIN}/locations`)).items;
      }
      await api("PUT", `/api/v1/stores/${DOMAIN}/locations/mapping`, {
        locations: items.map((l, i) => ({
          locationId: l.locationId,
          warehouses: [warehouses[i % warehouses.length]],
          managed: true,
          default: i === 0,
        })),
      });
      // Sampled from here: the link (Shopify's levels at every managed location read), the dry
      // run, then the push running for afterSeconds.
      let longestHealthz = 0;
      const stageHealthz = new Map<string, number>();
      let sampling = true;
      let stage = "link";
      label = stage;
      const stagePeak = new Map<string, number>();
      const sampled = (async () => {
        while (sampling) {
          const rss = status("VmRSS");
          afterPeak = Math.max(afterPeak, rss);
          stagePeak.set(stage, Math.max(stagePeak.get(stage) ?? 0, rss));
          const t0 = Date.now();
          await fetch(`${base}/healthz`)
            .then((res) => res.text())
            .catch(() => "");
          longestHealthz = Math.max(longestHealthz, Date.now() - t0);
          stageHealthz.set(stage, Math.max(stageHealthz.get(stage) ?? 0, Date.now() - t0));
          await new Promise((res) => setTimeout(res, 100));
        }
      })();
      const job = async (kind: string) => {
        const t0 = Date.now();
        let j = await api("POST", `/api/v1/stores/${DOMAIN}/jobs`, { kind });
        while (j.status === "queued" || j.status === "running") {
          await new Promise((res) => setTimeout(res, 500));
          j = await api("GET", `/api/v1/jobs/${j.id}`);
        }
        if (j.status !== "done") throw new Error(`${kind} job ${j.status}: ${j.error}`);
        return (Date.now() - t0) / 1000;
      };
      const linkS = await job("link");
      stage = "dry run";
      label = stage;
      const dryS = await job("dry_run");
      stage = "push";
      label = stage;
      await api("PUT", `/api/v1/stores/${DOMAIN}/inventory-mode`, { mode: "absolute" });
      await api("POST", `/api/v1/stores/${DOMAIN}/flows/inventory_push/enable`);
      await new Promise((res) => setTimeout(res, afterSeconds * 1000));
      sampling = false;
      await sampled;
      line(
        "hub peak RSS afterwards",
        `${mb(afterPeak)} MB (target ≤ 300 MB; ${items.length} locations mapped, link ${linkS.toFixed(1)} s, dry run ${dryS.toFixed(1)} s, then the push running ${afterSeconds} s; longest /healthz ${longestHealthz} ms)`,
      );
      line(
        "  peak RSS by stage",
        [...stagePeak].map(([k, v]) => `${k} ${mb(v)} MB (/healthz ≤ ${stageHealthz.get(k)} ms)`).join(", "),
      );
    }
    const ends = [...phases.map(([, at]) => at).slice(1), wallMs];
    result = {
      db: dbKind,
      wallMs,
      variantsPerSecond: Math.round((r.variantsRead ?? 0) / (wallMs / 1000)),
      peakRss: peak,
      afterPeakRss: afterPeak,
      rssBefore,
      phases: phases.map(([phase, at], i) => ({
        phase,
        seconds: (ends[i]! - at) / 1000,
        peakRss: phasePeak.get(phase) ?? 0,
      })),
    };
  } catch (e) {
    console.error(e);
    exitCode = 1;
  } finally {
    clearInterval(logger);
    hub.kill("SIGTERM");
    await new Promise((r) => hub.once("exit", r));
    await data.remove();
  }
  return result;
}

let exitCode = 0;
const kinds =
  values.db === "both" ? (["sqlite", "postgres"] as const) : ([values.db as "sqlite" | "postgres"] as const);
const results: RunResult[] = [];
for (const kind of kinds) {
  const r = await runOnce(kind);
  if (r) results.push(r);
}
if (results.length === 2) {
  const [a, b] = results as [RunResult, RunResult];
  const row = (k: string, x: string, y: string, ratio: string) =>
    console.log(`${k.padEnd(34)} ${x.padStart(10)} ${y.padStart(10)} ${ratio.padStart(16)}`);
  console.log(`\nside by side, ${VARIANTS.toLocaleString("en")} variants`);
  row("", "sqlite", "postgres", "postgres/sqlite");
  const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  row("import wall time", sec(a.wallMs), sec(b.wallMs), (b.wallMs / a.wallMs).toFixed(2));
  row(
    "variants/s",
    String(a.variantsPerSecond),
    String(b.variantsPerSecond),
    (b.variantsPerSecond / a.variantsPerSecond).toFixed(2),
  );
  row("hub peak RSS", `${mb(a.peakRss)} MB`, `${mb(b.peakRss)} MB`, (b.peakRss / a.peakRss).toFixed(2));
  if (a.afterPeakRss > 0 && b.afterPeakRss > 0)
    row(
      "hub peak RSS afterwards",
      `${mb(a.afterPeakRss)} MB`,
      `${mb(b.afterPeakRss)} MB`,
      (b.afterPeakRss / a.afterPeakRss).toFixed(2),
    );
  for (const p of a.phases) {
    const q = b.phases.find((x) => x.phase === p.phase);
    if (!q || p.phase === "done") continue;
    row(
      `  ${p.phase.slice(0, 32)}`,
      `${p.seconds.toFixed(1)} s`,
      `${q.seconds.toFixed(1)} s`,
      p.seconds > 0 ? (q.seconds / p.seconds).toFixed(2) : "-",
    );
  }
}
await emulator.close();
process.exit(exitCode);
