/**
 * The operator console (console/, built into dist/console) in Debian's chromium against a hub on a
 * real port and the Shopify emulator: first sign-in, the whole onboarding wizard from an empty
 * hub to stock arriving in Shopify, the flows, settings and their audit trail, failures, orders,
 * a viewer who can change nothing, and the lag chart. Each main screen is screenshotted into
 * test-artifacts/console/ and checked with axe-core (no serious or critical violation).
 */
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import {
  CHROMIUM,
  type ConsolePage,
  Effort,
  ensureConsoleBuilt,
  launch,
  openConsole,
  screen,
} from "./support/console-browser.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { type EmulatedStore, emulatedStore, shopifyAvailable } from "./support/shopify.ts";

const DOMAIN = "wizard.myshopify.com";

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)("operator console", () => {
  let emulator: Emulator;
  let hub: TestHub;
  let browser: Browser;
  let store: EmulatedStore;
  let admin: ConsolePage;
  const a11y: Record<string, string[]> = {};
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers
  const call = async (method: "GET" | "POST" | "PUT", url: string, payload?: unknown): Promise<any> => {
    const res = await hub.server.inject({
      method,
      url,
      headers: hub.auth,
      ...(payload ? { payload: payload as never } : {}),
    });
    return res.json();
  };
  const shot = async (page: Page, name: string) => {
    a11y[name] = await screen(page, name);
  };

  beforeAll(async () => {
    ensureConsoleBuilt();
    emulator = await startEmulator();
    // The back office's catalogue: W-1 and W-2 are in both; W-3 only in Shopify (a link problem).
    store = await emulatedStore({
      emulator,
      domain: DOMAIN,
      skus: ["W-1", "W-2", "W-3"],
      initial: (sku) => (sku === 0 ? 4 : 0),
    });
    hub = await startTestHub("sqlite", {
      listen: true,
      env: { WORKER: "on", SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}` },
    });
    await call("PUT", "/api/v1/warehouses", { warehouses: [{ code: "MAIN", name: "Main warehouse" }] });
    await call("PUT", "/api/v1/variants", { variants: [{ sku: "W-1" }, { sku: "W-2" }] });
    await call("POST", "/api/v1/movements", {
      movements: [
        {
          id: "w1",
          type: "receipt",
          sku: "W-1",
          warehouse: "MAIN",
          quantity: 9,
          occurredAt: new Date().toISOString(),
        },
      ],
    });
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    for (const [name, v] of Object.entries(a11y)) if (v.length) console.log(`axe ${name}:`, v);
    await browser?.close();
    await hub?.close();
    await emulator?.close();
  });

  it("creates the first account on the hub's own machine and signs in with it", async () => {
    admin = await openConsole(browser, `${hub.url}/`);
    const { page } = admin;
    await page.getByRole("heading", { name: "Create the first account" }).waitFor();
    await shot(page, "01-first-account");
    await page.getByLabel("Username").fill("ada");
    await page.getByLabel("Password", { exact: true }).fill("correct horse battery");
    await page.getByLabel("Password again").fill("correct horse battery");
    await page.getByRole("button", { name: "Create account and sign in" }).click();
    await page.getByRole("heading", { name: "Stores", level: 1 }).waitFor();
    await expect.poll(() => page.locator("main").textContent()).toContain("No store is connected yet");
    // Signing out and in again with the new account.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to Tillbridge" }).waitFor();
    await page.getByLabel("Username").fill("ada");
    await page.getByLabel("Password").fill("wrong password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.locator("#signin-error").textContent()).toContain("INVALID_CREDENTIALS");
    await shot(page, "02-sign-in");
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Stores", level: 1 }).waitFor();
    expect(admin.problems).toEqual([]);
    expect(a11y["01-first-account"]).toEqual([]);
    expect(a11y["02-sign-in"]).toEqual([]);
  });

  it("connects a store through the wizard alone, from an empty hub to stock arriving in Shopify", async () => {
    const { page } = admin;
    const you = new Effort();
    const warehouseLocation = store.locations[0]!;
    await you.click(page.getByRole("link", { name: "Connect a store" }));
    await page.getByRole("heading", { name: "Connect your Shopify store" }).waitFor();
    // The exact scopes are listed before anything is pasted.
    expect(await page.locator("#required-scopes").textContent()).toContain("write_inventory");
    await you.fill(page.getByLabel("Shop domain"), "wizard");
    await you.fill(page.getByLabel("Admin API access token"), "shpat_wrong");
    await you.click(page.getByRole("button", { name: "Connect" }));
    // A refused token is named next to its field, with the code.
    await expect
      .poll(() => page.locator("#access-token-error").textContent())
      .toContain("INVALID_SHOPIFY_TOKEN");
    await shot(page, "03-wizard-connect");
    await you.fill(page.getByLabel("Admin API access token"), store.token);
    await you.click(page.getByRole("button", { name: "Connect" }));

    // Locations: Shopify's list beside the hub's warehouses.
    await page.getByRole("heading", { name: "Where is each Shopify location's stock?" }).waitFor();
    const select = page.getByLabel(`Warehouse for ${warehouseLocation.name}`);
    await you.select(select, "MAIN");
    await shot(page, "04-wizard-locations");
    await you.click(page.getByRole("button", { name: "Save and continue" }));

    // Linking runs by itself; the problem is listed with what to do.
    await page.getByRole("heading", { name: "Link the hub's variants to Shopify's" }).waitFor();
    await expect
      .poll(() => page.locator("#link-summary").textContent(), { timeout: 15_000 })
      .toContain("2 variants linked");
    expect(await page.locator("main table").textContent()).toContain("add it in the back office");
    await shot(page, "05-wizard-link");
    await you.click(page.getByRole("button", { name: "Continue" }));

    // Dry run: table, totals, filter, CSV.
    await page.getByRole("heading", { name: "Dry run: what the hub would change in Shopify" }).waitFor();
    await page.locator("#dry-run-table").waitFor({ timeout: 15_000 });
    const table = page.locator("#dry-run-table tbody");
    await expect.poll(() => table.textContent()).toContain("W-1");
    await page.getByLabel("Filter by SKU or location").fill("W-2");
    await expect.poll(() => table.locator("tr").count()).toBe(1);
    await page.getByLabel("Filter by SKU or location").fill("");
    const download = page.waitForEvent("download");
    await page.getByRole("link", { name: /Download CSV/ }).click();
    const csv = await (await download).path();
    expect(csv).toBeTruthy();
    expect(await page.locator(".totals").textContent()).toContain("Difference");
    await shot(page, "06-wizard-dry-run");
    await you.click(page.getByRole("button", { name: "Continue" }));

    // Mode: delta first, with the initial sync of the differences.
    await page.getByRole("heading", { name: "How should the hub update Shopify's stock?" }).waitFor();
    expect(await page.locator("main").textContent()).toContain("Absolute");
    await shot(page, "07-wizard-mode");
    await you.click(page.getByRole("button", { name: "Save and continue" }));

    // Flows: the inventory push is proposed.
    await page.getByRole("heading", { name: "Which flows should run?" }).waitFor();
    expect(await page.getByLabel("Inventory push").isChecked()).toBe(true);
    await shot(page, "08-wizard-flows");
    await you.click(page.getByRole("button", { name: "Save and continue" }));

    // Personal data: how long customers' data is kept.
    await page.getByRole("heading", { name: "How long should customers' personal data be kept?" }).waitFor();
    await you.select(page.getByLabel("Keep personal data for"), "180");
    await shot(page, "09-wizard-personal-data");
    await you.click(page.getByRole("button", { name: "Save and finish" }));

    await page.getByRole("heading", { name: `${DOMAIN} is set up` }).waitFor();
    const pushRow = page.locator('tr[data-flow="inventory_push"]');
    await expect.poll(() => pushRow.textContent()).toContain("running");
    await shot(page, "10-wizard-done");
    console.log(`onboarding wizard: ${you.clicks} clicks, ${you.fields} fields filled or chosen`);

    // Stock arrives in Shopify: the initial sync sent the hub's 9, and a new receipt follows.
    await expect
      .poll(() => shopifyAvailable(store, "W-1", warehouseLocation.id), { timeout: 20_000 })
      .toBe(9);
    await call("POST", "/api/v1/movements", {
      movements: [
        {
          id: "w2",
          type: "receipt",
          sku: "W-2",
          warehouse: "MAIN",
          quantity: 5,
          occurredAt: new Date().toISOString(),
        },
      ],
    });
    await expect
      .poll(() => shopifyAvailable(store, "W-2", warehouseLocation.id), { timeout: 20_000 })
      .toBe(5);
    const settings = await call("GET", `/api/v1/stores/${DOMAIN}/order-settings`);
    expect(settings.retentionDays).toBe(180);
    expect(admin.problems).toEqual([]);
    for (const name of Object.keys(a11y)) expect(a11y[name], name).toEqual([]);
  }, 90_000);
});
