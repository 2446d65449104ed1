// Pickup, moves, orderCancel/orderClose and the returns lifecycle through the Admin API, with
// Shopify's userErrors for what cannot be done (order-flows.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "./index.ts";
import { gql, type Seeded, SHOP, seedShop } from "./test-helpers.ts";

let emu: Emulator;
let s: Seeded;
let second: string;
beforeAll(async () => {
  emu = await startEmulator();
  s = seedShop(emu);
  second = emu.control.createLocation(SHOP, { name: "Store 2" }).id;
  emu.control.setInventory(SHOP, { inventoryItemId: s.inventoryItemId, locationId: second, quantity: 10 });
});
afterAll(async () => emu?.close());

const FOS = `query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) { nodes { id status deliveryMethod { methodType }
  assignedLocation { location { id } } lineItems(first: 5) { nodes { id remainingQuantity } } } } } }`;
const level = (loc: string) => {
  const l = emu.control.getInventoryLevel(SHOP, { inventoryItemId: s.inventoryItemId, locationId: loc })!;
  return { available: l.available, committed: l.committed, onHand: l.on_hand };
};

describe("order flows", () => {
  it("prepares pickup fulfillment orders only, and moves an open one with its committed units", async () => {
    const pickup = emu.flows.placePickupOrder(SHOP, {
      lineItems: [{ sku: s.sku, quantity: 2 }],
      pickupLocationId: s.locationId,
    });
    const web = emu.control.placeOrder(SHOP, {
      lineItems: [{ sku: s.sku, quantity: 1 }],
      locationId: s.locationId,
    });
    const fo = (await gql(emu, s.token, FOS, { id: pickup })).body.data.order.fulfillmentOrders.nodes[0];
    expect(fo.deliveryMethod.methodType).toBe("PICK_UP");
    const webFo = (await gql(emu, s.token, FOS, { id: web.id })).body.data.order.fulfillmentOrders.nodes[0];
    expect(webFo.deliveryMethod.methodType).toBe("SHIPPING");

    const PREPARE = `mutation($input: FulfillmentOrderLineItemsPreparedForPickupInput!) {
      fulfillmentOrderLineItemsPreparedForPickup(input: $input) { userErrors { field message code } } }`;
    const refused = await gql(emu, s.token, PREPARE, {
      input: { lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: webFo.id }] },
    });
    expect(refused.body.data.fulfillmentOrderLineItemsPreparedForPickup.userErrors[0]).toMatchObject({
      code: "FULFILLMENT_ORDER_INVALID",
      message: expect.stringContaining("not a local pickup"),
    });
    const ok = await gql(emu, s.token, PREPARE, {
      input: { lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: fo.id }] },
    });
    expect(ok.body.data.fulfillmentOrderLineItemsPreparedForPickup.userErrors).toEqual([]);

    const MOVE = `mutation($id: ID!, $to: ID!) { fulfillmentOrderMove(id: $id, newLocationId: $to) {
      movedFulfillmentOrder { id assignedLocation { location { id } } } userErrors { field message } } }`;
    expect(level(s.locationId).committed).toBe(3);
    const moved = await gql(emu, s.token, MOVE, { id: webFo.id, to: second });
    expect(moved.body.data.fulfillmentOrderMove.userErrors).toEqual([]);
    expect(moved.body.data.fulfillmentOrderMove.movedFulfillmentOrder.assignedLocation.location.id).toBe(
      second,
    );
    expect(level(s.locationId).committed).toBe(2);
    expect(level(second)).toMatchObject({ committed: 1, available: 9 });
    const same = await gql(emu, s.token, MOVE, { id: webFo.id, to: second });
    expect(same.body.data.fulfillmentOrderMove.userErrors[0].message).toMatch(/location it is assigned to/);

    // A closed fulfillment order cannot move.
    emu.control.fulfillOrder(SHOP, web.id);
    const closed = await gql(emu, s.token, MOVE, { id: webFo.id, to: s.locationId });
    expect(closed.body.data.fulfillmentOrderMove.userErrors[0].message).toMatch(
      /Cannot move a fulfillment order with status closed/,
    );
  });

  it("cancels an order once (reason, restock, refund) and closes orders", async () => {
    const o = emu.control.placeOrder(SHOP, {
      lineItems: [{ sku: s.sku, quantity: 1 }],
      locationId: s.locationId,
    });
    const CANCEL = `mutation($id: ID!) { orderCancel(orderId: $id, reason: CUSTOMER, restock: true, refund: true, notifyCustomer: false) {
      job { id done } orderCancelUserErrors { field message code } } }`;
    const first = await gql(emu, s.token, CANCEL, { id: o.id });
    expect(first.body.data.orderCancel).toMatchObject({ job: { done: true }, orderCancelUserErrors: [] });
    expect(emu.control.orderPayload(SHOP, o.id)).toMatchObject({
      cancel_reason: "customer",
      financial_status: "refunded",
    });
    const again = await gql(emu, s.token, CANCEL, { id: o.id });
    expect(again.body.data.orderCancel.orderCancelUserErrors[0]).toMatchObject({ code: "INVALID" });
    const CLOSE = `mutation($id: ID!) { orderClose(input: { id: $id }) { order { closed } userErrors { message } } }`;
    const p = emu.control.placeOrder(SHOP, {
      lineItems: [{ sku: s.sku, quantity: 1 }],
      locationId: s.locationId,
    });
    expect((await gql(emu, s.token, CLOSE, { id: p.id })).body.data.orderClose).toEqual({
      order: { closed: true },
      userErrors: [],
    });
  });

  it("runs a return from request to close, never disposing more than was returned", async () => {
    const o = emu.control.placeOrder(SHOP, {
      lineItems: [{ sku: s.sku, quantity: 2 }],
      locationId: s.locationId,
    });
    emu.control.fulfillOrder(SHOP, o.id);
    const ret = emu.flows.requestReturn(SHOP, o.id, [
      { lineItemId: o.lineItems[0]!.id, quantity: 2, returnReason: "DEFECTIVE" },
    ]);
    const READ = `query($id: ID!) { return(id: $id) { status returnLineItems(first: 5) { nodes { id quantity ... on ReturnLineItem { processedQuantity } } }
      reverseFulfillmentOrders(first: 2) { nodes { id lineItems(first: 5) { nodes { id totalQuantity dispositions { type quantity } } } } } } }`;
    let r = (await gql(emu, s.token, READ, { id: ret })).body.data.return;
    expect(r.status).toBe("REQUESTED");
    expect(r.reverseFulfillmentOrders.nodes).toEqual([]);
    const APPROVE = `mutation($id: ID!) { returnApproveRequest(input: { id: $id }) { return { status } userErrors { message code } } }`;
    expect((await gql(emu, s.token, APPROVE, { id: ret })).body.data.returnApproveRequest.return.status).toBe(
      "OPEN",
    );
    expect(
      (await gql(emu, s.token, APPROVE, { id: ret })).body.data.returnApproveRequest.userErrors[0].code,
    ).toBe("INVALID_STATE");
    r = (await gql(emu, s.token, READ, { id: ret })).body.data.return;
    const rfoLine = r.reverseFulfillmentOrders.nodes[0].lineItems.nodes[0];
    expect(rfoLine.totalQuantity).toBe(2);

    const DISPOSE = `mutation($d: [ReverseFulfillmentOrderDisposeInput!]!) { reverseFulfillmentOrderDispose(dispositionInputs: $d) {
      reverseFulfillmentOrderLineItems { id } userErrors { field message code } } }`;
    const tooMany = await gql(emu, s.token, DISPOSE, {
      d: [{ reverseFulfillmentOrderLineItemId: rfoLine.id, quantity: 3, dispositionType: "NOT_RESTOCKED" }],
    });
    expect(tooMany.body.data.reverseFulfillmentOrderDispose.userErrors[0]).toMatchObject({
      code: "LESS_THAN_OR_EQUAL_TO",
      message: expect.stringContaining("more than was returned"),
    });
    const before = level(s.locationId).onHand;
    const PROCESS = `mutation($input: ReturnProcessInput!) { returnProcess(input: $input) { return { status } userErrors { field message code } } }`;
    const processed = await gql(emu, s.token, PROCESS, {
      input: {
        returnId: ret,
        returnLineItems: [
          {
            id: r.returnLineItems.nodes[0].id,
            quantity: 2,
            dispositions: [
              {
                reverseFulfillmentOrderLineItemId: rfoLine.id,
                quantity: 1,
                dispositionType: "RESTOCKED",
                locationId: s.locationId,
              },
              {
                reverseFulfillmentOrderLineItemId: rfoLine.id,
                quantity: 1,
                dispositionType: "NOT_RESTOCKED",
              },
            ],
          },
        ],
      },
    });
    expect(processed.body.data.returnProcess).toEqual({ return: { status: "CLOSED" }, userErrors: [] });
    expect(level(s.locationId).onHand).toBe(before + 1);
    const CANCEL = `mutation($id: ID!) { returnCancel(id: $id) { return { status } userErrors { message code } } }`;
    expect((await gql(emu, s.token, CANCEL, { id: ret })).body.data.returnCancel.userErrors[0].code).toBe(
      "INVALID_STATE",
    );
  });

  it("reads a return's exchange lines, with their order line once approved", async () => {
    const o = emu.control.placeOrder(SHOP, {
      lineItems: [{ sku: s.sku, quantity: 1 }],
      locationId: s.locationId,
    });
    emu.control.fulfillOrder(SHOP, o.id);
    const ret = emu.flows.requestReturn(
      SHOP,
      o.id,
      [{ lineItemId: o.lineItems[0]!.id, quantity: 1, returnReason: "SIZE_TOO_SMALL" }],
      [{ sku: s.sku, quantity: 1 }],
    );
    const READ = `query($id: ID!) { return(id: $id) { exchangeLineItems(first: 5) { nodes { id quantity variantSku lineItems { id sku } } } } }`;
    const before = (await gql(emu, s.token, READ, { id: ret })).body.data.return.exchangeLineItems.nodes;
    expect(before).toEqual([
      { id: expect.stringContaining("ExchangeLineItem/"), quantity: 1, variantSku: s.sku, lineItems: [] },
    ]);
    emu.flows.approveReturn(SHOP, ret);
    const after = (await gql(emu, s.token, READ, { id: ret })).body.data.return.exchangeLineItems.nodes;
    const added = emu.control.getOrder(SHOP, o.id).lineItems.find((l) => l.id !== o.lineItems[0]!.id)!;
    expect(after).toEqual([{ ...before[0], lineItems: [{ id: added.id, sku: s.sku }] }]);
  });

  it("links a return's refund to the return (Refund.return)", async () => {
    const o = emu.control.placeOrder(SHOP, {
      lineItems: [{ sku: s.sku, quantity: 2 }],
      locationId: s.locationId,
    });
    emu.control.fulfillOrder(SHOP, o.id);
    const ret = emu.flows.requestReturn(SHOP, o.id, [{ lineItemId: o.lineItems[0]!.id, quantity: 1 }]);
    emu.flows.approveReturn(SHOP, ret);
    emu.flows.processReturn(SHOP, ret, true);
    emu.control.createRefund(SHOP, o.id, { lineItems: [{ lineItemId: o.lineItems[0]!.id, quantity: 1 }] });
    const READ = `query($id: ID!) { order(id: $id) { refunds(first: 5) { id return { id } } } }`;
    const refunds = (await gql(emu, s.token, READ, { id: o.id })).body.data.order.refunds;
    expect(refunds.map((r: { return: { id: string } | null }) => r.return)).toEqual([{ id: ret }, null]);
  });
});
