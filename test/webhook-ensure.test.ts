/**
 * Subscriptions a connected store is missing (an upgrade's new topics, or one Shopify removed
 * after failed deliveries) are created by the periodic check; a store that has them all is left
 * alone and nothing is logged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../src/core/clock.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import {
  ensureWebhooks,
  isOldHubAddress,
  LIST_WEBHOOKS_QUERY,
  registerWebhooks,
} from "../src/shops/webhook-subscriptions.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { connectDirectly, type EmulatedStore, emulatedStore } from "./support/shopify.ts";

describe("webhook subscriptions check", () => {
  let hub: TestHub;
  let store: EmulatedStore;
  beforeAll(async () => {
    hub = await startTestHub("sqlite");
    store = await emulatedStore({ domain: "ensure.myshopify.com", skus: [] });
  });
  afterAll(async () => {
    await hub?.close();
    await store?.emulator.close();
  });

  it("creates what is missing once, then changes nothing", async () => {
    const storeId = await connectDirectly(hub.ctx.database.db, store, [[], []]);
    const transport = createAdminTransport({
      store: store.domain,
      urlTemplate: `${store.emulator.url}/{shop}`,
      getAccessToken: async () => store.token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
    const uri = "https://hub.example.com/webhooks/shopify";
    await registerWebhooks(transport, ["APP_UNINSTALLED"], uri);
    const topics = ["APP_UNINSTALLED", "FULFILLMENTS_CREATE", "INVENTORY_LEVELS_UPDATE"];
    const s = { id: storeId, domain: store.domain };
    const first = await ensureWebhooks(hub.ctx, s, transport, topics, uri);
    expect(first).toMatchObject({ created: ["FULFILLMENTS_CREATE", "INVENTORY_LEVELS_UPDATE"], failed: [] });
    const again = await ensureWebhooks(hub.ctx, s, transport, topics, uri);
    expect(again).toMatchObject({ created: [], existing: topics, failed: [] });
    const logged = await hub.ctx.database.db
      .selectFrom("activity_log")
      .select("message")
      .where("store_id", "=", storeId)
      .where("kind", "=", "webhooks_registered")
      .execute();
    expect(logged).toHaveLength(1);
  });

  it("when the public URL changes, deletes the hub's own subscriptions at the old address, never others", async () => {
    const other = await emulatedStore({ emulator: store.emulator, domain: "moved.myshopify.com", skus: [] });
    const storeId = await connectDirectly(hub.ctx.database.db, other, [[], []]);
    const transport = createAdminTransport({
      store: other.domain,
      urlTemplate: `${other.emulator.url}/{shop}`,
      getAccessToken: async () => other.token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
    const list = async () =>
      (
        await transport.graphql<{
          webhookSubscriptions: { nodes: { id: string; topic: string; uri: string }[] };
        }>(LIST_WEBHOOKS_QUERY, { after: null })
      ).data.webhookSubscriptions.nodes
        .map((n) => `${n.topic} ${n.uri}`)
        .sort();
    const OLD = "https://old-hub.example.com/webhooks/shopify";
    const NEW = "https://new-hub.example.com/webhooks/shopify";
    const FOREIGN = "https://old-hub.example.com/some-other-handler";
    const topics = ["APP_UNINSTALLED", "ORDERS_CREATE"];
    await registerWebhooks(transport, topics, OLD);
    await registerWebhooks(transport, ["ORDERS_CREATE"], FOREIGN);
    const s = { id: storeId, domain: other.domain };

    // A new address Shopify refuses (not HTTPS): the old subscriptions stay, they still deliver.
    const refused = await ensureWebhooks(
      hub.ctx,
      s,
      transport,
      topics,
      "http://new-hub.example.com/webhooks/shopify",
    );
    expect(refused.failed.map((f) => f.topic)).toEqual(topics);
    expect(refused.removed).toEqual([]);
    expect(await list()).toEqual([
      `APP_UNINSTALLED ${OLD}`,
      `ORDERS_CREATE ${FOREIGN}`,
      `ORDERS_CREATE ${OLD}`,
    ]);

    // The https address: created there, the old hub address deleted, the other handler kept.
    const moved = await ensureWebhooks(hub.ctx, s, transport, topics, NEW);
    expect(moved.created).toEqual(topics);
    expect(moved.removed.map((r) => r.topic).sort()).toEqual(topics);
    expect(await list()).toEqual([
      `APP_UNINSTALLED ${NEW}`,
      `ORDERS_CREATE ${NEW}`,
      `ORDERS_CREATE ${FOREIGN}`,
    ]);
    const logged = await hub.ctx.database.db
      .selectFrom("activity_log")
      .select("message")
      .where("store_id", "=", storeId)
      .where("kind", "=", "webhooks_old_address_removed")
      .execute();
    expect(logged.map((l) => l.message)).toEqual([
      "webhooks moved to https://new-hub.example.com: 2 subscription(s) at the old address https://old-hub.example.com deleted",
    ]);
    // Nothing more to do the next time.
    expect((await ensureWebhooks(hub.ctx, s, transport, topics, NEW)).removed).toEqual([]);
  });

  it("processes without PUBLIC_URL keep each other's subscriptions; a chosen address replaces them", async () => {
    const other = await emulatedStore({
      emulator: store.emulator,
      domain: "siblings.myshopify.com",
      skus: [],
    });
    const storeId = await connectDirectly(hub.ctx.database.db, other, [[], []]);
    const transport = createAdminTransport({
      store: other.domain,
      urlTemplate: `${other.emulator.url}/{shop}`,
      getAccessToken: async () => other.token,
      clock: systemClock,
      logger: hub.ctx.logger,
    });
    const s = { id: storeId, domain: other.domain };
    const topics = ["APP_UNINSTALLED"];
    // Another process on the same database, started without PUBLIC_URL, at its own port.
    const SIBLING = "http://127.0.0.1:1/webhooks/shopify";
    await registerWebhooks(transport, topics, SIBLING);
    expect(hub.ctx.config.publicUrlSet).toBe(false);
    const own = await ensureWebhooks(hub.ctx, s, transport, topics);
    expect(own).toMatchObject({ created: topics, removed: [] });
    // PUBLIC_URL set: every process registers the one address, the per-process ones go.
    const chosen = {
      ...hub.ctx,
      config: { ...hub.ctx.config, publicUrl: "https://hub.example.com", publicUrlSet: true },
    };
    const moved = await ensureWebhooks(chosen, s, transport, topics);
    expect(moved.removed.map((r) => r.uri).sort()).toEqual(
      [SIBLING, `${hub.ctx.config.publicUrl}/webhooks/shopify`].sort(),
    );
  });

  it("isOldHubAddress: same webhook path at another address only", () => {
    const now = "https://hub.example.com/webhooks/shopify";
    expect(isOldHubAddress("https://old.example.com/webhooks/shopify", now)).toBe(true);
    expect(isOldHubAddress("https://old.example.com/webhooks/shopify/", now)).toBe(true);
    expect(isOldHubAddress(now, now)).toBe(false);
    expect(isOldHubAddress("https://old.example.com/hooks", now)).toBe(false);
    expect(isOldHubAddress("https://old.example.com/webhooks/shopify?x=1", now)).toBe(false);
    expect(isOldHubAddress("not a url", now)).toBe(false);
  });
});
