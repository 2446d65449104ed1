/**
 * Link problems resolved by the operator, against the emulator on both databases: "pick one" of
 * two Shopify variants sharing a SKU, a Shopify variant moved by hand from the SKU it matched to
 * another (refused without move), a variant that does not exist, unlinking; the hand-made link
 * marks the variant due for the inventory push, is audited, and a later import keeps it.
 */
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { processCatalogInbox } from "../src/catalog/import/index.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { APP_SCOPES } from "./support/shopify.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator?.close());

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe.each(DIALECTS)("linking a variant by hand on %s", (dialect) => {
  const domain = `manual-link-${dialect}.myshopify.com`;
  let hub: TestHub;
  const gid: Record<string, string> = {};
  let handProduct = "";
  type Method = "GET" | "POST" | "PUT" | "DELETE";
  // biome-ignore lint/suspicious/noExplicitAny: test reads of JSON answers
  const call = async (method: Method, url: string, payload?: unknown): Promise<any> => {
    const res = await hub.server.inject({ method, url, headers: hub.auth, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.body ? res.json() : undefined };
  };
  const problems = async () =>
    (await call("GET", `/api/v1/stores/${domain}/link-problems`)).body.items
      .map((p: { kind: string; sku: string | null }) => `${p.kind}:${p.sku ?? "-"}`)
      .sort();
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
  const links = async () =>
    Object.fromEntries(
      (
        await hub.ctx.database.db
          .selectFrom("variant_links as l")
          .innerJoin("variants as v", "v.id", "l.variant_id")
          .select(["v.sku", "l.product_variant_gid", "l.matched_by"])
          .where("l.store_id", "=", await storeId())
          .execute()
      ).map((r) => [
        r.sku,
        `${r.product_variant_gid.replace("gid://shopify/ProductVariant/", "")}/${r.matched_by}`,
      ]),
    );
  const short = (name: string) => gid[name]!.replace("gid://shopify/ProductVariant/", "");
  const link = (body: Record<string, unknown>) =>
    call("POST", `/api/v1/stores/${domain}/variant-links?waitSeconds=30`, body);
  const runImport = async () => {
    const r = await call("POST", `/api/v1/stores/${domain}/catalog-imports`, {
      mode: "create_and_overwrite",
      waitSeconds: 60,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.job.status, JSON.stringify(r.body.job)).toBe("done");
  };

  beforeAll(async () => {
    const app = emulator.control.createApp({ name: "Tillbridge", scopes: [...APP_SCOPES] });
    emulator.control.createShop({ domain, plan: "plus" });
    emulator.control.createLocation(domain, { name: "Main" });
    const token = emulator.control.mintToken({ shop: domain, clientId: app.clientId }).accessToken;
    for (const [title, sku] of [
      ["Twin A", "TWIN"],
      ["Twin B", "TWIN"],
      ["Hand", "HAND-S"],
    ] as const) {
      const p = emulator.control.productSet(domain, {
        input: { title, variants: [{ optionValues: [], sku }] } as never,
      });
      gid[title] = p.variants[0]!.admin_graphql_api_id;
      if (title === "Hand") handProduct = p.admin_graphql_api_id;
    }
    // Product webhooks reach the hub at its PUBLIC_URL: a port chosen before it starts.
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
    const put = await call("PUT", "/api/v1/variants", { variants: [{ sku: "TWIN" }, { sku: "HAND" }] });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const connected = await call("POST", "/api/v1/stores", {
      domain,
      accessToken: token,
      webhookSecret: app.clientSecret,
    });
    expect(connected.status, JSON.stringify(connected.body)).toBe(201);
    await runImport();
  }, 60_000);
  afterAll(async () => {
    emulator.control.setFaults(domain, { webhookDropRate: 1 });
    await emulator.control.webhooksIdle(30_000).catch(() => {});
    hub?.server.server.closeAllConnections();
    await hub?.close();
  });

  it("picks one of two Shopify variants sharing a SKU, marks it due for the push, and audits it", async () => {
    expect(await problems()).toContain("duplicate_sku_in_shopify:TWIN");
    // The problem names the variants to pick from.
    const twin = (await call("GET", `/api/v1/stores/${domain}/link-problems`)).body.items.find(
      (p: { kind: string }) => p.kind === "duplicate_sku_in_shopify",
    );
    expect([...twin.candidates].sort()).toEqual([gid["Twin A"], gid["Twin B"]].sort());
    expect((await links()).TWIN).toBeUndefined();
    await hub.ctx.database.db.deleteFrom("push_dirty").execute();

    const r = await link({ sku: "TWIN", productVariantId: short("Twin B") });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ sku: "TWIN", productVariantId: gid["Twin B"], movedFrom: null });
    expect((await links()).TWIN).toBe(`${short("Twin B")}/manual`);
    expect(await problems()).not.toContain("duplicate_sku_in_shopify:TWIN");
    // The other variant carrying TWIN stays named, as the next import names it.
    expect(await problems()).toContain("hub_variant_matches_two:TWIN");
    const due = await hub.ctx.database.db
      .selectFrom("push_dirty as d")
      .innerJoin("variants as v", "v.id", "d.variant_id")
      .select("v.sku")
      .where("d.store_id", "=", await storeId())
      .execute();
    expect(due.map((d) => d.sku)).toEqual(["TWIN"]);
    const audit = await hub.ctx.database.db
      .selectFrom("audit_log")
      .select(["action", "target"])
      .where("action", "=", "variant_link.create")
      .execute();
    expect(audit).toEqual([{ action: "variant_link.create", target: "TWIN" }]);
  });

  it("refuses to take a Shopify variant linked to another SKU unless moved", async () => {
    // The import created HAND-S in the hub and linked it.
    expect((await links())["HAND-S"]).toBe(`${short("Hand")}/sku`);
    const refused = await link({ sku: "HAND", productVariantId: gid.Hand });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("CONFLICT");
    expect(refused.body.error.details[0]).toMatchObject({
      code: "VARIANT_LINKED_ELSEWHERE",
      path: "productVariantId",
    });
    expect((await links())["HAND-S"]).toBe(`${short("Hand")}/sku`);

    const moved = await link({ sku: "HAND", productVariantId: gid.Hand, move: true });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(moved.body.movedFrom).toBe("HAND-S");
    const now = await links();
    expect(now.HAND).toBe(`${short("Hand")}/manual`);
    expect(now["HAND-S"]).toBeUndefined();
    expect(await problems()).toContain("not_in_shopify:HAND-S");
  });

  it("answers precise errors for an unknown variant, an unknown SKU and a malformed id", async () => {
    const missing = await link({ sku: "HAND", productVariantId: "gid://shopify/ProductVariant/987654321" });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toContain("987654321");
    const noSku = await link({ sku: "NOPE", productVariantId: gid["Twin A"] });
    expect(noSku.status).toBe(404);
    expect(noSku.body.error.message).toContain("NOPE");
    const bad = await link({ sku: "HAND", productVariantId: "gid://shopify/Product/1" });
    expect(bad.status).toBe(400);
    // Nothing changed.
    expect((await links()).HAND).toBe(`${short("Hand")}/manual`);
  });

  it("keeps hand-made links through a later import, which creates nothing for the SKU taken", async () => {
    const skusBefore = (await hub.ctx.database.db.selectFrom("variants").select("sku").execute()).length;
    await runImport();
    const after = await links();
    expect(after.TWIN).toBe(`${short("Twin B")}/manual`);
    expect(after.HAND).toBe(`${short("Hand")}/manual`);
    // Twin A still carries TWIN: named, not created nor linked.
    expect(await problems()).toContain("hub_variant_matches_two:TWIN");
    expect((await hub.ctx.database.db.selectFrom("variants").select("sku").execute()).length).toBe(
      skusBefore,
    );
    // Linking again (the link job) keeps them too.
    const relinked = await call("POST", `/api/v1/stores/${domain}/link?waitSeconds=30`);
    expect(relinked.status, JSON.stringify(relinked.body)).toBe(200);
    expect((await links()).TWIN).toBe(`${short("Twin B")}/manual`);
  }, 60_000);

  it("keeps a hand-made link through a products/update whose SKU is not the hub's", async () => {
    // HAND is linked by hand to the variant whose SKU is HAND-S; the product's title changes.
    emulator.control.productSet(domain, {
      identifier: { id: handProduct },
      input: { title: "Hand (new)", variants: [{ id: gid.Hand, optionValues: [], sku: "HAND-S" }] } as never,
    });
    const delivered = () =>
      emulator.control
        .webhookDeliveries({ shop: domain })
        .filter((d) => d.topic === "products/update" && d.status === "delivered");
    for (let i = 0; i < 200 && delivered().length < 1; i++) await new Promise((r) => setTimeout(r, 50));
    expect(delivered().length).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) await processCatalogInbox(hub.ctx);
    expect((await links()).HAND).toBe(`${short("Hand")}/manual`);
    expect(await problems()).not.toContain("sku_changed_in_shopify:HAND-S");
  });

  it("unlinks by hand", async () => {
    const r = await call("DELETE", `/api/v1/stores/${domain}/variant-links/HAND`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.unlinked).toMatchObject({ sku: "HAND", matchedBy: "manual" });
    expect((await links()).HAND).toBeUndefined();
    const again = await call("DELETE", `/api/v1/stores/${domain}/variant-links/HAND`);
    expect(again.status).toBe(404);
  });
});
