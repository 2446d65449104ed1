/**
 * The back office's customers (issue 16, seed 004), keyed by the back office's own customer key,
 * and their publish state per store (migration 0025), typed here so the shared table list stays
 * untouched (`withTables`).
 *
 * A batch from the back office is checked whole before anything is written (`planCustomerBatch`,
 * pure): every bad customer is named with its index, key, path and code, and nothing is saved.
 * Email and phone identify a customer in Shopify, so each belongs to one hub customer only.
 */
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import { z } from "zod";
import { decodeCursor, encodeCursor } from "../core/cursor.ts";
import { AppError, type ErrorDetail } from "../core/errors.ts";
import { controlCharacterProblem, key as keyText, line } from "../core/input.ts";
import type { Db } from "../db/database.ts";
import type { Tables } from "../db/tables.ts";

export type CustomerPublishStatus = "pending" | "published" | "refused" | "redacted";

export type CustomerTables = {
  customer_records: {
    id: import("kysely").Generated<number>;
    key: string;
    email: string | null;
    phone: string | null;
    first_name: string | null;
    last_name: string | null;
    company_name: string | null;
    /** The back office's key of the company (migration 0033); null: the name identifies it. */
    company_key: string | null;
    price_group: string | null;
    /** JSON string[] */
    tags: string;
    /** JSON Address[] */
    addresses: string;
    /** JSON Consent | null */
    email_consent: string | null;
    sms_consent: string | null;
    content_hash: string;
    consent_hash: string;
    redacted_at: number | null;
    created_at: number;
    updated_at: number;
  };
  customer_publish_state: {
    store_id: number;
    customer_id: number;
    desired_hash: string;
    confirmed_hash: string | null;
    confirmed_consent_hash: string | null;
    shopify_customer_gid: string | null;
    shopify_company_gid: string | null;
    company_location_gid: string | null;
    company_contact_gid: string | null;
    catalog_gid: string | null;
    /** JSON { tags, fields }: the tags and fields the hub set on the Shopify customer (only these are ever removed or cleared). */
    owned_tags: string | null;
    status: CustomerPublishStatus;
    /** JSON { code, field, message, userErrors? } */
    error: string | null;
    attempts: number;
    next_attempt_at: number;
    marked_at: number;
    published_at: number | null;
    updated_at: number;
  };
};

export type CustomerDb = Kysely<Tables & CustomerTables>;
export const customerDb = (db: Db | Kysely<Tables>): CustomerDb =>
  db.withTables<CustomerTables>() as unknown as CustomerDb;

export const MAX_CUSTOMERS_PER_BATCH = 250;

/** E.164: a plus, a country code that does not start with 0, at most 15 digits in all. */
export const E164 = /^\+[1-9]\d{6,14}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const phone = z
  .string()
  .trim()
  .regex(E164, "must be an E.164 phone number: +, country code and number, digits only (e.g. +16135551111)");
const consent = z.strictObject({
  state: z.enum(["subscribed", "unsubscribed", "pending"]),
  consentedAt: z.iso.datetime({ offset: true, message: "must be an ISO 8601 date and time" }),
  optInLevel: z.enum(["single_opt_in", "confirmed_opt_in", "unknown"]).optional(),
  source: line(255).optional(),
});
const address = z.strictObject({
  address1: line(255).nullish(),
  address2: line(255).nullish(),
  city: line(255).nullish(),
  provinceCode: line(20).nullish(),
  zip: line(20).nullish(),
  countryCode: z
    .string()
    .regex(/^[A-Z]{2}$/, "must be a two-letter ISO 3166-1 country code in capitals (e.g. DE)")
    .nullish(),
  company: line(255).nullish(),
  firstName: line(255).nullish(),
  lastName: line(255).nullish(),
  phone: phone.nullish(),
});

export const customerInput = z.strictObject({
  key: keyText(255),
  email: z.string().trim().max(254).regex(EMAIL, "must be an email address (name@domain.tld)").nullish(),
  phone: phone.nullish(),
  firstName: line(255).nullish(),
  lastName: line(255).nullish(),
  companyName: line(255).nullish(),
  /** The back office's key of the company: its identity in Shopify, so a renamed company stays one company. */
  companyKey: keyText(255).nullish(),
  priceGroup: line(100).nullish(),
  tags: z
    .array(
      line(255)
        .trim()
        .min(1)
        .regex(/^[^,]*$/, "a tag cannot hold a comma (Shopify splits tags on commas)"),
    )
    .max(250)
    .optional(),
  addresses: z.array(address).max(20).optional(),
  emailMarketing: consent.nullish(),
  smsMarketing: consent.nullish(),
});
export type CustomerInput = z.infer<typeof customerInput>;
export const customerBatchInput = z.object({ customers: z.array(customerInput) });

export type Address = z.infer<typeof address>;
export type Consent = z.infer<typeof consent>;

/** A customer as the hub keeps it: blanks dropped, email lower-cased, tags sorted and unique. */
export interface NormalizedCustomer {
  readonly key: string;
  readonly email: string | null;
  readonly phone: string | null;
  readonly firstName: string | null;
  readonly lastName: string | null;
  readonly companyName: string | null;
  readonly companyKey: string | null;
  readonly priceGroup: string | null;
  readonly tags: readonly string[];
  readonly addresses: readonly Address[];
  readonly emailMarketing: Consent | null;
  readonly smsMarketing: Consent | null;
}

const blank = (v: string | null | undefined) => {
  const t = v?.trim();
  return t ? t : null;
};

export function normalizeCustomer(c: CustomerInput): NormalizedCustomer {
  const cleanConsent = (x: Consent | null | undefined): Consent | null =>
    x
      ? {
          state: x.state,
          consentedAt: new Date(x.consentedAt).toISOString(),
          optInLevel: x.optInLevel ?? "unknown",
          ...(blank(x.source) ? { source: blank(x.source)! } : {}),
        }
      : null;
  return {
    key: c.key.normalize("NFC"),
    email: blank(c.email)?.toLowerCase() ?? null,
    phone: blank(c.phone),
    firstName: blank(c.firstName),
    lastName: blank(c.lastName),
    companyName: blank(c.companyName),
    // A company key without a company name names nothing: dropped (the batch check says so).
    companyKey: blank(c.companyName) ? (blank(c.companyKey)?.normalize("NFC") ?? null) : null,
    priceGroup: blank(c.priceGroup),
    tags: [...new Set((c.tags ?? []).map((t) => t.trim()))].sort(),
    addresses: (c.addresses ?? []).map((a) =>
      Object.fromEntries(Object.entries(a).filter(([, v]) => v !== null && v !== undefined && v !== "")),
    ),
    emailMarketing: cleanConsent(c.emailMarketing),
    smsMarketing: cleanConsent(c.smsMarketing),
  };
}

const sha = (v: unknown) => createHash("sha256").update(JSON.stringify(v)).digest("hex");
/** What Shopify should show of the customer except consent (sent separately, only when it changed). */
export const contentHash = (c: NormalizedCustomer) =>
  sha([
    c.email,
    c.phone,
    c.firstName,
    c.lastName,
    c.companyName,
    c.priceGroup,
    c.tags,
    c.addresses,
    c.emailMarketing,
    c.smsMarketing,
    // Appended only when given, so customers sent without one keep their hash (no republish).
    ...(c.companyKey ? [c.companyKey] : []),
  ]);
export const consentHash = (c: Pick<NormalizedCustomer, "emailMarketing" | "smsMarketing">) =>
  sha([c.emailMarketing, c.smsMarketing]);

/** Who else already holds an email or phone (by key). */
export interface CustomerLookup {
  readonly emailOwners: ReadonlyMap<string, string>;
  readonly phoneOwners: ReadonlyMap<string, string>;
}

export type CustomerBatchPlan =
  | { readonly ok: true; readonly customers: readonly NormalizedCustomer[] }
  | { readonly ok: false; readonly errors: readonly ErrorDetail[] };

const pathText = (index: number, path: readonly PropertyKey[]) =>
  `customers[${index}]${path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}`;

/** Checks a whole batch (pure): either every customer normalised, or every problem named. */
export function planCustomerBatch(
  items: readonly unknown[],
  lookup: CustomerLookup,
  now: number,
): CustomerBatchPlan {
  const errors: ErrorDetail[] = [];
  const out: NormalizedCustomer[] = [];
  const keys = new Map<string, number>();
  const emails = new Map<string, number>();
  const phones = new Map<string, number>();
  // What each key of the batch will hold: an owner that moves on releases its email or phone.
  const moved = new Map<string, { email: unknown; phone: unknown }>();
  for (const raw of items)
    if (typeof raw === "object" && raw !== null && typeof (raw as { key?: unknown }).key === "string") {
      const r = raw as { key: string; email?: unknown; phone?: unknown };
      moved.set(r.key.normalize("NFC"), {
        email: typeof r.email === "string" ? r.email.trim().toLowerCase() : null,
        phone: typeof r.phone === "string" ? r.phone.trim() : null,
      });
    }
  const held = (owner: string | undefined, field: "email" | "phone", value: string) =>
    owner !== undefined && (!moved.has(owner) || moved.get(owner)![field] === value);
  items.forEach((raw, index) => {
    const rawKey = typeof raw === "object" && raw !== null ? (raw as { key?: unknown }).key : undefined;
    const id = typeof rawKey === "string" && rawKey !== "" ? rawKey.slice(0, 255) : undefined;
    const at = (path: readonly PropertyKey[], code: string, message: string): ErrorDetail => ({
      index,
      ...(id === undefined ? {} : { id }),
      path: pathText(index, path),
      code,
      message,
    });
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      errors.push(at([], "NOT_AN_OBJECT", "each customer must be a JSON object"));
      return;
    }
    const parsed = customerInput.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field = pathText(index, issue.path);
        const missing = issue.code === "invalid_type" && /received undefined/.test(issue.message);
        const code = missing
          ? "MISSING_FIELD"
          : issue.code === "unrecognized_keys"
            ? "UNKNOWN_FIELD"
            : issue.path.includes("phone")
              ? "INVALID_PHONE"
              : issue.path.at(-1) === "email"
                ? "INVALID_EMAIL"
                : issue.path.includes("consentedAt")
                  ? "INVALID_CONSENT_DATE"
                  : issue.code === "too_big"
                    ? "TOO_LONG"
                    : "INVALID_FIELD";
        errors.push(at(issue.path, code, missing ? `${field} is required` : `${field}: ${issue.message}`));
      }
      return;
    }
    const c = normalizeCustomer(parsed.data);
    const problems: ErrorDetail[] = [];
    const dup = (map: Map<string, number>, value: string | null, field: string, code: string) => {
      if (value === null) return;
      const earlier = map.get(value);
      if (earlier !== undefined)
        problems.push(
          at([field], code, `${field} ${value} appears twice in the batch (items ${earlier} and ${index})`),
        );
      else map.set(value, index);
    };
    dup(keys, c.key, "key", "DUPLICATE_CUSTOMER_KEY");
    dup(emails, c.email, "email", "DUPLICATE_EMAIL_IN_BATCH");
    dup(phones, c.phone, "phone", "DUPLICATE_PHONE_IN_BATCH");
    const emailOwner = c.email === null ? undefined : lookup.emailOwners.get(c.email);
    if (emailOwner !== c.key && held(emailOwner, "email", c.email!))
      problems.push(
        at(
          ["email"],
          "EMAIL_IN_OTHER_CUSTOMER",
          `email ${c.email} belongs to customer ${emailOwner} already`,
        ),
      );
    const phoneOwner = c.phone === null ? undefined : lookup.phoneOwners.get(c.phone);
    if (phoneOwner !== c.key && held(phoneOwner, "phone", c.phone!))
      problems.push(
        at(
          ["phone"],
          "PHONE_IN_OTHER_CUSTOMER",
          `phone ${c.phone} belongs to customer ${phoneOwner} already`,
        ),
      );
    if (c.email === null && c.phone === null)
      problems.push(
        at(
          ["email"],
          "CONTACT_REQUIRED",
          "a customer needs an email or a phone: Shopify matches customers by them, so one is needed to never create a customer twice",
        ),
      );
    if (c.emailMarketing && c.email === null)
      problems.push(
        at(["emailMarketing"], "CONSENT_WITHOUT_EMAIL", "email marketing consent needs an email"),
      );
    const rawCompany = parsed.data;
    if (blank(rawCompany.companyKey) && !blank(rawCompany.companyName))
      problems.push(
        at(
          ["companyKey"],
          "COMPANY_KEY_WITHOUT_NAME",
          "a company key needs the company's name (companyName)",
        ),
      );
    if (c.smsMarketing && c.phone === null)
      problems.push(at(["smsMarketing"], "CONSENT_WITHOUT_PHONE", "SMS marketing consent needs a phone"));
    for (const [field, x] of [
      ["emailMarketing", c.emailMarketing],
      ["smsMarketing", c.smsMarketing],
    ] as const)
      if (x && Date.parse(x.consentedAt) > now + 24 * 3600_000)
        problems.push(
          at(
            [field, "consentedAt"],
            "CONSENT_DATE_IN_FUTURE",
            `${field}.consentedAt ${x.consentedAt} is in the future`,
          ),
        );
    errors.push(...problems);
    if (problems.length === 0) out.push(c);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, customers: out };
}

const isUniqueViolation = (err: unknown) =>
  /UNIQUE constraint failed|duplicate key value/i.test((err as Error)?.message ?? "");

/** Saves a checked batch in one transaction; all or nothing. */
export async function putCustomers(
  db: Db,
  items: readonly unknown[],
  now: number,
): Promise<{ created: number; updated: number; unchanged: number }> {
  const cdb = customerDb(db);
  try {
    return await cdb.transaction().execute(async (trx) => {
      const strings = (f: (x: Record<string, unknown>) => unknown) =>
        items
          .map((i) => (typeof i === "object" && i !== null ? f(i as Record<string, unknown>) : undefined))
          // Looked up before validation: only values that can be an email or phone at all (a
          // NUL would fail the query on PostgreSQL; validation then names the bad value).
          .filter(
            (v): v is string =>
              typeof v === "string" &&
              v !== "" &&
              v.length <= 320 &&
              controlCharacterProblem(v, false) === undefined,
          );
      const emails = strings((i) => (typeof i.email === "string" ? i.email.trim().toLowerCase() : undefined));
      const phones = strings((i) => (typeof i.phone === "string" ? i.phone.trim() : undefined));
      const owners = async (col: "email" | "phone", values: string[]) => {
        const m = new Map<string, string>();
        for (let i = 0; i < values.length; i += 500) {
          const rows = await trx
            .selectFrom("customer_records")
            .select(["key", col])
            .where(col, "in", values.slice(i, i + 500))
            .execute();
          for (const r of rows) if (r[col]) m.set(r[col]!, r.key);
        }
        return m;
      };
      const plan = planCustomerBatch(
        items,
        {
          emailOwners: emails.length ? await owners("email", emails) : new Map(),
          phoneOwners: phones.length ? await owners("phone", phones) : new Map(),
        },
        now,
      );
      if (!plan.ok)
        throw new AppError(
          "INVALID_REQUEST",
          `${plan.errors.length} problem(s) in the batch; nothing was saved (see details)`,
          plan.errors,
        );
      let created = 0;
      let updated = 0;
      let unchanged = 0;
      // Customers that release an email or phone are written first, so a swap within one batch works.
      const existing = new Map(
        (
          await trx
            .selectFrom("customer_records")
            .select(["id", "key", "content_hash", "redacted_at"])
            .where(
              "key",
              "in",
              plan.customers.map((c) => c.key),
            )
            .execute()
        ).map((r) => [r.key, r]),
      );
      const changed = (c: NormalizedCustomer) => {
        const row = existing.get(c.key);
        return row !== undefined && (row.content_hash !== contentHash(c) || row.redacted_at !== null);
      };
      // Changed customers release their email and phone first: another customer of this batch
      // (a new one too) may take them over.
      for (const c of plan.customers)
        if (changed(c))
          await trx
            .updateTable("customer_records")
            .set({ email: null, phone: null })
            .where("id", "=", existing.get(c.key)!.id)
            .execute();
      for (const c of plan.customers) {
        const values = {
          email: c.email,
          phone: c.phone,
          first_name: c.firstName,
          last_name: c.lastName,
          company_name: c.companyName,
          company_key: c.companyKey,
          price_group: c.priceGroup,
          tags: JSON.stringify(c.tags),
          addresses: JSON.stringify(c.addresses),
          email_consent: c.emailMarketing ? JSON.stringify(c.emailMarketing) : null,
          sms_consent: c.smsMarketing ? JSON.stringify(c.smsMarketing) : null,
          content_hash: contentHash(c),
          consent_hash: consentHash(c),
          redacted_at: null,
          updated_at: now,
        };
        const row = existing.get(c.key);
        if (!row) {
          await trx
            .insertInto("customer_records")
            .values({ key: c.key, ...values, created_at: now })
            .execute();
          created++;
        } else if (changed(c)) {
          await trx.updateTable("customer_records").set(values).where("id", "=", row.id).execute();
          updated++;
        } else unchanged++;
      }
      return { created, updated, unchanged };
    });
  } catch (err) {
    if (isUniqueViolation(err))
      throw new AppError(
        "CONFLICT",
        "another request saved a customer with one of these keys, emails or phones at the same time; send the batch again",
      );
    throw err;
  }
}

export interface CustomerView {
  readonly key: string;
  readonly email: string | null;
  readonly phone: string | null;
  readonly firstName: string | null;
  readonly lastName: string | null;
  readonly companyName: string | null;
  readonly companyKey: string | null;
  readonly priceGroup: string | null;
  readonly tags: string[];
  readonly addresses: Address[];
  readonly emailMarketing: Consent | null;
  readonly smsMarketing: Consent | null;
  readonly redacted: boolean;
  readonly updatedAt: number;
}

type RecordRow = CustomerTables["customer_records"] & { id: number };

export const customerView = (r: Omit<RecordRow, "id"> & { id?: number }): CustomerView => ({
  key: r.key,
  email: r.email,
  phone: r.phone,
  firstName: r.first_name,
  lastName: r.last_name,
  companyName: r.company_name,
  companyKey: r.company_key,
  priceGroup: r.price_group,
  tags: JSON.parse(r.tags) as string[],
  addresses: JSON.parse(r.addresses) as Address[],
  emailMarketing: r.email_consent ? (JSON.parse(r.email_consent) as Consent) : null,
  smsMarketing: r.sms_consent ? (JSON.parse(r.sms_consent) as Consent) : null,
  redacted: r.redacted_at !== null,
  updatedAt: Number(r.updated_at),
});

/** LIKE wildcards are dropped from a search (SQLite and PostgreSQL escape them differently). */
const likeSafe = (v: string) => v.replace(/[\\%_]/g, "");

/**
 * Customers in the order they were first sent, paged by that order. `q`: the key or email starting with q, or the phone
 * equal to q, or a first or last name or company starting with q (case-insensitive).
 */
export async function listCustomers(
  db: Db,
  query: { q?: string; cursor?: string; limit: number },
): Promise<{ items: CustomerView[]; nextCursor: string | null }> {
  let qb = customerDb(db)
    .selectFrom("customer_records")
    .selectAll()
    .orderBy("id")
    .limit(query.limit + 1);
  if (query.cursor) {
    const [after] = decodeCursor(query.cursor, ["number"]);
    qb = qb.where("id", ">", after as number);
  }
  const q = query.q?.trim();
  if (q) {
    const prefix = `${likeSafe(q.toLowerCase())}%`;
    qb = qb.where((eb) =>
      eb.or([
        eb(eb.fn("lower", ["key"]), "like", eb.val(prefix)),
        eb("email", "like", prefix),
        eb("phone", "=", q),
        eb(eb.fn("lower", ["first_name"]), "like", eb.val(prefix)),
        eb(eb.fn("lower", ["last_name"]), "like", eb.val(prefix)),
        eb(eb.fn("lower", ["company_name"]), "like", eb.val(prefix)),
      ]),
    );
  }
  const rows = await qb.execute();
  const page = rows.slice(0, query.limit);
  return {
    items: page.map(customerView),
    nextCursor: rows.length > query.limit ? encodeCursor([Number(page.at(-1)!.id)]) : null,
  };
}

export async function getCustomer(db: Db, key: string): Promise<CustomerView> {
  const r = await customerDb(db)
    .selectFrom("customer_records")
    .selectAll()
    .where("key", "=", key)
    .executeTakeFirst();
  if (!r)
    throw new AppError("NOT_FOUND", `no customer with key ${key}`, [
      { id: key, code: "UNKNOWN_CUSTOMER", message: "send it with PUT /api/v1/customers first" },
    ]);
  return customerView(r);
}
