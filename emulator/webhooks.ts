// Webhook delivery: Shopify's headers, HMAC over the raw body with the app secret, a 5 s timeout,
// retries with exponential backoff, and the delivery faults (drop, duplicate, reorder).
import { createHmac, randomUUID } from "node:crypto";
import { API_VERSION } from "./schema.ts";
import { pushCapped, type Shop, type Store } from "./state.ts";

export interface DeliveryAttempt {
  at: string;
  status: number | null;
  error: string | null;
}

export interface Delivery {
  webhookId: string;
  eventId: string;
  shop: string;
  appId: number;
  subscriptionId: number;
  topic: string;
  uri: string;
  body: string;
  triggeredAt: string;
  status: "pending" | "delivered" | "failed" | "dropped";
  duplicated: boolean;
  attempts: DeliveryAttempt[];
}

export interface WebhookOptions {
  timeoutMs: number;
  /** Total attempts (Shopify: the first plus 8 retries). */
  maxAttempts: number;
  /** First retry delay; each next one doubles. Tests shorten it. */
  baseDelayMs: number;
  /**
   * Requests in flight to one endpoint at most; the rest wait their turn (their timeout starts
   * when sent). Shopify spreads deliveries over a bounded number of connections; thousands at
   * once overflow the receiver's accept queue, time out together and retry together.
   */
  maxConcurrentPerUri: number;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = {
  timeoutMs: 5000,
  maxAttempts: 9,
  baseDelayMs: 60_000,
  maxConcurrentPerUri: 32,
};

/** `orders/create` → `ORDERS_CREATE` (the GraphQL enum of a REST-style topic). */
export function topicEnum(topic: string): string {
  return topic.toUpperCase().replace(/\//g, "_");
}
export function topicRest(e: string): string {
  const i = e.indexOf("_");
  // Topics are <resource>/<event>; resources may contain underscores (inventory_levels/update, bulk_operations/finish).
  const known = [
    "INVENTORY_LEVELS_",
    "INVENTORY_ITEMS_",
    "BULK_OPERATIONS_",
    "FULFILLMENT_ORDERS_",
    "REVERSE_FULFILLMENT_ORDERS_",
    "FULFILLMENT_EVENTS_",
    "APP_SUBSCRIPTIONS_",
    "ORDER_TRANSACTIONS_",
    "PRODUCT_LISTINGS_",
  ];
  const k = known.find((p) => e.startsWith(p));
  const cut = k ? k.length - 1 : i;
  return `${e.slice(0, cut).toLowerCase()}/${e.slice(cut + 1).toLowerCase()}`;
}

export function signWebhook(body: string, secret: string): string {
  return createHmac("sha256", secret).update(body, "utf8").digest("base64");
}

export class WebhookDispatcher {
  readonly deliveries: Delivery[] = [];
  options: WebhookOptions = { ...DEFAULT_WEBHOOK_OPTIONS };
  private timers = new Set<NodeJS.Timeout>();
  private inFlight = new Set<Promise<void>>();
  /** Attempts due but waiting for a free slot at their endpoint, and the slots in use, by URI. */
  private waiting = new Map<string, Delivery[]>();
  private sending = new Map<string, number>();
  private closed = false;

  constructor(private readonly store: Store) {
    store.emit = (shop, topic, payload) => this.emit(shop, topic, payload);
  }

  /** Fan an event out to every subscription of `topic` on `shop` (optionally of one app only). */
  emit(shop: Shop, topic: string, payload: unknown, onlyAppId?: number): void {
    const e = topicEnum(topic);
    const eventId = randomUUID();
    const body = JSON.stringify(payload);
    for (const sub of shop.webhookSubscriptions.values()) {
      if (sub.topic !== e) continue;
      if (onlyAppId !== undefined && sub.appId !== onlyAppId) continue;
      if (!shop.installations.has(sub.appId) && topic !== "app/uninstalled") continue;
      const d: Delivery = {
        webhookId: randomUUID(),
        eventId,
        shop: shop.domain,
        appId: sub.appId,
        subscriptionId: sub.id,
        topic,
        uri: sub.uri,
        body,
        triggeredAt: this.store.nowIso(),
        status: "pending",
        duplicated: false,
        attempts: [],
      };
      pushCapped(this.deliveries, d);
      const f = shop.faults;
      if (Math.random() < f.webhookDropRate) {
        d.status = "dropped";
        continue;
      }
      const delay = f.webhookReorderWindowMs > 0 ? Math.floor(Math.random() * f.webhookReorderWindowMs) : 0;
      this.schedule(d, delay);
      if (Math.random() < f.webhookDuplicateRate) {
        d.duplicated = true;
        const copy: Delivery = { ...d, attempts: [], status: "pending" };
        pushCapped(this.deliveries, copy);
        this.schedule(copy, delay + Math.floor(Math.random() * Math.max(1, f.webhookReorderWindowMs)));
      }
    }
  }

  /** Sends `d` after `delayMs`, once its endpoint has a free slot. */
  private schedule(d: Delivery, delayMs: number): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      const queue = this.waiting.get(d.uri);
      if (queue) queue.push(d);
      else this.waiting.set(d.uri, [d]);
      this.pump(d.uri);
    }, delayMs);
    this.timers.add(t);
  }

  private pump(uri: string): void {
    const queue = this.waiting.get(uri);
    let busy = this.sending.get(uri) ?? 0;
    while (
      queue &&
      queue.length > 0 &&
      busy < Math.max(1, this.options.maxConcurrentPerUri) &&
      !this.closed
    ) {
      const d = queue.shift() as Delivery;
      busy++;
      const p = this.attempt(d).finally(() => {
        this.inFlight.delete(p);
        this.sending.set(uri, (this.sending.get(uri) ?? 1) - 1);
        this.pump(uri);
      });
      this.inFlight.add(p);
    }
    this.sending.set(uri, busy);
    if (queue?.length === 0) this.waiting.delete(uri);
  }

  private waitingCount(): number {
    let n = 0;
    for (const q of this.waiting.values()) n += q.length;
    return n;
  }

  private async attempt(d: Delivery): Promise<void> {
    const app = this.store.apps.get(d.appId);
    if (!app || this.closed) return;
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "X-Shopify-Topic": d.topic,
      "X-Shopify-Hmac-Sha256": signWebhook(d.body, app.clientSecret),
      "X-Shopify-Shop-Domain": d.shop,
      "X-Shopify-Webhook-Id": d.webhookId,
      "X-Shopify-Event-Id": d.eventId,
      "X-Shopify-Triggered-At": d.triggeredAt,
      "X-Shopify-API-Version": API_VERSION,
    };
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(d.uri, {
        method: "POST",
        headers,
        body: d.body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    d.attempts.push({ at: this.store.nowIso(), status, error });
    if (status !== null && status >= 200 && status < 300) {
      d.status = "delivered";
      return;
    }
    if (d.attempts.length >= this.options.maxAttempts) {
      d.status = "failed";
      return;
    }
    this.schedule(d, this.options.baseDelayMs * 2 ** (d.attempts.length - 1));
  }

  /** Resolves once nothing is pending right now (retries scheduled later still count as pending). */
  async idle(timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while ((this.timers.size > 0 || this.inFlight.size > 0 || this.waitingCount() > 0) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.waiting.clear();
  }
}
