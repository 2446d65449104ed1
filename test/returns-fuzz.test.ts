/**
 * Fuzzing the order operations on a real order and an open return (fuzz-api.test.ts only reaches
 * them with unknown ids), on both databases: random and mutated bodies at the receipts, cancel,
 * cancel-lines, substitute, move and pickup endpoints. Never a 500, errors in the envelope, and a
 * refused request changes no row (movements, receipts, actions, shipments).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../emulator/index.ts";
import { DIALECTS } from "./support/databases.ts";
import type { TestHub } from "./support/hub.ts";
import { type OpsWorld, withOrderOperations } from "./support/order-ops.ts";
import { createWorld, startWorldEmulator, startWorldHub } from "./support/stock-world.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const TABLES = ["movements", "return_receipts", "order_actions", "shipments", "hub_meta"] as const;

let emulator: Emulator;
let app: { clientId: string; clientSecret: string };
beforeAll(async () => {
  ({ emulator, app } = await startWorldEmulator());
});
afterAll(async () => emulator?.close());

/** The example with one field replaced, removed or added, or something else entirely. */
function mutated(example: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(example);
  const odd = fc.oneof(
    fc.jsonValue(),
    fc.string({ unit: "binary", maxLength: 12 }),
    fc.constantFrom(-1, 0, 1.5, 2 ** 53, "\u0000", "gid://shopify/LineItem/1", [], {}, null),
  );
  return fc.oneof(
    fc.tuple(fc.constantFrom(...keys), odd).map(([k, v]) => ({ ...example, [k]: v })),
    fc.constantFrom(...keys).map((k) => {
      const { [k]: _gone, ...rest } = example;
      return rest;
    }),
    odd.map((v) => ({ ...example, extra: v })),
    fc.jsonValue(),
  );
}

describe.each(DIALECTS)("fuzzing the order operations on %s", (dialect) => {
  let hub: TestHub;
  let w: OpsWorld;
  let orderId: number;
  let returnId: number;
  let returnLine: string;
  let line: string;

  beforeAll(async () => {
    hub = await startWorldHub(dialect, app);
    w = await withOrderOperations(
      await createWorld({
        emulator,
        hub,
        app,
        domain: `ops-fuzz-${dialect}.myshopify.com`,
        skus: [`OF-${dialect}-A`, `OF-${dialect}-B`],
        mode: "absolute",
        initial: 10,
      }),
    );
    const [a] = w.store.variants.map((v) => v.sku) as [string];
    const placed = emulator.control.placeOrder(w.store.domain, {
      lineItems: [{ sku: a, quantity: 3 }],
      locationId: w.locations[0]!.id,
    });
    await w.settleAll();
    orderId = await w.orderId(placed.id);
    line = placed.lineItems[0]!.id;
    const s = await w.call("POST", "/api/v1/shipments", {
      id: `of-ship-${dialect}`,
      orderId,
      warehouse: "W1",
      lines: [{ lineId: line, quantity: 2 }],
    });
    expect(s.status).toBe(201);
    await w.settleAll();
    const ret = emulator.flows.requestReturn(w.store.domain, placed.id, [{ lineItemId: line, quantity: 2 }]);
    emulator.flows.approveReturn(w.store.domain, ret);
    await w.settleAll();
    const doc = await w.order(placed.id);
    returnId = doc.returns[0].hubId;
    returnLine = doc.returns[0].lines[0].returnLineId;
  }, 120_000);
  afterAll(async () => hub?.close());

  const counts = async () => {
    const out: Record<string, number> = {};
    for (const t of TABLES)
      out[t] = Number(
        (
          await hub.ctx.database.db
            .selectFrom(t)
            .select((eb) => eb.fn.countAll().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return out;
  };

  it("never answers 500 and a refused request changes nothing", async () => {
    const endpoints: [string, Record<string, unknown>][] = [
      [
        `/api/v1/returns/${returnId}/receipts`,
        {
          id: "rc-f",
          lines: [{ returnLineId: returnLine, quantity: 1, condition: "restock", warehouse: "W1" }],
        },
      ],
      [
        `/api/v1/orders/${orderId}/cancel-lines`,
        { requestId: "cl-f", reason: "r", lines: [{ lineId: line, quantity: 1 }] },
      ],
      [
        `/api/v1/orders/${orderId}/substitute`,
        { requestId: "su-f", lineId: line, quantity: 1, sku: `OF-${dialect}-B`, reason: "r" },
      ],
      [`/api/v1/orders/${orderId}/move`, { requestId: "mv-f", warehouse: "W2" }],
      [
        `/api/v1/orders/${orderId}/cancel`,
        { requestId: "cx-f", reason: "OTHER", refund: false, restock: true, notifyCustomer: false },
      ],
      [`/api/v1/orders/${orderId}/pickup/ready`, { requestId: "pr-f" }],
      [`/api/v1/orders/${orderId}/pickup/collected`, { id: "pc-f" }],
      [
        `/api/v1/stores/ops-fuzz-${dialect}.myshopify.com/order-operation-settings`,
        { closeFulfilledOrders: false },
      ],
    ];
    for (const [url, example] of endpoints) {
      await fc.assert(
        fc.asyncProperty(mutated(example), async (body) => {
          const before = await counts();
          const method = url.endsWith("settings") ? "PUT" : "POST";
          const res = await hub.server.inject({
            method,
            url,
            headers: { ...hub.auth, "content-type": "application/json" },
            payload: JSON.stringify(body) ?? "null",
          });
          const what = `${url} ${JSON.stringify(body)?.slice(0, 300)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
          expect(res.statusCode, what).toBeLessThan(500);
          if (res.statusCode >= 400) {
            const e = res.json() as { error?: { code?: unknown; message?: unknown; details?: unknown } };
            expect(typeof e.error?.code, what).toBe("string");
            expect(typeof e.error?.message, what).toBe("string");
            expect(Array.isArray(e.error?.details), what).toBe(true);
            expect(await counts(), what).toEqual(before);
          }
        }),
        { numRuns: RUNS },
      );
    }
  }, 240_000);
});
