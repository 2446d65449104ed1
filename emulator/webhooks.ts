// Webhook delivery: Shopify's headers, HMAC over the raw body with the app secret, a 5 s timeout,
// retries with exponential backoff, and the delivery faults (drop, duplicate, reorder).
//
// Shopify (changelog "Updates to webhook retry mechanism", 2024-09-10; shopify.dev webhooks
// troubleshooting): a failed delivery is retried 8 times over 4 hours with exponential backoff, and
// after the retries run out a subscription made through the Admin API is deleted. Retries are due by
// the emulator's clock too, so a test can advance it through the schedule instead of waiting hours.
import { createHmac, randomUUID } from "node:crypto";
import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_SHOP_TIMEZONE, restTimes } from "./rest-time.ts";
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
  /** When the latest attempt was due by the emulator's clock (the retry schedule counts from it). */
  lastDueAt?: number;
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
  /**
   * Deliveries waiting for one endpoint held in memory at most; the rest wait in a file, in
   * order, and come back as the queue drains. A hub pushing 500,000 quantities gets 500,000
   * `inventory_levels/update` echoes faster than it takes them in: held as objects they grew the
   * emulator's process past 2 GB.
   */
  maxWaitingInMemoryPerUri: number;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = {
  timeoutMs: 5000,
  maxAttempts: 9,
  baseDelayMs: 60_000,
  maxConcurrentPerUri: 32,
  maxWaitingInMemoryPerUri: 5000,
};

/**
 * One endpoint's deliveries beyond the in-memory queue: JSON lines appended to a file, read back
 * a chunk at a time in the order written. Each line carries the delivery's log number, so one
 * still in the dispatcher's log comes back as that same object (its status and attempts show there).
 */
class Spill {
  private fd: number | undefined;
  private path: string | undefined;
  private lines: string[] = [];
  private writeAt = 0;
  private readAt = 0;
  /** Deliveries waiting here. */
  count = 0;

  constructor(private readonly dir: () => string) {}

  push(seq: number, d: Delivery): void {
    this.lines.push(`${JSON.stringify([seq, d])}\n`);
    this.count++;
    if (this.lines.length >= 256) this.flush();
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    if (this.fd === undefined) {
      this.path = join(this.dir(), `${randomUUID()}.jsonl`);
      this.fd = openSync(this.path, "w+");
    }
    const buf = Buffer.from(this.lines.join(""), "utf8");
    this.lines = [];
    writeSync(this.fd, buf, 0, buf.length, this.writeAt);
    this.writeAt += buf.length;
  }

  /** The oldest waiting deliveries (a chunk of the file; none when empty). */
  take(): [number, Delivery][] {
    if (this.count === 0) return [];
    this.flush();
    const out: [number, Delivery][] = [];
    let size = 1 << 20;
    while (out.length === 0 && this.fd !== undefined && this.readAt < this.writeAt) {
      const want = Math.min(size, this.writeAt - this.readAt);
      const buf = Buffer.allocUnsafe(want);
      const n = readSync(this.fd, buf, 0, want, this.readAt);
      const end = buf.lastIndexOf(10, n - 1);
      if (end < 0) {
        // One line longer than the chunk: read more at once.
        size *= 2;
        continue;
      }
      for (const line of buf.toString("utf8", 0, end).split("\n"))
        if (line) out.push(JSON.parse(line) as [number, Delivery]);
      this.readAt += end + 1;
    }
    this.count -= out.length;
    if (this.count <= 0 && this.fd !== undefined) {
      this.count = 0;
      ftruncateSync(this.fd, 0);
      this.readAt = 0;
      this.writeAt = 0;
    }
    return out;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.lines = [];
    this.count = 0;
    if (this.path) rmSync(this.path, { force: true });
  }
}

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

/** The User-Agent of Shopify's webhook deliveries. */
export const WEBHOOK_USER_AGENT = "Shopify-Captain-Hook";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/**
 * Why Shopify refuses `uri` as a webhook address, or undefined when it accepts it: HTTPS only
 * (changelog "Non-HTTPS webhooks will no longer be supported"; "Your endpoint must be an HTTPS
 * webhook address"). `testOnlyAllowPlainHttp` admits http:// to a loopback host, for tests.
 */
export function webhookUriProblem(uri: string, testOnlyAllowPlainHttp: boolean): string | undefined {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return "Address is invalid";
  }
  if (u.protocol === "https:") return undefined;
  if (u.protocol === "http:") {
    if (testOnlyAllowPlainHttp && (LOOPBACK.has(u.hostname) || u.hostname.endsWith(".localhost")))
      return undefined;
    return "Address protocol http:// is not supported";
  }
  return "Address is invalid";
}

export function signWebhook(body: string, secret: string): string {
  return createHmac("sha256", secret).update(body, "utf8").digest("base64");
}

export class WebhookDispatcher {
  readonly deliveries: Delivery[] = [];
  options: WebhookOptions = { ...DEFAULT_WEBHOOK_OPTIONS };
  private timers = new Set<NodeJS.Timeout>();
  /** Retries waiting for their time: due when the real delay elapses or the emulator's clock reaches it. */
  private retries = new Set<{ d: Delivery; dueAt: number; timer: NodeJS.Timeout }>();
  private unlisten: () => void;
  /** First attempts due at a later moment of the emulator's clock only (shop/redact, 48 h after an uninstall). */
  private later = new Set<{ d: Delivery; dueAt: number }>();
  private inFlight = new Set<Promise<void>>();
  /** Attempts due but waiting for a free slot at their endpoint, and the slots in use, by URI. */
  private waiting = new Map<string, Delivery[]>();
  /** Deliveries beyond `maxWaitingInMemoryPerUri`, by URI, in a file. */
  private spills = new Map<string, Spill>();
  private spillDir: string | undefined;
  private sending = new Map<string, number>();
  private closed = false;
  /** Log numbers: a delivery read back from a spill is the logged object while it is in the log. */
  private seq = 0;
  private readonly seqOf = new WeakMap<Delivery, number>();
  private readonly logged = new Map<number, Delivery>();

  constructor(private readonly store: Store) {
    store.emit = (shop, topic, payload) => this.emit(shop, topic, payload);
    this.unlisten = store.clock.onAdvance(() => this.releaseDue());
  }

  /**
   * One delivery to an app's configured address, outside any subscription: Shopify's mandatory
   * compliance webhooks go to the app's compliance URI. Never removes anything when it fails.
   */
  emitToApp(
    shop: Shop,
    appId: number,
    uri: string,
    topic: string,
    payload: unknown,
    atMs?: number,
  ): Delivery {
    const d: Delivery = {
      webhookId: randomUUID(),
      eventId: randomUUID(),
      shop: shop.domain,
      appId,
      subscriptionId: 0,
      topic,
      uri,
      body: JSON.stringify(payload, restTimes(shop.timezone ?? DEFAULT_SHOP_TIMEZONE)),
      triggeredAt: this.store.nowIso(),
      status: "pending",
      duplicated: false,
      attempts: [],
    };
    this.log(d);
    if (atMs === undefined || atMs <= this.store.clock.now()) this.schedule(d, 0);
    else this.later.add({ d, dueAt: atMs });
    return d;
  }

  /** Fan an event out to every subscription of `topic` on `shop` (optionally of one app only). */
  emit(shop: Shop, topic: string, payload: unknown, onlyAppId?: number): void {
    const e = topicEnum(topic);
    const eventId = randomUUID();
    const body = JSON.stringify(payload, restTimes(shop.timezone ?? DEFAULT_SHOP_TIMEZONE));
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
      this.log(d);
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
        this.log(copy);
        this.schedule(copy, delay + Math.floor(Math.random() * Math.max(1, f.webhookReorderWindowMs)));
      }
    }
  }

  /** Keeps the last LOG_LIMIT deliveries (`deliveries`, see pushCapped), numbered. */
  private log(d: Delivery): void {
    const seq = ++this.seq;
    this.seqOf.set(d, seq);
    this.logged.set(seq, d);
    for (const old of pushCapped(this.deliveries, d)) {
      const n = this.seqOf.get(old);
      if (n !== undefined) this.logged.delete(n);
    }
  }

  /** Sends `d` after `delayMs`, once its endpoint has a free slot. */
  private schedule(d: Delivery, delayMs: number): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.enqueue(d);
    }, delayMs);
    this.timers.add(t);
  }

  private enqueue(d: Delivery): void {
    if (this.closed) return;
    const queue = this.waiting.get(d.uri);
    const spill = this.spills.get(d.uri);
    // Once some wait in the file, later ones follow them there (first in, first out).
    if ((spill && spill.count > 0) || (queue?.length ?? 0) >= this.options.maxWaitingInMemoryPerUri) {
      let s = spill;
      if (!s) {
        s = new Spill(() => {
          this.spillDir ??= mkdtempSync(join(tmpdir(), "emulator-webhooks-"));
          return this.spillDir;
        });
        this.spills.set(d.uri, s);
      }
      s.push(this.seqOf.get(d) ?? 0, d);
    } else if (queue) queue.push(d);
    else this.waiting.set(d.uri, [d]);
    this.pump(d.uri);
  }

  /** Refills an endpoint's empty in-memory queue from its file; false when nothing waits there. */
  private refill(uri: string): boolean {
    const spill = this.spills.get(uri);
    if (!spill || spill.count === 0) return false;
    const more = spill.take();
    if (more.length === 0) return false;
    let queue = this.waiting.get(uri);
    if (!queue) {
      queue = [];
      this.waiting.set(uri, queue);
    }
    for (const [seq, parsed] of more) {
      const d = (seq > 0 ? this.logged.get(seq) : undefined) ?? parsed;
      if (d !== parsed) this.seqOf.set(d, seq);
      queue.push(d);
    }
    return true;
  }

  /** A retry `delayMs` after the previous attempt was due (by the emulator's clock). */
  private scheduleRetry(d: Delivery, delayMs: number): void {
    if (this.closed) return;
    const dueAt = (d.lastDueAt ?? this.store.clock.now()) + delayMs;
    const entry = {
      d,
      dueAt,
      timer: setTimeout(() => this.release(entry), Math.max(0, dueAt - this.store.clock.now())),
    };
    this.retries.add(entry);
    if (dueAt <= this.store.clock.now()) this.release(entry);
  }

  private release(entry: { d: Delivery; dueAt: number; timer: NodeJS.Timeout }): void {
    if (!this.retries.delete(entry)) return;
    clearTimeout(entry.timer);
    entry.d.lastDueAt = Math.min(entry.dueAt, this.store.clock.now());
    this.enqueue(entry.d);
  }

  private releaseDue(): void {
    const now = this.store.clock.now();
    for (const e of [...this.retries]) if (e.dueAt <= now) this.release(e);
    for (const e of [...this.later])
      if (e.dueAt <= now) {
        this.later.delete(e);
        e.d.triggeredAt = new Date(e.dueAt).toISOString();
        e.d.lastDueAt = e.dueAt;
        this.enqueue(e.d);
      }
  }

  /** The retries ran out: Shopify deletes the subscription the delivery was made for. */
  private removeSubscription(d: Delivery): void {
    if (d.subscriptionId === 0) return;
    const shop = this.store.shops.get(d.shop);
    const sub = shop?.webhookSubscriptions.get(d.subscriptionId);
    if (!shop || !sub) return;
    shop.webhookSubscriptions.delete(sub.id);
    pushCapped(this.store.removedWebhookSubscriptions, {
      shop: shop.domain,
      appId: sub.appId,
      id: sub.id,
      topic: sub.topic,
      uri: sub.uri,
      removedAt: this.store.nowIso(),
    });
  }

  private pump(uri: string): void {
    let busy = this.sending.get(uri) ?? 0;
    let queue = this.waiting.get(uri);
    while (busy < Math.max(1, this.options.maxConcurrentPerUri) && !this.closed) {
      if (!queue || queue.length === 0) {
        if (!this.refill(uri)) break;
        queue = this.waiting.get(uri)!;
      }
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
    for (const s of this.spills.values()) n += s.count;
    return n;
  }

  private async attempt(d: Delivery): Promise<void> {
    const app = this.store.apps.get(d.appId);
    if (!app || this.closed) return;
    if (d.lastDueAt === undefined) d.lastDueAt = this.store.clock.now();
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "User-Agent": WEBHOOK_USER_AGENT,
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
      this.removeSubscription(d);
      return;
    }
    this.scheduleRetry(d, this.options.baseDelayMs * 2 ** (d.attempts.length - 1));
  }

  /** Deliveries waiting for a free slot: held in memory, and beyond `maxWaitingInMemoryPerUri` in files. */
  queued(): { inMemory: number; inFiles: number } {
    let inMemory = 0;
    let inFiles = 0;
    for (const q of this.waiting.values()) inMemory += q.length;
    for (const sp of this.spills.values()) inFiles += sp.count;
    return { inMemory, inFiles };
  }

  /** Resolves once nothing is pending right now (retries scheduled later still count as pending). */
  async idle(timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (
      (this.timers.size > 0 || this.retries.size > 0 || this.inFlight.size > 0 || this.waitingCount() > 0) &&
      Date.now() < end
    ) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const r of this.retries) clearTimeout(r.timer);
    this.retries.clear();
    this.later.clear();
    this.unlisten();
    this.waiting.clear();
    for (const s of this.spills.values()) s.close();
    this.spills.clear();
    if (this.spillDir) rmSync(this.spillDir, { recursive: true, force: true });
    this.spillDir = undefined;
  }
}
