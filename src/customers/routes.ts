/**
 * HTTP routes of the customers (issue 16): the back office sends its customers in batches (all or
 * nothing, every bad customer named) and reads them back, paged and searched; per store, the
 * publish state of each customer with Shopify's errors, and a retry for a refused one.
 */
import { z } from "zod";
import { recordAudit } from "../auth/audit.ts";
import type { AppContext } from "../core/context.ts";
import { decodeCursor, encodeCursor, pageQuery } from "../core/cursor.ts";
import { AppError } from "../core/errors.ts";
import { normalizeKey } from "../core/input.ts";
import { route } from "../core/route.ts";
import { requireStore } from "../shops/stores.ts";
import {
  customerBatchInput,
  customerDb,
  getCustomer,
  listCustomers,
  MAX_CUSTOMERS_PER_BATCH,
  putCustomers,
} from "./customer-store.ts";
import { eraseCustomerRecords } from "./redaction.ts";

const domainParams = z.object({ domain: z.string().min(1).max(255) });
const iso = (v: number | string | null) => (v === null ? null : new Date(Number(v)).toISOString());

export function customerRoutes(ctx: AppContext) {
  const db = ctx.database.db;
  const cdb = customerDb(db);
  return [
    route({
      method: "PUT",
      url: "/api/v1/customers",
      tag: "customers",
      auth: "orders.write",
      summary: `Create or update up to ${MAX_CUSTOMERS_PER_BATCH} customers by the back office's key: email, phone (E.164), first and last name, addresses, tags, email and SMS marketing consent (state, the date it was given or withdrawn, opt-in level and source), price group, company name and company key (the company's identity in Shopify: renamed, it stays one company). All or nothing: if any customer is invalid nothing is saved and every problem is listed with its index, key, path and code (INVALID_EMAIL, INVALID_PHONE, CONTACT_REQUIRED, CONSENT_WITHOUT_EMAIL, CONSENT_WITHOUT_PHONE, INVALID_CONSENT_DATE, CONSENT_DATE_IN_FUTURE, COMPANY_KEY_WITHOUT_NAME, DUPLICATE_CUSTOMER_KEY, DUPLICATE_EMAIL_IN_BATCH, DUPLICATE_PHONE_IN_BATCH, EMAIL_IN_OTHER_CUSTOMER, PHONE_IN_OTHER_CUSTOMER, UNKNOWN_FIELD, …). Consent left out is never sent to Shopify. A customer sent again unchanged changes nothing.`,
      body: customerBatchInput,
      bodyValidation: "handler",
      response: z.object({
        created: z.number().int(),
        updated: z.number().int(),
        unchanged: z.number().int(),
      }),
      async handler({ body }) {
        const b = body as unknown;
        const items =
          typeof b === "object" && b !== null ? (b as { customers?: unknown }).customers : undefined;
        if (!Array.isArray(items))
          throw new AppError("INVALID_REQUEST", "the body must be an object with a `customers` array", [
            { path: "customers", code: "MISSING_FIELD", message: "customers must be an array of customers" },
          ]);
        if (items.length === 0 || items.length > MAX_CUSTOMERS_PER_BATCH)
          throw new AppError("INVALID_REQUEST", `a batch holds 1 to ${MAX_CUSTOMERS_PER_BATCH} customers`, [
            { path: "customers", code: "BATCH_SIZE", message: `got ${items.length} customers` },
          ]);
        return putCustomers(db, items, ctx.clock.now());
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/customers",
      tag: "customers",
      auth: "orders.read",
      summary:
        "Customers in the order they were first sent, paged with `cursor=nextCursor`. `q` finds customers whose key, email, first or last name or company name starts with q, or whose phone is q.",
      query: z.object({ q: z.string().max(255).optional(), ...pageQuery }),
      handler: ({ query }) => listCustomers(db, query),
    }),
    route({
      method: "GET",
      url: "/api/v1/customers/:key",
      tag: "customers",
      auth: "orders.read",
      summary: "One customer as the hub holds it, with its publish state in each store.",
      params: z.object({ key: z.string().min(1).max(255) }),
      async handler({ params }) {
        const key = normalizeKey(params.key);
        const view = await getCustomer(db, key);
        const stores = await cdb
          .selectFrom("customer_publish_state as s")
          .innerJoin("customer_records as r", "r.id", "s.customer_id")
          .innerJoin("stores as st", "st.id", "s.store_id")
          .select([
            "st.domain",
            "s.status",
            "s.error",
            "s.shopify_customer_gid",
            "s.shopify_company_gid",
            "s.published_at",
          ])
          .where("r.key", "=", key)
          .orderBy("st.domain")
          .execute();
        return {
          ...view,
          stores: stores.map((s) => ({
            domain: s.domain,
            status: s.status,
            error: s.error ? JSON.parse(s.error) : null,
            shopifyCustomerId: s.shopify_customer_gid,
            shopifyCompanyId: s.shopify_company_gid,
            publishedAt: iso(s.published_at),
          })),
        };
      },
    }),
    route({
      method: "DELETE",
      url: "/api/v1/customers/:key",
      tag: "customers",
      auth: "orders.write",
      summary:
        "Erases the hub's copy of a customer's personal data (the back office deleted the customer, or its retention ran out): every field but the key, and the links to Shopify in every store; the customer is not published again until it is sent again. Shopify's customer is left as it is (Shopify's own deletion and redaction apply there).",
      params: z.object({ key: z.string().min(1).max(255) }),
      async handler({ params, principal }) {
        const key = normalizeKey(params.key);
        const now = ctx.clock.now();
        return db.transaction().execute(async (trx) => {
          const c = await customerDb(trx)
            .selectFrom("customer_records")
            .select(["id", "redacted_at"])
            .where("key", "=", key)
            .executeTakeFirst();
          if (!c)
            throw new AppError("NOT_FOUND", `no customer ${key}`, [
              { path: "key", code: "UNKNOWN_CUSTOMER", message: key },
            ]);
          if (c.redacted_at !== null) return { key, erased: false };
          await eraseCustomerRecords(trx, [Number(c.id)], now);
          // The audit line names the key only, never the person.
          await recordAudit(trx, { principal, storeId: null, action: "customer.erase", target: key }, now);
          return { key, erased: true };
        });
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/customers",
      tag: "customers",
      auth: "store.read",
      summary:
        "Per customer, the publish state for this store: waiting (never published or changed since), pending (with attempts and the last error), published (the Shopify customer and company), refused (Shopify's userErrors with the field), redacted.",
      params: domainParams,
      query: z.object({
        status: z.enum(["waiting", "pending", "published", "refused", "redacted"]).optional(),
        q: z.string().max(255).optional(),
        ...pageQuery,
      }),
      async handler({ params, query }) {
        const store = await requireStore(ctx.database, params.domain);
        const after = query.cursor ? Number(decodeCursor(query.cursor, ["number"])[0]) : 0;
        let q = cdb
          .selectFrom("customer_records as r")
          .leftJoin("customer_publish_state as s", (j) =>
            j.onRef("s.customer_id", "=", "r.id").on("s.store_id", "=", store.id),
          )
          .select([
            "r.id",
            "r.key",
            "r.email",
            "r.first_name",
            "r.last_name",
            "r.company_name",
            "r.company_key",
            "r.content_hash",
            "r.redacted_at",
            "s.desired_hash",
            "s.status",
            "s.error",
            "s.attempts",
            "s.shopify_customer_gid",
            "s.shopify_company_gid",
            "s.published_at",
          ])
          .where("r.id", ">", after);
        if (query.status === "waiting")
          q = q
            .where("r.redacted_at", "is", null)
            .where((eb) =>
              eb.or([eb("s.status", "is", null), eb("s.desired_hash", "!=", eb.ref("r.content_hash"))]),
            );
        else if (query.status) q = q.where("s.status", "=", query.status);
        const text = query.q
          ?.trim()
          .toLowerCase()
          .replace(/[\\%_]/g, "");
        if (text)
          q = q.where((eb) =>
            eb.or([
              eb(eb.fn("lower", ["r.key"]), "like", `${text}%`),
              eb("r.email", "like", `${text}%`),
              eb(eb.fn("lower", ["r.company_name"]), "like", `${text}%`),
            ]),
          );
        const rows = await q
          .orderBy("r.id")
          .limit(query.limit + 1)
          .execute();
        const page = rows.slice(0, query.limit);
        return {
          items: page.map((r) => ({
            key: r.key,
            name: [r.first_name, r.last_name].filter(Boolean).join(" ") || null,
            email: r.email,
            companyName: r.company_name,
            companyKey: r.company_key,
            status:
              r.redacted_at !== null
                ? "redacted"
                : r.status === null || (r.desired_hash !== r.content_hash && r.status !== "pending")
                  ? "waiting"
                  : r.status,
            error: r.error ? JSON.parse(r.error) : null,
            attempts: Number(r.attempts ?? 0),
            shopifyCustomerId: r.shopify_customer_gid,
            shopifyCompanyId: r.shopify_company_gid,
            publishedAt: iso(r.published_at),
          })),
          nextCursor: rows.length > query.limit ? encodeCursor([Number(page.at(-1)!.id)]) : null,
        };
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/customers/:key/retry",
      tag: "customers",
      auth: "store.operate",
      summary: "Publish a refused customer again (after fixing it in Shopify or in the back office).",
      params: z.object({ domain: z.string().min(1).max(255), key: z.string().min(1).max(255) }),
      async handler({ params }) {
        const store = await requireStore(ctx.database, params.domain);
        const key = normalizeKey(params.key);
        const c = await cdb
          .selectFrom("customer_records")
          .select("id")
          .where("key", "=", key)
          .executeTakeFirst();
        if (!c)
          throw new AppError("NOT_FOUND", `no customer ${key}`, [
            { path: "key", code: "UNKNOWN_CUSTOMER", message: key },
          ]);
        const now = ctx.clock.now();
        const r = await cdb
          .updateTable("customer_publish_state")
          .set({ status: "pending", attempts: 0, next_attempt_at: now, marked_at: now, updated_at: now })
          .where("store_id", "=", store.id)
          .where("customer_id", "=", Number(c.id))
          .where("status", "=", "refused")
          .executeTakeFirst();
        return { key, retried: Number(r.numUpdatedRows) > 0 };
      },
    }),
  ];
}
