/**
 * Redaction of the back office's customers held by the hub (issue 16), called from the compliance
 * webhooks (src/orders/personal-data.ts) inside their transaction:
 * - `customers/redact` of a store: the customer records that store knows (linked to the Shopify
 *   customer named, or holding the email or phone named and published to that store) lose every
 *   personal field; their publish state in every store becomes `redacted` and forgets the Shopify
 *   ids. A later PUT of the same key from the back office is new data and is published again.
 * - `shop/redact`: that store's publish state is forgotten (only Shopify ids were kept there).
 * - `customers/data_request`: the records that store knows are part of the export.
 * - `DELETE /api/v1/customers/:key`: the back office erases one (its own deletion or retention).
 */
import type { Trx } from "../inventory/ledger-store.ts";
import { customerDb, customerView } from "./customer-store.ts";

const customerGid = (id: number | string) =>
  String(id).startsWith("gid://") ? String(id) : `gid://shopify/Customer/${id}`;

type Subject = { id?: number | string | null; email?: string | null; phone?: string | null };

/** The customer records this store knows that the request names (by Shopify id, email or phone). */
async function storeCustomerRecordIds(trx: Trx, storeId: number, subject: Subject): Promise<number[]> {
  const cdb = customerDb(trx);
  const email = subject.email?.trim().toLowerCase() || null;
  const phone = subject.phone?.trim() || null;
  const gid = subject.id === undefined || subject.id === null ? null : customerGid(subject.id);
  if (!email && !phone && !gid) return [];
  const rows = await cdb
    .selectFrom("customer_publish_state as s")
    .innerJoin("customer_records as r", "r.id", "s.customer_id")
    .select("r.id")
    .where("s.store_id", "=", storeId)
    .where((eb) =>
      eb.or([
        ...(gid ? [eb("s.shopify_customer_gid", "=", gid)] : []),
        ...(email ? [eb("r.email", "=", email)] : []),
        ...(phone ? [eb("r.phone", "=", phone)] : []),
      ]),
    )
    .execute();
  return [...new Set(rows.map((r) => Number(r.id)))];
}

/** For a customers/data_request: what the hub holds of the customer from the back office. */
export async function customerRecordsFor(trx: Trx, storeId: number, subject: Subject) {
  const ids = await storeCustomerRecordIds(trx, storeId, subject);
  if (ids.length === 0) return [];
  const rows = await customerDb(trx)
    .selectFrom("customer_records")
    .selectAll()
    .where("id", "in", ids)
    .where("redacted_at", "is", null)
    .orderBy("id")
    .execute();
  return rows.map(customerView);
}

export async function redactCustomerRecords(
  trx: Trx,
  storeId: number,
  subject: Subject,
  now: number,
): Promise<number> {
  const ids = await storeCustomerRecordIds(trx, storeId, subject);
  if (ids.length === 0) return 0;
  await eraseCustomerRecords(trx, ids, now);
  return ids.length;
}

/** Erases every personal field of these records; their publish state becomes `redacted` everywhere. */
export async function eraseCustomerRecords(trx: Trx, ids: readonly number[], now: number): Promise<void> {
  if (ids.length === 0) return;
  const cdb = customerDb(trx);
  await cdb
    .updateTable("customer_records")
    .set({
      email: null,
      phone: null,
      first_name: null,
      last_name: null,
      company_name: null,
      company_key: null,
      price_group: null,
      tags: "[]",
      addresses: "[]",
      email_consent: null,
      sms_consent: null,
      content_hash: "redacted",
      consent_hash: "redacted",
      redacted_at: now,
      updated_at: now,
    })
    .where("id", "in", ids)
    .execute();
  await cdb
    .updateTable("customer_publish_state")
    .set({
      desired_hash: "redacted",
      status: "redacted",
      error: null,
      owned_tags: null,
      shopify_customer_gid: null,
      shopify_company_gid: null,
      company_location_gid: null,
      company_contact_gid: null,
      catalog_gid: null,
      updated_at: now,
    })
    .where("customer_id", "in", ids)
    .execute();
}

export async function forgetStoreCustomers(trx: Trx, storeId: number): Promise<void> {
  await customerDb(trx).deleteFrom("customer_publish_state").where("store_id", "=", storeId).execute();
}
