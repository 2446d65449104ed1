/**
 * Issue 13: stores are spread fairly over real `tillbridge start` processes on one PostgreSQL
 * database. With N healthy processes and M stores no process owns more than ⌈M/N⌉ + 1, every
 * store is owned, and a process that joins takes its share without a restart of the others.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { openDatabase } from "../src/db/database.ts";
import { HUB_JOBS_LEASE } from "../src/runtime/leases.ts";
import { createTestDatabase, type TestDatabase } from "./support/databases.ts";
import { createAdminKey, processEnv } from "./support/process-api.ts";
import { startHubProcess } from "./support/processes.ts";
import { emulatedStore } from "./support/shopify.ts";

const STORES = 7;

let emulator: Emulator;
let test: TestDatabase;
beforeAll(async () => {
  emulator = await startEmulator();
  test = await createTestDatabase("postgres");
});
afterAll(async () => {
  await emulator?.close();
  await test?.drop();
});

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => child.once("exit", () => r()));

describe("stores spread over processes", () => {
  it("gives no process more than its share plus one, and a joining process takes its share", async () => {
    const env = processEnv(test.target, emulator.url, 8);
    const key = createAdminKey(env, "spread");
    const hubs = await Promise.all([0, 1].map(() => startHubProcess(env)));
    const database = openDatabase(test.target);
    try {
      const suffix = Date.now().toString(36);
      for (let i = 0; i < STORES; i++) {
        const store = await emulatedStore({
          emulator,
          domain: `spread-${i}-${suffix}.myshopify.com`,
          skus: [`SP-${i}`],
          locations: ["Warehouse"],
        });
        const res = await fetch(`${hubs[i % 2]!.url}/api/v1/stores`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify({ domain: store.domain, accessToken: store.token }),
        });
        expect(res.status, await res.text()).toBe(201);
      }
      /** Stores per live owner pid (the hub-wide jobs' lease is not a store). */
      const owned = async () => {
        const rows = await database.db
          .selectFrom("store_leases")
          .select(["store_id", "owner"])
          .where("expires_at", ">=", Date.now())
          .where("store_id", "!=", HUB_JOBS_LEASE)
          .execute();
        const per = new Map<string, number>();
        for (const r of rows) per.set(r.owner.split(":")[1]!, (per.get(r.owner.split(":")[1]!) ?? 0) + 1);
        return { stores: rows.length, per };
      };
      const settle = async (processes: number) => {
        const share = Math.ceil(STORES / processes);
        const deadline = Date.now() + 30_000;
        for (;;) {
          const o = await owned();
          // Sampled while the fleet settles: never more than the share plus one.
          for (const n of o.per.values()) expect(n).toBeLessThanOrEqual(share + 1);
          if (o.stores === STORES && o.per.size === processes && [...o.per.values()].every((n) => n <= share))
            return o;
          if (Date.now() > deadline)
            throw new Error(`not spread over ${processes}: ${JSON.stringify([...o.per])}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      const two = await settle(2);
      expect([...two.per.keys()].sort()).toEqual(hubs.map((h) => String(h.child.pid)).sort());
      // A third process joins: the others give up their excess, it takes its share.
      hubs.push(await startHubProcess(env));
      const three = await settle(3);
      expect(three.per.get(String(hubs[2]!.child.pid))).toBeGreaterThanOrEqual(1);
    } finally {
      await database.close();
      for (const h of hubs)
        if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill("SIGKILL");
      await Promise.all(hubs.map((h) => exited(h.child)));
    }
  }, 120_000);
});
