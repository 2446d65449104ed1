/**
 * Rows for the console views' tests, written straight into the database (no Shopify): stores
 * with their flows, orders in bulk, variants, links and link problems.
 */
import { createApiKey } from "../../src/auth/api-keys.ts";
import type { Scope } from "../../src/auth/permissions.ts";
import type { Database, Db } from "../../src/db/database.ts";
import type { FlowName, FlowState, OrderStatus } from "../../src/db/tables.ts";
import { FLOWS } from "../../src/shops/stores.ts";

export async function insertStore(
  db: Db,
  domain: string,
  now: number,
  flows: Partial<Record<FlowName, FlowState>> = {},
): Promise<number> {
  const { id } = await db
    .insertInto("stores")
    .values({
      domain,
      name: domain,
      auth_kind: "custom_app",
      access_token_enc: null,
      access_token_expires_at: null,
      refresh_token_enc: null,
      refresh_token_expires_at: null,
      scopes: "",
      status: "active",
      status_reason: null,
      inventory_mode: "delta",
      connected_at: now,
      disconnected_at: null,
      updated_at: now,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  for (const flow of FLOWS)
    await db
      .insertInto("flows")
      .values({ store_id: Number(id), flow, state: flows[flow] ?? "disabled", updated_at: now })
      .execute();
  return Number(id);
}

export interface OrderSeed {
  readonly storeId: number;
  readonly number: number;
  readonly createdAt: number;
  readonly email?: string | null;
  readonly status?: OrderStatus;
  readonly importedAt?: number | null;
}

/** Inserts orders in chunks; returns their ids in the order given. */
export async function insertOrders(db: Db, orders: readonly OrderSeed[]): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < orders.length; i += 500) {
    const rows = await db
      .insertInto("orders")
      .values(
        orders.slice(i, i + 500).map((o) => ({
          store_id: o.storeId,
          shopify_order_gid: `gid://shopify/Order/${o.storeId}${o.number}`,
          name: `#${o.number}`,
          shopify_updated_at: o.createdAt,
          shopify_created_at: o.createdAt,
          financial_status: "paid",
          fulfillment_status: null,
          cancelled_at: null,
          location_gid: null,
          warehouse_id: null,
          customer_id: null,
          company_id: null,
          status: o.status ?? "imported",
          park_reason: o.status === "parked" ? "unknown SKU X" : null,
          email: o.email === undefined ? `buyer${o.number}@example.com` : o.email,
          customer_name: null,
          phone: null,
          addresses: null,
          currency: "EUR",
          total_price: "10.00",
          source: "{}",
          content_hash: "h",
          feed_seq: null,
          imported_at: o.importedAt === undefined ? o.createdAt : o.importedAt,
          acked_at: null,
          acked_seq: null,
          finished_at: null,
          redacted_at: null,
          created_at: o.createdAt,
          updated_at: o.createdAt,
        })),
      )
      .returning("id")
      .execute();
    ids.push(...rows.map((r) => Number(r.id)));
  }
  return ids;
}

/** Variants SKU-0000…; returns their ids. */
export async function insertVariants(db: Db, count: number, now: number, prefix = "SKU-"): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i += 500) {
    const rows = await db
      .insertInto("variants")
      .values(
        Array.from({ length: Math.min(500, count - i) }, (_, k) => ({
          sku: `${prefix}${String(i + k).padStart(5, "0")}`,
          barcode: `BC${i + k}`,
          title: `Variant ${i + k}`,
          option1: null,
          option2: null,
          option3: null,
          created_at: now,
          updated_at: now,
        })),
      )
      .returning("id")
      .execute();
    ids.push(...rows.map((r) => Number(r.id)));
  }
  return ids;
}

/** An API key with these scopes, as request headers. */
export async function keyWith(database: Database, scopes: Scope[], now: number) {
  const { key } = await createApiKey(database, `key-${scopes.join("-")}-${now}`, now, scopes);
  return { authorization: `Bearer ${key}` };
}

/** The plan of a query, as one lowercase string (EXPLAIN QUERY PLAN / EXPLAIN). */
export async function planOf(
  database: Database,
  query: { compile(): { sql: string; parameters: readonly unknown[] } },
) {
  const { sql: text, parameters } = query.compile();
  const { sql } = await import("kysely");
  const explain = database.dialect === "sqlite" ? "explain query plan " : "explain ";
  const raw = sql.raw(explain + inline(text, parameters, database.dialect));
  const rows = (await raw.execute(database.db)).rows as Record<string, unknown>[];
  return rows
    .map((r) => String(r.detail ?? r["QUERY PLAN"] ?? Object.values(r).join(" ")))
    .join("\n")
    .toLowerCase();
}

function inline(text: string, parameters: readonly unknown[], dialect: string): string {
  const lit = (v: unknown) =>
    v === null ? "null" : typeof v === "number" ? String(v) : `'${String(v).replace(/'/g, "''")}'`;
  if (dialect === "sqlite") {
    let i = 0;
    return text.replace(/\?/g, () => lit(parameters[i++]));
  }
  return text.replace(/\$(\d+)/g, (_, n) => lit(parameters[Number(n) - 1]));
}
