/**
 * The order actions from the order page, in Debian's chromium, as an operator: a pickup made
 * ready and picked up; a substitution refused with its code under the SKU field; units to cancel
 * beyond what is open refused under the quantity; a hold placed and released; a move to another
 * store; a cancellation that asks to confirm first; a return received with one unit restocked and
 * one damaged (one `return` movement). Shopify (the emulator) ends holding each change. A viewer
 * sees the same page without a single action button. No page error, no CSP violation.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../emulator/index.ts";
import { createAccount } from "../src/auth/accounts.ts";
import { ensureConsoleBuilt, launch, openConsole, screen } from "./support/console-browser.ts";
import type { TestHub } from "./support/hub.ts";
import { type OpsWorld, withOrderOperations } from "./support/order-ops.ts";
import { createWorld, startWorldEmulator, startWorldHub } from "./support/stock-world.ts";

describe("order actions on the order page", () => {
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
        domain: "act-console.myshopify.com",
        skus: ["ACT-A", "ACT-B"],
        mode: "absolute",
        initial: 10,
      }),
    );
    const now = Date.now();
    const db = hub.ctx.database.db;
    await createAccount(
      db,
      { username: "olaf", password: "order operator 1", role: "operator", createdBy: "test" },
      now,
    );
    await createAccount(
      db,
      { username: "vera", password: "order viewer 1", role: "viewer", createdBy: "test" },
      now,
    );
    browser = await launch();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    await emulator?.close();
  });

  const signIn = async (username: string, password: string) => {
    const c = await openConsole(browser, `${hub.url}/console/`);
    await c.page.getByLabel("Username").fill(username);
    await c.page.getByLabel("Password").fill(password);
    await c.page.getByRole("button", { name: "Sign in" }).click();
    await c.page.getByRole("heading", { name: "Stores", level: 1 }).waitFor();
    return c;
  };
  const actionsDone = async () => {
    await w.settleAll();
    const rows = await hub.ctx.database.db
      .selectFrom("order_actions")
      .select(["kind", "status", "last_error"])
      .execute();
    expect(
      rows.filter((r) => r.status !== "done"),
      JSON.stringify(rows),
    ).toEqual([]);
  };

  it("an operator acts on orders from the page; a viewer sees no button", async () => {
    const db = hub.ctx.database.db;
    const pickup = emulator.flows.placePickupOrder(w.store.domain, {
      lineItems: [{ sku: "ACT-A", quantity: 2 }],
      pickupLocationId: w.locations[1]!.id,
    });
    const web = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku: "ACT-B", quantity: 1 }],
      locationId: w.locations[0]!.id,
    });
    const returned = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku: "ACT-A", quantity: 2 }],
      locationId: w.locations[0]!.id,
    });
    const untouched = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku: "ACT-B", quantity: 1 }],
      locationId: w.locations[0]!.id,
    });
    await w.settleAll();
    const openId = await w.orderId(untouched.id);
    const [pickupId, webId, returnedId] = [
      await w.orderId(pickup),
      await w.orderId(web.id),
      await w.orderId(returned.id),
    ];
    expect(
      (
        await w.call("POST", "/api/v1/shipments", {
          id: "act-ship",
          orderId: returnedId,
          warehouse: "W1",
          lines: [{ sku: "ACT-A", quantity: 2 }],
        })
      ).status,
    ).toBe(201);
    await w.settleAll();
    const ret = emulator.flows.requestReturn(w.store.domain, returned.id, [
      { lineItemId: returned.lineItems[0]!.id, quantity: 2, returnReason: "DEFECTIVE" },
    ]);
    emulator.flows.approveReturn(w.store.domain, ret);
    await w.settleAll();

    const { page, problems } = await signIn("olaf", "order operator 1");

    // Pickup: ready, then a refused substitution and cancellation, then picked up.
    await page.goto(`${hub.url}/console/#/orders/${pickupId}`);
    await page.getByRole("heading", { name: "Act on this order" }).waitFor();
    await expect.poll(() => page.locator("#delivery-summary").textContent()).toContain("Pickup at W2");
    await page.getByRole("button", { name: "Ready for pickup" }).click();
    await page.getByRole("button", { name: "Tell Shopify it is ready" }).click();
    await expect.poll(() => page.locator("#order-action-done").textContent()).toContain("sent to Shopify");
    await actionsDone();
    expect(emulator.flows.fulfillmentOrders(w.store.domain, pickup)[0]!.status).toBe("OPEN");
    await page.reload();
    await expect.poll(() => page.locator("#delivery-summary").textContent()).not.toContain("not yet");

    await page.getByRole("button", { name: "Substitute a line…" }).click();
    await page.locator("#substitute-sku").fill("NO-SUCH-SKU");
    await page.locator("#substitute-reason").fill("out of stock");
    await page.getByRole("button", { name: "Substitute…" }).click();
    await page.getByRole("button", { name: "Yes, substitute" }).click();
    await expect.poll(() => page.locator("#substitute-sku-error").textContent()).toContain("UNLINKED_SKU");

    await page.getByRole("button", { name: "Cancel units of a line…" }).click();
    await page.locator("#cancel-lines-quantity").fill("5");
    await page.locator("#cancel-lines-reason").fill("out of stock");
    await page.getByRole("button", { name: "Cancel the units…" }).click();
    await page.getByRole("button", { name: "Yes, cancel the units" }).click();
    await expect
      .poll(() => page.locator("#cancel-lines-quantity-error").textContent())
      .toContain("QUANTITY_EXCEEDS_UNSHIPPED");
    expect(
      await db
        .selectFrom("order_actions")
        .select("kind")
        .where("kind", "in", ["substitute", "cancel_lines"])
        .execute(),
    ).toEqual([]);

    await page.getByRole("button", { name: "Picked up…" }).click();
    await page.getByRole("button", { name: "Record the pickup…" }).click();
    expect(await page.getByRole("alertdialog").textContent()).toContain("took everything");
    await page.getByRole("button", { name: "Yes, record the pickup" }).click();
    await expect.poll(() => page.locator("#order-action-done").textContent()).toContain("Picked up");
    await w.settleAll();
    expect(emulator.control.getOrder(w.store.domain, pickup).displayFulfillmentStatus).toBe("FULFILLED");
    expect((await screen(page, "order-actions-pickup")).filter((p) => !p.startsWith("tablet"))).toEqual([]);

    // A web order: hold, release, move to the other store, then cancel (confirmed).
    await page.goto(`${hub.url}/console/#/orders/${webId}`);
    await page.getByRole("button", { name: "Place on hold…" }).click();
    await page.locator("#hold-reason").selectOption("AWAITING_PAYMENT");
    await page.locator("#hold-note").fill("bank transfer");
    await page.getByRole("button", { name: "Hold the order" }).click();
    await expect.poll(() => page.locator("#order-action-done").textContent()).toContain("sent to Shopify");
    await actionsDone();
    expect(emulator.flows.fulfillmentOrders(w.store.domain, web.id)[0]!.status).toBe("ON_HOLD");
    await page.reload();
    await expect.poll(() => page.locator("#delivery-summary").textContent()).toContain("awaiting payment");
    await page.getByRole("button", { name: "Release the hold" }).click();
    await page.getByRole("button", { name: "Release", exact: true }).click();
    await expect.poll(() => page.locator("#order-action-done").textContent()).toContain("sent to Shopify");
    await actionsDone();
    expect(emulator.flows.fulfillmentOrders(w.store.domain, web.id)[0]!.status).toBe("OPEN");

    await page.reload();
    await page.getByRole("button", { name: "Ship from another store…" }).click();
    await page.locator("#move-warehouse").selectOption("W2");
    await page.getByRole("button", { name: "Move the order" }).click();
    await expect.poll(() => page.locator("#order-action-done").textContent()).toContain("sent to Shopify");
    await actionsDone();
    expect(
      emulator.flows.fulfillmentOrders(w.store.domain, web.id).find((f) => f.status === "OPEN")?.locationId,
    ).toBe(w.locations[1]!.id);

    await page.getByRole("button", { name: "Cancel the order…" }).click();
    await page.locator("#cancel-reason").selectOption("CUSTOMER");
    await page.getByRole("button", { name: "Cancel the order…" }).last().click();
    // Nothing is sent before the confirmation.
    expect(
      await db.selectFrom("order_actions").select("kind").where("kind", "=", "cancel").execute(),
    ).toEqual([]);
    expect(await page.getByRole("alertdialog").textContent()).toContain("cannot be undone");
    await page.getByRole("button", { name: "Yes, cancel the order" }).click();
    await expect.poll(() => page.locator("#order-action-done").textContent()).toContain("sent to Shopify");
    await actionsDone();
    expect(emulator.control.getOrder(w.store.domain, web.id).cancelledAt).not.toBeNull();
    await w.expectShopifyAsModel();

    // A return: one unit back on sale at W1, one damaged.
    await page.goto(`${hub.url}/console/#/orders/${returnedId}`);
    await page.getByRole("button", { name: "What came back…" }).waitFor();
    expect(await page.locator("#order-act button").count()).toBe(0);
    await page.getByRole("button", { name: "What came back…" }).click();
    await page.locator("#receipt-0-restock").fill("1");
    await page.locator("#receipt-0-damaged").fill("1");
    await page.getByRole("button", { name: "Record and tell Shopify" }).click();
    // Restocked without a warehouse: the API's code under the warehouse field.
    await expect.poll(() => page.locator("#receipt-0-warehouse-error").textContent()).toMatch(/[A-Z_]+:/);
    await page.locator("#receipt-0-warehouse").selectOption("W1");
    await page.getByRole("button", { name: "Record and tell Shopify" }).click();
    await expect.poll(() => page.locator("#receipt-done").textContent()).toContain("recorded");
    await actionsDone();
    const back = await db
      .selectFrom("movements as m")
      .innerJoin("variants as v", "v.id", "m.variant_id")
      .innerJoin("warehouses as h", "h.id", "m.warehouse_id")
      .select(["v.sku", "h.code", "m.quantity"])
      .where("m.type", "=", "return")
      .execute();
    expect(back.map((m) => [m.sku, m.code, Number(m.quantity)])).toEqual([["ACT-A", "W1", 1]]);
    await w.expectShopifyAsModel();
    expect((await screen(page, "order-actions-return")).filter((p) => !p.startsWith("tablet"))).toEqual([]);
    expect(problems).toEqual([]);

    // What the viewer must not see, as the operator sees it on an open order.
    await page.goto(`${hub.url}/console/#/orders/${openId}`);
    await page.getByRole("button", { name: "Cancel the order…" }).waitFor();
    expect(await page.locator("#order-act button").count()).toBe(5);

    // The viewer: the same page, no action at all.
    const viewer = await signIn("vera", "order viewer 1");
    await viewer.page.goto(`${hub.url}/console/#/orders/${openId}`);
    await viewer.page.getByRole("heading", { name: "Order actions" }).waitFor();
    await expect.poll(() => viewer.page.locator("#lines-table").textContent()).toContain("ACT-B");
    await expect.poll(() => viewer.page.locator("#fulfillment-orders").count()).toBe(1);
    expect(await viewer.page.getByRole("heading", { name: "Act on this order" }).count()).toBe(0);
    expect(await viewer.page.locator("#main button").count()).toBe(0);
    await viewer.page.goto(`${hub.url}/console/#/orders/${returnedId}`);
    await expect.poll(() => viewer.page.locator("#returns-table").textContent()).toContain("defective");
    expect(await viewer.page.locator("#main button").count()).toBe(0);
    expect(viewer.problems).toEqual([]);
  }, 240_000);
});
