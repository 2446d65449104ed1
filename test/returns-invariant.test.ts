/**
 * The stock invariant with store pickup, ship-from-store, holds, back-office cancellations,
 * returns and exchanges (issue 17), property-based against the emulator, in both modes and on
 * both databases. Random interleavings of web and pickup orders (some held at checkout), holds
 * placed and released, moves to the other store, shipments and pickups through the hub,
 * cancellations from the back office (with or without restock), returns received with some units
 * restocked and the rest damaged, exchanges, lines cancelled or substituted (order edits), and single
 * background steps. When quiet:
 *
 * - Shopify's available / committed / on_hand are what the model says, the dry run finds nothing;
 * - the hub's on hand per SKU and warehouse = the count − units the back office shipped from there
 *   + units it received back restocked there + units shipped through the hub that Shopify never
 *   fulfilled of orders cancelled with restock (back at the order's warehouse);
 * - every order is in the hub once;
 * - refunds with restock (before any return of the unit, or after one was received) restock by the
 *   store's rule where the unit left, and a receipt takes back only what is still out: no unit is
 *   back in the ledger twice.
 *
 * STOCK_PROPERTY_RUNS raises the number of runs (default 2 here: each run plays up to 17 actions).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../emulator/index.ts";
import { DIALECTS } from "./support/databases.ts";
import type { TestHub } from "./support/hub.ts";
import { type OpsWorld, withOrderOperations } from "./support/order-ops.ts";
import { createWorld, startWorldEmulator, startWorldHub, WORLD_WAREHOUSES } from "./support/stock-world.ts";

const RUNS = Number(process.env.STOCK_PROPERTY_RUNS ?? 2);
/**
 * The suite's runs use a fixed seed so a landing is not decided by chance; STOCK_PROPERTY_SEED=random
 * (or a number) explores other interleavings, as soaks do. Counter-examples found that way are
 * kept below as regression cases once fixed.
 */
const SEED =
  process.env.STOCK_PROPERTY_SEED === "random"
    ? {}
    : { seed: Number(process.env.STOCK_PROPERTY_SEED ?? 20261128) };
const INITIAL = 8;

type Action =
  | { kind: "order"; sku: number; loc: number; qty: number; pickup: boolean; held: boolean }
  | { kind: "hold"; pick: number }
  | { kind: "release"; pick: number }
  | { kind: "move"; pick: number; to: number }
  | { kind: "adminMove"; pick: number; to: number; split: boolean }
  | { kind: "ship"; pick: number; all: boolean; from?: number }
  | { kind: "cancel"; pick: number; restock: boolean }
  | { kind: "cancelLine"; pick: number }
  | { kind: "substitute"; pick: number }
  | { kind: "return"; pick: number; restock: number; wh: number; exchange: boolean }
  | { kind: "refund"; pick: number }
  | { kind: "step"; which: number }
  | { kind: "settle" };

const pick = fc.nat(20);
const side = fc.integer({ min: 0, max: 1 });
const order: fc.Arbitrary<Action> = fc.record({
  kind: fc.constant("order" as const),
  sku: side,
  loc: side,
  qty: fc.integer({ min: 1, max: 3 }),
  pickup: fc.boolean(),
  held: fc.boolean(),
});
const action: fc.Arbitrary<Action> = fc.oneof(
  order,
  fc.record({ kind: fc.constant("hold" as const), pick }),
  fc.record({ kind: fc.constant("release" as const), pick }),
  fc.record({ kind: fc.constant("move" as const), pick, to: side }),
  fc.record({ kind: fc.constant("adminMove" as const), pick, to: side, split: fc.boolean() }),
  fc.record({ kind: fc.constant("ship" as const), pick, all: fc.boolean() }),
  fc.record({ kind: fc.constant("ship" as const), pick, all: fc.boolean(), from: side }),
  fc.record({ kind: fc.constant("cancel" as const), pick, restock: fc.boolean() }),
  fc.record({ kind: fc.constant("cancelLine" as const), pick }),
  fc.record({ kind: fc.constant("substitute" as const), pick }),
  fc.record({
    kind: fc.constant("return" as const),
    pick,
    restock: fc.integer({ min: 0, max: 2 }),
    wh: side,
    exchange: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("refund" as const), pick }),
  fc.record({ kind: fc.constant("step" as const), which: fc.nat(8) }),
  fc.constant({ kind: "settle" as const }),
  fc.constant({ kind: "settle" as const }),
);
/** Two orders the hub has imported first, so the later actions find something to act on. */
const sequence: fc.Arbitrary<Action[]> = fc
  .tuple(order, order, fc.array(action, { minLength: 4, maxLength: 14 }))
  .map(([a, b, rest]) => [a, b, { kind: "settle" as const }, ...rest]);

interface Tracked {
  readonly shopifyId: string;
  readonly pickup: boolean;
  readonly shipments: string[];
  cancelledWithRestock: boolean;
  /**
   * Per order line: units that left the ledger through the hub's shipments (and from where, last
   * first), units back in the ledger (refunds' restocks and receipts' restocks), units under a
   * return. A unit comes back at most once, where it left.
   */
  readonly units: Map<
    string,
    { sku: string; shipped: number; from: string; back: number; refunded: number; returned: number }
  >;
}

let emulator: Emulator;
let app: { clientId: string; clientSecret: string };
beforeAll(async () => {
  ({ emulator, app } = await startWorldEmulator());
});
afterAll(async () => emulator?.close());

describe.each(DIALECTS)(
  "the stock invariant with pickups, moves, holds, cancellations and returns on %s",
  (dialect) => {
    let hub: TestHub;
    let n = 0;
    beforeAll(async () => {
      hub = await startWorldHub(dialect, app);
    });
    afterAll(async () => hub?.close());

    async function play(mode: "absolute" | "delta", actions: readonly Action[]): Promise<void> {
      const id = ++n;
      const skus = [`ri-${dialect}-${mode}-${id}-A`, `ri-${dialect}-${mode}-${id}-B`];
      const w: OpsWorld = await withOrderOperations(
        await createWorld({
          emulator,
          hub,
          app,
          domain: `ri-${dialect}-${mode}-${id}.myshopify.com`,
          skus,
          mode,
          initial: INITIAL,
          restockRule: "order_warehouse",
        }),
      );
      const domain = w.store.domain;
      const orders: Tracked[] = [];
      const delta = new Map<string, number>();
      const add = (sku: string, wh: string, q: number) =>
        delta.set(`${sku}|${wh}`, (delta.get(`${sku}|${wh}`) ?? 0) + q);
      let seq = 0;
      const chosen = (p: number) => (orders.length === 0 ? undefined : orders[p % orders.length]);
      const view = (o: Tracked) => emulator.control.getOrder(domain, o.shopifyId);
      const hubId = async (o: Tracked) =>
        (
          await hub.ctx.database.db
            .selectFrom("orders")
            .select(["id", "imported_at"])
            .where("store_id", "=", w.storeId)
            .where("shopify_order_gid", "=", o.shopifyId)
            .executeTakeFirst()
        )?.imported_at
          ? await w.orderId(o.shopifyId)
          : undefined;
      const fos = (o: Tracked) => emulator.flows.fulfillmentOrders(domain, o.shopifyId);

      for (const a of actions) {
        if (process.env.DEBUG_STOCK) console.log(domain, JSON.stringify(a));
        switch (a.kind) {
          case "order": {
            const input = {
              lineItems: [{ sku: skus[a.sku]!, quantity: a.qty }],
              ...(a.held ? { hold: { reason: "HIGH_RISK_OF_FRAUD" } } : {}),
            };
            const gid = a.pickup
              ? emulator.flows.placePickupOrder(domain, {
                  ...input,
                  pickupLocationId: w.locations[a.loc]!.id,
                })
              : emulator.control.placeOrder(domain, { ...input, locationId: w.locations[a.loc]!.id }).id;
            orders.push({
              shopifyId: gid,
              pickup: a.pickup,
              shipments: [],
              cancelledWithRestock: false,
              units: new Map(),
            });
            break;
          }
          case "hold": {
            const o = chosen(a.pick);
            const fo = o && fos(o).find((f) => f.status === "OPEN" && f.lines.some((l) => l.remaining > 0));
            if (fo)
              emulator.control.holdFulfillmentOrder(domain, fo.id, { reason: "OTHER", reasonNotes: "check" });
            break;
          }
          case "release": {
            const o = chosen(a.pick);
            const fo = o && fos(o).find((f) => f.status === "ON_HOLD");
            if (fo) emulator.control.releaseFulfillmentOrderHold(domain, fo.id);
            break;
          }
          case "move": {
            const o = chosen(a.pick);
            const oid = o && (await hubId(o));
            if (!oid) break;
            const r = await w.call("POST", `/api/v1/orders/${oid}/move`, {
              requestId: `${domain}-mv${++seq}`,
              warehouse: WORLD_WAREHOUSES[a.to],
            });
            expect([202, 409], JSON.stringify(r.body)).toContain(r.status);
            break;
          }
          case "adminMove": {
            // The merchant moves a fulfillment order (or one unit of it: a split) to the other
            // store in Shopify's admin; the hub hears of it by webhook, perhaps after the back
            // office shipped from where the feed still says.
            const o = chosen(a.pick);
            const to = w.locations[a.to]!.id;
            const fo =
              o &&
              fos(o).find(
                (f) => f.status === "OPEN" && f.locationId !== to && f.lines.some((l) => l.remaining > 0),
              );
            const line = fo?.lines.find((l) => l.remaining > 0);
            if (!fo || !line) break;
            emulator.flows.moveFulfillmentOrder(
              domain,
              fo.id,
              to,
              a.split ? { lineItemId: line.lineItemId, quantity: 1 } : undefined,
            );
            break;
          }
          case "ship": {
            const o = chosen(a.pick);
            const oid = o && (await hubId(o));
            if (!o || !oid) break;
            const doc = await w.order(o.shopifyId);
            // As a back office reading the feed: ship from where Shopify expects the units (the
            // fulfillment orders as read), never while a move is on its way.
            const open = (
              (doc.fulfillment?.fulfillmentOrders ?? []) as {
                status: string;
                warehouse: string | null;
                lines: { remaining: number }[];
              }[]
            ).filter(
              (f) =>
                f.lines.some((l) => l.remaining > 0) && f.status !== "closed" && f.status !== "cancelled",
            );
            const from = [...new Set(open.map((f) => f.warehouse))];
            const pending = (
              (await w.call("GET", `/api/v1/orders/${oid}/actions`)).body.items as {
                kind: string;
                status: string;
              }[]
            ).some((x) => x.kind === "move" && x.status === "pending");
            if (from.length === 0 || from.includes(null) || pending) break;
            // Units at both stores (the merchant moved some): a shipment may leave from either,
            // and the hub moves what Shopify expects elsewhere to where it left.
            if (from.length > 1 && (o.pickup || a.from === undefined)) break;
            const want = a.from === undefined ? undefined : WORLD_WAREHOUSES[a.from];
            doc.warehouse = want && from.includes(want) ? want : from[0];
            const lines = (
              doc.lines as { shopifyLineId: string; currentQuantity: number; fulfilledQuantity: number }[]
            )
              .map((l) => ({ lineId: l.shopifyLineId, quantity: a.all ? l.currentQuantity : 1 }))
              .filter((l) => l.quantity > 0);
            if (lines.length === 0) break;
            const sid = `${domain}-s${++seq}`;
            const r = o.pickup
              ? await w.call("POST", `/api/v1/orders/${oid}/pickup/collected`, { id: sid, lines })
              : await w.call("POST", "/api/v1/shipments", {
                  id: sid,
                  orderId: oid,
                  warehouse: doc.warehouse,
                  lines,
                });
            if (process.env.DEBUG_STOCK) console.log("ship", doc.warehouse, r.status, JSON.stringify(lines));
            // The hub refuses what it knows cannot ship (more than is left, cancelled, not read yet).
            if (r.status === 201) {
              o.shipments.push(sid);
              for (const l of r.body.shipment.lines as { sku: string; lineId: string; quantity: number }[]) {
                add(l.sku, r.body.shipment.warehouse, -l.quantity);
                const u = o.units.get(l.lineId) ?? {
                  sku: l.sku,
                  shipped: 0,
                  from: "",
                  back: 0,
                  refunded: 0,
                  returned: 0,
                };
                o.units.set(l.lineId, {
                  ...u,
                  shipped: u.shipped + l.quantity,
                  from: r.body.shipment.warehouse,
                });
              }
            } else expect(r.status, JSON.stringify(r.body)).toBe(400);
            break;
          }
          case "cancel": {
            const o = chosen(a.pick);
            const oid = o && (await hubId(o));
            if (!o || !oid || o.cancelledWithRestock) break;
            const r = await w.call("POST", `/api/v1/orders/${oid}/cancel`, {
              requestId: `${domain}-c${++seq}`,
              reason: "CUSTOMER",
              refund: true,
              restock: a.restock,
              notifyCustomer: false,
            });
            expect(r.status, JSON.stringify(r.body)).toBe(202);
            if (a.restock && !view(o).cancelledAt) o.cancelledWithRestock = true;
            break;
          }
          case "cancelLine":
          case "substitute": {
            // One unit of the first line still waiting in Shopify: cancelled, or replaced by the other SKU.
            const o = chosen(a.pick);
            const oid = o && (await hubId(o));
            const line = o && view(o).lineItems.find((l) => l.fulfillableQuantity > 0);
            if (!o || !oid || !line) break;
            const r =
              a.kind === "cancelLine"
                ? await w.call("POST", `/api/v1/orders/${oid}/cancel-lines`, {
                    requestId: `${domain}-cl${++seq}`,
                    reason: "out of stock",
                    lines: [{ lineId: line.id, quantity: 1 }],
                  })
                : await w.call("POST", `/api/v1/orders/${oid}/substitute`, {
                    requestId: `${domain}-su${++seq}`,
                    lineId: line.id,
                    quantity: 1,
                    sku: skus[line.sku === skus[0] ? 1 : 0],
                    reason: "damaged",
                  });
            // The hub may know the unit shipped already (its shipment not yet fulfilled in Shopify).
            expect([202, 400, 409], JSON.stringify(r.body)).toContain(r.status);
            break;
          }
          case "return": {
            const o = chosen(a.pick);
            if (!o) break;
            const v = view(o);
            const line = v.lineItems.find((l) => l.fulfilledQuantity > 0);
            if (!line) break;
            let gid: string;
            try {
              gid = emulator.flows.requestReturn(
                domain,
                o.shopifyId,
                [{ lineItemId: line.id, quantity: 1, returnReason: "OTHER" }],
                a.exchange ? [{ sku: skus[1]!, quantity: 1 }] : [],
              );
            } catch {
              break; // every fulfilled unit is already being returned
            }
            try {
              emulator.flows.approveReturn(domain, gid);
            } catch {
              break; // cancelled meanwhile: no exchange lines on a cancelled order
            }
            await w.settleAll();
            const doc = await w.order(o.shopifyId);
            const ret = (
              doc.returns as { id: string; hubId: number; lines: { returnLineId: string }[] }[]
            ).find((r) => r.id === gid)!;
            const restock = a.restock > 0;
            const u = o.units.get(line.id);
            // Back in the ledger at most once: not beyond what left through the hub's shipments
            // minus what a refund or an earlier receipt already took back.
            const room = u && !o.cancelledWithRestock ? u.shipped - u.back : restock ? 1 : 0;
            const r = await w.call("POST", `/api/v1/returns/${ret.hubId}/receipts`, {
              id: `${domain}-rc${++seq}`,
              lines: [
                restock
                  ? {
                      returnLineId: ret.lines[0]!.returnLineId,
                      quantity: 1,
                      condition: "restock",
                      warehouse: WORLD_WAREHOUSES[a.wh],
                    }
                  : { returnLineId: ret.lines[0]!.returnLineId, quantity: 1, condition: "damaged" },
              ],
            });
            expect(r.status, JSON.stringify(r.body)).toBe(201);
            if (restock) add(line.sku!, WORLD_WAREHOUSES[a.wh]!, r.body.receipt.lines[0].restocked);
            expect(r.body.receipt.lines[0].restocked).toBe(restock && room > 0 ? 1 : 0);
            if (process.env.DEBUG_STOCK)
              console.log("receipt", line.id, room, JSON.stringify(r.body.receipt.lines));
            if (u) {
              u.back += r.body.receipt.lines[0].restocked;
              u.returned += 1;
            }
            break;
          }
          case "refund": {
            // The merchant refunds one fulfilled unit with restock in Shopify, with or without a
            // return (here: before any return of it, or after one was received). The hub restocks
            // it where it left by the store's rule, unless it is under a return (the receipt's) or
            // already back: never counted twice.
            const o = chosen(a.pick);
            if (!o || o.cancelledWithRestock) break;
            const v = view(o);
            const line = v.lineItems.find((l) => l.fulfilledQuantity > 0 && o.units.has(l.id));
            const u = line && o.units.get(line.id);
            if (!line || !u) break;
            try {
              emulator.control.createRefund(domain, o.shopifyId, {
                lineItems: [{ lineItemId: line.id, quantity: 1, restockType: "RETURN" }],
              });
            } catch {
              break; // nothing refundable left on the line
            }
            await w.settleAll();
            if (process.env.DEBUG_STOCK) console.log("refund", line.id, JSON.stringify(u));
            // Units under a return are the receipt's; the rest, not yet back, the refund's.
            const expected = Math.max(0, Math.min(1, u.shipped - u.refunded - u.returned));
            const recorded = (
              (await w.call("GET", `/api/v1/orders/${await w.orderId(o.shopifyId)}/refunds`)).body.items as {
                lines: { lineId: string; restocked?: number }[];
              }[]
            ).flatMap((x) => x.lines.filter((l) => l.lineId === line.id));
            expect(recorded.length, JSON.stringify(recorded)).toBeGreaterThan(0);
            if (expected > 0) {
              add(u.sku, u.from, expected);
              u.back += expected;
              u.refunded += expected;
            }
            break;
          }
          case "step":
            await emulator.control.webhooksIdle(5000);
            await w.step(a.which);
            break;
          case "settle":
            await w.settleAll();
            break;
        }
      }
      // Holds left in place would keep shipments parked: release them, then let everything settle.
      for (const o of orders)
        for (const fo of fos(o))
          if (fo.status === "ON_HOLD") emulator.control.releaseFulfillmentOrderHold(domain, fo.id);
      await w.settleAll();
      await w.expectShopifyAsModel();

      // Units shipped through the hub that Shopify never fulfilled, of orders cancelled with restock.
      for (const o of orders) {
        if (!o.cancelledWithRestock) continue;
        const doc = await w.order(o.shopifyId);
        for (const sid of o.shipments) {
          const { body } = await w.call("GET", `/api/v1/shipments/${encodeURIComponent(sid)}`);
          const open = new Map<string, number>();
          for (const l of body.lines as { sku: string; lineId: string; quantity: number }[])
            open.set(l.sku, (open.get(l.sku) ?? 0) + l.quantity);
          for (const f of body.fulfillments as {
            status: string;
            lines: { lineId: string; quantity: number }[];
          }[])
            if (f.status === "done")
              for (const l of f.lines) {
                const sku = (body.lines as { sku: string; lineId: string }[]).find(
                  (x) => x.lineId === l.lineId,
                )!.sku;
                open.set(sku, (open.get(sku) ?? 0) - l.quantity);
              }
          for (const [sku, q] of open) if (q > 0) add(sku, doc.warehouse as string, q);
        }
      }
      const expected = new Map<string, number>();
      for (const s of skus)
        for (const wh of WORLD_WAREHOUSES)
          expected.set(`${s}|${wh}`, INITIAL + (delta.get(`${s}|${wh}`) ?? 0));
      expect(Object.fromEntries(await w.onHand())).toEqual(Object.fromEntries(expected));
      const hubOrders = await hub.ctx.database.db
        .selectFrom("orders")
        .select("shopify_order_gid")
        .where("store_id", "=", w.storeId)
        .execute();
      expect(hubOrders.map((o) => o.shopify_order_gid).sort()).toEqual(orders.map((o) => o.shopifyId).sort());
    }

    describe.each(["absolute", "delta"] as const)("in %s mode", (mode) => {
      it("a pickup moved, held, collected; a cancelled order restocked; a return with an exchange", async () => {
        await play(mode, [
          { kind: "order", sku: 0, loc: 1, qty: 2, pickup: true, held: false },
          { kind: "order", sku: 1, loc: 0, qty: 2, pickup: false, held: true },
          { kind: "settle" },
          { kind: "move", pick: 0, to: 0 },
          { kind: "ship", pick: 1, all: false },
          { kind: "release", pick: 1 },
          { kind: "settle" },
          { kind: "ship", pick: 0, all: true },
          { kind: "ship", pick: 1, all: false },
          { kind: "cancel", pick: 1, restock: true },
          { kind: "settle" },
          { kind: "return", pick: 0, restock: 1, wh: 1, exchange: true },
          { kind: "return", pick: 0, restock: 0, wh: 0, exchange: false },
        ]);
      });

      it("regression: a web order Shopify routes to the other store is shipped from there", async () => {
        await play(mode, [
          { kind: "order", sku: 0, loc: 0, qty: 2, pickup: false, held: false },
          { kind: "order", sku: 0, loc: 1, qty: 2, pickup: false, held: true },
          { kind: "settle" },
          { kind: "order", sku: 1, loc: 1, qty: 2, pickup: false, held: false },
          { kind: "ship", pick: 1, all: true },
          { kind: "step", which: 8 },
          { kind: "step", which: 5 },
          { kind: "move", pick: 6, to: 0 },
          { kind: "ship", pick: 17, all: false },
          { kind: "ship", pick: 20, all: true },
          { kind: "cancelLine", pick: 14 },
          { kind: "release", pick: 9 },
        ]);
      });

      it("regression: a unit substituted after a move is served from the new store", async () => {
        await play(mode, [
          { kind: "order", sku: 0, loc: 0, qty: 3, pickup: true, held: false },
          { kind: "order", sku: 1, loc: 0, qty: 2, pickup: false, held: false },
          { kind: "settle" },
          { kind: "move", pick: 9, to: 1 },
          { kind: "step", which: 0 },
          { kind: "substitute", pick: 11 },
          { kind: "settle" },
          { kind: "substitute", pick: 4 },
          { kind: "substitute", pick: 10 },
        ]);
      });

      // CI seed 17054697 (sqlite, absolute): the move left the held pickup fulfillment order
      // behind and moved only the substitute's, so Shopify committed the order at two locations
      // while the hub reserved it all at one; reservations now follow each line's fulfillment orders.
      it("regression: a move that leaves a held fulfillment order behind splits the reservation", async () => {
        await play(mode, [
          { kind: "order", sku: 1, loc: 1, qty: 2, pickup: false, held: false },
          { kind: "order", sku: 1, loc: 0, qty: 3, pickup: true, held: true },
          { kind: "settle" },
          { kind: "step", which: 8 },
          { kind: "release", pick: 2 },
          { kind: "substitute", pick: 1 },
          { kind: "move", pick: 15, to: 1 },
          { kind: "move", pick: 18, to: 0 },
          { kind: "return", pick: 4, restock: 0, wh: 1, exchange: false },
          { kind: "ship", pick: 5, all: false },
          { kind: "substitute", pick: 1 },
          { kind: "settle" },
          { kind: "return", pick: 14, restock: 1, wh: 0, exchange: true },
          { kind: "settle" },
          { kind: "settle" },
        ]);
      });

      // CI seed 1629629447 (postgres, delta): a substitution then a cancel without restock in one
      // pass; the substitute's line was not imported yet, so the hub did not follow Shopify taking
      // its unit off on_hand and delta mode never sent it back.
      it("regression: a substitute not imported yet, then cancelled without restock", async () => {
        await play(mode, [
          { kind: "order", sku: 1, loc: 0, qty: 3, pickup: true, held: false },
          { kind: "order", sku: 1, loc: 1, qty: 3, pickup: false, held: false },
          { kind: "settle" },
          { kind: "substitute", pick: 6 },
          { kind: "substitute", pick: 1 },
          { kind: "cancel", pick: 2, restock: false },
          { kind: "substitute", pick: 0 },
          { kind: "return", pick: 11, restock: 1, wh: 1, exchange: true },
          { kind: "order", sku: 1, loc: 1, qty: 3, pickup: true, held: true },
          { kind: "settle" },
          { kind: "hold", pick: 3 },
          { kind: "return", pick: 11, restock: 1, wh: 1, exchange: true },
          { kind: "order", sku: 0, loc: 1, qty: 3, pickup: true, held: false },
        ]);
      });

      it("a refund with restock before the return is known, and after one: each unit back once, where it left", async () => {
        await play(mode, [
          { kind: "order", sku: 0, loc: 0, qty: 1, pickup: false, held: false },
          { kind: "order", sku: 1, loc: 1, qty: 2, pickup: true, held: false },
          { kind: "settle" },
          { kind: "ship", pick: 0, all: true },
          { kind: "ship", pick: 1, all: true },
          { kind: "settle" },
          // Refunded and restocked by the rule at W1 (where it left); the return that follows
          // finds nothing left to take back.
          { kind: "refund", pick: 0 },
          { kind: "return", pick: 0, restock: 1, wh: 0, exchange: false },
          // A return received first (restocked at the other store), then refunds of both units.
          { kind: "return", pick: 1, restock: 1, wh: 0, exchange: false },
          { kind: "refund", pick: 1 },
          { kind: "refund", pick: 1 },
        ]);
      });

      // Session 5's open case: 3 units at the first store, the merchant moves one to the other
      // store in Shopify, and the back office ships all 3 from the first before the hub has read
      // the move. The hub moves the stray unit back to where it left (fulfillmentOrderMove) and
      // fulfils there; Shopify's committed units follow the reservation.
      it("regression: a unit moved by the merchant is shipped from the first store before the hub reads the move", async () => {
        await play(mode, [
          { kind: "order", sku: 0, loc: 0, qty: 3, pickup: false, held: false },
          { kind: "order", sku: 1, loc: 1, qty: 3, pickup: false, held: false },
          { kind: "settle" },
          { kind: "adminMove", pick: 0, to: 1, split: true },
          { kind: "ship", pick: 0, all: true },
          { kind: "settle" },
          // Read by the hub this time (2 reserved at W2, 1 at W1): two units shipped from W1 (the
          // second one moved back from the other store), then the last one from W2.
          { kind: "adminMove", pick: 1, to: 0, split: true },
          { kind: "settle" },
          { kind: "ship", pick: 1, all: false, from: 0 },
          { kind: "ship", pick: 1, all: false, from: 0 },
          { kind: "settle" },
          { kind: "ship", pick: 1, all: false, from: 1 },
          { kind: "settle" },
        ]);
      });

      it("holds after any interleaving of pickups, moves, holds, shipments, cancellations and returns", async () => {
        await fc.assert(
          fc.asyncProperty(sequence, async (actions) => {
            await play(mode, actions);
          }),
          { numRuns: RUNS, endOnFailure: true, ...SEED },
        );
      });
    });
  },
  600_000,
);
