/**
 * The bulk path of the catalog publish on both databases against the emulator (issue 16): a
 * first publish above the threshold goes through stagedUploadsCreate + bulkOperationRunMutation
 * (no productSet call per product), every result line recorded per product (linked, published to
 * the store's sales channels by a second bulk mutation);
 * a crash before the operation's id was recorded never duplicates a product; a small change
 * afterwards goes the synchronous way, a price change on many products as one bulk
 * productVariantsBulkUpdate; the daily variant limit defers lines to the next day.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { VARIANT_CREATION_LIMIT } from "../emulator/resolvers/publish.ts";
import { BULK_PUBLISH } from "../src/catalog/publish/bulk-publish.ts";
import { publishDb } from "../src/catalog/publish/publish-store.ts";
import { runPublishCycle } from "../src/catalog/publish/reconciler.ts";
import { readCurrentProduct } from "../src/catalog/publish/shopify-publish.ts";
import { systemClock } from "../src/core/clock.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import type { AdminTransport } from "../src/shopify/transport.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { connectDirectly, type EmulatedStore, emulatedStore } from "./support/shopify.ts";

let emulator: Emulator;
const saved = { ...BULK_PUBLISH };
beforeAll(async () => {
  emulator = await startEmulator();
  BULK_PUBLISH.threshold = 5;
});
afterAll(async () => {
  Object.assign(BULK_PUBLISH, saved);
  await emulator?.close();
});

const product = (i: number, over: Record<string, unknown> = {}) => ({
  key: `bulk-${i}`,
  title: `Bulk product ${i}`,
  options: [{ name: "Size", values: ["S", "M"] }],
  metafields: [{ namespace: "specs", key: "fabric", type: "single_line_text_field", value: "cotton" }],
  variants: ["S", "M"].map((s) => ({ sku: `BULK${i}-${s}`, options: [s], price: "10.00" })),
  ...over,
});

describe.each(DIALECTS)("catalog publish bulk path on %s", (dialect) => {
  let hub: TestHub;
  let store: EmulatedStore;
  let storeId: number;
  let transport: AdminTransport;

  const deps = () => ({
    db: hub.ctx.database.db,
    now: () => Date.now(),
    logger: hub.ctx.logger,
    windowMs: 0,
  });
  const put = async (products: unknown[]) => {
    const res = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/products",
      headers: hub.auth,
      payload: { products },
    });
    expect(res.statusCode, res.body).toBe(200);
  };
  /** Cycles until nothing is left, waiting while a bulk operation runs. */
  const converge = async () => {
    for (let i = 0; i < 200; i++) {
      const r = await runPublishCycle(deps(), { id: storeId, domain: store.domain }, transport);
      if (r.bulk) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      if (r.refreshed === 0 && r.published === 0 && r.priced === 0 && !r.remaining) return;
    }
    throw new Error("publish did not converge");
  };
  const roots = (field: string) =>
    emulator.control.apiCalls(store.domain).filter((c) => c.rootFields?.includes(field)).length;
  const titled = (prefix: string) =>
    emulator.control.listProducts(store.domain).filter((p) => p.title.startsWith(prefix)).length;
  const bulkRows = () =>
    hub.ctx.database.db
      .withTables<{ catalog_publish_bulk: { status: string; store_id: number } }>()
      .selectFrom("catalog_publish_bulk")
      .select("status")
      .where("store_id", "=", storeId)
      .execute();

  beforeAll(async () => {
    hub = await startTestHub(dialect);
    store = await emulatedStore({ emulator, domain: `bulk-publish-${dialect}.myshopify.com`, skus: [] });
    storeId = await connectDirectly(hub.ctx.database.db, store, [[]], { enabledFlows: [] });
    transport = createAdminTransport({
      store: store.domain,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
    const res = await hub.server.inject({
      method: "PUT",
      url: `/api/v1/stores/${store.domain}/catalog-publish/settings`,
      headers: hub.auth,
      payload: { salesChannels: ["Online Store", "Point of Sale"] },
    });
    expect(res.statusCode, res.body).toBe(200);
  });
  afterAll(async () => hub?.close());

  it("a first publish above the threshold goes through one bulk mutation, each line recorded per product", async () => {
    await put(Array.from({ length: 8 }, (_, i) => product(i)));
    await converge();
    expect(roots("productSet")).toBe(0);
    expect(roots("stagedUploadsCreate")).toBe(2); // products, then sales channels
    expect(roots("bulkOperationRunMutation")).toBe(2);
    expect(titled("Bulk product")).toBe(8);
    for (const i of [0, 7]) {
      const p = (await readCurrentProduct(transport, { key: `bulk-${i}` }))!;
      expect(p.variants.map((v) => [v.sku, v.price])).toEqual([
        [`BULK${i}-S`, "10.00"],
        [`BULK${i}-M`, "10.00"],
      ]);
    }
    const states = await publishDb(hub.ctx.database.db)
      .selectFrom("catalog_publish_state as s")
      .innerJoin("products as p", "p.id", "s.product_id")
      .select(["p.key", "s.status", "s.error", "s.owned"])
      .where("s.store_id", "=", storeId)
      .orderBy("p.key")
      .execute();
    expect(states.filter((s) => s.status === "done")).toHaveLength(8);
    expect(JSON.parse(states[0]!.owned!).channels).toEqual(["Online Store", "Point of Sale"]);
    const links = await hub.ctx.database.db
      .selectFrom("variant_links")
      .select("variant_id")
      .where("store_id", "=", storeId)
      .execute();
    expect(links).toHaveLength(16);
    // The published products are on the store's sales channels.
    const published = await transport.graphql<{ productByIdentifier: { onPos: boolean } }>(
      `query($pos: ID!) { productByIdentifier(identifier: { customId: { namespace: "tillbridge", key: "product_key", value: "bulk-3" } }) { onPos: publishedOnPublication(publicationId: $pos) } }`,
      {
        pos: (
          await transport.graphql<{ publications: { nodes: { id: string; name: string }[] } }>(
            "query { publications(first: 10) { nodes { id name } } }",
          )
        ).data.publications.nodes.find((p) => p.name === "Point of Sale")!.id,
      },
    );
    expect(published.data.productByIdentifier.onPos).toBe(true);
    const runs = await hub.server.inject({
      method: "GET",
      url: `/api/v1/stores/${store.domain}/catalog-publish/bulk-runs`,
      headers: hub.auth,
    });
    expect(
      runs
        .json()
        .items.map((r: { phase: string; status: string; products: number }) => [
          r.phase,
          r.status,
          r.products,
        ]),
    ).toEqual([
      ["channels", "done", 8],
      ["products", "done", 8],
    ]);
  });

  it("a small change afterwards goes the synchronous way", async () => {
    const bulkBefore = roots("bulkOperationRunMutation");
    await put([
      product(2, { variants: ["S", "M"].map((s) => ({ sku: `BULK2-${s}`, options: [s], price: "9.00" })) }),
    ]);
    await converge();
    expect(roots("bulkOperationRunMutation")).toBe(bulkBefore);
    expect(roots("productVariantsBulkUpdate")).toBeGreaterThan(0);
    const p = (await readCurrentProduct(transport, { key: "bulk-2" }))!;
    expect(p.variants.map((v) => v.price)).toEqual(["9.00", "9.00"]);
  });

  it("a price change on many products goes as one bulk mutation of productVariantsBulkUpdate", async () => {
    const bulkBefore = roots("bulkOperationRunMutation");
    const syncBefore = roots("productVariantsBulkUpdate");
    await put(
      Array.from({ length: 8 }, (_, i) =>
        product(i, {
          variants: ["S", "M"].map((s) => ({ sku: `BULK${i}-${s}`, options: [s], price: "8.50" })),
        }),
      ),
    );
    await converge();
    expect(roots("bulkOperationRunMutation")).toBe(bulkBefore + 1);
    expect(roots("productVariantsBulkUpdate")).toBe(syncBefore);
    expect(roots("productSet")).toBe(0);
    for (const i of [0, 7]) {
      const p = (await readCurrentProduct(transport, { key: `bulk-${i}` }))!;
      expect(p.variants.map((v) => v.price)).toEqual(["8.50", "8.50"]);
    }
    const pending = await publishDb(hub.ctx.database.db)
      .selectFrom("catalog_publish_state")
      .select("product_id")
      .where("store_id", "=", storeId)
      .where("status", "<>", "done")
      .execute();
    expect(pending).toEqual([]);
  });

  it("a rule change touching every product: one bulk read, one bulk productSet; the merchant's variant and metafield survive", async () => {
    const p1 = (await readCurrentProduct(transport, { key: "bulk-1" }))!;
    emulator.control.productSet(store.domain, {
      identifier: { id: p1.id },
      input: {
        variants: [
          ...p1.variants.map((v) => ({
            id: v.id,
            optionValues: v.selectedOptions.map((o) => ({ optionName: o.name, name: o.value })),
          })),
          { sku: "MERCHANT-XL", price: "25.00", optionValues: [{ optionName: "Size", name: "XL" }] },
        ],
        metafields: [{ namespace: "merchant", key: "note", type: "single_line_text_field", value: "mine" }],
      },
    });
    const before = {
      set: roots("productSet"),
      bulk: roots("bulkOperationRunMutation"),
      read: roots("bulkOperationRunQuery"),
    };
    const res = await hub.server.inject({
      method: "PUT",
      url: `/api/v1/stores/${store.domain}/catalog-publish/settings`,
      headers: hub.auth,
      payload: { salesChannels: ["Online Store", "Point of Sale"], titleTemplate: "{title} (hub)" },
    });
    expect(res.statusCode, res.body).toBe(200);
    await converge();
    expect(roots("productSet")).toBe(before.set);
    expect(roots("bulkOperationRunQuery")).toBe(before.read + 1);
    expect(roots("bulkOperationRunMutation")).toBe(before.bulk + 1);
    expect(titled("Bulk product")).toBe(8);
    for (const i of [0, 1, 7])
      expect((await readCurrentProduct(transport, { key: `bulk-${i}` }))!.title).toBe(
        `Bulk product ${i} (hub)`,
      );
    const after = (await readCurrentProduct(transport, { key: "bulk-1" }))!;
    expect(after.id).toBe(p1.id);
    expect(after.variants.map((v) => v.sku)).toEqual(["BULK1-S", "BULK1-M", "MERCHANT-XL"]);
    expect(after.metafields.map((m) => `${m.namespace}.${m.key}`).sort()).toContain("merchant.note");
    const runs = await hub.server.inject({
      method: "GET",
      url: `/api/v1/stores/${store.domain}/catalog-publish/bulk-runs`,
      headers: hub.auth,
    });
    expect(
      runs
        .json()
        .items.slice(0, 2)
        .map((r: { phase: string; status: string; products: number }) => [r.phase, r.status, r.products]),
    ).toEqual([
      ["products", "done", 8],
      ["read", "done", 8],
    ]);
    const pending = await publishDb(hub.ctx.database.db)
      .selectFrom("catalog_publish_state")
      .select("product_id")
      .where("store_id", "=", storeId)
      .where("status", "<>", "done")
      .execute();
    expect(pending).toEqual([]);
    // Put the rule back (again in bulk) for the next tests.
    const back = await hub.server.inject({
      method: "PUT",
      url: `/api/v1/stores/${store.domain}/catalog-publish/settings`,
      headers: hub.auth,
      payload: { salesChannels: ["Online Store", "Point of Sale"] },
    });
    expect(back.statusCode, back.body).toBe(200);
    await converge();
    expect((await readCurrentProduct(transport, { key: "bulk-1" }))!.title).toBe("Bulk product 1");
  });

  it("a crash before the operation's id was recorded publishes again without a second product", async () => {
    await put(Array.from({ length: 6 }, (_, i) => product(20 + i)));
    // The first cycle starts the bulk operation; the crash loses its id.
    let started = false;
    for (let i = 0; i < 5 && !started; i++)
      started =
        (await runPublishCycle(deps(), { id: storeId, domain: store.domain }, transport)).bulk === true;
    expect(started).toBe(true);
    await hub.ctx.database.db
      .withTables<{
        catalog_publish_bulk: { status: string; operation_gid: string | null; store_id: number };
      }>()
      .updateTable("catalog_publish_bulk")
      .set({ status: "starting", operation_gid: null })
      .where("store_id", "=", storeId)
      .where("status", "=", "running")
      .execute();
    await converge();
    for (let i = 20; i < 26; i++) expect(titled(`Bulk product ${i}`)).toBe(1);
    expect((await bulkRows()).some((r) => r.status === "abandoned")).toBe(true);
  });

  it("lines refused by the daily variant limit wait for the next day", async () => {
    const limit = { ...VARIANT_CREATION_LIMIT };
    Object.assign(VARIANT_CREATION_LIMIT, { storeVariants: 1, perDay: 4 });
    try {
      await put(Array.from({ length: 5 }, (_, i) => product(40 + i)));
      await converge();
      const rows = await publishDb(hub.ctx.database.db)
        .selectFrom("catalog_publish_state as s")
        .innerJoin("products as p", "p.id", "s.product_id")
        .select(["p.key", "s.status", "s.error", "s.next_attempt_at"])
        .where("s.store_id", "=", storeId)
        .where("p.key", "like", "bulk-4_")
        .execute();
      const waiting = rows.filter((r) => r.error && JSON.parse(r.error).code === "DAILY_VARIANT_LIMIT");
      expect(waiting.length).toBeGreaterThanOrEqual(1);
      for (const w of waiting) {
        expect(w.status).toBe("pending");
        expect(Number(w.next_attempt_at)).toBe((Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000);
      }
    } finally {
      Object.assign(VARIANT_CREATION_LIMIT, limit);
    }
  });
});
