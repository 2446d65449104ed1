/**
 * Price groups end to end on both databases against the emulator (issue 16, seed 004): the back
 * office's API (a price in another currency than the group's refused, unknown group and SKU),
 * each group published as a Shopify price list attached to a catalog, prices only for products
 * that exist in the store, a price change touching only its own list, a removed price deleted,
 * and a crash after the price list was created never making a second one.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { runPublishDryRun } from "../src/catalog/publish/dry-run.ts";
import { runPublishCycle } from "../src/catalog/publish/reconciler.ts";
import { systemClock } from "../src/core/clock.ts";
import { priceDb } from "../src/prices/price-store.ts";
import { runPriceListCycle } from "../src/prices/reconciler.ts";
import { priceListName } from "../src/prices/shopify-price-lists.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import type { AdminTransport } from "../src/shopify/transport.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { connectDirectly, type EmulatedStore, emulatedStore } from "./support/shopify.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator?.close());

describe.each(DIALECTS)("price groups on %s", (dialect) => {
  let hub: TestHub;
  let store: EmulatedStore;
  let storeId: number;
  let transport: AdminTransport;

  const inject = async (method: "PUT" | "GET", url: string, payload?: unknown) =>
    hub.server.inject({ method, url, headers: hub.auth, ...(payload ? { payload } : {}) });
  const ok = async (method: "PUT" | "GET", url: string, payload?: unknown) => {
    const res = await inject(method, url, payload);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const publish = async () => {
    const deps = { db: hub.ctx.database.db, now: () => Date.now(), logger: hub.ctx.logger, windowMs: 0 };
    for (let i = 0; i < 10; i++) {
      const r = await runPublishCycle(deps, { id: storeId, domain: store.domain }, transport);
      if (r.refreshed === 0 && r.published === 0 && r.priced === 0 && !r.remaining) return;
    }
  };
  const prices = () =>
    runPriceListCycle(
      { db: hub.ctx.database.db, now: () => Date.now(), logger: hub.ctx.logger },
      { id: storeId, domain: store.domain },
      transport,
    );
  /** The store's price lists as Shopify answers them. */
  const lists = async () => {
    const r = await transport.graphql<{
      priceLists: {
        nodes: {
          name: string;
          currency: string;
          catalog: { id: string; priceList: { name: string } | null } | null;
          prices: {
            nodes: {
              price: { amount: string; currencyCode: string };
              compareAtPrice: { amount: string } | null;
              variant: { sku: string };
            }[];
          };
        }[];
      };
    }>(
      `query { priceLists(first: 50) { nodes { name currency catalog { id priceList { name } }
        prices(first: 250) { nodes { price { amount currencyCode } compareAtPrice { amount } variant { sku } } } } } }`,
    );
    return r.data.priceLists.nodes;
  };
  const list = async (code: string) => {
    const l = (await lists()).find((p) => p.name === priceListName(code));
    return l
      ? new Map(
          l.prices.nodes.map((n) => [
            n.variant.sku,
            {
              price: n.price.amount,
              compareAtPrice: n.compareAtPrice?.amount ?? null,
              currency: n.price.currencyCode,
            },
          ]),
        )
      : undefined;
  };
  const fixed = async (code: string, sku: string) => (await list(code))?.get(sku);
  const fixedCalls = () =>
    emulator.control
      .apiCalls(store.domain)
      .filter((c) => c.rootFields?.includes("priceListFixedPricesUpdate")).length;

  beforeAll(async () => {
    hub = await startTestHub(dialect);
    store = await emulatedStore({ emulator, domain: `prices-${dialect}.myshopify.com`, skus: [] });
    storeId = await connectDirectly(hub.ctx.database.db, store, [[]], { enabledFlows: [] });
    transport = createAdminTransport({
      store: store.domain,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
    await ok("PUT", "/api/v1/products", {
      products: [
        {
          key: "tee",
          title: "Tee",
          options: [{ name: "Size", values: ["S", "M"] }],
          variants: [
            { sku: "TEE-S", options: ["S"], price: "20.00" },
            { sku: "TEE-M", options: ["M"], price: "20.00" },
          ],
        },
      ],
    });
    // Known to the hub, never published to this store: its group price is not sent.
    await ok("PUT", "/api/v1/variants", { variants: [{ sku: "LOOSE" }] });
    await publish();
  });
  afterAll(async () => hub?.close());

  it("refuses bad prices with precise errors and saves nothing", async () => {
    await ok("PUT", "/api/v1/price-groups", {
      groups: [
        { code: "B2B", name: "Wholesale", currency: "EUR" },
        { code: "VIP", name: "VIP", currency: "EUR" },
      ],
    });
    const wrong = await inject("PUT", "/api/v1/price-groups/B2B/prices", {
      prices: [
        { sku: "TEE-S", price: "15.00", currency: "EUR" },
        { sku: "TEE-M", price: "15.00", currency: "SEK" },
      ],
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.details).toEqual([
      expect.objectContaining({ path: "prices[1].currency", code: "CURRENCY_MISMATCH", id: "TEE-M" }),
    ]);
    expect(wrong.json().error.message).toContain("EUR");
    const unknownSku = await inject("PUT", "/api/v1/price-groups/B2B/prices", {
      prices: [{ sku: "NOPE", price: "1.00", currency: "EUR" }],
    });
    expect(unknownSku.statusCode).toBe(400);
    expect(unknownSku.json().error.code).toBe("UNKNOWN_SKU");
    const unknownGroup = await inject("PUT", "/api/v1/price-groups/NOPE/prices", {
      prices: [{ sku: "TEE-S", price: "1.00", currency: "EUR" }],
    });
    expect(unknownGroup.statusCode).toBe(404);
    expect(unknownGroup.json().error.details[0].code).toBe("UNKNOWN_PRICE_GROUP");
    expect((await ok("GET", "/api/v1/price-groups/B2B/prices")).items).toEqual([]);
  });

  it("publishes each group as a price list on a catalog, only for products in the store", async () => {
    await ok("PUT", "/api/v1/price-groups/B2B/prices", {
      prices: [
        { sku: "TEE-S", price: "15.00", currency: "EUR" },
        { sku: "TEE-M", price: "16.00", compareAtPrice: "20.00", currency: "EUR" },
        { sku: "LOOSE", price: "3.00", currency: "EUR" },
      ],
    });
    await ok("PUT", "/api/v1/price-groups/VIP/prices", {
      prices: [{ sku: "TEE-S", price: "12.00", currency: "EUR" }],
    });
    await prices();
    expect(await fixed("B2B", "TEE-S")).toEqual({ price: "15.00", compareAtPrice: null, currency: "EUR" });
    expect(await fixed("B2B", "TEE-M")).toEqual({ price: "16.00", compareAtPrice: "20.00", currency: "EUR" });
    expect((await list("B2B"))!.size).toBe(2); // LOOSE has no product in the store
    expect((await fixed("VIP", "TEE-S"))?.price).toBe("12.00");
    const b2b = (await lists()).find((p) => p.name === priceListName("B2B"))!;
    expect(b2b.catalog?.priceList?.name).toBe(priceListName("B2B"));

    const view = (await ok("GET", `/api/v1/stores/${store.domain}/price-lists`)).items;
    expect(view.find((v: { code: string }) => v.code === "B2B")).toMatchObject({
      currency: "EUR",
      prices: 3,
      confirmed: 2,
      notInStore: 1,
      pending: 0,
      state: "in_sync",
    });
    const again = fixedCalls();
    await prices(); // nothing changed: nothing sent
    expect(fixedCalls()).toBe(again);
  });

  it("the publish dry run shows each price list: prices to set, change (old → new) and remove; nothing written", async () => {
    await ok("PUT", "/api/v1/price-groups", {
      groups: [{ code: "NEW", name: "New group", currency: "EUR" }],
    });
    await ok("PUT", "/api/v1/price-groups/NEW/prices", {
      prices: [{ sku: "TEE-M", price: "18.00", currency: "EUR" }],
    });
    await ok("PUT", "/api/v1/price-groups/B2B/prices", {
      prices: [{ sku: "TEE-S", price: "15.50", currency: "EUR" }],
      remove: ["TEE-M"],
    });
    const before = emulator.control.apiCalls(store.domain).length;
    const control = { jobId: 0, progress: async () => {}, cancelled: async () => false };
    const r = await runPublishDryRun(hub.ctx, { id: storeId, domain: store.domain }, transport, control, {});
    const writes = emulator.control
      .apiCalls(store.domain)
      .slice(before)
      .filter((c) => /mutation/i.test(JSON.stringify(c)));
    expect(writes).toEqual([]);
    const byCode = new Map(r.priceLists.map((g) => [g.code, g]));
    expect(byCode.get("B2B")).toMatchObject({
      outcome: "update",
      currency: "EUR",
      add: 0,
      change: 1,
      remove: 1,
      unchanged: 0,
      notInStore: 1, // LOOSE: no product in the store
    });
    expect(
      byCode.get("B2B")!.changes.map((c) => [c.sku, c.old?.price ?? null, c.new?.price ?? null]),
    ).toEqual([
      ["TEE-S", "15.00", "15.50"],
      ["TEE-M", "16.00", null],
    ]);
    expect(byCode.get("VIP")).toMatchObject({ outcome: "unchanged", unchanged: 1, changes: [] });
    expect(byCode.get("NEW")).toMatchObject({ outcome: "create", priceListId: null, add: 1 });
    // Put back as the next tests expect (the dry run changed nothing in Shopify).
    await ok("PUT", "/api/v1/price-groups/B2B/prices", {
      prices: [
        { sku: "TEE-S", price: "15.00", currency: "EUR" },
        { sku: "TEE-M", price: "16.00", compareAtPrice: "20.00", currency: "EUR" },
      ],
    });
    await ok("PUT", "/api/v1/price-groups/NEW/prices", { remove: ["TEE-M"] });
  });

  it("a price change touches only its own list; a removed price is deleted from it", async () => {
    const vipBefore = await list("VIP");
    const calls = fixedCalls();
    await ok("PUT", "/api/v1/price-groups/B2B/prices", {
      prices: [{ sku: "TEE-S", price: "14.50", currency: "EUR" }],
    });
    await prices();
    expect(fixedCalls()).toBe(calls + 1);
    expect((await fixed("B2B", "TEE-S"))?.price).toBe("14.50");
    expect((await fixed("B2B", "TEE-M"))?.price).toBe("16.00");
    expect(await list("VIP")).toEqual(vipBefore);

    await ok("PUT", "/api/v1/price-groups/B2B/prices", { remove: ["TEE-M"] });
    await prices();
    expect(await fixed("B2B", "TEE-M")).toBeUndefined();
    expect((await list("B2B"))!.size).toBe(1);
  });

  it("a product published later gets its group price; a crash after creating the list never makes a second", async () => {
    await ok("PUT", "/api/v1/products", {
      products: [{ key: "loose", title: "Loose", variants: [{ sku: "LOOSE", price: "4.00" }] }],
    });
    await publish();
    // As after a crash right after priceListCreate: the hub lost what it created.
    await priceDb(hub.ctx.database.db)
      .deleteFrom("price_list_state")
      .where("store_id", "=", storeId)
      .execute();
    await prices();
    expect((await fixed("B2B", "LOOSE"))?.price).toBe("3.00");
    const names = (await lists()).map((p) => p.name).sort();
    expect(names).toEqual([priceListName("B2B"), priceListName("VIP")]);
  });

  it("a price list deleted in Shopify is created again with every price", async () => {
    const id = (await lists()).find((p) => p.name === priceListName("VIP"))!;
    const found = await transport.graphql<{ priceLists: { nodes: { id: string; name: string }[] } }>(
      "query { priceLists(first: 10) { nodes { id name } } }",
    );
    const vip = found.data.priceLists.nodes.find((p) => p.name === id.name)!.id;
    const deleted = await transport.graphql<{ priceListDelete: { deletedId: string } }>(
      "mutation($id: ID!) { priceListDelete(id: $id) { deletedId userErrors { code } } }",
      { id: vip },
    );
    expect(deleted.data.priceListDelete.deletedId).toBe(vip);
    // The hub learns it on the next change it sends to that list (or, its state lost, when it
    // looks the list up by name).
    await ok("PUT", "/api/v1/price-groups/VIP/prices", {
      prices: [{ sku: "TEE-M", price: "13.00", currency: "EUR" }],
    });
    await prices();
    expect((await fixed("VIP", "TEE-S"))?.price).toBe("12.00");
    expect((await fixed("VIP", "TEE-M"))?.price).toBe("13.00");
    const again = (await lists()).find((p) => p.name === priceListName("VIP"))!;
    expect(again.catalog?.priceList?.name).toBe(priceListName("VIP"));

    // Deleted again, now with the hub knowing the list: Shopify's PRICE_LIST_NOT_FOUND on the next
    // change makes it create the list again and send every price.
    const known = (
      await transport.graphql<{ priceLists: { nodes: { id: string; name: string }[] } }>(
        "query { priceLists(first: 10) { nodes { id name } } }",
      )
    ).data.priceLists.nodes.find((p) => p.name === priceListName("VIP"))!.id;
    await transport.graphql("mutation($id: ID!) { priceListDelete(id: $id) { deletedId } }", { id: known });
    await ok("PUT", "/api/v1/price-groups/VIP/prices", {
      prices: [{ sku: "TEE-M", price: "13.50", currency: "EUR" }],
    });
    await prices();
    expect((await fixed("VIP", "TEE-S"))?.price).toBe("12.00");
    expect((await fixed("VIP", "TEE-M"))?.price).toBe("13.50");
  });

  it("a group's currency is locked once it holds prices", async () => {
    const res = await inject("PUT", "/api/v1/price-groups", {
      groups: [{ code: "B2B", name: "Wholesale", currency: "SEK" }],
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.details[0]).toMatchObject({
      code: "CURRENCY_LOCKED",
      path: "groups[0].currency",
    });
  });
});

const RUNS = Number(process.env.PRICE_PROPERTY_RUNS ?? 8);
/** A fixed seed in the suite; PRICE_PROPERTY_SEED=random (or a number) explores others. */
const SEED =
  process.env.PRICE_PROPERTY_SEED === "random"
    ? {}
    : { seed: Number(process.env.PRICE_PROPERTY_SEED ?? 20261128) };

/**
 * The invariant, on both databases: whatever the back office sets and removes, and whichever
 * products leave or come back to the store, once the reconciler ran each store's price list holds
 * exactly the group's prices of the variants in the store, in its currency: nothing missing,
 * nothing stale, no other group's price. The store, the model and the links carry over from run to
 * run (a shrunk counter-example is replayed on top of what came before it).
 */
describe.each(DIALECTS)("price lists property on %s", (dialect) => {
  let hub: TestHub;
  let store: EmulatedStore;
  let storeId: number;
  let transport: AdminTransport;
  const SKUS = ["P0-A", "P0-B", "P1-A", "P1-B", "P2-A"];
  const GROUPS = ["G1", "G2"];

  beforeAll(async () => {
    hub = await startTestHub(dialect);
    store = await emulatedStore({ emulator, domain: `prices-prop-${dialect}.myshopify.com`, skus: [] });
    storeId = await connectDirectly(hub.ctx.database.db, store, [[]], { enabledFlows: [] });
    transport = createAdminTransport({
      store: store.domain,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
    const put = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/products",
      headers: hub.auth,
      payload: {
        products: [0, 1, 2].map((i) => ({
          key: `p${i}`,
          title: `P${i}`,
          options: [
            { name: "Size", values: SKUS.filter((s) => s.startsWith(`P${i}`)).map((s) => s.slice(-1)) },
          ],
          variants: SKUS.filter((s) => s.startsWith(`P${i}`)).map((s) => ({
            sku: s,
            options: [s.slice(-1)],
            price: "9.00",
          })),
        })),
      },
    });
    expect(put.statusCode, put.body).toBe(200);
    const deps = { db: hub.ctx.database.db, now: () => Date.now(), logger: hub.ctx.logger, windowMs: 0 };
    for (let i = 0; i < 5; i++) await runPublishCycle(deps, { id: storeId, domain: store.domain }, transport);
    const groups = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/price-groups",
      headers: hub.auth,
      payload: { groups: GROUPS.map((code) => ({ code, name: code, currency: "EUR" })) },
    });
    expect(groups.statusCode, groups.body).toBe(200);
  });
  afterAll(async () => hub?.close());

  type Step =
    | { kind: "set"; group: string; sku: string; price: string; compareAt: string | null }
    | { kind: "remove"; group: string; sku: string }
    | { kind: "unlink"; sku: string }
    | { kind: "relink"; sku: string }
    | { kind: "reconcile" };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      kind: fc.constant("set" as const),
      group: fc.constantFrom(...GROUPS),
      sku: fc.constantFrom(...SKUS),
      price: fc.integer({ min: 0, max: 99999 }).map((c) => (c / 100).toFixed(2)),
      compareAt: fc.option(fc.constantFrom("120.00", "99.99"), { nil: null }),
    }),
    fc.record({
      kind: fc.constant("remove" as const),
      group: fc.constantFrom(...GROUPS),
      sku: fc.constantFrom(...SKUS),
    }),
    fc.record({ kind: fc.constant("unlink" as const), sku: fc.constantFrom(...SKUS) }),
    fc.record({ kind: fc.constant("relink" as const), sku: fc.constantFrom(...SKUS) }),
    fc.constant({ kind: "reconcile" as const }),
  );

  it("each price list holds exactly its group's prices of the variants in the store", async () => {
    const db = hub.ctx.database.db;
    const savedLinks = await db
      .selectFrom("variant_links")
      .selectAll()
      .where("store_id", "=", storeId)
      .execute();
    const idOf = new Map(
      (await db.selectFrom("variants").select(["id", "sku"]).execute()).map((v) => [v.sku, Number(v.id)]),
    );
    const model = new Map<string, Map<string, { price: string; compareAt: string | null }>>(
      GROUPS.map((g) => [g, new Map()]),
    );
    const linked = new Set(SKUS);
    const reconcile = () =>
      runPriceListCycle(
        { db, now: () => Date.now(), logger: hub.ctx.logger },
        { id: storeId, domain: store.domain },
        transport,
      );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        for (const s of steps) {
          if (s.kind === "set") {
            const res = await hub.server.inject({
              method: "PUT",
              url: `/api/v1/price-groups/${s.group}/prices`,
              headers: hub.auth,
              payload: {
                prices: [{ sku: s.sku, price: s.price, compareAtPrice: s.compareAt, currency: "EUR" }],
              },
            });
            expect(res.statusCode, res.body).toBe(200);
            model.get(s.group)!.set(s.sku, { price: s.price, compareAt: s.compareAt });
          } else if (s.kind === "remove") {
            const res = await hub.server.inject({
              method: "PUT",
              url: `/api/v1/price-groups/${s.group}/prices`,
              headers: hub.auth,
              payload: { remove: [s.sku] },
            });
            expect(res.statusCode, res.body).toBe(200);
            model.get(s.group)!.delete(s.sku);
          } else if (s.kind === "unlink") {
            await db
              .deleteFrom("variant_links")
              .where("store_id", "=", storeId)
              .where("variant_id", "=", idOf.get(s.sku)!)
              .execute();
            linked.delete(s.sku);
          } else if (s.kind === "relink" && !linked.has(s.sku)) {
            const row = savedLinks.find((l) => Number(l.variant_id) === idOf.get(s.sku))!;
            await db.insertInto("variant_links").values(row).execute();
            linked.add(s.sku);
          } else if (s.kind === "reconcile") await reconcile();
        }
        await reconcile();
        const r = await transport.graphql<{
          priceLists: {
            nodes: {
              name: string;
              prices: {
                nodes: {
                  price: { amount: string; currencyCode: string };
                  compareAtPrice: { amount: string } | null;
                  variant: { sku: string };
                }[];
              };
            }[];
          };
        }>(
          `query { priceLists(first: 10) { nodes { name prices(first: 250) { nodes { price { amount currencyCode } compareAtPrice { amount } variant { sku } } } } } }`,
        );
        for (const g of GROUPS) {
          const list = r.data.priceLists.nodes.find((l) => l.name === priceListName(g));
          const actual = Object.fromEntries(
            (list?.prices.nodes ?? []).map((n) => [
              n.variant.sku,
              [n.price.amount, n.compareAtPrice?.amount ?? null, n.price.currencyCode],
            ]),
          );
          const expected = Object.fromEntries(
            [...model.get(g)!.entries()]
              .filter(([sku]) => linked.has(sku))
              .map(([sku, p]) => [sku, [p.price, p.compareAt, "EUR"]]),
          );
          expect(actual).toEqual(expected);
        }
      }),
      { numRuns: RUNS, ...SEED },
    );
  }, 120_000);
});
