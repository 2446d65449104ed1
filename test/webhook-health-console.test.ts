/**
 * The store screen's webhook health and coalescing window in Debian's chromium (issue 18): a store
 * connected while PUBLIC_URL is not HTTPS shows as degraded with the reason; an admin fixes the
 * public URL and re-registers in one action and sees it healthy; the coalescing window is set on
 * the store's settings, a value out of range answered next to the field, the change audited.
 * No page error, no CSP violation, no serious axe violation; screenshots in test-artifacts/console.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { createAccount } from "../src/auth/accounts.ts";
import { ensureConsoleBuilt, launch, openConsole, screen } from "./support/console-browser.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { type EmulatedStore, emulatedStore } from "./support/shopify.ts";

const DOMAIN = "health-console.myshopify.com";

describe("webhook health and coalescing on the store screen", () => {
  let emulator: Emulator;
  let store: EmulatedStore;
  let hub: TestHub;
  let browser: Awaited<ReturnType<typeof launch>>;

  beforeAll(async () => {
    ensureConsoleBuilt();
    emulator = await startEmulator();
    store = await emulatedStore({ emulator, domain: DOMAIN, skus: ["HC-1"] });
    hub = await startTestHub("sqlite", {
      listen: true,
      env: { PUBLIC_URL: "http://hub.example.com", SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}` },
    });
    const connected = await hub.server.inject({
      method: "POST",
      url: "/api/v1/stores",
      headers: hub.auth,
      payload: {
        domain: DOMAIN,
        accessToken: store.token,
        webhookSecret: "health-console-secret-0123456789",
      },
    });
    expect(connected.statusCode, connected.body).toBe(201);
    await createAccount(
      hub.ctx.database.db,
      { username: "ada", password: "health admin 1", role: "admin", createdBy: "test" },
      Date.now(),
    );
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    await emulator?.close();
  });

  it("shows a degraded store with its reason, fixes the public URL in one action, sets the coalescing window", async () => {
    const { page, problems } = await openConsole(browser, `${hub.url}/`);
    await page.getByLabel("Username").fill("ada");
    await page.getByLabel("Password").fill("health admin 1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Stores", level: 1 }).waitFor();
    // The stores list says it too, linking to the store page where it is fixed.
    await page.locator(`[data-store="${DOMAIN}"] [data-webhooks="degraded"]`).waitFor();
    expect(await page.locator(`[data-store="${DOMAIN}"]`).textContent()).toContain("webhooks degraded");
    await page.goto(`${hub.url}/console/#/stores/${encodeURIComponent(DOMAIN)}`);
    const panel = page.locator("#sync-health");
    await panel.getByRole("heading", { name: "Webhooks and API version" }).waitFor();
    await expect.poll(() => panel.textContent()).toContain("degraded");
    expect(await page.locator("#webhooks-problem").textContent()).toContain("is not HTTPS");
    expect((await screen(page, "store-webhooks-degraded")).filter((p) => !p.startsWith("tablet"))).toEqual(
      [],
    );

    // One action: the https address saved, every store's webhooks registered again.
    await page.getByLabel("Public URL of the hub (https://)").fill("https://hub.example.com");
    await page.getByRole("button", { name: "Save and re-register webhooks" }).click();
    await expect.poll(() => panel.textContent(), { timeout: 20_000 }).toContain("healthy");
    expect(await page.locator("#webhooks-problem").count()).toBe(0);

    // The coalescing window: out of range is answered beside the field, then saved and audited.
    const field = page.getByLabel("Longest wait (ms)");
    await field.fill("70000");
    await page.getByRole("button", { name: "Save window" }).click();
    await page.locator("#coalescing-max-error").waitFor();
    expect(await field.getAttribute("aria-invalid")).toBe("true");
    await field.fill("500");
    await page.getByRole("button", { name: "Save window" }).click();
    await page.locator("#coalescing").getByRole("status").waitFor();
    expect((await screen(page, "store-coalescing")).filter((p) => !p.startsWith("tablet"))).toEqual([]);
    const row = await hub.ctx.database.db
      .selectFrom("stores")
      .select("coalesce_window_ms")
      .where("domain", "=", DOMAIN)
      .executeTakeFirstOrThrow();
    expect(row.coalesce_window_ms).toBe(500);
    const audit = await hub.ctx.database.db
      .selectFrom("audit_log")
      .select(["action", "actor", "after"])
      .where("action", "in", ["coalescing.update", "public_url.update"])
      .orderBy("id")
      .execute();
    expect(audit.map((a) => a.action)).toEqual(["public_url.update", "coalescing.update"]);
    expect(audit[1]!.actor).toContain("ada");
    expect(problems).toEqual([]);
  }, 120_000);
});
