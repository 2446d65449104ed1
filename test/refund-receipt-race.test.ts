/**
 * A refund with restock and a return of the same units, arriving in every order, on both
 * databases: each returned unit comes back into the ledger once.
 * - the return is recorded while the refund's restock is being planned (the race refunds.ts
 *   guards with StaleRefundPlan: its plan, made outside the orders lock, is re-checked inside it),
 *   made deterministic by running the return import between the plan's read and its write;
 * - the return and its receipt first, the refund after;
 * - the refund first (the return not known yet: restocked by the store's rule where the unit
 *   left), the return and its receipt after;
 * - a refund made for the return (Shopify's `Refund.return`) of one of two shipped units, before
 *   and after the receipt: the unit is the return's, so only the receipt takes it back (without
 *   the link the refund would take the other unit back as well). Its `refunds/create` payload
 *   carries no `return` (Shopify's REST Refund resource has none): the hub reads the refund
 *   (`refund(id:)`) before recording it; with Shopify unreachable the delivery waits whole; a
 *   payload that does carry the link (emulator switch) is taken without the read.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Emulator } from "../emulator/index.ts";
import { processRefundInbox } from "../src/fulfillment/refunds.ts";
import * as returns from "../src/fulfillment/returns.ts";
import { DIALECTS } from "./support/databases.ts";
import type { TestHub } from "./support/hub.ts";
import { type OpsWorld, withOrderOperations } from "./support/order-ops.ts";
import { createWorld, startWorldEmulator, startWorldHub } from "./support/stock-world.ts";

/** Set by a test: runs once, right after the refund's plan read the returns it knows. */
const race: { between: (() => Promise<void>) | null } = { between: null };

vi.mock("../src/fulfillment/returns.ts", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../src/fulfillment/returns.ts")>();
  return {
    ...actual,
    returnedUnitsByLine: async (...args: Parameters<typeof actual.returnedUnitsByLine>) => {
      const seen = await actual.returnedUnitsByLine(...args);
      const between = race.between;
      race.between = null;
      if (between) await between();
      return seen;
    },
  };
});

let emulator: Emulator;
let app: { clientId: string; clientSecret: string };
beforeAll(async () => {
  ({ emulator, app } = await startWorldEmulator());
});
afterAll(async () => emulator?.close());

describe.each(DIALECTS)("a refund with restock and a return receipt of the same units on %s", (dialect) => {
  let hub: TestHub;
  let n = 0;
  beforeAll(async () => {
    hub = await startWorldHub(dialect, app);
  });
  afterAll(async () => hub?.close());

  const world = async () =>
    withOrderOperations(
      await createWorld({
        emulator,
        hub,
        app,
        domain: `race-${dialect}-${++n}.myshopify.com`,
        skus: [`RR-${dialect}-${n}-A`],
        mode: "absolute",
        initial: 10,
        restockRule: "order_warehouse",
      }),
    );
  const onHand = async (w: OpsWorld, warehouse = "W1") => {
    const sku = w.store.variants[0]!.sku;
    const { body } = await w.call(
      "GET",
      `/api/v1/stock?sku=${encodeURIComponent(sku)}&warehouse=${warehouse}`,
    );
    return (body.items[0] as { onHand: number }).onHand;
  };
  const returnMovements = async (w: OpsWorld) =>
    (
      await hub.ctx.database.db
        .selectFrom("movements as m")
        .innerJoin("variants as v", "v.id", "m.variant_id")
        .innerJoin("warehouses as h", "h.id", "m.warehouse_id")
        .select(["m.external_id", "h.code", "m.quantity"])
        .where("v.sku", "=", w.store.variants[0]!.sku)
        .where("m.type", "=", "return")
        .execute()
    ).map((m) => ({ id: m.external_id.split(":")[0], warehouse: m.code, quantity: Number(m.quantity) }));
  /** `quantity` units (one unless said) shipped from W1 through the hub and fulfilled in Shopify. */
  const shippedOrder = async (w: OpsWorld, quantity = 1) => {
    const placed = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku: w.store.variants[0]!.sku, quantity }],
      locationId: w.locations[0]!.id,
    });
    await w.settleAll();
    const s = await w.call("POST", "/api/v1/shipments", {
      id: `rr-ship-${w.store.domain}`,
      orderId: await w.orderId(placed.id),
      warehouse: "W1",
      lines: [{ sku: w.store.variants[0]!.sku, quantity }],
    });
    expect(s.status, JSON.stringify(s.body)).toBe(201);
    await w.settleAll();
    expect(await onHand(w)).toBe(10 - quantity);
    return placed;
  };
  const requestReturn = (w: OpsWorld, placed: { id: string; lineItems: { id: string }[] }) => {
    const gid = emulator.flows.requestReturn(w.store.domain, placed.id, [
      { lineItemId: placed.lineItems[0]!.id, quantity: 1, returnReason: "DEFECTIVE" },
    ]);
    emulator.flows.approveReturn(w.store.domain, gid);
    return gid;
  };
  const refund = (w: OpsWorld, placed: { id: string; lineItems: { id: string }[] }) =>
    emulator.control.createRefund(w.store.domain, placed.id, {
      lineItems: [{ lineItemId: placed.lineItems[0]!.id, quantity: 1, restockType: "RETURN" }],
    });
  /** The back office received the unit in good condition and put it back at W1. */
  const receive = async (w: OpsWorld, placed: { id: string }) => {
    const doc = await w.order(placed.id);
    const r = await w.call("POST", `/api/v1/returns/${doc.returns[0].hubId}/receipts`, {
      id: `rr-receipt-${w.store.domain}`,
      lines: [
        {
          returnLineId: doc.returns[0].lines[0].returnLineId,
          quantity: 1,
          condition: "restock",
          warehouse: "W1",
        },
      ],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.receipt.lines[0].restocked as number;
  };
  const refundsOf = async (w: OpsWorld, placed: { id: string }) =>
    hub.ctx.database.db
      .selectFrom("refunds")
      .select("lines")
      .where("order_id", "=", await w.orderId(placed.id))
      .execute();

  it("the return is recorded while the refund's restock is planned: the refund plans again and leaves the unit to the receipt", async () => {
    const w = await world();
    const placed = await shippedOrder(w);
    requestReturn(w, placed);
    refund(w, placed);
    await emulator.control.webhooksIdle(10_000);
    let raced = false;
    race.between = async () => {
      raced = true;
      await returns.processReturnInbox(hub.ctx);
    };
    await processRefundInbox(hub.ctx, w.transport);
    expect(raced).toBe(true);
    // The stale plan was rolled back: no refund recorded, no movement.
    expect(await refundsOf(w, placed)).toEqual([]);
    expect(await returnMovements(w)).toEqual([]);
    expect((await w.order(placed.id)).returns).toHaveLength(1);

    await w.settleAll();
    const [recorded] = await refundsOf(w, placed);
    expect(JSON.parse(recorded!.lines)[0]).toMatchObject({ restocked: 0 });
    expect(await returnMovements(w)).toEqual([]);
    expect(await receive(w, placed)).toBe(1);
    await w.settleAll();
    expect(await returnMovements(w)).toEqual([{ id: "return-receipt", warehouse: "W1", quantity: 1 }]);
    expect(await onHand(w)).toBe(10);
    await w.expectShopifyAsModel();
  });

  it("the return and its receipt first, the refund after: counted once, by the receipt", async () => {
    const w = await world();
    const placed = await shippedOrder(w);
    requestReturn(w, placed);
    await w.settleAll();
    expect(await receive(w, placed)).toBe(1);
    refund(w, placed);
    await w.settleAll();
    expect(JSON.parse((await refundsOf(w, placed))[0]!.lines)[0]).toMatchObject({ restocked: 0 });
    expect(await returnMovements(w)).toEqual([{ id: "return-receipt", warehouse: "W1", quantity: 1 }]);
    expect(await onHand(w)).toBe(10);
    await w.expectShopifyAsModel();
  });

  it("the refund first, before the return is known: restocked where it left, the receipt adds nothing", async () => {
    const w = await world();
    const placed = await shippedOrder(w);
    refund(w, placed);
    await w.settleAll();
    expect(await returnMovements(w)).toEqual([{ id: "refund", warehouse: "W1", quantity: 1 }]);
    requestReturn(w, placed);
    await w.settleAll();
    expect(await receive(w, placed)).toBe(0);
    await w.settleAll();
    expect(await returnMovements(w)).toEqual([{ id: "refund", warehouse: "W1", quantity: 1 }]);
    expect(await onHand(w)).toBe(10);
    await w.expectShopifyAsModel();
  });

  /** Two units shipped from W1; one returned; the merchant refunds that return with restock. */
  const twoShippedOneReturned = async (w: OpsWorld) => {
    const placed = await shippedOrder(w, 2);
    const returnGid = requestReturn(w, placed);
    const refundReturn = () =>
      emulator.control.createRefund(w.store.domain, placed.id, {
        returnId: returnGid,
        lineItems: [{ lineItemId: placed.lineItems[0]!.id, quantity: 1, restockType: "RETURN" }],
      });
    return { placed, refundReturn };
  };
  /** The refund's refunds/create payload (it carries no `return` unless the emulator is told to). */
  const refundPayload = (w: OpsWorld) => {
    const d = emulator.control.webhookDeliveries({ shop: w.store.domain, topic: "refunds/create" });
    expect(d).toHaveLength(1);
    return JSON.parse(d[0]!.body) as Record<string, unknown>;
  };
  const refundReads = (w: OpsWorld) =>
    emulator.control.apiCalls(w.store.domain).filter((c) => c.rootFields.includes("refund"));

  it("a refund made for the return, after its receipt: the receipt's unit, not counted again", async () => {
    const w = await world();
    const { placed, refundReturn } = await twoShippedOneReturned(w);
    await w.settleAll();
    expect(await receive(w, placed)).toBe(1);
    refundReturn();
    await w.settleAll();
    expect("return" in refundPayload(w)).toBe(false);
    expect(refundReads(w)).toHaveLength(1);
    const [recorded] = await refundsOf(w, placed);
    expect(JSON.parse(recorded!.lines)[0]).toMatchObject({ restocked: 0 });
    expect(await returnMovements(w)).toEqual([{ id: "return-receipt", warehouse: "W1", quantity: 1 }]);
    expect(await onHand(w)).toBe(9);
    await w.expectShopifyAsModel();
  });

  it("a refund made for the return, before the hub knows the return: left to the receipt (Shopify unreachable first: nothing applied)", async () => {
    const w = await world();
    const { placed, refundReturn } = await twoShippedOneReturned(w);
    refundReturn();
    await emulator.control.webhooksIdle(10_000);
    expect("return" in refundPayload(w)).toBe(false);
    // Shopify cannot be reached for the read (every attempt of the transport fails): the
    // delivery is left for a retry, nothing recorded. It fails once in the run, however long the
    // transport's own retries took (its backoff counts from the failure).
    emulator.control.setFaults(w.store.domain, { failNext: 100, errorStatuses: [503] });
    const unreachable = await processRefundInbox(hub.ctx, w.transport);
    expect(unreachable).toEqual({ processed: 0, failed: 1, dead: 0 });
    emulator.control.clearFaults(w.store.domain);
    expect(await refundsOf(w, placed)).toEqual([]);
    expect(await returnMovements(w)).toEqual([]);
    // The refund's delivery is applied before the return's.
    await hub.ctx.database.db
      .updateTable("webhook_inbox")
      .set({ next_attempt_at: 0 })
      .where("shop", "=", w.store.domain)
      .execute();
    const reachable = await processRefundInbox(hub.ctx, w.transport);
    expect(reachable).toEqual({ processed: 1, failed: 0, dead: 0 });
    expect(refundReads(w).filter((c) => c.status === 200)).toHaveLength(1);
    expect((await w.order(placed.id)).returns ?? []).toEqual([]);
    const [recorded] = await refundsOf(w, placed);
    expect(JSON.parse(recorded!.lines)[0]).toMatchObject({ restocked: 0 });
    expect(await returnMovements(w)).toEqual([]);
    await w.settleAll();
    expect(await receive(w, placed)).toBe(1);
    await w.settleAll();
    expect(await returnMovements(w)).toEqual([{ id: "return-receipt", warehouse: "W1", quantity: 1 }]);
    expect(await onHand(w)).toBe(9);
    await w.expectShopifyAsModel();
  });

  it("a payload that carries the refund's return is taken as it is: no read", async () => {
    const w = await world();
    emulator.control.setRefundPayloadReturn(w.store.domain, true);
    const { placed, refundReturn } = await twoShippedOneReturned(w);
    refundReturn();
    await emulator.control.webhooksIdle(10_000);
    expect(refundPayload(w).return).toMatchObject({
      admin_graphql_api_id: expect.stringContaining("Return/"),
    });
    await processRefundInbox(hub.ctx, w.transport);
    expect(refundReads(w)).toEqual([]);
    const [recorded] = await refundsOf(w, placed);
    expect(JSON.parse(recorded!.lines)[0]).toMatchObject({ restocked: 0 });
    expect(await returnMovements(w)).toEqual([]);
  });
});
