/**
 * The catalog publish as an operator drives it, on both databases, with the hub's worker running
 * against the emulator: rules validated and audited, a dry run before enabling (per product:
 * create, update field by field, unchanged, refused), the flow publishing under the store's
 * lease, pausing (changes wait, shown as backlog) and catching up on resume.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { type EmulatedStore, emulatedStore } from "./support/shopify.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator?.close());

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(DIALECTS)("catalog publish flow on %s", (dialect) => {
  let hub: TestHub;
  let store: EmulatedStore;
  const call = async (method: "GET" | "POST" | "PUT", url: string, payload?: unknown) => {
    const res = await hub.server.inject({
      method,
      url,
      headers: hub.auth,
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
    return { status: res.statusCode, body: res.json() };
  };
  const base = () => `/api/v1/stores/${store.domain}`;
  const titles = () =>
    emulator.control
      .listProducts(store.domain)
      .map((p) => p.title)
      .sort();

  beforeAll(async () => {
    store = await emulatedStore({ emulator, domain: `publish-flow-${dialect}.myshopify.com`, skus: [] });
    hub = await startTestHub(dialect, {
      env: { WORKER: "on", SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}` },
    });
    const connected = await call("POST", "/api/v1/stores", {
      domain: store.domain,
      accessToken: store.token,
    });
    expect(connected.status, JSON.stringify(connected.body)).toBe(201);
    const put = await call("PUT", "/api/v1/products", {
      products: [
        { key: "cap", title: "Cap", variants: [{ sku: "CAP-1", price: "12.00" }] },
        { key: "scarf", title: "Scarf", variants: [{ sku: "SCARF-1", price: "30.00" }] },
      ],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
  }, 60_000);
  afterAll(async () => hub?.close());

  it("validates the rules and records the change in the audit trail", async () => {
    const bad = await call("PUT", `${base()}/catalog-publish/settings`, {
      titleTooLong: "shorten",
      fields: { descriptionHtml: "sometimes" },
      categoryByProductType: { Shirts: "aa-1" },
    });
    expect(bad.status).toBe(400);
    const paths = JSON.stringify(bad.body.error);
    expect(paths).toContain("titleTooLong");
    expect(paths).toContain("descriptionHtml");
    expect(paths).toContain("Shirts");
    const ok = await call("PUT", `${base()}/catalog-publish/settings`, {
      newProductStatus: "active",
      fields: { descriptionHtml: "create_only" },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.applied).toMatchObject({ newProductStatus: "active", titleTooLong: "fail" });
    const audit = await call("GET", "/api/v1/audit");
    expect(JSON.stringify(audit.body)).toContain("catalog_publish_settings.update");
  });

  it("needs a dry run before enabling; the dry run shows per product what would happen, writing nothing", async () => {
    const refused = await call("POST", `${base()}/flows/catalog_publish/enable`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain("dry run");

    const dry = await call("POST", `${base()}/catalog-publish/dry-run?waitSeconds=30`, {});
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    expect(dry.body).toMatchObject({ products: 2, create: 2, update: 0, refused: 0 });
    expect(titles()).toEqual([]);
    const jobs = await call("GET", `${base()}/jobs`);
    const job = jobs.body.items.find((j: { kind: string }) => j.kind === "catalog_publish_dry_run");
    const rows = await call("GET", `${base()}/catalog-publish/dry-run/${job.id}`);
    expect(rows.body.items.map((r: { key: string; outcome: string }) => [r.key, r.outcome])).toEqual([
      ["cap", "create"],
      ["scarf", "create"],
    ]);
    expect(rows.body.items[0].changes).toContainEqual({ field: "title", old: null, new: "Cap" });
  });

  it("publishes under the store's lease once enabled; pausing holds changes, resuming catches up", async () => {
    expect((await call("POST", `${base()}/flows/catalog_publish/enable`)).status).toBe(200);
    await until("both products in Shopify", async () => titles().join() === "Cap,Scarf");
    expect(emulator.control.listProducts(store.domain).every((p) => p.status === "ACTIVE")).toBe(true);

    expect((await call("POST", `${base()}/flows/catalog_publish/pause`)).status).toBe(200);
    await call("PUT", "/api/v1/products", {
      products: [{ key: "cap", title: "Cap, wool", variants: [{ sku: "CAP-1", price: "12.00" }] }],
    });
    const flows = await call("GET", `${base()}/flows`);
    const publish = (flows.body.items ?? flows.body).find(
      (f: { flow: string }) => f.flow === "catalog_publish",
    );
    expect(publish).toMatchObject({ state: "paused", status: "paused", backlog: 1 });
    expect(titles()).toEqual(["Cap", "Scarf"]);

    expect((await call("POST", `${base()}/flows/catalog_publish/resume`)).status).toBe(200);
    await until("the paused change published", async () => titles().join() === "Cap, wool,Scarf");
    // Shopify answered before the hub recorded it: wait for the confirmation too.
    await until("both confirmed", async () => {
      const states = await call("GET", `${base()}/catalog-publish/products`);
      return (
        states.body.items.every((s: { status: string }) => s.status === "done") &&
        states.body.items.length === 2
      );
    });
  });

  it("a later dry run shows a merchant's edit as a field-by-field update and the rest unchanged", async () => {
    const scarf = emulator.control.listProducts(store.domain).find((p) => p.title === "Scarf")!;
    emulator.control.productSet(store.domain, {
      identifier: { id: scarf.id },
      input: { title: "Scarf (sale)" },
    });
    const dry = await call("POST", `${base()}/catalog-publish/dry-run?waitSeconds=30`, {});
    expect(dry.body).toMatchObject({ products: 2, create: 0, update: 1, unchanged: 1 });
    const jobs = await call("GET", `${base()}/jobs`);
    const job = jobs.body.items.find((j: { kind: string }) => j.kind === "catalog_publish_dry_run");
    const rows = await call("GET", `${base()}/catalog-publish/dry-run/${job.id}?outcome=update`);
    expect(rows.body.items).toEqual([
      { key: "scarf", outcome: "update", changes: [{ field: "title", old: "Scarf (sale)", new: "Scarf" }] },
    ]);
  });
});
