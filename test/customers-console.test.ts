/**
 * The customers screen in Debian's chromium: an operator picks the store and reads each
 * customer's publish state (published with its Shopify customer and company, refused with
 * Shopify's error and the field) and may retry a refused one; a viewer sees the same list
 * without any action. No page error, no CSP violation, no serious axe violation; screenshots in
 * test-artifacts/console.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { createAccount } from "../src/auth/accounts.ts";
import { ensureConsoleBuilt, launch, openConsole, screen } from "./support/console-browser.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { emulatedStore } from "./support/shopify.ts";

const DOMAIN = "customers-console.myshopify.com";

describe("the customers screen", () => {
  let emulator: Emulator;
  let hub: TestHub;
  let browser: Awaited<ReturnType<typeof launch>>;

  beforeAll(async () => {
    ensureConsoleBuilt();
    emulator = await startEmulator();
    const store = await emulatedStore({ emulator, domain: DOMAIN, skus: ["CUP"] });
    // Two customers Shopify made for orders: the hub's Ivo is found by email, his phone is Olga's.
    for (const customer of [
      { email: "ivo@example.com" },
      { email: "olga@example.com", phone: "+4917088888888" },
    ])
      emulator.control.placeOrder(DOMAIN, {
        lineItems: [{ sku: "CUP", quantity: 1, price: "5.00" }],
        email: customer.email,
        customer,
      });
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
      url: "/api/v1/customers",
      headers: hub.auth,
      payload: {
        customers: [
          {
            key: "B-1",
            email: "fay@acme.example",
            firstName: "Fay",
            companyName: "Acme GmbH",
            companyKey: "DEB-1",
          },
          { key: "C-7", email: "ivo@example.com", phone: "+4917088888888", firstName: "Ivo" },
        ],
      },
    });
    expect(put.statusCode, put.body).toBe(200);
    const enabled = await hub.server.inject({
      method: "POST",
      url: `/api/v1/stores/${DOMAIN}/flows/customer_publish/enable`,
      headers: hub.auth,
    });
    expect(enabled.statusCode, enabled.body).toBe(200);
    const now = Date.now();
    await createAccount(
      hub.ctx.database.db,
      { username: "olaf", password: "customers operator 1", role: "operator", createdBy: "test" },
      now,
    );
    await createAccount(
      hub.ctx.database.db,
      { username: "vera", password: "customers viewer 1", role: "viewer", createdBy: "test" },
      now,
    );
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    await emulator?.close();
  });

  const signIn = async (username: string, password: string) => {
    const opened = await openConsole(browser, `${hub.url}/`);
    const { page } = opened;
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Stores", level: 1 }).waitFor();
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Customers", exact: true })
      .click();
    await page.getByRole("heading", { name: "Customers", level: 1 }).waitFor();
    await expect.poll(() => page.getByLabel("Store", { exact: true }).inputValue()).toBe(DOMAIN);
    return opened;
  };

  it("an operator sees each customer's state and Shopify's error, and may retry a refused one", async () => {
    const { page, problems } = await signIn("olaf", "customers operator 1");
    const row = (key: string) => page.locator(`#cust-list tr[data-key="${key}"]`);
    await expect.poll(() => row("B-1").getAttribute("data-status"), { timeout: 20_000 }).toBe("published");
    expect(await row("B-1").textContent()).toContain("Acme GmbH");
    expect(await row("B-1").textContent()).toContain("key DEB-1");
    expect(await row("B-1").textContent()).toMatch(/company \d+/);
    await expect.poll(() => row("C-7").getAttribute("data-status"), { timeout: 20_000 }).toBe("refused");
    expect(await row("C-7").textContent()).toContain("SHOPIFY_USER_ERRORS (input.phone)");
    expect(await row("C-7").textContent()).toContain("Phone has already been taken");
    // The Shopify customer found by email is named, so the operator knows which one to look at.
    expect(await row("C-7").textContent()).toMatch(/customer \d+/);
    expect(await row("C-7").textContent()).toContain("1 attempt");

    // The status filter narrows the list to the refused one.
    await page.getByLabel("Status").selectOption("refused");
    await expect.poll(() => page.locator("#cust-list tbody tr[data-key]").count()).toBe(1);
    // Search by company finds the published one.
    await page.getByLabel("Status").selectOption("");
    await page.getByLabel("Find", { exact: true }).fill("acme");
    await page.getByRole("button", { name: "Find", exact: true }).click();
    await expect
      .poll(() =>
        page
          .locator("#cust-list tbody tr[data-key]")
          .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-key"))),
      )
      .toEqual(["B-1"]);
    await page.getByLabel("Find", { exact: true }).fill("");
    await page.getByRole("button", { name: "Find", exact: true }).click();
    await expect.poll(() => page.locator("#cust-list tbody tr[data-key]").count()).toBe(2);
    const retry = page.getByRole("button", { name: "Retry C-7" });
    expect(await retry.isVisible()).toBe(true);
    expect(await screen(page, "customers-operator")).toEqual([]);
    // Retried, Shopify is asked again (and refuses again: the phone is still Olga's).
    const sets = () =>
      emulator.control.apiCalls(DOMAIN).filter((c) => c.rootFields.includes("customerSet")).length;
    const before = sets();
    await retry.click();
    await expect.poll(sets, { timeout: 20_000 }).toBeGreaterThan(before);
    await expect.poll(() => row("C-7").getAttribute("data-status"), { timeout: 20_000 }).toBe("refused");
    expect(problems).toEqual([]);
  }, 90_000);

  it("a viewer sees the list without any action", async () => {
    const { page, problems } = await signIn("vera", "customers viewer 1");
    const row = (key: string) => page.locator(`#cust-list tr[data-key="${key}"]`);
    await expect.poll(() => row("C-7").getAttribute("data-status"), { timeout: 20_000 }).toBe("refused");
    expect(await page.locator("#cust-list button").count()).toBe(0);
    expect(await screen(page, "customers-viewer")).toEqual([]);
    expect(problems).toEqual([]);
  });
});
