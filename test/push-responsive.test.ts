/**
 * A real hub process (`tillbridge start`, SQLite) pushing a few thousand items to the emulator,
 * whose echo is one `inventory_levels/update` webhook per level set: /healthz and the API keep
 * answering during the push, SIGTERM in the middle of it ends the process within 5 s, and a
 * restarted hub finishes the push (nothing lost, every level ends at the hub's value); SIGTERM
 * during a drift check's bulk read ends it within 5 s too.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { createApiKey } from "../src/auth/api-keys.ts";
import { openDatabase } from "../src/db/database.ts";
import { migrateToLatest } from "../src/db/migrate.ts";
import { INSTALL_SCOPES } from "../src/shops/scopes.ts";

const VARIANTS = 1500;
const LOCATIONS = 2;
const DOMAIN = "responsive.myshopify.com";
const root = new URL("..", import.meta.url).pathname;

describe("a hub process during a push of a few thousand items", () => {
  let emulator: Emulator;
  let dir: string;
  let env: Record<string, string | undefined>;
  let key: string;
  let hub: ChildProcess | undefined;
  let base: string;
  let locations: { id: string; legacyId: number }[];

  const startHub = async () => {
    hub = spawn(process.execPath, [join(root, "bin/tillbridge.mjs"), "start"], { env, stdio: "ignore" });
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/healthz`)).ok) return;
      } catch {}
      if (i > 600) throw new Error("the hub did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    expect(res.status, `${method} ${path}: ${text.slice(0, 300)}`).toBeLessThan(300);
    return text ? JSON.parse(text) : null;
  };
  const correct = () => {
    let n = 0;
    emulator.control.eachInventoryLevel(DOMAIN, (l) => {
      const j = locations.findIndex((x) => x.legacyId === l.locationId);
      if (l.sku && j >= 0 && l.available === 1 + ((Number(l.sku.slice(3)) + j) % 7)) n++;
    });
    return n;
  };
  const exited = (p: ChildProcess) =>
    new Promise<number | null>((resolve) => {
      if (p.exitCode !== null) resolve(p.exitCode);
      else p.once("exit", (code) => resolve(code));
    });

  beforeAll(async () => {
    emulator = await startEmulator();
    const app = emulator.control.createApp({ name: "Tillbridge", scopes: [...INSTALL_SCOPES] });
    emulator.control.createShop({ domain: DOMAIN, plan: "plus" });
    locations = Array.from({ length: LOCATIONS }, (_, i) =>
      emulator.control.createLocation(DOMAIN, { name: `Location ${i + 1}` }),
    );
    emulator.control.seedCatalog(DOMAIN, {
      variants: VARIANTS,
      locations: locations.map((l) => l.id),
      skuPrefix: "RS-",
    });
    const { accessToken } = emulator.control.mintToken({ shop: DOMAIN, clientId: app.clientId });
    dir = mkdtempSync(join(tmpdir(), "tillbridge-responsive-"));
    const databasePath = join(dir, "hub.db");
    const database = openDatabase({ kind: "sqlite", path: databasePath });
    await migrateToLatest(database);
    key = (await createApiKey(database, "test", Date.now(), ["admin"])).key;
    await database.close();
    const port = 19_000 + Math.floor(Math.random() * 1000);
    base = `http://127.0.0.1:${port}`;
    env = {
      PATH: process.env.PATH,
      DATABASE_URL: `sqlite:${databasePath}`,
      DATA_DIR: dir,
      PORT: String(port),
      DEMO: "off",
      LOG_LEVEL: "silent",
      ENCRYPTION_KEY: randomBytes(32).toString("base64"),
      SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}`,
      SHOPIFY_API_KEY: app.clientId,
      SHOPIFY_API_SECRET: app.clientSecret,
      COALESCE_WINDOW_MS: "0",
    };
    await startHub();
    const skus = Array.from({ length: VARIANTS }, (_, i) => `RS-${String(i).padStart(7, "0")}`);
    const warehouses = locations.map((_, i) => `W${i + 1}`);
    await api("PUT", "/api/v1/warehouses", { warehouses: warehouses.map((code) => ({ code, name: code })) });
    for (let i = 0; i < VARIANTS; i += 1000)
      await api("PUT", "/api/v1/variants", { variants: skus.slice(i, i + 1000).map((sku) => ({ sku })) });
    await api("POST", "/api/v1/stores", { domain: DOMAIN, accessToken, webhookSecret: app.clientSecret });
    const { items } = await api("GET", `/api/v1/stores/${DOMAIN}/locations`);
    await api("PUT", `/api/v1/stores/${DOMAIN}/locations/mapping`, {
      locations: (items as { locationId: string; name: string }[]).map((l) => ({
        locationId: l.locationId,
        warehouses: [warehouses[Number(l.name.split(" ")[1]) - 1]],
        managed: true,
        default: l.name === "Location 1",
      })),
    });
    await api("POST", `/api/v1/stores/${DOMAIN}/link?waitSeconds=120`);
    await api("POST", `/api/v1/stores/${DOMAIN}/inventory/dry-run?waitSeconds=120`);
    await api("PUT", `/api/v1/stores/${DOMAIN}/inventory-mode`, { mode: "absolute" });
    await api("POST", `/api/v1/stores/${DOMAIN}/flows/inventory_push/enable`);
    const at = new Date().toISOString();
    for (let first = 0; first < VARIANTS; first += 500)
      await api("POST", "/api/v1/movements", {
        movements: skus.slice(first, first + 500).flatMap((sku, k) =>
          warehouses.map((w, j) => ({
            id: `r-${sku}-${w}`,
            type: "receipt",
            sku,
            warehouse: w,
            quantity: 1 + ((first + k + j) % 7),
            occurredAt: at,
          })),
        ),
      });
  }, 300_000);

  afterAll(async () => {
    if (hub && hub.exitCode === null) {
      hub.kill("SIGKILL");
      await exited(hub);
    }
    await emulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("answers /healthz and the API while the push and its echo run, ends within 5 s on SIGTERM mid-push, and a restart converges", async () => {
    const total = VARIANTS * LOCATIONS;
    // Health checks from a process of their own: the emulator's work in this process (one
    // webhook per level set) must not count as the hub's latency.
    const watcher = spawn(
      process.execPath,
      [
        "-e",
        `let slowest = 0, answered = 0, failed = 0, stop = false;
        process.on("message", () => { stop = true; });
        (async () => {
          while (!stop) {
            for (const [path, auth] of [["/healthz", false], ["/api/v1/stores/${DOMAIN}/inventory/status", true]]) {
              const t = performance.now();
              try {
                const res = await fetch("${base}" + path, {
                  headers: auth ? { authorization: "Bearer ${key}" } : {},
                  signal: AbortSignal.timeout(10000),
                });
                await res.arrayBuffer();
                if (res.status === 200) answered++; else failed++;
              } catch { failed++; }
              slowest = Math.max(slowest, performance.now() - t);
            }
            await new Promise((r) => setTimeout(r, 50));
          }
          process.send({ slowest, answered, failed }, () => process.exit(0));
        })();`,
      ],
      { stdio: ["ignore", "inherit", "inherit", "ipc"] },
    );
    const report = new Promise<{ slowest: number; answered: number; failed: number }>((resolve) =>
      watcher.once("message", (m) => resolve(m as never)),
    );
    // Until the push is under way: some levels set, not all.
    const deadline = Date.now() + 240_000;
    while (correct() < total / 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const reached = correct();
    watcher.send("stop");
    const { slowest, answered, failed } = await report;
    expect(reached).toBeGreaterThan(0);
    expect(reached).toBeLessThan(total);
    expect(answered).toBeGreaterThan(2);
    expect(failed).toBe(0);
    // Generous: the hub answers within a couple of seconds even on a loaded machine (a blocked
    // event loop answered after 9 s at 100,000 variants).
    expect(slowest).toBeLessThan(3000);

    const stopped = Date.now();
    hub!.kill("SIGTERM");
    const code = await exited(hub!);
    expect(Date.now() - stopped).toBeLessThan(5000);
    expect(code).toBe(0);

    // A new process takes over the push where it stopped; every level ends at the hub's value.
    await startHub();
    while (correct() < total && Date.now() < deadline + 120_000) await new Promise((r) => setTimeout(r, 250));
    expect(correct()).toBe(total);
  }, 420_000);

  it("ends within 5 s on SIGTERM while a drift check waits for its bulk read", async () => {
    const bulkBefore = emulator.control.listBulkOperations(DOMAIN).length;
    emulator.control.holdBulkOperations(DOMAIN, true);
    try {
      // The operator's check, or the scheduled one the restarted hub runs first (the job waits for it).
      await api("POST", `/api/v1/stores/${DOMAIN}/jobs`, { kind: "drift_check" });
      // Until a check has started its (held) bulk read of the store's levels.
      const deadline = Date.now() + 60_000;
      while (emulator.control.listBulkOperations(DOMAIN).length === bulkBefore && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(emulator.control.listBulkOperations(DOMAIN).length).toBe(bulkBefore + 1);
      const stopped = Date.now();
      hub!.kill("SIGTERM");
      const code = await exited(hub!);
      expect(Date.now() - stopped).toBeLessThan(5000);
      expect(code).toBe(0);
    } finally {
      emulator.control.holdBulkOperations(DOMAIN, false);
    }
  }, 120_000);
});
