/**
 * The scheduled catalog check, against the emulator on both databases: after an import, a
 * product's SKU changes in Shopify while the emulator drops every webhook delivery (its fault
 * control); the hub learns nothing until the check reads the products updated since the newest
 * `updatedAt` it has seen and applies them as products/update would have: the link follows the
 * new SKU, and an unchanged product is not applied. The check reads the store with one bulk
 * operation (never pages of products), and a product deleted while products/delete was dropped
 * is found missing from it: its variants unlinked and listed (console and /failures) with the
 * hub product's key. And inventory_items/update alone (its products/update lost) keeps a link
 * current: a SKU changed in Shopify re-links or becomes a problem, tracking and cost are last seen.
 */
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import {
  catalogCheckStorePass,
  lastSeenUpdatedAt,
  runCatalogCheck,
} from "../src/catalog/import/catalog-check.ts";
import { processCatalogInbox } from "../src/catalog/import/product-webhooks.ts";
import { systemClock } from "../src/core/clock.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import type { AdminTransport } from "../src/shopify/transport.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { APP_SCOPES } from "./support/shopify.ts";

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator?.close());

describe.each(DIALECTS)("the catalog check on %s", (dialect) => {
  const domain = `catalog-check-${dialect}.myshopify.com`;
  let hub: TestHub;
  let transport: AdminTransport;
  const product: Record<string, { id: string; variant: string }> = {};
  /** Every GraphQL document the check sent (the transport is wrapped to record them). */
  const sent: string[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: test reads of JSON answers
  const call = async (method: "GET" | "POST" | "PUT", url: string, payload?: unknown): Promise<any> => {
    const res = await hub.server.inject({ method, url, headers: hub.auth, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.body ? res.json() : undefined };
  };
  const storeId = async () =>
    Number(
      (
        await hub.ctx.database.db
          .selectFrom("stores")
          .select("id")
          .where("domain", "=", domain)
          .executeTakeFirstOrThrow()
      ).id,
    );
  const linkOf = async (variantGid: string) =>
    (
      await hub.ctx.database.db
        .selectFrom("variant_links as l")
        .innerJoin("variants as v", "v.id", "l.variant_id")
        .select(["v.sku"])
        .where("l.store_id", "=", await storeId())
        .where("l.product_variant_gid", "=", variantGid)
        .executeTakeFirst()
    )?.sku;

  beforeAll(async () => {
    const app = emulator.control.createApp({ name: "Tillbridge", scopes: [...APP_SCOPES] });
    emulator.control.createShop({ domain, plan: "plus" });
    const token = emulator.control.mintToken({ shop: domain, clientId: app.clientId }).accessToken;
    for (const [title, sku] of [
      ["Mug", "MUG-1"],
      ["Cup", "CUP-1"],
    ] as const) {
      const p = emulator.control.productSet(domain, {
        input: { title, variants: [{ optionValues: [], sku }] } as never,
      });
      product[title] = { id: p.admin_graphql_api_id, variant: p.variants[0]!.admin_graphql_api_id };
    }
    // Webhooks reach the hub (its subscriptions point at its PUBLIC_URL, a port chosen first).
    const port = await freePort();
    hub = await startTestHub(dialect, {
      listen: true,
      env: {
        SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}`,
        HOST: "127.0.0.1",
        PORT: String(port),
        PUBLIC_URL: `http://127.0.0.1:${port}`,
      },
    });
    const put = await call("PUT", "/api/v1/variants", { variants: [{ sku: "MUG-2" }] });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const connected = await call("POST", "/api/v1/stores", {
      domain,
      accessToken: token,
      webhookSecret: app.clientSecret,
    });
    expect(connected.status, JSON.stringify(connected.body)).toBe(201);
    const run = await call("POST", `/api/v1/stores/${domain}/catalog-imports`, {
      mode: "create_only",
      waitSeconds: 60,
    });
    expect(run.body.job?.status, JSON.stringify(run.body)).toBe("done");
    const real = createAdminTransport({
      store: domain,
      urlTemplate: `${emulator.url}/{shop}`,
      getAccessToken: async () => token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
    transport = Object.assign(Object.create(real), {
      graphql: ((query: string, ...rest: never[]) => {
        sent.push(query);
        return (real.graphql as (...a: unknown[]) => unknown)(query, ...rest);
      }) as AdminTransport["graphql"],
    });
  }, 60_000);
  afterAll(async () => hub?.close());

  it("catches a SKU change whose products/update was dropped", async () => {
    expect(await linkOf(product.Mug!.variant)).toBe("MUG-1");
    const since = await lastSeenUpdatedAt(hub.ctx.database.db, await storeId());
    expect(since).not.toBeNull();
    // Shopify's clock moves on; every delivery to this store is dropped.
    await new Promise((r) => setTimeout(r, 1100));
    emulator.control.setFaults(domain, { webhookDropRate: 1 });
    emulator.control.productSet(domain, {
      identifier: { id: product.Mug!.id },
      input: {
        title: "Mug",
        variants: [{ id: product.Mug!.variant, optionValues: [], sku: "MUG-2" }],
      } as never,
    });
    expect(await linkOf(product.Mug!.variant)).toBe("MUG-1");

    sent.length = 0;
    const result = await runCatalogCheck(hub.ctx, await storeId(), transport, { pollMs: 20 });
    // The whole store in one bulk operation; only the changed product applied (Cup was not
    // updated since), nothing deleted.
    expect(result).toMatchObject({ since, read: 2, products: 1, deleted: 0 });
    expect(sent.some((q) => q.includes("bulkOperationRunQuery"))).toBe(true);
    expect(sent.some((q) => /products\(first/.test(q))).toBe(false);
    expect(result.changes).toBeGreaterThan(0);
    expect(await linkOf(product.Mug!.variant)).toBe("MUG-2");
    expect(await linkOf(product.Cup!.variant)).toBe("CUP-1");
    const activity = await call("GET", `/api/v1/stores/${domain}/activity?flow=catalog_import`);
    expect(activity.body.items.some((a: { message: string }) => a.message.includes("catalog check"))).toBe(
      true,
    );

    // Run again: the watermark moved to the change just applied; nothing more to read.
    const again = await runCatalogCheck(hub.ctx, await storeId(), transport, { pollMs: 20 });
    expect(again).toMatchObject({ read: 2, products: 0, deleted: 0 });
  });

  it("checks again before 6 hours once the webhook health check finds product subscriptions missing", async () => {
    const pass = catalogCheckStorePass(hub.ctx, { pollMs: 20 });
    const store = { id: await storeId(), domain } as never;
    await pass.run(store, transport, Date.now()); // the first look checks
    await new Promise((r) => setTimeout(r, 1100));
    emulator.control.productSet(domain, {
      identifier: { id: product.Cup!.id },
      input: {
        title: "Cup",
        variants: [{ id: product.Cup!.variant, optionValues: [], sku: "MUG-1" }],
      } as never,
    });
    await pass.run(store, transport, Date.now()); // not due yet: nothing read
    expect(await linkOf(product.Cup!.variant)).toBe("CUP-1");
    const now = Date.now() + 1;
    await hub.ctx.database.db
      .insertInto("webhook_health")
      .values({
        store_id: await storeId(),
        checked_at: now,
        uri: "https://hub.example/webhooks/shopify",
        expected: JSON.stringify(["PRODUCTS_UPDATE"]),
        missing: JSON.stringify(["PRODUCTS_UPDATE"]),
        recreated: JSON.stringify(["PRODUCTS_UPDATE"]),
        failed: "[]",
        problem: null,
        degraded_since: null,
      })
      .onConflict((oc) =>
        oc.column("store_id").doUpdateSet({ checked_at: now, missing: JSON.stringify(["PRODUCTS_UPDATE"]) }),
      )
      .execute();
    await pass.run(store, transport, Date.now());
    // CUP-1 became MUG-1 in Shopify; the hub's MUG-1 (left unlinked when the mug became MUG-2)
    // takes it: caught without waiting 6 hours.
    expect(await linkOf(product.Cup!.variant)).toBe("MUG-1");
  });

  it("finds a product deleted in Shopify whose products/delete was dropped, and names its hub product", async () => {
    emulator.control.setFaults(domain, { webhookDropRate: 1 });
    const gone = emulator.control.productSet(domain, {
      input: { title: "Plate", variants: [{ optionValues: [], sku: "PLATE-1" }] } as never,
    });
    // The hub learns of the plate by an import (deliveries are dropped), then Shopify deletes it.
    emulator.control.setFaults(domain, { webhookDropRate: 0 });
    const run = await call("POST", `/api/v1/stores/${domain}/catalog-imports`, {
      mode: "create_only",
      waitSeconds: 60,
    });
    expect(run.body.job?.status, JSON.stringify(run.body)).toBe("done");
    expect(await linkOf(gone.variants[0]!.admin_graphql_api_id)).toBe("PLATE-1");
    const key = (
      await hub.ctx.database.db
        .selectFrom("products as p")
        .innerJoin("variants as v", "v.product_id", "p.id")
        .select("p.key")
        .where("v.sku", "=", "PLATE-1")
        .executeTakeFirstOrThrow()
    ).key;
    emulator.control.setFaults(domain, { webhookDropRate: 1 });
    emulator.control.deleteProduct(domain, gone.admin_graphql_api_id);
    expect(await linkOf(gone.variants[0]!.admin_graphql_api_id)).toBe("PLATE-1");

    const result = await runCatalogCheck(hub.ctx, await storeId(), transport, { pollMs: 20 });
    expect(result).toMatchObject({ read: 2, deleted: 1 });
    expect(await linkOf(gone.variants[0]!.admin_graphql_api_id)).toBeUndefined();
    // The other products' links are untouched.
    expect(await linkOf(product.Mug!.variant)).toBe("MUG-2");
    // The product link is marked gone (a late products/update from before is then ignored).
    const link = await hub.ctx.database.db
      .selectFrom("product_links")
      .select("last_seen")
      .where("shopify_product_gid", "=", gone.admin_graphql_api_id)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(link.last_seen!)).toHaveProperty("deletedAt");
    // Shown in the store's catalog (the console's list) and in /failures, with the product key.
    const problems = await call("GET", `/api/v1/stores/${domain}/catalog?state=problem`);
    const problem = problems.body.items.find((i: { sku: string }) => i.sku === "PLATE-1");
    expect(problem?.problem).toMatchObject({ kind: "deleted_in_shopify" });
    expect(problem.problem.reason).toContain(`hub product ${key}`);
    const failures = await call("GET", `/api/v1/failures?store=${domain}&kind=link_problem`);
    const failure = failures.body.items.find((f: { summary: string }) => f.summary.includes("PLATE-1"));
    expect(failure?.reason).toContain(`hub product ${key}`);

    // Once gone, it is not deleted again.
    const again = await runCatalogCheck(hub.ctx, await storeId(), transport, { pollMs: 20 });
    expect(again.deleted).toBe(0);

    // A link made after the check's bulk operation started (its product may be newer than the
    // file) is not judged by it; the next check judges it.
    expect((await call("PUT", "/api/v1/variants", { variants: [{ sku: "LATE-1" }] })).status).toBe(200);
    const late = (
      await hub.ctx.database.db
        .selectFrom("variants")
        .select("id")
        .where("sku", "=", "LATE-1")
        .executeTakeFirstOrThrow()
    ).id;
    await hub.ctx.database.db
      .insertInto("variant_links")
      .values({
        store_id: await storeId(),
        variant_id: Number(late),
        product_variant_gid: "gid://shopify/ProductVariant/987654321",
        inventory_item_gid: "gid://shopify/InventoryItem/987654321",
        matched_by: "sku",
        linked_at: Date.now() + 3_600_000,
        shopify_product_gid: "gid://shopify/Product/987654321",
      })
      .execute();
    const fresh = await runCatalogCheck(hub.ctx, await storeId(), transport, { pollMs: 20 });
    expect(fresh.deleted).toBe(0);
    expect(await linkOf("gid://shopify/ProductVariant/987654321")).toBe("LATE-1");
    await hub.ctx.database.db
      .updateTable("variant_links")
      .set({ linked_at: Date.now() - 1000 })
      .where("variant_id", "=", Number(late))
      .execute();
    const judged = await runCatalogCheck(hub.ctx, await storeId(), transport, { pollMs: 20 });
    expect(judged.deleted).toBe(1);
    expect(await linkOf("gid://shopify/ProductVariant/987654321")).toBeUndefined();
    emulator.control.setFaults(domain, { webhookDropRate: 0 });
  });

  it("inventory_items/update alone re-links a SKU changed in Shopify, or lists it, and keeps tracking and cost last seen", async () => {
    const put = await call("PUT", "/api/v1/variants", { variants: [{ sku: "CUP-9" }] });
    expect(put.status).toBe(200);
    const db = hub.ctx.database.db;
    const change = async (sku: string, cost: string) => {
      const deliveries = () =>
        emulator.control
          .webhookDeliveries({ shop: domain })
          .filter((d) => d.uri.startsWith(hub.url) && d.status === "delivered");
      const before = deliveries().length;
      emulator.control.productSet(domain, {
        identifier: { id: product.Cup!.id },
        input: {
          title: "Cup",
          variants: [
            {
              id: product.Cup!.variant,
              optionValues: [],
              sku,
              inventoryItem: { tracked: false, cost },
            },
          ],
        } as never,
      });
      for (let i = 0; i < 200 && deliveries().length < before + 2; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(
        deliveries()
          .slice(before)
          .map((d) => d.topic)
          .sort(),
      ).toEqual(["inventory_items/update", "products/update"]);
      // The products/update is lost: only the inventory item's update is applied.
      await db
        .deleteFrom("webhook_inbox")
        .where("shop", "=", domain)
        .where("topic", "like", "products/%")
        .where("status", "=", "pending")
        .execute();
      for (let i = 0; i < 3; i++) await processCatalogInbox(hub.ctx);
    };
    await change("CUP-9", "2.50");
    expect(await linkOf(product.Cup!.variant)).toBe("CUP-9");
    const link = await db
      .selectFrom("variant_links")
      .select(["last_seen", "matched_by"])
      .where("product_variant_gid", "=", product.Cup!.variant)
      .executeTakeFirstOrThrow();
    expect(link.matched_by).toBe("sku");
    expect(JSON.parse(link.last_seen!)).toMatchObject({ sku: "CUP-9", tracked: false, cost: "2.50" });

    await change("NOWHERE-1", "3.00");
    expect(await linkOf(product.Cup!.variant)).toBeUndefined();
    const problem = await db
      .selectFrom("link_problems")
      .select(["kind", "sku"])
      .where("product_variant_gid", "=", product.Cup!.variant)
      .executeTakeFirstOrThrow();
    expect(problem).toEqual({ kind: "sku_changed_in_shopify", sku: "NOWHERE-1" });
    // The products/update arriving late says the same: the problem stays.
    await runCatalogCheck(hub.ctx, await storeId(), transport, { pollMs: 20 });
    expect(
      await db
        .selectFrom("link_problems")
        .select(["kind"])
        .where("product_variant_gid", "=", product.Cup!.variant)
        .execute(),
    ).toEqual([{ kind: "sku_changed_in_shopify" }]);
  });
});
