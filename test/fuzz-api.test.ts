/**
 * Property: no input ends in a 500 (issue 13). Random strings (NUL, control characters, broken
 * surrogates, decomposed accents), huge and fractional numbers, wrong types, missing and extra
 * fields, arrays past their limits and raw garbage bodies are thrown at every write endpoint on
 * both databases. Every answer is either a success or the one error envelope with a 4xx (or a
 * 502/503 when Shopify is involved), and a refused request changes no row.
 */
import fc from "fast-check";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "../emulator/demo.ts";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { DIALECTS, type TestDialect } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";

const TABLES = [
  "movements",
  "ledger_entries",
  "stock_levels",
  "variants",
  "warehouses",
  "stores",
  "location_warehouses",
  "variant_links",
  "flows",
  "order_settings",
  "order_mappings",
  "fulfillment_settings",
  "shipments",
  "shipment_lines",
  "shipment_packages",
  "operator_accounts",
  "api_keys",
  "audit_log",
  "products",
  "product_options",
  "product_images",
  "product_metafields",
  "product_links",
  "catalog_imports",
  "opening_counts",
  "catalog_publish_settings",
  "catalog_publish_state",
  "customer_records",
  "customer_publish_state",
  "order_actions",
  "return_receipts",
  "hub_meta",
] as const;

const MISSING = Symbol("missing");

const nastyString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.constantFrom(
    "\u0000",
    "SKU\u0000",
    "bell\u0007",
    "tab\there",
    "line\nbreak",
    "\u001b[31m",
    "\u0085",
    "\ud800",
    "lone\udc00",
    "e\u0301",
    "\u00e9",
    "",
    " ",
    "x".repeat(300),
    "0",
    "-1",
    "2147483648",
    "../../etc/passwd",
    "'; drop table variants; --",
  ),
);
const nastyNumber = fc.oneof(
  fc.integer(),
  fc.constantFrom(
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 53 + 2,
    -(2 ** 63),
    1e308,
    -1e308,
    1e9,
    1e9 + 1,
    -1e9 - 1,
    0.5,
    0,
    -1,
    1,
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const nasty: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  nastyNumber,
  fc.boolean(),
  fc.constant(null),
  fc.constant({}),
  fc.constant([]),
  fc.array(nastyString, { maxLength: 3 }),
  fc.dictionary(nastyString, nastyString, { maxKeys: 2 }),
);

/** Near-valid values: each leaf of `example` kept or replaced, fields dropped or added, arrays overgrown. */
function mutate(example: unknown, depth = 0): fc.Arbitrary<unknown> {
  if (Array.isArray(example)) {
    return fc.oneof(
      { weight: 5, arbitrary: fc.tuple(...example.map((v) => mutate(v, depth + 1))) },
      { weight: 1, arbitrary: fc.constant(Array.from({ length: 1001 }, () => example[0])) },
      { weight: 1, arbitrary: nasty },
    );
  }
  if (example !== null && typeof example === "object") {
    const entries = Object.entries(example);
    const fields = fc.tuple(
      ...entries.map(([k, v]) =>
        fc.tuple(
          fc.constant(k),
          fc.oneof(
            { weight: 4, arbitrary: mutate(v, depth + 1) },
            { weight: 1, arbitrary: fc.constant<unknown>(MISSING) },
          ),
        ),
      ),
    );
    const obj = fc.tuple(fields, fc.option(fc.tuple(nastyString, nasty), { freq: 5 })).map(([kvs, extra]) => {
      const o: Record<string, unknown> = {};
      for (const [k, v] of kvs) if (v !== MISSING) o[k] = v;
      if (extra) o[extra[0]] = extra[1];
      return o;
    });
    return depth === 0 ? obj : fc.oneof({ weight: 6, arbitrary: obj }, { weight: 1, arbitrary: nasty });
  }
  return fc.oneof({ weight: 2, arbitrary: fc.constant(example) }, { weight: 3, arbitrary: nasty });
}

/** A raw body: JSON of a mutated example, or garbage, with the right or a wrong content type. */
const rawBody = (example: unknown) =>
  fc.oneof(
    {
      weight: 8,
      arbitrary: mutate(example).map((v) => ({ payload: JSON.stringify(v), type: "application/json" })),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.constantFrom("", "{", "null", "[]", '"x"', "1e999", '{"__proto__":{"x":1}}', "\u0000"),
          fc.string({ maxLength: 30 }),
        )
        .map((payload) => ({ payload, type: "application/json" })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom("text/plain", "application/x-www-form-urlencoded", "application/xml")
        .map((type) => ({ payload: JSON.stringify(example), type })),
    },
  );

const segment = (good: string) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(encodeURIComponent(good)) },
    {
      weight: 2,
      arbitrary: nastyString.map((s) => {
        try {
          return encodeURIComponent(s) || "x";
        } catch {
          return "%ZZ"; // a broken surrogate cannot be encoded: send a malformed escape instead
        }
      }),
    },
    { weight: 1, arbitrary: fc.constantFrom("%ZZ", "%00", "%E9", "a".repeat(120)) },
  );

async function rowCounts(hub: TestHub): Promise<Record<string, number>> {
  const select = sql.join(
    TABLES.map((t) => sql`(select count(*) from ${sql.table(t)}) as ${sql.ref(t)}`),
    sql`, `,
  );
  const { rows } = await sql<Record<string, number | string>>`select ${select}`.execute(hub.ctx.database.db);
  return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]));
}

interface Endpoint {
  readonly method: "POST" | "PUT" | "PATCH" | "DELETE";
  readonly url: (shop: string) => fc.Arbitrary<string>;
  readonly example: unknown;
}

const OCCURRED = "2026-01-02T03:04:05Z";

function endpoints(): Endpoint[] {
  const fixed = (u: string) => () => fc.constant(u);
  const perStore = (suffix: string) => (shop: string) =>
    segment(shop).map((s) => `/api/v1/stores/${s}${suffix}`);
  return [
    {
      method: "POST",
      url: fixed("/api/v1/movements"),
      example: {
        movements: [
          {
            id: "m-1",
            type: "receipt",
            sku: "FZ-1",
            warehouse: "MAIN",
            quantity: 3,
            occurredAt: OCCURRED,
          },
          {
            id: "m-2",
            type: "transfer",
            sku: "FZ-1",
            warehouse: "MAIN",
            toWarehouse: "SIDE",
            quantity: 1,
            occurredAt: OCCURRED,
          },
        ],
      },
    },
    {
      method: "PUT",
      url: fixed("/api/v1/variants"),
      example: { variants: [{ sku: "FZ-2", barcode: "123", title: "T", options: ["S"] }] },
    },
    {
      method: "PUT",
      url: fixed("/api/v1/products"),
      example: {
        products: [
          {
            key: "FZP-1",
            title: "Fuzz tee",
            tags: ["a"],
            status: "draft",
            category: "gid://shopify/TaxonomyCategory/aa-1",
            seo: { title: "T", description: "D" },
            options: [{ name: "Size", values: ["S", "M"] }],
            images: [{ url: "https://example.com/a.jpg", alt: "A" }],
            metafields: [{ namespace: "custom", key: "n", type: "number_integer", value: "3" }],
            variants: [
              {
                sku: "FZP-1-S",
                barcode: "1",
                options: ["S"],
                weight: { value: 1, unit: "GRAMS" },
                price: "1.50",
                compareAtPrice: "2",
                cost: "0.5",
              },
              { sku: "FZP-1-M", options: ["M"], taxable: false, inventoryTracked: true },
            ],
          },
        ],
      },
    },
    {
      method: "DELETE",
      url: () => segment("FZP-0").map((s) => `/api/v1/products/${s}`),
      example: {},
    },
    { method: "PUT", url: fixed("/api/v1/warehouses"), example: { warehouses: [{ code: "W1", name: "W" }] } },
    {
      method: "PUT",
      url: fixed("/api/v1/safety-stock"),
      example: { items: [{ sku: "FZ-1", warehouse: "MAIN", safetyStock: 2 }] },
    },
    {
      method: "POST",
      url: fixed("/api/v1/shipments"),
      example: {
        id: "s-1",
        orderId: 1,
        warehouse: "MAIN",
        lines: [{ sku: "FZ-1", quantity: 1 }],
        packages: [{ carrier: "UPS", trackingNumber: "1Z", trackingUrl: "https://t.example/1Z" }],
        notifyCustomer: false,
      },
    },
    {
      method: "PATCH",
      url: () => segment("s-1").map((s) => `/api/v1/shipments/${s}`),
      example: { packages: [{ trackingNumber: "1Z" }] },
    },
    {
      method: "POST",
      url: fixed("/api/v1/stores"),
      example: { domain: "fuzz.myshopify.com", accessToken: "shpat_wrong", name: "F", webhookSecret: "s" },
    },
    {
      method: "POST",
      url: fixed("/api/v1/accounts"),
      example: { username: "fuzz.user", password: "a long password", role: "viewer" },
    },
    {
      method: "PATCH",
      url: () => segment("1").map((s) => `/api/v1/accounts/${s}`),
      example: { role: "operator", disabled: false },
    },
    { method: "POST", url: fixed("/api/v1/api-keys"), example: { name: "fuzz", scopes: ["stock"] } },
    {
      method: "POST",
      url: fixed("/api/v1/session"),
      example: { username: "fuzz.user", password: "a long password" },
    },
    { method: "PUT", url: perStore("/inventory-mode"), example: { mode: "delta" } },
    {
      method: "POST",
      url: (shop) =>
        fc
          .tuple(
            segment(shop),
            fc.constantFrom("inventory_push", "order_intake", "nope"),
            fc.constantFrom("pause", "resume", "x"),
          )
          .map(([s, f, a]) => `/api/v1/stores/${s}/flows/${f}/${a}`),
      example: {},
    },
    {
      method: "PUT",
      url: perStore("/locations/mapping"),
      example: {
        locations: [
          { locationId: "gid://shopify/Location/1", warehouses: ["MAIN"], managed: true, default: true },
        ],
      },
    },
    {
      method: "PUT",
      url: perStore("/order-settings"),
      example: {
        financialStatuses: ["paid"],
        fulfillmentStatuses: ["unfulfilled"],
        locationGids: null,
        importWithoutLocation: true,
        lastDays: 14,
        tag: "t",
        defaultCustomerId: null,
        retentionDays: 30,
        outboundUrl: "https://bo.example/hook",
        outboundSecret: "0123456789abcdef",
      },
    },
    {
      method: "PUT",
      url: perStore("/order-mappings"),
      example: {
        paymentGateways: { manual: "CASH" },
        shippingLines: [{ code: "STD", carrier: "UPS", service: "GROUND" }],
        taxLines: [{ title: "VAT", rate: "0.21", country: "NL", province: null, taxCode: "V21" }],
        sources: { web: "WEB" },
        posLocations: { "gid://shopify/Location/1": "B1" },
      },
    },
    {
      method: "PUT",
      url: perStore("/fulfillment-settings"),
      example: {
        notifyCustomer: true,
        restockRule: "returns_warehouse",
        returnsWarehouse: "MAIN",
        shopifyFulfillments: "record_in_ledger",
      },
    },
    { method: "PUT", url: perStore("/stock-rules"), example: { safetyStock: 2 } },
    // Issue 18: the coalescing window, and the one-action public URL fix with re-registration.
    { method: "PUT", url: perStore("/coalescing"), example: { maxWindowMs: 500 } },
    {
      method: "POST",
      url: fixed("/api/v1/webhooks/register"),
      example: { publicUrl: "https://hub.example.com" },
    },
    { method: "POST", url: perStore("/disconnect"), example: { reason: "fuzz" } },
    { method: "POST", url: perStore("/orders/reprocess"), example: {} },
    {
      method: "POST",
      url: () => segment("1").map((s) => `/api/v1/orders/${s}/ack`),
      example: {},
    },
    {
      method: "POST",
      url: () => segment("1").map((s) => `/api/v1/outbound/${s}/replay`),
      example: {},
    },
    {
      method: "POST",
      url: fixed("/api/v1/failures/dismiss"),
      example: { kind: "parked_order", id: "1", reason: "fuzz" },
    },
    {
      method: "POST",
      url: fixed("/api/v1/failures/retry"),
      example: { kind: "failing_item", id: "1:1:gid://shopify/Location/1" },
    },
    {
      method: "POST",
      url: () => segment("1").map((s) => `/api/v1/inbox/${s}/replay`),
      example: {},
    },
    {
      method: "POST",
      url: perStore("/catalog-imports"),
      example: { mode: "create_only", fields: ["title", "images"] },
    },
    // Issue 16: price groups and their prices.
    {
      method: "PUT",
      url: fixed("/api/v1/price-groups"),
      example: { groups: [{ code: "FZG", name: "Fuzz group", currency: "EUR" }] },
    },
    {
      method: "PUT",
      url: () => segment("FZG").map((s) => `/api/v1/price-groups/${s}/prices`),
      example: {
        prices: [{ sku: "FZ-2", price: "5.00", compareAtPrice: "6.00", currency: "EUR" }],
        remove: ["FZ-1"],
      },
    },
    {
      method: "POST",
      url: (shop) =>
        fc
          .tuple(segment(shop), segment("1"))
          .map(([s, id]) => `/api/v1/stores/${s}/catalog-imports/${id}/cancel`),
      example: {},
    },
    {
      method: "POST",
      url: perStore("/opening-count?waitSeconds=0"),
      example: { apply: false },
    },
    // Link problems resolved by hand (src/catalog/import/routes.ts).
    {
      method: "POST",
      url: perStore("/variant-links?waitSeconds=0"),
      example: { sku: "FZ-1", productVariantId: "gid://shopify/ProductVariant/1", move: false },
    },
    {
      method: "DELETE",
      url: (shop) =>
        fc
          .tuple(segment(shop), segment("FZ-1"))
          .map(([s, sku]) => `/api/v1/stores/${s}/variant-links/${sku}`),
      example: {},
    },
    // Catalog publish (src/catalog/publish/routes.ts).
    {
      method: "PUT",
      url: perStore("/catalog-publish/settings"),
      example: {
        titleTooLong: "truncate",
        titleTemplate: "{title} {vendor}",
        fields: { descriptionHtml: "create_only", compareAtPrice: "off" },
        categoryByProductType: { Shirts: "gid://shopify/TaxonomyCategory/aa-1" },
        metafieldNamespace: "attrs",
        newProductStatus: "draft",
        archivedStatus: "archived",
        ownsProductsEntirely: false,
      },
    },
    { method: "POST", url: perStore("/catalog-publish/dry-run?waitSeconds=0"), example: { limit: 10 } },
    {
      method: "POST",
      url: (shop) =>
        fc
          .tuple(segment(shop), segment("FZP-0"))
          .map(([s, key]) => `/api/v1/stores/${s}/catalog-publish/products/${key}/retry`),
      example: {},
    },
    // Customers (src/customers/routes.ts).
    {
      method: "PUT",
      url: fixed("/api/v1/customers"),
      example: {
        customers: [
          {
            key: "FZC-1",
            email: "fz@example.com",
            phone: "+4930123456",
            companyName: "Fuzz GmbH",
            emailMarketing: { state: "subscribed", consentedAt: OCCURRED },
          },
        ],
      },
    },
    {
      method: "DELETE",
      url: () => segment("FZC-0").map((s) => `/api/v1/customers/${s}`),
      example: {},
    },
    {
      method: "POST",
      url: (shop) =>
        fc
          .tuple(segment(shop), segment("FZC-0"))
          .map(([s, key]) => `/api/v1/stores/${s}/customers/${key}/retry`),
      example: {},
    },
    // Order operations (src/fulfillment/order-ops-routes.ts).
    { method: "PUT", url: perStore("/order-operation-settings"), example: { closeFulfilledOrders: true } },
    ...(
      [
        ["pickup/ready", { requestId: "r-1" }],
        ["pickup/collected", { id: "c-1", lines: [{ lineId: "gid://shopify/LineItem/1", quantity: 1 }] }],
        ["move", { requestId: "m-1", warehouse: "SIDE" }],
        [
          "cancel",
          {
            requestId: "x-1",
            reason: "CUSTOMER",
            refund: true,
            restock: true,
            notifyCustomer: false,
            staffNote: "n",
          },
        ],
        [
          "cancel-lines",
          {
            requestId: "l-1",
            reason: "out of stock",
            lines: [{ lineId: "gid://shopify/LineItem/1", quantity: 1 }],
          },
        ],
        ["close", { requestId: "cl-1" }],
        ["hold", { requestId: "h-1", reason: "AWAITING_PAYMENT", note: "bank transfer" }],
        ["release-hold", { requestId: "rh-1" }],
        [
          "substitute",
          {
            requestId: "su-1",
            lineId: "gid://shopify/LineItem/1",
            quantity: 1,
            sku: "FZ-1",
            reason: "damaged",
          },
        ],
      ] as const
    ).map(([path, example]) => ({
      method: "POST" as const,
      url: () => segment("1").map((s) => `/api/v1/orders/${s}/${path}`),
      example,
    })),
    {
      method: "POST",
      url: () => segment("1").map((s) => `/api/v1/returns/${s}/receipts`),
      example: {
        id: "rc-1",
        lines: [
          {
            returnLineId: "gid://shopify/ReturnLineItem/1",
            quantity: 1,
            condition: "restock",
            warehouse: "MAIN",
          },
        ],
      },
    },
  ];
}

describe.each(DIALECTS)("fuzzing every write endpoint on %s", (dialect: TestDialect) => {
  let emulator: Emulator;
  let hub: TestHub;
  let shop: string;

  beforeAll(async () => {
    emulator = await startEmulator();
    const seed = seedDemo(emulator.control);
    shop = seed.shop;
    hub = await startTestHub(dialect, { env: { SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}` } });
    const call = async (method: "POST" | "PUT", url: string, payload: object) => {
      const r = await hub.server.inject({ method, url, headers: hub.auth, payload });
      expect(r.statusCode, r.body).toBeLessThan(300);
    };
    await call("PUT", "/api/v1/warehouses", {
      warehouses: [
        { code: "MAIN", name: "Main" },
        { code: "SIDE", name: "Side" },
      ],
    });
    await call("PUT", "/api/v1/variants", { variants: [{ sku: "FZ-1" }] });
    await call("PUT", "/api/v1/products", {
      products: [{ key: "FZP-0", title: "P", variants: [{ sku: "FZP-0" }] }],
    });
    await call("POST", "/api/v1/stores", { domain: shop, accessToken: seed.accessToken });
  }, 60_000);
  afterAll(async () => {
    await hub?.close();
    await emulator?.close();
  });

  it("never answers 500, answers errors in the envelope, and a refused request changes nothing", async () => {
    for (const endpoint of endpoints()) {
      await fc.assert(
        fc.asyncProperty(endpoint.url(shop), rawBody(endpoint.example), async (url, body) => {
          const before = await rowCounts(hub);
          const res = await hub.server.inject({
            method: endpoint.method,
            url,
            headers: { ...hub.auth, "content-type": body.type },
            payload: body.payload,
          });
          const what = `${endpoint.method} ${url} ${body.type} ${body.payload.slice(0, 300)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
          expect(res.statusCode, what).not.toBe(500);
          expect(res.statusCode < 500 || res.statusCode === 502 || res.statusCode === 503, what).toBe(true);
          if (res.statusCode >= 400) {
            const envelope = res.json() as {
              error?: { code?: unknown; message?: unknown; details?: unknown };
            };
            expect(typeof envelope.error?.code, what).toBe("string");
            expect(typeof envelope.error?.message, what).toBe("string");
            expect(Array.isArray(envelope.error?.details), what).toBe(true);
            expect(await rowCounts(hub), what).toEqual(before);
          }
        }),
        // Per endpoint and database; FUZZ_RUNS=500 for a longer hunt outside `npm test`.
        { numRuns: Number(process.env.FUZZ_RUNS ?? 30) },
      );
    }
    // A NUL byte or a decomposed accent in a key: refused with the field named, or one SKU.
    const nul = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/variants",
      headers: hub.auth,
      payload: { variants: [{ sku: "BAD\u0000SKU" }] },
    });
    expect(nul.statusCode).toBe(400);
    expect(nul.body).toMatch(/variants\[0\]\.sku/);
    expect(nul.body).toMatch(/NUL/);
    // Found by this property (seed -1470177434): a NUL in a customer's email or phone reached the
    // owners' lookup, which runs before validation, and failed on PostgreSQL.
    for (const field of ["phone", "email"] as const) {
      const nulContact = await hub.server.inject({
        method: "PUT",
        url: "/api/v1/customers",
        headers: hub.auth,
        payload: { customers: [{ key: "NUL-1", [field]: "\u0000", companyName: "Fuzz GmbH" }] },
      });
      expect(nulContact.statusCode, nulContact.body).toBe(400);
      expect(nulContact.body).toContain(field);
    }
    const twoWays = await hub.server.inject({
      method: "PUT",
      url: "/api/v1/variants",
      headers: hub.auth,
      payload: { variants: [{ sku: "CAF\u00c9" }, { sku: "CAFE\u0301" }] },
    });
    expect(twoWays.statusCode).toBe(400);
    expect(twoWays.json().error.details[0].code).toBe("DUPLICATE_SKU_IN_BATCH");
    const huge = await hub.server.inject({
      method: "POST",
      url: "/api/v1/movements",
      headers: hub.auth,
      payload: {
        movements: [
          {
            id: "big",
            type: "receipt",
            sku: "FZ-1",
            warehouse: "MAIN",
            quantity: 2_147_483_648,
            occurredAt: OCCURRED,
          },
        ],
      },
    });
    expect(huge.statusCode).toBe(400);
    expect(huge.json().error.details[0].code).toBe("INVALID_QUANTITY");
    const old = await hub.server.inject({
      method: "POST",
      url: "/api/v1/movements",
      headers: hub.auth,
      payload: {
        movements: [
          {
            id: "old",
            type: "receipt",
            sku: "FZ-1",
            warehouse: "MAIN",
            quantity: 1,
            occurredAt: "1970-01-01T00:00:00Z",
          },
        ],
      },
    });
    expect(old.statusCode).toBe(400);
    expect(old.json().error.details[0].code).toBe("IMPLAUSIBLE_DATE");
    // Stock levels hold sums past int4 on both databases.
    const many = await hub.server.inject({
      method: "POST",
      url: "/api/v1/movements",
      headers: hub.auth,
      payload: {
        movements: [1, 2, 3].map((i) => ({
          id: `bulk-${i}`,
          type: "receipt",
          sku: "FZ-1",
          warehouse: "SIDE",
          quantity: 1_000_000_000,
          occurredAt: OCCURRED,
        })),
      },
    });
    expect(many.statusCode, many.body).toBe(200);
  }, 120_000);
});
