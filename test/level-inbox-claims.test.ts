/**
 * `inventory_levels/update` deliveries are a claimed queue (issue 13): every process drains
 * them, each delivery is applied by one drain only, a delivery another worker has claimed is
 * left alone until its claim lapses, and an unreadable one is dead-lettered with its reason.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixedClock } from "../src/core/clock.ts";
import type { AppContext } from "../src/core/context.ts";
import { createLogger } from "../src/core/logger.ts";
import type { Database } from "../src/db/database.ts";
import { processLevelInbox } from "../src/inventory/push/shopify-level-events.ts";
import { claimDue } from "../src/jobs/queue.ts";
import { INBOX_QUEUE } from "../src/orders/inbox.ts";
import { DIALECTS, openTestDatabase } from "./support/databases.ts";

const SHOP = "levels.myshopify.com";

describe.each(DIALECTS)("the level-event inbox on %s", (dialect) => {
  let database: Database & { drop(): Promise<void> };
  const clock = fixedClock(1_800_000_000_000);
  let ctx: AppContext;
  let seq = 0;

  const deliver = async (n: number, body?: string) => {
    const rows = Array.from({ length: n }, () => ({
      webhook_id: `w-${++seq}`,
      shop: SHOP,
      topic: "inventory_levels/update",
      body: body ?? JSON.stringify({ inventory_item_id: seq, location_id: 1, available: 3 }),
      received_at: clock.now(),
      status: "pending" as const,
      attempts: 0,
      next_attempt_at: clock.now(),
      last_error: null,
      processed_at: null,
    }));
    await database.db.insertInto("webhook_inbox").values(rows).execute();
  };
  const statuses = async () =>
    (
      await database.db
        .selectFrom("webhook_inbox")
        .select(["status", (eb) => eb.fn.countAll<number>().as("n")])
        .groupBy("status")
        .execute()
    ).reduce<Record<string, number>>((o, r) => Object.assign(o, { [r.status]: Number(r.n) }), {});

  beforeAll(async () => {
    database = await openTestDatabase(dialect);
    ctx = { database, clock, logger: createLogger("silent") } as unknown as AppContext;
    await database.db
      .insertInto("stores")
      .values({
        domain: SHOP,
        name: "Levels",
        auth_kind: "custom_app",
        access_token_enc: null,
        access_token_expires_at: null,
        refresh_token_enc: null,
        refresh_token_expires_at: null,
        scopes: "",
        status: "active",
        status_reason: null,
        inventory_mode: "absolute",
        connected_at: 1,
        disconnected_at: null,
        updated_at: 1,
      })
      .execute();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("two drains at once apply each delivery once; another worker's claim is left until it lapses", async () => {
    await deliver(40);
    // Another process claimed 10 of them and is still applying them.
    const other = await claimDue(database, INBOX_QUEUE, {
      owner: "other-process",
      now: clock.now(),
      limit: 10,
    });
    expect(other.items).toHaveLength(10);
    const [a, b] = await Promise.all([processLevelInbox(ctx, 25), processLevelInbox(ctx, 25)]);
    expect(a.processed + b.processed).toBe(30);
    expect(await statuses()).toEqual({ done: 30, pending: 10 });
    // The other process died: its claim lapses and the deliveries are applied here.
    clock.advance(INBOX_QUEUE.visibilityMs + 1);
    expect((await processLevelInbox(ctx)).processed).toBe(10);
    expect(await statuses()).toEqual({ done: 40 });
  });

  it("dead-letters a delivery that is not a level payload, with the reason", async () => {
    await deliver(1, JSON.stringify({ nothing: true }));
    const r = await processLevelInbox(ctx);
    expect(r.dead).toBe(1);
    const row = await database.db
      .selectFrom("webhook_inbox")
      .select(["status", "last_error", "claimed_by"])
      .where("webhook_id", "=", `w-${seq}`)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: "dead", claimed_by: null });
    expect(row.last_error).toContain("not an inventory level payload");
  });
});
