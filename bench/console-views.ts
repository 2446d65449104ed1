/**
 * The console's read endpoints at the size: 1,000,000 orders, 100,000 variants (90,000
 * linked, 1,000 link problems), 200,000 shipments, 1,000,000 ledger entries, 100,000 webhook
 * deliveries. Seeds with set-based SQL, then times each view's first page and a page deep behind
 * a cursor, and prints the plan of each main query (EXPLAIN / EXPLAIN QUERY PLAN).
 *
 *   node --import tsx bench/console-views.ts [--db sqlite|postgres] [--orders 1000000] [--variants 100000]
 */

import { parseArgs } from "node:util";
import { sql } from "kysely";
import { listCatalog } from "../src/catalog/console-routes.ts";
import { encodeCursor } from "../src/core/cursor.ts";
import { openDatabase } from "../src/db/database.ts";
import { migrateToLatest } from "../src/db/migrate.ts";
import { countFailures, listFailures } from "../src/failures/failures.ts";
import { listShipments } from "../src/fulfillment/console-routes.ts";
import { listMovements } from "../src/inventory/console-routes.ts";
import { orderHistory, orderSearchQuery, searchOrders } from "../src/orders/console-routes.ts";
import { storeFlowStatus } from "../src/shops/flow-status.ts";
import { planOf } from "../test/support/console-data.ts";
import { createTestDatabase } from "../test/support/databases.ts";

const { values } = parseArgs({
  options: {
    db: { type: "string", default: "sqlite" },
    orders: { type: "string", default: "1000000" },
    variants: { type: "string", default: "100000" },
    /** Keep the seeded database (its name is printed) / reuse one kept before. */
    keep: { type: "boolean", default: false },
    reuse: { type: "string" },
  },
});
const dialect = values.db === "postgres" ? "postgres" : "sqlite";
const ORDERS = Number(values.orders);
const VARIANTS = Number(values.variants);
const SHIPMENTS = Math.floor(ORDERS / 5);
const ENTRIES = ORDERS;
const INBOX = Math.floor(ORDERS / 10);
const T0 = Date.UTC(2026, 10, 1);

const made = values.reuse ? undefined : await createTestDatabase(dialect);
const target = values.reuse
  ? dialect === "postgres"
    ? ({ kind: "postgres", url: values.reuse } as const)
    : ({ kind: "sqlite", path: values.reuse } as const)
  : made!.target;
const database = openDatabase(target);
await migrateToLatest(database);
const db = database.db;
const run = (text: string) => sql.raw(text).execute(db);
/** A series 1..n as a table `s(n)`. */
const series = (n: number) =>
  dialect === "postgres"
    ? `generate_series(1, ${n}) as s(n)`
    : `(with recursive c(n) as (select 1 union all select n + 1 from c where n < ${n}) select n from c) as s`;

if (!values.reuse) {
  const t = performance.now();
  await run(`insert into stores (domain, name, auth_kind, scopes, status, inventory_mode, connected_at, updated_at)
  select 'store' || n || '.myshopify.com', 'Store ' || n, 'custom_app', '', 'active', 'delta', ${T0}, ${T0} from ${series(10)}`);
  await run(`insert into flows (store_id, flow, state, updated_at) select s.n, f.flow, 'enabled', ${T0} from ${series(10)}
  cross join (select 'inventory_push' as flow union all select 'order_intake' union all select 'fulfillment_push' union all select 'catalog_import') f`);
  await run(
    `insert into warehouses (code, name, created_at, updated_at) select 'W' || n, 'Warehouse ' || n, ${T0}, ${T0} from ${series(10)}`,
  );
  await run(`insert into variants (sku, barcode, title, created_at, updated_at)
  select 'SKU-' || n, 'BC' || n, 'Variant ' || n, ${T0}, ${T0} from ${series(VARIANTS)}`);
  await run(`insert into variant_links (store_id, variant_id, product_variant_gid, inventory_item_gid, matched_by, linked_at)
  select 1, n, 'gid://shopify/ProductVariant/' || n, 'gid://shopify/InventoryItem/' || n, 'sku', ${T0} from ${series(VARIANTS)} where n % 10 <> 0`);
  await run(`insert into link_problems (store_id, kind, sku, detail, detected_at)
  select 1, 'not_in_shopify', 'SKU-' || (n * 100), 'no Shopify variant has this SKU', ${T0} from ${series(Math.floor(VARIANTS / 100))}`);
  await run(`insert into orders (store_id, shopify_order_gid, name, shopify_updated_at, shopify_created_at, financial_status, status, park_reason, email, currency, total_price, source, content_hash, imported_at, created_at, updated_at)
  select 1 + n % 10, 'gid://shopify/Order/' || n, '#' || n, ${T0} + n * 1000, ${T0} + n * 1000, 'paid',
    case when n % 100 = 0 then 'parked' else 'imported' end, case when n % 100 = 0 then 'unknown SKU' else null end,
    'buyer' || (n % 200000) || '@example.com', 'EUR', '10.00', '{}', 'h', ${T0} + n * 1000, ${T0} + n * 1000, ${T0} + n * 1000
  from ${series(ORDERS)}`);
  await run(`insert into shipments (store_id, order_id, external_id, content_hash, warehouse_id, notify_customer, status, reason, attempts, next_attempt_at, tracking_pending, created_at, updated_at)
  select 1 + (n * 5) % 10, n * 5, 'SH-' || n, 'h', 1, 0, case when n % 500 = 0 then 'failed' else 'applied' end, null, 1, ${T0}, 0, ${T0} + n, ${T0} + n
  from ${series(SHIPMENTS)}`);
  await run(`insert into shipment_lines (shipment_id, shopify_line_gid, sku, variant_id, quantity, fulfilled_quantity)
  select n, 'gid://shopify/LineItem/' || n, 'SKU-' || (1 + n % ${VARIANTS}), 1 + n % ${VARIANTS}, 1, 1 from ${series(SHIPMENTS)}`);
  await run(`insert into movements (external_id, type, variant_id, warehouse_id, quantity, occurred_at, recorded_at, content_hash)
  select 'm' || n, 'receipt', 1 + n % ${VARIANTS}, 1 + n % 10, 1, ${T0} + n, ${T0} + n, 'h' from ${series(ENTRIES)}`);
  await run(`insert into ledger_entries (movement_id, variant_id, warehouse_id, kind, quantity, occurred_at)
  select id, variant_id, warehouse_id, 'delta', quantity, occurred_at from movements`);
  await run(`insert into webhook_inbox (webhook_id, shop, topic, body, received_at, status, attempts, next_attempt_at, order_gid)
  select 'w' || n, 'store' || (1 + n % 10) || '.myshopify.com', 'orders/updated', '{}', ${T0} + n, case when n % 1000 = 0 then 'dead' else 'done' end, 1, ${T0},
    'gid://shopify/Order/' || (n * 10) from ${series(INBOX)}`);
  await run(
    `insert into push_dirty (store_id, variant_id, first_marked_at, generation) select 1, n, ${T0} + n, 1 from ${series(Math.floor(VARIANTS / 10))}`,
  );
  await run(dialect === "postgres" ? "analyze" : "analyze");
  console.log(
    `${dialect}: seeded ${ORDERS} orders, ${VARIANTS} variants, ${SHIPMENTS} shipments, ${ENTRIES} ledger entries, ${INBOX} deliveries in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
}
if (values.keep) console.log(`kept: ${target.kind === "postgres" ? target.url : target.path}`);

async function time<T>(label: string, f: () => Promise<T>): Promise<T> {
  // Warm once, then the best of three (the machine is shared).
  await f();
  let best = Number.POSITIVE_INFINITY;
  let out: T | undefined;
  for (let i = 0; i < 3; i++) {
    const s = performance.now();
    out = await f();
    best = Math.min(best, performance.now() - s);
  }
  console.log(`  ${label.padEnd(58)} ${best.toFixed(1).padStart(8)} ms`);
  return out!;
}

const deep = encodeCursor([T0 + (ORDERS / 2) * 1000, ORDERS / 2]);
const store3 = { id: 3, domain: "store3.myshopify.com" };
await time("order-search first page", () => searchOrders(db, { limit: 50 }));
await time("order-search page behind a cursor (middle)", () => searchOrders(db, { limit: 50, cursor: deep }));
await time("order-search store + status=parked, middle", () =>
  searchOrders(db, { limit: 50, store: "store3.myshopify.com", status: "parked", cursor: deep }),
);
await time("order-search q=#123456", () => searchOrders(db, { limit: 50, q: "#123456" }));
await time("order-search q=email (5 orders)", () =>
  searchOrders(db, { limit: 50, q: "BUYER4242@example.com" }),
);
await time("order history", () => orderHistory(db, 4242));
await time("shipments first page", () => listShipments(db, { limit: 50 }));
await time("shipments store + status=failed", () =>
  listShipments(db, { limit: 50, store: "store1.myshopify.com", status: "failed" }),
);
await time("catalog first page (store 1)", () => listCatalog(db, 1, { limit: 50 }));
await time("catalog state=linked, middle", () =>
  listCatalog(db, 1, { limit: 50, state: "linked", cursor: encodeCursor(["i", VARIANTS / 2]) }),
);
await time("catalog state=unlinked", () => listCatalog(db, 1, { limit: 50, state: "unlinked" }));
await time("catalog state=problem", () => listCatalog(db, 1, { limit: 50, state: "problem" }));
await time("catalog q=SKU-4242 (prefix)", () => listCatalog(db, 1, { limit: 50, q: "SKU-4242" }));
await time("movements sku=SKU-4242", () => listMovements(db, { limit: 50, sku: "SKU-4242" }));
await time("movements warehouse=W3, middle", () =>
  listMovements(db, { limit: 50, warehouse: "W3", cursor: encodeCursor([ENTRIES / 2]) }),
);
await time("failures first page", () => listFailures(db, { limit: 50 }));
await time("failures counts (all kinds, all stores)", () => countFailures(db, undefined));
await time("failures counts (store 3)", () => countFailures(db, store3));
await time("flows of store 1", () =>
  storeFlowStatus(db, { id: 1, domain: "store1.myshopify.com", status: "active", status_reason: null }, T0),
);

console.log("\nplans:");
for (const [label, q] of [
  ["order-search middle", orderSearchQuery(db, { limit: 50, cursor: deep }, undefined)],
  ["order-search store+status", orderSearchQuery(db, { limit: 50, status: "parked", cursor: deep }, 3)],
  ["order-search email", orderSearchQuery(db, { limit: 50, q: "buyer4242@example.com" }, 3)],
] as const) {
  console.log(`- ${label}\n${(await planOf(database, q)).replace(/^/gm, "    ")}`);
}
await database.close();
if (made && !values.keep) await made.drop();
