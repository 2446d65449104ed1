/**
 * A storm of webhooks (a full inventory push echoes one `inventory_levels/update` per level it
 * set): deliveries arriving together are written to the inbox in one transaction (group commit),
 * every delivery is stored exactly once, duplicates within and across groups are told apart, and
 * no delivery is answered before its row is committed (a second connection sees it).
 */
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleWebhook } from "../src/orders/inbox.ts";
import { webhookHmac } from "../src/shopify/hmac.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";

const SECRET = "storm-secret";
const DOMAIN = "storm.myshopify.com";

describe.each(DIALECTS)("a webhook storm on %s", (dialect) => {
  let hub: TestHub;
  /** Counts committed inbox rows through a connection of its own (uncommitted rows are invisible to it). */
  let committed: (webhookId: string) => Promise<boolean>;
  let closeProbe: () => Promise<void>;

  beforeAll(async () => {
    hub = await startTestHub(dialect, { env: { SHOPIFY_API_KEY: "storm-app", SHOPIFY_API_SECRET: SECRET } });
    const now = Date.now();
    await hub.ctx.database.db
      .insertInto("stores")
      .values({
        domain: DOMAIN,
        name: DOMAIN,
        auth_kind: "custom_app",
        access_token_enc: null,
        access_token_expires_at: null,
        refresh_token_enc: null,
        refresh_token_expires_at: null,
        scopes: "",
        status: "active",
        status_reason: null,
        inventory_mode: "absolute",
        connected_at: now,
        disconnected_at: null,
        updated_at: now,
      })
      .execute();
    const target = hub.ctx.config.database;
    if (target.kind === "sqlite") {
      const probe = new Database(target.path, { readonly: true });
      const stmt = probe.prepare("select count(*) as n from webhook_inbox where webhook_id = ?");
      committed = async (id) => (stmt.get(id) as { n: number }).n === 1;
      closeProbe = async () => {
        probe.close();
      };
    } else {
      const probe = new pg.Pool({ connectionString: target.url, max: 4 });
      probe.on("error", () => {}); // an idle probe connection cut when the database is dropped
      committed = async (id) =>
        (await probe.query("select count(*)::int as n from webhook_inbox where webhook_id = $1", [id]))
          .rows[0].n === 1;
      closeProbe = () => probe.end();
    }
  }, 60_000);
  afterAll(async () => {
    await closeProbe?.();
    await hub?.close();
  });

  const deliver = (webhookId: string, i: number) => {
    const body = JSON.stringify({ inventory_item_id: 1000 + i, location_id: 7, available: i });
    return hub.server.inject({
      method: "POST",
      url: "/webhooks/shopify",
      headers: {
        "content-type": "application/json",
        "x-shopify-topic": "inventory_levels/update",
        "x-shopify-shop-domain": DOMAIN,
        "x-shopify-webhook-id": webhookId,
        "x-shopify-hmac-sha256": webhookHmac(body, SECRET),
      },
      payload: body,
    });
  };

  it("stores every delivery of a storm exactly once and answers each only after its row is committed", async () => {
    const N = 800;
    const ids = Array.from({ length: N }, (_, i) => `storm-${dialect}-${i}`);
    // Every 10th delivery is sent twice at once (Shopify's duplicates), a few again afterwards.
    const sends = [
      ...ids.map((id, i) => ({ id, i })),
      ...ids.filter((_, i) => i % 10 === 0).map((id, i) => ({ id, i })),
    ];
    const seenCommitted: boolean[] = [];
    await Promise.all(
      sends.map(async ({ id, i }) => {
        const res = await deliver(id, i);
        expect(res.statusCode, res.body).toBe(200);
        // The answer came: the row must already be visible to another connection.
        seenCommitted.push(await committed(id));
      }),
    );
    expect(seenCommitted).toHaveLength(sends.length);
    expect(seenCommitted.every(Boolean)).toBe(true);
    for (const id of ids.slice(0, 5)) expect((await deliver(id, 0)).statusCode).toBe(200);
    const rows = await hub.ctx.database.db
      .selectFrom("webhook_inbox")
      .select(["webhook_id", "status", "topic", "shop"])
      .where("webhook_id", "like", `storm-${dialect}-%`)
      .execute();
    expect(rows).toHaveLength(N);
    expect(new Set(rows.map((r) => r.webhook_id)).size).toBe(N);
    expect(rows.every((r) => r.status === "pending" && r.shop === DOMAIN)).toBe(true);
  }, 120_000);

  it("tells each caller whether its delivery was new, duplicates in one group included", async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        handleWebhook(hub.ctx, {
          shop: DOMAIN,
          topic: "inventory_levels/update",
          webhookId: `group-${dialect}-${i % 10}`,
          rawBody: JSON.stringify({ inventory_item_id: i, location_id: 7, available: 1 }),
        }),
      ),
    );
    // 10 distinct ids, each sent 3 times: 10 stored, 20 duplicates.
    expect(results.filter((r) => r.stored)).toHaveLength(10);
    for (let k = 0; k < 10; k++) expect(results.filter((r, i) => r.stored && i % 10 === k)).toHaveLength(1);
    const again = await handleWebhook(hub.ctx, {
      shop: DOMAIN,
      topic: "inventory_levels/update",
      webhookId: `group-${dialect}-3`,
      rawBody: "{}",
    });
    expect(again.stored).toBe(false);
  });

  it.runIf(dialect === "postgres")(
    "a delivery the database refuses fails alone; the others of its group are stored",
    async () => {
      // PostgreSQL text cannot hold NUL: that row fails, the 20 sent with it must not.
      const good = Array.from({ length: 20 }, (_, i) =>
        handleWebhook(hub.ctx, {
          shop: DOMAIN,
          topic: "inventory_levels/update",
          webhookId: `mixed-${i}`,
          rawBody: JSON.stringify({ inventory_item_id: i, location_id: 7, available: 1 }),
        }),
      );
      const bad = handleWebhook(hub.ctx, {
        shop: DOMAIN,
        topic: "inventory_levels/update",
        webhookId: "mixed-bad",
        rawBody: '{"a":"\u0000"}',
      });
      await expect(bad).rejects.toThrow();
      expect((await Promise.all(good)).every((r) => r.stored)).toBe(true);
      for (let i = 0; i < 20; i++) expect(await committed(`mixed-${i}`)).toBe(true);
      expect(await committed("mixed-bad")).toBe(false);
    },
  );
});
