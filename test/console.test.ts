/**
 * The operator console in a real browser (Debian's chromium driven by playwright-core) against
 * a hub listening on a real port.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { connectDirectly, type EmulatedStore, emulatedStore } from "./support/shopify.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)("operator console", () => {
  let hub: TestHub;
  let browser: Browser;
  let store: EmulatedStore;

  beforeAll(async () => {
    hub = await startTestHub("sqlite", { listen: true });
    store = await emulatedStore({ domain: "console.myshopify.com", skus: ["C-1", "C-2"] });
    const put = (url: string, payload: unknown) =>
      hub.server.inject({ method: "PUT", url, headers: hub.auth, payload: payload as never });
    await put("/api/v1/warehouses", { warehouses: [{ code: "MAIN", name: "Main" }] });
    await put("/api/v1/variants", { variants: [{ sku: "C-1" }, { sku: "C-2" }] });
    await hub.server.inject({
      method: "POST",
      url: "/api/v1/movements",
      headers: hub.auth,
      payload: {
        movements: [
          {
            id: "c1",
            type: "receipt",
            sku: "C-1",
            warehouse: "MAIN",
            quantity: 9,
            occurredAt: new Date().toISOString(),
          },
        ],
      },
    });
    await connectDirectly(hub.ctx.database.db, store, [["MAIN"], []]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    await store?.emulator.close();
  });

  it("asks for a key, refuses a wrong one, then shows stores, flows and stock", async () => {
    const page = await browser.newPage();
    await page.goto(`${hub.url}/`);
    await expect.poll(() => page.locator("#health").textContent()).toContain("ok");
    await page.fill("#api-key", "tb_wrong");
    await page.click("#login-form button");
    await expect.poll(() => page.locator("#login-error").textContent()).toContain("not accepted");

    await page.fill("#api-key", hub.apiKey);
    await page.click("#login-form button");
    const row = page.locator('tr[data-store="console.myshopify.com"]');
    await row.waitFor();
    expect(await row.textContent()).toContain("enabled");

    await row.getByRole("button", { name: "Pause" }).click();
    await expect
      .poll(async () => (await page.locator('tr[data-store="console.myshopify.com"]').textContent()) ?? "")
      .toContain("paused");
    const flow = await hub.ctx.database.db
      .selectFrom("flows")
      .select("state")
      .where("flow", "=", "inventory_push")
      .executeTakeFirstOrThrow();
    expect(flow.state).toBe("paused");

    // A dead letter, replayed from the console.
    const db = hub.ctx.database.db;
    const store = await db.selectFrom("stores").select("id").executeTakeFirstOrThrow();
    const { id: deadId } = await db
      .insertInto("outbound_events")
      .values({
        event_id: "evt-dead-1",
        store_id: store.id,
        order_id: 1,
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
    await page.reload();
    const dead = page.locator(`tr[data-dead="${deadId}"]`);
    await dead.waitFor();
    expect(await dead.textContent()).toContain("HTTP 502");
    await dead.getByRole("button", { name: "Replay" }).click();
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
      )
      .toBe("pending");
    await expect.poll(() => page.locator(`tr[data-dead="${deadId}"]`).count()).toBe(0);

    // The store's stock rules say what happens to sales Shopify fulfils, and can be changed.
    const storeRow = await db.selectFrom("stores").select(["id"]).executeTakeFirstOrThrow();
    const link = await db
      .selectFrom("variant_links")
      .select(["variant_id", "inventory_item_gid"])
      .executeTakeFirstOrThrow();
    const managed = await db
      .selectFrom("store_locations")
      .select("location_gid")
      .where("managed", "=", 1)
      .executeTakeFirstOrThrow();
    await db
      .insertInto("inventory_sync")
      .values({
        store_id: storeRow.id,
        inventory_item_gid: link.inventory_item_gid,
        location_gid: managed.location_gid,
        variant_id: link.variant_id,
        pushed: null,
        confirmed: null,
        confirmed_at: null,
        error: "INVALID_QUANTITY_TOO_HIGH: The quantity can't be higher than 1,000,000,000.",
        error_attempts: 2,
        retry_at: Date.now() + 60_000,
      })
      .onConflict((oc) =>
        oc.columns(["store_id", "inventory_item_gid", "location_gid"]).doUpdateSet({
          error: "INVALID_QUANTITY_TOO_HIGH: The quantity can't be higher than 1,000,000,000.",
          error_attempts: 2,
          retry_at: Date.now() + 60_000,
        }),
      )
      .execute();
    await page
      .locator('tr[data-store="console.myshopify.com"]')
      .getByRole("button", { name: "Details" })
      .click();
    await expect.poll(() => page.locator("#rule-shopify-fulfillments").inputValue()).toBe("record_in_ledger");
    await expect
      .poll(() => page.locator("#refused tbody").textContent())
      .toContain("INVALID_QUANTITY_TOO_HIGH");
    await page.selectOption("#rule-shopify-fulfillments", "back_office");
    await page.getByRole("button", { name: "Save rules" }).click();
    await expect.poll(() => page.locator("#rules-result").textContent()).toBe("Saved.");
    const rules = await db
      .selectFrom("fulfillment_settings")
      .select("shopify_fulfillments")
      .where("store_id", "=", storeRow.id)
      .executeTakeFirstOrThrow();
    expect(rules.shopify_fulfillments).toBe("back_office");

    // Long work runs as a job: started from the console, followed there, cancellable.
    await page.getByRole("button", { name: "Dry run" }).click();
    await expect
      .poll(() => page.locator("#action-result").textContent())
      .toContain("waiting for the store's worker");
    const job = page.locator("#jobs tbody tr").first();
    await expect.poll(() => job.textContent()).toContain("queued");
    await job.getByRole("button", { name: "Cancel" }).click();
    await expect
      .poll(() => page.locator("#action-result").textContent(), { timeout: 10_000 })
      .toContain("cancelled");
    await expect.poll(() => page.locator("#jobs tbody tr").first().textContent()).toContain("cancelled");

    await page.fill("#stock-sku", "C-1");
    await page.click("#stock-form button");
    await expect.poll(() => page.locator("#stock tbody").textContent()).toContain("MAIN");
    expect(await page.locator("#stock tbody tr td").nth(5).textContent()).toBe("9");
    await page.screenshot({ path: "/tmp/tillbridge-console.png", fullPage: true });
  });
});
