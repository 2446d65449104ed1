/**
 * The order page's pickup, hold and return state in Debian's chromium: a pickup order made ready
 * shows where and since when; an order with a return and an exchange shows the return's lines,
 * reasons, what came back and the exchange line, and the back office's actions. No page error,
 * no CSP violation, no serious axe violation; screenshots in test-artifacts/console.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../emulator/index.ts";
import { createAccount } from "../src/auth/accounts.ts";
import { ensureConsoleBuilt, launch, openConsole, screen } from "./support/console-browser.ts";
import type { TestHub } from "./support/hub.ts";
import { type OpsWorld, withOrderOperations } from "./support/order-ops.ts";
import { createWorld, startWorldEmulator, startWorldHub } from "./support/stock-world.ts";

describe("pickup, holds and returns on the order page", () => {
  let emulator: Emulator;
  let hub: TestHub;
  let w: OpsWorld;
  let browser: Awaited<ReturnType<typeof launch>>;

  beforeAll(async () => {
    ensureConsoleBuilt();
    let app: { clientId: string; clientSecret: string };
    ({ emulator, app } = await startWorldEmulator());
    hub = await startWorldHub("sqlite", app);
    w = await withOrderOperations(
      await createWorld({
        emulator,
        hub,
        app,
        domain: "ops-console.myshopify.com",
        skus: ["OPS-A", "OPS-B"],
        mode: "absolute",
        initial: 10,
      }),
    );
    await createAccount(
      hub.ctx.database.db,
      { username: "pia", password: "pickup viewer 1", role: "viewer", createdBy: "test" },
      Date.now(),
    );
    browser = await launch();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    await emulator?.close();
  });

  it("shows a pickup ready at its store, and a return with an exchange", async () => {
    const pickup = emulator.flows.placePickupOrder(w.store.domain, {
      lineItems: [{ sku: "OPS-A", quantity: 1 }],
      pickupLocationId: w.locations[1]!.id,
    });
    await w.settleAll();
    const pickupId = await w.orderId(pickup);
    const ready = await w.call("POST", `/api/v1/orders/${pickupId}/pickup/ready`, { requestId: "ui-ready" });
    expect(ready.status).toBe(202);

    const placed = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku: "OPS-A", quantity: 2 }],
      locationId: w.locations[0]!.id,
    });
    await w.settleAll();
    const orderId = await w.orderId(placed.id);
    const shipped = await w.call("POST", "/api/v1/shipments", {
      id: "ui-ship",
      orderId,
      warehouse: "W1",
      lines: [{ sku: "OPS-A", quantity: 2 }],
    });
    expect(shipped.status).toBe(201);
    await w.settleAll();
    const ret = emulator.flows.requestReturn(
      w.store.domain,
      placed.id,
      [{ lineItemId: placed.lineItems[0]!.id, quantity: 1, returnReason: "DEFECTIVE" }],
      [{ sku: "OPS-B", quantity: 1 }],
    );
    emulator.flows.approveReturn(w.store.domain, ret);
    await w.settleAll();

    const { page, problems } = await openConsole(browser, `${hub.url}/console/`);
    await page.getByLabel("Username").fill("pia");
    await page.getByLabel("Password").fill("pickup viewer 1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Stores", level: 1 }).waitFor();

    await page.goto(`${hub.url}/console/#/orders/${pickupId}`);
    await page.getByRole("heading", { name: "Delivery and holds" }).waitFor();
    await expect.poll(() => page.locator("#delivery-summary").textContent()).toContain("Pickup at W2");
    expect(await page.locator("#delivery-summary").textContent()).not.toContain("not yet");
    await expect.poll(() => page.locator("#order-actions-table").textContent()).toContain("ready for pickup");
    expect((await screen(page, "order-pickup")).filter((p) => !p.startsWith("tablet"))).toEqual([]);

    await page.goto(`${hub.url}/console/#/orders/${orderId}`);
    await expect.poll(() => page.locator("#returns-table").textContent()).toContain("defective");
    const row = await page.locator("#returns-table").textContent();
    expect(row).toContain("open");
    expect(row).toMatch(/1 × line \d+/);
    expect((await screen(page, "order-return")).filter((p) => !p.startsWith("tablet"))).toEqual([]);
    expect(problems).toEqual([]);
  }, 120_000);
});
