/**
 * The console with the keyboard alone, in Debian's chromium against a hub and the Shopify
 * emulator: signing in, connecting a store through the whole wizard to stock arriving in Shopify,
 * and changing a setting, with Tab, Enter, Space, typing and arrow keys only. At every Tab the
 * focused control must be drawn with a visible focus ring (test/support/console-keyboard.ts).
 */
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { createAccount } from "../src/auth/accounts.ts";
import { CHROMIUM, ensureConsoleBuilt, launch, openConsole } from "./support/console-browser.ts";
import { Keyboard } from "./support/console-keyboard.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { type EmulatedStore, emulatedStore, shopifyAvailable } from "./support/shopify.ts";

const DOMAIN = "keys.myshopify.com";

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)("the console with the keyboard alone", () => {
  let emulator: Emulator;
  let hub: TestHub;
  let browser: Browser;
  let store: EmulatedStore;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers
  const call = async (method: "GET" | "PUT" | "POST", url: string, payload?: unknown): Promise<any> =>
    (
      await hub.server.inject({
        method,
        url,
        headers: hub.auth,
        ...(payload ? { payload: payload as never } : {}),
      })
    ).json();

  beforeAll(async () => {
    // A shared 2-core machine can take seconds to answer; polls wait for the page that long.
    vi.setConfig({ expect: { poll: { timeout: 10_000 } } });
    ensureConsoleBuilt();
    emulator = await startEmulator();
    store = await emulatedStore({ emulator, domain: DOMAIN, skus: ["W-1", "W-2"], initial: () => 0 });
    hub = await startTestHub("sqlite", {
      listen: true,
      env: { WORKER: "on", SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}` },
    });
    await call("PUT", "/api/v1/warehouses", { warehouses: [{ code: "MAIN", name: "Main warehouse" }] });
    await call("PUT", "/api/v1/variants", { variants: [{ sku: "W-1" }, { sku: "W-2" }] });
    await call("POST", "/api/v1/movements", {
      movements: [
        {
          id: "k1",
          type: "receipt",
          sku: "W-1",
          warehouse: "MAIN",
          quantity: 9,
          occurredAt: new Date().toISOString(),
        },
      ],
    });
    await createAccount(
      hub.ctx.database.db,
      { username: "ada", password: "correct horse battery", role: "admin", createdBy: "test" },
      Date.now(),
    );
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    vi.resetConfig();
    await browser?.close();
    await hub?.close();
    await emulator?.close();
  });

  it("signs in, connects a store through the wizard and changes a setting with the keyboard alone, the focus always visible", async () => {
    const domain = DOMAIN;
    const second = store;
    const session = await openConsole(browser, `${hub.url}/`);
    const { page } = session;
    const keys = new Keyboard(page);
    await page.getByRole("heading", { name: "Sign in to Tillbridge" }).waitFor();
    await keys.tabTo(page.getByLabel("Username"));
    await keys.type("ada");
    await keys.tabTo(page.getByLabel("Password"));
    await keys.type("correct horse battery");
    await keys.press("Enter");
    await page.getByRole("heading", { name: "Stores", level: 1 }).waitFor();

    await keys.tabTo(page.getByRole("link", { name: "Connect a store" }));
    await keys.press("Enter");
    await keys.tabTo(page.getByLabel("Shop domain"));
    await keys.type("keys");
    await keys.tabTo(page.getByLabel("Admin API access token"));
    await keys.type(second.token);
    await keys.press("Enter");

    await page.getByRole("heading", { name: "Where is each Shopify location's stock?" }).waitFor();
    const select = page.getByLabel(`Warehouse for ${second.locations[0]!.name}`);
    await keys.tabTo(select);
    await keys.type("Main"); // type-ahead picks "Main warehouse (MAIN)"
    expect(await select.inputValue()).toBe("MAIN");
    await keys.tabTo(page.getByRole("button", { name: "Save and continue" }));
    await keys.press("Enter");

    await page.getByRole("heading", { name: "Link the hub's variants to Shopify's" }).waitFor();
    const linked = page.getByRole("button", { name: "Continue" });
    await expect.poll(() => linked.isEnabled(), { timeout: 30_000 }).toBe(true);
    await keys.tabTo(linked);
    await keys.press("Space");
    await page.getByRole("heading", { name: "Dry run: what the hub would change in Shopify" }).waitFor();
    const dryRunDone = page.getByRole("button", { name: "Continue" });
    await expect.poll(() => dryRunDone.isEnabled(), { timeout: 30_000 }).toBe(true);
    await keys.tabTo(dryRunDone);
    await keys.press("Enter");
    await page.getByRole("heading", { name: "How should the hub update Shopify's stock?" }).waitFor();
    await keys.tabTo(page.getByRole("button", { name: "Save and continue" }));
    await keys.press("Enter");
    await page.getByRole("heading", { name: "Which flows should run?" }).waitFor();
    await keys.tabTo(page.getByRole("button", { name: "Save and continue" }));
    await keys.press("Space");
    await page.getByRole("heading", { name: "How long should customers' personal data be kept?" }).waitFor();
    const keep = page.getByLabel("Keep personal data for");
    await keys.tabTo(keep);
    await keys.type("90");
    expect(await keep.inputValue()).toBe("90");
    await keys.tabTo(page.getByRole("button", { name: "Save and finish" }));
    await keys.press("Enter");
    await page.getByRole("heading", { name: `${domain} is set up` }).waitFor();
    // Stock arrives: the hub's 9 units of W-1 at the location mapped to MAIN.
    await expect
      .poll(() => shopifyAvailable(second, "W-1", second.locations[0]!.id), { timeout: 20_000 })
      .toBe(9);

    // A setting, on the store's page.
    await keys.tabTo(page.getByRole("link", { name: "Open the store's page" }));
    await keys.press("Enter");
    // The page is long: its list of sections jumps there (the focus follows).
    await keys.tabTo(
      page
        .getByRole("navigation", { name: "On this page" })
        .getByRole("button", { name: "Shipments and returns" }),
    );
    await keys.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("fulfillment-settings-title");
    const restock = page.getByLabel("Restock rule for refunds");
    await keys.tabTo(restock, { max: 5 });
    await keys.press("ArrowDown");
    expect(await restock.inputValue()).toBe("order_warehouse");
    await keys.tabTo(page.getByRole("button", { name: "Save shipment rules" }));
    await keys.press("Enter");
    await expect.poll(() => page.locator("#fulfillment-settings").textContent()).toContain("Saved.");
    expect((await call("GET", `/api/v1/stores/${domain}/fulfillment-settings`)).restockRule).toBe(
      "order_warehouse",
    );
    expect((await call("GET", `/api/v1/stores/${domain}/order-settings`)).retentionDays).toBe(90);
    console.log(
      `keyboard only: ${keys.tabs} Tab presses, ${keys.keys} other keys (typing a field counts once)`,
    );
    expect(session.problems).toEqual([]);
    await page.context().close();
  }, 120_000);
});
