/**
 * Kills the hub process (SIGKILL, no chance to clean up) while batches are being ingested and
 * shows that every batch is either fully present or absent, and every stock level still equals
 * a replay of its ledger.
 */
import { describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../src/db/database.ts";
import { compareEntries, type Entry, replay } from "../src/inventory/ledger.ts";
import { createTestDatabase, DIALECTS } from "./support/databases.ts";
import { runCli, startHubProcess } from "./support/processes.ts";

const BATCH = 200;

async function checkLedger(database: Database) {
  const db = database.db;
  const movements = await db.selectFrom("movements").select("external_id").execute();
  const perBatch = new Map<string, number>();
  for (const m of movements) {
    const batch = m.external_id.split("-")[0]!;
    perBatch.set(batch, (perBatch.get(batch) ?? 0) + 1);
  }
  for (const [batch, count] of perBatch) expect({ batch, count }).toEqual({ batch, count: BATCH });
  const entries = await db.selectFrom("ledger_entries").selectAll().execute();
  const transfers = await db.selectFrom("movements").select("id").where("type", "=", "transfer").execute();
  expect(entries.length).toBe(movements.length + transfers.length);
  for (const level of await db.selectFrom("stock_levels").selectAll().execute()) {
    const mine: Entry[] = entries
      .filter((e) => e.variant_id === level.variant_id && e.warehouse_id === level.warehouse_id)
      .map((e) => ({ kind: e.kind, quantity: e.quantity, occurredAt: e.occurred_at, seq: e.movement_id }))
      .sort(compareEntries);
    expect(level.on_hand).toBe(replay(mine).onHand);
  }
  return perBatch.size;
}

describe.each(DIALECTS)("a hub killed mid-ingest on %s", (dialect) => {
  it("leaves every batch fully present or absent", async () => {
    const test = await createTestDatabase(dialect);
    const env = {
      DATABASE_URL: test.target.kind === "sqlite" ? test.target.path : test.target.url,
      DEMO: "off",
      ENCRYPTION_KEY: Buffer.alloc(32, 1).toString("base64"),
    };
    try {
      const created = runCli(["api-key", "create", "--name", "crash-test", "--scope", "admin"], env);
      expect(created.status, created.stderr).toBe(0);
      const key = created.stdout.trim().split("\n").pop()!;
      const { child, url } = await startHubProcess(env);
      const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
      const put = (path: string, body: unknown) =>
        fetch(`${url}${path}`, { method: "PUT", headers, body: JSON.stringify(body) });
      expect(
        (
          await put("/api/v1/warehouses", {
            warehouses: [
              { code: "W1", name: "One" },
              { code: "W2", name: "Two" },
            ],
          })
        ).status,
      ).toBe(200);
      expect(
        (
          await put("/api/v1/variants", {
            variants: Array.from({ length: 50 }, (_, i) => ({ sku: `S${i}` })),
          })
        ).status,
      ).toBe(200);

      let acknowledged = 0;
      let killed = false;
      let n = 0;
      const sender = async () => {
        for (;;) {
          const b = n++;
          const movements = Array.from({ length: BATCH }, (_, i) => ({
            id: `b${b}-${i}`,
            type: i % 7 === 0 ? "count" : i % 5 === 0 ? "transfer" : i % 2 ? "receipt" : "sale",
            sku: `S${(b * 7 + i) % 50}`,
            warehouse: "W1",
            ...(i % 5 === 0 && i % 7 !== 0 ? { toWarehouse: "W2" } : {}),
            quantity: i % 7 === 0 ? 40 + (i % 9) : i % 5 === 0 ? 2 : i % 2 ? 3 : -1,
            occurredAt: new Date(Date.UTC(2026, 10, 1) + ((b * 13 + i * 31) % 10_000) * 60_000).toISOString(),
          }));
          try {
            const res = await fetch(`${url}/api/v1/movements`, {
              method: "POST",
              headers,
              body: JSON.stringify({ movements }),
            });
            if (res.status !== 200) throw new Error(`batch ${b}: ${res.status} ${await res.text()}`);
            acknowledged++;
          } catch (err) {
            if (killed) return;
            throw err;
          }
        }
      };
      let failure: unknown;
      const senders = [sender(), sender(), sender()].map((p) => p.catch((err) => (failure = err)));
      // Kill once a few batches have landed, while others are in flight.
      while (acknowledged < 6 && failure === undefined) await new Promise((r) => setTimeout(r, 20));
      if (failure) throw failure;
      killed = true;
      child.kill("SIGKILL");
      await Promise.all(senders);
      if (child.exitCode === null && child.signalCode === null)
        await new Promise((r) => child.once("exit", r));

      const database = openDatabase(test.target);
      try {
        const batches = await checkLedger(database);
        expect(batches).toBeGreaterThanOrEqual(acknowledged);
      } finally {
        await database.close();
      }
    } finally {
      await test.drop();
    }
  }, 90_000);
});
