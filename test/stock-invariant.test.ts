/**
 * The stock invariant, property-based (docs/STOCK-MODEL.md), against the emulator, in both modes
 * and on both databases. Random interleavings of back-office movements (receipts, late-dated
 * receipts, sales, adjustments), Shopify orders placed (online and at a POS till), edited and
 * cancelled, shipments through the hub, fulfillments made in Shopify (whole and partial) and
 * cancelled, refunds with and without restock, and single background steps of the hub in any
 * order (order, fulfillment, refund and level inboxes, shipment delivery, push). Whenever the
 * system is quiet, for every linked item and managed location:
 *
 * - Shopify's `available` = the hub's sellable, its `committed` = the hub's committed, its
 *   `on_hand` = the model's desired on_hand, and the dry run finds nothing to change;
 * - the hub's on hand = receipts − units that left + units restocked, where the units that left
 *   on an order line are the larger of what the back office shipped through the hub and what
 *   Shopify shows fulfilled;
 * - every Shopify order is in the hub once, and the hub reserves exactly what Shopify commits.
 *
 * Counts are left out on purpose: their ordering rule is the ledger's own property test.
 * STOCK_PROPERTY_RUNS raises the number of runs (e.g. for a soak); shrunk counter-examples found
 * so far are replayed as regression cases first.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../emulator/index.ts";
import { DIALECTS } from "./support/databases.ts";
import type { TestHub } from "./support/hub.ts";
import { type OpsWorld, withOrderOperations } from "./support/order-ops.ts";
import { createWorld, startWorldEmulator, startWorldHub, WORLD_WAREHOUSES } from "./support/stock-world.ts";

const RUNS = Number(process.env.STOCK_PROPERTY_RUNS ?? 5);
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
  | { kind: "receipt"; sku: number; wh: number; qty: number; late: boolean }
  | { kind: "sale"; sku: number; wh: number; qty: number }
  | { kind: "adjust"; sku: number; wh: number; qty: number }
  | { kind: "order"; sku: number; loc: number; qty: number; second: number; pos: boolean }
  | { kind: "edit"; pick: number; by: number }
  | { kind: "cancel"; pick: number }
  | { kind: "ship"; pick: number; all: boolean }
  | { kind: "fulfil"; pick: number; all: boolean }
  | { kind: "cancelFulfillment"; pick: number }
  | { kind: "refund"; pick: number; type: "RETURN" | "CANCEL"; qty: number }
  | { kind: "step"; which: number }
  | { kind: "settle" };

const sku = fc.integer({ min: 0, max: 1 });
const side = fc.integer({ min: 0, max: 1 });
const pick = fc.nat(20);
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant("receipt" as const),
    sku,
    wh: side,
    qty: fc.integer({ min: 1, max: 5 }),
    late: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("sale" as const), sku, wh: side, qty: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant("adjust" as const), sku, wh: side, qty: fc.constantFrom(-2, -1, 1, 2) }),
  fc.record({
    kind: fc.constant("order" as const),
    sku,
    loc: side,
    qty: fc.integer({ min: 1, max: 3 }),
    second: fc.integer({ min: 0, max: 2 }),
    pos: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("edit" as const), pick, by: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ kind: fc.constant("cancel" as const), pick }),
  fc.record({ kind: fc.constant("ship" as const), pick, all: fc.boolean() }),
  fc.record({ kind: fc.constant("fulfil" as const), pick, all: fc.boolean() }),
  fc.record({ kind: fc.constant("cancelFulfillment" as const), pick }),
  fc.record({
    kind: fc.constant("refund" as const),
    pick,
    type: fc.constantFrom("RETURN" as const, "CANCEL" as const),
    qty: fc.integer({ min: 1, max: 2 }),
  }),
  fc.record({ kind: fc.constant("step" as const), which: fc.nat(6) }),
  fc.record({ kind: fc.constant("step" as const), which: fc.nat(6) }),
  fc.constant({ kind: "settle" as const }),
);

/** Shrunk counter-examples found while building the model, replayed on every run. */
const REGRESSIONS: { name: string; actions: Action[] }[] = [
  {
    name: "a refund returns units whose Shopify fulfillment the hub has not recorded yet",
    actions: [
      { kind: "order", sku: 0, loc: 0, qty: 2, second: 0, pos: false },
      { kind: "settle" },
      { kind: "fulfil", pick: 0, all: true },
      { kind: "refund", pick: 0, type: "RETURN", qty: 1 },
      { kind: "step", which: 0 },
      { kind: "step", which: 2 },
    ],
  },
  {
    name: "Shopify fulfils units the hub shipped before its own fulfillment reaches Shopify",
    actions: [
      { kind: "order", sku: 1, loc: 1, qty: 3, second: 0, pos: false },
      { kind: "settle" },
      { kind: "ship", pick: 0, all: false },
      { kind: "fulfil", pick: 0, all: true },
      { kind: "step", which: 1 },
      { kind: "step", which: 4 },
    ],
  },
  {
    name: "a POS sale's fulfillment is cancelled before the hub hears of it",
    actions: [
      { kind: "order", sku: 0, loc: 0, qty: 1, second: 0, pos: true },
      { kind: "cancelFulfillment", pick: 0 },
      { kind: "step", which: 0 },
      { kind: "order", sku: 0, loc: 0, qty: 1, second: 0, pos: false },
    ],
  },
  {
    name: "a POS sale's fulfillment is cancelled after a back-office sale elsewhere",
    actions: [
      { kind: "sale", sku: 0, wh: 1, qty: 3 },
      { kind: "step", which: 0 },
      { kind: "order", sku: 0, loc: 0, qty: 1, second: 0, pos: true },
      { kind: "cancelFulfillment", pick: 0 },
    ],
  },
  {
    name: "Shopify removes units the hub shipped before its fulfillment reaches Shopify",
    actions: [
      { kind: "order", sku: 0, loc: 0, qty: 2, second: 0, pos: false },
      { kind: "fulfil", pick: 0, all: false },
      { kind: "settle" },
      { kind: "ship", pick: 0, all: false },
      { kind: "edit", pick: 0, by: 1 },
      { kind: "sale", sku: 0, wh: 0, qty: 1 },
    ],
  },
  {
    name: "Shopify fulfils units the hub shipped, then cancels that fulfillment",
    actions: [
      { kind: "order", sku: 0, loc: 0, qty: 1, second: 0, pos: false },
      { kind: "settle" },
      { kind: "ship", pick: 0, all: false },
      { kind: "fulfil", pick: 0, all: false },
      { kind: "cancelFulfillment", pick: 0 },
      { kind: "settle" },
      { kind: "step", which: 0 },
    ],
  },
  {
    name: "the hub's fulfillment is cancelled in Shopify, then fulfilled there again",
    actions: [
      { kind: "order", sku: 0, loc: 0, qty: 2, second: 0, pos: false },
      { kind: "settle" },
      { kind: "ship", pick: 0, all: true },
      { kind: "settle" },
      { kind: "cancelFulfillment", pick: 0 },
      { kind: "step", which: 5 },
      { kind: "fulfil", pick: 0, all: true },
    ],
  },
  {
    // Web orders carry no location: Shopify commits their units where it assigns the fulfillment
    // order, which the hub learns by reading it (they were reserved at the default location).
    name: "a web order's units are committed at the location Shopify assigned, then returned",
    actions: [
      { kind: "step", which: 0 },
      { kind: "order", sku: 0, loc: 1, qty: 1, second: 0, pos: false },
      { kind: "step", which: 0 },
      { kind: "refund", pick: 0, type: "RETURN", qty: 1 },
    ],
  },
  {
    name: "a web order at a second location after an edit, then a receipt",
    actions: [
      { kind: "fulfil", pick: 0, all: false },
      { kind: "edit", pick: 0, by: 1 },
      { kind: "order", sku: 0, loc: 1, qty: 1, second: 0, pos: false },
      { kind: "receipt", sku: 0, wh: 0, qty: 1, late: false },
    ],
  },
  {
    // The refund came before the hub read where Shopify committed the web order: restocked at the
    // default location's warehouse while the sale had left the second one.
    name: "a web order at a second location is partly fulfilled in Shopify and returned",
    actions: [
      { kind: "order", sku: 0, loc: 1, qty: 1, second: 0, pos: false },
      { kind: "fulfil", pick: 0, all: false },
      { kind: "refund", pick: 0, type: "RETURN", qty: 1 },
      { kind: "step", which: 0 },
      { kind: "adjust", sku: 0, wh: 0, qty: -2 },
      { kind: "order", sku: 0, loc: 0, qty: 1, second: 0, pos: false },
    ],
  },
];

interface Tracked {
  readonly shopifyId: string;
  readonly warehouse: string;
  /** Units per Shopify line accepted as shipped by the hub. */
  readonly shipped: Map<string, number>;
  /** Ids of the hub shipments accepted for this order. */
  readonly shipments: string[];
  /** RETURN-restocked units per Shopify line. */
  readonly returned: Map<string, number>;
  readonly fulfillments: string[];
}

let emulator: Emulator;
let app: { clientId: string; clientSecret: string };
beforeAll(async () => {
  ({ emulator, app } = await startWorldEmulator());
});
afterAll(async () => emulator?.close());

describe.each(DIALECTS)("the stock invariant on %s", (dialect) => {
  let hub: TestHub;
  let n = 0;
  beforeAll(async () => {
    hub = await startWorldHub(dialect, app);
  });
  afterAll(async () => hub?.close());

  async function play(mode: "absolute" | "delta", actions: readonly Action[]): Promise<void> {
    const id = ++n;
    const skus = [`inv-${dialect}-${mode}-${id}-A`, `inv-${dialect}-${mode}-${id}-B`];
    // The hub's whole background loop, fulfillment-order reads included: a web order carries no
    // location, and the hub learns where Shopify committed its units from its fulfillment orders.
    const w: OpsWorld = await withOrderOperations(
      await createWorld({
        emulator,
        hub,
        app,
        domain: `inv-${dialect}-${mode}-${id}.myshopify.com`,
        skus,
        mode,
        initial: INITIAL,
        restockRule: "order_warehouse",
      }),
    );
    const domain = w.store.domain;
    const bo = new Map<string, number>();
    const orders: Tracked[] = [];
    let movement = 0;
    const post = async (type: string, s: number, wh: number, qty: number, late = false) => {
      const at = new Date(Date.now() - (late ? 30_000 : 0)).toISOString();
      const r = await w.call("POST", "/api/v1/movements", {
        movements: [
          {
            id: `${domain}-m${++movement}`,
            type,
            sku: skus[s],
            warehouse: WORLD_WAREHOUSES[wh],
            quantity: qty,
            occurredAt: at,
          },
        ],
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const k = `${skus[s]}|${WORLD_WAREHOUSES[wh]}`;
      bo.set(k, (bo.get(k) ?? 0) + qty);
    };
    const view = (o: Tracked) => emulator.control.getOrder(domain, o.shopifyId);
    const chosen = (p: number) => (orders.length === 0 ? undefined : orders[p % orders.length]);

    for (const a of actions) {
      switch (a.kind) {
        case "receipt":
          await post("receipt", a.sku, a.wh, a.qty, a.late);
          break;
        case "sale":
          await post("sale", a.sku, a.wh, -a.qty);
          break;
        case "adjust":
          await post("adjustment", a.sku, a.wh, a.qty);
          break;
        case "order": {
          const lineItems = [{ sku: skus[a.sku]!, quantity: a.qty }];
          if (a.second > 0) lineItems.push({ sku: skus[1 - a.sku]!, quantity: a.second });
          const placed = emulator.control.placeOrder(domain, {
            lineItems,
            locationId: w.locations[a.loc]!.id,
            fulfilled: a.pos,
          });
          orders.push({
            shopifyId: placed.id,
            warehouse: w.locations[a.loc]!.warehouse,
            shipped: new Map(),
            shipments: [],
            returned: new Map(),
            fulfillments: [],
          });
          break;
        }
        case "edit": {
          const o = chosen(a.pick);
          const v = o && view(o);
          const line = v?.lineItems.find((l) => l.fulfillableQuantity >= a.by);
          if (!o || !v || v.cancelledAt || !line) break;
          emulator.control.editOrder(domain, o.shopifyId, {
            lines: [{ lineItemId: line.id, quantity: line.currentQuantity - a.by }],
          });
          break;
        }
        case "cancel": {
          const o = chosen(a.pick);
          const v = o && view(o);
          if (!o || !v || v.cancelledAt || v.lineItems.some((l) => l.fulfilledQuantity > 0)) break;
          emulator.control.cancelOrder(domain, o.shopifyId, { restock: true });
          break;
        }
        case "ship": {
          const o = chosen(a.pick);
          if (!o) break;
          const hubOrder = await hub.ctx.database.db
            .selectFrom("orders")
            .select("id")
            .where("store_id", "=", w.storeId)
            .where("shopify_order_gid", "=", o.shopifyId)
            .executeTakeFirst();
          const v = view(o);
          const lines = v.lineItems
            .map((l) => {
              const open = l.currentQuantity - Math.max(l.fulfilledQuantity, o.shipped.get(l.id) ?? 0);
              return { lineId: l.id, quantity: a.all ? open : Math.min(1, open) };
            })
            .filter((l) => l.quantity > 0);
          if (!hubOrder || lines.length === 0) break;
          const shipmentId = `${domain}-s${++movement}`;
          const r = await w.call("POST", "/api/v1/shipments", {
            id: shipmentId,
            orderId: hubOrder.id,
            warehouse: o.warehouse,
            lines,
          });
          // The hub may refuse (it knows more or less than this view); only accepted units count.
          if (r.status === 201) {
            o.shipments.push(shipmentId);
            for (const l of lines) o.shipped.set(l.lineId, (o.shipped.get(l.lineId) ?? 0) + l.quantity);
          } else expect(r.status, JSON.stringify(r.body)).toBe(400);
          break;
        }
        case "fulfil": {
          const o = chosen(a.pick);
          const v = o && view(o);
          if (!o || !v || v.cancelledAt) break;
          const open = v.lineItems.filter((l) => l.fulfillableQuantity > 0);
          if (open.length === 0) break;
          const f = emulator.control.fulfillOrder(
            domain,
            o.shopifyId,
            a.all ? {} : { lines: [{ lineItemId: open[0]!.id, quantity: 1 }] },
          );
          o.fulfillments.push(f.id);
          break;
        }
        case "cancelFulfillment": {
          const o = chosen(a.pick);
          const v = o && view(o);
          if (!o || !v) break;
          const f = v.fulfillments.find((x) => x.status === "SUCCESS");
          const refunded = v.lineItems.some((l) => (o.returned.get(l.id) ?? 0) > 0);
          if (!f || refunded) break;
          emulator.control.cancelFulfillment(domain, f.id);
          break;
        }
        case "refund": {
          const o = chosen(a.pick);
          const v = o && view(o);
          if (!o || !v) break;
          if (a.type === "CANCEL") {
            const line = v.lineItems.find((l) => l.fulfillableQuantity >= a.qty);
            if (!line) break;
            emulator.control.createRefund(domain, o.shopifyId, {
              lineItems: [{ lineItemId: line.id, quantity: a.qty, restockType: "CANCEL" }],
            });
          } else {
            // Shopify returns fulfilled units; only lines with nothing left to fulfil, to keep
            // the emulator from taking unfulfilled units first.
            const line = v.lineItems.find(
              (l) =>
                l.fulfillableQuantity === 0 && l.fulfilledQuantity - (o.returned.get(l.id) ?? 0) >= a.qty,
            );
            if (!line) break;
            emulator.control.createRefund(domain, o.shopifyId, {
              lineItems: [{ lineItemId: line.id, quantity: a.qty, restockType: "RETURN" }],
            });
            o.returned.set(line.id, (o.returned.get(line.id) ?? 0) + a.qty);
          }
          break;
        }
        case "step":
          await emulator.control.webhooksIdle(5000);
          await w.step(a.which);
          break;
        case "settle":
          await w.settle();
          break;
      }
    }
    await w.settleAll();

    // Shopify holds what the model says.
    await w.expectShopifyAsModel();

    if (process.env.DEBUG_STOCK) {
      const db = hub.ctx.database.db;
      console.log(
        JSON.stringify(
          {
            refunds: await db.selectFrom("refunds").selectAll().where("store_id", "=", w.storeId).execute(),
            inbox: await db
              .selectFrom("webhook_inbox")
              .select(["topic", "status", "attempts", "last_error"])
              .where("shop", "=", domain)
              .execute(),
            records: await db
              .selectFrom("fulfillment_records")
              .selectAll()
              .where("store_id", "=", w.storeId)
              .execute(),
            movements: await db
              .selectFrom("movements")
              .select(["external_id", "quantity"])
              .where("external_id", "like", "%")
              .orderBy("id", "desc")
              .limit(8)
              .execute(),
          },
          null,
          1,
        ),
      );
    }
    // The hub's on hand: receipts − units that left + units restocked.
    const expected = new Map<string, number>();
    for (const s of skus)
      for (const wh of WORLD_WAREHOUSES) expected.set(`${s}|${wh}`, INITIAL + (bo.get(`${s}|${wh}`) ?? 0));
    const reserved = new Map<string, number>();
    for (const o of orders) {
      const v = view(o);
      // Units the back office shipped that Shopify never fulfilled (Shopify removed them from the
      // order first): they left all the same.
      const orphaned = new Map<string, number>();
      for (const id of o.shipments) {
        const { body } = await w.call("GET", `/api/v1/shipments/${encodeURIComponent(id)}`);
        for (const l of body.lines as { lineId: string; quantity: number }[])
          orphaned.set(l.lineId, (orphaned.get(l.lineId) ?? 0) + l.quantity);
        for (const f of body.fulfillments as {
          status: string;
          lines: { lineId: string; quantity: number }[];
        }[])
          if (f.status === "done")
            for (const l of f.lines) orphaned.set(l.lineId, (orphaned.get(l.lineId) ?? 0) - l.quantity);
      }
      for (const l of v.lineItems) {
        const k = `${l.sku}|${o.warehouse}`;
        const left = l.fulfilledQuantity + Math.max(0, orphaned.get(l.id) ?? 0);
        expected.set(k, expected.get(k)! - left + (o.returned.get(l.id) ?? 0));
        if (!v.cancelledAt)
          reserved.set(
            k,
            (reserved.get(k) ?? 0) + Math.min(l.fulfillableQuantity, Math.max(0, l.currentQuantity - left)),
          );
      }
    }
    expect(Object.fromEntries(await w.onHand())).toEqual(Object.fromEntries(expected));

    // Every order once; the hub holds what Shopify commits (less what it shipped itself).
    const hubOrders = await hub.ctx.database.db
      .selectFrom("orders")
      .select(["shopify_order_gid", "status"])
      .where("store_id", "=", w.storeId)
      .execute();
    expect(hubOrders.map((o) => o.shopify_order_gid).sort()).toEqual(orders.map((o) => o.shopifyId).sort());
    const hubReserved = await hub.ctx.database.db
      .selectFrom("stock_levels as s")
      .innerJoin("variants as v", "v.id", "s.variant_id")
      .innerJoin("warehouses as w", "w.id", "s.warehouse_id")
      .select(["v.sku", "w.code", "s.reserved"])
      .where("v.sku", "in", skus)
      .execute();
    for (const r of hubReserved)
      expect([r.sku, r.code, r.reserved]).toEqual([r.sku, r.code, reserved.get(`${r.sku}|${r.code}`) ?? 0]);
  }

  describe.each(["absolute", "delta"] as const)("in %s mode", (mode) => {
    for (const r of REGRESSIONS)
      it(`regression: ${r.name}`, async () => {
        await play(mode, r.actions);
      });

    it("holds after any interleaving of back-office movements, Shopify orders, fulfillments and refunds", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 4, maxLength: 16 }), async (actions) => {
          await play(mode, actions);
        }),
        { numRuns: RUNS, interruptAfterTimeLimit: 150_000, ...SEED },
      );
    }, 900_000);
  });
});
