/**
 * Shopify's compliance webhooks end to end (issue 18): fired by the emulator at the app's
 * compliance address, signed, delivered over HTTP to the hub, processed from its inbox.
 * - customers/data_request produces an export of what the requesting store holds, and nothing of
 *   another store (customers are shared across stores);
 * - customers/redact erases the customer's data of that store, the earlier export, and its own
 *   delivery's personal data; no copy is left that the hub can read back, on SQLite not even in
 *   the database file or its WAL, on PostgreSQL not even as a dead row version in the tables;
 * - shop/redact erases the store's personal data; each request leaves an audit line.
 */
import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { processInbox } from "../src/orders/inbox.ts";
import { importOrder } from "../src/orders/intake.ts";
import { forgetOverwritten, REDACTED_TABLES } from "../src/orders/personal-data.ts";
import { fromWebhookPayload } from "../src/orders/shopify-order.ts";
import { encryptSecret, sealedAt } from "../src/shops/secrets.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { connectDirectly, type EmulatedStore, emulatedStore } from "./support/shopify.ts";

const ANN = "ann.compliance@example.com";
/** Only store A's order carries this phone: its absence proves A's copy is gone. */
const ANN_PHONE_A = "+15550001111";
const ANN_PHONE_B = "+15550002222";
const BOB = "bob.compliance@example.com";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
  emulator.control.setWebhookOptions({ baseDelayMs: 50, timeoutMs: 5000 });
});
afterAll(async () => emulator?.close());

describe.each(DIALECTS)("compliance webhooks on %s", (dialect) => {
  let hub: TestHub;
  let a: EmulatedStore;
  let b: EmulatedStore;
  let storeA: number;
  let storeB: number;
  const db = () => hub.ctx.database.db;

  const place = async (
    store: EmulatedStore,
    storeId: number,
    email: string,
    phone: string,
    import_ = true,
  ) => {
    const placed = emulator.control.placeOrder(store.domain, {
      lineItems: [{ sku: "C-1", quantity: 1 }],
      customer: { email, firstName: "Ann", lastName: "Example", phone },
      shippingAddress: {
        firstName: "Ann",
        lastName: "Example",
        address1: "1 Private Lane",
        city: "Gent",
        country: "Belgium",
        phone,
      },
    });
    if (!import_) return placed;
    const parsed = fromWebhookPayload(emulator.control.orderPayload(store.domain, placed.id));
    if (!parsed.ok) throw new Error(parsed.reason);
    const r = await importOrder(hub.ctx, storeId, parsed.order);
    expect(r.outcome).toBe("imported");
    return placed;
  };

  /** Fires a compliance topic at the hub and processes the hub's inbox once it has arrived. */
  const fire = async (topic: string, input: { email?: string } = {}, forget = true) => {
    const { delivery } = emulator.control.fireComplianceWebhook(a.domain, {
      clientId: a.clientId,
      topic,
      ...input,
    });
    for (let i = 0; i < 200; i++) {
      const row = await db()
        .selectFrom("webhook_inbox")
        .select("id")
        .where("webhook_id", "=", delivery)
        .executeTakeFirst();
      if (row) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const result = await processInbox(hub.ctx);
    expect(result.failed + result.dead).toBe(0);
    if (forget) await forgetOverwritten(hub.ctx);
    return delivery;
  };
  const exports = async () =>
    (
      await db()
        .selectFrom("compliance_requests")
        .selectAll()
        .where("topic", "=", "customers/data_request")
        .orderBy("id")
        .execute()
    ).map((r) => r.data);
  /** Everything the hub can read back about store A's side, as text. */
  const readableOfA = async () =>
    JSON.stringify([
      await db().selectFrom("orders").selectAll().where("store_id", "=", storeA).execute(),
      await db().selectFrom("compliance_requests").selectAll().execute(),
      await db().selectFrom("webhook_inbox").selectAll().where("shop", "=", a.domain).execute(),
      await db().selectFrom("audit_log").selectAll().execute(),
      (await hub.server.inject({ method: "GET", url: "/api/v1/compliance/requests", headers: hub.auth }))
        .body,
    ]);

  beforeAll(async () => {
    a = await emulatedStore({
      emulator,
      domain: `comp-a-${dialect}.myshopify.com`,
      skus: ["C-1"],
      initial: () => 5,
    });
    b = await emulatedStore({
      emulator,
      domain: `comp-b-${dialect}.myshopify.com`,
      skus: ["C-1"],
      initial: () => 5,
    });
    hub = await startTestHub(dialect, {
      listen: true,
      env: { SHOPIFY_API_KEY: a.clientId, SHOPIFY_API_SECRET: a.clientSecret },
    });
    for (const [url, payload] of [
      ["/api/v1/warehouses", { warehouses: [{ code: "W1", name: "Main" }] }],
      ["/api/v1/variants", { variants: [{ sku: "C-1" }] }],
    ] as const)
      expect((await hub.server.inject({ method: "PUT", url, headers: hub.auth, payload })).statusCode).toBe(
        200,
      );
    storeA = await connectDirectly(db(), a, [["W1"], []]);
    storeB = await connectDirectly(db(), b, [["W1"], []]);
    // Store B is a custom app: its own secret verifies its deliveries.
    await db()
      .updateTable("stores")
      .set({
        webhook_secret_enc: encryptSecret(
          b.clientSecret,
          Buffer.alloc(32, 7),
          sealedAt.storeColumn("webhook_secret_enc", b.domain),
        ),
      })
      .where("id", "=", storeB)
      .execute();
    emulator.control.setComplianceWebhooks({ clientId: a.clientId, uri: `${hub.url}/webhooks/shopify` });
    await place(a, storeA, ANN, ANN_PHONE_A);
    await place(b, storeB, ANN, ANN_PHONE_B);
    await place(b, storeB, BOB, "+15550003333");
    // Bob is a customer of store A in Shopify too, but the hub holds only his store-B order.
    await place(a, storeA, BOB, "+15550004444", false);
  });
  afterAll(async () => {
    // Stop the emulator's deliveries, then close what is left (close() waits for open connections).
    for (const s of [a, b]) if (s) emulator.control.setFaults(s.domain, { webhookDropRate: 1 });
    await emulator.control.webhooksIdle(30_000).catch(() => {});
    hub?.server.server.closeAllConnections();
    await hub?.close();
  }, 120_000);

  it("customers/data_request: an export of what the requesting store holds, nothing of another store", async () => {
    await fire("customers/data_request", { email: ANN });
    const [annExport] = await exports();
    expect(annExport).toContain(ANN);
    expect(annExport).toContain(ANN_PHONE_A);
    expect(annExport).not.toContain(ANN_PHONE_B); // store B's order of the same customer
    await fire("customers/data_request", { email: BOB });
    const bobExport = JSON.parse((await exports())[1]!);
    expect(bobExport).toMatchObject({ customer: null, orders: [] });
    const audit = await db()
      .selectFrom("audit_log")
      .select(["action", "store_id", "after"])
      .where("action", "like", "compliance.%")
      .execute();
    expect(audit.map((r) => r.action)).toEqual([
      "compliance.customers_data_request",
      "compliance.customers_data_request",
    ]);
    expect(JSON.stringify(audit)).not.toContain(ANN);
  });

  /**
   * PostgreSQL: every row version stored in the redacted tables' pages, dead ones included (read
   * through pageinspect), that holds `needle`.
   */
  const rowVersionsHolding = async (needle: string) => {
    await sql`create extension if not exists pageinspect`.execute(db());
    let n = 0;
    for (const table of REDACTED_TABLES) {
      const r = await sql<{ n: string }>`
        select count(*) as n
        from generate_series(0, (pg_relation_size(to_regclass(${table})) / current_setting('block_size')::int)::int - 1) as p,
             heap_page_items(get_raw_page(${table}, p)) h
        where h.t_data is not null and position(convert_to(${needle}, 'UTF8') in h.t_data) > 0`
        .execute(db())
        .catch(() => ({ rows: [{ n: "0" }] }));
      n += Number(r.rows[0]?.n ?? 0);
    }
    return n;
  };

  it("customers/redact: no copy of the customer's data of that store is left, the export and the delivery included", async () => {
    const before = await readableOfA();
    expect(before).toContain(ANN_PHONE_A);
    await fire("customers/redact", { email: ANN }, dialect === "sqlite");
    if (dialect === "postgres") {
      // The redaction's old row versions are still in the table's pages until VACUUM ...
      expect(await rowVersionsHolding(ANN_PHONE_A)).toBeGreaterThan(0);
      expect(await forgetOverwritten(hub.ctx)).toBe(true);
      // ... which forgetOverwritten runs: no version holding A's phone is left in any of them.
      expect(await rowVersionsHolding(ANN_PHONE_A)).toBe(0);
    }
    const after = await readableOfA();
    expect(after).not.toContain(ANN_PHONE_A);
    expect(after).not.toContain(ANN);
    expect(after).not.toContain('1 Private Lane","city":"Gent'); // A's address (B still holds its own)
    // the data-request export about Ann is emptied; the redact delivery keeps only ids
    expect((await exports())[0]).toContain("erased by customers/redact");
    const redactBody = await db()
      .selectFrom("webhook_inbox")
      .select("body")
      .where("topic", "=", "customers/redact")
      .where("shop", "=", a.domain)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(redactBody.body)).toMatchObject({
      customer: { id: expect.anything() },
      orders_to_redact: expect.any(Array),
    });
    // store B's order of the same customer is B's business: kept, and so is the shared customer
    const bOrder = await db()
      .selectFrom("orders")
      .select(["email", "phone"])
      .where("store_id", "=", storeB)
      .where("email", "=", ANN)
      .execute();
    expect(bOrder).toHaveLength(1);
    const record = await db()
      .selectFrom("compliance_requests")
      .select("data")
      .where("topic", "=", "customers/redact")
      .executeTakeFirstOrThrow();
    expect(JSON.parse(record.data)).toMatchObject({
      ordersRedacted: 1,
      customersRedacted: 0,
      dataRequestExportsErased: 1,
    });
    if (dialect === "sqlite") {
      // secure_delete and the truncated WAL: A's old values are not in the files either
      const target = hub.ctx.config.database;
      const file = target.kind === "sqlite" ? target.path : "";
      const bytes = [
        readFileSync(file),
        ...[`${file}-wal`].flatMap((p) => {
          try {
            return [readFileSync(p)];
          } catch {
            return [];
          }
        }),
      ];
      for (const b of bytes) expect(b.includes(Buffer.from(ANN_PHONE_A))).toBe(false);
    }
  });

  it("shop/redact erases the store's personal data, with an audit line", async () => {
    await fire("shop/redact");
    const orders = await db()
      .selectFrom("orders")
      .select(["email", "redacted_at"])
      .where("store_id", "=", storeA)
      .execute();
    expect(orders.every((o) => o.email === null && o.redacted_at !== null)).toBe(true);
    expect((await exports()).every((d) => !d.includes("@"))).toBe(true);
    const audit = await db()
      .selectFrom("audit_log")
      .select(["action", "store_id"])
      .where("action", "=", "compliance.shop_redact")
      .execute();
    expect(audit).toEqual([{ action: "compliance.shop_redact", store_id: storeA }]);
  });
});
