/**
 * Personal data: retention per store (erase names, emails, phones and addresses N days after an
 * order is fulfilled or cancelled) and Shopify's mandatory compliance topics. Erasing keeps the
 * order itself (lines, amounts, statuses): the back office's books stay whole.
 *
 * Compliance (issue 18): a redaction leaves no copy the hub can read back. A customers/redact
 * erases the customer's orders (of the requesting store), the customer once no live order of any
 * store holds it, the processed webhook bodies naming them, any earlier data-request export about
 * them, and its own delivery's body (only the ids needed for a replay are kept). Lookups are
 * limited to the requesting store (customers are shared across stores). Every request leaves a
 * `compliance_requests` record and an audit line without personal data. On SQLite the database
 * runs with `secure_delete` and the WAL is checkpointed and truncated after a redaction, so the
 * old values do not linger in the files; on PostgreSQL the redacted tables are vacuumed right
 * after, so no old row version stays readable in them (`forgetOverwritten`).
 */
import { createHash } from "node:crypto";
import { sql } from "kysely";
import { recordAudit } from "../auth/audit.ts";
import type { AppContext } from "../core/context.ts";
import { customerRecordsFor, forgetStoreCustomers, redactCustomerRecords } from "../customers/redaction.ts";
import type { Trx } from "../inventory/ledger-store.ts";
import { orderViews } from "./feed-view.ts";
import { lockOrders } from "./intake.ts";
import { loadSettings } from "./settings.ts";
import { normaliseEmail, type ShopifyOrder } from "./shopify-order.ts";

const DAY_MS = 24 * 3600_000;
/** Shopify's deadline to answer a customers/data_request: the export is kept this long, then erased. */
export const DATA_REQUEST_KEEP_MS = 30 * DAY_MS;
/** Processed webhook bodies and delivered outbound payloads hold personal data; kept this long for replay. */
export const RAW_KEEP_MS = 7 * DAY_MS;
const CHUNK = 200;

function scrub(source: string): string {
  const o = JSON.parse(source) as ShopifyOrder;
  return JSON.stringify({
    ...o,
    email: null,
    phone: null,
    customerName: null,
    billingAddress: null,
    shippingAddress: null,
    // A note and its attributes are free text the customer may have written.
    money: o.money ? { ...o.money, note: null, noteAttributes: [] } : o.money,
  });
}

/** Erases the personal data of these orders; returns how many were erased now. */
export async function redactOrders(trx: Trx, orderIds: readonly number[], now: number): Promise<number> {
  let n = 0;
  for (let i = 0; i < orderIds.length; i += CHUNK) {
    const rows = await trx
      .selectFrom("orders")
      .select(["id", "source"])
      .where("id", "in", orderIds.slice(i, i + CHUNK))
      .where("redacted_at", "is", null)
      .execute();
    for (const r of rows) {
      await trx
        .updateTable("orders")
        .set({
          email: null,
          customer_name: null,
          phone: null,
          addresses: null,
          source: scrub(r.source),
          redacted_at: now,
        })
        .where("id", "=", r.id)
        .execute();
      n++;
    }
    await trx
      .updateTable("outbound_events")
      .set({ payload: "{}" })
      .where("order_id", "in", orderIds.slice(i, i + CHUNK))
      .where("status", "=", "delivered")
      .execute();
  }
  return n;
}

/** Erases customers none of whose orders still hold personal data. */
export async function redactOrphanCustomers(
  trx: Trx,
  customerIds: readonly number[],
  now: number,
): Promise<number> {
  let n = 0;
  for (const id of new Set(customerIds)) {
    const live = await trx
      .selectFrom("orders")
      .select("id")
      .where("customer_id", "=", id)
      .where("redacted_at", "is", null)
      .limit(1)
      .executeTakeFirst();
    if (live) continue;
    const r = await trx
      .updateTable("customers")
      .set({ email: null, name: null, phone: null, redacted_at: now, updated_at: now })
      .where("id", "=", id)
      .where("redacted_at", "is", null)
      .executeTakeFirst();
    n += Number(r.numUpdatedRows);
  }
  return n;
}

/** Scheduler job (daily is enough): erases what is past each store's retention. */
export async function applyRetention(
  ctx: AppContext,
  now: number,
): Promise<{ orders: number; customers: number }> {
  const db = ctx.database.db;
  let orders = 0;
  let customers = 0;
  for (const { id: storeId } of await db.selectFrom("stores").select("id").execute()) {
    const settings = await loadSettings(db, storeId);
    if (settings.retentionDays === null) continue;
    const due = await db
      .selectFrom("orders")
      .select(["id", "customer_id"])
      .where("store_id", "=", storeId)
      .where("redacted_at", "is", null)
      .where("finished_at", "<=", now - settings.retentionDays * DAY_MS)
      .execute();
    if (due.length === 0) continue;
    await db.transaction().execute(async (trx) => {
      await lockOrders(trx, ctx.database.dialect);
      orders += await redactOrders(
        trx,
        due.map((d) => d.id),
        now,
      );
      customers += await redactOrphanCustomers(
        trx,
        due.map((d) => d.customer_id).filter((c): c is number => c !== null),
        now,
      );
    });
  }
  const bodies = await db
    .updateTable("webhook_inbox")
    .set({ body: "{}" })
    .where("status", "=", "done")
    .where("received_at", "<", now - RAW_KEEP_MS)
    .where("body", "!=", "{}")
    .executeTakeFirst();
  const payloads = await db
    .updateTable("outbound_events")
    .set({ payload: "{}" })
    .where("status", "=", "delivered")
    .where("created_at", "<", now - RAW_KEEP_MS)
    .where("payload", "!=", "{}")
    .executeTakeFirst();
  // Data-request exports past Shopify's 30-day deadline to answer: no longer needed.
  const exports = await db
    .updateTable("compliance_requests")
    .set({ data: JSON.stringify({ erased: "kept 30 days (Shopify's deadline to answer), then erased" }) })
    .where("topic", "=", "customers/data_request")
    .where("created_at", "<", now - DATA_REQUEST_KEEP_MS)
    .where("subject", "is not", null)
    .executeTakeFirst();
  // Erased by retention counts as redacted: the next inbox run forgets the old row versions too.
  if (
    orders > 0 ||
    Number(bodies.numUpdatedRows) > 0 ||
    Number(payloads.numUpdatedRows) > 0 ||
    Number(exports.numUpdatedRows) > 0
  )
    redactedSinceCheckpoint = true;
  await db
    .updateTable("compliance_requests")
    .set({ subject: null })
    .where("topic", "=", "customers/data_request")
    .where("created_at", "<", now - DATA_REQUEST_KEEP_MS)
    .execute();
  if (orders > 0) ctx.logger.info({ orders, customers }, "retention: personal data erased");
  return { orders, customers };
}

interface CompliancePayload {
  shop_domain?: string;
  customer?: { id?: number | string; email?: string | null; phone?: string | null };
  orders_requested?: (number | string)[];
  orders_to_redact?: (number | string)[];
  data_request?: { id?: number };
}

const orderGid = (id: number | string) =>
  String(id).startsWith("gid://") ? String(id) : `gid://shopify/Order/${id}`;

/**
 * Who a request is about, as a key that names nobody: the store and Shopify's customer id (else
 * the email), hashed. A redact finds the data-request exports about the same customer by it.
 */
export function complianceSubjects(storeId: number, p: CompliancePayload): string[] {
  const keys: string[] = [];
  if (p.customer?.id !== undefined && p.customer.id !== null) keys.push(`id:${String(p.customer.id)}`);
  const email = normaliseEmail(p.customer?.email);
  if (email) keys.push(`email:${email}`);
  return keys.map((k) => createHash("sha256").update(`${storeId}|${k}`).digest("hex"));
}

/** This store's orders of the customer: by email, by the order ids Shopify listed, by its customer's email. */
async function customerOrders(
  trx: Trx,
  storeId: number,
  p: CompliancePayload,
  ids: (number | string)[] = [],
) {
  const email = normaliseEmail(p.customer?.email);
  const gids = ids.map(orderGid);
  if (!email && gids.length === 0) return [];
  return trx
    .selectFrom("orders")
    .select(["id", "customer_id"])
    .where("store_id", "=", storeId)
    .where((eb) =>
      eb.or([
        ...(email ? [eb("email", "=", email)] : []),
        ...(gids.length > 0 ? [eb("shopify_order_gid", "in", gids)] : []),
        ...(email
          ? [eb("customer_id", "in", eb.selectFrom("customers").select("id").where("email", "=", email))]
          : []),
      ]),
    )
    .execute();
}

/**
 * The hub's customer with this email, only if one of the requesting store's orders belongs to it:
 * customers are shared across stores, and a store may learn only of its own.
 */
async function storeCustomerId(trx: Trx, storeId: number, email: string | null): Promise<number | undefined> {
  if (!email) return undefined;
  const c = await trx
    .selectFrom("customers")
    .select("id")
    .where("email", "=", email)
    .where("id", "in", (eb) =>
      eb
        .selectFrom("orders")
        .select("customer_id")
        .where("store_id", "=", storeId)
        .where("customer_id", "is not", null),
    )
    .executeTakeFirst();
  return c ? Number(c.id) : undefined;
}

/** Processed bodies of this shop that name the customer, and every compliance delivery naming them (this one too). */
async function scrubInboxBodies(
  trx: Trx,
  shop: string,
  email: string,
  payload: CompliancePayload,
): Promise<void> {
  const like = `%${email.replace(/[%_\\]/g, "")}%`;
  await trx
    .updateTable("webhook_inbox")
    .set({ body: "{}" })
    .where("shop", "=", shop)
    .where("status", "=", "done")
    .where("topic", "not in", ["customers/redact"])
    .where("body", "like", like)
    .execute();
  // A redact delivery keeps only what a replay needs: the customer's id and the order ids.
  await trx
    .updateTable("webhook_inbox")
    .set({
      body: JSON.stringify({
        shop_domain: payload.shop_domain ?? shop,
        customer: { id: payload.customer?.id ?? null },
        orders_to_redact: payload.orders_to_redact ?? [],
      }),
    })
    .where("shop", "=", shop)
    .where("topic", "=", "customers/redact")
    .where("body", "like", like)
    .execute();
  await trx
    .updateTable("webhook_inbox")
    .set({ body: "{}" })
    .where("shop", "=", shop)
    .where("topic", "=", "customers/data_request")
    .where("body", "like", like)
    .execute();
}

/** Set when a redaction ran in this process: the next inbox run checkpoints SQLite's WAL (`forgetOverwritten`). */
let redactedSinceCheckpoint = false;

/** The tables a compliance redaction updates or deletes rows of (PostgreSQL vacuums these after one). */
export const REDACTED_TABLES = [
  "orders",
  "customers",
  "webhook_inbox",
  "outbound_events",
  "compliance_requests",
  "customer_records",
  "customer_publish_state",
] as const;

/**
 * Old row versions a redaction left behind, removed right after it. Runs outside any transaction
 * (the inbox job calls it after its run; VACUUM cannot run inside one).
 * - SQLite keeps the pages a redaction overwrote in its WAL until a checkpoint; `secure_delete`
 *   (src/db/database.ts) zeroes freed content in the database file. Truncating the WAL after the
 *   redaction's commit leaves no old value in either file.
 * - PostgreSQL keeps each updated or deleted row's old version in the table (and its index
 *   entries) until VACUUM; autovacuum would get there only after its thresholds (20 % of a table
 *   changed by default), which one redaction in a large table never reaches. So the redacted
 *   tables are vacuumed here (plain VACUUM: no exclusive lock, writers carry on; INDEX_CLEANUP ON so
 *   index entries of the old values go too, which PostgreSQL may skip for few dead rows).
 *   Limits: a transaction open elsewhere since before the redaction keeps its versions until a
 *   later vacuum; WAL segments and backups keep what they recorded until recycled (operators
 *   retain backups under their own policy).
 */
export async function forgetOverwritten(ctx: Pick<AppContext, "database">): Promise<boolean> {
  if (!redactedSinceCheckpoint) return false;
  redactedSinceCheckpoint = false;
  if (ctx.database.dialect === "sqlite") {
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(ctx.database.db);
    return true;
  }
  for (const table of REDACTED_TABLES) {
    const exists = await sql<{ t: string | null }>`select to_regclass(${table})::text as t`.execute(
      ctx.database.db,
    );
    if (!exists.rows[0]?.t) continue;
    await sql`vacuum (index_cleanup on) ${sql.table(table)}`.execute(ctx.database.db);
  }
  return true;
}

/** Applies one compliance webhook inside the inbox transaction; keeps a record and an audit line for the operator. */
export async function handleComplianceTx(
  trx: Trx,
  store: { id: number; domain: string } | undefined,
  topic: string,
  payload: CompliancePayload,
  now: number,
): Promise<void> {
  const shop = store?.domain ?? payload.shop_domain ?? "(unknown)";
  let data: unknown = { note: "store not known to the hub; nothing held" };
  let summary: Record<string, unknown> = { held: false };
  let subject: string | null = null;
  if (store) {
    const email = normaliseEmail(payload.customer?.email);
    if (topic === "customers/data_request") {
      const orders = await customerOrders(trx, store.id, payload, payload.orders_requested);
      const customerId = await storeCustomerId(trx, store.id, email);
      const customer =
        customerId === undefined
          ? undefined
          : await trx
              .selectFrom("customers")
              // The shared record's name and phone may come from another store's orders: only what
              // the request names; this store's orders (below) carry what it knows of the customer.
              .select(["id", "kind", "email", "company_id", "created_at"])
              .where("id", "=", customerId)
              .where("redacted_at", "is", null)
              .executeTakeFirst();
      data = {
        dataRequestId: payload.data_request?.id ?? null,
        shopifyCustomerId: payload.customer?.id ?? null,
        customer: customer ?? null,
        // The back office's record of the customer, when this store publishes it (src/customers).
        customerRecords: await customerRecordsFor(trx, store.id, payload.customer ?? {}),
        // Each order as this store has it; its shared customer record without another store's name or phone.
        orders: (
          await orderViews(
            trx,
            orders.map((o) => o.id),
          )
        ).map((v) => ({
          ...v,
          customer: v.customer
            ? {
                id: v.customer.id,
                kind: v.customer.kind,
                email: v.customer.email,
                company: v.customer.company,
              }
            : null,
        })),
      };
      subject = complianceSubjects(store.id, payload)[0] ?? null;
      summary = {
        dataRequestId: payload.data_request?.id ?? null,
        orders: orders.length,
        customer: Boolean(customer),
      };
    } else if (topic === "customers/redact") {
      const orders = await customerOrders(trx, store.id, payload, payload.orders_to_redact);
      const redacted = await redactOrders(
        trx,
        orders.map((o) => o.id),
        now,
      );
      const ids = orders.map((o) => o.customer_id).filter((c): c is number => c !== null);
      const own = await storeCustomerId(trx, store.id, email);
      if (own !== undefined) ids.push(own);
      if (email) await scrubInboxBodies(trx, shop, email, payload);
      // Earlier data-request exports about this customer are emptied too.
      const subjects = complianceSubjects(store.id, payload);
      const exports =
        subjects.length === 0
          ? 0
          : Number(
              (
                await trx
                  .updateTable("compliance_requests")
                  .set({
                    data: JSON.stringify({
                      erased: `erased by customers/redact at ${new Date(now).toISOString()}`,
                    }),
                    subject: null,
                  })
                  .where("store_id", "=", store.id)
                  .where("topic", "=", "customers/data_request")
                  .where("subject", "in", subjects)
                  .executeTakeFirst()
              ).numUpdatedRows,
            );
      data = {
        shopifyCustomerId: payload.customer?.id ?? null,
        ordersRedacted: redacted,
        customersRedacted: await redactOrphanCustomers(trx, ids, now),
        // The back office's customer record and its publish state (src/customers/redaction.ts).
        customerRecordsRedacted: await redactCustomerRecords(trx, store.id, payload.customer ?? {}, now),
        dataRequestExportsErased: exports,
      };
      summary = data as Record<string, unknown>;
      redactedSinceCheckpoint = true;
    } else if (topic === "shop/redact") {
      const orders = await trx
        .selectFrom("orders")
        .select(["id", "customer_id"])
        .where("store_id", "=", store.id)
        .execute();
      const redacted = await redactOrders(
        trx,
        orders.map((o) => o.id),
        now,
      );
      await forgetStoreCustomers(trx, store.id);
      await trx
        .updateTable("webhook_inbox")
        .set({ body: "{}" })
        .where("shop", "=", shop)
        .where("status", "=", "done")
        .execute();
      await trx
        .updateTable("webhook_inbox")
        .set({ body: "{}" })
        .where("shop", "=", shop)
        .where("topic", "in", ["customers/redact", "customers/data_request"])
        .execute();
      const exports = Number(
        (
          await trx
            .updateTable("compliance_requests")
            .set({
              data: JSON.stringify({ erased: `erased by shop/redact at ${new Date(now).toISOString()}` }),
              subject: null,
            })
            .where("store_id", "=", store.id)
            .where("topic", "=", "customers/data_request")
            .executeTakeFirst()
        ).numUpdatedRows,
      );
      data = {
        ordersRedacted: redacted,
        customersRedacted: await redactOrphanCustomers(
          trx,
          orders.map((o) => o.customer_id).filter((c): c is number => c !== null),
          now,
        ),
        dataRequestExportsErased: exports,
      };
      summary = data as Record<string, unknown>;
      redactedSinceCheckpoint = true;
    }
  }
  await trx
    .insertInto("compliance_requests")
    .values({
      store_id: store?.id ?? null,
      shop,
      topic,
      data: JSON.stringify(data),
      created_at: now,
      subject,
    })
    .execute();
  // The audit line: what was asked and done, never who it was about.
  await recordAudit(
    trx,
    {
      principal: null,
      storeId: store?.id ?? null,
      action: `compliance.${topic.replace("/", "_")}`,
      target: shop,
      after: summary,
    },
    now,
  );
}
