/**
 * Webhook health per store (issue 18). Shopify accepts only `https://` webhook addresses and
 * removes a subscription whose deliveries keep failing; the hub used to register at connect only,
 * and a PUBLIC_URL that is not HTTPS registered nothing with only a log line to say so.
 *
 * - The address is `<public URL>/webhooks/shopify`, the public URL being the one an operator set
 *   in the console (hub_meta `public_url`, the fix that needs no restart) or else PUBLIC_URL.
 * - `checkWebhooks` lists a store's subscriptions, re-creates the missing ones and records the
 *   outcome in `webhook_health`: the console shows a store as degraded while subscriptions are
 *   missing or refused, or while its address cannot work; /metrics exports the same.
 * - When the public URL changed, the hub's own subscriptions at the old address (the same webhook
 *   path on another origin) are deleted once the new address holds their topic, and the move is
 *   logged; subscriptions at any other path are never touched (webhook-subscriptions.ts). Only
 *   a chosen address (console or PUBLIC_URL) does this; processes sharing a database must
 *   share it, as they share ENCRYPTION_KEY.
 * - Meanwhile the order backfill and the drift check (both polls, on their own schedule) cover
 *   what the missing webhooks did not bring.
 */
import type { AppContext } from "../core/context.ts";
import type { Db } from "../db/database.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { logActivity } from "./activity.ts";
import { registerWebhooks, type WebhookRegistration } from "./webhook-subscriptions.ts";

const PUBLIC_URL_META = "public_url";

export const webhookUri = (publicUrl: string) => `${publicUrl.replace(/\/$/, "")}/webhooks/shopify`;

/**
 * The public URL in force: the operator's override (console), else PUBLIC_URL, else this
 * process's own http://HOST:PORT. `chosen` is false only for the last: an address nobody chose,
 * which differs between processes sharing a database.
 */
export async function publicUrlInForce(
  ctx: Pick<AppContext, "config" | "database">,
): Promise<{ url: string; chosen: boolean }> {
  const row = await ctx.database.db
    .selectFrom("hub_meta")
    .select("value")
    .where("name", "=", PUBLIC_URL_META)
    .executeTakeFirst();
  if (row) return { url: row.value, chosen: true };
  return { url: ctx.config.publicUrl, chosen: ctx.config.publicUrlSet };
}

export async function effectivePublicUrl(ctx: Pick<AppContext, "config" | "database">): Promise<string> {
  return (await publicUrlInForce(ctx)).url;
}

export async function savePublicUrl(db: Db, url: string, now: number): Promise<void> {
  await db
    .insertInto("hub_meta")
    .values({ name: PUBLIC_URL_META, value: url, updated_at: now })
    .onConflict((oc) => oc.column("name").doUpdateSet({ value: url, updated_at: now }))
    .execute();
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/**
 * Why Shopify cannot deliver to this public URL, or null. A plain-http loopback address is the
 * local demo with the emulator (which a real store never reaches anyway), so it is not a problem.
 */
export function publicUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `the public URL ${JSON.stringify(url)} is not a URL; set PUBLIC_URL (or the public URL in the console) to the https:// address at which Shopify reaches the hub`;
  }
  if (u.protocol === "https:") return null;
  if (u.protocol === "http:" && LOOPBACK.has(u.hostname)) return null;
  return `the public URL ${u.origin} is not HTTPS: Shopify accepts only https:// webhook addresses, so this store's webhooks cannot be registered. Set PUBLIC_URL (or the public URL in the console) to the hub's https:// address and re-register; until then orders arrive only through the backfill`;
}

export type WebhookState = "healthy" | "degraded" | "unchecked";

export interface WebhookHealth {
  readonly state: WebhookState;
  readonly uri: string | null;
  readonly checkedAt: number | null;
  readonly expected: readonly string[];
  /** Missing at the last check (re-created unless listed in `failed`). */
  readonly missing: readonly string[];
  readonly recreated: readonly string[];
  readonly failed: readonly { topic: string; message: string }[];
  readonly problem: string | null;
  readonly degradedSince: number | null;
}

/** Degraded: the address cannot work, or a subscription is still missing (refused). */
export function healthProblem(uriProblem: string | null, r: WebhookRegistration): string | null {
  if (uriProblem) return uriProblem;
  if (r.failed.length > 0)
    return `${r.failed.length} of ${r.failed.length + r.created.length + r.existing.length} webhook subscriptions are missing and Shopify refused to create them (${r.failed.map((f) => `${f.topic}: ${f.message}`).join("; ")}); the backfill and drift check cover the gap`;
  return null;
}

export async function checkWebhooks(
  ctx: AppContext,
  store: { id: number; domain: string },
  transport: AdminTransport,
  topics: readonly string[],
  options: { uri?: string; reason?: "connect" | "check" } = {},
): Promise<{ registration: WebhookRegistration; health: WebhookHealth }> {
  const inForce = await publicUrlInForce(ctx);
  const uri = options.uri ?? webhookUri(inForce.url);
  const uriProblem = options.uri
    ? publicUrlProblem(new URL(options.uri).origin)
    : publicUrlProblem(inForce.url);
  // Old addresses are deleted only when someone chose the current one. Processes without
  // PUBLIC_URL each hold their own http://HOST:PORT, and deleting "old" addresses there removed
  // the other processes' live subscriptions back and forth (three processes: 25 creates, 15
  // deletes, and shipments' webhooks lost in between).
  const registration = await registerWebhooks(transport, topics, uri, {
    removeOldAddresses: options.uri !== undefined || inForce.chosen,
  });
  const now = ctx.clock.now();
  const problem = healthProblem(uriProblem, registration);
  const missing = [...registration.created, ...registration.failed.map((f) => f.topic)];
  const db = ctx.database.db;
  const before = await db
    .selectFrom("webhook_health")
    .select(["problem", "degraded_since"])
    .where("store_id", "=", store.id)
    .executeTakeFirst();
  const degradedSince = problem ? (before?.degraded_since ?? now) : null;
  const row = {
    checked_at: now,
    uri,
    expected: JSON.stringify([...new Set(topics)]),
    missing: JSON.stringify(missing),
    recreated: JSON.stringify(registration.created),
    failed: JSON.stringify(registration.failed),
    problem,
    degraded_since: degradedSince,
  };
  await db
    .insertInto("webhook_health")
    .values({ store_id: store.id, ...row })
    .onConflict((oc) => oc.column("store_id").doUpdateSet(row))
    .execute();
  if (registration.removed.length > 0 || registration.removeFailed.length > 0) {
    const origins = [
      ...new Set([...registration.removed, ...registration.removeFailed].map((r) => new URL(r.uri).origin)),
    ];
    await logActivity(
      db,
      {
        storeId: store.id,
        flow: "connection",
        kind: "webhooks_old_address_removed",
        level: registration.removeFailed.length > 0 ? "warn" : "info",
        message:
          `webhooks moved to ${new URL(uri).origin}: ${registration.removed.length} subscription(s) at the old address ${origins.join(", ")} deleted` +
          (registration.removeFailed.length > 0
            ? `; ${registration.removeFailed.length} could not be deleted (${registration.removeFailed.map((f) => `${f.topic}: ${f.message}`).join("; ")}), tried again at the next check`
            : ""),
        data: {
          removed: registration.removed.map((r) => r.topic),
          removeFailed: registration.removeFailed.map((r) => r.topic),
          oldOrigins: origins,
        },
      },
      now,
    );
  }
  if (missing.length > 0 || (before?.problem ?? null) !== problem) {
    await logActivity(
      db,
      {
        storeId: store.id,
        flow: "connection",
        kind: problem ? "webhooks_degraded" : "webhooks_registered",
        level: problem ? "error" : missing.length > 0 ? "warn" : "info",
        message: problem
          ? `webhooks degraded: ${problem}`
          : missing.length > 0 && options.reason === "connect"
            ? `webhooks registered: ${registration.created.length} created, ${registration.existing.length} already there`
            : missing.length > 0
              ? `webhooks checked: ${missing.length} subscription(s) were missing (${missing.join(", ")}) and were re-created; the order backfill and the drift check cover what was not delivered meanwhile`
              : "webhooks healthy again: every subscription is registered",
        data: { missing, recreated: registration.created, failed: registration.failed.map((f) => f.topic) },
      },
      now,
    );
  }
  if (problem) ctx.logger.warn({ store: store.domain }, `webhooks degraded: ${problem}`);
  return {
    registration,
    health: {
      state: problem ? "degraded" : "healthy",
      uri,
      checkedAt: now,
      expected: [...new Set(topics)],
      missing,
      recreated: registration.created,
      failed: registration.failed,
      problem,
      degradedSince,
    },
  };
}

/** The last recorded health of a store (the console and /metrics read this, never Shopify). */
export async function loadWebhookHealth(db: Db, storeId: number): Promise<WebhookHealth> {
  const r = await db
    .selectFrom("webhook_health")
    .selectAll()
    .where("store_id", "=", storeId)
    .executeTakeFirst();
  if (!r)
    return {
      state: "unchecked",
      uri: null,
      checkedAt: null,
      expected: [],
      missing: [],
      recreated: [],
      failed: [],
      problem: null,
      degradedSince: null,
    };
  return {
    state: r.problem ? "degraded" : "healthy",
    uri: r.uri,
    checkedAt: Number(r.checked_at),
    expected: JSON.parse(r.expected) as string[],
    missing: JSON.parse(r.missing) as string[],
    recreated: JSON.parse(r.recreated) as string[],
    failed: JSON.parse(r.failed) as { topic: string; message: string }[],
    problem: r.problem,
    degradedSince: r.degraded_since === null ? null : Number(r.degraded_since),
  };
}
