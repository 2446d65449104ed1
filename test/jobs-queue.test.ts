/**
 * The durable-work core (src/jobs/): the one backoff rule, claims that never hand one item to two
 * workers, settles only under their claim, dead letters and replay — on SQLite and PostgreSQL.
 * And the outbound notifications on it: several workers on one PostgreSQL database, each with
 * its own connection pool as separate processes have, deliver every notification exactly once
 * and an order's notifications in the order they were written.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppContext } from "../src/core/context.ts";
import { openDatabase } from "../src/db/database.ts";
import { afterFailure, backoffMs, RETRY } from "../src/jobs/backoff.ts";
import {
  ClaimLostError,
  claimDue,
  type QueueSpec,
  releaseClaim,
  replay,
  settleDone,
  settleFailed,
} from "../src/jobs/queue.ts";
import { drainInbox, INBOX_QUEUE, markInboxDone } from "../src/orders/inbox.ts";
import { deliverOutbound } from "../src/orders/outbound.ts";
import { DEFAULT_SETTINGS, saveSettings } from "../src/orders/settings.ts";
import { processTagJobs } from "../src/orders/tagging.ts";
import { HUB_JOBS_LEASE, takeLease } from "../src/runtime/leases.ts";
import { Worker } from "../src/runtime/worker.ts";
import type { AdminTransport } from "../src/shopify/transport.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";

describe("backoff", () => {
  it("waits between half its ceiling and its ceiling, never beyond the cap, and dead-letters at the last attempt", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 1, max: 10 * 3600_000 }),
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempts, baseMs, capMs, maxAttempts, r) => {
          const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(52, attempts - 1));
          const wait = backoffMs(attempts, { baseMs, capMs }, () => r);
          expect(wait).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
          expect(wait).toBeLessThanOrEqual(Math.min(capMs, Math.ceil(ceiling)));
          const after = afterFailure(attempts - 1, { baseMs, capMs, maxAttempts }, 1000, { random: () => r });
          expect(after.attempts).toBe(attempts);
          expect(after.dead).toBe(attempts >= maxAttempts);
          expect(after.nextAttemptAt).toBe(1000 + wait);
          expect(afterFailure(0, { baseMs, capMs, maxAttempts }, 0, { permanent: true }).dead).toBe(true);
        },
      ),
    );
  });

  it("grows until the cap", () => {
    const top = (n: number) => backoffMs(n, RETRY.outbound, () => 1);
    expect([1, 2, 3].map(top)).toEqual([10_000, 20_000, 40_000]);
    expect(top(40)).toBe(RETRY.outbound.capMs);
  });
});

const TAGS: QueueSpec<"order_tag_jobs"> = {
  table: "order_tag_jobs",
  policy: { baseMs: 1000, capMs: 8000, maxAttempts: 3 },
  waiting: ["pending"],
  retry: "pending",
  done: "done",
  dead: "dead",
  replayable: ["dead"],
  claims: true,
  visibilityMs: 60_000,
};

describe.each(DIALECTS)("the queue core on %s", (dialect) => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub(dialect);
  }, 60_000);
  afterAll(async () => hub?.close());

  const addTags = async (storeId: number, n: number, now: number) =>
    hub.ctx.database.db
      .insertInto("order_tag_jobs")
      .values(
        Array.from({ length: n }, (_, i) => ({
          store_id: storeId,
          shopify_order_gid: `gid://shopify/Order/${storeId}-${i}`,
          tag: "t",
          status: "pending" as const,
          attempts: 0,
          next_attempt_at: now,
          last_error: null,
          created_at: now,
        })),
      )
      .execute();

  it("claims due items once, in order, and narrows by the caller's condition", async () => {
    const now = 1_000_000;
    await addTags(1, 5, now);
    await addTags(2, 3, now);
    const a = await claimDue(hub.ctx.database, TAGS, {
      owner: "a",
      now,
      limit: 3,
      where: (eb) => eb("q.store_id", "=", 1),
    });
    const b = await claimDue(hub.ctx.database, TAGS, {
      owner: "b",
      now,
      limit: 10,
      where: (eb) => eb("q.store_id", "=", 1),
    });
    expect(a.items.map((i) => i.shopify_order_gid)).toEqual(
      [0, 1, 2].map((i) => `gid://shopify/Order/1-${i}`),
    );
    expect(b.items.map((i) => i.shopify_order_gid)).toEqual([3, 4].map((i) => `gid://shopify/Order/1-${i}`));
    // Claimed items are not due again before their claim lapses; then they are.
    expect(
      (
        await claimDue(hub.ctx.database, TAGS, {
          owner: "c",
          now: now + 59_000,
          limit: 10,
          where: (eb) => eb("q.store_id", "=", 1),
        })
      ).items,
    ).toHaveLength(0);
    const again = await claimDue(hub.ctx.database, TAGS, {
      owner: "c",
      now: now + 60_000,
      limit: 10,
      where: (eb) => eb("q.store_id", "=", 1),
    });
    expect(again.items).toHaveLength(5);
    // The first claims are gone: their settles are not recorded.
    expect(await settleDone(hub.ctx.database.db, TAGS, a.items[0]!, a.token)).toBe(false);
    expect((await settleFailed(hub.ctx.database.db, TAGS, b.items[0]!, b.token, "x", now)).recorded).toBe(
      false,
    );
    expect(await settleDone(hub.ctx.database.db, TAGS, again.items[0]!, again.token)).toBe(true);
    // Released items are due at once, untouched.
    await releaseClaim(
      hub.ctx.database.db,
      TAGS,
      again.items.slice(1).map((i) => i.id),
      again.token,
      now + 60_000,
    );
    const rows = await hub.ctx.database.db
      .selectFrom("order_tag_jobs")
      .select(["status", "attempts", "claimed_by"])
      .where("store_id", "=", 1)
      .orderBy("id")
      .execute();
    expect(rows).toEqual([
      { status: "done", attempts: 1, claimed_by: null },
      ...Array.from({ length: 4 }, () => ({ status: "pending", attempts: 0, claimed_by: null })),
    ]);
  });

  it("backs a failed item off, dead-letters it after the last attempt, and replays it", async () => {
    let now = 2_000_000;
    await addTags(3, 1, now);
    const claimOne = async () =>
      await claimDue(hub.ctx.database, TAGS, {
        owner: "w",
        now,
        limit: 1,
        where: (eb) => eb("q.store_id", "=", 3),
      });
    for (let attempt = 1; attempt <= 3; attempt++) {
      const c = await claimOne();
      expect(c.items).toHaveLength(1);
      const r = await settleFailed(hub.ctx.database.db, TAGS, c.items[0]!, c.token, `boom ${attempt}`, now, {
        random: () => 0.5,
      });
      expect(r).toMatchObject({ recorded: true, attempts: attempt, dead: attempt === 3 });
      // Not due before its backoff ends.
      expect((await claimOne()).items).toHaveLength(0);
      now = r.nextAttemptAt;
    }
    now += 10 * 3600_000;
    expect((await claimOne()).items).toHaveLength(0); // dead: never claimed again
    const dead = await hub.ctx.database.db
      .selectFrom("order_tag_jobs")
      .select(["id", "status", "attempts", "last_error"])
      .where("store_id", "=", 3)
      .executeTakeFirstOrThrow();
    expect(dead).toMatchObject({ status: "dead", attempts: 3, last_error: "boom 3" });
    expect(await replay(hub.ctx.database.db, TAGS, dead.id, now)).toBe(true);
    expect(await replay(hub.ctx.database.db, TAGS, dead.id, now)).toBe(false); // not dead any more
    const c = await claimOne();
    expect(c.items.map((i) => i.attempts)).toEqual([0]);
  });

  it("a permanent failure is dead at its first attempt", async () => {
    const now = 3_000_000;
    await addTags(4, 1, now);
    const c = await claimDue(hub.ctx.database, TAGS, {
      owner: "w",
      now,
      limit: 1,
      where: (eb) => eb("q.store_id", "=", 4),
    });
    const r = await settleFailed(hub.ctx.database.db, TAGS, c.items[0]!, c.token, "unknown store", now, {
      permanent: true,
    });
    expect(r).toMatchObject({ dead: true, attempts: 1 });
  });

  const addDeliveries = async (topic: string, n: number, now: number) =>
    hub.ctx.database.db
      .insertInto("webhook_inbox")
      .values(
        Array.from({ length: n }, (_, i) => ({
          webhook_id: `${topic}-${i}`,
          shop: "claims.myshopify.com",
          topic,
          body: "{}",
          received_at: now,
          status: "pending" as const,
          attempts: 0,
          next_attempt_at: now,
          last_error: null,
          processed_at: null,
        })),
      )
      .execute();
  const inboxRows = (topic: string) =>
    hub.ctx.database.db
      .selectFrom("webhook_inbox")
      .select(["webhook_id", "status", "claimed_by", "attempts"])
      .where("topic", "=", topic)
      .orderBy("id")
      .execute();

  it("webhook inbox: drains running at once (own connections on PostgreSQL) apply each delivery once", async () => {
    const topic = `test/claims-${dialect}`;
    await addDeliveries(topic, 35, Date.now());
    const others = dialect === "postgres" ? [0, 1].map(() => openDatabase(hub.ctx.config.database)) : [];
    const contexts: AppContext[] =
      dialect === "postgres"
        ? [hub.ctx, ...others.map((database) => ({ ...hub.ctx, database }))]
        : [hub.ctx, hub.ctx, hub.ctx];
    const applied = new Map<number, number>();
    try {
      const results = await Promise.all(
        contexts.map((ctx) =>
          drainInbox(ctx, {
            topics: [topic],
            limit: 100,
            apply: async (row) => {
              applied.set(row.id, (applied.get(row.id) ?? 0) + 1);
              await new Promise((r) => setTimeout(r, 2));
              await ctx.database.db
                .transaction()
                .execute((trx) => markInboxDone(trx, row.id, ctx.clock.now()));
            },
          }),
        ),
      );
      expect(results.reduce((n, r) => n + r.processed, 0)).toBe(35);
    } finally {
      for (const d of others) await d.close();
    }
    expect(applied.size).toBe(35);
    expect([...applied.values()].filter((n) => n !== 1)).toEqual([]);
    expect((await inboxRows(topic)).every((r) => r.status === "done" && r.claimed_by === null)).toBe(true);
  });

  it("webhook inbox: a delivery its handler leaves waiting is applied once a run and due again after it", async () => {
    const topic = `test/waiting-${dialect}`;
    await addDeliveries(topic, 2, Date.now());
    let calls = 0;
    const r = await drainInbox(hub.ctx, {
      topics: [topic],
      limit: 50,
      apply: async () => {
        calls++;
      },
    });
    expect({ calls, processed: r.processed }).toEqual({ calls: 2, processed: 2 });
    const rows = await hub.ctx.database.db
      .selectFrom("webhook_inbox")
      .select(["status", "claimed_by", "next_attempt_at"])
      .where("topic", "=", topic)
      .execute();
    expect(
      rows.every((x) => x.status === "pending" && x.claimed_by === null && x.next_attempt_at <= Date.now()),
    ).toBe(true);
  });

  it("webhook inbox: a drain whose claim lapsed cannot mark the delivery done; its effects roll back", async () => {
    const topic = `test/lapsed-${dialect}`;
    const now = Date.now();
    await addDeliveries(topic, 1, now);
    const db = hub.ctx.database.db;
    // The delivery's effect: a row written in the transaction that marks it done.
    const effect = (trx: typeof db, who: string) =>
      trx
        .insertInto("webhook_inbox")
        .values({
          webhook_id: `${topic}-effect-${who}`,
          shop: "claims.myshopify.com",
          topic: `${topic}-effects`,
          body: "{}",
          received_at: now,
          status: "done",
          attempts: 0,
          next_attempt_at: now,
          last_error: null,
          processed_at: now,
        })
        .execute();
    // Worker B comes after A's claim lapsed (its clock is past the claim's lifetime).
    const later: AppContext = {
      ...hub.ctx,
      clock: { now: () => Date.now() + INBOX_QUEUE.visibilityMs + 1000 },
    };
    let lost: unknown;
    const a = await drainInbox(hub.ctx, {
      topics: [topic],
      limit: 10,
      apply: async (row) => {
        // A pauses here; B takes the delivery over and applies it.
        const b = await drainInbox(later, {
          topics: [topic],
          limit: 10,
          apply: (r) =>
            db.transaction().execute(async (trx) => {
              await effect(trx, "B");
              await markInboxDone(trx, r.id, later.clock.now());
            }),
        });
        expect(b.processed).toBe(1);
        try {
          await db.transaction().execute(async (trx) => {
            await effect(trx, "A");
            await markInboxDone(trx, row.id, hub.ctx.clock.now());
          });
        } catch (err) {
          lost = err;
          throw err;
        }
      },
    });
    expect(lost).toBeInstanceOf(ClaimLostError);
    // Neither counted as applied nor as failed by A: the delivery is B's.
    expect(a).toEqual({ processed: 0, failed: 0, dead: 0 });
    expect(await inboxRows(topic)).toEqual([
      { webhook_id: `${topic}-0`, status: "done", claimed_by: null, attempts: 0 },
    ]);
    expect((await inboxRows(`${topic}-effects`)).map((r) => r.webhook_id)).toEqual([`${topic}-effect-B`]);
  });
});

describe("outbound notifications and tags with several workers on one PostgreSQL database", () => {
  let hub: TestHub;
  const workers: AppContext[] = [];
  const EVENTS_PER_ORDER = 3;
  const ORDERS = 40;

  beforeAll(async () => {
    hub = await startTestHub("postgres");
    const target = hub.ctx.config.database;
    // Each worker has its own pool of connections, as a separate process would.
    for (let i = 0; i < 4; i++) workers.push({ ...hub.ctx, database: openDatabase(target) });
    // The store's back office (the fetch is replaced in each test).
    await saveSettings(
      hub.ctx.database.db,
      77,
      {
        ...DEFAULT_SETTINGS,
        outboundUrl: "http://127.0.0.1:9/hook",
        outboundSecret: "a-secret-a-secret",
      },
      Date.now(),
      hub.ctx.secretKey,
    );
  }, 60_000);
  afterAll(async () => {
    for (const w of workers) await w.database.close();
    await hub?.close();
  });

  it("sends each notification once, an order's in the order they were written", async () => {
    const db = hub.ctx.database.db;
    const now = Date.now();
    const storeId = 77;
    const rows = [];
    for (let k = 0; k < EVENTS_PER_ORDER; k++)
      for (let o = 1; o <= ORDERS; o++)
        rows.push({
          event_id: `ev-${o}-${k}`,
          store_id: storeId,
          order_id: o,
          type: "order.updated" as const,
          payload: JSON.stringify({ order: o, k }),
          status: "pending" as const,
          attempts: 0,
          next_attempt_at: now,
          last_error: null,
          created_at: now,
          delivered_at: null,
        });
    await db.insertInto("outbound_events").values(rows).execute();

    const sent: string[] = [];
    let inFlightPerOrder = new Map<number, number>();
    let overlapping = 0;
    // The back office: slow enough that the workers' runs overlap; fails now and then.
    const backOffice = (async (_url: string, init: RequestInit) => {
      const id = (init.headers as Record<string, string>)["x-tillbridge-event-id"]!;
      const order = Number(id.split("-")[1]);
      const n = (inFlightPerOrder.get(order) ?? 0) + 1;
      inFlightPerOrder.set(order, n);
      if (n > 1) overlapping++;
      await new Promise((r) => setTimeout(r, 2 + Math.random() * 8));
      inFlightPerOrder.set(order, (inFlightPerOrder.get(order) ?? 1) - 1);
      if (Math.random() < 0.1) return new Response("busy", { status: 503 });
      sent.push(id);
      return new Response("ok", { status: 200 });
    }) as unknown as typeof fetch;

    const total = EVENTS_PER_ORDER * ORDERS;
    await Promise.all(
      workers.map(async (ctx) => {
        for (let round = 0; round < 400 && sent.length < total; round++) {
          await deliverOutbound(ctx, { fetch: backOffice, baseDelayMs: 1, maxAttempts: 50 }, 10);
          await new Promise((r) => setTimeout(r, 1));
        }
      }),
    );
    inFlightPerOrder = new Map();
    expect(sent).toHaveLength(total);
    expect(new Set(sent).size).toBe(total);
    expect(overlapping).toBe(0);
    for (let o = 1; o <= ORDERS; o++)
      expect(sent.filter((id) => id.startsWith(`ev-${o}-`))).toEqual(
        Array.from({ length: EVENTS_PER_ORDER }, (_, k) => `ev-${o}-${k}`),
      );
    const left = await db
      .selectFrom("outbound_events")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("status", "!=", "delivered")
      .executeTakeFirstOrThrow();
    expect(Number(left.n)).toBe(0);
  }, 60_000);

  it("a slow batch gives back the events its claim no longer covers instead of sending them late", async () => {
    const db = hub.ctx.database.db;
    const t0 = Date.now();
    let offset = 0;
    const ctx: AppContext = { ...hub.ctx, clock: { now: () => t0 + offset } as AppContext["clock"] };
    await db
      .insertInto("outbound_events")
      .values(
        [1, 2, 3].map((k) => ({
          event_id: `slow-${k}`,
          store_id: 77,
          order_id: 1000 + k,
          type: "order.created" as const,
          payload: "{}",
          status: "pending" as const,
          attempts: 0,
          next_attempt_at: t0,
          last_error: null,
          created_at: t0,
          delivered_at: null,
        })),
      )
      .execute();
    const sent: string[] = [];
    // Each answer takes 50 s of the claim's 60 s.
    const slow = (async (_url: string, init: RequestInit) => {
      sent.push((init.headers as Record<string, string>)["x-tillbridge-event-id"]!);
      offset += 50_000;
      return new Response("ok", { status: 200 });
    }) as unknown as typeof fetch;
    const r = await deliverOutbound(ctx, { fetch: slow });
    expect(r.delivered).toBe(1);
    expect(sent).toEqual(["slow-1"]);
    const rest = await db
      .selectFrom("outbound_events")
      .select(["event_id", "status", "claimed_by", "next_attempt_at"])
      .where("event_id", "in", ["slow-2", "slow-3"])
      .orderBy("id")
      .execute();
    expect(rest.map((e) => [e.event_id, e.status, e.claimed_by])).toEqual([
      ["slow-2", "pending", null],
      ["slow-3", "pending", null],
    ]);
    for (const e of rest) expect(Number(e.next_attempt_at)).toBeLessThanOrEqual(t0 + offset);
  });

  it("jobs on claimed queues run in every process; the other hub-wide jobs only under the hub-wide lease", async () => {
    const db = hub.ctx.database.db;
    // Another process holds the hub-wide lease.
    expect(await takeLease(db, HUB_JOBS_LEASE, "other-process", Date.now(), 60_000)).toBeDefined();
    const ran: string[] = [];
    const worker = new Worker(workers[0]!, () => {
      throw new Error("no store here");
    });
    worker.addJob({
      name: "claimed",
      everyMs: 0,
      everyProcess: true,
      run: async () => void ran.push("claimed"),
    });
    worker.addJob({ name: "single", everyMs: 0, run: async () => void ran.push("single") });
    await worker.tick();
    expect(ran).toEqual(["claimed"]);
    await db
      .updateTable("store_leases")
      .set({ expires_at: 0 })
      .where("store_id", "=", HUB_JOBS_LEASE)
      .execute();
    await worker.tick();
    expect(ran.sort()).toEqual(["claimed", "claimed", "single"]);
    await worker.stop();
  });

  it("Shopify tags claimed by several workers at once are each sent once", async () => {
    const db = hub.ctx.database.db;
    const now = Date.now();
    const storeId = 78;
    await db
      .insertInto("order_tag_jobs")
      .values(
        Array.from({ length: 60 }, (_, i) => ({
          store_id: storeId,
          shopify_order_gid: `gid://shopify/Order/${i}`,
          tag: "tillbridge",
          status: "pending" as const,
          attempts: 0,
          next_attempt_at: now,
          last_error: null,
          created_at: now,
        })),
      )
      .execute();
    const sent: string[] = [];
    const shopify: AdminTransport = {
      store: "tags.myshopify.com",
      async graphql<T>(_doc: string, variables?: Record<string, unknown>) {
        await new Promise((r) => setTimeout(r, 1 + Math.random() * 5));
        sent.push(String(variables?.id));
        return { data: { tagsAdd: { node: { id: variables?.id }, userErrors: [] } } as T, cost: undefined };
      },
    };
    await Promise.all(
      workers.map(async (ctx) => {
        for (let round = 0; round < 50 && sent.length < 60; round++)
          await processTagJobs(ctx, shopify, storeId, 5);
      }),
    );
    expect(sent).toHaveLength(60);
    expect(new Set(sent).size).toBe(60);
  }, 60_000);
});
