/**
 * `POST /webhooks/shopify`: a Fastify plugin with its own raw-body parser (scoped to the plugin,
 * so the rest of the hub keeps its JSON parsing), HMAC verification, and dispatch by
 * `X-Shopify-Topic` to registered handlers. A bad signature answers 401 and stores nothing;
 * unknown topics answer 200 and are logged.
 *
 * Secrets: deliveries for OAuth stores are signed with the app's secret (SHOPIFY_API_SECRET).
 * A custom app signs with its own secret, which the hub only knows if the operator gave it as
 * `webhookSecret` when connecting the store (stored encrypted); without it, that store's
 * webhooks cannot be verified and are refused — the hub then relies on polling/reconciliation.
 *
 * A delivery for a shop the hub does not know, or for a disconnected store, is answered (so
 * Shopify stops retrying) and recorded in the inbox as a dead letter with its reason, never
 * processed. Only the compliance topics of a known, disconnected store still go through (a
 * `shop/redact` arrives 48 hours after an uninstall and must erase that store's data).
 *
 * Headers are checked as Shopify sends them: `X-Shopify-Shop-Domain` must be the
 * `<name>.myshopify.com` domain of a connected store (else the verified delivery is answered and
 * dead-lettered with the reason, never processed), and a delivery
 * whose `X-Shopify-Triggered-At` is more than an hour old is processed like any other but
 * counted as late for its store (`webhook_late`, the console and /metrics): Shopify retries
 * for hours and can deliver a day late, and a store receiving late deliveries is worth a look.
 *
 * The orders engineer's durable webhook inbox can replace the dispatch here (dedupe on
 * X-Shopify-Webhook-Id); handlers must be idempotent meanwhile (duplicates happen).
 */
import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { AppContext } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { isShopDomain, verifyWebhookHmac } from "../shopify/hmac.ts";
import { decryptSecret, sealedAt } from "./secrets.ts";
import { disconnectStore, findStore, type StoreRow, storeConnectionsVersion } from "./stores.ts";

export interface WebhookEvent {
  readonly topic: string;
  readonly shop: string;
  readonly webhookId: string | undefined;
  readonly triggeredAt: number | undefined;
  readonly payload: unknown;
  readonly rawBody: Buffer;
  /** The connected store for `shop`, if any. */
  readonly store: StoreRow | undefined;
  readonly receivedAt: number;
}

export type WebhookHandler = (event: WebhookEvent) => Promise<void>;
/** Handlers by REST-style topic (`app/uninstalled`, `orders/create`…). */
export type WebhookHandlers = Map<string, WebhookHandler>;

export const UNINSTALLED_REASON = "uninstalled in Shopify";

/** The handlers this capability provides; other capabilities `set` theirs on the same map. */
export function createWebhookHandlers(ctx: AppContext): WebhookHandlers {
  const handlers: WebhookHandlers = new Map();
  handlers.set("app/uninstalled", async (event) => {
    const store = event.store;
    if (store?.status !== "active") return;
    // A late delivery from before a reinstall must not disconnect the new connection. Shopify's
    // times have whole seconds: one triggered in the second the store connected still counts.
    const connectedSecond = Math.floor(Number(store.connected_at) / 1000) * 1000;
    if (event.triggeredAt !== undefined && event.triggeredAt < connectedSecond) {
      ctx.logger.info(
        { store: store.domain },
        "ignored an app/uninstalled older than the current connection",
      );
      return;
    }
    await disconnectStore(ctx.database, Number(store.id), UNINSTALLED_REASON, event.receivedAt);
    ctx.logger.warn({ store: store.domain }, "store disconnected: app uninstalled in Shopify");
  });
  return handlers;
}

const header = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** A delivery triggered longer ago than this is recorded as late (still processed). */
export const LATE_DELIVERY_MS = 3600_000;

/** How late a delivery is (ms past LATE_DELIVERY_MS counts), or null when on time or undated. */
export function lateBy(triggeredAt: number | undefined, receivedAt: number): number | null {
  if (triggeredAt === undefined) return null;
  const age = receivedAt - triggeredAt;
  return age > LATE_DELIVERY_MS ? age : null;
}

async function recordLate(
  ctx: AppContext,
  storeId: number,
  topic: string,
  ageMs: number,
  now: number,
): Promise<void> {
  await ctx.database.db
    .insertInto("webhook_late")
    .values({
      store_id: storeId,
      count: 1,
      last_topic: topic.slice(0, 255),
      last_late_at: now,
      max_late_ms: ageMs,
    })
    .onConflict((oc) =>
      oc.column("store_id").doUpdateSet((eb) => ({
        count: eb(eb.ref("webhook_late.count"), "+", 1),
        last_topic: topic.slice(0, 255),
        last_late_at: now,
        max_late_ms: sql<number>`case when ${eb.ref("webhook_late.max_late_ms")} > ${ageMs} then ${eb.ref("webhook_late.max_late_ms")} else ${ageMs} end`,
      })),
    )
    .execute();
}

/** Topics that must reach a disconnected store's data (Shopify's mandatory compliance webhooks). */
const COMPLIANCE_TOPICS: ReadonlySet<string> = new Set([
  "customers/data_request",
  "customers/redact",
  "shop/redact",
]);

/** Why a verified delivery must not be processed, or undefined when it may. */
export function refusalReason(shop: string, topic: string, store: StoreRow | undefined): string | undefined {
  if (!isShopDomain(shop))
    return `no store ${shop || "(no X-Shopify-Shop-Domain)"} is connected to the hub: X-Shopify-Shop-Domain is not a <name>.myshopify.com domain; not processed`;
  if (!store)
    return `no store ${shop || "(no X-Shopify-Shop-Domain)"} is connected to the hub; not processed`;
  if (store.status !== "active" && !COMPLIANCE_TOPICS.has(topic))
    return `store ${shop} is disconnected (${store.status_reason ?? "no reason recorded"}); not processed`;
  return undefined;
}

export function shopsWebhookPlugin(
  ctx: AppContext,
  deps: { readonly key: Buffer },
  handlers: WebhookHandlers,
): (app: FastifyInstance) => Promise<void> {
  // A full inventory push echoes one delivery per level it set: the store row and its secrets are
  // looked up once a second per shop, not once per delivery (a disconnect is seen within 1 s).
  const recent = new Map<
    string,
    { at: number; version: number; store: StoreRow | undefined; secrets: string[] }
  >();
  const storeAndSecrets = async (shop: string) => {
    const now = Date.now();
    const version = storeConnectionsVersion();
    const hit = recent.get(shop);
    if (hit && hit.version === version && now - hit.at < 1000) return hit;
    const store = shop ? await findStore(ctx.database, shop) : undefined;
    const secrets: string[] = [];
    if (ctx.config.shopifyApp) secrets.push(ctx.config.shopifyApp.apiSecret);
    if (store?.webhook_secret_enc) {
      try {
        secrets.push(
          decryptSecret(
            store.webhook_secret_enc,
            deps.key,
            sealedAt.storeColumn("webhook_secret_enc", store.domain),
          ),
        );
      } catch (err) {
        ctx.logger.error({ store: shop, err: (err as Error).message }, "webhook secret unreadable");
      }
    }
    if (recent.size > 1000) recent.clear();
    const entry = { at: now, version, store, secrets };
    if (shop) recent.set(shop, entry);
    return entry;
  };
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
    app.post("/webhooks/shopify", async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const topic = header(request.headers["x-shopify-topic"]) ?? "";
      const shop = (header(request.headers["x-shopify-shop-domain"]) ?? "").toLowerCase();
      const hmac = header(request.headers["x-shopify-hmac-sha256"]);
      const { store, secrets } = await storeAndSecrets(shop);
      if (!secrets.some((s) => verifyWebhookHmac(raw, hmac, s))) {
        ctx.logger.warn({ topic, shop }, "refused a webhook with an invalid signature");
        throw new AppError("INVALID_WEBHOOK", "the X-Shopify-Hmac-Sha256 signature does not match");
      }
      const refusal = refusalReason(shop, topic, store);
      if (refusal) {
        const now = ctx.clock.now();
        await ctx.database.db
          .insertInto("webhook_inbox")
          .values({
            webhook_id: header(request.headers["x-shopify-webhook-id"]) ?? `no-webhook-id:${randomUUID()}`,
            shop: shop.slice(0, 255),
            topic: topic.slice(0, 255),
            // PostgreSQL text cannot hold NUL; the body is kept for the operator, not parsed.
            body: raw.toString("utf8").replaceAll("\u0000", "\ufffd"),
            received_at: now,
            status: "dead",
            attempts: 0,
            next_attempt_at: now,
            last_error: refusal,
            processed_at: null,
          })
          .onConflict((oc) => oc.column("webhook_id").doNothing())
          .execute();
        ctx.logger.warn({ topic, shop }, `webhook dead-lettered: ${refusal}`);
        return reply.code(200).send({ ok: true, deadLettered: true, reason: refusal });
      }
      const handler = handlers.get(topic);
      if (!handler) {
        ctx.logger.info({ topic, shop }, "webhook topic without a handler; acknowledged");
        return reply.code(200).send({ ok: true });
      }
      let payload: unknown;
      try {
        payload = JSON.parse(raw.toString("utf8"));
      } catch {
        throw new AppError("INVALID_JSON", "the webhook body is not JSON");
      }
      const triggered = Date.parse(header(request.headers["x-shopify-triggered-at"]) ?? "");
      const receivedAt = ctx.clock.now();
      const late = lateBy(Number.isNaN(triggered) ? undefined : triggered, receivedAt);
      if (late !== null && store) {
        ctx.logger.warn({ topic, shop, lateMs: late }, "late webhook delivery (processed)");
        await recordLate(ctx, Number(store.id), topic, late, receivedAt);
      }
      await handler({
        topic,
        shop,
        webhookId: header(request.headers["x-shopify-webhook-id"]),
        triggeredAt: Number.isNaN(triggered) ? undefined : triggered,
        payload,
        rawBody: raw,
        store: store ? { ...store, id: Number(store.id) } : undefined,
        receivedAt,
      });
      return reply.code(200).send({ ok: true });
    });
  };
}
