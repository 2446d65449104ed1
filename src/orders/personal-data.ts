/**
 * Personal data: retention per store (erase names, emails, phones and addresses N days after an
 * order is fulfilled or cancelled) and Shopify's mandatory compliance topics. Erasing keeps the
 * order itself (lines, amounts, statuses): the back office's books stay whole.
 */
import type { AppContext } from "../core/context.ts";
import type { Trx } from "../inventory/ledger-store.ts";
import { orderViews } from "./feed-view.ts";
import { lockOrders } from "./intake.ts";
import { loadSettings } from "./settings.ts";
import { normaliseEmail, type ShopifyOrder } from "./shopify-order.ts";

const DAY_MS = 24 * 3600_000;
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
  await db
    .updateTable("webhook_inbox")
    .set({ body: "{}" })
    .where("status", "=", "done")
    .where("received_at", "<", now - RAW_KEEP_MS)
    .where("body", "!=", "{}")
    .execute();
  await db
    .updateTable("outbound_events")
    .set({ payload: "{}" })
    .where("status", "=", "delivered")
    .where("created_at", "<", now - RAW_KEEP_MS)
    .where("payload", "!=", "{}")
    .execute();
  if (orders > 0) ctx.logger.info({ orders, customers }, "retention: personal data erased");
  return { orders, customers };
}

interface CompliancePayload {
  shop_domain?: string;
  customer?: { id?: number; email?: string | null; phone?: string | null };
  orders_requested?: (number | string)[];
  orders_to_redact?: (number | string)[];
  data_request?: { id?: number };
}

const orderGid = (id: number | string) =>
  String(id).startsWith("gid://") ? String(id) : `gid://shopify/Order/${id}`;

async function customerOrders(
  trx: Trx,
  storeId: number,
  p: CompliancePayload,
  ids: (number | string)[] = [],
) {
  const email = normaliseEmail(p.customer?.email);
  const gids = ids.map(orderGid);
  let q = trx.selectFrom("orders").select(["id", "customer_id"]).where("store_id", "=", storeId);
  q = q.where((eb) =>
    eb.or([
      ...(email ? [eb("email", "=", email)] : []),
      ...(gids.length > 0 ? [eb("shopify_order_gid", "in", gids)] : []),
      ...(email
        ? [eb("customer_id", "in", eb.selectFrom("customers").select("id").where("email", "=", email))]
        : []),
    ]),
  );
  if (!email && gids.length === 0) return [];
  return q.execute();
}

/** Applies one compliance webhook inside the inbox transaction; returns the record kept for the operator. */
export async function handleComplianceTx(
  trx: Trx,
  store: { id: number; domain: string } | undefined,
  topic: string,
  payload: CompliancePayload,
  now: number,
): Promise<void> {
  const shop = store?.domain ?? payload.shop_domain ?? "(unknown)";
  let data: unknown = { note: "store not known to the hub; nothing held" };
  if (store) {
    if (topic === "customers/data_request") {
      const orders = await customerOrders(trx, store.id, payload, payload.orders_requested);
      const email = normaliseEmail(payload.customer?.email);
      const customer = email
        ? await trx
            .selectFrom("customers")
            .select(["id", "kind", "email", "name", "phone", "company_id", "created_at"])
            .where("email", "=", email)
            .executeTakeFirst()
        : undefined;
      data = {
        dataRequestId: payload.data_request?.id ?? null,
        shopifyCustomerId: payload.customer?.id ?? null,
        customer: customer ?? null,
        orders: await orderViews(
          trx,
          orders.map((o) => o.id),
        ),
      };
    } else if (topic === "customers/redact") {
      const orders = await customerOrders(trx, store.id, payload, payload.orders_to_redact);
      const redacted = await redactOrders(
        trx,
        orders.map((o) => o.id),
        now,
      );
      const email = normaliseEmail(payload.customer?.email);
      const ids = orders.map((o) => o.customer_id).filter((c): c is number => c !== null);
      if (email) {
        const c = await trx
          .selectFrom("customers")
          .select("id")
          .where("email", "=", email)
          .executeTakeFirst();
        if (c) ids.push(c.id);
        await trx
          .updateTable("webhook_inbox")
          .set({ body: "{}" })
          .where("shop", "=", shop)
          .where("status", "=", "done")
          .where("body", "like", `%${email.replace(/[%_\\]/g, "")}%`)
          .execute();
      }
      data = {
        shopifyCustomerId: payload.customer?.id ?? null,
        ordersRedacted: redacted,
        customersRedacted: await redactOrphanCustomers(trx, ids, now),
      };
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
      await trx
        .updateTable("webhook_inbox")
        .set({ body: "{}" })
        .where("shop", "=", shop)
        .where("status", "=", "done")
        .execute();
      data = {
        ordersRedacted: redacted,
        customersRedacted: await redactOrphanCustomers(
          trx,
          orders.map((o) => o.customer_id).filter((c): c is number => c !== null),
          now,
        ),
      };
    }
  }
  await trx
    .insertInto("compliance_requests")
    .values({ store_id: store?.id ?? null, shop, topic, data: JSON.stringify(data), created_at: now })
    .execute();
}
