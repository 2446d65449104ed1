/**
 * Onboarding by the app's install link, in Debian's chromium: the wizard takes the shop domain,
 * sends the browser to Shopify's (the emulator's) install screen, the owner approves, Shopify
 * calls the hub back and the setup goes on in the console at the locations step. The hub listens
 * on a known port so that its PUBLIC_URL (the OAuth redirect) is its real address.
 */
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { createAccount } from "../src/auth/accounts.ts";
import {
  CHROMIUM,
  Effort,
  ensureConsoleBuilt,
  launch,
  openConsole,
  screen,
} from "./support/console-browser.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { type EmulatedStore, emulatedStore } from "./support/shopify.ts";

const DOMAIN = "install.myshopify.com";

/** A port nobody listens on now (the hub's PUBLIC_URL must name it before it starts). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)(
  "console: connecting by the app's install link",
  () => {
    let emulator: Emulator;
    let hub: TestHub;
    let browser: Browser;
    let store: EmulatedStore;

    beforeAll(async () => {
      // A shared 2-core machine can take seconds to answer; polls wait for the page that long.
      vi.setConfig({ expect: { poll: { timeout: 10_000 } } });
      ensureConsoleBuilt();
      emulator = await startEmulator();
      store = await emulatedStore({ emulator, domain: DOMAIN, skus: ["I-1"], initial: () => 0 });
      // The store owner sees Shopify's install screen and approves (not an automatic redirect).
      emulator.control.updateShop(DOMAIN, { oauthMode: "page" });
      const port = await freePort();
      hub = await startTestHub("sqlite", {
        listen: true,
        env: {
          PORT: String(port),
          PUBLIC_URL: `http://127.0.0.1:${port}`,
          WORKER: "on",
          SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}`,
          SHOPIFY_API_KEY: store.clientId,
          SHOPIFY_API_SECRET: store.clientSecret,
        },
      });
      await hub.server.inject({
        method: "PUT",
        url: "/api/v1/warehouses",
        headers: hub.auth,
        payload: { warehouses: [{ code: "MAIN", name: "Main warehouse" }] },
      });
      await createAccount(
        hub.ctx.database.db,
        { username: "ines", password: "install admin 1", role: "admin", createdBy: "test" },
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

    it("types the shop domain, approves on Shopify's install screen and goes on with the setup in the console", async () => {
      const { page, problems } = await openConsole(browser, `${hub.url}/`);
      await page.getByLabel("Username").fill("ines");
      await page.getByLabel("Password").fill("install admin 1");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Stores", level: 1 }).waitFor();

      const you = new Effort();
      await you.click(page.getByRole("link", { name: "Connect a store" }));
      await you.check(page.getByLabel(/By installing the Tillbridge app/));
      await you.fill(page.getByLabel("Shop domain"), "install");
      expect(await page.locator("main").textContent()).toContain("write_inventory");
      expect(await screen(page, "03b-wizard-install")).toEqual([]);
      await you.click(page.getByRole("button", { name: "Install on Shopify" }));

      // Shopify's screen (the emulator's): the access asked for, and the owner's approval.
      await page.getByRole("heading", { name: new RegExp(`^Install .* on ${DOMAIN}$`) }).waitFor();
      expect(await page.locator("body").textContent()).toContain("write_inventory");
      await you.click(page.getByRole("button", { name: "Install" }));

      // Back at the hub: connected, and on to the console's next step.
      await page.getByRole("heading", { name: `${DOMAIN} is connected` }).waitFor();
      await you.click(page.getByRole("link", { name: "Continue the setup in the Tillbridge console" }));
      await page.getByRole("heading", { name: "Where is each Shopify location's stock?" }).waitFor();
      console.log(`install link to the locations step: ${you.clicks} clicks, ${you.fields} fields`);

      const connected = (
        await hub.server.inject({ method: "GET", url: `/api/v1/stores/${DOMAIN}`, headers: hub.auth })
      ).json();
      expect(connected).toMatchObject({ domain: DOMAIN, authKind: "oauth", status: "active" });
      expect(connected.scopes).toContain("write_inventory");
      expect(problems).toEqual([]);
    });
  },
);
