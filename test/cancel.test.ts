/**
 * Cancellation from the back office end to end against the emulator, on both databases: orderCancel
 * with reason, refund and restock; the reservation released; units the back office had already
 * shipped through the hub (sold in the ledger) that Shopify never fulfilled come back once under the
 * store's restock rule; a second request changes nothing; Shopify ends as the hub says.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../emulator/index.ts";
import { DIALECTS } from "./support/databases.ts";
import type { TestHub } from "./support/hub.ts";
import { type OpsWorld, withOrderOperations } from "./support/order-ops.ts";
import { shopifyLevel } from "./support/shopify.ts";
import { createWorld, startWorldEmulator, startWorldHub } from "./support/stock-world.ts";

let emulator: Emulator;
let app: { clientId: string; clientSecret: string };
beforeAll(async () => {
  ({ emulator, app } = await startWorldEmulator());
});
afterAll(async () => emulator?.close());

describe.each(DIALECTS)("cancellation from the back office on %s", (dialect) => {
  let hub: TestHub;
  let n = 0;
  beforeAll(async () => {
    hub = await startWorldHub(dialect, app);
  });
  afterAll(async () => hub?.close());

  const stock = async (w: OpsWorld, sku: string, warehouse = "W1") => {
    const { body } = await w.call(
      "GET",
      `/api/v1/stock?sku=${encodeURIComponent(sku)}&warehouse=${warehouse}`,
    );
    const row = body.items[0] as { onHand: number; reserved: number; sellable: number };
    return { onHand: row.onHand, reserved: row.reserved, sellable: row.sellable };
  };
  const movements = async (prefix: string) =>
    (
      await hub.ctx.database.db
        .selectFrom("movements")
        .select(["external_id", "quantity"])
        .where("external_id", "like", `${prefix}%`)
        .execute()
    ).map((m) => [m.external_id, Number(m.quantity)]);

  it("cancels with refund and restock, once, and restocks units already sold through the hub", async () => {
    const w = await withOrderOperations(
      await createWorld({
        emulator,
        hub,
        app,
        domain: `cancel-${dialect}-${++n}.myshopify.com`,
        skus: [`CX-${dialect}-${n}-A`],
        mode: "absolute",
        initial: 10,
        restockRule: "order_warehouse",
      }),
    );
    const [a] = w.store.variants.map((v) => v.sku) as [string];
    const placed = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku: a, quantity: 3 }],
      locationId: w.locations[0]!.id,
    });
    await w.settleAll();
    const orderId = await w.orderId(placed.id);
    expect(await stock(w, a)).toEqual({ onHand: 10, reserved: 3, sellable: 7 });

    // The back office shipped one unit through the hub; Shopify has not fulfilled it yet.
    const shipped = await w.call("POST", "/api/v1/shipments", {
      id: `cx-ship-${n}`,
      orderId,
      warehouse: "W1",
      lines: [{ sku: a, quantity: 1 }],
    });
    expect(shipped.status, JSON.stringify(shipped.body)).toBe(201);
    expect(await stock(w, a)).toEqual({ onHand: 9, reserved: 2, sellable: 7 });

    const bad = await w.call("POST", `/api/v1/orders/${orderId}/cancel`, {
      requestId: `cx-bad-${n}`,
      reason: "BORED",
      refund: true,
      restock: true,
      notifyCustomer: false,
    });
    expect(bad.status).toBe(400);
    const body = {
      requestId: `cx-${n}`,
      reason: "CUSTOMER",
      refund: true,
      restock: true,
      notifyCustomer: true,
    };
    const cancel = await w.call("POST", `/api/v1/orders/${orderId}/cancel`, body);
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(202);
    await w.opsStep();
    const done = await w.call("GET", `/api/v1/order-actions/${cancel.body.action.id}`);
    expect(done.body, JSON.stringify(done.body)).toMatchObject({
      status: "done",
      result: { restockedInLedger: 1 },
    });
    expect((await w.call("GET", `/api/v1/shipments/cx-ship-${n}`)).body.status).toBe("rejected");

    await w.settleAll();
    const doc = await w.order(placed.id);
    expect(doc.status).toBe("cancelled");
    expect(doc.financialStatus).toBe("refunded");
    expect(emulator.control.orderPayload(w.store.domain, placed.id)).toMatchObject({
      cancel_reason: "customer",
    });
    expect(await stock(w, a)).toEqual({ onHand: 10, reserved: 0, sellable: 10 });
    expect(shopifyLevel(w.store, a, w.locations[0]!.id)).toEqual({ available: 10, committed: 0, onHand: 10 });
    expect(await movements(`cancel-restock:${placed.id}`)).toEqual([[expect.any(String), 1]]);
    await w.expectShopifyAsModel();

    // The same request again, and a new request: nothing more happens.
    const again = await w.call("POST", `/api/v1/orders/${orderId}/cancel`, body);
    expect(again.status).toBe(200);
    expect(again.body.duplicate).toBe(true);
    const conflict = await w.call("POST", `/api/v1/orders/${orderId}/cancel`, { ...body, restock: false });
    expect(conflict.status).toBe(409);
    const second = await w.call("POST", `/api/v1/orders/${orderId}/cancel`, {
      ...body,
      requestId: `cx2-${n}`,
    });
    expect(second.status).toBe(202);
    await w.settleAll();
    expect((await w.call("GET", `/api/v1/order-actions/${second.body.action.id}`)).body.status).toBe("done");
    expect(await movements(`cancel-restock:${placed.id}`)).toHaveLength(1);
    expect(await stock(w, a)).toEqual({ onHand: 10, reserved: 0, sellable: 10 });
    await w.expectShopifyAsModel();

    // Closing: an order action too.
    const close = await w.call("POST", `/api/v1/orders/${orderId}/close`, { requestId: `close-${n}` });
    expect(close.status).toBe(202);
    await w.settleAll();
    expect((await w.call("GET", `/api/v1/order-actions/${close.body.action.id}`)).body.status).toBe("done");
    const actions = await w.call("GET", `/api/v1/orders/${orderId}/actions`);
    expect(actions.body.items.map((x: { kind: string }) => x.kind)).toEqual(["cancel", "cancel", "close"]);
  });

  it("closes orders fully fulfilled and paid when the store asks for it", async () => {
    const w = await withOrderOperations(
      await createWorld({
        emulator,
        hub,
        app,
        domain: `cancel-${dialect}-${++n}.myshopify.com`,
        skus: [`CX-${dialect}-${n}-A`],
        mode: "absolute",
        initial: 5,
      }),
    );
    const [a] = w.store.variants.map((v) => v.sku) as [string];
    const url = `/api/v1/stores/${w.store.domain}/order-operation-settings`;
    expect((await w.call("GET", url)).body).toEqual({ closeFulfilledOrders: false });
    const placed = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku: a, quantity: 1 }],
      locationId: w.locations[0]!.id,
    });
    const open = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku: a, quantity: 1 }],
      locationId: w.locations[0]!.id,
    });
    await w.settleAll();
    const shipped = await w.call("POST", "/api/v1/shipments", {
      id: `close-ship-${n}`,
      orderId: await w.orderId(placed.id),
      warehouse: "W1",
      lines: [{ sku: a, quantity: 1 }],
    });
    expect(shipped.status).toBe(201);
    await w.settleAll();
    // Off by default: nothing is closed.
    expect(emulator.control.orderPayload(w.store.domain, placed.id)).toMatchObject({ closed_at: null });
    const bad = await w.call("PUT", url, { closeFulfilledOrders: "yes" });
    expect(bad.status).toBe(400);
    const set = await w.call("PUT", url, { closeFulfilledOrders: true });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    await w.settleAll();
    expect(emulator.control.orderPayload(w.store.domain, placed.id)).toMatchObject({
      closed_at: expect.any(String),
    });
    expect(emulator.control.orderPayload(w.store.domain, open.id)).toMatchObject({ closed_at: null });
    const actions = await w.call("GET", `/api/v1/orders/${await w.orderId(placed.id)}/actions`);
    expect(actions.body.items).toEqual([expect.objectContaining({ kind: "close", status: "done" })]);
    await w.settleAll();
    expect(
      (await w.call("GET", `/api/v1/orders/${await w.orderId(placed.id)}/actions`)).body.items,
    ).toHaveLength(1);
  });

  it("a cancellation without restock releases the reservation; the hub's count stays the master", async () => {
    const w = await withOrderOperations(
      await createWorld({
        emulator,
        hub,
        app,
        domain: `cancel-${dialect}-${++n}.myshopify.com`,
        skus: [`CX-${dialect}-${n}-A`],
        mode: "delta",
        initial: 5,
        restockRule: "none",
      }),
    );
    const [a] = w.store.variants.map((v) => v.sku) as [string];
    const placed = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku: a, quantity: 2 }],
      locationId: w.locations[0]!.id,
    });
    await w.settleAll();
    const orderId = await w.orderId(placed.id);
    const cancel = await w.call("POST", `/api/v1/orders/${orderId}/cancel`, {
      requestId: `cx-nr-${n}`,
      reason: "INVENTORY",
      refund: false,
      restock: false,
      notifyCustomer: false,
      staffNote: "damaged in the stockroom",
    });
    expect(cancel.status).toBe(202);
    await w.settleAll();
    expect(await stock(w, a)).toEqual({ onHand: 5, reserved: 0, sellable: 5 });
    expect((await w.order(placed.id)).status).toBe("cancelled");
    await w.expectShopifyAsModel();
  });
});
