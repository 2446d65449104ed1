import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareEntries, type Entry, replay } from "../src/inventory/ledger.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";

const T0 = Date.parse("2026-11-20T08:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

describe.each(DIALECTS)("back-office API on %s", (dialect) => {
  let hub: TestHub;
  const call = async (
    method: "GET" | "POST" | "PUT",
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await hub.server.inject({
      method,
      url,
      payload: payload as never,
      headers: { ...hub.auth, ...headers },
    });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
  };
  const stock = async (sku: string, warehouse: string) => {
    const r = await call("GET", `/api/v1/stock?sku=${sku}&warehouse=${warehouse}`);
    return r.body.items[0] as
      | { onHand: number; sellable: number; reserved: number; safetyStock: number }
      | undefined;
  };

  beforeAll(async () => {
    hub = await startTestHub(dialect);
    expect(
      (
        await call("PUT", "/api/v1/warehouses", {
          warehouses: [
            { code: "MAIN", name: "Main" },
            { code: "SHOP1", name: "Store 1" },
          ],
        })
      ).status,
    ).toBe(200);
    const variants = await call("PUT", "/api/v1/variants", {
      variants: [
        { sku: "TEE-S", barcode: "400000000001", title: "Tee S", options: ["S"] },
        { sku: "TEE-M", barcode: "400000000002", title: "Tee M", options: ["M"] },
        { sku: "MUG", title: "Mug" },
      ],
    });
    expect(variants.body).toEqual({ created: 3, updated: 0 });
  });
  afterAll(async () => hub?.close());

  it("records movements and reports stock per SKU and warehouse", async () => {
    const r = await call("POST", "/api/v1/movements", {
      movements: [
        { id: "r-1", type: "receipt", sku: "TEE-S", warehouse: "MAIN", quantity: 10, occurredAt: iso(T0) },
        {
          id: "s-1",
          type: "sale",
          sku: "TEE-S",
          warehouse: "MAIN",
          quantity: -2,
          occurredAt: iso(T0 + 1000),
        },
        {
          id: "t-1",
          type: "transfer",
          sku: "TEE-S",
          warehouse: "MAIN",
          toWarehouse: "SHOP1",
          quantity: 3,
          occurredAt: iso(T0 + 2000),
        },
      ],
    });
    expect(r).toEqual({ status: 200, body: { applied: 3, duplicates: [] } });
    expect(await stock("TEE-S", "MAIN")).toMatchObject({ onHand: 5, sellable: 5 });
    expect(await stock("TEE-S", "SHOP1")).toMatchObject({ onHand: 3 });
  });

  it("reports re-sent ids as duplicates without applying them again, and refuses a reused id", async () => {
    const batch = {
      movements: [
        { id: "r-1", type: "receipt", sku: "TEE-S", warehouse: "MAIN", quantity: 10, occurredAt: iso(T0) },
      ],
    };
    expect((await call("POST", "/api/v1/movements", batch)).body).toEqual({
      applied: 0,
      duplicates: [{ index: 0, id: "r-1", status: "duplicate" }],
    });
    expect((await stock("TEE-S", "MAIN"))?.onHand).toBe(5);
    const changed = await call("POST", "/api/v1/movements", {
      movements: [{ ...batch.movements[0], quantity: 11 }],
    });
    expect(changed.status).toBe(400);
    expect(changed.body.error.details[0]).toMatchObject({ index: 0, code: "ID_REUSED" });
  });

  it("rejects a batch with any bad item, lists every one by index, and applies nothing", async () => {
    const r = await call("POST", "/api/v1/movements", {
      movements: [
        { id: "ok-1", type: "receipt", sku: "MUG", warehouse: "MAIN", quantity: 4, occurredAt: iso(T0) },
        { id: "bad-1", type: "receipt", sku: "NOPE", warehouse: "MAIN", quantity: 1, occurredAt: iso(T0) },
        { id: "bad-2", type: "receipt", sku: "MUG", warehouse: "ATTIC", quantity: 1, occurredAt: iso(T0) },
        { id: "bad-3", type: "adjustment", sku: "MUG", warehouse: "MAIN", quantity: 0, occurredAt: iso(T0) },
        { id: "bad-4", type: "receipt", sku: "MUG", warehouse: "MAIN", quantity: 1.5, occurredAt: iso(T0) },
        {
          id: "bad-5",
          type: "transfer",
          sku: "MUG",
          warehouse: "MAIN",
          toWarehouse: "MAIN",
          quantity: 1,
          occurredAt: iso(T0),
        },
        { type: "receipt", sku: "MUG", warehouse: "MAIN", quantity: 1, occurredAt: iso(T0) },
        { id: "bad-7", type: "receipt", sku: "MUG", warehouse: "MAIN", quantity: 1, occurredAt: "yesterday" },
        { id: "bad-8", type: "sale", sku: "MUG", warehouse: "MAIN", quantity: 2, occurredAt: iso(T0) },
      ],
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("INVALID_MOVEMENTS");
    const byIndex = Object.fromEntries(
      r.body.error.details.map((d: { index: number; code: string }) => [d.index, d.code]),
    );
    expect(byIndex).toEqual({
      1: "UNKNOWN_SKU",
      2: "UNKNOWN_WAREHOUSE",
      3: "ZERO_QUANTITY",
      4: "INVALID_QUANTITY",
      5: "SAME_WAREHOUSE_TRANSFER",
      6: "MISSING_ID",
      7: "MALFORMED_DATE",
      8: "INVALID_QUANTITY",
    });
    expect(await stock("MUG", "MAIN")).toBeUndefined();
    const again = await call("POST", "/api/v1/movements", {
      movements: [
        { id: "ok-1", type: "receipt", sku: "MUG", warehouse: "MAIN", quantity: 4, occurredAt: iso(T0) },
      ],
    });
    expect(again.body.applied).toBe(1);
  });

  it("does not lower stock twice for a late sale that occurred before a later count", async () => {
    await call("POST", "/api/v1/movements", {
      movements: [
        {
          id: "c-1",
          type: "count",
          sku: "TEE-M",
          warehouse: "SHOP1",
          quantity: 20,
          occurredAt: iso(T0 + 12 * 3600_000),
        },
        {
          id: "s-after",
          type: "sale",
          sku: "TEE-M",
          warehouse: "SHOP1",
          quantity: -1,
          occurredAt: iso(T0 + 13 * 3600_000),
        },
      ],
    });
    // The till was offline: this sale happened at 09:00, before the 20:00 count, and arrives now.
    await call("POST", "/api/v1/movements", {
      movements: [
        {
          id: "s-late",
          type: "sale",
          sku: "TEE-M",
          warehouse: "SHOP1",
          quantity: -5,
          occurredAt: iso(T0 + 3600_000),
        },
      ],
    });
    expect((await stock("TEE-M", "SHOP1"))?.onHand).toBe(19);
  });

  it("holds safety stock back from sellable", async () => {
    expect(
      (
        await call("PUT", "/api/v1/safety-stock", {
          items: [{ sku: "TEE-S", warehouse: "MAIN", safetyStock: 2 }],
        })
      ).status,
    ).toBe(200);
    expect(await stock("TEE-S", "MAIN")).toMatchObject({ onHand: 5, safetyStock: 2, sellable: 3 });
    const bad = await call("PUT", "/api/v1/safety-stock", {
      items: [{ sku: "TEE-S", warehouse: "NOWHERE", safetyStock: 1 }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].code).toBe("UNKNOWN_WAREHOUSE");
  });

  it("reads a SKU with surrounding blanks as the variant's SKU, as PUT /variants does", async () => {
    const before = (await stock("MUG", "MAIN"))?.onHand ?? 0;
    const r = await call("POST", "/api/v1/movements", {
      movements: [
        { id: "blank-1", type: "receipt", sku: " MUG ", warehouse: "MAIN", quantity: 4, occurredAt: iso(T0) },
      ],
    });
    expect(r).toEqual({ status: 200, body: { applied: 1, duplicates: [] } });
    // The same movement re-sent without the blanks is the same movement.
    const again = await call("POST", "/api/v1/movements", {
      movements: [
        { id: "blank-1", type: "receipt", sku: "MUG", warehouse: "MAIN", quantity: 4, occurredAt: iso(T0) },
      ],
    });
    expect(again).toEqual({
      status: 200,
      body: { applied: 0, duplicates: [{ id: "blank-1", index: 0, status: "duplicate" }] },
    });
    expect(
      (
        await call("PUT", "/api/v1/safety-stock", {
          items: [{ sku: "  MUG", warehouse: "MAIN", safetyStock: 1 }],
        })
      ).status,
    ).toBe(200);
    expect(await stock("MUG", "MAIN")).toMatchObject({
      onHand: before + 4,
      safetyStock: 1,
      sellable: before + 3,
    });
  });

  it("keeps every stored level equal to a replay of its ledger entries under random batches", async () => {
    const skus = ["P-1", "P-2"];
    await call("PUT", "/api/v1/variants", { variants: skus.map((sku) => ({ sku })) });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            type: fc.constantFrom("receipt", "sale", "adjustment", "count", "transfer"),
            sku: fc.constantFrom(...skus),
            quantity: fc.integer({ min: 1, max: 9 }),
            hour: fc.integer({ min: 0, max: 30 }),
          }),
          { minLength: 1, maxLength: 15 },
        ),
        async (batch) => {
          const movements = batch.map((m) => ({
            id: `p-${n++}`,
            type: m.type,
            sku: m.sku,
            warehouse: "MAIN",
            ...(m.type === "transfer" ? { toWarehouse: "SHOP1" } : {}),
            quantity: m.type === "sale" ? -m.quantity : m.quantity,
            occurredAt: iso(T0 + m.hour * 3600_000),
          }));
          expect((await call("POST", "/api/v1/movements", { movements })).status).toBe(200);
        },
      ),
      { numRuns: 25 },
    );
    const db = hub.ctx.database.db;
    const entries = await db.selectFrom("ledger_entries").selectAll().execute();
    const levels = await db.selectFrom("stock_levels").selectAll().execute();
    for (const level of levels) {
      const mine: Entry[] = entries
        .filter((e) => e.variant_id === level.variant_id && e.warehouse_id === level.warehouse_id)
        .map((e) => ({ kind: e.kind, quantity: e.quantity, occurredAt: e.occurred_at, seq: e.movement_id }))
        .sort(compareEntries);
      expect(level.on_hand).toBe(replay(mine).onHand);
    }
  });

  it("keeps every level equal to its replay when batches sharing levels and ids arrive concurrently", async () => {
    const skus = ["C-1", "C-2", "C-3"];
    await call("PUT", "/api/v1/variants", { variants: skus.map((sku) => ({ sku })) });
    let n = 0;
    const movement = () =>
      fc.record({
        type: fc.constantFrom("receipt", "sale", "count", "transfer"),
        sku: fc.constantFrom(...skus),
        quantity: fc.integer({ min: 1, max: 9 }),
        hour: fc.integer({ min: 0, max: 30 }),
      });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(movement(), { minLength: 1, maxLength: 12 }), { minLength: 2, maxLength: 4 }),
        movement(),
        async (batches, shared) => {
          const round = n++;
          const toBody = (m: typeof shared, id: string) => ({
            id,
            type: m.type,
            sku: m.sku,
            warehouse: "MAIN",
            ...(m.type === "transfer" ? { toWarehouse: "SHOP1" } : {}),
            quantity: m.type === "sale" ? -m.quantity : m.quantity,
            occurredAt: iso(T0 + m.hour * 3600_000),
          });
          // Every batch also carries one movement with the same id and content: applied once.
          const answers = await Promise.all(
            batches.map((b, i) =>
              call("POST", "/api/v1/movements", {
                movements: [
                  ...b.map((m, j) => toBody(m, `c-${round}-${i}-${j}`)),
                  toBody(shared, `c-${round}-shared`),
                ],
              }),
            ),
          );
          expect(answers.map((a) => a.status)).toEqual(batches.map(() => 200));
          expect(answers.filter((a) => a.body.duplicates.length === 0)).toHaveLength(1);
        },
      ),
      { numRuns: 10 },
    );
    const db = hub.ctx.database.db;
    const entries = await db.selectFrom("ledger_entries").selectAll().execute();
    const levels = await db.selectFrom("stock_levels").selectAll().execute();
    for (const level of levels) {
      const mine: Entry[] = entries
        .filter((e) => e.variant_id === level.variant_id && e.warehouse_id === level.warehouse_id)
        .map((e) => ({ kind: e.kind, quantity: e.quantity, occurredAt: e.occurred_at, seq: e.movement_id }))
        .sort(compareEntries);
      expect(level.on_hand).toBe(replay(mine).onHand);
    }
  });

  it("answers each malformed request with its own code", async () => {
    const raw = async (headers: Record<string, string>, payload: string) =>
      hub.server.inject({ method: "POST", url: "/api/v1/movements", headers, payload });
    const noKey = await raw({ "content-type": "application/json" }, "{}");
    expect([noKey.statusCode, noKey.json().error.code]).toEqual([401, "UNAUTHORIZED"]);
    const wrongKey = await raw({ "content-type": "application/json", authorization: "Bearer tb_nope" }, "{}");
    expect([wrongKey.statusCode, wrongKey.json().error.code]).toEqual([401, "UNAUTHORIZED"]);
    const badJson = await raw({ ...hub.auth, "content-type": "application/json" }, "{ movements: ");
    expect([badJson.statusCode, badJson.json().error.code]).toEqual([400, "INVALID_JSON"]);
    const wrongType = await raw({ ...hub.auth, "content-type": "text/csv" }, "a,b");
    expect([wrongType.statusCode, wrongType.json().error.code]).toEqual([415, "UNSUPPORTED_CONTENT_TYPE"]);
    const huge = await raw(
      { ...hub.auth, "content-type": "application/json" },
      JSON.stringify({ movements: [], pad: "x".repeat(3_000_000) }),
    );
    expect([huge.statusCode, huge.json().error.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
    const notArray = await raw(
      { ...hub.auth, "content-type": "application/json" },
      JSON.stringify({ movement: [] }),
    );
    expect([notArray.statusCode, notArray.json().error.code]).toEqual([400, "INVALID_REQUEST"]);
    const tooMany = await call("POST", "/api/v1/movements", {
      movements: Array.from({ length: 1001 }, (_, i) => ({
        id: `x${i}`,
        type: "receipt",
        sku: "MUG",
        warehouse: "MAIN",
        quantity: 1,
        occurredAt: iso(T0),
      })),
    });
    expect([tooMany.status, tooMany.body.error.code]).toEqual([400, "INVALID_REQUEST"]);
    const notFound = await call("GET", "/api/v1/nothing");
    expect([notFound.status, notFound.body.error.code]).toEqual([404, "NOT_FOUND"]);
  });

  it("serves health, metrics and an OpenAPI document generated from the request schemas", async () => {
    expect((await hub.server.inject({ method: "GET", url: "/healthz" })).json()).toEqual({
      status: "ok",
      database: dialect,
    });
    const metrics = await hub.server.inject({ method: "GET", url: "/metrics" });
    expect(metrics.body).toContain("tillbridge_movements_recorded_total");
    const doc = (await hub.server.inject({ method: "GET", url: "/api/v1/openapi.json" })).json();
    expect(doc.openapi).toBe("3.0.3");
    const post = doc.paths["/api/v1/movements"].post;
    expect(
      post.requestBody.content["application/json"].schema.properties.movements.items.properties.type.enum,
    ).toContain("transfer");
    expect(doc.paths["/api/v1/stock"].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(["sku", "warehouse"]),
    );
  });
});
