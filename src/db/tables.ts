/**
 * The hub's tables, as Kysely sees them. Glossary (see DESIGN.md "Words we use"):
 * - variant: sellable unit keyed by SKU; warehouse: stock-holding place in the hub.
 * - movement: one back-office ledger document, keyed by the back office's own id (`external_id`).
 * - ledger entry: the effect of a movement on one (variant, warehouse): a delta or an absolute count.
 *   A transfer has two entries, every other movement one.
 * - stock level: the running balance per (variant, warehouse): on hand, reserved, safety stock.
 * Times are epoch milliseconds (bigint), so both dialects compare them the same way.
 */
import type { ColumnType, Generated } from "kysely";

export interface ApiKeyTable {
  id: Generated<number>;
  name: string;
  /** First characters of the key, shown to operators so they can tell keys apart. */
  prefix: string;
  key_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  /** Comma-separated scopes (`stock,orders`); see src/auth/permissions.ts. */
  scopes: Generated<string>;
}

export interface OperatorAccountTable {
  id: Generated<number>;
  /** NFC, lower case. */
  username: string;
  /** scrypt, self-describing: `scrypt$N$r$p$salt$hash` (base64url). */
  password_hash: string;
  role: "viewer" | "operator" | "admin";
  created_at: number;
  /** `cli`, `first-visit` or the admin who created the account. */
  created_by: string;
  disabled_at: number | null;
  last_sign_in_at: number | null;
}

export interface OperatorSessionTable {
  token_hash: string;
  account_id: number;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  /** `operator:NAME`, `api-key:NAME` or `system`. */
  actor: string;
  store_id: number | null;
  /** e.g. `order_settings.update`, `account.create`, `api_key.revoke`. */
  action: string;
  target: string | null;
  before: string | null;
  after: string | null;
}

export interface WarehouseTable {
  id: Generated<number>;
  code: string;
  name: string;
  created_at: number;
  updated_at: number;
}

export interface VariantTable {
  id: Generated<number>;
  sku: string;
  barcode: string | null;
  title: string | null;
  option1: string | null;
  option2: string | null;
  option3: string | null;
  created_at: number;
  updated_at: number;
  /** The product this variant belongs to (migration 0015); null for a variant known only by SKU. */
  product_id: ColumnType<number | null, number | null | undefined, number | null>;
  /** Its place among the product's variants, from 1. */
  position: ColumnType<number | null, number | null | undefined, number | null>;
  weight_value: ColumnType<number | null, number | null | undefined, number | null>;
  weight_unit: ColumnType<WeightUnit | null, WeightUnit | null | undefined, WeightUnit | null>;
  /** 1 or 0; null when not known (a variant known only by SKU). */
  taxable: ColumnType<number | null, number | null | undefined, number | null>;
  inventory_tracked: ColumnType<number | null, number | null | undefined, number | null>;
  /** Money in minor units (cents) of the shop's currency. */
  price_minor: ColumnType<number | null, number | null | undefined, number | null>;
  compare_at_price_minor: ColumnType<number | null, number | null | undefined, number | null>;
  cost_minor: ColumnType<number | null, number | null | undefined, number | null>;
}

export type WeightUnit = "GRAMS" | "KILOGRAMS" | "OUNCES" | "POUNDS";
export type ProductStatus = "active" | "draft" | "archived";

/** A product of the back office's catalog (migration 0015), keyed by the back office's code. */
export interface ProductTable {
  id: Generated<number>;
  key: string;
  title: string;
  /** NFC, lower-cased title: the case-insensitive prefix search's index. */
  title_lower: string;
  description_html: string | null;
  vendor: string | null;
  product_type: string | null;
  /** JSON array of strings. */
  tags: string;
  status: ProductStatus;
  category_gid: string | null;
  seo_title: string | null;
  seo_description: string | null;
  /** Hash of the product as last sent; a re-send with the same hash changes nothing. */
  content_hash: string;
  created_at: number;
  updated_at: number;
}

export interface ProductOptionTable {
  product_id: number;
  /** 1 to 3. */
  position: number;
  name: string;
  /** JSON array of the option's values, in order. */
  option_values: string;
}

export interface ProductImageTable {
  product_id: number;
  position: number;
  url: string;
  alt: string | null;
}

export interface ProductMetafieldTable {
  product_id: number;
  namespace: string;
  key: string;
  type: string;
  value: string;
}

/** A hub product linked to a Shopify product in one store, with the last state seen there. */
export interface ProductLinkTable {
  store_id: number;
  product_id: number;
  shopify_product_gid: string;
  /** JSON of the product as last seen in Shopify. */
  last_seen: string | null;
  last_seen_at: number | null;
  linked_at: number;
}

export type MovementType = "receipt" | "sale" | "return" | "adjustment" | "transfer" | "count";

export interface MovementTable {
  id: Generated<number>;
  external_id: string;
  type: MovementType;
  variant_id: number;
  warehouse_id: number;
  to_warehouse_id: number | null;
  quantity: number;
  occurred_at: number;
  recorded_at: number;
  /** Hash of the movement as sent, to tell a harmless re-send from a conflicting one. */
  content_hash: string;
}

export interface LedgerEntryTable {
  id: Generated<number>;
  movement_id: number;
  variant_id: number;
  warehouse_id: number;
  kind: "delta" | "count";
  quantity: number;
  occurred_at: number;
}

export interface StockLevelTable {
  variant_id: number;
  warehouse_id: number;
  on_hand: number;
  reserved: number;
  safety_stock: number;
  /** The count that on hand is based on (occurred_at, movement id), or null before the first count. */
  last_count_at: number | null;
  last_count_seq: number | null;
  updated_at: number;
}

export type StoreStatus = "active" | "disconnected";
export type InventoryMode = "delta" | "absolute";
export type FlowName =
  | "inventory_push"
  | "order_intake"
  | "fulfillment_push"
  | "catalog_import"
  | "catalog_publish"
  | "customer_publish";
export type FlowState = "disabled" | "enabled" | "paused";

export interface StoreTable {
  id: Generated<number>;
  /** `<name>.myshopify.com` */
  domain: string;
  name: string;
  auth_kind: "oauth" | "custom_app";
  /** AES-256-GCM, see src/shops/secrets.ts; never logged. */
  access_token_enc: string | null;
  access_token_expires_at: number | null;
  refresh_token_enc: string | null;
  refresh_token_expires_at: number | null;
  /** Granted scopes, comma-separated. */
  scopes: string;
  /** Custom-app stores only: that app's webhook secret, encrypted (migration 0003). */
  webhook_secret_enc: Generated<string | null>;
  status: StoreStatus;
  status_reason: string | null;
  inventory_mode: InventoryMode;
  connected_at: number;
  disconnected_at: number | null;
  updated_at: number;
  /** The store's longest coalescing window in ms; null: COALESCE_WINDOW_MS (migration 0020). */
  coalesce_window_ms: ColumnType<number | null, number | null | undefined, number | null>;
}

/** Each store's webhook subscriptions as last checked (migration 0020, src/shops/webhook-health.ts). */
export interface WebhookHealthTable {
  store_id: number;
  checked_at: number;
  uri: string;
  /** JSON arrays of GraphQL topic names. */
  expected: string;
  missing: string;
  recreated: string;
  /** JSON array of { topic, message } Shopify refused to create. */
  failed: string;
  /** Why the store's webhooks cannot work now (operator-readable); null: healthy. */
  problem: string | null;
  degraded_since: number | null;
}

/** Deliveries whose X-Shopify-Triggered-At was far in the past (migration 0020). */
export interface WebhookLateTable {
  store_id: number;
  count: number;
  last_topic: string;
  last_late_at: number;
  max_late_ms: number;
}

/** Shopify's X-Shopify-API-Deprecated-Reason per store and operation (migration 0020). */
export interface ApiDeprecationTable {
  store_id: number;
  operation: string;
  api_version: string;
  reason: string;
  first_seen_at: number;
  last_seen_at: number;
  count: number;
}

export interface OAuthStateTable {
  state: string;
  shop: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface StoreLocationTable {
  id: Generated<number>;
  store_id: number;
  location_gid: string;
  name: string;
  active_in_shopify: number;
  /** 1 when the hub pushes stock to this location. */
  managed: number;
  /** 1 for the store's default location (orders without a location). */
  is_default: number;
  updated_at: number;
}

export interface LocationWarehouseTable {
  store_location_id: number;
  warehouse_id: number;
}

export interface VariantLinkTable {
  store_id: number;
  variant_id: number;
  product_variant_gid: string;
  inventory_item_gid: string;
  /** manual: linked by an operator (kept by later links and imports until unlinked). */
  matched_by: "sku" | "barcode" | "manual";
  linked_at: number;
  /** The Shopify product the variant belongs to (migration 0017; null: linked before it). */
  shopify_product_gid: ColumnType<string | null, string | null | undefined, string | null>;
  /** JSON { sku, barcode } of the variant as last seen in Shopify, and when. */
  last_seen: ColumnType<string | null, string | null | undefined, string | null>;
  last_seen_at: ColumnType<number | null, number | null | undefined, number | null>;
}

export type LinkProblemKind =
  | "duplicate_sku_in_shopify"
  | "duplicate_barcode_in_shopify"
  | "not_in_shopify"
  | "not_in_hub"
  | "deleted_in_shopify"
  /** A Shopify variant with neither SKU nor barcode: nothing to match it by (migration 0017). */
  | "no_sku_or_barcode"
  /** One hub variant is the match of two Shopify variants (by SKU and by barcode). */
  | "hub_variant_matches_two"
  /** A linked variant's SKU changed in Shopify to one no hub variant has: unlinked. */
  | "sku_changed_in_shopify";

export interface LinkProblemTable {
  id: Generated<number>;
  store_id: number;
  kind: LinkProblemKind;
  sku: string | null;
  barcode: string | null;
  product_variant_gid: string | null;
  detail: string;
  detected_at: number;
  /** JSON array of Shopify variant GIDs to pick from (migration 0023); null: none. */
  candidates: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface FlowTable {
  store_id: number;
  flow: FlowName;
  state: FlowState;
  updated_at: number;
  /** Why the flow stopped on an error no retry can fix (bad key, revoked token, missing scope). */
  failure: ColumnType<string | null, string | null | undefined, string | null>;
  failed_at: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface PushDirtyTable {
  store_id: number;
  variant_id: number;
  first_marked_at: number;
  generation: number;
}

export interface InventorySyncTable {
  store_id: number;
  inventory_item_gid: string;
  location_gid: string;
  variant_id: number;
  /** Delta mode: the hub's desired on_hand as Shopify holds it (moved by Shopify's own changes too). */
  pushed: number | null;
  /** Shopify's `on_hand` as last confirmed (absolute mode's changeFromQuantity). */
  confirmed: number | null;
  confirmed_at: number | null;
  /** Why Shopify refused the last push of this item-location; null when it was accepted. */
  error: string | null;
  error_attempts: Generated<number>;
  /** A refused item waits until then. */
  retry_at: number | null;
  /** 1: Shopify reported a change here; read it before the next push. */
  recheck: Generated<number>;
}

export interface PushBatchTable {
  id: Generated<number>;
  store_id: number;
  idempotency_key: string;
  mode: InventoryMode;
  payload: string;
  status: "pending" | "done" | "failed";
  attempts: number;
  last_error: string | null;
  created_at: number;
  finished_at: number | null;
}

export interface ActivityLogTable {
  id: Generated<number>;
  store_id: number | null;
  flow: string;
  kind: string;
  level: "info" | "warn" | "error";
  message: string;
  /** JSON with the ids involved; never personal data or secrets. */
  data: string | null;
  created_at: number;
}

export interface DriftRunTable {
  id: Generated<number>;
  store_id: number;
  trigger: "schedule" | "operator";
  status: "running" | "done" | "failed";
  checked: number;
  drifted: number;
  fixed: number;
  error: string | null;
  started_at: number;
  finished_at: number | null;
}

export interface StoreLeaseTable {
  store_id: number;
  /** The worker holding the lease (host:pid:random). */
  owner: string;
  expires_at: number;
  /** Raised each time the store changes hands: the fencing token of the holder's writes. */
  generation: Generated<number>;
}

/** A live hub process running workers (the fair share of stores is counted over these). */
export interface HubWorkerTable {
  id: string;
  started_at: number;
  expires_at: number;
}

/** Facts about the hub itself, by name (e.g. `key_check`). */
export interface HubMetaTable {
  name: string;
  value: string;
  updated_at: number;
}

// ---- orders (migration 0004) ----

export type InboxStatus = "pending" | "done" | "failed" | "dead";

export interface WebhookInboxTable {
  id: Generated<number>;
  webhook_id: string;
  shop: string;
  topic: string;
  /** The raw body as received (may hold personal data; never logged). */
  body: string;
  received_at: number;
  status: InboxStatus;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  processed_at: number | null;
  /** The Shopify order the delivery concerns, when it concerns one (migration 0013). */
  order_gid: ColumnType<string | null, string | null | undefined, string | null>;
  /** The claim of the worker applying it (migration 0028, src/jobs/queue.ts). */
  claimed_by: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface CompanyTable {
  id: Generated<number>;
  name: string;
  created_at: number;
  updated_at: number;
}

export interface CustomerTable {
  id: Generated<number>;
  /** Lower-cased; null for walk-ins and redacted customers. */
  email: string | null;
  kind: "person" | "company_contact";
  name: string | null;
  phone: string | null;
  company_id: number | null;
  redacted_at: number | null;
  created_at: number;
  updated_at: number;
}

export type OrderStatus = "skipped" | "waiting" | "parked" | "imported" | "cancelled";

export interface OrderTable {
  id: Generated<number>;
  store_id: number;
  shopify_order_gid: string;
  name: string;
  shopify_updated_at: number;
  shopify_created_at: number;
  financial_status: string | null;
  fulfillment_status: string | null;
  cancelled_at: number | null;
  location_gid: string | null;
  warehouse_id: number | null;
  customer_id: number | null;
  company_id: number | null;
  status: OrderStatus;
  park_reason: string | null;
  email: string | null;
  customer_name: string | null;
  phone: string | null;
  addresses: string | null;
  currency: string | null;
  total_price: string | null;
  source: string;
  content_hash: string;
  feed_seq: number | null;
  imported_at: number | null;
  acked_at: number | null;
  acked_seq: number | null;
  finished_at: number | null;
  redacted_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface OrderLineTable {
  id: Generated<number>;
  order_id: number;
  shopify_line_gid: string;
  sku: string | null;
  title: string | null;
  variant_id: number | null;
  quantity: number;
  current_quantity: number;
  fulfilled_quantity: number;
  fulfillable_quantity: number;
  price: string;
}

export interface ReservationTable {
  order_id: number;
  variant_id: number;
  warehouse_id: number;
  quantity: number;
}

export interface OrderFeedTable {
  id: Generated<number>;
  order_id: number;
  created_at: number;
}

export type OutboundEventType =
  | "order.created"
  | "order.updated"
  | "order.cancelled"
  | "order.refunded"
  | "order.returned";

/** A payment transaction of a Shopify order (migration 0008). */
export interface OrderTransactionTable {
  id: Generated<number>;
  store_id: number;
  shopify_order_gid: string;
  transaction_gid: string;
  /** money.ts `Transaction`, JSON. */
  data: string;
  created_at: number;
  updated_at: number;
}

/** Per-store mapping of order values to back-office codes (migration 0008; mapping.ts). */
export interface OrderMappingsTable {
  store_id: number;
  mappings: string;
  updated_at: number;
}

export interface OutboundEventTable {
  id: Generated<number>;
  event_id: string;
  store_id: number;
  order_id: number;
  type: OutboundEventType;
  payload: string;
  status: "pending" | "delivered" | "dead";
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
  /** The claim of the worker delivering it (migration 0018, src/jobs/queue.ts). */
  claimed_by: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface OrderTagJobTable {
  id: Generated<number>;
  store_id: number;
  shopify_order_gid: string;
  tag: string;
  status: "pending" | "done" | "dead";
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  /** The claim of the worker sending it (migration 0018, src/jobs/queue.ts). */
  claimed_by: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface OrderSettingsTable {
  store_id: number;
  settings: string;
  backfill_cursor: number | null;
  backfill_at: number | null;
  updated_at: number;
}

export interface ComplianceRequestTable {
  id: Generated<number>;
  store_id: number | null;
  shop: string;
  topic: string;
  data: string;
  created_at: number;
  /** Hash of the customer a data-request export is about (migration 0020); a redact empties it. */
  subject: ColumnType<string | null, string | null | undefined, string | null>;
}

// ---- fulfillment (migration 0006) ----

export type ShipmentStatus = "pending" | "applied" | "partially_applied" | "parked" | "rejected" | "failed";

export interface ShipmentTable {
  id: Generated<number>;
  store_id: number;
  order_id: number;
  /** The back office's shipment id: the idempotency key. */
  external_id: string;
  content_hash: string;
  warehouse_id: number;
  notify_customer: number;
  status: ShipmentStatus;
  reason: string | null;
  attempts: number;
  next_attempt_at: number;
  /** 1 when packages changed after fulfillments were created (tracking update due). */
  tracking_pending: number;
  created_at: number;
  updated_at: number;
  /** The claim of the worker delivering it (migration 0028, src/jobs/queue.ts). */
  claimed_by: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ShipmentLineTable {
  id: Generated<number>;
  shipment_id: number;
  shopify_line_gid: string;
  sku: string | null;
  variant_id: number;
  quantity: number;
  /** Units of this line that Shopify shows fulfilled for this shipment. */
  fulfilled_quantity: Generated<number>;
}

export interface ShipmentPackageTable {
  id: Generated<number>;
  shipment_id: number;
  carrier: string | null;
  tracking_number: string | null;
  tracking_url: string | null;
}

export interface ShipmentFulfillmentTable {
  id: Generated<number>;
  shipment_id: number;
  fulfillment_order_gid: string;
  fulfillment_gid: string | null;
  /** JSON [{ lineGid, quantity }] */
  lines: string;
  status: "done" | "failed";
  last_error: string | null;
  created_at: number;
}

export type RestockRule = "none" | "order_warehouse" | "returns_warehouse";

export interface RefundTable {
  id: Generated<number>;
  store_id: number;
  order_id: number;
  shopify_refund_gid: string;
  restock_rule: RestockRule;
  restock_warehouse_id: number | null;
  /** JSON [{ lineGid, sku, quantity, restockType, restocked }] */
  lines: string;
  source: "webhook" | "poll";
  shopify_created_at: number;
  created_at: number;
}

export type ShopifyFulfillmentRule = "record_in_ledger" | "back_office";

/** One line of one Shopify fulfillment of a hub order, whoever made it (migration 0007). */
export interface FulfillmentRecordTable {
  store_id: number;
  fulfillment_gid: string;
  line_gid: string;
  order_id: number;
  variant_id: number | null;
  location_gid: string | null;
  quantity: number;
  origin: "hub" | "shopify";
  /** Units covering what the back office shipped through the hub (no second sale). */
  hub_quantity: number;
  /** Units recorded as a `sale` movement. */
  sale_quantity: number;
  warehouse_id: number | null;
  cancelled: number;
  occurred_at: number;
  recorded_at: number;
}

export interface FulfillmentSettingsTable {
  store_id: number;
  shopify_fulfillments: Generated<ShopifyFulfillmentRule>;
  notify_customer: number;
  restock_rule: RestockRule;
  returns_warehouse_id: number | null;
  updated_at: number;
}

/** A store's own safety stock (migration 0016): units of every SKU held back from its locations. */
export interface StoreStockRulesTable {
  store_id: number;
  safety_stock: number;
  updated_at: number;
}

export type OperatorJobKind =
  | "link"
  | "dry_run"
  | "drift_check"
  | "initial_sync"
  | "sync_locations"
  | "read_levels"
  | "after_connect"
  | "catalog_import"
  | "opening_count"
  | "catalog_publish_dry_run"
  | "link_variant";
export type OperatorJobStatus = "queued" | "running" | "done" | "failed" | "cancelled";

/** Long work on one store, run under its lease (migration 0011). */
export interface OperatorJobTable {
  id: Generated<number>;
  store_id: number;
  kind: OperatorJobKind;
  status: OperatorJobStatus;
  /** JSON { phase, done, total } */
  progress: string | null;
  /** JSON */
  result: string | null;
  error: string | null;
  cancel_requested: number;
  attempts: number;
  /** JSON parameters of the job (migration 0014); null: none. */
  params?: string | null;
  /** The error envelope's code of a failed job (migration 0014). */
  error_code?: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

/** One sample of a store's flows, every ~30 s, kept a few days (migration 0013). */
export interface StoreSeriesTable {
  store_id: number;
  at: number;
  /** Age in seconds of the oldest change waiting for the inventory push; null when none waits. */
  lag_seconds: number | null;
  /** Items waiting for the inventory push. */
  backlog: number;
  /** Quantities pushed to Shopify since the previous sample. */
  pushed: number;
  /** Orders imported since the previous sample. */
  orders_imported: number;
  /** The last activity_log id counted for `pushed`. */
  activity_id: number;
}

/** A failure an operator chose to hide, with why (migration 0013). */
export interface FailureDismissalTable {
  kind: string;
  item_id: string;
  store_id: number | null;
  reason: string;
  actor: string;
  dismissed_at: number;
}

export type CatalogImportMode = "create_only" | "create_and_overwrite";
export type CatalogImportStatus = "running" | "done" | "failed" | "cancelled";

/** One import of a store's catalog from Shopify (migration 0017; src/catalog/import/). */
export interface CatalogImportTable {
  id: Generated<number>;
  store_id: number;
  job_id: number;
  mode: CatalogImportMode;
  /** JSON array of the fields the import may write. */
  fields: string;
  status: CatalogImportStatus;
  bulk_operation_gid: string | null;
  result_url: string | null;
  /** JSONL lines applied so far: a resumed run skips them. */
  line_offset: number;
  products_read: number;
  variants_read: number;
  matched: number;
  created: number;
  updated: number;
  problems: number;
  error: string | null;
  started_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** The one opening count a store's Shopify quantities gave (migration 0017). */
export interface OpeningCountTable {
  store_id: number;
  movements: number;
  counted_at: number;
  applied_at: number;
}

export interface Tables {
  api_keys: ApiKeyTable;
  operator_accounts: OperatorAccountTable;
  operator_sessions: OperatorSessionTable;
  audit_log: AuditLogTable;
  warehouses: WarehouseTable;
  variants: VariantTable;
  products: ProductTable;
  product_options: ProductOptionTable;
  product_images: ProductImageTable;
  product_metafields: ProductMetafieldTable;
  product_links: ProductLinkTable;
  catalog_imports: CatalogImportTable;
  opening_counts: OpeningCountTable;
  movements: MovementTable;
  ledger_entries: LedgerEntryTable;
  stock_levels: StockLevelTable;
  stores: StoreTable;
  oauth_states: OAuthStateTable;
  store_locations: StoreLocationTable;
  location_warehouses: LocationWarehouseTable;
  variant_links: VariantLinkTable;
  link_problems: LinkProblemTable;
  flows: FlowTable;
  push_dirty: PushDirtyTable;
  inventory_sync: InventorySyncTable;
  push_batches: PushBatchTable;
  activity_log: ActivityLogTable;
  drift_runs: DriftRunTable;
  store_leases: StoreLeaseTable;
  hub_workers: HubWorkerTable;
  hub_meta: HubMetaTable;
  webhook_inbox: WebhookInboxTable;
  companies: CompanyTable;
  customers: CustomerTable;
  orders: OrderTable;
  order_lines: OrderLineTable;
  reservations: ReservationTable;
  order_feed: OrderFeedTable;
  outbound_events: OutboundEventTable;
  order_transactions: OrderTransactionTable;
  order_mappings: OrderMappingsTable;
  order_tag_jobs: OrderTagJobTable;
  order_settings: OrderSettingsTable;
  compliance_requests: ComplianceRequestTable;
  shipments: ShipmentTable;
  shipment_lines: ShipmentLineTable;
  shipment_packages: ShipmentPackageTable;
  shipment_fulfillments: ShipmentFulfillmentTable;
  refunds: RefundTable;
  fulfillment_settings: FulfillmentSettingsTable;
  store_stock_rules: StoreStockRulesTable;
  fulfillment_records: FulfillmentRecordTable;
  operator_jobs: OperatorJobTable;
  store_series: StoreSeriesTable;
  failure_dismissals: FailureDismissalTable;
  webhook_health: WebhookHealthTable;
  webhook_late: WebhookLateTable;
  api_deprecations: ApiDeprecationTable;
}
