/**
 * Every query the console's views run (order search and history, shipments, catalog, the failures
 * list and its counts, the flow status, the series sampler) is served by an index at a moderate
 * size (20,000 orders, variants, deliveries, notifications, shipments, waiting changes), on both
 * databases: the queries are captured as they run and each one's plan
 * is read (EXPLAIN / EXPLAIN QUERY PLAN). No large table is scanned whole.
 */
import { type KyselyPlugin, type RootOperationNode, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listCatalog } from "../src/catalog/console-routes.ts";
import { encodeCursor } from "../src/core/cursor.ts";
import type { Db } from "../src/db/database.ts";
import { countFailures, listFailures } from "../src/failures/failures.ts";
import { listShipments } from "../src/fulfillment/console-routes.ts";
import { orderHistory, searchOrders } from "../src/orders/console-routes.ts";
import { storeFlowStatus } from "../src/shops/flow-status.ts";
import { sampleSeries } from "../src/shops/series.ts";
import { planOf } from "./support/console-data.ts";
import { DIALECTS, openTestDatabase } from "./support/databases.ts";

const T0 = Date.UTC(2026, 10, 1);
const N = 20_000;
const LARGE = [
  "orders",
  "webhook_inbox",
  "outbound_events",
  "push_dirty",
  "push_batches",
  "inventory_sync",
  "variants",
  "variant_links",
  "activity_log",
  "shipments",
  "store_series",
];

/** Runs `work` on a db that records every SELECT it sends; returns them. */
async function captured(db: Db, work: (db: Db) => Promise<unknown>): Promise<RootOperationNode[]> {
  const nodes: RootOperationNode[] = [];
  const plugin: KyselyPlugin = {
    transformQuery: (args) => {
      if (args.node.kind === "SelectQueryNode") nodes.push(args.node);
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  await work(db.withPlugin(plugin));
  return nodes;
}

describe.each(DIALECTS)("console queries are served by indexes (%s)", (dialect) => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  const series = (n: number) =>
    dialect === "postgres"
      ? `generate_series(1, ${n}) as s(n)`
      : `(with recursive c(n) as (select 1 union all select n + 1 from c where n < ${n}) select n from c) as s`;

  beforeAll(async () => {
    database = await openTestDatabase(dialect);
    const run = (text: string) => sql.raw(text).execute(database.db);
    await run(`insert into stores (domain, name, auth_kind, scopes, status, inventory_mode, connected_at, updated_at)
      select 'store' || n || '.myshopify.com', 'S', 'custom_app', '', 'active', 'delta', ${T0}, ${T0} from ${series(20)}`);
    await run(
      `insert into flows (store_id, flow, state, updated_at) select n, 'inventory_push', 'enabled', ${T0} from ${series(20)}`,
    );
    await run(
      `insert into variants (sku, created_at, updated_at) select 'SKU-' || n, ${T0}, ${T0} from ${series(N)}`,
    );
    await run(`insert into variant_links (store_id, variant_id, product_variant_gid, inventory_item_gid, matched_by, linked_at)
      select 1 + n % 20, n, 'pv' || n, 'ii' || n, 'sku', ${T0} from ${series(N)}`);
    await run(`insert into orders (store_id, shopify_order_gid, name, shopify_updated_at, shopify_created_at, status, park_reason, source, content_hash, imported_at, created_at, updated_at)
      select 1 + n % 20, 'o' || n, '#' || n, ${T0}, ${T0} + n, case when n % 500 = 0 then 'parked' else 'imported' end, null, '{}', 'h', ${T0} + n, ${T0}, ${T0} from ${series(N)}`);
    await run(`insert into webhook_inbox (webhook_id, shop, topic, body, received_at, status, attempts, next_attempt_at)
      select 'w' || n, 'store' || (1 + n % 20) || '.myshopify.com', 'orders/updated', '{}', ${T0} + n,
        case when n % 500 = 0 then 'dead' when n % 250 = 0 then 'pending' else 'done' end, 1, ${T0} from ${series(N)}`);
    await run(`insert into outbound_events (event_id, store_id, order_id, type, payload, status, attempts, next_attempt_at, created_at)
      select 'e' || n, 1 + n % 20, n, 'order.created', '{}', case when n % 500 = 0 then 'dead' else 'delivered' end, 1, ${T0}, ${T0} from ${series(N)}`);
    await run(`insert into inventory_sync (store_id, inventory_item_gid, location_gid, variant_id, error)
      select 1 + n % 20, 'ii' || n, 'loc', n, case when n % 500 = 0 then 'refused' else null end from ${series(N)}`);
    await run(
      `insert into push_dirty (store_id, variant_id, first_marked_at, generation) select 1 + n % 20, n, ${T0} + n, 1 from ${series(N)}`,
    );
    await run(`insert into push_batches (store_id, idempotency_key, mode, payload, status, attempts, created_at, finished_at)
      select 1 + n % 20, 'k' || n, 'delta', '{}', case when n % 500 = 0 then 'failed' else 'done' end, 1, ${T0}, ${T0} + n from ${series(N)}`);
    await run(`insert into shipments (store_id, order_id, external_id, content_hash, warehouse_id, notify_customer, status, attempts, next_attempt_at, tracking_pending, created_at, updated_at)
      select 1 + n % 20, n, 'sh' || n, 'h', 1, 0, case when n % 250 = 0 then 'pending' else 'applied' end, 1, ${T0}, 0, ${T0}, ${T0} from ${series(N)}`);
    await run(`insert into activity_log (store_id, flow, kind, level, message, created_at)
      select 1 + n % 20, 'inventory_push', 'push', 'info', 'x', ${T0} from ${series(N)}`);
    await run(`insert into store_series (store_id, at, backlog, pushed, orders_imported, activity_id)
      select 1 + n % 20, ${T0} - n * 30000, 0, 0, 0, 0 from ${series(N)}`);
    await run("analyze");
  }, 120_000);
  afterAll(async () => database?.drop());

  /** The large tables a plan reads whole (by name or by the alias the query gave them). */
  function scannedLarge(sqlText: string, plan: string): string[] {
    const alias = new Map<string, string>(LARGE.map((t) => [t, t]));
    for (const m of sqlText.matchAll(/"(\w+)" as "(\w+)"/g)) alias.set(m[2]!, m[1]!);
    const out: string[] = [];
    // PostgreSQL: `Seq Scan on orders o`; SQLite: `SCAN o` (without USING … INDEX).
    for (const m of plan.matchAll(/seq scan on (\w+)/g)) if (LARGE.includes(m[1]!)) out.push(m[1]!);
    for (const m of plan.matchAll(/^\s*scan (\w+)(?!.*using)/gm)) {
      const table = alias.get(m[1]!);
      if (table && LARGE.includes(table)) out.push(table);
    }
    return out;
  }

  async function expectIndexed(work: (db: Db) => Promise<unknown>) {
    const nodes = await captured(database.db, work);
    expect(nodes.length).toBeGreaterThan(0);
    const executor = database.db.getExecutor();
    for (const node of nodes) {
      const compiled = executor.compileQuery(node, { queryId: "plan" });
      const plan = await planOf(database, { compile: () => compiled });
      expect(scannedLarge(compiled.sql, plan), `${compiled.sql}\n${plan}`).toEqual([]);
    }
  }

  it("the check itself sees a whole-table read", async () => {
    const q = database.db.selectFrom("orders as o").select("o.id").where("o.park_reason", "=", "x");
    const compiled = q.compile();
    expect(scannedLarge(compiled.sql, await planOf(database, q))).toEqual(["orders"]);
  });

  it("failures: every kind's page and count, for all stores and for one", async () => {
    await expectIndexed((db) => listFailures(db, { limit: 50 }));
    await expectIndexed((db) =>
      listFailures(db, { limit: 50, store: { id: 3, domain: "store3.myshopify.com" } }),
    );
    await expectIndexed((db) => countFailures(db, { id: 3, domain: "store3.myshopify.com" }));
  });

  it("order search and history, shipments, catalog", async () => {
    const cursor = encodeCursor([T0 + N / 2, N / 2]);
    await expectIndexed((db) => searchOrders(db, { limit: 50, cursor }));
    await expectIndexed((db) =>
      searchOrders(db, { limit: 50, store: "store3.myshopify.com", status: "parked" }),
    );
    await expectIndexed((db) => searchOrders(db, { limit: 50, q: "#4242" }));
    await expectIndexed((db) => orderHistory(db, 4242));
    await expectIndexed((db) =>
      listShipments(db, { limit: 50, store: "store3.myshopify.com", status: "pending" }),
    );
    await expectIndexed((db) => listCatalog(db, 3, { limit: 50, cursor: encodeCursor(["i", N / 2]) }));
    await expectIndexed((db) => listCatalog(db, 3, { limit: 50, state: "linked" }));
    await expectIndexed((db) => listCatalog(db, 3, { limit: 50, q: "SKU-42" }));
  });

  it("flow status and the series sample", async () => {
    await expectIndexed((db) =>
      storeFlowStatus(
        db,
        { id: 3, domain: "store3.myshopify.com", status: "active", status_reason: null },
        T0,
      ),
    );
    await expectIndexed((db) => sampleSeries(db, T0 + 1));
  });
});
