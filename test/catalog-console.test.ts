/**
 * The catalog import screen in Debian's chromium: an operator signs in, chooses the mode and what
 * the import may write (a checkbox toggled with the keyboard), starts it, follows it to its end
 * (read, matched, created, problems) and sees the link problem it left with what to do, picks one
 * of the two Shopify variants sharing a SKU, and links a variant by hand (refused beside the field
 * until moved); a product deleted in Shopify without its products/delete arriving is found by the
 * catalog check and listed with the hub product's key. No page error, no CSP violation, no
 * serious axe violation; screenshots in test-artifacts/console.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { createAccount } from "../src/auth/accounts.ts";
import { runCatalogCheck } from "../src/catalog/import/catalog-check.ts";
import { systemClock } from "../src/core/clock.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { ensureConsoleBuilt, launch, openConsole, screen } from "./support/console-browser.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { APP_SCOPES } from "./support/shopify.ts";

const DOMAIN = "import-console.myshopify.com";

describe("the catalog import screen", () => {
  let emulator: Emulator;
  let hub: TestHub;
  let browser: Awaited<ReturnType<typeof launch>>;
  let twinB = "";
  let token = "";

  beforeAll(async () => {
    ensureConsoleBuilt();
    emulator = await startEmulator();
    const app = emulator.control.createApp({ name: "Tillbridge", scopes: [...APP_SCOPES] });
    emulator.control.createShop({ domain: DOMAIN, plan: "plus" });
    emulator.control.seedCatalog(DOMAIN, {
      variants: 40,
      variantsPerProduct: 4,
      catalog: true,
      skuPrefix: "UI-",
    });
    emulator.control.productSet(DOMAIN, {
      input: { title: "Twin A", variants: [{ optionValues: [], sku: "TWIN" }] },
    });
    twinB = emulator.control
      .productSet(DOMAIN, {
        input: { title: "Twin B", variants: [{ optionValues: [], sku: "TWIN" }] },
      })
      .variants[0]!.admin_graphql_api_id.replace("gid://shopify/ProductVariant/", "");
    token = emulator.control.mintToken({ shop: DOMAIN, clientId: app.clientId }).accessToken;
    hub = await startTestHub("sqlite", {
      listen: true,
      env: { WORKER: "on", SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}` },
    });
    const put = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/variants",
      headers: hub.auth,
      payload: { variants: [{ sku: "UI-0000000" }, { sku: "UI-0000001" }, { sku: "TWIN" }] },
    });
    expect(put.statusCode, put.body).toBe(200);
    const connected = await hub.server.inject({
      method: "POST",
      url: "/api/v1/stores",
      headers: hub.auth,
      payload: { domain: DOMAIN, accessToken: token },
    });
    expect(connected.statusCode, connected.body).toBe(201);
    await createAccount(
      hub.ctx.database.db,
      { username: "olga", password: "import operator 1", role: "operator", createdBy: "test" },
      Date.now(),
    );
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    await emulator?.close();
  });

  it("starts an import with a mode and chosen fields, shows its progress to the end and the problems it left", async () => {
    const { page, problems } = await openConsole(browser, `${hub.url}/`);
    await page.getByLabel("Username").fill("olga");
    await page.getByLabel("Password").fill("import operator 1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Stores", level: 1 }).waitFor();
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Import", exact: true })
      .click();
    await page.getByRole("heading", { name: "Catalog import", level: 1 }).waitFor();
    await expect.poll(() => page.getByLabel("Store").inputValue()).toBe(DOMAIN);
    await expect
      .poll(() => page.locator("#import-runs").textContent())
      .toContain("No import has run for this store.");

    await page.getByLabel(/Create and overwrite/).check();
    // The keyboard alone toggles a field off: focus it, press Space.
    const prices = page.getByLabel("Prices, compare-at prices and costs");
    await prices.focus();
    await page.keyboard.press("Space");
    expect(await prices.isChecked()).toBe(false);
    expect((await screen(page, "import-start")).filter((p) => !p.startsWith("tablet"))).toEqual([]);
    await page.getByRole("button", { name: "Start the import" }).click();

    const row = page.locator("#import-runs tr[data-run]").first();
    await expect.poll(() => row.getAttribute("data-status"), { timeout: 30_000 }).toBe("done");
    const cells = await row.locator("td").allTextContents();
    expect(cells[2]).toBe("Create and overwrite");
    expect(cells[4]).toBe("42 variants of 12 products");
    expect(cells[5]).toBe("2"); // UI-0000000 and UI-0000001 matched
    expect(cells[6]).toBe("38"); // the other seeded variants created
    expect(cells[8]).toBe("1");
    await expect
      .poll(() => page.locator('#import-problem-list tr[data-problem="duplicate_sku_in_shopify"]').count())
      .toBe(1);
    await expect
      .poll(() => page.locator("#import-problem-list").textContent())
      .toContain("SKU used twice in Shopify");
    expect((await screen(page, "import-done")).filter((p) => !p.startsWith("tablet"))).toEqual([]);

    // The run was started with the fields chosen: prices were left out.
    const runs = await hub.server.inject({
      method: "GET",
      url: `/api/v1/stores/${DOMAIN}/catalog-imports`,
      headers: hub.auth,
    });
    expect(runs.json().items[0].fields).not.toContain("prices");
    expect(runs.json().items[0].mode).toBe("create_and_overwrite");

    // Pick one: TWIN is linked by hand to the second of the two Shopify variants carrying it.
    const twinRow = page.locator('#import-problem-list tr[data-problem="duplicate_sku_in_shopify"]');
    await twinRow.getByRole("button", { name: `Link TWIN to ${twinB}` }).click();
    await expect
      .poll(() => page.getByRole("status").textContent())
      .toContain(`Linked TWIN to Shopify variant ${twinB}`);
    await expect.poll(() => twinRow.count()).toBe(0);

    // By hand: that variant is now TWIN's, so taking it for another SKU is refused beside the field
    // until "Move" is checked.
    const form = page.getByRole("form", { name: "Link by hand" });
    await form.getByLabel("Hub SKU").fill("UI-0000001");
    await form.getByLabel("Shopify variant").fill(twinB);
    await form.getByRole("button", { name: "Link by hand" }).click();
    await expect
      .poll(() => page.locator("#link-variant-error").textContent())
      .toContain("VARIANT_LINKED_ELSEWHERE");
    expect(await form.getByLabel("Shopify variant").getAttribute("aria-invalid")).toBe("true");
    expect((await screen(page, "import-link-refused")).filter((p) => !p.startsWith("tablet"))).toEqual([]);
    await form.getByLabel(/Move it/).check();
    await form.getByRole("button", { name: "Link by hand" }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toContain("moved from TWIN");
    const link = await hub.ctx.database.db
      .selectFrom("variant_links as l")
      .innerJoin("variants as v", "v.id", "l.variant_id")
      .select(["v.sku", "l.matched_by"])
      .where("l.product_variant_gid", "=", `gid://shopify/ProductVariant/${twinB}`)
      .execute();
    expect(link).toEqual([{ sku: "UI-0000001", matched_by: "manual" }]);
    expect(problems).toEqual([]);
  }, 90_000);

  it("lists a product deleted in Shopify (its products/delete never came) with the hub product's key", async () => {
    const db = hub.ctx.database.db;
    const gone = await db
      .selectFrom("variant_links as l")
      .innerJoin("variants as v", "v.id", "l.variant_id")
      .innerJoin("products as p", "p.id", "v.product_id")
      .select(["l.shopify_product_gid", "l.store_id", "p.key"])
      .where("v.sku", "=", "UI-0000002")
      .executeTakeFirstOrThrow();
    emulator.control.deleteProduct(DOMAIN, gone.shopify_product_gid!);
    const transport = createAdminTransport({
      store: DOMAIN,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
    const checked = await runCatalogCheck(hub.ctx, Number(gone.store_id), transport, { pollMs: 20 });
    expect(checked.deleted).toBe(1);

    const { page, problems } = await openConsole(browser, `${hub.url}/`);
    await page.getByLabel("Username").fill("olga");
    await page.getByLabel("Password").fill("import operator 1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Stores", level: 1 }).waitFor();
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Import", exact: true })
      .click();
    const row = page.locator('#import-problem-list tr[data-problem="deleted_in_shopify"]').first();
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1);
    const text = await row.textContent();
    expect(text).toContain("Deleted in Shopify");
    expect(text).toContain(`hub product ${gone.key}`);
    expect((await screen(page, "import-deleted-in-shopify")).filter((p) => !p.startsWith("tablet"))).toEqual(
      [],
    );
    expect(problems).toEqual([]);
  }, 60_000);
});
