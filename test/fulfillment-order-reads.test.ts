/**
 * The hub reads an order's fulfillment orders again whenever the order changed since the last
 * read, even within the second Shopify's `updatedAt` counts in: an exchange approved right after
 * a read adds a fulfillment order, and its reservation belongs where Shopify put it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../emulator/index.ts";
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

describe.each(DIALECTS)("fulfillment-order reads on %s", (dialect) => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startWorldHub(dialect, app);
  });
  afterAll(async () => {
    emulator.control.freezeTime(false);
    await hub?.close();
  });

  it("an exchange in the same second as the last read is read too", async () => {
    const domain = `fo-reads-${dialect}.myshopify.com`;
    const skus = [`fo-${dialect}-A`, `fo-${dialect}-B`];
    const w = await withOrderOperations(
      await createWorld({ emulator, hub, app, domain, skus, mode: "absolute", initial: 5 }),
    );
    // Every change below carries the same `updatedAt`, as changes within one second do.
    emulator.control.freezeTime(true);
    const placed = emulator.control.placeOrder(domain, {
      lineItems: [{ sku: skus[0]!, quantity: 1 }],
      locationId: w.locations[1]!.id,
    });
    emulator.control.fulfillOrder(domain, placed.id, {});
    await w.settleAll();
    const line = emulator.control.getOrder(domain, placed.id).lineItems[0]!;
    const ret = emulator.flows.requestReturn(
      domain,
      placed.id,
      [{ lineItemId: line.id, quantity: 1, returnReason: "SIZE_TOO_SMALL" }],
      [{ sku: skus[1]!, quantity: 1 }],
    );
    emulator.flows.approveReturn(domain, ret);
    await w.settleAll();

    const inShopify = emulator.flows.fulfillmentOrders(domain, placed.id).map((f) => f.id);
    expect(inShopify.length).toBeGreaterThan(1);
    const orderId = await w.orderId(placed.id);
    const known = await hub.ctx.database.db
      .selectFrom("order_fulfillment_orders")
      .select("fulfillment_order_gid")
      .where("order_id", "=", orderId)
      .execute();
    expect(known.map((k) => k.fulfillment_order_gid).sort()).toEqual([...inShopify].sort());
    await w.expectShopifyAsModel();
  });
});
