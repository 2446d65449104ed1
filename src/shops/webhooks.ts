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
 * The orders engineer's durable webhook inbox can replace the dispatch here (dedupe on
 * X-Shopify-Webhook-Id); handlers must be idempotent meanwhile (duplicates happen).
 */
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../core/context.ts";
import { AppError } from "../core/errors.ts";
import { verifyWebhookHmac } from "../shopify/hmac.ts";
import { decryptSecret } from "./secrets.ts";
import { disconnectStore, findStore, type StoreRow } from "./stores.ts";

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
    // A late delivery from before a reinstall must not disconnect the new connection.
    if (event.triggeredAt !== undefined && event.triggeredAt < Number(store.connected_at)) {
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

export function shopsWebhookPlugin(
  ctx: AppContext,
  deps: { readonly key: Buffer },
  handlers: WebhookHandlers,
): (app: FastifyInstance) => Promise<void> {
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
    app.post("/webhooks/shopify", async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const topic = header(request.headers["x-shopify-topic"]) ?? "";
      const shop = (header(request.headers["x-shopify-shop-domain"]) ?? "").toLowerCase();
      const hmac = header(request.headers["x-shopify-hmac-sha256"]);
      const store = shop ? await findStore(ctx.database, shop) : undefined;
      const secrets: string[] = [];
      if (ctx.config.shopifyApp) secrets.push(ctx.config.shopifyApp.apiSecret);
      if (store?.webhook_secret_enc) {
        try {
          secrets.push(decryptSecret(store.webhook_secret_enc, deps.key));
        } catch (err) {
          ctx.logger.error({ store: shop, err: (err as Error).message }, "webhook secret unreadable");
        }
      }
      if (!secrets.some((s) => verifyWebhookHmac(raw, hmac, s))) {
        ctx.logger.warn({ topic, shop }, "refused a webhook with an invalid signature");
        throw new AppError("INVALID_WEBHOOK", "the X-Shopify-Hmac-Sha256 signature does not match");
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
      await handler({
        topic,
        shop,
        webhookId: header(request.headers["x-shopify-webhook-id"]),
        triggeredAt: Number.isNaN(triggered) ? undefined : triggered,
        payload,
        rawBody: raw,
        store: store ? { ...store, id: Number(store.id) } : undefined,
        receivedAt: ctx.clock.now(),
      });
      return reply.code(200).send({ ok: true });
    });
  };
}
