/**
 * The operator console (console/, built into dist/console) in Debian's chromium against a hub on a
 * real port and the Shopify emulator: first sign-in, the whole onboarding wizard from an empty
 * hub to stock arriving in Shopify, the flows, settings and their audit trail, failures, orders,
 * a viewer who can change nothing, and the lag chart. Each main screen is screenshotted into
 * test-artifacts/console/ and checked with axe-core (no serious or critical violation).
 */
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { importOrder } from "../src/orders/intake.ts";
import { fromWebhookPayload } from "../src/orders/shopify-order.ts";
import { sampleSeries } from "../src/shops/series.ts";
import {
  ARTIFACTS,
  CHROMIUM,
  type ConsolePage,
  Effort,
  ensureConsoleBuilt,
  launch,
  openConsole,
  screen,
} from "./support/console-browser.ts";
import { insertOrders } from "./support/console-data.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { type EmulatedStore, emulatedStore, shopifyAvailable } from "./support/shopify.ts";

const DOMAIN = "wizard.myshopify.com";
const nav = (page: Page, name: string) =>
  page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true });

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)("operator console", () => {
  let emulator: Emulator;
  let hub: TestHub;
  let browser: Browser;
  let store: EmulatedStore;
  let admin: ConsolePage;
  const a11y: Record<string, string[]> = {};
  let orderId = 0;
  const call = async (
    method: "GET" | "POST" | "PUT" | "PATCH",
    url: string,
    payload?: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers
  ): Promise<any> => {
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
    // A shared 2-core machine can take seconds to answer; polls wait for the page that long.
    vi.setConfig({ expect: { poll: { timeout: 10_000 } } });
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
      env: {
        WORKER: "on",
        SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}`,
        // The back office of the dead-letter test listens on plain http on loopback.
        TEST_ONLY_PLAIN_HTTP_OUTBOUND: "on",
      },
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
    vi.resetConfig();
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

    // Linking runs by itself; the problem is listed with what to do. Leaving and coming back
    // (a reload) resumes at the step the store's state says.
    const linkHeading = page.getByRole("heading", { name: "Link the hub's variants to Shopify's" });
    await linkHeading.waitFor();
    await page.reload();
    // Linking may have finished meanwhile (then the store's state says: dry run next); the
    // linking step stays reachable from the step list.
    const dryRunHeading = page.getByRole("heading", {
      name: "Dry run: what the hub would change in Shopify",
    });
    await linkHeading.or(dryRunHeading).waitFor({ timeout: 60_000 });
    // (the step list's earlier steps are buttons)
    if (await dryRunHeading.isVisible()) await page.getByRole("button", { name: "3. Linking" }).click();
    await linkHeading.waitFor();
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
    // One deliberate wrong token above cost a field and a click: the straight path is one less of each.
    console.log(
      `onboarding wizard: ${you.clicks} clicks, ${you.fields} fields filled or chosen (straight path: ${you.clicks - 1} clicks, ${you.fields - 1} fields)`,
    );

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
  it("names the scopes a pasted token lacks, refuses the flows that need them, and disconnects the store from its page", async () => {
    const { page } = admin;
    const domain = "limited.myshopify.com";
    const app = emulator.control.createApp({
      name: "Limited",
      scopes: ["read_products", "read_locations", "read_inventory", "write_inventory"],
    });
    emulator.control.createShop({ domain, plan: "standard" });
    emulator.control.createLocation(domain, { name: "Back room" });
    const { accessToken } = emulator.control.mintToken({ shop: domain, clientId: app.clientId });
    await nav(page, "Stores").click();
    await page.getByRole("link", { name: "Connect a store" }).click();
    await page.getByLabel("Shop domain").fill(domain);
    await page.getByLabel("Admin API access token").fill(accessToken);
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByRole("heading", { name: "Connected, with scopes missing" }).waitFor();
    const missing = (await page.locator("main").textContent()) ?? "";
    expect(missing).toContain("Order intake needs");
    expect(missing).toContain("read_orders");
    expect(missing).toContain("Fulfillment push needs");
    await shot(page, "10b-wizard-missing-scopes");
    await page.getByRole("button", { name: "Continue without them" }).click();
    await page.getByRole("heading", { name: "Where is each Shopify location's stock?" }).waitFor();
    const refused = await call("POST", `/api/v1/stores/${domain}/flows/order_intake/enable`);
    expect(refused.error.code).toBe("MISSING_SCOPE");
    // An admin disconnects it from its page, with a reason.
    await page.getByRole("link", { name: "store page" }).click();
    await page.getByRole("button", { name: "Disconnect this store…" }).click();
    await page.getByLabel("Why (kept in the store's log)").fill("test store");
    await page.getByRole("button", { name: "Disconnect", exact: true }).click();
    await expect
      .poll(async () => (await call("GET", `/api/v1/stores/${domain}`)).status)
      .toBe("disconnected");
    await expect.poll(() => page.locator("main").textContent()).toContain("test store");
    expect(admin.problems).toEqual([]);
    expect(a11y["10b-wizard-missing-scopes"]).toEqual([]);
  });

  it("pauses and resumes each flow from the stores overview, and a paused push sends nothing", async () => {
    const { page } = admin;
    await nav(page, "Stores").click();
    await page.getByRole("heading", { name: "Stores", level: 1 }).waitFor();
    const row = (flow: string) => page.locator(`section[data-store="${DOMAIN}"] tr[data-flow="${flow}"]`);
    const db = hub.ctx.database.db;
    const { id: storeId } = await db
      .selectFrom("stores")
      .select("id")
      .where("domain", "=", DOMAIN)
      .executeTakeFirstOrThrow();
    const state = async (flow: string) =>
      (
        await db
          .selectFrom("flows")
          .select("state")
          .where("store_id", "=", storeId)
          .where("flow", "=", flow as never)
          .executeTakeFirstOrThrow()
      ).state;
    // Every flow the store lists (the catalog flows too, as they arrive), read from the page.
    await expect
      .poll(() => page.locator(`section[data-store="${DOMAIN}"] tr[data-flow]`).count())
      .toBeGreaterThan(2);
    const flows = await page
      .locator(`section[data-store="${DOMAIN}"] tr[data-flow]`)
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-flow")!));
    expect(flows).toEqual(expect.arrayContaining(["inventory_push", "order_intake", "fulfillment_push"]));
    const enabledHere = flows.filter((f) => f !== "inventory_push");
    // What a flow asks for before it may be enabled (the error on its row names it).
    const before: Record<string, () => Promise<unknown>> = {
      catalog_publish: () =>
        call("POST", `/api/v1/stores/${DOMAIN}/catalog-publish/dry-run?waitSeconds=20`, {}),
    };
    for (const flow of enabledHere) {
      await before[flow]?.();
      await row(flow)
        .getByRole("button", { name: /^Enable/ })
        .click();
      await expect.poll(() => row(flow).textContent()).toContain("running");
      expect(await state(flow)).toBe("enabled");
    }
    await shot(page, "11-stores-overview");
    for (const flow of flows) {
      await row(flow)
        .getByRole("button", { name: /^Pause/ })
        .click();
      await expect.poll(() => row(flow).textContent()).toContain("paused");
      expect(await state(flow)).toBe("paused");
      if (flow === "inventory_push") {
        // While paused, a receipt waits in the backlog (shown without reload) and Shopify keeps its value.
        const location = store.locations[0]!.id;
        const before = shopifyAvailable(store, "W-2", location);
        await call("POST", "/api/v1/movements", {
          movements: [
            {
              id: "paused-1",
              type: "receipt",
              sku: "W-2",
              warehouse: "MAIN",
              quantity: 2,
              occurredAt: new Date().toISOString(),
            },
          ],
        });
        await expect
          .poll(() => row(flow).locator("td").nth(1).textContent(), { timeout: 15_000 })
          .not.toBe("0");
        expect(shopifyAvailable(store, "W-2", location)).toBe(before);
        await row(flow)
          .getByRole("button", { name: /^Resume/ })
          .click();
        await expect
          .poll(() => shopifyAvailable(store, "W-2", location), { timeout: 20_000 })
          .toBe(before + 2);
        await expect.poll(() => row(flow).locator("td").nth(1).textContent(), { timeout: 10_000 }).toBe("0");
      } else {
        await row(flow)
          .getByRole("button", { name: /^Resume/ })
          .click();
      }
      await expect.poll(() => row(flow).textContent()).toContain("running");
      expect(await state(flow)).toBe("enabled");
    }
    // Catalog flows go back off (the tests below do not need them).
    for (const flow of flows.filter((f) => f.startsWith("catalog"))) {
      await call("POST", `/api/v1/stores/${DOMAIN}/flows/${flow}/disable`);
      expect(await state(flow)).toBe("disabled");
    }
    expect(admin.problems).toEqual([]);
    expect(a11y["11-stores-overview"]).toEqual([]);
  }, 90_000);

  it("changes a setting on the store page and shows it in the audit trail", async () => {
    const { page } = admin;
    await page.locator(`section[data-store="${DOMAIN}"] h2 a`).click();
    await page.getByRole("heading", { name: "Shipments and returns" }).waitFor();
    await page.getByLabel("Restock rule for refunds").selectOption("order_warehouse");
    await page.getByRole("button", { name: "Save shipment rules" }).click();
    await expect.poll(() => page.locator("#fulfillment-settings").textContent()).toContain("Saved.");
    // A refused value is shown next to its field, with the code.
    await page.getByLabel("Tag added in Shopify after import").fill("x".repeat(41));
    await page.getByRole("button", { name: "Save order settings" }).click();
    await expect.poll(() => page.locator("#os-tag-error").textContent()).toMatch(/^[A-Z_]+: /);
    // The back office's code for a payment gateway.
    await page.getByLabel("Shopify gateway 1").fill("manual");
    await page.getByLabel("Code for gateway manual").fill("CASH");
    await page.getByRole("button", { name: "Save codes" }).click();
    await expect.poll(() => page.locator("#order-mappings").textContent()).toContain("Saved; ");
    expect((await call("GET", `/api/v1/stores/${DOMAIN}/order-mappings`)).paymentGateways).toEqual({
      manual: "CASH",
    });
    // Shipping and tax rules: a mistake is named next to its field with its code, then put right.
    await page.getByLabel("Shipping rule 1: Shopify shipping code").fill("EXPRESS");
    await page.getByLabel("Shipping rule 1: Back-office carrier").fill("DHL");
    await page.getByLabel("Shipping rule 1: Back-office service").fill("EXP");
    await page.getByLabel("Tax rule 1: Tax title").fill("VAT");
    await page.getByLabel("Tax rule 1: Rate (fraction)").fill("21");
    await page.getByLabel("Tax rule 1: Country (empty: any)").fill("nl");
    await page.getByLabel("Tax rule 1: Back-office tax code").fill("V21");
    await page.getByRole("button", { name: "Save codes" }).click();
    await expect
      .poll(() => page.locator("#taxLines-0-rate-error").textContent(), { timeout: 10_000 })
      .toBe("INVALID_FIELD: a rate is a fraction of 1: 21% is 0.21");
    expect(await page.getByLabel("Tax rule 1: Rate (fraction)").getAttribute("aria-invalid")).toBe("true");
    expect((await call("GET", `/api/v1/stores/${DOMAIN}/order-mappings`)).taxLines).toBeNull();
    await page.getByLabel("Tax rule 1: Rate (fraction)").fill("0.21");
    await page.getByRole("button", { name: "Save codes" }).click();
    await expect.poll(() => page.locator("#order-mappings").textContent()).toContain("Saved; ");
    expect(await page.locator("#taxLines-0-rate-error").count()).toBe(0);
    const mapped = await call("GET", `/api/v1/stores/${DOMAIN}/order-mappings`);
    expect(mapped.shippingLines).toEqual([{ code: "EXPRESS", carrier: "DHL", service: "EXP" }]);
    expect(mapped.taxLines).toEqual([
      { title: "VAT", rate: "0.21", country: "NL", province: null, taxCode: "V21" },
    ]);
    // Removing a rule.
    await page.getByRole("button", { name: "Remove shipping rule 1" }).click();
    await page.getByRole("button", { name: "Save codes" }).click();
    await expect
      .poll(async () => (await call("GET", `/api/v1/stores/${DOMAIN}/order-mappings`)).shippingLines)
      .toBeNull();
    const mappingAudit = await call("GET", "/api/v1/audit?limit=5");
    expect(
      mappingAudit.items.filter((i: { action: string }) => i.action === "order_mappings.update").length,
    ).toBeGreaterThanOrEqual(3);
    // (Mapped gateways park orders paid otherwise: cleared again for the order test below.)
    await call("PUT", `/api/v1/stores/${DOMAIN}/order-mappings`, {});
    // The store's own safety stock: Shopify shows one fewer of every SKU, and back when it is 0.
    const location = store.locations[0]!.id;
    const w1 = shopifyAvailable(store, "W-1", location);
    expect(w1).toBeGreaterThan(0);
    await page.getByLabel("Units held back per SKU and location").fill("x");
    await page.getByRole("button", { name: "Save store safety stock" }).click();
    await expect.poll(() => page.locator("#ss-store-error").textContent()).toMatch(/^INVALID_FIELD: /);
    await page.getByLabel("Units held back per SKU and location").fill("1");
    await page.getByRole("button", { name: "Save store safety stock" }).click();
    await expect.poll(() => page.locator("#store-safety-stock").textContent()).toContain("Saved.");
    await expect.poll(() => shopifyAvailable(store, "W-1", location), { timeout: 20_000 }).toBe(w1 - 1);
    await call("PUT", `/api/v1/stores/${DOMAIN}/stock-rules`, { safetyStock: 0 });
    await expect.poll(() => shopifyAvailable(store, "W-1", location), { timeout: 20_000 }).toBe(w1);
    await page.reload();
    await page.getByRole("heading", { name: "Lag and throughput" }).waitFor();
    await expect
      .poll(() => page.locator("#store-audit").textContent())
      .toContain("restockRule: none → order_warehouse");
    await shot(page, "12-store-page");
    await nav(page, "Audit trail").click();
    const entry = page.locator('#audit-table tr[data-action="fulfillment_settings.update"]');
    await expect.poll(() => entry.textContent()).toContain("restockRule: none → order_warehouse");
    expect(await entry.textContent()).toContain("ada");
    await shot(page, "13-audit-trail");
    expect(admin.problems).toEqual([]);
    expect(a11y["12-store-page"]).toEqual([]);
    expect(a11y["13-audit-trail"]).toEqual([]);
  });

  it("shows an order's lines, reservations, shipments and history after a partial shipment", async () => {
    const { page } = admin;
    const db = hub.ctx.database.db;
    const s = await db
      .selectFrom("stores")
      .select("id")
      .where("domain", "=", DOMAIN)
      .executeTakeFirstOrThrow();
    const placed = emulator.control.placeOrder(DOMAIN, {
      lineItems: [
        { sku: "W-1", quantity: 2 },
        { sku: "W-2", quantity: 1 },
      ],
      locationId: store.locations[0]!.id,
      customer: { email: "partial@example.com", firstName: "Par", lastName: "Tial" },
    });
    const parsed = fromWebhookPayload(emulator.control.orderPayload(DOMAIN, placed.id));
    if (!parsed.ok) throw new Error(parsed.reason);
    const imported = await importOrder(hub.ctx, Number(s.id), parsed.order);
    expect(imported.outcome).toBe("imported");
    orderId = imported.orderId;
    const shipped = await call("POST", "/api/v1/shipments", {
      id: "SHIP-1",
      orderId: imported.orderId,
      warehouse: "MAIN",
      lines: [{ sku: "W-1", quantity: 1 }],
      packages: [
        { carrier: "UPS", trackingNumber: "1Z-PARTIAL", trackingUrl: "https://ups.example/1Z-PARTIAL" },
      ],
    });
    expect(shipped.shipment?.status, JSON.stringify(shipped)).toBe("pending");

    await nav(page, "Orders").click();
    await page.getByLabel("Order number or customer email").fill("partial@example.com");
    await page.getByRole("button", { name: "Search" }).click();
    const row = page.locator(`#orders-table tr[data-order="${placed.name}"]`);
    await expect.poll(() => row.count()).toBe(1);
    await shot(page, "16-orders");
    await row.getByRole("link", { name: placed.name }).click();
    await page.getByRole("heading", { name: `Order ${placed.name}` }).waitFor();
    // The fulfillment push sends the shipment to Shopify: 1 of the 3 units is fulfilled there.
    const shipment = page.locator('#order-shipments tr[data-shipment="SHIP-1"]');
    await expect.poll(() => shipment.textContent(), { timeout: 20_000 }).toContain("1Z-PARTIAL");
    await expect
      .poll(() => page.locator("#lines").textContent(), { timeout: 20_000 })
      .toContain("1 of 3 units shipped");
    expect(await page.locator('#lines-table tr[data-sku="W-1"] td:nth-child(5)').textContent()).toBe("1");
    expect(await page.locator("#reservations").textContent()).toContain("W-2");
    expect(await page.locator("#history-table").textContent()).toContain("shipment SHIP-1");
    await shot(page, "17-order-page");
    await nav(page, "Shipments").click();
    await expect
      .poll(() => page.locator('#shipments-table tr[data-shipment="SHIP-1"]').textContent())
      .toContain("UPS");
    await shot(page, "18-shipments");
    await nav(page, "Stock").click();
    await page.getByLabel("SKU", { exact: true }).fill("W-1");
    await page.getByRole("button", { name: "Show stock" }).click();
    await expect.poll(() => page.locator("#movements-table").textContent()).toContain("receipt");
    await page.getByLabel("Safety stock", { exact: true }).fill("2");
    await page.getByRole("button", { name: "Save safety stock" }).click();
    await expect
      .poll(() => page.locator('#stock-table tr[data-warehouse="MAIN"] td:nth-child(4)').textContent())
      .toBe("2");
    await shot(page, "19-stock");
    expect(admin.problems).toEqual([]);
    for (const n of ["16-orders", "17-order-page", "18-shipments", "19-stock"])
      expect(a11y[n], n).toEqual([]);
  }, 60_000);

  it("replays dead letters (a webhook delivery and a notification), resolves a link problem and dismisses a parked order with a reason from the failures screen", async () => {
    const { page } = admin;
    const db = hub.ctx.database.db;
    const s = await db
      .selectFrom("stores")
      .select("id")
      .where("domain", "=", DOMAIN)
      .executeTakeFirstOrThrow();
    const { id: deadId } = await db
      .insertInto("outbound_events")
      .values({
        event_id: "evt-dead-1",
        store_id: s.id,
        order_id: orderId,
        type: "order.created",
        payload: "{}",
        status: "dead",
        attempts: 8,
        next_attempt_at: 0,
        last_error: "HTTP 502 from the back office",
        created_at: Date.now(),
        delivered_at: null,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    // An order the shop's filters left out, parked: dismissed with a reason.
    const [parkedId] = await insertOrders(db, [
      { storeId: Number(s.id), number: 2001, createdAt: Date.now(), status: "parked" },
    ]);
    // A webhook delivery that gave up (its order never reached the hub), kept as a dead letter.
    const lost = emulator.control.placeOrder(DOMAIN, {
      lineItems: [{ sku: "W-1", quantity: 1 }],
      locationId: store.locations[0]!.id,
      customer: { email: "lost@example.com", firstName: "Lo", lastName: "St" },
    });
    const { id: inboxId } = await db
      .insertInto("webhook_inbox")
      .values({
        webhook_id: "dead-webhook-1",
        shop: DOMAIN,
        topic: "orders/create",
        body: JSON.stringify(emulator.control.orderPayload(DOMAIN, lost.id)),
        received_at: Date.now(),
        status: "dead",
        attempts: 8,
        next_attempt_at: 0,
        last_error: "the database was unreachable",
        processed_at: null,
        order_gid: lost.id,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    await nav(page, "Failures").click();
    const table = page.locator("#failures-table");
    const deadWebhook = table.locator(`tr[data-failure="dead_letter:${inboxId}"]`);
    await expect.poll(() => deadWebhook.textContent(), { timeout: 10_000 }).toContain("unreachable");
    const dead = table.locator(`tr[data-failure="outbound_dead:${deadId}"]`);
    await expect.poll(() => dead.textContent()).toContain("HTTP 502");
    const problem = table.locator('tr[data-kind="link_problem"]', { hasText: "W-3" });
    await expect.poll(() => problem.count()).toBe(1);
    await expect.poll(() => page.locator("#failures-summary").textContent()).toMatch(/^4 to look at: /);
    await shot(page, "14-failures");
    // Replaying the delivery processes it now: the order reaches the hub.
    await deadWebhook.getByRole("button", { name: "Replay" }).click();
    await expect.poll(() => deadWebhook.count(), { timeout: 10_000 }).toBe(0);
    await expect
      .poll(
        async () =>
          (
            await db
              .selectFrom("orders")
              .select("status")
              .where("shopify_order_gid", "=", lost.id)
              .executeTakeFirst()
          )?.status,
        { timeout: 20_000 },
      )
      .toBe("imported");
    // The back office is up again: replaying delivers the notification there.
    const received: string[] = [];
    const backOffice = createServer((req, res) => {
      received.push(String(req.headers["x-tillbridge-event-id"]));
      req.resume();
      res.end("ok");
    });
    await new Promise<void>((r) => backOffice.listen(0, "127.0.0.1", r));
    const settingsUrl = `/api/v1/stores/${DOMAIN}/order-settings`;
    const { outboundSecretSet: _, ...orderSettings } = await call("GET", settingsUrl);
    try {
      const set = await call("PUT", settingsUrl, {
        ...orderSettings,
        outboundUrl: `http://127.0.0.1:${(backOffice.address() as AddressInfo).port}/orders`,
        outboundSecret: "a secret for this test",
      });
      expect(set.outboundUrl, JSON.stringify(set)).toMatch(/^http:\/\/127\.0\.0\.1:/);
      await dead.getByRole("button", { name: "Replay" }).click();
      await expect.poll(() => dead.count(), { timeout: 10_000 }).toBe(0);
      await expect.poll(() => received, { timeout: 20_000 }).toContain("evt-dead-1");
      await expect
        .poll(
          async () =>
            (
              await db
                .selectFrom("outbound_events")
                .select("status")
                .where("id", "=", deadId)
                .executeTakeFirstOrThrow()
            ).status,
          { timeout: 10_000 },
        )
        .toBe("delivered");
    } finally {
      await call("PUT", settingsUrl, { ...orderSettings, outboundUrl: null });
      await new Promise((r) => backOffice.close(r));
    }

    // The back office adds the missing SKU; linking again resolves the problem.
    await call("PUT", "/api/v1/variants", { variants: [{ sku: "W-3" }] });
    await problem.getByRole("button", { name: /^Link again/ }).click();
    await expect.poll(() => problem.count(), { timeout: 15_000 }).toBe(0);

    const parked = table.locator(`tr[data-failure^="parked_order:"]`, { hasText: "#2001" });
    await parked.getByRole("button", { name: "Dismiss" }).click();
    await parked.getByLabel("Why dismiss it?").fill("test order, never shipped");
    await parked.getByRole("button", { name: "Dismiss with this reason" }).click();
    await expect.poll(() => parked.count()).toBe(0);
    await expect.poll(() => page.locator("#failures-summary").textContent()).toBe("Nothing needs attention.");
    const audit = await call("GET", "/api/v1/audit?limit=5");
    expect(audit.items.some((i: { action: string }) => i.action === "failure.dismiss")).toBe(true);
    expect(parkedId).toBeGreaterThan(0);
    await nav(page, "Catalog").click();
    await page.getByLabel("Store").selectOption(DOMAIN);
    const w3 = page.locator('#catalog-table tr[data-sku="W-3"]');
    await expect.poll(() => w3.textContent()).toContain("linked");
    await shot(page, "15-catalog");
    expect(admin.problems).toEqual([]);
    expect(a11y["14-failures"]).toEqual([]);
    expect(a11y["15-catalog"]).toEqual([]);
  });

  it("lets an admin create a viewer, who sees everything and can change nothing (the API refuses too)", async () => {
    const { page } = admin;
    await nav(page, "Access").click();
    await page.getByLabel("Username").fill("vic");
    await page.getByLabel("Password", { exact: true }).fill("viewer password 1");
    await page.getByLabel("Role", { exact: true }).selectOption("viewer");
    await page.getByRole("button", { name: "Create account" }).click();
    // (scrypt makes creating an account take a while on a loaded machine)
    await expect
      .poll(() => page.locator("#accounts-table").textContent(), { timeout: 15_000 })
      .toContain("vic");
    await shot(page, "20-access");

    const viewer = await openConsole(browser, `${hub.url}/`);
    const v = viewer.page;
    await v.getByLabel("Username").fill("vic");
    await v.getByLabel("Password").fill("viewer password 1");
    await v.getByRole("button", { name: "Sign in" }).click();
    await v.getByRole("heading", { name: "Stores", level: 1 }).waitFor();
    const flows = v.locator(`section[data-store="${DOMAIN}"] tr[data-flow]`);
    const listed = (await call("GET", `/api/v1/stores/${DOMAIN}`)).flows.length;
    expect(listed).toBeGreaterThanOrEqual(4);
    await expect.poll(() => flows.count()).toBe(listed);
    expect(await flows.getByRole("button").count()).toBe(0);
    expect(await v.getByRole("link", { name: "Connect a store" }).count()).toBe(0);
    expect(await v.getByRole("link", { name: "Access" }).count()).toBe(0);
    await shot(v, "21-viewer-overview");
    await v.locator(`section[data-store="${DOMAIN}"] h2 a`).click();
    await v.getByRole("heading", { name: "Shipments and returns" }).waitFor();
    expect(await v.getByRole("button", { name: /Save/ }).count()).toBe(0);
    expect(await v.getByLabel("Restock rule for refunds").isDisabled()).toBe(true);
    // Every settings form's fields are disabled (the order mappings' too), none can be typed into.
    const fieldsets = v.locator(
      "#order-settings fieldset, #fulfillment-settings fieldset, #order-mappings fieldset",
    );
    expect(await fieldsets.count()).toBeGreaterThan(4);
    expect(await fieldsets.evaluateAll((fs) => fs.every((f) => f.matches(":disabled")))).toBe(true);
    expect(await v.getByRole("button", { name: /^Remove/ }).count()).toBe(0);
    expect(
      await v
        .locator("#jobs")
        .getByRole("button", { name: /Link|Dry run|Drift|Initial|Cancel/ })
        .count(),
    ).toBe(0);
    await nav(v, "Failures").click();
    await v.locator("#failures-summary").waitFor();
    expect(await v.getByRole("button", { name: /Replay|Retry|Link|Run|Dismiss|Reprocess/ }).count()).toBe(0);
    // The API refuses the viewer's changes, with the session's own CSRF token.
    const refused = await v.evaluate(async (domain) => {
      const s = await (await fetch("/api/v1/session")).json();
      const tries = [
        [`/api/v1/stores/${domain}/flows/inventory_push/pause`, "POST", undefined],
        [
          `/api/v1/stores/${domain}/fulfillment-settings`,
          "PUT",
          { notifyCustomer: false, restockRule: "none" },
        ],
        [`/api/v1/stores/${domain}/jobs`, "POST", { kind: "dry_run" }],
        ["/api/v1/accounts", "POST", { username: "eve", password: "x", role: "admin" }],
      ] as const;
      const out: { status: number; code: string }[] = [];
      for (const [url, method, body] of tries) {
        const r = await fetch(url, {
          method,
          headers: { "content-type": "application/json", "x-csrf-token": s.csrfToken },
          body: JSON.stringify(body ?? {}),
        });
        out.push({ status: r.status, code: (await r.json()).error?.code });
      }
      return { role: s.role, out };
    }, DOMAIN);
    expect(refused.role).toBe("viewer");
    expect(refused.out).toEqual(Array(4).fill({ status: 403, code: "FORBIDDEN" }));

    // The admin sets vic a new password: a weak one is refused beside its field, with the code;
    // once set, vic's open console is signed out by itself and the new password signs in.
    await page.getByRole("button", { name: "New password for vic" }).click();
    await page.getByLabel("New password for vic").fill("short");
    await page.getByRole("button", { name: "Set password" }).click();
    const vicRow = page.locator('#accounts-table tr[data-account="vic"]');
    await expect
      .poll(() => vicRow.locator(".field-error").textContent(), { timeout: 10_000 })
      .toMatch(/^WEAK_PASSWORD: /);
    await page.getByLabel("New password for vic").fill("a longer viewer password");
    await page.getByRole("button", { name: "Set password" }).click();
    await expect
      .poll(() => vicRow.textContent(), { timeout: 15_000 })
      .toContain("Password set; vic's sessions ended.");
    await v.getByRole("heading", { name: "Sign in to Tillbridge" }).waitFor({ timeout: 20_000 });
    await v.getByLabel("Username").fill("vic");
    await v.getByLabel("Password").fill("viewer password 1");
    await v.getByRole("button", { name: "Sign in" }).click();
    await expect
      .poll(() => v.locator("#signin-error").textContent(), { timeout: 10_000 })
      .toContain("INVALID_CREDENTIALS");
    await v.getByLabel("Password").fill("a longer viewer password");
    await v.getByRole("button", { name: "Sign in" }).click();
    // Back where vic was.
    await v.getByRole("heading", { name: "Failures", level: 1 }).waitFor({ timeout: 15_000 });
    expect(viewer.problems).toEqual([]);
    expect(a11y["20-access"]).toEqual([]);
    expect(a11y["21-viewer-overview"]).toEqual([]);
    await v.context().close();
  });

  it("answers a poll for an unchanged answer with 304 and no body (weak ETag, never stored)", async () => {
    const first = await hub.server.inject({ method: "GET", url: "/api/v1/warehouses", headers: hub.auth });
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^W\/"/);
    expect(first.headers["cache-control"]).toBe("no-store");
    const again = await hub.server.inject({
      method: "GET",
      url: "/api/v1/warehouses",
      headers: { ...hub.auth, "if-none-match": etag },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe("");
    await call("PUT", "/api/v1/warehouses", { warehouses: [{ code: "SPARE", name: "Spare" }] });
    const changed = await hub.server.inject({
      method: "GET",
      url: "/api/v1/warehouses",
      headers: { ...hub.auth, "if-none-match": etag },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().items.map((w: { code: string }) => w.code)).toContain("SPARE");
  });

  it("draws the lag chart from the hub's samples while the emulator throttles the push; the backlog drains on screen without reload", async () => {
    const { page } = admin;
    const db = hub.ctx.database.db;
    const location = store.locations[0]!.id;
    const throttle = (on: boolean) =>
      emulator.control.setThrottlePressure({
        shop: DOMAIN,
        clientId: store.clientId,
        ...(on ? { available: 0, drainRate: 1000 } : { drainRate: 0, available: 1000 }),
      });
    await nav(page, "Stores").click();
    await page.locator(`section[data-store="${DOMAIN}"] h2 a`).click();
    await page.getByRole("heading", { name: "Lag and throughput" }).waitFor();
    // Set by the test: a reload would clear it, so the page is shown to update by itself.
    await page.evaluate(() => {
      (window as unknown as { stillThisPage: boolean }).stillThisPage = true;
    });
    const pushRow = page.locator('#flows tr[data-flow="inventory_push"]');
    // Another app drains the store's API budget faster than it refills: every push call is throttled.
    throttle(true);
    try {
      const before = shopifyAvailable(store, "W-2", location);
      await call("POST", "/api/v1/movements", {
        movements: ["W-1", "W-2", "W-3"].map((sku, i) => ({
          id: `lag-${i}`,
          type: "receipt",
          sku,
          warehouse: "MAIN",
          quantity: 1,
          occurredAt: new Date().toISOString(),
        })),
      });
      // The running push cannot send: its backlog shows on the page as it polls.
      await expect.poll(() => pushRow.locator("td").nth(1).textContent(), { timeout: 15_000 }).toBe("3");
      expect(await pushRow.textContent()).not.toContain("paused");
      expect(shopifyAvailable(store, "W-2", location)).toBe(before);
      // The hub's sampler (its worker runs it every 30 s) at two steps, the second 30 s later.
      const t0 = Date.now();
      await sampleSeries(db, t0);
      await sampleSeries(db, t0 + 30_000);
      const served = await call("GET", `/api/v1/stores/${DOMAIN}/series?range=hour`);
      const last = served.points.at(-1);
      expect(last.backlog).toBe(3);
      expect(last.lagSeconds).toBeGreaterThanOrEqual(30);
      // The chart is fed exactly the samples the hub serves (its data table lists them)…
      await page.getByLabel("Period").selectOption("day");
      await page.getByLabel("Period").selectOption("hour");
      const rows = page.locator("#lag-chart-data tbody tr[data-at]");
      const backlogs = () => rows.evaluateAll((trs) => trs.map((tr) => Number(tr.children[2]!.textContent)));
      await expect
        .poll(async () => (await backlogs()).slice(-2), { timeout: 15_000 })
        .toEqual(served.points.slice(-2).map((p: { backlog: number }) => p.backlog));
      expect(await page.locator("#lag-chart-caption").textContent()).toMatch(/backlog 3; highest backlog 3/);
      // …and drawn: the backlog's line (its colour) is on the canvas.
      // Polled: the canvas is redrawn after the table; two samples 30 s apart on an hour's axis
      // make a short line (14 pixels of its colour were seen), so any clear run of it counts.
      const painted = () =>
        page.locator("#lag-chart canvas").evaluate((c) => {
          const canvas = c as HTMLCanvasElement;
          const px = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
          let n = 0;
          for (let i = 0; i < px.length; i += 4)
            if (
              Math.abs(px[i]! - 0x1f) < 24 &&
              Math.abs(px[i + 1]! - 0x5f) < 24 &&
              Math.abs(px[i + 2]! - 0xbf) < 24
            )
              n++;
          return n;
        });
      await expect.poll(painted, { timeout: 10_000 }).toBeGreaterThan(8);
      await page.locator("#chart").screenshot({ path: `${ARTIFACTS}/22-lag-chart.png` });
      // The throttling stops: the push catches up and the page shows it, without a reload.
      throttle(false);
      await expect.poll(() => shopifyAvailable(store, "W-2", location), { timeout: 30_000 }).toBe(before + 1);
      await expect.poll(() => pushRow.locator("td").nth(1).textContent(), { timeout: 15_000 }).toBe("0");
      expect(
        await page.evaluate(() => (window as unknown as { stillThisPage?: boolean }).stillThisPage),
      ).toBe(true);
    } finally {
      throttle(false);
    }
    expect(admin.problems).toEqual([]);
  }, 90_000);
});
