/**
 * Every settings change is kept in the audit trail (who, before, after; never the outbound
 * secret) and told in the store's activity log (kind setting_changed), on both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixedClock } from "../src/core/clock.ts";
import { INSTALL_SCOPES } from "../src/shops/scopes.ts";
import { insertStore } from "./support/console-data.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const DOMAIN = "audit.myshopify.com";

describe.each(DIALECTS)("settings changes are audited (%s)", (dialect) => {
  let hub: TestHub;
  const send = (method: "PUT" | "POST", url: string, payload?: unknown) =>
    hub.server.inject({
      method,
      url,
      headers: hub.auth,
      ...(payload === undefined ? {} : { payload: payload as never }),
    });
  const audit = async (action: string) =>
    (
      (await hub.server.inject({ method: "GET", url: "/api/v1/audit?limit=100", headers: hub.auth })).json()
        .items as {
        action: string;
        actor: string;
        before: unknown;
        after: unknown;
        changed: string[];
      }[]
    ).filter((e) => e.action === action);
  const activity = async () =>
    (
      (
        await hub.server.inject({
          method: "GET",
          url: `/api/v1/stores/${DOMAIN}/activity?limit=200`,
          headers: hub.auth,
        })
      ).json().items as { kind: string; message: string; data: { action: string; changed: string[] } }[]
    ).filter((a) => a.kind === "setting_changed");

  beforeAll(async () => {
    hub = await startTestHub(dialect, {
      clock: fixedClock(T0),
    });
    const db = hub.ctx.database.db;
    const id = await insertStore(db, DOMAIN, T0, { order_intake: "enabled" });
    await db
      .updateTable("stores")
      .set({ scopes: INSTALL_SCOPES.join(",") })
      .where("id", "=", id)
      .execute();
    await db
      .insertInto("store_locations")
      .values({
        store_id: id,
        location_gid: "gid://shopify/Location/1",
        name: "Shop",
        active_in_shopify: 1,
        managed: 0,
        is_default: 1,
        updated_at: T0,
      })
      .execute();
    await send("PUT", "/api/v1/warehouses", { warehouses: [{ code: "W1", name: "W1" }] });
  });
  afterAll(async () => hub?.close());

  it("order settings: before and after, never the outbound secret", async () => {
    const r = await send("PUT", `/api/v1/stores/${DOMAIN}/order-settings`, {
      lastDays: 30,
      outboundUrl: "https://erp.example.com/hooks/orders",
      outboundSecret: "s3cret-s3cret-s3cret",
    });
    expect(r.statusCode, r.body).toBe(200);
    const [entry] = await audit("order_settings.update");
    expect(entry).toBeDefined();
    expect(entry!.actor).toBe("api-key:test");
    expect(entry!.changed).toEqual(expect.arrayContaining(["lastDays", "outboundUrl", "outboundSecretSet"]));
    expect(entry!.after).toMatchObject({ lastDays: 30, outboundSecretSet: true });
    expect(JSON.stringify(entry)).not.toContain("s3cret");
    const lines = await activity();
    expect(lines.find((l) => l.data.action === "order_settings.update")!.message).toMatch(
      /^Order settings changed by api-key:test: .*lastDays/,
    );
    expect(JSON.stringify(lines)).not.toContain("s3cret");
  });

  it("order mappings, fulfillment settings, inventory mode and location mapping", async () => {
    expect(
      (await send("PUT", `/api/v1/stores/${DOMAIN}/order-mappings`, { paymentGateways: { manual: "CASH" } }))
        .statusCode,
    ).toBe(200);
    expect(
      (
        await send("PUT", `/api/v1/stores/${DOMAIN}/fulfillment-settings`, {
          notifyCustomer: true,
          restockRule: "order_warehouse",
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (await send("PUT", `/api/v1/stores/${DOMAIN}/inventory-mode`, { mode: "absolute" })).statusCode,
    ).toBe(200);
    const m = await send("PUT", `/api/v1/stores/${DOMAIN}/locations/mapping`, {
      locations: [
        { locationId: "gid://shopify/Location/1", warehouses: ["W1"], managed: true, default: true },
      ],
    });
    expect(m.statusCode, m.body).toBe(200);
    expect((await audit("order_mappings.update"))[0]!.after).toMatchObject({
      paymentGateways: { manual: "CASH" },
    });
    expect((await audit("fulfillment_settings.update"))[0]).toMatchObject({
      after: { notifyCustomer: true, restockRule: "order_warehouse" },
    });
    expect((await audit("inventory_mode.update"))[0]).toMatchObject({
      before: { mode: "delta" },
      after: { mode: "absolute" },
      changed: ["mode"],
    });
    const loc = (await audit("location_mapping.update"))[0]!;
    expect(loc.before).toEqual({
      "gid://shopify/Location/1": { warehouses: [], managed: false, default: true },
    });
    expect(loc.after).toEqual({
      "gid://shopify/Location/1": { warehouses: ["W1"], managed: true, default: true },
    });
    const actions = (await activity()).map((l) => l.data.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        "order_mappings.update",
        "fulfillment_settings.update",
        "inventory_mode.update",
        "location_mapping.update",
      ]),
    );
  });

  it("order mappings: shipping and tax rules that could never match are refused, naming the field; nothing is saved or audited", async () => {
    const before = (await audit("order_mappings.update")).length;
    const url = `/api/v1/stores/${DOMAIN}/order-mappings`;
    const bad = await send("PUT", url, {
      shippingLines: [
        { code: "EXPRESS", carrier: "DHL", service: "EXP" },
        { code: "EXPRESS", carrier: "UPS", service: "EXP" },
        { carrier: "UPS", service: "STD" },
      ],
      taxLines: [{ title: "VAT", rate: "21", country: "nl", province: null, taxCode: "V21" }],
    });
    expect(bad.statusCode).toBe(400);
    const details = bad.json().error.details as { path: string; code: string }[];
    expect(details.map((d) => d.path).sort()).toEqual([
      "shippingLines[1]",
      "shippingLines[2]",
      "taxLines[0].country",
      "taxLines[0].rate",
    ]);
    expect(details.every((d) => d.code === "INVALID_FIELD")).toBe(true);
    expect((await audit("order_mappings.update")).length).toBe(before);
    const ok = await send("PUT", url, {
      shippingLines: [{ code: "EXPRESS", carrier: "DHL", service: "EXP" }],
      taxLines: [{ title: "VAT", rate: "0.21", country: "NL", province: null, taxCode: "V21" }],
    });
    expect(ok.statusCode, ok.body).toBe(200);
    const entry = (await audit("order_mappings.update"))[0]!;
    expect(entry.changed).toEqual(expect.arrayContaining(["shippingLines", "taxLines"]));
  });

  it("safety stock: what changed, before and after; an unchanged re-send adds nothing", async () => {
    expect(
      (await send("PUT", "/api/v1/variants", { variants: [{ sku: "SS-1" }, { sku: "SS-2" }] })).statusCode,
    ).toBe(200);
    const items = [
      { sku: "SS-1", warehouse: "W1", safetyStock: 3 },
      { sku: "SS-2", warehouse: "W1", safetyStock: 0 },
    ];
    expect((await send("PUT", "/api/v1/safety-stock", { items })).statusCode).toBe(200);
    expect((await send("PUT", "/api/v1/safety-stock", { items })).statusCode).toBe(200);
    const entries = await audit("safety_stock.update");
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: "api-key:test",
      before: { "SS-1@W1": 0 },
      after: { "SS-1@W1": 3 },
    });
  });

  it("flows paused and resumed", async () => {
    expect((await send("POST", `/api/v1/stores/${DOMAIN}/flows/order_intake/pause`)).statusCode).toBe(200);
    const resumed = await send("POST", `/api/v1/stores/${DOMAIN}/flows/order_intake/resume`);
    expect(resumed.statusCode, resumed.body).toBe(200);
    expect((await audit("flow.pause"))[0]).toMatchObject({
      before: { state: "enabled" },
      after: { state: "paused" },
    });
    expect((await audit("flow.resume"))[0]).toMatchObject({
      before: { state: "paused" },
      after: { state: "enabled" },
    });
    const lines = (await activity()).filter((l) => l.data.action.startsWith("flow."));
    expect(lines.map((l) => l.message)).toEqual([
      "The order intake flow (resume) changed by api-key:test: state",
      "The order intake flow (pause) changed by api-key:test: state",
    ]);
  });
});
