/**
 * Issue 13: keys that cannot diverge. A process whose ENCRYPTION_KEY does not open the secrets
 * a database already holds stops at start with a message naming the expected key and where it
 * came from, before it takes any lease; with no key configured, none is generated into a
 * database that holds secrets.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { openDatabase } from "../src/db/database.ts";
import { keyId } from "../src/shops/secrets.ts";
import { createTestDatabase, type TestDatabase } from "./support/databases.ts";
import { runCli, startHubProcess } from "./support/processes.ts";
import { emulatedStore } from "./support/shopify.ts";

let emulator: Emulator;
let test: TestDatabase;
const dataDir = mkdtempSync(join(tmpdir(), "tillbridge-keycheck-"));
beforeAll(async () => {
  emulator = await startEmulator();
  test = await createTestDatabase("postgres");
});
afterAll(async () => {
  await emulator?.close();
  await test?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("a second process with another key", () => {
  it("stops at start with the expected key's source and takes no lease", async () => {
    const domain = `keys-${Date.now().toString(36)}.myshopify.com`;
    const store = await emulatedStore({ emulator, domain, skus: ["K-1"], locations: ["Warehouse"] });
    const right = Buffer.alloc(32, 3);
    const env = {
      DATABASE_URL: test.target.kind === "postgres" ? test.target.url : "",
      DEMO: "off",
      WORKER: "on",
      DATA_DIR: dataDir,
      SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}`,
      ENCRYPTION_KEY: right.toString("base64"),
    };
    const created = runCli(["api-key", "create", "--name", "keys", "--scope", "admin"], env);
    expect(created.status, created.stderr).toBe(0);
    const key = created.stdout.trim().split("\n").pop()!;
    const hub = await startHubProcess(env);
    try {
      const res = await fetch(`${hub.url}/api/v1/stores`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ domain, accessToken: store.token }),
      });
      expect(res.status, await res.text()).toBeLessThan(300);
    } finally {
      hub.child.kill("SIGTERM");
      await new Promise((r) => hub.child.once("exit", r));
    }

    const wrong = runCli(["start"], {
      ...env,
      PORT: "0",
      ENCRYPTION_KEY: Buffer.alloc(32, 4).toString("base64"),
    });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("ENCRYPTION_KEY_MISMATCH");
    expect(wrong.stderr).toContain(`sealed with key ${keyId(right)} from the ENCRYPTION_KEY setting`);

    const none = runCli(["start"], { ...env, PORT: "0", ENCRYPTION_KEY: "" });
    expect(none.status).toBe(1);
    expect(none.stderr).toContain("no encryption key is configured");

    const database = openDatabase(test.target);
    try {
      // Only the first process ever held a lease (and released it on its clean stop).
      const owners = await database.db.selectFrom("store_leases").select("owner").execute();
      expect(new Set(owners.map((o) => o.owner.split(":")[1]))).toEqual(new Set([String(hub.child.pid)]));
    } finally {
      await database.close();
    }
  }, 60_000);
});
