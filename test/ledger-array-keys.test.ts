/**
 * Keys that travel inside one array parameter on PostgreSQL (the ledger's set-based writes build
 * the array literals themselves): quotes, backslashes, commas, braces, blanks, the word NULL and
 * non-ASCII text in movement ids and SKUs must come back exactly as sent, on both databases
 * (warehouse codes allow letters, digits, dot, dash and underscore only).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";

const AWKWARD = [
  'say "hi"',
  "back\\slash",
  "a,b",
  "{braces}",
  "two  spaces",
  "NULL",
  "ünïcødé-é",
  '\\"',
  "''",
];

describe.each(DIALECTS)("ledger keys with array-literal syntax on %s", (dialect) => {
  let hub: TestHub;
  const call = async (method: "GET" | "POST" | "PUT", url: string, payload?: unknown) => {
    const res = await hub.server.inject({ method, url, payload: payload as never, headers: hub.auth });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
  };

  beforeAll(async () => {
    hub = await startTestHub(dialect);
    const warehouses = await call("PUT", "/api/v1/warehouses", {
      warehouses: AWKWARD.map((_, i) => ({ code: `W${i}`, name: "Awkward" })),
    });
    expect(warehouses.status).toBe(200);
    expect(
      (await call("PUT", "/api/v1/variants", { variants: AWKWARD.map((sku) => ({ sku: `S ${sku}` })) }))
        .status,
    ).toBe(200);
  });
  afterAll(async () => hub?.close());

  it("records, deduplicates and reports movements whose ids, SKUs and warehouses need quoting", async () => {
    const movements = AWKWARD.flatMap((k, i) => [
      {
        id: `id ${k}`,
        type: "receipt",
        sku: `S ${k}`,
        warehouse: `W${i}`,
        quantity: 10 + i,
        occurredAt: "2026-11-20T08:00:00Z",
      },
      {
        id: `id ${k} transfer`,
        type: "transfer",
        sku: `S ${k}`,
        warehouse: `W${i}`,
        toWarehouse: `W${(i + 1) % AWKWARD.length}`,
        quantity: 3,
        occurredAt: "2026-11-20T09:00:00Z",
      },
    ]);
    const first = await call("POST", "/api/v1/movements", { movements });
    expect(first).toEqual({ status: 200, body: { applied: movements.length, duplicates: [] } });
    const again = await call("POST", "/api/v1/movements", { movements });
    expect(again.status).toBe(200);
    expect(again.body.applied).toBe(0);
    expect(again.body.duplicates.map((d: { id: string }) => d.id)).toEqual(movements.map((m) => m.id));

    const recorded = await hub.ctx.database.db.selectFrom("movements").select("external_id").execute();
    expect(recorded.map((r) => r.external_id).sort()).toEqual(movements.map((m) => m.id).sort());
    const levels = await hub.ctx.database.db
      .selectFrom("stock_levels")
      .innerJoin("variants", "variants.id", "stock_levels.variant_id")
      .innerJoin("warehouses", "warehouses.id", "stock_levels.warehouse_id")
      .select(["variants.sku", "warehouses.code", "stock_levels.on_hand"])
      .execute();
    const onHand = new Map(levels.map((l) => [`${l.sku}|${l.code}`, l.on_hand]));
    AWKWARD.forEach((k, i) => {
      // Received 10 + i, sent 3 on, received 3 from the previous key's transfer.
      expect(onHand.get(`S ${k}|W${i}`)).toBe(10 + i - 3);
      expect(onHand.get(`S ${k}|W${(i + 1) % AWKWARD.length}`)).toBe(3);
    });
  });
});
