/**
 * The durable webhook inbox. `handleWebhook` only stores a verified delivery (deduplicated by
 * `X-Shopify-Webhook-Id` through a unique constraint, so even concurrent duplicates make one
 * row) and returns; `processInbox` applies stored deliveries afterwards, each in one
 * transaction with its effects, retried with the durable-work core's backoff and dead-lettered
 * with its error.
 * The inbox is generic: other capabilities store their topics here and process them with
 * their own handlers (`processInbox` only takes the topics this module handles).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { yieldToEventLoop } from "../core/clock.ts";
import type { AppContext } from "../core/context.ts";
import { coerceError } from "../core/errors.ts";
import { chunks } from "../db/batching.ts";
import type { Trx } from "../inventory/ledger-store.ts";
import { RETRY } from "../jobs/backoff.ts";
import {
  ClaimLostError,
  claimDue,
  type QueueSpec,
  releaseClaim,
  replay,
  settleFailed,
} from "../jobs/queue.ts";
import { importOrderTx, lockOrders } from "./intake.ts";
import { restTransaction, transactionFromRest } from "./money.ts";
import { orderGidOf } from "./order-gid.ts";
import { handleComplianceTx } from "./personal-data.ts";
import { fromWebhookPayload } from "./shopify-order.ts";
import { applyTransactions } from "./transactions.ts";

export const ORDER_TOPICS = ["orders/create", "orders/updated", "orders/paid", "orders/cancelled"] as const;
export const COMPLIANCE_TOPICS = ["customers/data_request", "customers/redact", "shop/redact"] as const;
/** A payment recorded on an order (checkout, late payment, capture, refund). */
export const TRANSACTION_TOPIC = "order_transactions/create";
/** Every topic `processInbox` handles (register these subscriptions when a store connects). */
export const HANDLED_TOPICS: readonly string[] = [...ORDER_TOPICS, TRANSACTION_TOPIC, ...COMPLIANCE_TOPICS];

/**
 * The inbox on the hub's durable-work core (src/jobs/): claimed (so two processes never apply
 * one delivery at once), one backoff, dead letters, replay. A claim covers a few deliveries
 * (`INBOX_CLAIM_SIZE`) for `visibilityMs`, far longer than applying them takes; the deliveries
 * of a process that died come back once it has passed.
 */
export const INBOX_QUEUE: QueueSpec<"webhook_inbox"> = {
  table: "webhook_inbox",
  policy: RETRY.inbox,
  waiting: ["pending", "failed"],
  retry: "failed",
  done: "done",
  dead: "dead",
  replayable: ["dead", "failed"],
  claims: true,
  visibilityMs: 15_000,
};
/** How many deliveries one claim takes (a drain claims again until its limit). */
export const INBOX_CLAIM_SIZE = 10;
export const INBOX_MAX_ATTEMPTS = INBOX_QUEUE.policy.maxAttempts;

export interface WebhookDelivery {
  /** `X-Shopify-Shop-Domain` */
  readonly shop: string;
  /** `X-Shopify-Topic`, e.g. `orders/create` */
  readonly topic: string;
  /** `X-Shopify-Webhook-Id` */
  readonly webhookId: string;
  /** The raw body, already HMAC-verified by the caller. */
  readonly rawBody: string | Buffer;
  readonly headers?: Record<string, string | string[] | undefined>;
}

/**
 * Stores a verified delivery; `stored: false` means it was a duplicate. Answer 200 either way.
 * Resolves only once the row is committed: deliveries arriving together are written in one
 * transaction (group commit, see `InboxWriter`), so a storm of them (a full push's echo is one
 * `inventory_levels/update` per level set) costs one commit per group, not one per delivery.
 */
export async function handleWebhook(ctx: AppContext, d: WebhookDelivery): Promise<{ stored: boolean }> {
  let writer = writers.get(ctx.database);
  if (!writer) {
    writer = new InboxWriter(ctx);
    writers.set(ctx.database, writer);
  }
  return { stored: await writer.add(d) };
}

/** One writer per open database (tests run several hubs in one process). */
const writers = new WeakMap<AppContext["database"], InboxWriter>();

/** How long a delivery waits for others to share its transaction, and how many share one at most. */
export const GROUP_COMMIT_WINDOW_MS = 2;
export const GROUP_COMMIT_MAX_ROWS = 200;

interface Waiting {
  readonly row: InboxInsert;
  resolve(stored: boolean): void;
  reject(err: unknown): void;
}

type InboxInsert = {
  webhook_id: string;
  shop: string;
  topic: string;
  body: string;
  received_at: number;
  /** The order the delivery concerns (an order's history finds it by this; see order-gid.ts). */
  order_gid: string | null;
};

/**
 * Group commit of inbox rows: deliveries are collected for `GROUP_COMMIT_WINDOW_MS` (or until
 * `GROUP_COMMIT_MAX_ROWS` wait) and inserted in one transaction; while one group is being
 * written the next one collects. Each caller learns whether its row was new only after the
 * commit, so no webhook is answered before its row is durable. A group that fails is written
 * row by row, so one bad delivery fails alone (answered 500: Shopify sends it again).
 */
export class InboxWriter {
  private queue: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly windowMs = GROUP_COMMIT_WINDOW_MS,
    private readonly maxRows = GROUP_COMMIT_MAX_ROWS,
  ) {}

  add(d: WebhookDelivery): Promise<boolean> {
    const body = typeof d.rawBody === "string" ? d.rawBody : d.rawBody.toString("utf8");
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({
        row: {
          webhook_id: d.webhookId,
          shop: d.shop.toLowerCase(),
          topic: d.topic,
          body,
          received_at: this.ctx.clock.now(),
          order_gid: orderGidOf(d.topic, body),
        },
        resolve,
        reject,
      });
      if (this.running) return; // the running loop takes it next
      if (this.queue.length >= this.maxRows) {
        clearTimeout(this.timer);
        this.timer = undefined;
        void this.run();
      } else if (!this.timer) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          void this.run();
        }, this.windowMs);
      }
    });
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) await this.write(this.queue.splice(0, this.maxRows));
    } finally {
      this.running = false;
    }
  }

  private async write(group: Waiting[]): Promise<void> {
    // The first of several deliveries with one webhook id in a group is the one stored.
    const first = new Map<string, Waiting>();
    for (const w of group) if (!first.has(w.row.webhook_id)) first.set(w.row.webhook_id, w);
    const rows = [...first.values()].map((w) => w.row);
    let inserted: Set<string>;
    try {
      inserted = await this.ctx.database.db.transaction().execute(async (trx) => {
        const out = new Set<string>();
        for (const part of chunks(rows, 100))
          for (const r of await insertRows(trx, part, this.ctx.clock.now())) out.add(r.webhook_id);
        return out;
      });
    } catch {
      // One row may be what failed: each is written alone, and only its own caller hears of it.
      for (const w of group) {
        if (first.get(w.row.webhook_id) !== w) continue;
        try {
          const r = await insertRows(this.ctx.database.db, [w.row], this.ctx.clock.now());
          w.resolve(r.length > 0);
        } catch (err) {
          w.reject(err);
        }
      }
      for (const w of group) if (first.get(w.row.webhook_id) !== w) w.resolve(false);
      return;
    }
    for (const w of group) w.resolve(first.get(w.row.webhook_id) === w && inserted.has(w.row.webhook_id));
  }
}

function insertRows(
  db: Trx | AppContext["database"]["db"],
  rows: readonly InboxInsert[],
  now: number,
): Promise<{ webhook_id: string }[]> {
  return db
    .insertInto("webhook_inbox")
    .values(
      rows.map((r) => ({
        ...r,
        status: "pending" as const,
        attempts: 0,
        next_attempt_at: now,
        last_error: null,
        processed_at: null,
      })),
    )
    .onConflict((oc) => oc.column("webhook_id").doNothing())
    .returning("webhook_id")
    .execute();
}

/** The same, under the name the brief's wiring uses for order topics. */
export const handleOrderWebhook = handleWebhook;

export interface InboxRunResult {
  readonly processed: number;
  readonly failed: number;
  readonly dead: number;
}

/** A delivery that can never be applied (unreadable, unknown store…): dead at once, no retries. */
export class InboxRejection extends Error {}

async function applyDelivery(
  ctx: AppContext,
  trx: Trx,
  row: { shop: string; topic: string; body: string },
): Promise<void> {
  const store = await trx
    .selectFrom("stores")
    .select(["id", "domain"])
    .where("domain", "=", row.shop)
    .executeTakeFirst();
  let body: unknown;
  try {
    body = JSON.parse(row.body);
  } catch {
    throw new InboxRejection("body is not JSON");
  }
  if ((COMPLIANCE_TOPICS as readonly string[]).includes(row.topic)) {
    await handleComplianceTx(trx, store, row.topic, body as object, ctx.clock.now());
    return;
  }
  if (!store) throw new InboxRejection(`store ${row.shop} is not connected to the hub`);
  if (row.topic === TRANSACTION_TOPIC) {
    const t = restTransaction.safeParse(body);
    if (!t.success || t.data.order_id === null || t.data.order_id === undefined)
      throw new InboxRejection("not a transaction payload (id, order_id and kind are required)");
    await applyTransactions(
      trx,
      store.id,
      `gid://shopify/Order/${t.data.order_id}`,
      [transactionFromRest(t.data)],
      ctx.clock.now(),
    );
    return;
  }
  const parsed = fromWebhookPayload(body);
  if (!parsed.ok) throw new InboxRejection(parsed.reason);
  await importOrderTx(ctx, trx, store.id, parsed.order);
}

export interface InboxRow {
  readonly id: number;
  readonly shop: string;
  readonly topic: string;
  readonly body: string;
  readonly attempts: number;
}

// biome-ignore lint/suspicious/noExplicitAny: the query builder of webhook_inbox, narrowed by the caller
type InboxQuery = any;

/**
 * The delivery being applied and its claim, for `markInboxDone`: the handlers of every
 * capability mark their row done (in the transaction of its effects) without knowing the claim,
 * and the mark is refused — rolling those effects back — when the claim is no longer this
 * worker's (it paused past the claim's lifetime and another worker took the delivery).
 */
const applying = new AsyncLocalStorage<{ readonly id: number; readonly token: string; done: boolean }>();
const drainOwner = `inbox:${process.pid}`;

/**
 * The one loop over due inbox rows, shared by every capability that stores topics here.
 * `apply` applies a row and marks it done (ideally in the transaction of its effects, see
 * `markInboxDone`); an `InboxRejection` is final, anything else is retried with backoff and
 * dead-lettered after the last attempt. Yields to the event loop between rows, so webhook
 * requests keep being answered while a backlog drains.
 */
export async function drainInbox(
  ctx: AppContext,
  options: {
    readonly topics: readonly string[];
    readonly limit: number;
    readonly narrow?: (query: InboxQuery) => InboxQuery;
    apply(row: InboxRow): Promise<void>;
  },
): Promise<InboxRunResult> {
  const db = ctx.database.db;
  let processed = 0;
  let failed = 0;
  let dead = 0;
  // Deliveries a handler left waiting go back at the end of the run (not at once, or this run
  // would claim them again).
  const waiting: { id: number; token: string }[] = [];
  // A delivery that failed in this run is not taken again by it, however short its backoff:
  // its next attempt is the next run's.
  const failedHere: number[] = [];
  for (let taken = 0; taken < options.limit; ) {
    const claim = await claimDue(ctx.database, INBOX_QUEUE, {
      owner: drainOwner,
      now: ctx.clock.now(),
      limit: Math.min(INBOX_CLAIM_SIZE, options.limit - taken),
      narrow: (query) => {
        let q = query.where("q.topic", "in", [...options.topics]);
        if (failedHere.length > 0) q = q.where("q.id", "not in", failedHere);
        return options.narrow ? options.narrow(q) : q;
      },
    });
    if (claim.items.length === 0) break;
    taken += claim.items.length;
    for (const row of claim.items) {
      await yieldToEventLoop();
      try {
        const state = { id: row.id, token: claim.token, done: false };
        await applying.run(state, () => options.apply(row));
        processed++;
        if (!state.done) waiting.push({ id: row.id, token: claim.token });
      } catch (thrown) {
        const err = coerceError(thrown);
        if (err instanceof ClaimLostError) {
          ctx.logger.warn(
            { inboxId: row.id, topic: row.topic },
            "webhook inbox: claim lapsed, left to its new worker",
          );
          continue;
        }
        failedHere.push(row.id);
        // The backoff counts from the failure, not from the run's start (a failure after a
        // transport's own retries would otherwise be due again at once).
        const r = await settleFailed(db, INBOX_QUEUE, row, claim.token, err.message, ctx.clock.now(), {
          permanent: err instanceof InboxRejection,
        });
        if (!r.recorded) continue;
        if (r.dead) dead++;
        else failed++;
        // Ids and the reason only: the body may hold personal data.
        ctx.logger.warn(
          {
            inboxId: row.id,
            shop: row.shop,
            topic: row.topic,
            attempts: r.attempts,
            dead: r.dead,
            reason: err.message.slice(0, 200),
          },
          "webhook inbox: delivery not applied",
        );
      }
    }
  }
  for (const w of waiting) await releaseClaim(db, INBOX_QUEUE, [w.id], w.token, ctx.clock.now());
  return { processed, failed, dead };
}

/**
 * Marks a delivery applied. Inside `drainInbox` the mark is fenced by the delivery's claim: when
 * the claim lapsed and another worker took the delivery, it throws `ClaimLostError`, so the
 * transaction of the delivery's effects rolls back.
 */
export async function markInboxDone(
  db: Trx | AppContext["database"]["db"],
  id: number,
  now: number,
): Promise<void> {
  const claim = applying.getStore();
  const fenced = claim !== undefined && claim.id === id;
  let q = db
    .updateTable("webhook_inbox")
    .set({ status: "done", processed_at: now, last_error: null, claimed_by: null })
    .where("id", "=", id);
  if (fenced) q = q.where("claimed_by", "=", claim.token);
  const r = await q.executeTakeFirst();
  if (fenced && Number(r.numUpdatedRows) === 0) throw new ClaimLostError("webhook_inbox", id);
  if (fenced) claim.done = true;
}

/** Applies up to `limit` due deliveries of the handled topics. Call it from the worker loop (every tick). */
export async function processInbox(ctx: AppContext, limit = 200): Promise<InboxRunResult> {
  return drainInbox(ctx, {
    topics: HANDLED_TOPICS,
    limit,
    // A store whose order intake is paused or disabled keeps its deliveries until it resumes;
    // compliance requests are handled whatever the flow state.
    narrow: (query) =>
      query.where((eb: InboxQuery) =>
        eb.or([
          eb("topic", "in", [...COMPLIANCE_TOPICS]),
          eb(
            "shop",
            "in",
            eb
              .selectFrom("stores")
              .innerJoin("flows", "flows.store_id", "stores.id")
              .select("stores.domain")
              .where("flows.flow", "=", "order_intake")
              .where("flows.state", "=", "enabled"),
          ),
        ]),
      ),
    apply: (row) =>
      ctx.database.db.transaction().execute(async (trx) => {
        await lockOrders(trx, ctx.database.dialect);
        // Another worker may have taken it meanwhile: only a row still due is applied.
        const still = await trx
          .selectFrom("webhook_inbox")
          .select("status")
          .where("id", "=", row.id)
          .executeTakeFirst();
        if (!still || (still.status !== "pending" && still.status !== "failed")) return;
        await applyDelivery(ctx, trx, row);
        await markInboxDone(trx, row.id, ctx.clock.now());
      }),
  });
}

/** Puts a dead or failed delivery back in the queue (operator's replay). */
export async function replayInbox(ctx: AppContext, id: number): Promise<boolean> {
  return replay(ctx.database.db, INBOX_QUEUE, id, ctx.clock.now());
}

/**
 * The common first half of applying a stored delivery: the connected store it is for and its
 * parsed body. Unreadable bodies and unknown stores are final (`InboxRejection`).
 */
export async function storeDelivery<T>(
  ctx: AppContext,
  row: InboxRow,
  parse: (body: unknown) => { ok: true; value: T } | { ok: false; reason: string },
): Promise<{ storeId: number; value: T }> {
  const store = await ctx.database.db
    .selectFrom("stores")
    .select("id")
    .where("domain", "=", row.shop)
    .executeTakeFirst();
  if (!store) throw new InboxRejection(`store ${row.shop} is not connected to the hub`);
  let body: unknown;
  try {
    body = JSON.parse(row.body);
  } catch {
    throw new InboxRejection("body is not JSON");
  }
  const parsed = parse(body);
  if (!parsed.ok) throw new InboxRejection(parsed.reason);
  return { storeId: store.id, value: parsed.value };
}
