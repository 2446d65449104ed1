/**
 * Issue 13, seen by the operator: the console's Processes screen over real `tillbridge start`
 * processes on one PostgreSQL database, in Debian's chromium. Two processes share three stores;
 * `kill -9` of one shows it as stopped answering and its stores taken over by the other, with
 * the handover counted; an API-only process (WORKER=off) left alone says that no process runs
 * the workers, on that screen and on the stores page. No page error, no CSP violation, no serious axe violation.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { createAccount } from "../src/auth/accounts.ts";
import { openDatabase } from "../src/db/database.ts";
import { ensureConsoleBuilt, launch, openConsole, screen } from "./support/console-browser.ts";
import { createTestDatabase, type TestDatabase } from "./support/databases.ts";
import { apiCaller, createAdminKey, exited, processEnv } from "./support/process-api.ts";
import { startHubProcess } from "./support/processes.ts";
import { emulatedStore } from "./support/shopify.ts";

const STORES = 3;

/** One sample of a process's /metrics. */
async function gauge(url: string, sample: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : null;
}

describe("the Processes screen over real processes", () => {
  let emulator: Emulator;
  let test: TestDatabase;
  let browser: Awaited<ReturnType<typeof launch>>;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    ensureConsoleBuilt();
    emulator = await startEmulator();
    test = await createTestDatabase("postgres");
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    await Promise.all(children.map(exited));
    await browser?.close();
    await emulator?.close();
    await test?.drop();
  });

  it("shows who works each store, a killed owner's stores taken over, and a hub with no worker", async () => {
    const env = processEnv(test.target, emulator.url, 9);
    const call = apiCaller(createAdminKey(env, "processes"));
    const hubs = await Promise.all([0, 1].map(() => startHubProcess(env)));
    for (const h of hubs) children.push(h.child);
    const database = openDatabase(test.target);
    try {
      await createAccount(
        database.db,
        { username: "ops", password: "processes admin 1", role: "viewer", createdBy: "test" },
        Date.now(),
      );
    } finally {
      await database.close();
    }
    const suffix = Date.now().toString(36);
    const domains: string[] = [];
    for (let i = 0; i < STORES; i++) {
      const store = await emulatedStore({
        emulator,
        domain: `proc-${i}-${suffix}.myshopify.com`,
        skus: [`PR-${i}`],
        locations: ["Warehouse"],
      });
      await call(hubs[0]!, "POST", "/api/v1/stores", { domain: store.domain, accessToken: store.token });
      domains.push(store.domain);
    }

    const [first, second] = hubs as [(typeof hubs)[number], (typeof hubs)[number]];
    const { page, problems } = await openConsole(browser, `${first.url}/`);
    await page.getByLabel("Username").fill("ops");
    await page.getByLabel("Password").fill("processes admin 1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Processes" }).click();
    await page.getByRole("heading", { name: "Processes", level: 1 }).waitFor();

    const row = (kind: "process" | "store", id: string | number) => page.locator(`[data-${kind}="${id}"]`);
    const state = (kind: "process" | "store", id: string | number) =>
      row(kind, id)
        .getAttribute("data-state", { timeout: 1000 })
        .catch(() => null);
    const stateIs = async (kind: "process" | "store", id: string | number, want: string) =>
      expect.poll(() => state(kind, id), { timeout: 30_000, interval: 250 }).toBe(want);

    // Both processes run; every store is worked by one of them; the page says which process answered.
    await stateIs("process", first.child.pid!, "running");
    await stateIs("process", second.child.pid!, "running");
    for (const d of domains) await stateIs("store", d, "worked");
    expect(await row("process", first.child.pid!).textContent()).toContain("answered this page");
    expect(await row("process", second.child.pid!).textContent()).not.toContain("answered this page");
    const heldBy = async (d: string) => (await row("store", d).locator("td").nth(2).textContent()) ?? "";
    const owners = await Promise.all(domains.map(heldBy));
    for (const o of owners) expect(o).toMatch(new RegExp(`pid (${first.child.pid}|${second.child.pid})$`));
    expect(await page.locator("#fleet-problems").count()).toBe(0);
    // /metrics counts it for alerts (no store names: it needs no authentication).
    expect(await gauge(second.url, 'tillbridge_worker_processes{state="running"}')).toBe(2);
    expect(await gauge(second.url, 'tillbridge_stores_by_work_state{state="worked"}')).toBe(STORES);
    expect(await screen(page, "processes")).toEqual([]);

    // kill -9 of the second: it stops answering, the first takes every store, each handover counted.
    const moved = domains.filter((_, i) => owners[i]!.endsWith(`pid ${second.child.pid}`));
    second.child.kill("SIGKILL");
    await exited(second.child);
    await stateIs("process", second.child.pid!, "not_responding");
    for (const d of domains) {
      await stateIs("store", d, "worked");
      await expect.poll(() => heldBy(d), { timeout: 30_000 }).toMatch(new RegExp(`pid ${first.child.pid}$`));
    }
    for (const d of moved)
      expect(await row("store", d).locator("td").nth(4).textContent()).toMatch(/^(once|\d+ times)$/);
    expect(await row("process", second.child.pid!).textContent()).toContain("stopped answering");

    // The first stops cleanly; an API-only process is left: nothing works the stores, and it says so.
    first.child.kill("SIGTERM");
    await exited(first.child);
    const apiOnly = await startHubProcess({ ...env, WORKER: "off" });
    children.push(apiOnly.child);
    await page.goto(`${apiOnly.url}/console/#/processes`);
    // The session lives in the shared database (and the cookie ignores the port): still signed in.
    await page.getByRole("heading", { name: "Processes", level: 1 }).waitFor();
    const warning = page.locator('#fleet-problems [data-problem="NO_WORKER"]');
    await warning.waitFor({ timeout: 30_000 });
    expect(await warning.textContent()).toContain(
      `No process runs the workers: stock, orders and shipments of ${STORES} stores wait`,
    );
    expect(await row("process", first.child.pid!).count()).toBe(0); // a clean stop leaves no entry
    expect(await page.getByText("answered this page").count()).toBe(0);
    expect(await gauge(apiOnly.url, 'tillbridge_worker_processes{state="running"}')).toBe(0);
    expect(await gauge(apiOnly.url, 'tillbridge_stores_by_work_state{state="waiting"}')).toBe(STORES);
    expect(await screen(page, "processes-no-worker")).toEqual([]);
    // The stores page, where an operator lands, says it too and leads here.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Stores" }).click();
    const banner = page.locator("#no-worker");
    await banner.waitFor({ timeout: 30_000 });
    expect(await banner.textContent()).toContain("No process runs the workers");
    await banner.getByRole("link", { name: "See the processes" }).click();
    await page.getByRole("heading", { name: "Processes", level: 1 }).waitFor();
    expect(problems).toEqual([]);
  }, 180_000);
});
