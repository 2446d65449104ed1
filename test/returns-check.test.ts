/**
 * The returns check (src/fulfillment/returns-check.ts), on both databases: with the store's
 * `returns/*` webhook subscriptions gone from the emulator (the deliveries lost), a return the
 * customer requested and the merchant approved is still imported by the next check, with its
 * lines, reason and exchange line, once; the back office can then receive it as usual and ship
 * the exchange (reserved like any order line).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../emulator/index.ts";
import { checkRecentReturns } from "../src/fulfillment/returns-check.ts";
import { DIALECTS } from "./support/databases.ts";
import type { TestHub } from "./support/hub.ts";
import { withOrderOperations } from "./support/order-ops.ts";
import { createWorld, startWorldEmulator, startWorldHub } from "./support/stock-world.ts";

let emulator: Emulator;
let app: { clientId: string; clientSecret: string };
beforeAll(async () => {
  ({ emulator, app } = await startWorldEmulator());
});
afterAll(async () => emulator?.close());

describe.each(DIALECTS)("a lost returns webhook on %s", (dialect) => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startWorldHub(dialect, app);
  });
  afterAll(async () => hub?.close());

  it("is made up for by the returns check: imported once, then received", async () => {
    const w = await withOrderOperations(
      await createWorld({
        emulator,
        hub,
        app,
        domain: `returns-check-${dialect}.myshopify.com`,
        skus: [`RC-${dialect}-A`],
        mode: "absolute",
        initial: 10,
        restockRule: "order_warehouse",
      }),
    );
    const sku = w.store.variants[0]!.sku;
    const placed = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku, quantity: 2 }],
      locationId: w.locations[0]!.id,
    });
    await w.settleAll();
    const orderId = await w.orderId(placed.id);
    const shipped = await w.call("POST", "/api/v1/shipments", {
      id: `rc-ship-${dialect}`,
      orderId,
      warehouse: "W1",
      lines: [{ sku, quantity: 2 }],
    });
    expect(shipped.status, JSON.stringify(shipped.body)).toBe(201);
    await w.settleAll();
    // Nothing to import yet: the check reads the shipped order and finds no return.
    expect((await checkRecentReturns(hub.ctx, w.transport, w.storeId)).recorded).toBe(0);

    // The returns/* subscriptions are gone: Shopify sends none of their webhooks.
    const { data } = await w.transport.graphql<{
      webhookSubscriptions: { nodes: { id: string; topic: string }[] };
    }>(`{ webhookSubscriptions(first: 100) { nodes { id topic } } }`);
    const returnSubs = data.webhookSubscriptions.nodes.filter((s) => s.topic.startsWith("RETURNS_"));
    expect(returnSubs.length).toBeGreaterThan(0);
    for (const s of returnSubs)
      await w.transport.graphql(
        `mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId } }`,
        { id: s.id },
      );

    // One unit back, exchanged for another of the same SKU.
    const returnGid = emulator.flows.requestReturn(
      w.store.domain,
      placed.id,
      [
        {
          lineItemId: placed.lineItems[0]!.id,
          quantity: 1,
          returnReason: "DEFECTIVE",
          customerNote: "broken",
        },
      ],
      [{ sku, quantity: 1 }],
    );
    emulator.flows.approveReturn(w.store.domain, returnGid);
    await w.settleAll();
    expect(
      emulator.control
        .webhookDeliveries({ shop: w.store.domain })
        .filter((d) => d.topic.startsWith("returns/")),
    ).toEqual([]);
    expect((await w.order(placed.id)).returns ?? []).toEqual([]);

    const first = await checkRecentReturns(hub.ctx, w.transport, w.storeId);
    expect(first.recorded).toBe(1);
    const doc = await w.order(placed.id);
    expect(doc.returns).toEqual([
      expect.objectContaining({
        id: returnGid,
        status: "open",
        lines: [
          expect.objectContaining({
            shopifyLineId: placed.lineItems[0]!.id,
            quantity: 1,
            reason: "defective",
            customerNote: "broken",
            received: 0,
          }),
        ],
      }),
    ]);
    // Its exchange line, read by the check as the webhook would have named it, is an order line
    // reserved at the order's warehouse like any other (Shopify commits it there too).
    const exchangeLine = (doc.lines as { shopifyLineId: string; currentQuantity: number }[]).find(
      (l) => l.shopifyLineId !== placed.lineItems[0]!.id,
    );
    expect(exchangeLine?.currentQuantity).toBe(1);
    expect(doc.returns[0].exchangeLines).toEqual([
      { shopifyLineId: exchangeLine!.shopifyLineId, quantity: 1 },
    ]);
    await w.expectShopifyAsModel();
    // Once: the next check has nothing new.
    expect((await checkRecentReturns(hub.ctx, w.transport, w.storeId)).recorded).toBe(0);

    const receipt = await w.call("POST", `/api/v1/returns/${doc.returns[0].hubId}/receipts`, {
      id: `rc-receipt-${dialect}`,
      lines: [
        {
          returnLineId: doc.returns[0].lines[0].returnLineId,
          quantity: 1,
          condition: "restock",
          warehouse: "W1",
        },
      ],
    });
    expect(receipt.status, JSON.stringify(receipt.body)).toBe(201);
    // The exchange ships like an order line.
    const exchanged = await w.call("POST", "/api/v1/shipments", {
      id: `rc-exchange-${dialect}`,
      orderId,
      warehouse: "W1",
      lines: [{ lineId: exchangeLine!.shopifyLineId, quantity: 1 }],
    });
    expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(201);
    await w.settleAll();
    expect((await w.call("GET", `/api/v1/shipments/rc-exchange-${dialect}`)).body.status).toBe("applied");
    expect(emulator.flows.returnStatus(w.store.domain, returnGid)).toBe("CLOSED");
    // A later check never moves it back.
    await checkRecentReturns(hub.ctx, w.transport, w.storeId);
    expect((await w.order(placed.id)).returns[0].status).toBe("closed");
    await w.expectShopifyAsModel();
  });
});
