/**
 * The README's first command on a fresh data folder: `tillbridge start` with nothing configured
 * brings up the hub with the demo store, and a movement posted with the printed key reaches the
 * store. A restart on the same data folder comes up again with the same result.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, ROOT } from "./support/processes.ts";

const dataDir = mkdtempSync(join(tmpdir(), "tillbridge-quickstart-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function startDemo(): Promise<{
  stop: () => Promise<void>;
  hub: string;
  emulator: string;
  key: string;
  locationId: string;
}> {
  const [port, emuPort] = [await freePort(), await freePort()];
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    DEMO_EMULATOR_PORT: String(emuPort),
    LOG_LEVEL: "warn",
  };
  delete env.SHOPIFY_API_KEY;
  delete env.SHOPIFY_API_SECRET;
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, [join(ROOT, "bin", "tillbridge.mjs"), "start"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    out += d;
  });
  const deadline = Date.now() + 45_000;
  while (!/locationId=([^'\s]+)'/.test(out)) {
    if (child.exitCode !== null) throw new Error(`start exited ${child.exitCode}: ${out}`);
    if (Date.now() > deadline) throw new Error(`no demo instructions: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    hub: `http://127.0.0.1:${port}`,
    emulator: `http://127.0.0.1:${emuPort}`,
    key: /Demo API key \(shown once\): (tb_\S+)/.exec(out)![1]!,
    locationId: decodeURIComponent(/locationId=([^'\s]+)'/.exec(out)![1]!),
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

const available = async (emulator: string, locationId: string) => {
  const res = await fetch(
    `${emulator}/_emulator/shops/demo.myshopify.com/inventory/level?sku=DEMO-1A&locationId=${encodeURIComponent(locationId)}`,
  );
  return ((await res.json()) as { available: number }).available;
};

describe("quick start", () => {
  it("starts the hub with a connected demo store, pushes a movement, and restarts cleanly", async () => {
    for (const run of [1, 2]) {
      const demo = await startDemo();
      try {
        // The hub's stock-take replaces the store's own count once the push is enabled.
        await expect
          .poll(() => available(demo.emulator, demo.locationId), { timeout: 15_000 })
          .toBe(40 - 3 * (run - 1));
        const res = await fetch(`${demo.hub}/api/v1/movements`, {
          method: "POST",
          headers: { authorization: `Bearer ${demo.key}`, "content-type": "application/json" },
          body: JSON.stringify({
            movements: [
              {
                id: `sale-${run}`,
                type: "sale",
                sku: "DEMO-1A",
                warehouse: "MAIN",
                quantity: -3,
                occurredAt: new Date().toISOString(),
              },
            ],
          }),
        });
        expect(res.status).toBe(200);
        await expect
          .poll(() => available(demo.emulator, demo.locationId), { timeout: 15_000 })
          .toBe(40 - 3 * run);
        expect((await fetch(`${demo.hub}/console/`)).status).toBe(200);
      } finally {
        await demo.stop();
      }
    }
  }, 120_000);
});
