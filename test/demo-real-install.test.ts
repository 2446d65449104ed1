/**
 * Issue 13, with a real `tillbridge start` process: the demo (on by default when no Shopify app
 * is configured) cannot weaken an installation that connects a real store by custom-app token.
 * Webhooks forged with the published demo secret are refused for the demo store, a real store,
 * an unknown shop and evil.com (a forged customers/redact executes nothing); once the real store
 * is connected the demo switches itself off, its key stops working, and a restart keeps it off.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_CLIENT_SECRET, DEMO_SHOP } from "../emulator/demo.ts";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { freePort, ROOT, runCli } from "./support/processes.ts";
import { emulatedStore } from "./support/shopify.ts";

const dataDir = mkdtempSync(join(tmpdir(), "tillbridge-demo-real-"));
let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => child.once("exit", () => r()));

/** `tillbridge start` with nothing configured but where other stores' Admin API is. */
async function start(until: RegExp): Promise<{ child: ChildProcess; url: string; out: () => string }> {
  const port = await freePort();
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    DEMO_EMULATOR_PORT: String(await freePort()),
    LOG_LEVEL: "warn",
    // Real stores (every store but the demo's) are reached here.
    SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}`,
  };
  for (const k of ["SHOPIFY_API_KEY", "SHOPIFY_API_SECRET", "DATABASE_URL", "DEMO", "ENCRYPTION_KEY"])
    delete env[k];
  const child = spawn(process.execPath, [join(ROOT, "bin", "tillbridge.mjs"), "start"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  child.stderr!.on("data", (d) => {
    out += d;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`start exited ${child.exitCode}: ${out}`);
    if (Date.now() > deadline) throw new Error(`not started: ${out}`);
    if (until.test(out) && (await fetch(`${url}/healthz`).catch(() => undefined))?.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, out: () => out };
}

const forged = (url: string, shop: string, topic: string, body: unknown) => {
  const raw = JSON.stringify(body);
  return fetch(`${url}/webhooks/shopify`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-shopify-topic": topic,
      "x-shopify-shop-domain": shop,
      "x-shopify-webhook-id": `forged-${Math.random()}`,
      "x-shopify-hmac-sha256": createHmac("sha256", DEMO_CLIENT_SECRET).update(raw).digest("base64"),
    },
    body: raw,
  });
};

describe("the demo beside a real store, as a real process", () => {
  it("refuses the published demo secret, switches itself off once a real store is connected, and stays off", async () => {
    const real = await emulatedStore({
      emulator,
      domain: `real-${Date.now().toString(36)}.myshopify.com`,
      skus: ["R-1"],
      locations: ["Warehouse"],
    });
    let hub = await start(/Demo API key \(shown once\): tb_\S+/);
    try {
      const demoKey = /Demo API key \(shown once\): (tb_\S+)/.exec(hub.out())![1]!;
      const asDemo = () =>
        fetch(`${hub.url}/api/v1/stores`, { headers: { authorization: `Bearer ${demoKey}` } });
      expect((await asDemo()).status).toBe(200);
      for (const shop of [DEMO_SHOP, real.domain, "unknown-shop.myshopify.com", "evil.com"]) {
        const res = await forged(hub.url, shop, "orders/create", { id: 1 });
        expect({ shop, status: res.status }).toEqual({ shop, status: 401 });
        await res.arrayBuffer();
      }
      const redact = await forged(hub.url, DEMO_SHOP, "customers/redact", {
        shop_domain: DEMO_SHOP,
        customer: { id: 1, email: "ada@example.com" },
        orders_to_redact: [],
      });
      expect(redact.status).toBe(401);
      await redact.arrayBuffer();

      // The operator connects their own store by custom-app token.
      const admin = runCli(["api-key", "create", "--name", "operator", "--scope", "admin"], {
        DATA_DIR: dataDir,
        DATABASE_URL: "",
      });
      expect(admin.status, admin.stderr).toBe(0);
      const adminKey = admin.stdout.trim().split("\n").pop()!;
      const connected = await fetch(`${hub.url}/api/v1/stores`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
        body: JSON.stringify({ domain: real.domain, accessToken: real.token }),
      });
      expect(connected.status, await connected.text()).toBe(201);
      // The demo switches itself off: its key stops working (checked every 2 s).
      await expect.poll(async () => (await asDemo()).status, { timeout: 15_000, interval: 250 }).toBe(401);
      const again = await forged(hub.url, real.domain, "orders/create", { id: 2 });
      expect(again.status).toBe(401);
      await again.arrayBuffer();

      // A restart on the same data folder does not start the demo again.
      hub.child.kill("SIGTERM");
      await exited(hub.child);
      hub = await start(/Demo off: store \S+ is connected/);
      expect(hub.out()).not.toMatch(/Demo API key/);
      expect((await asDemo()).status).toBe(401);
      const stores = (await (
        await fetch(`${hub.url}/api/v1/stores`, { headers: { authorization: `Bearer ${adminKey}` } })
      ).json()) as { items?: { domain: string; status: string }[] } | { domain: string; status: string }[];
      const list = Array.isArray(stores) ? stores : (stores.items ?? []);
      expect(list.find((s) => s.domain === DEMO_SHOP)?.status).not.toBe("active");
      expect(list.find((s) => s.domain === real.domain)?.status).toBe("active");
    } finally {
      if (hub.child.exitCode === null && hub.child.signalCode === null) hub.child.kill("SIGKILL");
      await exited(hub.child);
    }
  }, 120_000);
});
