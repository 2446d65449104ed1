/**
 * The customer publish of one store (flow `customer_publish`), run under the store's lease by
 * the worker's store pass. Level-triggered like the catalog publish:
 *
 * 1. customers whose content changed since their state row's desired hash (or that have no row
 *    for the store yet) become due; so do company customers whose price group's catalog appeared
 *    or changed in the store;
 * 2. a due customer is found in Shopify by the id the hub linked, else by email, then by phone
 *    (a customer Shopify created for an order is linked, never duplicated), and written with
 *    `customerSet` by that id, or upserted by email (else phone): a retry after a crash or a
 *    duplicated run can never create a second customer;
 * 3. marketing consent is sent only as the back office stated it, with its date, and only when it
 *    changed; a customer without stated consent keeps whatever Shopify has (never "subscribed");
 * 4. with a company name: the company (found by its external id, else created with a location),
 *    the customer as its contact with a role at the location, the location in the price group's
 *    catalog when the group is a price list in the store;
 * 5. Shopify's confirmation is recorded with the lease's fence.
 *
 * One customer's refusal (Shopify's userErrors) or transient failure never stops the others.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { AppContext } from "../core/context.ts";
import type { Db } from "../db/database.ts";
import { backoffMs } from "../jobs/backoff.ts";
import { LeaseLostError } from "../runtime/leases.ts";
import type { StorePass } from "../runtime/worker.ts";
import { ShopifyAuthError } from "../shopify/errors.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { type Address, type Consent, type CustomerTables, customerDb } from "./customer-store.ts";
import { type PriceTables, priceGroupCatalog } from "./price-group-catalog.ts";
import {
  addLocationToCatalog,
  assignContact,
  assignRole,
  type ConsentInput,
  type CustomerSetIdentifier,
  companyById,
  createCompany,
  customerById,
  findCompany,
  findCustomer,
  renameCompany,
  type ShopifyCustomer,
  type ShopifyUserError,
  sendConsent,
  sendCustomerSet,
} from "./shopify-customers.ts";

export interface CustomerPublishDeps {
  readonly db: Db;
  readonly now: () => number;
  readonly logger: Logger;
  readonly random?: () => number;
}

export interface CustomerCycleResult {
  readonly marked: number;
  readonly published: number;
  readonly refused: number;
  readonly failed: number;
  readonly remaining: boolean;
}

const MARK_PER_CYCLE = 500;
const PUBLISH_PER_CYCLE = 25;
const RETRY = { baseMs: 5_000, capMs: 3600_000 };
const fatal = (err: unknown) => err instanceof LeaseLostError || err instanceof ShopifyAuthError;

type RecordRow = CustomerTables["customer_records"] & { id: number };
type StateRow = CustomerTables["customer_publish_state"];

/**
 * The Shopify company's external id (at most 64 characters on Shopify): from the back office's
 * company key when it sends one, so a renamed company stays the same company; else from the name
 * (the same name is the same company, and a new name is a new company).
 */
export function companyExternalId(name: string, key?: string | null): string {
  if (key) return `tillbridge-k-${createHash("sha256").update(key).digest("hex").slice(0, 24)}`;
  const norm = name.trim().replace(/\s+/g, " ").toLowerCase();
  return `tillbridge-${createHash("sha256").update(norm).digest("hex").slice(0, 24)}`;
}

/** Tags Shopify should hold: the merchant's own kept, the hub's replaced by the back office's (pure). */
export function mergeTags(current: readonly string[], owned: readonly string[], desired: readonly string[]) {
  const mine = new Set(owned.map((t) => t.toLowerCase()));
  const keep = current.filter((t) => !mine.has(t.toLowerCase()));
  const seen = new Set(keep.map((t) => t.toLowerCase()));
  return [...keep, ...desired.filter((t) => !seen.has(t.toLowerCase()))];
}

/** What the hub wrote on the Shopify customer (`owned_tags`): tags, and the fields it set. */
export interface Owned {
  readonly tags: readonly string[];
  readonly fields: readonly string[];
}
export function parseOwned(json: string | null): Owned {
  if (!json) return { tags: [], fields: [] };
  const v = JSON.parse(json) as string[] | Owned;
  return Array.isArray(v) ? { tags: v, fields: [] } : v;
}

/**
 * The person's fields for `customerSet` (pure): what the back office states is sent; a field it
 * leaves empty is cleared only if the hub set it before (an email the customer gave Shopify at
 * checkout stays). Returns the fields the hub now owns.
 */
export function personInput(
  values: Readonly<Record<"email" | "phone" | "firstName" | "lastName", string | null>>,
  ownedFields: readonly string[],
): { input: Record<string, unknown>; fields: string[] } {
  const input: Record<string, unknown> = {};
  const fields: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    if (v !== null) {
      input[k] = v;
      fields.push(k);
    } else if (ownedFields.includes(k)) input[k] = null;
  }
  return { input, fields };
}

/**
 * The consent input Shopify takes for what the back office stated (pure); null: nothing stated.
 * Shopify records a consent's source only as a location of the store (`sourceLocationId`); the
 * back office's source is sent when it names one (`sourceLocation`), else kept in the hub only.
 */
export function consentInput(c: Consent | null, sourceLocation?: string | null): ConsentInput | null {
  if (!c) return null;
  return {
    marketingState: c.state.toUpperCase() as ConsentInput["marketingState"],
    consentUpdatedAt: c.consentedAt,
    marketingOptInLevel: (c.optInLevel ?? "unknown").toUpperCase() as ConsentInput["marketingOptInLevel"],
    ...(sourceLocation ? { sourceLocationId: sourceLocation } : {}),
  };
}

/**
 * The store location a consent source names: a location of the store by its name, else a
 * warehouse code mapped to exactly one of the store's locations (a till in a shop where the
 * customer signed up). Null: the source is no location of this store ("webshop", "newsletter").
 */
export async function consentSourceLocation(
  db: Db,
  storeId: number,
  source: string | undefined,
): Promise<string | null> {
  const s = source?.trim().toLowerCase();
  if (!s) return null;
  const byName = await db
    .selectFrom("store_locations")
    .select("location_gid")
    .where("store_id", "=", storeId)
    .where((eb) => eb(eb.fn("lower", ["name"]), "=", s))
    .execute();
  if (byName.length === 1) return byName[0]!.location_gid;
  const byWarehouse = await db
    .selectFrom("warehouses as w")
    .innerJoin("location_warehouses as lw", "lw.warehouse_id", "w.id")
    .innerJoin("store_locations as l", "l.id", "lw.store_location_id")
    .select("l.location_gid")
    .where("l.store_id", "=", storeId)
    .where((eb) => eb(eb.fn("lower", ["w.code"]), "=", s))
    .execute();
  return byWarehouse.length === 1 ? byWarehouse[0]!.location_gid : null;
}

const addressInput = (a: Address) => Object.fromEntries(Object.entries(a).filter(([, v]) => v != null));

/** Customers become due: new ones, changed ones, and company customers whose catalog moved. */
export async function markDue(db: Db, storeId: number, now: number, limit = MARK_PER_CYCLE): Promise<number> {
  const cdb = customerDb(db);
  const fresh = await cdb
    .selectFrom("customer_records as r")
    .leftJoin("customer_publish_state as s", (j) =>
      j.onRef("s.customer_id", "=", "r.id").on("s.store_id", "=", storeId),
    )
    .select(["r.id", "r.content_hash", "s.customer_id as has"])
    .where("r.redacted_at", "is", null)
    .where((eb) =>
      eb.or([eb("s.customer_id", "is", null), eb("s.desired_hash", "!=", eb.ref("r.content_hash"))]),
    )
    .orderBy("r.id")
    .limit(limit)
    .execute();
  for (const r of fresh) {
    const values = {
      desired_hash: r.content_hash,
      status: "pending" as const,
      error: null,
      attempts: 0,
      next_attempt_at: now,
      marked_at: now,
      updated_at: now,
    };
    if (r.has === null)
      await cdb
        .insertInto("customer_publish_state")
        .values({ store_id: storeId, customer_id: r.id, ...values })
        .onConflict((oc) => oc.columns(["store_id", "customer_id"]).doUpdateSet(values))
        .execute();
    else
      await cdb
        .updateTable("customer_publish_state")
        .set(values)
        .where("store_id", "=", storeId)
        .where("customer_id", "=", r.id)
        .execute();
  }
  // A price group that became a price list (or changed catalog) in this store since the customer's
  // publish: one query finds exactly those.
  const moved = await cdb
    .withTables<PriceTables>()
    .selectFrom("customer_publish_state as s")
    .innerJoin("customer_records as r", "r.id", "s.customer_id")
    .innerJoin("price_groups as g", "g.code", "r.price_group")
    .innerJoin("price_list_state as p", (j) =>
      j.onRef("p.group_id", "=", "g.id").onRef("p.store_id", "=", "s.store_id"),
    )
    .select("s.customer_id")
    .where("s.store_id", "=", storeId)
    .where("s.status", "=", "published")
    .where("r.company_name", "is not", null)
    .where("p.catalog_gid", "is not", null)
    .where((eb) =>
      eb.or([eb("s.catalog_gid", "is", null), eb("s.catalog_gid", "!=", eb.ref("p.catalog_gid"))]),
    )
    .limit(limit)
    .execute();
  for (const c of moved)
    await cdb
      .updateTable("customer_publish_state")
      .set({ status: "pending", attempts: 0, next_attempt_at: now, marked_at: now, updated_at: now })
      .where("store_id", "=", storeId)
      .where("customer_id", "=", c.customer_id)
      .execute();
  return fresh.length + moved.length;
}

export async function runCustomerPublishCycle(
  deps: CustomerPublishDeps,
  store: { id: number; domain: string },
  transport: AdminTransport,
): Promise<CustomerCycleResult> {
  const cdb = customerDb(deps.db);
  const marked = await markDue(deps.db, store.id, deps.now());
  const due = await cdb
    .selectFrom("customer_publish_state as s")
    .innerJoin("customer_records as r", "r.id", "s.customer_id")
    .selectAll("s")
    .select(["r.key"])
    .where("s.store_id", "=", store.id)
    .where("s.status", "=", "pending")
    .where("s.next_attempt_at", "<=", deps.now())
    .orderBy("s.next_attempt_at")
    .orderBy("s.customer_id")
    .limit(PUBLISH_PER_CYCLE + 1)
    .execute();
  const result = { marked, published: 0, refused: 0, failed: 0, remaining: due.length > PUBLISH_PER_CYCLE };
  for (const row of due.slice(0, PUBLISH_PER_CYCLE)) {
    try {
      const outcome = await publishOne(deps, store.id, transport, row);
      result[outcome]++;
    } catch (err) {
      if (fatal(err)) throw err;
      result.failed++;
      const now = deps.now();
      const attempts = row.attempts + 1;
      const message = err instanceof Error ? err.message : String(err);
      // The customer's key only: never an email or phone in the logs.
      deps.logger.warn(
        { store: store.domain, customer: row.key, err: message },
        "customer publish: failed, retried later",
      );
      await save(deps, transport, store.id, row.customer_id, row.desired_hash, {
        status: "pending",
        error: JSON.stringify({ code: "SHOPIFY_ERROR", field: null, message }),
        attempts,
        next_attempt_at: now + backoffMs(attempts, RETRY, deps.random),
      });
    }
  }
  return result;
}

/** Writes the outcome only if the customer was not changed meanwhile (its desired hash still holds). */
async function save(
  deps: CustomerPublishDeps,
  transport: AdminTransport,
  storeId: number,
  customerId: number,
  desiredHash: string,
  set: Partial<StateRow>,
): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await transport.fence?.(trx);
    await customerDb(trx)
      .updateTable("customer_publish_state")
      .set({ ...set, updated_at: deps.now() })
      .where("store_id", "=", storeId)
      .where("customer_id", "=", customerId)
      .where("desired_hash", "=", desiredHash)
      .execute();
  });
}

const errorText = (errors: readonly ShopifyUserError[]) =>
  errors.map((e) => `${(e.field ?? []).join(".") || "(input)"}: ${e.message}`).join("; ");

async function publishOne(
  deps: CustomerPublishDeps,
  storeId: number,
  transport: AdminTransport,
  row: StateRow & { key: string },
): Promise<"published" | "refused" | "failed"> {
  const r = (await customerDb(deps.db)
    .selectFrom("customer_records")
    .selectAll()
    .where("id", "=", row.customer_id)
    .executeTakeFirstOrThrow()) as RecordRow;
  const refuse = async (
    step: string,
    userErrors: readonly ShopifyUserError[],
    linked: Partial<StateRow> = {},
  ) => {
    await save(deps, transport, storeId, row.customer_id, row.desired_hash, {
      ...linked,
      status: "refused",
      attempts: row.attempts + 1,
      error: JSON.stringify({
        code: "SHOPIFY_USER_ERRORS",
        step,
        field: userErrors[0]?.field?.join(".") ?? null,
        message: `${step}: ${errorText(userErrors)}`,
        userErrors,
      }),
    });
    return "refused" as const;
  };

  // 1. Who the customer is in Shopify: the linked id, else email, then phone.
  let current: ShopifyCustomer | null = row.shopify_customer_gid
    ? await customerById(transport, row.shopify_customer_gid)
    : null;
  if (!current && r.email) current = await findCustomer(transport, "email", r.email);
  if (!current && r.phone) current = await findCustomer(transport, "phone", r.phone);
  // A Shopify customer found by email or phone that another hub customer is linked to is not
  // taken over (two hub customers would write one Shopify customer).
  if (current && current.id !== row.shopify_customer_gid) {
    const other = await customerDb(deps.db)
      .selectFrom("customer_publish_state as s")
      .innerJoin("customer_records as o", "o.id", "s.customer_id")
      .select("o.key")
      .where("s.store_id", "=", storeId)
      .where("s.shopify_customer_gid", "=", current.id)
      .where("s.customer_id", "!=", row.customer_id)
      .executeTakeFirst();
    if (other) {
      // Waits (with backoff) rather than refused: it resolves itself once the other one moves on.
      const attempts = row.attempts + 1;
      await save(deps, transport, storeId, row.customer_id, row.desired_hash, {
        status: "pending",
        attempts,
        next_attempt_at: deps.now() + backoffMs(attempts, RETRY, deps.random),
        error: JSON.stringify({
          code: "LINKED_TO_OTHER_CUSTOMER",
          field: r.email && current.email?.toLowerCase() === r.email ? "email" : "phone",
          message: `the Shopify customer ${current.id} with this ${r.email && current.email?.toLowerCase() === r.email ? "email" : "phone"} is linked to customer ${other.key}; retried until ${other.key} lets it go`,
        }),
      });
      return "failed";
    }
  }
  const identifier: CustomerSetIdentifier = current
    ? { id: current.id }
    : r.email
      ? { email: r.email }
      : { phone: r.phone! };

  // 2. The person.
  const desiredTags = JSON.parse(r.tags) as string[];
  const owned = parseOwned(row.owned_tags);
  const addresses = JSON.parse(r.addresses) as Address[];
  const { input, fields } = personInput(
    { email: r.email, phone: r.phone, firstName: r.first_name, lastName: r.last_name },
    owned.fields,
  );
  input.tags = mergeTags(current?.tags ?? [], owned.tags, desiredTags);
  if (addresses.length > 0) input.addresses = addresses.map(addressInput);
  const set = await sendCustomerSet(transport, identifier, input);
  // Refused: the customer found (if any) stays linked, so the operator sees which one it is.
  if (!set.ok)
    return refuse("customerSet", set.userErrors, current ? { shopify_customer_gid: current.id } : {});
  const customer = set.customer;
  const linked: Partial<StateRow> = {
    shopify_customer_gid: customer.id,
    owned_tags: JSON.stringify({ tags: desiredTags, fields }),
  };

  // 3. Consent, as stated, only when it changed.
  if (r.consent_hash !== row.confirmed_consent_hash) {
    for (const [channel, stated] of [
      ["email", r.email_consent],
      ["sms", r.sms_consent],
    ] as const) {
      const consent = stated ? (JSON.parse(stated) as Consent) : null;
      const c = consentInput(consent, await consentSourceLocation(deps.db, storeId, consent?.source));
      if (!c) continue;
      const errors = await sendConsent(transport, channel, customer.id, c);
      if (errors.length > 0) return refuse(`${channel} marketing consent`, errors, linked);
    }
  }
  linked.confirmed_consent_hash = r.consent_hash;

  // 4. The company, its location, the contact and its role, the catalog.
  let warning: string | null = null;
  if (r.company_name) {
    const externalId = companyExternalId(r.company_name, r.company_key);
    let company = await findCompany(transport, externalId);
    // Renamed in the back office: the company keeps its identity (the key) and takes the new name.
    if (company && r.company_key && company.name !== r.company_name) {
      const errors = await renameCompany(transport, company.id, r.company_name);
      if (errors.length > 0)
        return refuse("companyUpdate", errors, { ...linked, shopify_company_gid: company.id });
    }
    // Without a key, a new name no company has yet may be a rename of the company this customer
    // is linked to: it is, when no other customer of the store linked to that company still has
    // its old name (then this customer moved to a new company instead).
    if (!company && !r.company_key && row.shopify_company_gid) {
      const renamed = await renamedCompany(deps.db, transport, storeId, row, r.company_name);
      if (renamed) {
        const errors = await renameCompany(transport, renamed.id, r.company_name, externalId);
        if (errors.length > 0)
          return refuse("companyUpdate", errors, { ...linked, shopify_company_gid: renamed.id });
        company = { ...renamed, name: r.company_name, externalId };
      }
    }
    if (!company) {
      const first = addresses[0];
      const created = await createCompany(transport, {
        company: { name: r.company_name, externalId },
        companyLocation: {
          name: r.company_name,
          externalId,
          ...(first
            ? {
                shippingAddress: {
                  address1: first.address1 ?? undefined,
                  address2: first.address2 ?? undefined,
                  city: first.city ?? undefined,
                  zip: first.zip ?? undefined,
                  countryCode: first.countryCode ?? undefined,
                  zoneCode: first.provinceCode ?? undefined,
                  recipient: first.company ?? undefined,
                  phone: first.phone ?? undefined,
                },
                billingSameAsShipping: true,
              }
            : {}),
        },
      });
      // Another run created it meanwhile (its external id is taken): that one is the company.
      company = created.ok ? created.company : await findCompany(transport, externalId);
      if (!company) return refuse("companyCreate", created.ok ? [] : created.userErrors, linked);
    }
    linked.shopify_company_gid = company.id;
    const location = company.locations.nodes[0];
    if (!location)
      return refuse(
        "company location",
        [
          {
            field: null,
            code: null,
            message: `the Shopify company ${company.id} has no location; add one in Shopify`,
          },
        ],
        linked,
      );
    linked.company_location_gid = location.id;
    let profile = customer.companyContactProfiles.find((p) => p.company.id === company.id);
    let contactId = profile?.id;
    if (!contactId) {
      const a = await assignContact(transport, company.id, customer.id);
      if (!a.ok) return refuse("companyAssignCustomerAsContact", a.userErrors, linked);
      contactId = a.contactId;
      profile = undefined;
    }
    linked.company_contact_gid = contactId;
    const hasRole = profile?.roleAssignments.nodes.some((n) => n.companyLocation.id === location.id) ?? false;
    if (!hasRole) {
      const roles = company.contactRoles.nodes;
      const role = roles.find((x) => /ordering only/i.test(x.name)) ?? roles[0];
      if (role) {
        const errors = await assignRole(transport, contactId, role.id, location.id);
        if (errors.length > 0 && !errors.every((e) => /already/i.test(e.message)))
          return refuse("companyContactAssignRole", errors, linked);
      }
    }
    if (r.price_group) {
      const catalog = await priceGroupCatalog(deps.db, storeId, r.price_group);
      if (catalog === null) {
        warning = `price group ${r.price_group} is not a price list in this store yet; the company location is added to its catalog once it is`;
      } else if (catalog !== row.catalog_gid) {
        const errors = await addLocationToCatalog(transport, catalog, location.id);
        if (errors.length > 0) return refuse("catalogContextUpdate", errors, linked);
        linked.catalog_gid = catalog;
      }
    }
  }

  // 5. Confirmed.
  await save(deps, transport, storeId, row.customer_id, row.desired_hash, {
    ...linked,
    confirmed_hash: row.desired_hash,
    status: "published",
    attempts: 0,
    error: warning
      ? JSON.stringify({ code: "PRICE_GROUP_NOT_IN_STORE", field: "priceGroup", message: warning })
      : null,
    published_at: deps.now(),
  });
  return "published";
}

/**
 * The Shopify company a customer without a company key was linked to, when a new company name
 * is its rename: the company still carries a name-made external id (a keyed one is the key's
 * business), and every other hub customer of the store linked to it has the new name too (or no
 * company any longer). Null: not a rename (a move to another company, or the company is gone).
 * A back office that renames a company's customers one request at a time may see the first one
 * moved to a new company; the company key (`companyKey`) is the reliable identity.
 */
async function renamedCompany(
  db: Db,
  transport: AdminTransport,
  storeId: number,
  row: StateRow,
  newName: string,
) {
  const gid = row.shopify_company_gid!;
  const others = await customerDb(db)
    .selectFrom("customer_publish_state as s")
    .innerJoin("customer_records as o", "o.id", "s.customer_id")
    .select(["o.company_name", "o.company_key"])
    .where("s.store_id", "=", storeId)
    .where("s.shopify_company_gid", "=", gid)
    .where("s.customer_id", "!=", row.customer_id)
    .where("o.redacted_at", "is", null)
    .execute();
  // Another customer still at the company under another name (or its key): a move, not a rename.
  const renamedId = companyExternalId(newName);
  const stays = others.some(
    (o) => o.company_name !== null && companyExternalId(o.company_name, o.company_key) !== renamedId,
  );
  if (stays) return null;
  const linked = await companyById(transport, gid);
  if (!linked?.externalId?.startsWith("tillbridge-") || linked.externalId.startsWith("tillbridge-k-"))
    return null;
  return linked;
}

export function customerPublishStorePass(ctx: AppContext): StorePass {
  return {
    name: "customers:publish",
    flow: "customer_publish",
    everyMs: 1000,
    run: async (store, transport) => {
      const deps = { db: ctx.database.db, now: () => ctx.clock.now(), logger: ctx.logger };
      for (let i = 0; i < 20; i++) {
        const r = await runCustomerPublishCycle(deps, store, transport);
        if (!r.remaining) break;
      }
    },
  };
}

/** The flow's queue for the store's flow status: customers waiting, the oldest, the last publish. */
export async function customerPublishQueue(
  db: Db,
  storeId: number,
): Promise<{ backlog: number; oldestAt: number | null; lastSuccessAt: number | null; failure: null }> {
  const cdb = customerDb(db);
  const pending = await cdb
    .selectFrom("customer_publish_state")
    .select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.min("marked_at").as("oldest")])
    .where("store_id", "=", storeId)
    .where("status", "=", "pending")
    .executeTakeFirstOrThrow();
  const unseen = await cdb
    .selectFrom("customer_records as r")
    .leftJoin("customer_publish_state as s", (j) =>
      j.onRef("s.customer_id", "=", "r.id").on("s.store_id", "=", storeId),
    )
    .select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.min("r.updated_at").as("oldest")])
    .where("r.redacted_at", "is", null)
    .where((eb) =>
      eb.or([
        eb("s.customer_id", "is", null),
        eb.and([eb("s.desired_hash", "!=", eb.ref("r.content_hash")), eb("s.status", "!=", "pending")]),
      ]),
    )
    .executeTakeFirstOrThrow();
  const last = await cdb
    .selectFrom("customer_publish_state")
    .select((eb) => eb.fn.max("published_at").as("at"))
    .where("store_id", "=", storeId)
    .executeTakeFirstOrThrow();
  const olds = [pending.oldest, unseen.oldest].filter((v) => v !== null && v !== undefined).map(Number);
  return {
    backlog: Number(pending.n) + Number(unseen.n),
    oldestAt: olds.length ? Math.min(...olds) : null,
    lastSuccessAt: last.at === null || last.at === undefined ? null : Number(last.at),
    failure: null,
  };
}
