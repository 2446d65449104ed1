/**
 * Subscriptions a connected store is missing (an upgrade's new topics, or one Shopify removed
 * after failed deliveries) are created by the periodic check; a store that has them all is left
 * alone and nothing is logged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../src/core/clock.ts";
import { createAdminTransport } from "../src/shopify/admin-client.ts";
import { ensureWebhooks, registerWebhooks } from "../src/shops/webhook-subscriptions.ts";
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
});
