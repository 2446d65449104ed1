/**
 * The catalog publish screen in Debian's chromium: an operator signs in, sees a rule error with
 * its code next to the field, saves the rules (write descriptions on create only, truncate long
 * titles) with the keyboard, runs a dry run and reads per product what would be created and what
 * is refused and why, then after publishing sees each product's state with Shopify's error, and
 * the store's price lists with their publish state (a group's price not sent for a product that is
 * not in the store). No
 * page error, no CSP violation, no serious axe violation; screenshots in test-artifacts/console.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { createAccount } from "../src/auth/accounts.ts";
import { BULK_PUBLISH } from "../src/catalog/publish/bulk-publish.ts";
import { ensureConsoleBuilt, launch, openConsole, screen } from "./support/console-browser.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { emulatedStore } from "./support/shopify.ts";

const DOMAIN = "publish-console.myshopify.com";

describe("the catalog publish screen", () => {
  let emulator: Emulator;
  let hub: TestHub;
  let browser: Awaited<ReturnType<typeof launch>>;

  beforeAll(async () => {
    ensureConsoleBuilt();
    emulator = await startEmulator();
    const store = await emulatedStore({ emulator, domain: DOMAIN, skus: [] });
    hub = await startTestHub("sqlite", {
      listen: true,
      env: { WORKER: "on", SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}` },
    });
    const connected = await hub.server.inject({
      method: "POST",
      url: "/api/v1/stores",
      headers: hub.auth,
      payload: { domain: DOMAIN, accessToken: store.token },
    });
    expect(connected.statusCode, connected.body).toBe(201);
    const put = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/products",
      headers: hub.auth,
      payload: {
        products: [
          { key: "lamp", title: "Desk lamp", vendor: "Lumen", variants: [{ sku: "LAMP-1", price: "49.00" }] },
          {
            key: "long",
            title: "A".repeat(250),
            vendor: "Very long vendor name",
            variants: [{ sku: "LONG-1", price: "5.00" }],
          },
        ],
      },
    });
    expect(put.statusCode, put.body).toBe(200);
    await createAccount(
      hub.ctx.database.db,
      { username: "paula", password: "publish operator 1", role: "operator", createdBy: "test" },
      Date.now(),
    );
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    await emulator?.close();
  });

  it("edits the rules, runs a dry run and shows each product's outcome and state", async () => {
    const threshold = BULK_PUBLISH.threshold;
    BULK_PUBLISH.threshold = 1;
    onTestFinished(() => {
      BULK_PUBLISH.threshold = threshold;
    });
    const { page, problems } = await openConsole(browser, `${hub.url}/`);
    await page.getByLabel("Username").fill("paula");
    await page.getByLabel("Password").fill("publish operator 1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Stores", level: 1 }).waitFor();
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Publish", exact: true })
      .click();
    await page.getByRole("heading", { name: "Catalog publish", level: 1 }).waitFor();
    await expect.poll(() => page.getByLabel("Store", { exact: true }).inputValue()).toBe(DOMAIN);

    // A template without {title} is refused; the code shows next to the field.
    const template = page.getByLabel("Title in Shopify");
    await template.fill("{vendor}");
    await page.getByRole("button", { name: "Save the rules" }).click();
    await expect
      .poll(() => page.locator("#pub-title-template-error").textContent())
      .toContain("INVALID_FIELD");
    expect(await template.getAttribute("aria-invalid")).toBe("true");

    await template.fill("{title} {vendor}");
    // The keyboard alone chooses a field's mode.
    const description = page.getByLabel("Description", { exact: true });
    await description.focus();
    await description.selectOption("create_only");
    await page.getByRole("button", { name: "Save the rules" }).press("Enter");
    await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();

    await page.getByRole("button", { name: "Run a dry run" }).click();
    await expect
      .poll(() => page.locator("#pub-dry-summary").textContent(), { timeout: 20_000 })
      .toContain("2 products: 1 to create, 0 to update, 0 unchanged, 1 refused.");
    await expect
      .poll(() => page.locator('#pub-dry-rows tr[data-key="long"]').textContent())
      .toContain("TITLE_TOO_LONG");
    await expect
      .poll(() => page.locator('#pub-dry-rows tr[data-key="lamp"]').textContent())
      .toContain("title: — → Desk lamp Lumen");
    expect(await screen(page, "publish-dry-run")).toEqual([]);

    // Enable on the API (the store page's flow table does it too) and watch the states.
    const enabled = await hub.server.inject({
      method: "POST",
      url: `/api/v1/stores/${DOMAIN}/flows/catalog_publish/enable`,
      headers: hub.auth,
    });
    expect(enabled.statusCode, enabled.body).toBe(200);
    await expect
      .poll(() => page.locator('#pub-states tr[data-key="lamp"]').getAttribute("data-status"), {
        timeout: 20_000,
      })
      .toBe("done");
    await expect
      .poll(() => page.locator('#pub-states tr[data-key="long"]').textContent())
      .toContain("TITLE_TOO_LONG");
    // The first publish went as a bulk operation (the threshold is lowered for this test).
    await expect
      .poll(() => page.locator('#pub-bulk-runs tr[data-phase="products"]').getAttribute("data-status"))
      .toBe("done");
    expect(await page.getByRole("button", { name: "Retry long" }).isVisible()).toBe(true);
    expect(await screen(page, "publish-states")).toEqual([]);

    // Price groups: the store's price lists with their publish state (the worker sends them).
    const groups = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/price-groups",
      headers: hub.auth,
      payload: { groups: [{ code: "B2B", name: "Wholesale", currency: "EUR" }] },
    });
    expect(groups.statusCode, groups.body).toBe(200);
    const prices = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/price-groups/B2B/prices",
      headers: hub.auth,
      payload: {
        prices: [
          { sku: "LAMP-1", price: "39.00", currency: "EUR" },
          { sku: "LONG-1", price: "4.00", currency: "EUR" },
        ],
      },
    });
    expect(prices.statusCode, prices.body).toBe(200);
    const row = page.locator('#price-lists tr[data-code="B2B"]');
    await expect.poll(() => row.getAttribute("data-state"), { timeout: 20_000 }).toBe("in_sync");
    const cells = await row.locator("td").allTextContents();
    expect(cells.slice(0, 6)).toEqual(["B2BWholesale", "EUR", "in sync", "1 of 1", "0", "1"]);
    expect(await screen(page, "publish-price-lists")).toEqual([]);

    // With the flow paused, a changed group price shows in the dry run as old → new.
    const paused = await hub.server.inject({
      method: "POST",
      url: `/api/v1/stores/${DOMAIN}/flows/catalog_publish/pause`,
      headers: hub.auth,
    });
    expect(paused.statusCode, paused.body).toBe(200);
    const changed = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/price-groups/B2B/prices",
      headers: hub.auth,
      payload: { prices: [{ sku: "LAMP-1", price: "37.00", currency: "EUR" }] },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    await page.getByRole("button", { name: "Run a dry run" }).click();
    const dryList = page.locator('#pub-dry-price-lists tr[data-code="B2B"]');
    await expect.poll(() => dryList.getAttribute("data-outcome"), { timeout: 20_000 }).toBe("update");
    expect(await dryList.textContent()).toContain("LAMP-1: 39.00 → 37.00");
    expect(await dryList.textContent()).toContain("0 to set, 1 to change, 0 to remove");
    expect(await screen(page, "publish-dry-run-price-lists")).toEqual([]);
    expect(problems).toEqual([]);
  });
});
