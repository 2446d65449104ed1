/**
 * Returns and exchanges end to end against the emulator, on both databases: a customer's return
 * request is imported with its lines and reasons, approved, refunded in Shopify with restock, and
 * received by the back office with one unit restocked and one damaged: exactly one `return`
 * movement, Shopify processes the return with those dispositions and ends holding what the hub
 * says. An exchange's new line is reserved and shipped like any order line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../emulator/index.ts";
import { DIALECTS } from "./support/databases.ts";
import type { TestHub } from "./support/hub.ts";
import { type OpsWorld, withOrderOperations } from "./support/order-ops.ts";
import { createWorld, startWorldEmulator, startWorldHub } from "./support/stock-world.ts";

let emulator: Emulator;
let app: { clientId: string; clientSecret: string };
beforeAll(async () => {
  ({ emulator, app } = await startWorldEmulator());
});
afterAll(async () => emulator?.close());

describe.each(DIALECTS)("returns and exchanges on %s", (dialect) => {
  let hub: TestHub;
  let n = 0;
  beforeAll(async () => {
    hub = await startWorldHub(dialect, app);
  });
  afterAll(async () => hub?.close());

  const world = async (mode: "absolute" | "delta") =>
    withOrderOperations(
      await createWorld({
        emulator,
        hub,
        app,
        domain: `returns-${dialect}-${++n}.myshopify.com`,
        skus: [`RT-${dialect}-${n}-A`, `RT-${dialect}-${n}-B`],
        mode,
        initial: 10,
        restockRule: "order_warehouse",
      }),
    );
  const stock = async (w: OpsWorld, sku: string, warehouse = "W1") => {
    const { body } = await w.call(
      "GET",
      `/api/v1/stock?sku=${encodeURIComponent(sku)}&warehouse=${warehouse}`,
    );
    const row = body.items[0] as { onHand: number; reserved: number; sellable: number };
    return { onHand: row.onHand, reserved: row.reserved, sellable: row.sellable };
  };
  const movements = async (w: OpsWorld) =>
    (
      await hub.ctx.database.db
        .selectFrom("movements as m")
        .innerJoin("variants as v", "v.id", "m.variant_id")
        .select(["m.external_id", "m.type", "m.quantity"])
        .where(
          "v.sku",
          "in",
          w.store.variants.map((v) => v.sku),
        )
        .where("m.type", "=", "return")
        .execute()
    ).map((m) => ({ id: m.external_id, quantity: Number(m.quantity) }));
  /** An order of `quantity` units of the first SKU, shipped through the hub and fulfilled in Shopify. */
  const shippedOrder = async (w: OpsWorld, quantity: number) => {
    const [a] = w.store.variants.map((v) => v.sku) as [string];
    const placed = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku: a, quantity }],
      locationId: w.locations[0]!.id,
    });
    await w.settleAll();
    const s = await w.call("POST", "/api/v1/shipments", {
      id: `rt-ship-${w.store.domain}`,
      orderId: await w.orderId(placed.id),
      warehouse: "W1",
      lines: [{ sku: a, quantity }],
    });
    expect(s.status, JSON.stringify(s.body)).toBe(201);
    await w.settleAll();
    expect((await w.call("GET", `/api/v1/shipments/rt-ship-${w.store.domain}`)).body.status).toBe("applied");
    return placed;
  };

  describe.each(["absolute", "delta"] as const)("in %s mode", (mode) => {
    it("a return with one unit restocked and one damaged, refunded with restock: one movement", async () => {
      const w = await world(mode);
      const [a] = w.store.variants.map((v) => v.sku) as [string];
      const placed = await shippedOrder(w, 2);
      expect(await stock(w, a)).toEqual({ onHand: 8, reserved: 0, sellable: 8 });

      const returnGid = emulator.flows.requestReturn(w.store.domain, placed.id, [
        {
          lineItemId: placed.lineItems[0]!.id,
          quantity: 2,
          returnReason: "SIZE_TOO_SMALL",
          customerNote: "too tight",
        },
      ]);
      await w.settleAll();
      let doc = await w.order(placed.id);
      expect(doc.returns).toEqual([
        expect.objectContaining({
          id: returnGid,
          status: "requested",
          lines: [
            expect.objectContaining({
              shopifyLineId: placed.lineItems[0]!.id,
              quantity: 2,
              reason: "size_too_small",
              customerNote: "too tight",
              received: 0,
            }),
          ],
        }),
      ]);
      // Only an open return can be received.
      const early = await w.call("POST", `/api/v1/returns/${doc.returns[0].hubId}/receipts`, {
        id: `early-${n}`,
        lines: [{ returnLineId: doc.returns[0].lines[0].returnLineId, quantity: 1, condition: "damaged" }],
      });
      expect(early.status).toBe(409);
      expect(early.body.error.details[0].code).toBe("RETURN_NOT_OPEN");

      emulator.flows.approveReturn(w.store.domain, returnGid);
      // The merchant refunds in Shopify with restock before the parcel arrives.
      emulator.control.createRefund(w.store.domain, placed.id, {
        lineItems: [{ lineItemId: placed.lineItems[0]!.id, quantity: 2, restockType: "RETURN" }],
      });
      await w.settleAll();
      doc = await w.order(placed.id);
      expect(doc.returns[0].status).toBe("open");
      // The refund leaves the returned units to the back office's receipt.
      expect(await movements(w)).toEqual([]);
      expect(await stock(w, a)).toEqual({ onHand: 8, reserved: 0, sellable: 8 });
      await w.expectShopifyAsModel();

      const returnLine = doc.returns[0].lines[0].returnLineId as string;
      const receiptUrl = `/api/v1/returns/${doc.returns[0].hubId}/receipts`;
      const bad = await w.call("POST", receiptUrl, {
        id: `rc-bad-${n}`,
        lines: [
          { returnLineId: returnLine, quantity: 1, condition: "restock" },
          { returnLineId: returnLine, quantity: 2, condition: "restock", warehouse: "W1" },
          { returnLineId: returnLine, quantity: 1, condition: "damaged" },
          { returnLineId: "gid://shopify/ReturnLineItem/1", quantity: 1, condition: "missing" },
        ],
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.map((d: { code: string }) => d.code)).toEqual([
        "MISSING_FIELD",
        "RECEIVED_MORE_THAN_RETURNED",
        "UNKNOWN_RETURN_LINE",
      ]);
      expect(await movements(w)).toEqual([]);
      const receipt = {
        id: `rc-${n}`,
        lines: [
          { returnLineId: returnLine, quantity: 1, condition: "restock", warehouse: "W1" },
          { returnLineId: returnLine, quantity: 1, condition: "damaged" },
        ],
      };
      const got = await w.call("POST", receiptUrl, receipt);
      expect(got.status, JSON.stringify(got.body)).toBe(201);
      expect(got.body.receipt.lines.map((l: { restocked: number }) => l.restocked)).toEqual([1, 0]);
      expect(await stock(w, a)).toEqual({ onHand: 9, reserved: 0, sellable: 9 });
      const again = await w.call("POST", receiptUrl, receipt);
      expect(again.status).toBe(200);
      expect(again.body.duplicate).toBe(true);
      const conflict = await w.call("POST", receiptUrl, { ...receipt, lines: receipt.lines.slice(0, 1) });
      expect(conflict.status).toBe(409);

      await w.settleAll();
      doc = await w.order(placed.id);
      expect(doc.returns[0]).toMatchObject({
        status: "closed",
        lines: [expect.objectContaining({ processed: 2, received: 2, restocked: 1 })],
      });
      expect(
        doc.returns[0].dispositions
          .map((d: { type: string; quantity: number }) => [d.type, d.quantity])
          .sort(),
      ).toEqual([
        ["NOT_RESTOCKED", 1],
        ["RESTOCKED", 1],
      ]);
      expect(emulator.flows.returnStatus(w.store.domain, returnGid)).toBe("CLOSED");
      expect(await movements(w)).toEqual([
        { id: expect.stringContaining(`return-receipt:rc-${n}`), quantity: 1 },
      ]);
      expect(await stock(w, a)).toEqual({ onHand: 9, reserved: 0, sellable: 9 });
      await w.expectShopifyAsModel();
    });

    it("an exchange: the new line is reserved and shipped like any line", async () => {
      const w = await world(mode);
      const [, b] = w.store.variants.map((v) => v.sku) as [string, string];
      const placed = await shippedOrder(w, 1);
      const returnGid = emulator.flows.requestReturn(
        w.store.domain,
        placed.id,
        [{ lineItemId: placed.lineItems[0]!.id, quantity: 1, returnReason: "SIZE_TOO_LARGE" }],
        [{ sku: b, quantity: 1 }],
      );
      emulator.flows.approveReturn(w.store.domain, returnGid);
      await w.settleAll();
      const doc = await w.order(placed.id);
      const exchange = doc.returns[0].exchangeLines as { shopifyLineId: string; quantity: number }[];
      expect(exchange).toHaveLength(1);
      expect(
        (doc.lines as { shopifyLineId: string; sku: string }[]).find(
          (l) => l.shopifyLineId === exchange[0]!.shopifyLineId,
        )?.sku,
      ).toBe(b);
      expect(await stock(w, b)).toEqual({ onHand: 10, reserved: 1, sellable: 9 });
      await w.expectShopifyAsModel();

      const s = await w.call("POST", "/api/v1/shipments", {
        id: `ex-ship-${n}`,
        orderId: await w.orderId(placed.id),
        warehouse: "W1",
        lines: [{ lineId: exchange[0]!.shopifyLineId, quantity: 1 }],
      });
      expect(s.status, JSON.stringify(s.body)).toBe(201);
      await w.settleAll();
      expect((await w.call("GET", `/api/v1/shipments/ex-ship-${n}`)).body.status).toBe("applied");
      expect(await stock(w, b)).toEqual({ onHand: 9, reserved: 0, sellable: 9 });
      await w.expectShopifyAsModel();
    });
  });
});
