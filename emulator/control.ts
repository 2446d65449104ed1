// The control API: what a test, the demo or a benchmark does to the emulated Shopify that is not
// part of Shopify's own surface. The same methods are served over HTTP by server.ts.

import { randomBytes } from "node:crypto";
import { type BucketState, newBucket, refill, setAvailable, setDrainRate, throttleStatus } from "./bucket.ts";
import { holdBulkOperations } from "./bulk-hold.ts";
import { type ComplianceInput, compliancePayload, SHOP_REDACT_DELAY_MS } from "./compliance.ts";
import {
  holdFulfillmentOrder,
  openDueScheduled,
  releaseFulfillmentOrderHold,
  setFulfillmentRequestStatus,
} from "./fulfillment-holds.ts";
import { gid } from "./gid.ts";
import { LevelEvents } from "./level-events.ts";
import { LevelStore } from "./levels.ts";
import { mintCustomToken } from "./oauth.ts";
import { fmt } from "./order-money.ts";
import {
  cancelFulfillment,
  cancelOrder,
  createRefund,
  currentQuantity,
  displayFulfillmentStatus,
  type EditOrderInput,
  editOrder,
  type FulfillInput,
  fulfill,
  fulfillableQuantity,
  orderPayload,
  orderTotals,
  type PlaceOrderInput,
  placeOrder,
  type RefundLineInput,
  type RefundMoneyInput,
  recordPayment,
  toNumericId,
  type UpdateOrderInput,
  updateOrder,
} from "./orders.ts";
import {
  controlProductDelete,
  controlProductSet,
  enrichSeedProduct,
  type ProductSetArgs,
  seedOptions,
} from "./products.ts";
import { createVariant } from "./resolvers/catalog.ts";
import { DEFAULT_SHOP_TIMEZONE, restTimes } from "./rest-time.ts";
import {
  type Address,
  BUCKET_SECONDS,
  ControlError,
  ensureLevel,
  type Faults,
  type Fulfillment,
  type FulfillmentRequestStatus,
  type InventoryLevel,
  noFaults,
  type Order,
  PLAN_RESTORE_RATE,
  type Plan,
  type Product,
  QUANTITY_NAMES,
  type QuantityName,
  quantity,
  type RestockType,
  type Shop,
  type Store,
  setQuantity,
  type TrackingInfo,
} from "./state.ts";
import { type Delivery, type WebhookDispatcher, type WebhookOptions, webhookUriProblem } from "./webhooks.ts";

const SHOP_DOMAIN = /^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$/;

export interface AppView {
  id: number;
  name: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
}

export interface ShopView {
  domain: string;
  name: string;
  plan: Plan;
  restoreRate: number;
  bucketSize: number;
  oauthMode: "auto" | "page";
  installedApps: { clientId: string; scopes: string[] }[];
}

export interface LocationView {
  id: string;
  legacyId: number;
  name: string;
  isActive: boolean;
}

export interface VariantView {
  id: string;
  sku: string | null;
  barcode: string | null;
  price: string;
  inventoryItemId: string;
  options: { name: string; value: string }[];
}

export interface ProductView {
  id: string;
  title: string;
  status: string;
  variants: VariantView[];
}

export type LevelView = { inventoryItemId: string; locationId: string; sku: string | null } & Record<
  QuantityName,
  number
>;

export interface OrderView {
  id: string;
  legacyId: number;
  name: string;
  email: string | null;
  financialStatus: string;
  displayFulfillmentStatus: string;
  cancelledAt: string | null;
  tags: string[];
  note: string | null;
  locationId: string;
  /** "web" or "pos". */
  sourceName: string;
  updatedAt: string;
  /** Shopify's totals (decimal strings) in shop and presentment currency, and the payments. */
  currency: string;
  presentmentCurrency: string;
  totals: Record<
    "subtotal" | "discounts" | "shipping" | "tax" | "duties" | "total",
    { shop: string; presentment: string }
  >;
  transactions: { id: string; kind: string; status: string; gateway: string; amount: string }[];
  lineItems: {
    id: string;
    sku: string | null;
    variantId: string | null;
    quantity: number;
    /** quantity less removed units and refunded fulfilled units (Shopify's currentQuantity). */
    currentQuantity: number;
    fulfilledQuantity: number;
    fulfillableQuantity: number;
    refundedQuantity: number;
    /** Units removed before fulfilment (cancellation, CANCEL refunds, order edits). */
    removedQuantity: number;
  }[];
  fulfillmentOrders: {
    id: string;
    status: string;
    locationId: string;
    lineItems: { id: string; lineItemId: string; totalQuantity: number; remainingQuantity: number }[];
  }[];
  fulfillments: FulfillmentView[];
  refunds: {
    id: string;
    lineItems: { lineItemId: string; quantity: number; restockType: string; restocked: boolean }[];
  }[];
}

export interface FulfillmentView {
  id: string;
  legacyId: number;
  name: string;
  status: string;
  locationId: string;
  tracking: { company: string | null; number: string | null; url: string | null }[];
  lineItems: { lineItemId: string; quantity: number }[];
}

export interface FulfillOrderInput {
  /** Units per order line; without: everything remaining on the order's open fulfillment orders. */
  lines?: { lineItemId: string | number; quantity: number }[];
  tracking?: { number: string; company?: string; url?: string }[];
  notifyCustomer?: boolean;
}

export interface ControlEditOrderInput {
  /** New current quantity per existing line (lower removes unfulfilled units, higher adds). */
  lines?: { lineItemId: string | number; quantity: number; restock?: boolean }[];
  add?: { variantId?: string | number; sku?: string; quantity: number; price?: string | number }[];
  notifyCustomer?: boolean;
  staffNote?: string;
}

export interface CreateProductInput {
  title: string;
  vendor?: string;
  productType?: string;
  status?: "ACTIVE" | "DRAFT" | "ARCHIVED";
  tags?: string[];
  variants?: {
    sku?: string;
    barcode?: string;
    price?: string | number;
    options?: { name: string; value: string }[];
    /** Initial `available` per location id (gid or number). */
    inventory?: Record<string, number>;
  }[];
}

export interface SeedCatalogInput {
  /** Variants to create in all (default 1,000), `variantsPerProduct` to a product (default 100, at most 2,048). */
  variants?: number;
  variantsPerProduct?: number;
  /** Locations to stock them at: existing location ids, or a count (the shop's first N locations, created when missing). */
  locations?: (string | number)[] | number;
  /** SKU of variant i: `${skuPrefix}${i padded to 7 digits}` (default "SEED-"); barcode: `${barcodePrefix}${i}` when set. */
  skuPrefix?: string;
  barcodePrefix?: string;
  /** `available` at every level (default 0), or a formula: `(variant index + location index) % modulo` when `modulo` is set. */
  quantity?: number;
  modulo?: number;
  /** Title prefix of the products (default "Seed product"). */
  title?: string;
  /**
   * A curated store's catalog (`--catalog N`): products with up to 3 options (Size, Color,
   * Material), description, vendor, SEO, category, a collection, `images` images and
   * `metafields` metafields each (defaults 3 and 2; emulator/products.ts).
   */
  catalog?: boolean;
  images?: number;
  metafields?: number;
}

export interface SeedCatalogResult {
  products: number;
  variants: number;
  levels: number;
  locations: string[];
  firstSku: string | null;
  lastSku: string | null;
  ms: number;
}

export interface ThrottlePressureInput {
  shop: string;
  clientId: string;
  /** Points per second drained by the other spender (0 stops it). */
  drainRate?: number;
  /** Set the currently available points directly. */
  available?: number;
}

export class Control {
  constructor(
    private readonly store: Store,
    private readonly webhooks: WebhookDispatcher,
  ) {}

  // ---- apps, shops, tokens ----

  createApp(input: { name?: string; clientId?: string; clientSecret?: string; scopes: string[] }): AppView {
    const clientId = input.clientId ?? randomBytes(16).toString("hex");
    if (this.store.appByClientId(clientId))
      throw new ControlError("APP_EXISTS", `App ${clientId} already exists`, 409);
    const app = {
      id: this.store.nextId(),
      name: input.name ?? "Tillbridge",
      clientId,
      clientSecret: input.clientSecret ?? randomBytes(24).toString("hex"),
      scopes: input.scopes ?? [],
    };
    this.store.apps.set(app.id, app);
    return { ...app };
  }

  createShop(input: {
    domain: string;
    name?: string;
    plan?: Plan;
    bucketSize?: number;
    currency?: string;
    email?: string;
    oauthMode?: "auto" | "page";
    /** IANA zone; REST webhook bodies write times in its offset (default America/New_York). */
    timezone?: string;
  }): ShopView {
    const domain = input.domain.toLowerCase();
    if (!SHOP_DOMAIN.test(domain))
      throw new ControlError("INVALID_DOMAIN", "Shop domain must be <name>.myshopify.com");
    if (this.store.shops.has(domain))
      throw new ControlError("SHOP_EXISTS", `Shop ${domain} already exists`, 409);
    const plan = input.plan ?? "standard";
    if (!(plan in PLAN_RESTORE_RATE)) throw new ControlError("INVALID_PLAN", `Unknown plan ${plan}`);
    const restoreRate = PLAN_RESTORE_RATE[plan];
    const at = this.store.nowIso();
    const shop: Shop = {
      domain,
      name: input.name ?? domain.split(".")[0]!,
      ...(input.timezone ? { timezone: input.timezone } : {}),
      email: input.email ?? `owner@${domain}`,
      currency: input.currency ?? "USD",
      plan,
      restoreRate,
      bucketSize: input.bucketSize ?? restoreRate * BUCKET_SECONDS,
      oauthMode: input.oauthMode ?? "auto",
      installations: new Map(),
      buckets: new Map(),
      faults: noFaults(),
      locations: new Map(),
      products: new Map(),
      variants: new Map(),
      inventoryItems: new Map(),
      levels: new LevelStore(),
      customers: new Map(),
      companies: new Map(),
      orders: new Map(),
      fulfillmentOrders: new Map(),
      fulfillments: new Map(),
      refunds: new Map(),
      returns: new Map(),
      webhookSubscriptions: new Map(),
      bulkOperations: new Map(),
      idempotency: new Map(),
      apiCalls: [],
      nextOrderNumber: 1001,
      createdAt: at,
    };
    this.store.shops.set(domain, shop);
    return this.shopView(shop);
  }

  updateShop(
    domain: string,
    input: { plan?: Plan; bucketSize?: number; oauthMode?: "auto" | "page" },
  ): ShopView {
    const shop = this.store.shop(domain);
    if (input.plan) {
      shop.plan = input.plan;
      shop.restoreRate = PLAN_RESTORE_RATE[input.plan];
      if (input.bucketSize === undefined) shop.bucketSize = shop.restoreRate * BUCKET_SECONDS;
    }
    if (input.bucketSize !== undefined) shop.bucketSize = input.bucketSize;
    if (input.oauthMode) shop.oauthMode = input.oauthMode;
    shop.buckets.clear();
    return this.shopView(shop);
  }

  getShop(domain: string): ShopView {
    return this.shopView(this.store.shop(domain));
  }

  private shopView(shop: Shop): ShopView {
    return {
      domain: shop.domain,
      name: shop.name,
      plan: shop.plan,
      restoreRate: shop.restoreRate,
      bucketSize: shop.bucketSize,
      oauthMode: shop.oauthMode,
      installedApps: [...shop.installations].map(([id, i]) => ({
        clientId: this.store.apps.get(id)!.clientId,
        scopes: i.scopes,
      })),
    };
  }

  private app(clientId: string) {
    const app = this.store.appByClientId(clientId);
    if (!app) throw new ControlError("APP_NOT_FOUND", `No app ${clientId}`, 404);
    return app;
  }

  /** A custom-app Admin API token (installs the app on the shop with these scopes). */
  mintToken(input: { shop: string; clientId: string; scopes?: string[] }): {
    accessToken: string;
    scopes: string[];
  } {
    const app = this.app(input.clientId);
    const t = mintCustomToken(this.store, this.store.shop(input.shop), app, input.scopes ?? app.scopes);
    return { accessToken: t.value, scopes: t.scopes };
  }

  /** Revoke one token, or every token (and refresh token) of an app on a shop. */
  revokeTokens(input: { token?: string; shop?: string; clientId?: string }): { revoked: number } {
    let n = 0;
    const appId = input.clientId ? this.app(input.clientId).id : undefined;
    for (const t of this.store.tokens.values()) {
      const hit = input.token
        ? t.value === input.token
        : (!input.shop || t.shop === input.shop) && (appId === undefined || t.appId === appId);
      if (hit && !t.revoked) {
        t.revoked = true;
        n++;
      }
    }
    if (!input.token) {
      for (const r of this.store.refreshTokens.values()) {
        if ((!input.shop || r.shop === input.shop) && (appId === undefined || r.appId === appId))
          r.revoked = true;
      }
    }
    return { revoked: n };
  }

  /** The merchant uninstalls the app: tokens die, `app/uninstalled` fires, subscriptions go. */
  uninstallApp(input: { shop: string; clientId: string }): void {
    const shop = this.store.shop(input.shop);
    const app = this.app(input.clientId);
    if (!shop.installations.has(app.id))
      throw new ControlError("NOT_INSTALLED", "The app is not installed on this shop");
    this.revokeTokens({ shop: shop.domain, clientId: app.clientId });
    shop.installations.delete(app.id);
    this.webhooks.emit(
      shop,
      "app/uninstalled",
      {
        id: 1,
        name: shop.name,
        email: shop.email,
        domain: shop.domain,
        myshopify_domain: shop.domain,
        plan_name: shop.plan,
      },
      app.id,
    );
    for (const [id, s] of shop.webhookSubscriptions)
      if (s.appId === app.id) shop.webhookSubscriptions.delete(id);
    shop.buckets.delete(app.id);
    // Shopify asks the app to erase the shop's data 48 hours after an uninstall.
    if (app.complianceUri)
      this.webhooks.emitToApp(
        shop,
        app.id,
        app.complianceUri,
        "shop/redact",
        compliancePayload(shop, { topic: "shop/redact" }, () => this.store.nextId()),
        this.store.clock.now() + SHOP_REDACT_DELAY_MS,
      );
  }

  // ---- catalog and stock ----

  createLocation(
    domain: string,
    input: { name: string; address?: Address; fulfillsOnlineOrders?: boolean; isActive?: boolean },
  ): LocationView {
    const shop = this.store.shop(domain);
    const at = this.store.nowIso();
    const loc = {
      id: this.store.nextId(),
      name: input.name,
      address: input.address ?? {
        address1: "1 Main St",
        city: "Springfield",
        country: "United States",
        countryCode: "US",
        zip: "12345",
      },
      isActive: input.isActive ?? true,
      fulfillsOnlineOrders: input.fulfillsOnlineOrders ?? true,
      createdAt: at,
      updatedAt: at,
    };
    shop.locations.set(loc.id, loc);
    return { id: gid("Location", loc.id), legacyId: loc.id, name: loc.name, isActive: loc.isActive };
  }

  listLocations(domain: string): LocationView[] {
    return [...this.store.shop(domain).locations.values()].map((l) => ({
      id: gid("Location", l.id),
      legacyId: l.id,
      name: l.name,
      isActive: l.isActive,
    }));
  }

  createProduct(domain: string, input: CreateProductInput): ProductView {
    const shop = this.store.shop(domain);
    const at = this.store.nowIso();
    const id = this.store.nextId();
    const variantsIn = input.variants?.length ? input.variants : [{}];
    const product = {
      id,
      title: input.title,
      handle:
        input.title
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, "-")
          .replace(/^-|-$/g, "") || `product-${id}`,
      status: input.status ?? "ACTIVE",
      vendor: input.vendor ?? "",
      productType: input.productType ?? "",
      tags: input.tags ?? [],
      descriptionHtml: "",
      options: [] as { name: string; values: string[] }[],
      variantIds: [] as number[],
      createdAt: at,
      updatedAt: at,
    };
    shop.products.set(id, product);
    for (const v of variantsIn) {
      const variant = createVariant(shop, () => this.store.nextId(), at, id, {
        sku: v.sku ?? null,
        barcode: v.barcode ?? null,
        price: v.price ?? "0.00",
        options: v.options,
      });
      product.variantIds.push(variant.id);
      for (const [loc, qty] of Object.entries(v.inventory ?? {})) {
        const lid = this.locationId(shop, loc);
        setQuantity(ensureLevel(shop, variant.inventoryItemId, lid, at), "available", qty, at);
      }
    }
    const names = new Map<string, string[]>();
    for (const vid of product.variantIds) {
      for (const o of shop.variants.get(vid)!.selectedOptions) {
        const list = names.get(o.name) ?? [];
        if (!list.includes(o.value)) list.push(o.value);
        names.set(o.name, list);
      }
    }
    product.options = [...names].map(([name, values]) => ({ name, values }));
    return this.productView(shop, id);
  }

  /**
   * Creates a large catalog at once (benchmarks): products of `variantsPerProduct` variants, each
   * with an inventory item stocked at the given locations. No webhooks are sent and nothing is
   * returned per item; 100,000 variants at 5 locations take a few seconds.
   */
  seedCatalog(domain: string, input: SeedCatalogInput = {}): SeedCatalogResult {
    const started = Date.now();
    const shop = this.store.shop(domain);
    const total = Math.max(0, Math.floor(input.variants ?? 1000));
    const perProduct = Math.min(2048, Math.max(1, Math.floor(input.variantsPerProduct ?? 100)));
    const prefix = input.skuPrefix ?? "SEED-";
    let locationIds: number[];
    if (Array.isArray(input.locations)) locationIds = input.locations.map((l) => this.locationId(shop, l));
    else {
      const want = input.locations ?? Math.max(1, shop.locations.size);
      while (shop.locations.size < want)
        this.createLocation(domain, { name: `Location ${shop.locations.size + 1}` });
      locationIds = [...shop.locations.keys()].slice(0, want);
    }
    const at = this.store.nowIso();
    const title = input.title ?? "Seed product";
    const sku = (i: number) => `${prefix}${String(i).padStart(7, "0")}`;
    let products = 0;
    for (let first = 0; first < total; first += perProduct) {
      const id = this.store.nextId();
      const n = Math.min(perProduct, total - first);
      const rich = input.catalog ? seedOptions(n) : undefined;
      const product: Product = {
        id,
        title: `${title} ${products + 1}`,
        handle: `${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${products + 1}`,
        status: "ACTIVE" as const,
        vendor: "",
        productType: "",
        tags: [] as string[],
        descriptionHtml: "",
        options: rich
          ? rich.names.map((name, k) => ({ name, values: [...new Set(rich.values.map((v) => v[k]!))] }))
          : [{ name: "Size", values: Array.from({ length: n }, (_, j) => `S${j + 1}`) }],
        variantIds: [] as number[],
        createdAt: at,
        updatedAt: at,
      };
      shop.products.set(id, product);
      if (input.catalog)
        enrichSeedProduct(this.store, shop, product, products, {
          images: input.images ?? 3,
          metafields: input.metafields ?? 2,
        });
      products++;
      for (let j = 0; j < n; j++) {
        const i = first + j;
        const variant = createVariant(shop, () => this.store.nextId(), at, id, {
          sku: sku(i),
          barcode: input.barcodePrefix === undefined ? null : `${input.barcodePrefix}${i}`,
          price: rich ? `${10 + (j % 5) * 5}.00` : "10.00",
          compareAtPrice: rich && j % 3 === 0 ? `${20 + (j % 5) * 5}.00` : null,
          options: rich
            ? rich.names.map((name, k) => ({ name, value: rich.values[j]![k]! }))
            : [{ name: "Size", value: `S${j + 1}` }],
        });
        if (rich) {
          const item = shop.inventoryItems.get(variant.inventoryItemId)!;
          item.weight = { value: 200 + (j % 5) * 50, unit: "GRAMS" };
          item.unitCost = "4.00";
        }
        product.variantIds.push(variant.id);
        for (const [k, lid] of locationIds.entries()) {
          const level = ensureLevel(shop, variant.inventoryItemId, lid, at);
          level.q.on_hand = input.modulo ? (i + k) % input.modulo : (input.quantity ?? 0);
        }
      }
    }
    return {
      products,
      variants: total,
      levels: total * locationIds.length,
      locations: locationIds.map((l) => gid("Location", l)),
      firstSku: total > 0 ? sku(0) : null,
      lastSku: total > 0 ? sku(total - 1) : null,
      ms: Date.now() - started,
    };
  }

  /**
   * Every level's SKU, location and quantities, one at a time (no array of views: 500,000 levels
   * would be 500,000 objects each call). The object passed is reused between calls.
   */
  eachInventoryLevel(
    domain: string,
    visit: (level: { sku: string | null; locationId: number; available: number; onHand: number }) => void,
  ): void {
    const shop = this.store.shop(domain);
    const view = { sku: null as string | null, locationId: 0, available: 0, onHand: 0 };
    shop.levels.scan((l) => {
      const item = shop.inventoryItems.get(l.itemId);
      view.sku = item ? (shop.variants.get(item.variantId)?.sku ?? null) : null;
      view.locationId = l.locationId;
      view.available = quantity(l, "available");
      view.onHand = l.q.on_hand;
      visit(view);
    });
  }

  /** productSet through the control API (fires products/create or products/update as Shopify does). */
  productSet(domain: string, args: ProductSetArgs) {
    return controlProductSet(this.store, this.store.shop(domain), args);
  }

  /** productDelete through the control API (fires products/delete). */
  deleteProduct(domain: string, productId: string | number) {
    const id = typeof productId === "number" ? gid("Product", productId) : productId;
    return controlProductDelete(this.store, this.store.shop(domain), id);
  }

  listProducts(domain: string): ProductView[] {
    const shop = this.store.shop(domain);
    return [...shop.products.keys()].map((id) => this.productView(shop, id));
  }

  private productView(shop: Shop, id: number): ProductView {
    const p = shop.products.get(id)!;
    return {
      id: gid("Product", p.id),
      title: p.title,
      status: p.status,
      variants: p.variantIds.map((vid) => {
        const v = shop.variants.get(vid)!;
        return {
          id: gid("ProductVariant", v.id),
          sku: v.sku,
          barcode: v.barcode,
          price: v.price,
          inventoryItemId: gid("InventoryItem", v.inventoryItemId),
          options: v.selectedOptions,
        };
      }),
    };
  }

  private locationId(shop: Shop, loc: string | number): number {
    const id = toNumericId(loc, "Location");
    if (id === undefined || !shop.locations.has(id))
      throw new ControlError("LOCATION_NOT_FOUND", `No location ${loc}`, 404);
    return id;
  }

  private itemId(shop: Shop, input: { inventoryItemId?: string | number; sku?: string }): number {
    if (input.inventoryItemId !== undefined) {
      const id = toNumericId(input.inventoryItemId, "InventoryItem");
      if (id !== undefined && shop.inventoryItems.has(id)) return id;
    } else if (input.sku) {
      const v = [...shop.variants.values()].find((x) => x.sku === input.sku);
      if (v) return v.inventoryItemId;
    }
    throw new ControlError("ITEM_NOT_FOUND", `No inventory item ${input.inventoryItemId ?? input.sku}`, 404);
  }

  /** A merchant edits stock in the Shopify admin (drift the hub must notice). */
  setInventory(
    domain: string,
    input: {
      inventoryItemId?: string | number;
      sku?: string;
      locationId: string | number;
      name?: QuantityName;
      quantity: number;
    },
  ): LevelView {
    const shop = this.store.shop(domain);
    const itemId = this.itemId(shop, input);
    const lid = this.locationId(shop, input.locationId);
    const at = this.store.nowIso();
    const events = new LevelEvents(this.store, shop);
    const level = events.touch(ensureLevel(shop, itemId, lid, at));
    const name = input.name ?? "available";
    if (name === "available" || name === "on_hand") setQuantity(level, name, input.quantity, at);
    else {
      const delta = input.quantity - level.q[name];
      level.q[name] = input.quantity;
      if (name !== "incoming" && name !== "committed") level.q.on_hand += delta;
      level.updatedAt = at;
    }
    events.flush();
    return this.levelView(shop, level);
  }

  getInventoryLevel(
    domain: string,
    input: { inventoryItemId?: string | number; sku?: string; locationId: string | number },
  ): LevelView | null {
    const shop = this.store.shop(domain);
    const level = shop.levels.get(`${this.itemId(shop, input)}:${this.locationId(shop, input.locationId)}`);
    return level ? this.levelView(shop, level) : null;
  }

  listInventoryLevels(domain: string): LevelView[] {
    const shop = this.store.shop(domain);
    return [...shop.levels.values()].map((l) => this.levelView(shop, l));
  }

  private levelView(shop: Shop, l: InventoryLevel): LevelView {
    const item = shop.inventoryItems.get(l.itemId);
    const sku = item ? (shop.variants.get(item.variantId)?.sku ?? null) : null;
    const q = Object.fromEntries(QUANTITY_NAMES.map((n) => [n, quantity(l, n)])) as Record<
      QuantityName,
      number
    >;
    return {
      inventoryItemId: gid("InventoryItem", l.itemId),
      locationId: gid("Location", l.locationId),
      sku,
      ...q,
    };
  }

  // ---- orders ----

  placeOrder(domain: string, input: PlaceOrderInput): OrderView {
    const shop = this.store.shop(domain);
    return this.orderView(shop, placeOrder(this.store, shop, input));
  }

  private order(shop: Shop, id: string | number): Order {
    const n = toNumericId(id, "Order");
    const o = n === undefined ? undefined : shop.orders.get(n);
    if (!o) throw new ControlError("ORDER_NOT_FOUND", `No order ${id}`, 404);
    return o;
  }

  updateOrder(domain: string, orderId: string | number, input: UpdateOrderInput): OrderView {
    const shop = this.store.shop(domain);
    return this.orderView(shop, updateOrder(this.store, shop, this.order(shop, orderId), input));
  }

  cancelOrder(
    domain: string,
    orderId: string | number,
    input: { reason?: string; restock?: boolean } = {},
  ): OrderView {
    const shop = this.store.shop(domain);
    return this.orderView(shop, cancelOrder(this.store, shop, this.order(shop, orderId), input));
  }

  /**
   * A payment Shopify records after checkout (bank transfer received, net terms settled, an
   * authorization captured): fires `order_transactions/create`, `orders/paid` once fully paid,
   * and `orders/updated`.
   */
  payOrder(
    domain: string,
    orderId: string | number,
    input: { gateway?: string; amount?: string | number; kind?: "sale" | "capture" } = {},
  ): OrderView {
    const shop = this.store.shop(domain);
    return this.orderView(shop, recordPayment(this.store, shop, this.order(shop, orderId), input));
  }

  /** A refund made in the Shopify admin (fires `refunds/create`). */
  createRefund(
    domain: string,
    orderId: string | number,
    input: {
      lineItems: {
        lineItemId: string | number;
        quantity: number;
        restockType?: RestockType;
        locationId?: string | number;
      }[];
      note?: string;
      /** Made through this return (its `Refund.return`): a return's refund in the admin. */
      returnId?: string | number;
    } & RefundMoneyInput,
  ): OrderView {
    const shop = this.store.shop(domain);
    const o = this.order(shop, orderId);
    const lines: RefundLineInput[] = input.lineItems.map((l) => ({
      lineItemId: toNumericId(l.lineItemId, "LineItem") ?? -1,
      quantity: l.quantity,
      restockType: l.restockType ?? "RETURN",
      locationId: l.locationId === undefined ? null : this.locationId(shop, l.locationId),
    }));
    const returnId = input.returnId === undefined ? null : (toNumericId(input.returnId, "Return") ?? -1);
    if (returnId !== null && shop.returns.get(returnId)?.orderId !== o.id)
      throw new ControlError("RETURN_NOT_FOUND", `No return ${input.returnId} on order ${orderId}`, 404);
    const r = createRefund(
      this.store,
      shop,
      o,
      lines,
      input.note ?? null,
      { shipping: input.shipping, adjustments: input.adjustments, transactions: input.transactions },
      returnId,
    );
    if (!r.ok) throw new ControlError("INVALID_REFUND", r.errors.map((e) => e.message).join("; "));
    return this.orderView(shop, o);
  }

  /**
   * A fulfilment made in Shopify itself (the Shopify admin, POS, a fulfillment app), through the
   * same path as fulfillmentCreate: fires fulfillments/create and orders/updated.
   */
  fulfillOrder(domain: string, orderId: string | number, input: FulfillOrderInput = {}): FulfillmentView {
    const shop = this.store.shop(domain);
    const o = this.order(shop, orderId);
    const open = [...shop.fulfillmentOrders.values()].filter(
      (fo) => fo.orderId === o.id && (fo.status === "OPEN" || fo.status === "IN_PROGRESS"),
    );
    let groups: FulfillInput["lineItemsByFulfillmentOrder"];
    if (!input.lines) {
      groups = open
        .filter((fo) => fo.lineItems.some((l) => l.remainingQuantity > 0))
        .map((fo) => ({ fulfillmentOrderId: fo.id, lines: null }));
    } else {
      const byFo = new Map<number, { id: number; quantity: number }[]>();
      for (const l of input.lines) {
        const lineItemId = toNumericId(l.lineItemId, "LineItem");
        if (lineItemId === undefined || !o.lineItems.some((li) => li.id === lineItemId))
          throw new ControlError("LINE_ITEM_NOT_FOUND", `No line item ${l.lineItemId} on ${o.name}`, 404);
        let left = l.quantity;
        for (const fo of open) {
          for (const line of fo.lineItems) {
            if (line.lineItemId !== lineItemId || left <= 0) continue;
            const already = (byFo.get(fo.id) ?? [])
              .filter((x) => x.id === line.id)
              .reduce((n, x) => n + x.quantity, 0);
            const take = Math.min(left, line.remainingQuantity - already);
            if (take <= 0) continue;
            byFo.set(fo.id, [...(byFo.get(fo.id) ?? []), { id: line.id, quantity: take }]);
            left -= take;
          }
        }
        if (!(l.quantity > 0) || left > 0)
          throw new ControlError(
            "INVALID_FULFILLMENT",
            `Line item ${l.lineItemId}: ${l.quantity} units asked, ${l.quantity - Math.max(0, left)} left to fulfil`,
          );
      }
      groups = [...byFo].map(([fulfillmentOrderId, lines]) => ({ fulfillmentOrderId, lines }));
    }
    const tracking: TrackingInfo[] = (input.tracking ?? []).map((t) => ({
      number: t.number ?? null,
      company: t.company ?? null,
      url: t.url ?? null,
    }));
    const r = fulfill(this.store, shop, {
      lineItemsByFulfillmentOrder: groups,
      tracking,
      notifyCustomer: input.notifyCustomer ?? false,
    });
    if (!r.ok) throw new ControlError("INVALID_FULFILLMENT", r.errors.map((e) => e.message).join("; "));
    return this.fulfillmentView(r.fulfillment);
  }

  /** Cancel a fulfilment (Shopify admin or fulfillmentCancel): its units go back to be fulfilled again. */
  cancelFulfillment(domain: string, fulfillmentId: string | number): FulfillmentView {
    const shop = this.store.shop(domain);
    const n = toNumericId(fulfillmentId, "Fulfillment");
    const f = n === undefined ? undefined : shop.fulfillments.get(n);
    if (!f) throw new ControlError("FULFILLMENT_NOT_FOUND", `No fulfillment ${fulfillmentId}`, 404);
    const r = cancelFulfillment(this.store, shop, f);
    if (!r.ok) throw new ControlError("INVALID_FULFILLMENT", r.errors.map((e) => e.message).join("; "));
    return this.fulfillmentView(r.fulfillment);
  }

  /** Shopify's order edit, made in the Shopify admin (fires orders/edited and orders/updated). */
  editOrder(domain: string, orderId: string | number, input: ControlEditOrderInput): OrderView {
    const shop = this.store.shop(domain);
    const o = this.order(shop, orderId);
    const edit: EditOrderInput = {
      lines: input.lines?.map((l) => ({
        lineItemId: toNumericId(l.lineItemId, "LineItem") ?? -1,
        quantity: l.quantity,
        restock: l.restock,
      })),
      add: input.add,
      notifyCustomer: input.notifyCustomer,
      staffNote: input.staffNote,
    };
    return this.orderView(shop, editOrder(this.store, shop, o, edit));
  }

  private fulfillmentView(f: Fulfillment): FulfillmentView {
    return {
      id: gid("Fulfillment", f.id),
      legacyId: f.id,
      name: f.name,
      status: f.status,
      locationId: gid("Location", f.locationId),
      tracking: f.tracking,
      lineItems: f.lineItems.map((l) => ({
        lineItemId: gid("LineItem", l.lineItemId),
        quantity: l.quantity,
      })),
    };
  }

  getOrder(domain: string, orderId: string | number): OrderView {
    const shop = this.store.shop(domain);
    return this.orderView(shop, this.order(shop, orderId));
  }

  listOrders(domain: string): OrderView[] {
    const shop = this.store.shop(domain);
    return [...shop.orders.values()].map((o) => this.orderView(shop, o));
  }

  /** Put a fulfillment order on hold (fires fulfillment_orders/placed_on_hold). */
  holdFulfillmentOrder(
    domain: string,
    fulfillmentOrderId: string | number,
    input: { reason?: string; reasonNotes?: string },
  ) {
    const shop = this.store.shop(domain);
    const fo = holdFulfillmentOrder(this.store, shop, this.fulfillmentOrderId(fulfillmentOrderId), input);
    return this.orderView(shop, this.order(shop, fo.orderId));
  }

  /** Release a fulfillment order's holds (fires fulfillment_orders/hold_released). */
  releaseFulfillmentOrderHold(domain: string, fulfillmentOrderId: string | number) {
    const shop = this.store.shop(domain);
    const fo = releaseFulfillmentOrderHold(this.store, shop, this.fulfillmentOrderId(fulfillmentOrderId));
    return this.orderView(shop, this.order(shop, fo.orderId));
  }

  /** A fulfillment service's answer: SUBMITTED, ACCEPTED (in progress), REJECTED, CLOSED (incomplete when units are left). */
  setFulfillmentRequestStatus(
    domain: string,
    fulfillmentOrderId: string | number,
    input: { requestStatus: FulfillmentRequestStatus },
  ) {
    const shop = this.store.shop(domain);
    const allowed = ["SUBMITTED", "ACCEPTED", "REJECTED", "CLOSED"];
    if (!allowed.includes(input.requestStatus))
      throw new ControlError("INVALID_REQUEST_STATUS", `requestStatus must be one of ${allowed.join(", ")}`);
    const fo = setFulfillmentRequestStatus(
      this.store,
      shop,
      this.fulfillmentOrderId(fulfillmentOrderId),
      input.requestStatus,
    );
    return this.orderView(shop, this.order(shop, fo.orderId));
  }

  /** Open the scheduled fulfillment orders whose time came (also done on every clock advance). */
  openScheduledFulfillmentOrders(): { opened: number } {
    return { opened: openDueScheduled(this.store) };
  }

  private fulfillmentOrderId(id: string | number): number {
    const n = toNumericId(id, "FulfillmentOrder");
    if (n === undefined) throw new ControlError("INVALID_ID", `Not a fulfillment order id: ${id}`);
    return n;
  }

  /** The REST-shaped payload Shopify would send for this order (what webhooks carry). */
  orderPayload(domain: string, orderId: string | number): unknown {
    const shop = this.store.shop(domain);
    // As a webhook carries it: times in the shop's offset.
    return JSON.parse(
      JSON.stringify(
        orderPayload(shop, this.order(shop, orderId)),
        restTimes(shop.timezone ?? DEFAULT_SHOP_TIMEZONE),
      ),
    );
  }

  private orderView(shop: Shop, o: Order): OrderView {
    return {
      id: gid("Order", o.id),
      legacyId: o.id,
      name: o.name,
      email: o.email,
      financialStatus: o.financialStatus,
      displayFulfillmentStatus: displayFulfillmentStatus(o, shop),
      cancelledAt: o.cancelledAt,
      tags: o.tags,
      note: o.note,
      locationId: gid("Location", o.locationId),
      sourceName: o.sourceName,
      updatedAt: o.updatedAt,
      currency: o.currency,
      presentmentCurrency: o.money.presentmentCurrency,
      totals: (() => {
        const t = orderTotals(o);
        const p = orderTotals(o, true);
        const pair = (k: keyof typeof t) => ({ shop: fmt(t[k]), presentment: fmt(p[k]) });
        return {
          subtotal: pair("subtotal"),
          discounts: pair("discounts"),
          shipping: pair("shipping"),
          tax: pair("tax"),
          duties: pair("duties"),
          total: pair("total"),
        };
      })(),
      transactions: o.money.transactions.map((t) => ({
        id: gid("OrderTransaction", t.id),
        kind: t.kind,
        status: t.status,
        gateway: t.gateway,
        amount: fmt(t.cents),
      })),
      lineItems: o.lineItems.map((li) => ({
        id: gid("LineItem", li.id),
        sku: li.sku,
        variantId: li.variantId === null ? null : gid("ProductVariant", li.variantId),
        quantity: li.quantity,
        currentQuantity: currentQuantity(li),
        fulfilledQuantity: li.fulfilledQuantity,
        fulfillableQuantity: fulfillableQuantity(li),
        refundedQuantity: li.refundedQuantity,
        removedQuantity: li.removedQuantity,
      })),
      fulfillmentOrders: [...shop.fulfillmentOrders.values()]
        .filter((fo) => fo.orderId === o.id)
        .map((fo) => ({
          id: gid("FulfillmentOrder", fo.id),
          status: fo.status,
          requestStatus: fo.requestStatus ?? "UNSUBMITTED",
          fulfillAt: fo.fulfillAt ?? null,
          holds: (fo.holds ?? []).map((h) => ({ reason: h.reason, reasonNotes: h.reasonNotes })),
          locationId: gid("Location", fo.locationId),
          lineItems: fo.lineItems.map((l) => ({
            id: gid("FulfillmentOrderLineItem", l.id),
            lineItemId: gid("LineItem", l.lineItemId),
            totalQuantity: l.totalQuantity,
            remainingQuantity: l.remainingQuantity,
          })),
        })),
      fulfillments: [...shop.fulfillments.values()]
        .filter((f) => f.orderId === o.id)
        .map((f) => this.fulfillmentView(f)),
      refunds: [...shop.refunds.values()]
        .filter((r) => r.orderId === o.id)
        .map((r) => ({
          id: gid("Refund", r.id),
          lineItems: r.lineItems.map((l) => ({
            lineItemId: gid("LineItem", l.lineItemId),
            quantity: l.quantity,
            restockType: l.restockType,
            restocked: l.restocked,
          })),
        })),
    };
  }

  // ---- observation ----

  webhookDeliveries(filter: { shop?: string; topic?: string } = {}): Delivery[] {
    return this.webhooks.deliveries.filter(
      (d) => (!filter.shop || d.shop === filter.shop) && (!filter.topic || d.topic === filter.topic),
    );
  }

  /** Wait until no webhook delivery is pending right now. */
  webhooksIdle(timeoutMs?: number): Promise<void> {
    return this.webhooks.idle(timeoutMs);
  }

  /** Deliveries waiting for their endpoint: in memory, and in files beyond the in-memory bound. */
  webhookQueue(): { inMemory: number; inFiles: number } {
    return this.webhooks.queued();
  }

  /** Bulk operations of a shop (status, counts, and why a failed one failed). */
  listBulkOperations(domain: string) {
    return [...this.store.shop(domain).bulkOperations.values()].map((b) => ({
      id: gid("BulkOperation", b.id),
      clientId: this.store.apps.get(b.appId)?.clientId ?? null,
      status: b.status,
      errorCode: b.errorCode,
      errorMessage: b.errorMessage,
      objectCount: b.objectCount,
      rootObjectCount: b.rootObjectCount,
      createdAt: b.createdAt,
      completedAt: b.completedAt,
    }));
  }

  /**
   * Hold (true) or release (false) the start of a shop's new bulk operations: while held they stay
   * CREATED and count against the app's concurrency limit, so a test can fill it.
   */
  holdBulkOperations(domain: string, hold = true): { held: boolean } {
    holdBulkOperations(this.store.shop(domain), hold);
    return { held: hold };
  }

  apiCalls(domain: string) {
    return [...this.store.shop(domain).apiCalls];
  }

  throttleStatus(input: { shop: string; clientId: string }) {
    const shop = this.store.shop(input.shop);
    const app = this.app(input.clientId);
    return throttleStatus(this.bucket(shop, app.id));
  }

  private bucket(shop: Shop, appId: number): BucketState {
    const now = this.store.clock.now();
    const b = refill(shop.buckets.get(appId) ?? newBucket(shop.bucketSize, shop.restoreRate, now), now);
    shop.buckets.set(appId, b);
    return b;
  }

  // ---- faults and time ----

  setFaults(domain: string, faults: Partial<Faults>): Faults {
    const shop = this.store.shop(domain);
    shop.faults = { ...shop.faults, ...faults };
    return { ...shop.faults };
  }

  /** Whether `refunds/create` payloads carry the refund's `return` (not Shopify's REST resource). */
  setRefundPayloadReturn(domain: string, on: boolean): void {
    this.store.shop(domain).refundPayloadReturn = on;
  }

  clearFaults(domain: string): Faults {
    const shop = this.store.shop(domain);
    shop.faults = noFaults();
    return { ...shop.faults };
  }

  /** Another spender on the same app's bucket: drain it continuously and/or set what is left. */
  setThrottlePressure(input: ThrottlePressureInput) {
    const shop = this.store.shop(input.shop);
    const app = this.app(input.clientId);
    const now = this.store.clock.now();
    let b = this.bucket(shop, app.id);
    if (input.drainRate !== undefined) b = setDrainRate(b, input.drainRate, now);
    if (input.available !== undefined) b = setAvailable(b, input.available, now);
    shop.buckets.set(app.id, b);
    return throttleStatus(b);
  }

  /** The app's compliance webhook address (what the app's configuration sets on Shopify). */
  setComplianceWebhooks(input: { clientId: string; uri: string | null }): {
    clientId: string;
    uri: string | null;
  } {
    const app = this.app(input.clientId);
    if (input.uri !== null) {
      const problem = webhookUriProblem(input.uri, this.store.testOnlyAllowPlainHttpWebhooks);
      if (problem) throw new ControlError("INVALID_URI", problem);
    }
    app.complianceUri = input.uri;
    return { clientId: app.clientId, uri: app.complianceUri };
  }

  /**
   * Fire one of Shopify's compliance webhooks (customers/data_request, customers/redact, shop/redact)
   * at the app's compliance address, signed like every delivery.
   */
  fireComplianceWebhook(
    domain: string,
    input: ComplianceInput & { clientId: string },
  ): { delivery: string; topic: string; payload: Record<string, unknown> } {
    const shop = this.store.shop(domain);
    const app = this.app(input.clientId);
    if (!app.complianceUri)
      throw new ControlError(
        "NO_COMPLIANCE_URI",
        "The app has no compliance webhook address (setComplianceWebhooks)",
      );
    const payload = compliancePayload(shop, input, () => this.store.nextId());
    const d = this.webhooks.emitToApp(shop, app.id, app.complianceUri, input.topic, payload);
    return { delivery: d.webhookId, topic: input.topic, payload };
  }

  /** Subscriptions Shopify deleted after their deliveries failed through the whole retry schedule. */
  removedWebhookSubscriptions(domain?: string) {
    return this.store.removedWebhookSubscriptions.filter((r) => !domain || r.shop === domain);
  }

  setWebhookOptions(options: Partial<WebhookOptions>): WebhookOptions {
    this.webhooks.options = { ...this.webhooks.options, ...options };
    return { ...this.webhooks.options };
  }

  advanceTime(ms: number): { now: string } {
    this.store.clock.advance(ms);
    return { now: this.store.nowIso() };
  }

  /** Freeze the clock so only advanceTime moves it (or let real time flow again). */
  freezeTime(frozen = true): { now: string; frozen: boolean } {
    this.store.clock.freeze(frozen);
    return this.now();
  }

  now(): { now: string; frozen: boolean } {
    return { now: this.store.nowIso(), frozen: this.store.clock.frozen };
  }
}
