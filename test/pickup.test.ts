/**
 * Store pickup and ship-from-store end to end against the emulator, on both databases: a pickup
 * order is marked in the feed with its location, made ready (Shopify prepares it for the
 * customer), collected (a shipment from the pickup warehouse becomes Shopify's fulfillment), and
 * a line out of stock is cancelled with a reason and a damaged unit substituted with another SKU; a held order shows as held and its shipment waits
 * for the release; an order moved to another store takes its reservation to that store's warehouse. Shopify ends each step holding what the hub says.
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

describe.each(DIALECTS)("store pickup and ship-from-store on %s", (dialect) => {
  let hub: TestHub;
  let n = 0;
  beforeAll(async () => {
    hub = await startWorldHub(dialect, app);
  });
  afterAll(async () => hub?.close());

  const world = async (initial: number) =>
    withOrderOperations(
      await createWorld({
        emulator,
        hub,
        app,
        domain: `pickup-${dialect}-${++n}.myshopify.com`,
        skus: [`PU-${dialect}-${n}-A`, `PU-${dialect}-${n}-B`],
        mode: "absolute",
        initial,
      }),
    );
  const stock = async (w: OpsWorld, sku: string, warehouse: string) => {
    const { body } = await w.call(
      "GET",
      `/api/v1/stock?sku=${encodeURIComponent(sku)}&warehouse=${warehouse}`,
    );
    const row = body.items[0] as { onHand: number; reserved: number; sellable: number };
    return { onHand: row.onHand, reserved: row.reserved, sellable: row.sellable };
  };
  const level = (w: OpsWorld, sku: string, i: number) => shopifyLevel(w.store, sku, w.locations[i]!.id);

  it("a pickup order: in the feed with its location, ready, a line out of stock cancelled, a unit substituted, collected", async () => {
    const w = await world(10);
    const [a, b] = w.store.variants.map((v) => v.sku) as [string, string];
    const pickupAt = w.locations[1]!;
    const gid = emulator.flows.placePickupOrder(w.store.domain, {
      lineItems: [
        { sku: a, quantity: 2 },
        { sku: b, quantity: 1 },
      ],
      pickupLocationId: pickupAt.id,
    });
    await w.settleAll();
    const doc = await w.order(gid);
    expect(doc.fulfillment).toMatchObject({
      deliveryMethod: "pick_up",
      pickupLocation: { id: pickupAt.id, warehouse: "W2" },
      readyForPickupAt: null,
      held: false,
    });
    expect(await stock(w, a, "W2")).toEqual({ onHand: 10, reserved: 2, sellable: 8 });
    const orderId = await w.orderId(gid);

    // A shipping order cannot be made ready for pickup.
    const web = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku: a, quantity: 1 }],
      locationId: w.locations[0]!.id,
    });
    await w.settleAll();
    const refused = await w.call("POST", `/api/v1/orders/${await w.orderId(web.id)}/pickup/ready`, {
      requestId: `r-web-${n}`,
    });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(refused.body.error.details[0].code).toBe("NOT_PICKUP");

    const ready = await w.call("POST", `/api/v1/orders/${orderId}/pickup/ready`, { requestId: `ready-${n}` });
    expect(ready.status, JSON.stringify(ready.body)).toBe(202);
    const again = await w.call("POST", `/api/v1/orders/${orderId}/pickup/ready`, { requestId: `ready-${n}` });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.duplicate).toBe(true);
    await w.settleAll();
    const action = await w.call("GET", `/api/v1/order-actions/${ready.body.action.id}`);
    expect(action.body).toMatchObject({ status: "done", kind: "ready_for_pickup" });
    expect((await w.order(gid)).fulfillment.readyForPickupAt).toEqual(expect.any(Number));
    const prepared = emulator.control.webhookDeliveries({
      shop: w.store.domain,
      topic: "fulfillment_orders/line_items_prepared_for_pickup",
    });
    expect(prepared.length).toBeGreaterThan(0);

    // B turns out to be out of stock: the back office cancels that line with a reason.
    const line = (doc.lines as { sku: string; shopifyLineId: string }[]).find((l) => l.sku === b)!;
    const cancel = await w.call("POST", `/api/v1/orders/${orderId}/cancel-lines`, {
      requestId: `oos-${n}`,
      reason: "out of stock at the store",
      lines: [{ lineId: line.shopifyLineId, quantity: 1 }],
    });
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(202);
    const tooMany = await w.call("POST", `/api/v1/orders/${orderId}/cancel-lines`, {
      requestId: `oos-too-many-${n}`,
      reason: "x",
      lines: [{ lineId: line.shopifyLineId, quantity: 5 }],
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.details[0].code).toBe("QUANTITY_EXCEEDS_UNSHIPPED");
    await w.settleAll();
    const cancelled = await w.call("GET", `/api/v1/order-actions/${cancel.body.action.id}`);
    expect(cancelled.body.status, JSON.stringify(cancelled.body)).toBe("done");
    expect(await stock(w, b, "W2")).toEqual({ onHand: 10, reserved: 0, sellable: 10 });
    expect(level(w, b, 1)).toEqual({ available: 10, committed: 0, onHand: 10 });

    // One unit of A turns out damaged: the customer takes a B instead (one order edit in Shopify).
    const lineA = (doc.lines as { sku: string; shopifyLineId: string }[]).find((l) => l.sku === a)!;
    const unlinked = await w.call("POST", `/api/v1/orders/${orderId}/substitute`, {
      requestId: `sub-x-${n}`,
      lineId: lineA.shopifyLineId,
      quantity: 1,
      sku: "NOT-LINKED",
      reason: "damaged",
    });
    expect(unlinked.status).toBe(400);
    expect(unlinked.body.error.details[0].code).toBe("UNLINKED_SKU");
    const sub = await w.call("POST", `/api/v1/orders/${orderId}/substitute`, {
      requestId: `sub-${n}`,
      lineId: lineA.shopifyLineId,
      quantity: 1,
      sku: b,
      reason: "damaged on the shelf",
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(202);
    await w.settleAll();
    const subbed = await w.call("GET", `/api/v1/order-actions/${sub.body.action.id}`);
    expect(subbed.body.status, JSON.stringify(subbed.body)).toBe("done");
    expect(await stock(w, a, "W2")).toEqual({ onHand: 10, reserved: 1, sellable: 9 });
    expect(await stock(w, b, "W2")).toEqual({ onHand: 10, reserved: 1, sellable: 9 });
    await w.expectShopifyAsModel();

    // Collected: a shipment from the pickup warehouse, then Shopify's fulfillment.
    const collected = await w.call("POST", `/api/v1/orders/${orderId}/pickup/collected`, {
      id: `collect-${n}`,
    });
    expect(collected.status, JSON.stringify(collected.body)).toBe(201);
    expect(collected.body.shipment.warehouse).toBe("W2");
    await w.settleAll();
    expect(await stock(w, a, "W2")).toEqual({ onHand: 9, reserved: 0, sellable: 9 });
    expect(await stock(w, b, "W2")).toEqual({ onHand: 9, reserved: 0, sellable: 9 });
    expect(level(w, a, 1)).toEqual({ available: 9, committed: 0, onHand: 9 });
    const shipment = await w.call("GET", `/api/v1/shipments/collect-${n}`);
    expect(shipment.body.status).toBe("applied");
    expect(emulator.control.getOrder(w.store.domain, gid).displayFulfillmentStatus).toBe("FULFILLED");
    await w.expectShopifyAsModel();
  });

  it("a hold: shown as held in the feed, its shipment waits, and goes once released", async () => {
    const w = await world(8);
    const [a] = w.store.variants.map((v) => v.sku) as [string];
    const placed = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku: a, quantity: 1 }],
      locationId: w.locations[0]!.id,
    });
    await w.settleAll();
    expect((await w.order(placed.id)).fulfillment).toMatchObject({ held: false, holds: [] });
    const fo = emulator.flows.fulfillmentOrders(w.store.domain, placed.id)[0]!;
    emulator.control.holdFulfillmentOrder(w.store.domain, fo.id, {
      reason: "HIGH_RISK_OF_FRAUD",
      reasonNotes: "fraud review",
    });
    await w.settleAll();
    const held = await w.order(placed.id);
    expect(held.fulfillment).toMatchObject({
      held: true,
      holds: [{ reason: "HIGH_RISK_OF_FRAUD", note: "fraud review" }],
      fulfillmentOrders: [expect.objectContaining({ id: fo.id, status: "on_hold" })],
    });
    // Still reserved while held.
    expect(await stock(w, a, "W1")).toEqual({ onHand: 8, reserved: 1, sellable: 7 });

    // The back office ships anyway: the shipment waits for the release.
    const orderId = await w.orderId(placed.id);
    const shipped = await w.call("POST", "/api/v1/shipments", {
      id: `held-ship-${n}`,
      orderId,
      warehouse: "W1",
      lines: [{ sku: a, quantity: 1 }],
    });
    expect(shipped.status, JSON.stringify(shipped.body)).toBe(201);
    await w.settleAll();
    expect((await w.call("GET", `/api/v1/shipments/held-ship-${n}`)).body.status).toBe("parked");
    expect(level(w, a, 0)).toEqual({ available: 7, committed: 1, onHand: 8 });
    await w.expectShopifyAsModel();

    emulator.control.releaseFulfillmentOrderHold(w.store.domain, fo.id);
    await w.settleAll();
    expect((await w.order(placed.id)).fulfillment).toMatchObject({ held: false, holds: [] });
    expect((await w.call("GET", `/api/v1/shipments/held-ship-${n}`)).body.status).toBe("applied");
    expect(level(w, a, 0)).toEqual({ available: 7, committed: 0, onHand: 7 });
    await w.expectShopifyAsModel();
  });

  it("a hold placed and released by the back office (fulfillmentOrderHold / ReleaseHold), idempotent", async () => {
    const w = await world(5);
    const [a] = w.store.variants.map((v) => v.sku) as [string];
    const placed = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku: a, quantity: 2 }],
      locationId: w.locations[0]!.id,
    });
    await w.settleAll();
    const orderId = await w.orderId(placed.id);
    const notHeld = await w.call("POST", `/api/v1/orders/${orderId}/release-hold`, {
      requestId: `rel0-${n}`,
    });
    expect(notHeld.status).toBe(409);
    expect(notHeld.body.error.details[0].code).toBe("NOT_HELD");
    const badReason = await w.call("POST", `/api/v1/orders/${orderId}/hold`, {
      requestId: `hold-${n}`,
      reason: "BECAUSE",
    });
    expect(badReason.status).toBe(400);
    const hold = await w.call("POST", `/api/v1/orders/${orderId}/hold`, {
      requestId: `hold-${n}`,
      reason: "AWAITING_PAYMENT",
      note: "bank transfer",
    });
    expect(hold.status, JSON.stringify(hold.body)).toBe(202);
    expect(
      (
        await w.call("POST", `/api/v1/orders/${orderId}/hold`, {
          requestId: `hold-${n}`,
          reason: "AWAITING_PAYMENT",
          note: "bank transfer",
        })
      ).status,
    ).toBe(200);
    await w.settleAll();
    const heldAction = (await w.call("GET", `/api/v1/order-actions/${hold.body.action.id}`)).body;
    expect(heldAction.status, JSON.stringify(heldAction)).toBe("done");
    const fo = emulator.flows.fulfillmentOrders(w.store.domain, placed.id)[0]!;
    expect(fo.status).toBe("ON_HOLD");
    expect(fo.holds).toHaveLength(1);
    expect((await w.order(placed.id)).fulfillment).toMatchObject({
      held: true,
      holds: [{ reason: "AWAITING_PAYMENT", note: "bank transfer" }],
    });
    expect(await stock(w, a, "W1")).toEqual({ onHand: 5, reserved: 2, sellable: 3 });
    const release = await w.call("POST", `/api/v1/orders/${orderId}/release-hold`, { requestId: `rel-${n}` });
    expect(release.status, JSON.stringify(release.body)).toBe(202);
    await w.settleAll();
    expect((await w.call("GET", `/api/v1/order-actions/${release.body.action.id}`)).body.status).toBe("done");
    expect(emulator.flows.fulfillmentOrders(w.store.domain, placed.id)[0]!.status).toBe("OPEN");
    expect((await w.order(placed.id)).fulfillment).toMatchObject({ held: false, holds: [] });
    await w.expectShopifyAsModel();
  });

  it("ship-from-store: an order moved to another store takes its reservation there", async () => {
    const w = await world(6);
    const [a] = w.store.variants.map((v) => v.sku) as [string];
    const placed = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku: a, quantity: 2 }],
      locationId: w.locations[0]!.id,
    });
    await w.settleAll();
    expect(await stock(w, a, "W1")).toEqual({ onHand: 6, reserved: 2, sellable: 4 });
    const orderId = await w.orderId(placed.id);

    const unknown = await w.call("POST", `/api/v1/orders/${orderId}/move`, {
      requestId: `mv-x-${n}`,
      warehouse: "NOPE",
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe("UNKNOWN_WAREHOUSE");

    const move = await w.call("POST", `/api/v1/orders/${orderId}/move`, {
      requestId: `mv-${n}`,
      warehouse: "W2",
    });
    expect(move.status, JSON.stringify(move.body)).toBe(202);
    await w.settleAll();
    expect((await w.call("GET", `/api/v1/order-actions/${move.body.action.id}`)).body).toMatchObject({
      status: "done",
      result: { reservationMoved: true },
    });
    expect(await stock(w, a, "W1")).toEqual({ onHand: 6, reserved: 0, sellable: 6 });
    expect(await stock(w, a, "W2")).toEqual({ onHand: 6, reserved: 2, sellable: 4 });
    expect(level(w, a, 0)).toEqual({ available: 6, committed: 0, onHand: 6 });
    expect(level(w, a, 1)).toEqual({ available: 4, committed: 2, onHand: 6 });
    const doc = await w.order(placed.id);
    expect(doc.warehouse).toBe("W2");
    expect(doc.fulfillment.fulfillmentOrders[0]).toMatchObject({
      locationId: w.locations[1]!.id,
      warehouse: "W2",
    });
    await w.expectShopifyAsModel();

    // A later version of the order keeps the reservation where the units now wait.
    emulator.control.updateOrder(w.store.domain, placed.id, { note: "ring the bell" });
    await w.settleAll();
    expect(await stock(w, a, "W2")).toEqual({ onHand: 6, reserved: 2, sellable: 4 });

    // The new store ships it.
    const shipped = await w.call("POST", "/api/v1/shipments", {
      id: `mv-ship-${n}`,
      orderId,
      warehouse: "W2",
      lines: [{ sku: a, quantity: 2 }],
    });
    expect(shipped.status, JSON.stringify(shipped.body)).toBe(201);
    await w.settleAll();
    expect((await w.call("GET", `/api/v1/shipments/mv-ship-${n}`)).body.status).toBe("applied");
    expect(await stock(w, a, "W2")).toEqual({ onHand: 4, reserved: 0, sellable: 4 });
    await w.expectShopifyAsModel();

    // Moving a closed fulfillment order is refused by Shopify; the action says so.
    const late = await w.call("POST", `/api/v1/orders/${orderId}/move`, {
      requestId: `mv-late-${n}`,
      warehouse: "W1",
    });
    expect(late.status).toBe(202);
    await w.settleAll();
    expect((await w.call("GET", `/api/v1/order-actions/${late.body.action.id}`)).body).toMatchObject({
      status: "failed",
      errorCode: "NOTHING_TO_MOVE",
    });
  });
});
