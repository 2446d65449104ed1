/**
 * Outbound webhooks to the back office (`order.created`, `order.updated`, `order.cancelled`).
 * Events are written with the order change (intake.ts) and delivered here: signed with
 * HMAC-SHA256 over `${timestamp}.${body}` (header `X-Tillbridge-Signature: t=…,v1=…`), on the
 * hub's durable-work core: claimed by one worker of one process, retried with its one backoff,
 * moved to the dead letters after the last attempt, replayable.
 * Events of one order leave in the order they were written: a later one waits for an earlier one.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { AppContext } from "../core/context.ts";
import { coerceError } from "../core/errors.ts";
import type { OutboundEventType } from "../db/tables.ts";
import type { Trx } from "../inventory/ledger-store.ts";
import { RETRY } from "../jobs/backoff.ts";
import { claimDue, type QueueSpec, releaseClaim, replay, settleDone, settleFailed } from "../jobs/queue.ts";
import { ORDER_DOCUMENT_VERSION } from "./feed-money.ts";
import { orderView } from "./feed-view.ts";
import { loadSettings, type OrderSettings, outboundSecretOf } from "./settings.ts";

export interface OutboundOptions {
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

export const OUTBOUND_MAX_ATTEMPTS = RETRY.outbound.maxAttempts;

export function signOutbound(body: string, secret: string, timestampSeconds: number): string {
  const v1 = createHmac("sha256", secret).update(`${timestampSeconds}.${body}`).digest("hex");
  return `t=${timestampSeconds},v1=${v1}`;
}

/** For back-office implementers (and tests): checks a signature and its age. */
export function verifyOutbound(
  body: string,
  header: string | undefined,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? "");
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signOutbound(body, secret, t).split("v1=")[1]!, "hex");
  return timingSafeEqual(expected, Buffer.from(m[2]!, "hex"));
}

export interface OutboundRules {
  /** null: any host. */
  readonly allowedHosts: readonly string[] | null;
  readonly plainHttpLoopbackForTests: boolean;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Why the hub refuses to post customers' orders to this address, or null. Customer data leaves
 * only over https (plain http only to loopback under the named test setting), only to allowed
 * hosts when a list is configured.
 */
export function outboundUrlProblem(url: string, rules: OutboundRules): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "the outbound address is not a valid URL";
  }
  const host = parsed.hostname.toLowerCase();
  const plainHttpOk = parsed.protocol === "http:" && rules.plainHttpLoopbackForTests && LOOPBACK.has(host);
  if (parsed.protocol !== "https:" && !plainHttpOk)
    return "the outbound address must be https:// (it carries customers' names, emails and addresses)";
  if (parsed.username || parsed.password)
    return "the outbound address must not carry a user name or password";
  if (
    rules.allowedHosts !== null &&
    !plainHttpOk &&
    !rules.allowedHosts.some((h) => (h.startsWith("*.") ? host.endsWith(h.slice(1)) : host === h))
  )
    return `the host ${host} is not in OUTBOUND_ALLOWED_HOSTS (${rules.allowedHosts.join(", ")})`;
  return null;
}

/** The outbound queue on the hub's durable-work core (src/jobs/queue.ts). */
export const OUTBOUND_QUEUE: QueueSpec<"outbound_events"> = {
  table: "outbound_events",
  policy: RETRY.outbound,
  waiting: ["pending"],
  retry: "pending",
  done: "delivered",
  dead: "dead",
  replayable: ["dead"],
  claims: true,
  // One attempt takes at most the request's timeout; a worker that died mid-send leaves its
  // claims to be taken again after this.
  visibilityMs: 60_000,
};

/**
 * Delivers due events (all stores). Call it from the worker every few seconds; any number of
 * processes may call it at once: each event is claimed by one of them (SKIP LOCKED on
 * PostgreSQL). An event is due only when no earlier event of its order is still pending (sent,
 * being sent or waiting for a retry): an order's events leave in the order they were written.
 */
export async function deliverOutbound(
  ctx: AppContext,
  options: OutboundOptions = {},
  limit = 100,
): Promise<{ delivered: number; failed: number; dead: number }> {
  const db = ctx.database.db;
  const now = ctx.clock.now();
  const policy = {
    ...OUTBOUND_QUEUE.policy,
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.baseDelayMs !== undefined ? { baseMs: options.baseDelayMs } : {}),
  };
  const visibilityMs = Math.max(OUTBOUND_QUEUE.visibilityMs, (options.timeoutMs ?? 10_000) * 3);
  const doFetch = options.fetch ?? fetch;
  const claim = await claimDue(
    ctx.database,
    { ...OUTBOUND_QUEUE, visibilityMs },
    {
      owner: `outbound:${process.pid}`,
      now,
      limit,
      where: (eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom("outbound_events as earlier")
              .select("earlier.id")
              .whereRef("earlier.order_id", "=", "q.order_id")
              .whereRef("earlier.id", "<", "q.id")
              .where("earlier.status", "=", "pending"),
          ),
        ),
    },
  );
  // An event is sent only while its claim outlasts the request: the rest of a slow batch is
  // given back rather than sent after another worker may have claimed it.
  const timeoutMs = options.timeoutMs ?? 10_000;
  const sendBy = now + visibilityMs - timeoutMs - 5_000;
  const settingsByStore = new Map<number, OrderSettings>();
  let delivered = 0;
  let failed = 0;
  let dead = 0;
  for (const [i, e] of claim.items.entries()) {
    if (ctx.clock.now() > sendBy) {
      const rest = claim.items.slice(i).map((x) => x.id);
      await releaseClaim(db, OUTBOUND_QUEUE, rest, claim.token, ctx.clock.now());
      break;
    }
    let settings = settingsByStore.get(e.store_id);
    if (!settings) {
      settings = await loadSettings(db, e.store_id);
      settingsByStore.set(e.store_id, settings);
    }
    let error: string | null = null;
    const secret = outboundSecretOf(settings, ctx.secretKey, e.store_id);
    const refused = settings.outboundUrl
      ? outboundUrlProblem(settings.outboundUrl, ctx.config.outbound)
      : null;
    if (!settings.outboundUrl || !secret) {
      error = "no outbound URL or secret in the store's order settings";
    } else if (refused) {
      // An address saved before the rules tightened is not used.
      error = `not sent: ${refused}`;
    } else {
      const ts = Math.floor(ctx.clock.now() / 1000);
      try {
        const res = await doFetch(settings.outboundUrl, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-tillbridge-event": e.type,
            "x-tillbridge-event-id": e.event_id,
            "x-tillbridge-signature": signOutbound(e.payload, secret, ts),
          },
          body: e.payload,
          // A redirect could lead the data anywhere: the configured address must answer itself.
          redirect: "manual",
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.status < 200 || res.status >= 300) error = `back office answered HTTP ${res.status}`;
      } catch (thrown) {
        error = `delivery failed: ${coerceError(thrown).message}`.slice(0, 500);
      }
    }
    if (error === null) {
      delivered++;
      await settleDone(db, OUTBOUND_QUEUE, e, claim.token, { delivered_at: ctx.clock.now() });
      continue;
    }
    // A dead letter no longer holds its order's later events (they are due at once).
    const r = await settleFailed(db, OUTBOUND_QUEUE, e, claim.token, error, ctx.clock.now(), { policy });
    if (r.dead) dead++;
    else failed++;
    ctx.logger.warn(
      {
        event: e.event_id,
        type: e.type,
        order: e.order_id,
        attempts: r.attempts,
        dead: r.dead,
        reason: error,
      },
      "outbound webhook not delivered",
    );
  }
  return { delivered, failed, dead };
}

export async function listDeadEvents(ctx: AppContext, limit = 100) {
  const rows = await ctx.database.db
    .selectFrom("outbound_events")
    .select(["id", "event_id", "store_id", "order_id", "type", "attempts", "last_error", "created_at"])
    .where("status", "=", "dead")
    .orderBy("id")
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    eventId: r.event_id,
    storeId: r.store_id,
    orderId: r.order_id,
    type: r.type,
    attempts: r.attempts,
    lastError: r.last_error,
    createdAt: r.created_at,
  }));
}

/** Puts a dead event back in the queue, with fresh attempts. */
export async function replayEvent(ctx: AppContext, id: number): Promise<boolean> {
  return replay(ctx.database.db, OUTBOUND_QUEUE, id, ctx.clock.now());
}

/**
 * Writes an outbound event in the caller's transaction, so the event exists exactly when the
 * change that causes it does. `extra` adds fields to the payload (e.g. the refund).
 */
export async function enqueueOutboundEvent(
  trx: Trx,
  event: { storeId: number; orderId: number; type: OutboundEventType; extra?: Record<string, unknown> },
  now: number,
): Promise<void> {
  const eventId = randomUUID();
  const payload = {
    id: eventId,
    type: event.type,
    createdAt: now,
    version: ORDER_DOCUMENT_VERSION,
    order: await orderView(trx, event.orderId),
    ...event.extra,
  };
  await trx
    .insertInto("outbound_events")
    .values({
      event_id: eventId,
      store_id: event.storeId,
      order_id: event.orderId,
      type: event.type,
      payload: JSON.stringify(payload),
      status: "pending",
      attempts: 0,
      next_attempt_at: now,
      last_error: null,
      created_at: now,
      delivered_at: null,
    })
    .execute();
}
