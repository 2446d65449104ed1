// Shopify's inventory quantity names through an order's whole life, read back through the Admin
// GraphQL API after each event: on_hand = available + committed + unavailable.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "./index.ts";
import { gql, type Seeded, seedShop } from "./test-helpers.ts";

const SHOP = "states.myshopify.com";
let emu: Emulator;
let s: Seeded;
let store2: string; // a second location
let receiver: Server;
let skuSeq = 0;

interface Q {
  available: number;
  committed: number;
  on_hand: number;
}

beforeAll(async () => {
  emu = await startEmulator();
  s = seedShop(emu, SHOP);
  store2 = emu.control.createLocation(SHOP, { name: "Store 2" }).id;
  receiver = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const uri = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  for (const topic of [
    "INVENTORY_LEVELS_UPDATE",
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "ORDERS_EDITED",
    "ORDERS_CANCELLED",
    "FULFILLMENTS_CREATE",
    "FULFILLMENTS_UPDATE",
    "REFUNDS_CREATE",
  ]) {
    const r = await q(
      `mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
        webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) { userErrors { message } } }`,
      { topic, sub: { uri } },
    );
    expect(r.webhookSubscriptionCreate.userErrors).toEqual([]);
  }
});
afterAll(async () => {
  await emu.close();
  await new Promise((r) => receiver.close(r));
});

// biome-ignore lint/suspicious/noExplicitAny: GraphQL data is inspected ad hoc
async function q(query: string, variables?: Record<string, unknown>): Promise<any> {
  const r = await gql(emu, s.token, query, variables, SHOP);
  expect(r.body.errors).toBeUndefined();
  return r.body.data;
}

/** A fresh product with `stock` available at each given location. */
function product(stock: Record<string, number>) {
  const sku = `ST-${++skuSeq}`;
  const p = emu.control.createProduct(SHOP, {
    title: sku,
    variants: [{ sku, price: "5.00", inventory: stock }],
  });
  const v = p.variants[0]!;
  return { sku, variantId: v.id, itemId: v.inventoryItemId };
}

/** available / committed / on_hand of an item at a location, read through the Admin API. */
async function level(itemId: string, locationId = s.locationId): Promise<Q> {
  const data = await q(
    `query($item: ID!, $loc: ID!) { inventoryItem(id: $item) { inventoryLevel(locationId: $loc) {
      quantities(names: ["available", "committed", "on_hand"]) { name quantity } } } }`,
    { item: itemId, loc: locationId },
  );
  return Object.fromEntries(
    data.inventoryItem.inventoryLevel.quantities.map((x: { name: string; quantity: number }) => [
      x.name,
      x.quantity,
    ]),
  ) as unknown as Q;
}

/** Webhook events fired since `mark` (topic, parsed payload). */
function eventsSince(mark: number) {
  return emu.control
    .webhookDeliveries({ shop: SHOP })
    .slice(mark)
    .map((d) => ({ topic: d.topic, body: JSON.parse(d.body) }));
}
const mark = () => emu.control.webhookDeliveries({ shop: SHOP }).length;
const topics = (m: number) => eventsSince(m).map((e) => e.topic);
const levelEvents = (m: number, itemId: string) =>
  eventsSince(m)
    .filter((e) => e.topic === "inventory_levels/update" && itemId.endsWith(`/${e.body.inventory_item_id}`))
    .map((e) => e.body);

const FULFILL = `mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
  fulfillment { id status location { id } } userErrors { field message } } }`;

describe("an order's life in inventory states", () => {
  it("placing an order commits units; cancelling with restock releases them", async () => {
    const p = product({ [s.locationId]: 10 });
    let m = mark();
    const o = emu.control.placeOrder(SHOP, { lineItems: [{ sku: p.sku, quantity: 3 }] });
    expect(await level(p.itemId)).toEqual({ available: 7, committed: 3, on_hand: 10 });
    expect(levelEvents(m, p.itemId)).toEqual([
      expect.objectContaining({
        inventory_item_id: Number(p.itemId.split("/").pop()),
        location_id: Number(s.locationId.split("/").pop()),
        available: 7,
        admin_graphql_api_id: `gid://shopify/InventoryLevel/${s.locationId.split("/").pop()}?inventory_item_id=${p.itemId.split("/").pop()}`,
      }),
    ]);
    expect(Object.keys(levelEvents(m, p.itemId)[0]).sort()).toEqual(
      ["admin_graphql_api_id", "available", "inventory_item_id", "location_id", "updated_at"].sort(),
    );
    expect(eventsSince(m).find((e) => e.topic === "orders/create")!.body.source_name).toBe("web");

    m = mark();
    emu.control.cancelOrder(SHOP, o.id, { restock: true });
    expect(await level(p.itemId)).toEqual({ available: 10, committed: 0, on_hand: 10 });
    expect(levelEvents(m, p.itemId).map((e) => e.available)).toEqual([10]);
  });

  it("a fulfilment made in Shopify (control.fulfillOrder) ships committed units out of on_hand", async () => {
    const p = product({ [s.locationId]: 10 });
    const o = emu.control.placeOrder(SHOP, { lineItems: [{ sku: p.sku, quantity: 4 }] });
    const lineItemId = o.lineItems[0]!.id;
    let m = mark();
    const f = emu.control.fulfillOrder(SHOP, o.id, {
      lines: [{ lineItemId, quantity: 1 }],
      tracking: [{ number: "1Z-A", company: "UPS" }],
    });
    expect(f).toMatchObject({
      status: "SUCCESS",
      locationId: s.locationId,
      lineItems: [{ lineItemId, quantity: 1 }],
      tracking: [{ number: "1Z-A", company: "UPS", url: null }],
    });
    expect(f.id).toMatch(/^gid:\/\/shopify\/Fulfillment\/\d+$/);
    expect(await level(p.itemId)).toEqual({ available: 6, committed: 3, on_hand: 9 });
    expect(topics(m)).toEqual(["inventory_levels/update", "fulfillments/create", "orders/updated"]);
    expect(levelEvents(m, p.itemId).map((e) => e.available)).toEqual([6]);
    const created = eventsSince(m).find((e) => e.topic === "fulfillments/create")!.body;
    expect(created).toMatchObject({ status: "success", tracking_number: "1Z-A", order_id: o.legacyId });

    // Without lines: everything that remains.
    m = mark();
    const rest = emu.control.fulfillOrder(SHOP, o.id);
    expect(rest.lineItems).toEqual([{ lineItemId, quantity: 3 }]);
    expect(await level(p.itemId)).toEqual({ available: 6, committed: 0, on_hand: 6 });
    expect(emu.control.getOrder(SHOP, o.id)).toMatchObject({
      displayFulfillmentStatus: "FULFILLED",
      fulfillmentOrders: [{ status: "CLOSED" }],
    });
    expect(() => emu.control.fulfillOrder(SHOP, o.id)).toThrow(/No fulfillment order line items/);
    expect(() => emu.control.fulfillOrder(SHOP, o.id, { lines: [{ lineItemId, quantity: 1 }] })).toThrow(
      /left to fulfil/,
    );
  });

  it("fulfillmentCreate moves the same quantities and now fires inventory_levels/update", async () => {
    const p = product({ [s.locationId]: 5 });
    const o = emu.control.placeOrder(SHOP, { lineItems: [{ sku: p.sku, quantity: 2 }] });
    const m = mark();
    const r = await q(FULFILL, {
      f: { lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: o.fulfillmentOrders[0]!.id }] },
    });
    expect(r.fulfillmentCreate.userErrors).toEqual([]);
    expect(await level(p.itemId)).toEqual({ available: 3, committed: 0, on_hand: 3 });
    expect(levelEvents(m, p.itemId).map((e) => e.available)).toEqual([3]);
  });

  it("a POS sale fulfilled at checkout: available −n, committed unchanged, on_hand −n", async () => {
    const p = product({ [store2]: 8 });
    const m = mark();
    const o = emu.control.placeOrder(SHOP, {
      lineItems: [{ sku: p.sku, quantity: 2 }],
      locationId: store2,
      fulfilled: true,
    });
    expect(await level(p.itemId, store2)).toEqual({ available: 6, committed: 0, on_hand: 6 });
    expect(o).toMatchObject({ sourceName: "pos", displayFulfillmentStatus: "FULFILLED", locationId: store2 });
    expect(o.fulfillments).toEqual([expect.objectContaining({ status: "SUCCESS", locationId: store2 })]);
    // (orders/paid fires too; this test has no subscription for it.)
    expect(topics(m)).toEqual([
      "inventory_levels/update",
      "orders/create",
      "fulfillments/create",
      "orders/updated",
    ]);
    const created = eventsSince(m).find((e) => e.topic === "orders/create")!.body;
    expect(created).toMatchObject({
      source_name: "pos",
      fulfillment_status: "fulfilled",
      location_id: Number(store2.split("/").pop()),
    });
    expect(levelEvents(m, p.itemId).map((e) => e.available)).toEqual([6]);
    const read = await q(`query($id: ID!) { order(id: $id) { sourceName displayFulfillmentStatus } }`, {
      id: o.id,
    });
    expect(read.order).toEqual({ sourceName: "pos", displayFulfillmentStatus: "FULFILLED" });
  });

  it("refunds: RETURN after fulfilment restocks on_hand at its location; CANCEL releases committed", async () => {
    const p = product({ [s.locationId]: 10, [store2]: 0 });
    const o = emu.control.placeOrder(SHOP, { lineItems: [{ sku: p.sku, quantity: 4 }] });
    const lineItemId = o.lineItems[0]!.id;
    emu.control.fulfillOrder(SHOP, o.id, { lines: [{ lineItemId, quantity: 2 }] });
    expect(await level(p.itemId)).toEqual({ available: 6, committed: 2, on_hand: 8 });

    let m = mark();
    emu.control.createRefund(SHOP, o.id, {
      lineItems: [{ lineItemId, quantity: 1, restockType: "CANCEL" }],
    });
    expect(await level(p.itemId)).toEqual({ available: 7, committed: 1, on_hand: 8 });
    expect(levelEvents(m, p.itemId).map((e) => e.available)).toEqual([7]);

    m = mark();
    const REFUND = `mutation($input: RefundInput!) { refundCreate(input: $input) @idempotent(key: "st-refund-1") {
      refund { refundLineItems(first: 5) { nodes { quantity restockType restocked location { id } } } } userErrors { message } } }`;
    const r = await q(REFUND, {
      input: {
        orderId: o.id,
        refundLineItems: [{ lineItemId, quantity: 2, restockType: "RETURN", locationId: store2 }],
      },
    });
    expect(r.refundCreate.userErrors).toEqual([]);
    // One unit was still unfulfilled: it is released (committed −1); the second is a fulfilled unit returned to store 2.
    expect(await level(p.itemId)).toEqual({ available: 8, committed: 0, on_hand: 8 });
    expect(await level(p.itemId, store2)).toEqual({ available: 1, committed: 0, on_hand: 1 });
    expect(levelEvents(m, p.itemId).map((e) => [e.location_id, e.available])).toEqual([
      [Number(s.locationId.split("/").pop()), 8],
      [Number(store2.split("/").pop()), 1],
    ]);

    // The other fulfilled unit comes back at the order's location.
    emu.control.createRefund(SHOP, o.id, { lineItems: [{ lineItemId, quantity: 1, restockType: "RETURN" }] });
    expect(await level(p.itemId)).toEqual({ available: 9, committed: 0, on_hand: 9 });
    expect(() =>
      emu.control.createRefund(SHOP, o.id, {
        lineItems: [{ lineItemId, quantity: 1, restockType: "RETURN" }],
      }),
    ).toThrow(/more items than were purchased/);
  });

  it("refunding a cancelled order's units does not restock them a second time", async () => {
    const p = product({ [s.locationId]: 10 });
    const o = emu.control.placeOrder(SHOP, { lineItems: [{ sku: p.sku, quantity: 3 }] });
    const lineItemId = o.lineItems[0]!.id;
    emu.control.fulfillOrder(SHOP, o.id, { lines: [{ lineItemId, quantity: 1 }] });
    emu.control.cancelOrder(SHOP, o.id, { restock: true });
    expect(await level(p.itemId)).toEqual({ available: 9, committed: 0, on_hand: 9 });
    // The merchant refunds everything, asking for RETURN: only the one fulfilled unit comes back.
    emu.control.createRefund(SHOP, o.id, { lineItems: [{ lineItemId, quantity: 3, restockType: "RETURN" }] });
    expect(await level(p.itemId)).toEqual({ available: 10, committed: 0, on_hand: 10 });
    expect(emu.control.getOrder(SHOP, o.id).lineItems[0]).toMatchObject({
      currentQuantity: 0,
      refundedQuantity: 3,
      removedQuantity: 2,
    });
  });

  it("a merchant's stock edit: available as edited, committed kept, on_hand follows", async () => {
    const p = product({ [s.locationId]: 10 });
    emu.control.placeOrder(SHOP, { lineItems: [{ sku: p.sku, quantity: 2 }] });
    let m = mark();
    emu.control.setInventory(SHOP, { sku: p.sku, locationId: s.locationId, quantity: 5 });
    expect(await level(p.itemId)).toEqual({ available: 5, committed: 2, on_hand: 7 });
    expect(levelEvents(m, p.itemId).map((e) => e.available)).toEqual([5]);
    m = mark();
    const res = await fetch(`${emu.url}/_emulator/shops/${SHOP}/inventory`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sku: p.sku, locationId: s.locationId, name: "on_hand", quantity: 12 }),
    });
    expect(res.status).toBe(200);
    expect(await level(p.itemId)).toEqual({ available: 10, committed: 2, on_hand: 12 });
    expect(levelEvents(m, p.itemId).map((e) => e.available)).toEqual([10]);
    // Nothing moved: nothing to report.
    m = mark();
    emu.control.setInventory(SHOP, { sku: p.sku, locationId: s.locationId, quantity: 10 });
    expect(levelEvents(m, p.itemId)).toEqual([]);
  });
});

describe("order edits", () => {
  it("removing unfulfilled units releases them; adding a line commits it", async () => {
    const p = product({ [s.locationId]: 10 });
    const extra = product({ [s.locationId]: 4 });
    const o = emu.control.placeOrder(SHOP, { lineItems: [{ sku: p.sku, quantity: 5 }] });
    const lineItemId = o.lineItems[0]!.id;
    emu.control.fulfillOrder(SHOP, o.id, { lines: [{ lineItemId, quantity: 1 }] });
    expect(await level(p.itemId)).toEqual({ available: 5, committed: 4, on_hand: 9 });

    let m = mark();
    const edited = emu.control.editOrder(SHOP, o.id, {
      lines: [{ lineItemId, quantity: 3 }],
      add: [{ sku: extra.sku, quantity: 1 }],
    });
    expect(await level(p.itemId)).toEqual({ available: 7, committed: 2, on_hand: 9 });
    expect(await level(extra.itemId)).toEqual({ available: 3, committed: 1, on_hand: 4 });
    expect(edited.lineItems[0]).toMatchObject({
      quantity: 5,
      currentQuantity: 3,
      removedQuantity: 2,
      fulfillableQuantity: 2,
    });
    const added = edited.lineItems[1]!;
    expect(added).toMatchObject({ sku: extra.sku, quantity: 1, fulfillableQuantity: 1 });
    expect(edited.fulfillmentOrders).toHaveLength(1);
    expect(edited.fulfillmentOrders[0]!.lineItems).toEqual([
      expect.objectContaining({ lineItemId, totalQuantity: 3, remainingQuantity: 2 }),
      expect.objectContaining({ lineItemId: added.id, totalQuantity: 1, remainingQuantity: 1 }),
    ]);
    expect(topics(m).sort()).toEqual(
      ["inventory_levels/update", "inventory_levels/update", "orders/edited", "orders/updated"].sort(),
    );
    const edit = eventsSince(m).find((e) => e.topic === "orders/edited")!.body.order_edit;
    expect(edit).toMatchObject({
      order_id: o.legacyId,
      line_items: {
        removals: [{ id: Number(lineItemId.split("/").pop()), delta: 2 }],
        additions: [{ id: Number(added.id.split("/").pop()), delta: 1 }],
      },
    });

    // Read through the Admin API: the fulfillment order lines and the line's current quantity.
    const read = await q(
      `query($id: ID!) { order(id: $id) { lineItems(first: 5) { nodes { id quantity currentQuantity unfulfilledQuantity } }
        fulfillmentOrders(first: 5) { nodes { status lineItems(first: 5) { nodes { remainingQuantity lineItem { id } } } } } } }`,
      { id: o.id },
    );
    expect(read.order.lineItems.nodes[0]).toMatchObject({
      quantity: 5,
      currentQuantity: 3,
      unfulfilledQuantity: 2,
    });
    expect(
      read.order.fulfillmentOrders.nodes[0].lineItems.nodes.map(
        (n: { remainingQuantity: number }) => n.remainingQuantity,
      ),
    ).toEqual([2, 1]);

    // Raising a line commits more units; going below what is fulfilled is refused.
    m = mark();
    emu.control.editOrder(SHOP, o.id, { lines: [{ lineItemId, quantity: 4 }] });
    expect(await level(p.itemId)).toEqual({ available: 6, committed: 3, on_hand: 9 });
    expect(() => emu.control.editOrder(SHOP, o.id, { lines: [{ lineItemId, quantity: 0 }] })).toThrow(
      /fulfilled units/,
    );
    expect(await level(p.itemId)).toEqual({ available: 6, committed: 3, on_hand: 9 });

    // Everything left is shipped from the same fulfillment order.
    emu.control.fulfillOrder(SHOP, o.id);
    expect(await level(p.itemId)).toEqual({ available: 6, committed: 0, on_hand: 6 });
    expect(await level(extra.itemId)).toEqual({ available: 3, committed: 0, on_hand: 3 });
    expect(emu.control.getOrder(SHOP, o.id).displayFulfillmentStatus).toBe("FULFILLED");
  });

  it("adding a line to a fully fulfilled order opens a new fulfillment order; the HTTP route works", async () => {
    const p = product({ [store2]: 6 });
    const o = emu.control.placeOrder(SHOP, { lineItems: [{ sku: p.sku, quantity: 1 }], locationId: store2 });
    emu.control.fulfillOrder(SHOP, o.id);
    const res = await fetch(`${emu.url}/_emulator/shops/${SHOP}/orders/${o.legacyId}/edit`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ add: [{ variantId: p.variantId, quantity: 2 }] }),
    });
    expect(res.status).toBe(200);
    const view = (await res.json()) as { fulfillmentOrders: { status: string; locationId: string }[] };
    expect(view.fulfillmentOrders.map((fo) => [fo.status, fo.locationId])).toEqual([
      ["CLOSED", store2],
      ["OPEN", store2],
    ]);
    expect(await level(p.itemId, store2)).toEqual({ available: 3, committed: 2, on_hand: 5 });
    const bad = await fetch(`${emu.url}/_emulator/shops/${SHOP}/orders/${o.legacyId}/edit`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({}),
    });
    expect(bad.status).toBe(400);
  });
});

describe("fulfillment cancellation", () => {
  const CANCEL = `mutation($id: ID!) { fulfillmentCancel(id: $id) { fulfillment { id status displayStatus } userErrors { field message } } }`;

  it("fulfillmentCancel puts the units back to committed and on_hand, and reopens the fulfillment order", async () => {
    const p = product({ [s.locationId]: 10 });
    const o = emu.control.placeOrder(SHOP, { lineItems: [{ sku: p.sku, quantity: 3 }] });
    const lineItemId = o.lineItems[0]!.id;
    const f = emu.control.fulfillOrder(SHOP, o.id, { lines: [{ lineItemId, quantity: 2 }] });
    expect(await level(p.itemId)).toEqual({ available: 7, committed: 1, on_hand: 8 });

    const m = mark();
    const r = await q(CANCEL, { id: f.id });
    expect(r.fulfillmentCancel).toEqual({
      fulfillment: { id: f.id, status: "CANCELLED", displayStatus: "CANCELED" },
      userErrors: [],
    });
    expect(await level(p.itemId)).toEqual({ available: 7, committed: 3, on_hand: 10 });
    expect(levelEvents(m, p.itemId).map((e) => e.available)).toEqual([7]);
    expect(topics(m)).toEqual(["inventory_levels/update", "fulfillments/update", "orders/updated"]);
    expect(eventsSince(m).find((e) => e.topic === "fulfillments/update")!.body).toMatchObject({
      id: f.legacyId,
      status: "cancelled",
    });
    const after = emu.control.getOrder(SHOP, o.id);
    expect(after).toMatchObject({ displayFulfillmentStatus: "UNFULFILLED" });
    expect(after.lineItems[0]).toMatchObject({ fulfilledQuantity: 0, fulfillableQuantity: 3 });
    expect(after.fulfillmentOrders).toEqual([
      expect.objectContaining({
        status: "OPEN",
        lineItems: [expect.objectContaining({ remainingQuantity: 3 })],
      }),
    ]);

    const again = await q(CANCEL, { id: f.id });
    expect(again.fulfillmentCancel.userErrors[0].message).toMatch(/already been cancelled/);
    const missing = await q(CANCEL, { id: "gid://shopify/Fulfillment/1" });
    expect(missing.fulfillmentCancel).toEqual({
      fulfillment: null,
      userErrors: [{ field: ["id"], message: "Fulfillment does not exist." }],
    });

    // The units can be fulfilled again.
    emu.control.fulfillOrder(SHOP, o.id);
    expect(await level(p.itemId)).toEqual({ available: 7, committed: 0, on_hand: 7 });
  });

  it("cancelling the fulfilment of a closed fulfillment order gives its units a new one (control and HTTP)", async () => {
    const p = product({ [store2]: 5 });
    const o = emu.control.placeOrder(SHOP, { lineItems: [{ sku: p.sku, quantity: 2 }], locationId: store2 });
    const first = emu.control.fulfillOrder(SHOP, o.id);
    expect(await level(p.itemId, store2)).toEqual({ available: 3, committed: 0, on_hand: 3 });
    const cancelled = emu.control.cancelFulfillment(SHOP, first.id);
    expect(cancelled.status).toBe("CANCELLED");
    expect(await level(p.itemId, store2)).toEqual({ available: 3, committed: 2, on_hand: 5 });
    const view = emu.control.getOrder(SHOP, o.id);
    expect(
      view.fulfillmentOrders.map((fo) => [fo.status, fo.locationId, fo.lineItems[0]!.remainingQuantity]),
    ).toEqual([
      ["CLOSED", store2, 0],
      ["OPEN", store2, 2],
    ]);

    const second = emu.control.fulfillOrder(SHOP, o.id);
    expect(second.locationId).toBe(store2);
    expect(await level(p.itemId, store2)).toEqual({ available: 3, committed: 0, on_hand: 3 });
    const res = await fetch(`${emu.url}/_emulator/shops/${SHOP}/fulfillments/${second.legacyId}/cancel`, {
      method: "POST",
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe("CANCELLED");
    expect(await level(p.itemId, store2)).toEqual({ available: 3, committed: 2, on_hand: 5 });
  });

  it("refuses to cancel a fulfilment whose units were refunded", async () => {
    const p = product({ [s.locationId]: 5 });
    const o = emu.control.placeOrder(SHOP, { lineItems: [{ sku: p.sku, quantity: 1 }] });
    const f = emu.control.fulfillOrder(SHOP, o.id);
    emu.control.createRefund(SHOP, o.id, {
      lineItems: [{ lineItemId: o.lineItems[0]!.id, quantity: 1, restockType: "RETURN" }],
    });
    expect(await level(p.itemId)).toEqual({ available: 5, committed: 0, on_hand: 5 });
    const r = await q(CANCEL, { id: f.id });
    expect(r.fulfillmentCancel.userErrors[0].message).toMatch(/refunded/);
    expect(await level(p.itemId)).toEqual({ available: 5, committed: 0, on_hand: 5 });
  });
});

describe("fulfillOrder over HTTP", () => {
  it("POST /orders/:id/fulfillments fulfils and answers the fulfillment", async () => {
    const p = product({ [s.locationId]: 3 });
    const o = emu.control.placeOrder(SHOP, { lineItems: [{ sku: p.sku, quantity: 2 }] });
    const res = await fetch(
      `${emu.url}/_emulator/shops/${SHOP}/orders/${encodeURIComponent(o.id)}/fulfillments`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          lines: [{ lineItemId: o.lineItems[0]!.id, quantity: 1 }],
          tracking: [{ number: "TRK-9", url: "https://carrier.example/TRK-9" }],
          notifyCustomer: true,
        }),
      },
    );
    expect(res.status).toBe(200);
    const f = (await res.json()) as { id: string; locationId: string; lineItems: unknown[] };
    expect(f).toMatchObject({
      locationId: s.locationId,
      lineItems: [{ lineItemId: o.lineItems[0]!.id, quantity: 1 }],
    });
    expect(await level(p.itemId)).toEqual({ available: 1, committed: 1, on_hand: 2 });
    const bad = await fetch(`${emu.url}/_emulator/shops/${SHOP}/orders/${o.legacyId}/fulfillments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ lines: [{ lineItemId: o.lineItems[0]!.id, quantity: 5 }] }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("INVALID_FULFILLMENT");
  });
});

describe("inventory mutations and reads", () => {
  const SET = `mutation($input: InventorySetQuantitiesInput!, $key: String!) {
    inventorySetQuantities(input: $input) @idempotent(key: $key) {
      inventoryAdjustmentGroup { changes { name delta quantityAfterChange } } userErrors { code field message } } }`;
  const ADJUST = `mutation($input: InventoryAdjustQuantitiesInput!, $key: String!) {
    inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
      inventoryAdjustmentGroup { changes { name delta quantityAfterChange } } userErrors { code field message } } }`;

  it("inventorySetQuantities on on_hand compares changeFromQuantity with on_hand", async () => {
    const p = product({ [s.locationId]: 10 });
    emu.control.placeOrder(SHOP, { lineItems: [{ sku: p.sku, quantity: 3 }] });
    expect(await level(p.itemId)).toEqual({ available: 7, committed: 3, on_hand: 10 });
    const set = (quantity: number, changeFromQuantity: number, key: string) =>
      q(SET, {
        key,
        input: {
          name: "on_hand",
          reason: "correction",
          quantities: [{ inventoryItemId: p.itemId, locationId: s.locationId, quantity, changeFromQuantity }],
        },
      });
    let m = mark();
    // 7 is the available quantity, not on_hand: stale.
    const stale = await set(12, 7, `st-set-stale-${p.sku}`);
    expect(stale.inventorySetQuantities).toMatchObject({
      inventoryAdjustmentGroup: null,
      userErrors: [
        { code: "CHANGE_FROM_QUANTITY_STALE", field: ["input", "quantities", "0", "changeFromQuantity"] },
      ],
    });
    expect(await level(p.itemId)).toEqual({ available: 7, committed: 3, on_hand: 10 });
    expect(levelEvents(m, p.itemId)).toEqual([]);

    m = mark();
    const ok = await set(12, 10, `st-set-ok-${p.sku}`);
    expect(ok.inventorySetQuantities.userErrors).toEqual([]);
    expect(ok.inventorySetQuantities.inventoryAdjustmentGroup.changes).toEqual([
      { name: "on_hand", delta: 2, quantityAfterChange: 12 },
      { name: "available", delta: 2, quantityAfterChange: 9 },
    ]);
    expect(await level(p.itemId)).toEqual({ available: 9, committed: 3, on_hand: 12 });
    expect(levelEvents(m, p.itemId).map((e) => e.available)).toEqual([9]);
  });

  it("inventoryAdjustQuantities on available moves on_hand by the same delta", async () => {
    const p = product({ [s.locationId]: 10 });
    emu.control.placeOrder(SHOP, { lineItems: [{ sku: p.sku, quantity: 1 }] });
    const m = mark();
    const r = await q(ADJUST, {
      key: `st-adj-${p.sku}`,
      input: {
        name: "available",
        reason: "correction",
        changes: [{ inventoryItemId: p.itemId, locationId: s.locationId, delta: -4, changeFromQuantity: 9 }],
      },
    });
    expect(r.inventoryAdjustQuantities.userErrors).toEqual([]);
    expect(r.inventoryAdjustQuantities.inventoryAdjustmentGroup.changes).toEqual([
      { name: "available", delta: -4, quantityAfterChange: 5 },
      { name: "on_hand", delta: -4, quantityAfterChange: 6 },
    ]);
    expect(await level(p.itemId)).toEqual({ available: 5, committed: 1, on_hand: 6 });
    expect(levelEvents(m, p.itemId).map((e) => e.available)).toEqual([5]);
  });

  it("a bulk query over locations returns available, on_hand and committed per level", async () => {
    const p = product({ [s.locationId]: 10, [store2]: 4 });
    emu.control.placeOrder(SHOP, { lineItems: [{ sku: p.sku, quantity: 2 }] });
    const run = await q(
      `mutation($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: false) { bulkOperation { id } userErrors { message } } }`,
      {
        q: `{ locations { edges { node { id inventoryLevels { edges { node { item { id } quantities(names: ["available","on_hand","committed"]) { name quantity } } } } } } } }`,
      },
    );
    expect(run.bulkOperationRunQuery.userErrors).toEqual([]);
    let op: { status: string; url: string | null; errorCode: string | null } | undefined;
    for (let i = 0; i < 100 && op?.status !== "COMPLETED" && op?.status !== "FAILED"; i++) {
      await new Promise((res) => setImmediate(res));
      op = (
        await q(`query($id: ID!) { bulkOperation(id: $id) { status url errorCode } }`, {
          id: run.bulkOperationRunQuery.bulkOperation.id,
        })
      ).bulkOperation;
    }
    expect(op).toMatchObject({ status: "COMPLETED", errorCode: null });
    const lines = (await (await fetch(op!.url!)).text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const mine = lines.filter((l) => l.item?.id === p.itemId);
    const byLocation = Object.fromEntries(
      mine.map((l) => [
        l.__parentId,
        Object.fromEntries(l.quantities.map((x: { name: string; quantity: number }) => [x.name, x.quantity])),
      ]),
    );
    expect(byLocation).toEqual({
      [s.locationId]: { available: 8, on_hand: 10, committed: 2 },
      [store2]: { available: 4, on_hand: 4, committed: 0 },
    });
  });

  it("an order placed at a location keeps it: payload, fulfillment order, stock and GraphQL", async () => {
    const p = product({ [s.locationId]: 5, [store2]: 5 });
    const m = mark();
    // A web order fulfilled from store2 has no location of its own (location_id null, retailLocation null).
    const web = emu.control.placeOrder(SHOP, {
      lineItems: [{ sku: p.sku, quantity: 1 }],
      locationId: store2,
    });
    expect(web.fulfillmentOrders[0]!.locationId).toBe(store2);
    expect(eventsSince(m).find((e) => e.topic === "orders/create")!.body.location_id).toBeNull();
    const webRead = await q(`query($id: ID!) { order(id: $id) { retailLocation { id } } }`, { id: web.id });
    expect(webRead.order.retailLocation).toBeNull();
    emu.control.cancelOrder(SHOP, web.id, { restock: true });
    // A point-of-sale order placed at store2 carries it.
    const m2 = mark();
    const o = emu.control.placeOrder(SHOP, {
      lineItems: [{ sku: p.sku, quantity: 1 }],
      locationId: store2,
      sourceName: "pos",
    });
    expect(o.locationId).toBe(store2);
    expect(o.fulfillmentOrders[0]!.locationId).toBe(store2);
    expect(eventsSince(m2).find((e) => e.topic === "orders/create")!.body.location_id).toBe(
      Number(store2.split("/").pop()),
    );
    expect(await level(p.itemId, store2)).toEqual({ available: 4, committed: 1, on_hand: 5 });
    expect(await level(p.itemId)).toEqual({ available: 5, committed: 0, on_hand: 5 });
    const read = await q(
      `query($id: ID!) { order(id: $id) { retailLocation { id } fulfillmentOrders(first: 2) { nodes { assignedLocation { location { id } } } } } }`,
      { id: o.id },
    );
    expect(read.order.retailLocation.id).toBe(store2);
    expect(read.order.fulfillmentOrders.nodes[0].assignedLocation.location.id).toBe(store2);
    const f = emu.control.fulfillOrder(SHOP, o.id);
    expect(f.locationId).toBe(store2);
    expect(await level(p.itemId, store2)).toEqual({ available: 4, committed: 0, on_hand: 4 });
  });
});
