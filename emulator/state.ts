// The emulator's in-memory model. Glossary:
// - app: an OAuth client (client id + secret + scopes). Custom-app tokens are minted for an app too,
//   so webhooks are always signed with an app secret.
// - installation: an app installed on a shop, with the scopes granted.
// - bucket: the leaky bucket of one app on one shop (Shopify limits per app per store).
// - level: one inventory item at one location, with its named quantities. `available` is derived:
//   on_hand = available + committed + reserved + damaged + safety_stock + quality_control.

import type { BucketState } from "./bucket.ts";
import type { Clock } from "./clock.ts";
import type { LevelStore } from "./levels.ts";
import type { LineMoney, OrderMoneyState, RefundMoney } from "./order-money.ts";

export type Plan = "standard" | "advanced" | "plus" | "enterprise";

/** Restore rates from Shopify's rate-limit docs (points per second, per app per store). */
export const PLAN_RESTORE_RATE: Record<Plan, number> = {
  standard: 100,
  advanced: 200,
  plus: 1000,
  enterprise: 2000,
};
/** Bucket size defaults to 20 seconds of restore (Standard 2,000 … Plus 20,000), overridable per shop. */
export const BUCKET_SECONDS = 20;

export interface App {
  id: number;
  name: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  /**
   * Where the app's mandatory compliance webhooks (customers/data_request, customers/redact,
   * shop/redact) go: set in the app's configuration on Shopify, not through the Admin API.
   */
  complianceUri?: string | null;
}

export interface AccessToken {
  value: string;
  appId: number;
  shop: string;
  scopes: string[];
  kind: "offline" | "expiring" | "online" | "custom" | "client_credentials";
  createdAt: number;
  expiresAt: number | null;
  revoked: boolean;
  /** The refresh token that produced this token: its predecessor dies when this token is first used. */
  fromRefresh?: string;
  used: boolean;
}

export interface RefreshToken {
  value: string;
  appId: number;
  shop: string;
  scopes: string[];
  expiresAt: number;
  revoked: boolean;
  previous?: string;
}

export interface AuthCode {
  value: string;
  appId: number;
  shop: string;
  scopes: string[];
  expiresAt: number;
  used: boolean;
  perUser: boolean;
}

export interface Address {
  firstName?: string | null;
  lastName?: string | null;
  company?: string | null;
  address1?: string | null;
  address2?: string | null;
  city?: string | null;
  province?: string | null;
  provinceCode?: string | null;
  country?: string | null;
  countryCode?: string | null;
  zip?: string | null;
  phone?: string | null;
}

export interface Location {
  id: number;
  name: string;
  address: Address;
  isActive: boolean;
  fulfillsOnlineOrders: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ProductOption {
  name: string;
  values: string[];
}

export interface Product {
  id: number;
  title: string;
  handle: string;
  status: "ACTIVE" | "ARCHIVED" | "DRAFT";
  vendor: string;
  productType: string;
  tags: string[];
  descriptionHtml: string;
  options: ProductOption[];
  variantIds: number[];
  createdAt: string;
  updatedAt: string;
  /** Images, metafields, SEO, taxonomy category and collections (emulator/products.ts); absent: none. */
  media?: ProductImage[];
  metafields?: Metafield[];
  seo?: { title: string | null; description: string | null };
  categoryId?: string | null;
  collectionIds?: number[];
}

/** A product's image (a MediaImage in the Admin API). */
export interface ProductImage {
  id: number;
  url: string;
  alt: string | null;
}

export interface Metafield {
  id: number;
  namespace: string;
  key: string;
  type: string;
  value: string;
}

export interface Collection {
  id: number;
  title: string;
  handle: string;
}

export interface Variant {
  id: number;
  productId: number;
  sku: string | null;
  barcode: string | null;
  price: string;
  compareAtPrice: string | null;
  inventoryItemId: number;
  inventoryPolicy: "DENY" | "CONTINUE";
  selectedOptions: { name: string; value: string }[];
  taxable: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface InventoryItem {
  id: number;
  variantId: number;
  tracked: boolean;
  requiresShipping: boolean;
  createdAt: string;
  updatedAt: string;
  /** Weight and unit cost (emulator/products.ts); absent: none set. */
  weight?: { value: number; unit: "GRAMS" | "KILOGRAMS" | "OUNCES" | "POUNDS" } | null;
  unitCost?: string | null;
}

export const QUANTITY_NAMES = [
  "available",
  "on_hand",
  "committed",
  "reserved",
  "damaged",
  "safety_stock",
  "quality_control",
  "incoming",
] as const;
export type QuantityName = (typeof QUANTITY_NAMES)[number];
export type StoredQuantityName = Exclude<QuantityName, "available">;

export interface InventoryLevel {
  itemId: number;
  locationId: number;
  q: Record<StoredQuantityName, number>;
  createdAt: string;
  updatedAt: string;
}

export interface Customer {
  id: number;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  tags: string[];
  defaultAddress: Address | null;
  createdAt: string;
  updatedAt: string;
}

export interface Company {
  id: number;
  name: string;
  externalId: string | null;
  createdAt: string;
  updatedAt: string;
}

export type FinancialStatus =
  | "pending"
  | "authorized"
  | "partially_paid"
  | "paid"
  | "partially_refunded"
  | "refunded"
  | "voided"
  | "expired";

export interface LineItem {
  id: number;
  variantId: number | null;
  productId: number | null;
  sku: string | null;
  title: string;
  variantTitle: string | null;
  quantity: number;
  price: string;
  requiresShipping: boolean;
  fulfilledQuantity: number;
  refundedQuantity: number;
  /** Quantity removed before fulfilment (refunds of unfulfilled units, order cancellation, order edits). */
  removedQuantity: number;
  /** Fulfilled units that a refund has covered since (returned or not): they can't be refunded or
   * restocked again, and their fulfilment can't be cancelled. */
  refundedFulfilledQuantity: number;
  /** Gift card flag, properties, taxes, discount allocations and duty (order-money.ts). */
  money: LineMoney;
}

export interface Order {
  id: number;
  number: number;
  name: string;
  email: string | null;
  phone: string | null;
  customerId: number | null;
  companyId: number | null;
  billingAddress: Address | null;
  shippingAddress: Address | null;
  financialStatus: FinancialStatus;
  lineItems: LineItem[];
  locationId: number;
  note: string | null;
  tags: string[];
  currency: string;
  createdAt: string;
  updatedAt: string;
  processedAt: string;
  cancelledAt: string | null;
  cancelReason: string | null;
  closedAt: string | null;
  test: boolean;
  /** Where the order was placed: "web" (online store), "pos" (point of sale), "shopify_draft_order". */
  sourceName: string;
  /** Discounts, shipping, taxes mode, payments, terms, POS staff, B2B location (order-money.ts). */
  money: OrderMoneyState;
}

export type FulfillmentOrderStatus =
  | "OPEN"
  | "IN_PROGRESS"
  | "SCHEDULED"
  | "ON_HOLD"
  | "CLOSED"
  | "CANCELLED"
  | "INCOMPLETE";

/** Where a request to a fulfillment service stands (FulfillmentOrderRequestStatus). */
export type FulfillmentRequestStatus =
  | "UNSUBMITTED"
  | "SUBMITTED"
  | "ACCEPTED"
  | "REJECTED"
  | "CANCELLATION_REQUESTED"
  | "CANCELLATION_ACCEPTED"
  | "CANCELLATION_REJECTED"
  | "CLOSED";

export interface FulfillmentHold {
  id: number;
  /** FulfillmentHoldReason: AWAITING_PAYMENT, HIGH_RISK_OF_FRAUD, INCORRECT_ADDRESS, INVENTORY_OUT_OF_STOCK, OTHER, … */
  reason: string;
  reasonNotes: string | null;
  heldAt: string;
}

export interface FulfillmentOrderLine {
  id: number;
  lineItemId: number;
  totalQuantity: number;
  remainingQuantity: number;
}

export interface FulfillmentOrder {
  id: number;
  orderId: number;
  locationId: number;
  status: FulfillmentOrderStatus;
  lineItems: FulfillmentOrderLine[];
  createdAt: string;
  updatedAt: string;
  /** A scheduled fulfillment order (pre-order, subscription) opens at this moment. */
  fulfillAt?: string | null;
  /** Holds on an ON_HOLD fulfillment order (released together). */
  holds?: FulfillmentHold[];
  requestStatus?: FulfillmentRequestStatus;
}

export interface TrackingInfo {
  company: string | null;
  number: string | null;
  url: string | null;
}

export interface Fulfillment {
  id: number;
  orderId: number;
  locationId: number;
  name: string;
  status: "SUCCESS" | "CANCELLED";
  lineItems: {
    id: number;
    lineItemId: number;
    quantity: number;
    /** The fulfillment order line the units came from (a cancelled fulfilment gives them back). */
    fulfillmentOrderId: number;
    fulfillmentOrderLineId: number;
  }[];
  fulfillmentOrderIds: number[];
  tracking: TrackingInfo[];
  notifyCustomer: boolean;
  createdAt: string;
  updatedAt: string;
}

export type RestockType = "NO_RESTOCK" | "CANCEL" | "RETURN" | "LEGACY_RESTOCK";

export interface Refund {
  id: number;
  orderId: number;
  note: string | null;
  lineItems: {
    id: number;
    lineItemId: number;
    quantity: number;
    restockType: RestockType;
    locationId: number | null;
    restocked: boolean;
  }[];
  createdAt: string;
  /** Money refunded per line, shipping, adjustments and the refund transactions (order-money.ts). */
  money: RefundMoney;
  /** The return this refund was made for (`Refund.return`), when made through the return. */
  returnId?: number | null;
}

export interface ReturnRecord {
  id: number;
  orderId: number;
  name: string;
  status: "OPEN" | "CLOSED" | "CANCELED";
  lines: {
    id: number;
    fulfillmentLineItemId: number;
    lineItemId: number;
    quantity: number;
    returnReason: string;
    returnReasonNote: string;
    customerNote: string | null;
  }[];
  createdAt: string;
  closedAt: string | null;
}

export interface WebhookSubscription {
  id: number;
  appId: number;
  topic: string;
  uri: string;
  filter: string | null;
  includeFields: string[];
  createdAt: string;
  updatedAt: string;
}

export interface BulkOperation {
  id: number;
  appId: number;
  query: string;
  /** EXPIRED: its result file was dropped (the emulator keeps the latest few per shop, see bulk.ts). */
  status: "CREATED" | "RUNNING" | "COMPLETED" | "FAILED" | "CANCELED" | "EXPIRED";
  errorCode: string | null;
  /** Why it failed (emulator only, for assertions and debugging). */
  errorMessage: string | null;
  objectCount: number;
  rootObjectCount: number;
  fileSize: number | null;
  /** The JSONL result file on disk (bulk.ts); null until completed and once expired. */
  file: string | null;
  createdAt: string;
  completedAt: string | null;
}

export interface ApiCall {
  /** When the answer was ready (ISO). */
  at: string;
  /** When the request arrived, before any latency fault (epoch ms of the emulator's clock). */
  receivedAt?: number;
  /** When the answer was ready (epoch ms of the emulator's clock). */
  answeredAt?: number;
  /** The caller's User-Agent (tells the processes of one app apart). */
  client?: string | null;
  appId: number | null;
  status: number;
  operationName: string | null;
  rootFields: string[];
  requestedQueryCost: number | null;
  actualQueryCost: number | null;
  throttled: boolean;
  fault: string | null;
  /** Deprecated fields, arguments or enum values the request used (`Type.field`), when any. */
  deprecated?: string[];
  /** The API version that answered (the requested one, or the oldest supported after a fall-forward). */
  apiVersion?: string;
}

export interface Faults {
  /** Share (0..1) of Admin API calls answered with an HTTP error. */
  errorRate: number;
  errorStatuses: number[];
  /** Fail exactly the next N Admin API calls (deterministic counterpart of errorRate). */
  failNext: number;
  latencyMs: number;
  /** Share of Admin API calls whose connection is destroyed without an answer. */
  dropConnectionRate: number;
  webhookDropRate: number;
  webhookDuplicateRate: number;
  /** Deliveries are held back a random 0..N ms so they arrive out of order. */
  webhookReorderWindowMs: number;
}

export function noFaults(): Faults {
  return {
    errorRate: 0,
    errorStatuses: [500, 502, 503],
    failNext: 0,
    latencyMs: 0,
    dropConnectionRate: 0,
    webhookDropRate: 0,
    webhookDuplicateRate: 0,
    webhookReorderWindowMs: 0,
  };
}

export interface IdempotencyRecord {
  field: string;
  fingerprint: string;
  result: unknown;
}

/** Logs keep the most recent entries only, so long benchmarks do not grow without bound. */
export const LOG_LIMIT = 20_000;
/**
 * A log may run this far over its limit before its oldest entries go, all at once: dropping one
 * per push moved the whole array each time (a full delivery log cost the emulator a sixth of its
 * CPU in bench:fleet, 6,000 echoes a second).
 */
export const LOG_SLACK = LOG_LIMIT / 8;

/** Appends to a log that keeps its last LOG_LIMIT entries (up to LOG_SLACK more between trims). */
export function pushCapped<T>(list: T[], item: T): T[] {
  list.push(item);
  return list.length > LOG_LIMIT + LOG_SLACK ? list.splice(0, list.length - LOG_LIMIT) : [];
}

export interface Shop {
  domain: string;
  /** IANA time zone (REST bodies write times in its offset); absent: DEFAULT_SHOP_TIMEZONE. */
  timezone?: string;
  name: string;
  email: string;
  currency: string;
  plan: Plan;
  restoreRate: number;
  bucketSize: number;
  oauthMode: "auto" | "page";
  installations: Map<number, { scopes: string[]; installedAt: string }>;
  buckets: Map<number, BucketState>;
  faults: Faults;
  locations: Map<number, Location>;
  products: Map<number, Product>;
  variants: Map<number, Variant>;
  inventoryItems: Map<number, InventoryItem>;
  levels: LevelStore;
  customers: Map<number, Customer>;
  companies: Map<number, Company>;
  orders: Map<number, Order>;
  fulfillmentOrders: Map<number, FulfillmentOrder>;
  fulfillments: Map<number, Fulfillment>;
  refunds: Map<number, Refund>;
  returns: Map<number, ReturnRecord>;
  webhookSubscriptions: Map<number, WebhookSubscription>;
  bulkOperations: Map<number, BulkOperation>;
  /** Collections products can be in (emulator/products.ts creates the map on first use). */
  collections?: Map<number, Collection>;
  idempotency: Map<string, IdempotencyRecord>;
  apiCalls: ApiCall[];
  /**
   * `refunds/create` payloads carry a `return` (id, gid) for a return's refund. Off by default:
   * Shopify's REST Refund resource documents no such field; on, the hub's shortcut is exercised.
   */
  refundPayloadReturn?: boolean;
  nextOrderNumber: number;
  createdAt: string;
}

export type WebhookEmitter = (shop: Shop, topic: string, payload: unknown) => void;

export class Store {
  readonly apps = new Map<number, App>();
  readonly shops = new Map<string, Shop>();
  readonly tokens = new Map<string, AccessToken>();
  readonly refreshTokens = new Map<string, RefreshToken>();
  readonly codes = new Map<string, AuthCode>();
  private seq = 1_000_000;
  /** Set by the webhook dispatcher; topics are REST style (`orders/create`). */
  emit: WebhookEmitter = () => {};
  /**
   * TEST ONLY: accept plain `http://` webhook addresses on loopback hosts (Shopify accepts HTTPS
   * only). The hub's tests receive deliveries on a local plain-HTTP server.
   */
  testOnlyAllowPlainHttpWebhooks = false;
  /** Subscriptions Shopify removed after their deliveries failed through the whole retry schedule. */
  readonly removedWebhookSubscriptions: {
    shop: string;
    appId: number;
    id: number;
    topic: string;
    uri: string;
    removedAt: string;
  }[] = [];

  constructor(readonly clock: Clock) {}

  nextId(): number {
    this.seq += 1;
    return this.seq;
  }

  nowIso(): string {
    return this.clock.iso();
  }

  appByClientId(clientId: string): App | undefined {
    for (const a of this.apps.values()) if (a.clientId === clientId) return a;
    return undefined;
  }

  shop(domain: string): Shop {
    const s = this.shops.get(domain.toLowerCase());
    if (!s) throw new ControlError("SHOP_NOT_FOUND", `No shop ${domain}`);
    return s;
  }
}

/** An error of the control API (and of emulator internals), carrying a stable code. */
export class ControlError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export function levelKey(itemId: number, locationId: number): string {
  return `${itemId}:${locationId}`;
}

export function emptyQuantities(): Record<StoredQuantityName, number> {
  return {
    on_hand: 0,
    committed: 0,
    reserved: 0,
    damaged: 0,
    safety_stock: 0,
    quality_control: 0,
    incoming: 0,
  };
}

export function quantity(level: InventoryLevel, name: QuantityName): number {
  if (name !== "available") return level.q[name];
  const q = level.q;
  return q.on_hand - q.committed - q.reserved - q.damaged - q.safety_stock - q.quality_control;
}

/** Set `available` or `on_hand` (the only names Shopify lets apps set); the other moves with it. */
export function setQuantity(level: InventoryLevel, name: QuantityName, value: number, at: string): void {
  if (name === "available") level.q.on_hand += value - quantity(level, "available");
  else level.q[name] = value;
  level.updatedAt = at;
}

export function getLevel(shop: Shop, itemId: number, locationId: number): InventoryLevel | undefined {
  return shop.levels.level(itemId, locationId);
}

/** The levels of one item: looked up per location (few) rather than scanning every level (many). */
export function levelsOfItem(shop: Shop, itemId: number): InventoryLevel[] {
  const out: InventoryLevel[] = [];
  for (const locId of shop.locations.keys()) {
    const l = shop.levels.level(itemId, locId);
    if (l) out.push(l);
  }
  return out;
}

export function ensureLevel(shop: Shop, itemId: number, locationId: number, at: string): InventoryLevel {
  return shop.levels.ensure(itemId, locationId, at);
}

export function variantTitle(v: Variant): string {
  const t = v.selectedOptions.map((o) => o.value).join(" / ");
  return t || "Default Title";
}
