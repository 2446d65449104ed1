/**
 * Outbound webhooks to the back office (`order.created`, `order.updated`, `order.cancelled`).
 * Events are written with the order change (intake.ts) and delivered here: signed with
 * HMAC-SHA256 over `${timestamp}.${body}` (header `X-Tillbridge-Signature: t=…,v1=…`), retried
 * with exponential backoff, moved to the dead letters after the last attempt, replayable.
 * Events of one order leave in the order they were written: a later one waits for an earlier one.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { AppContext } from "../core/context.ts";
import { coerceError } from "../core/errors.ts";
import type { OutboundEventType } from "../db/tables.ts";
import type { Trx } from "../inventory/ledger-store.ts";
import { ORDER_DOCUMENT_VERSION } from "./feed-money.ts";
import { orderView } from "./feed-view.ts";
import { loadSettings, type OrderSettings, outboundSecretOf } from "./settings.ts";

export interface OutboundOptions {
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

export const OUTBOUND_MAX_ATTEMPTS = 10;
const BASE_DELAY_MS = 10_000;
const MAX_DELAY_MS = 6 * 3600_000;

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

export function retryDelay(attempts: number, baseDelayMs = BASE_DELAY_MS): number {
  return Math.min(MAX_DELAY_MS, baseDelayMs * 2 ** (attempts - 1));
}

/** Delivers due events (all stores). Call it from the worker every few seconds. */
export async function deliverOutbound(
  ctx: AppContext,
  options: OutboundOptions = {},
  limit = 100,
): Promise<{ delivered: number; failed: number; dead: number }> {
  const db = ctx.database.db;
  const now = ctx.clock.now();
  const maxAttempts = options.maxAttempts ?? OUTBOUND_MAX_ATTEMPTS;
  const doFetch = options.fetch ?? fetch;
  const due = await db
    .selectFrom("outbound_events")
    .select(["id", "event_id", "store_id", "order_id", "type", "payload", "attempts", "next_attempt_at"])
    .where("status", "=", "pending")
    .orderBy("id")
    .limit(limit * 4)
    .execute();
  const settingsByStore = new Map<number, OrderSettings>();
  const blockedOrders = new Set<number>();
  let delivered = 0;
  let failed = 0;
  let dead = 0;
  let sent = 0;
  for (const e of due) {
    // Per order, in order: an earlier pending event holds the later ones back.
    if (blockedOrders.has(e.order_id)) continue;
    blockedOrders.add(e.order_id);
    if (e.next_attempt_at > now) continue;
    if (sent++ >= limit) break;
    let settings = settingsByStore.get(e.store_id);
    if (!settings) {
      settings = await loadSettings(db, e.store_id);
      settingsByStore.set(e.store_id, settings);
    }
    const attempts = e.attempts + 1;
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
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.status < 200 || res.status >= 300) error = `back office answered HTTP ${res.status}`;
      } catch (thrown) {
        error = `delivery failed: ${coerceError(thrown).message}`.slice(0, 500);
      }
    }
    if (error === null) {
      delivered++;
      blockedOrders.delete(e.order_id);
      await db
        .updateTable("outbound_events")
        .set({ status: "delivered", attempts, delivered_at: ctx.clock.now(), last_error: null })
        .where("id", "=", e.id)
        .execute();
      continue;
    }
    const isDead = attempts >= maxAttempts;
    if (isDead) {
      dead++;
      blockedOrders.delete(e.order_id); // a dead letter no longer holds the order's later events
    } else failed++;
    await db
      .updateTable("outbound_events")
      .set({
        status: isDead ? "dead" : "pending",
        attempts,
        next_attempt_at: now + retryDelay(attempts, options.baseDelayMs),
        last_error: error,
      })
      .where("id", "=", e.id)
      .execute();
    ctx.logger.warn(
      { event: e.event_id, type: e.type, order: e.order_id, attempts, dead: isDead, reason: error },
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
  const r = await ctx.database.db
    .updateTable("outbound_events")
    .set({ status: "pending", attempts: 0, next_attempt_at: ctx.clock.now(), last_error: null })
    .where("id", "=", id)
    .where("status", "=", "dead")
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
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
