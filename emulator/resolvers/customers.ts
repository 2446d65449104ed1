// What the hub's customer publish needs (issue 16), layered over the order resolvers' customers
// and companies: customerSet with its identifier forms (id, email, phone) and Shopify's
// userErrors (INVALID email or phone, TAKEN, NOT_FOUND, INPUT_MISMATCH, MISSING_FIELD_REQUIRED,
// ID_NOT_ALLOWED, TOO_LONG, BLANK); the email and SMS marketing consent updates (the most recent
// consentUpdatedAt wins, as on Shopify; NOT_SUBSCRIBED and REDACTED refused as input); and the
// B2B side: companyCreate with a location and the default contact roles, the customer assigned
// as a company contact, a role at a location.
import { gid, parseGid } from "../gid.ts";
import type { Address, Company, Customer, Shop } from "../state.ts";
import { type Ctx, connection, type PageArgs, type ResolverMap, tag, userError } from "./kit.ts";
import { priceStateOf } from "./price-lists.ts";

interface ConsentRecord {
  marketingState: string;
  marketingOptInLevel: string | null;
  consentUpdatedAt: string | null;
  /** The store location where the customer consented (`sourceLocationId`). */
  sourceLocationId?: number | null;
}
interface CompanyLocation {
  id: number;
  companyId: number;
  name: string;
  externalId: string | null;
  shippingAddress: Address | null;
  createdAt: string;
}
interface CompanyContact {
  id: number;
  companyId: number;
  customerId: number;
  createdAt: string;
}
interface ContactRole {
  id: number;
  companyId: number;
  name: string;
}
interface RoleAssignment {
  id: number;
  contactId: number;
  roleId: number;
  locationId: number;
  createdAt: string;
}
interface B2bState {
  emailConsent: Map<number, ConsentRecord>;
  smsConsent: Map<number, ConsentRecord>;
  locations: Map<number, CompanyLocation>;
  contacts: Map<number, CompanyContact>;
  roles: Map<number, ContactRole>;
  assignments: Map<number, RoleAssignment>;
}

const states = new WeakMap<Shop, B2bState>();
export function customerStateOf(shop: Shop): B2bState {
  let s = states.get(shop);
  if (!s) {
    s = {
      emailConsent: new Map(),
      smsConsent: new Map(),
      locations: new Map(),
      contacts: new Map(),
      roles: new Map(),
      assignments: new Map(),
    };
    states.set(shop, s);
  }
  return s;
}

const E164 = /^\+[1-9]\d{6,14}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
type UE = ReturnType<typeof userError>;

const byEmail = (shop: Shop, email: string) =>
  [...shop.customers.values()].find((c) => c.email?.toLowerCase() === email.toLowerCase());
const byPhone = (shop: Shop, phone: string) => [...shop.customers.values()].find((c) => c.phone === phone);

interface CustomerSetInput {
  id?: string | null;
  email?: string | null;
  phone?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  tags?: string[] | null;
  addresses?: (Address & { provinceCode?: string | null })[] | null;
  note?: string | null;
}

function customerSet(
  ctx: Ctx,
  args: {
    identifier?: { id?: string; email?: string; phone?: string; customId?: unknown } | null;
    input: CustomerSetInput;
  },
) {
  const { input } = args;
  const idf = args.identifier ?? null;
  const errors: UE[] = [];
  const fail = (message: string, field: string[], code: string) => ({
    customer: null,
    userErrors: [userError(message, field, code)],
  });
  if (idf && input.id != null)
    return fail("The id field is not allowed if identifier is provided.", ["input", "id"], "ID_NOT_ALLOWED");
  let target: Customer | undefined;
  if (idf?.customId != null)
    return fail(
      "Tillbridge emulator: customId identifiers of customers are not modelled",
      ["identifier", "customId"],
      "INVALID",
    );
  if (idf?.id != null || input.id != null) {
    const id = parseGid(idf?.id ?? input.id, "Customer");
    target = id === undefined ? undefined : ctx.shop.customers.get(id);
    if (!target)
      return fail(
        "Resource matching the identifier was not found.",
        idf ? ["identifier", "id"] : ["input", "id"],
        "NOT_FOUND",
      );
  } else if (idf?.email != null) {
    if (input.email == null)
      return fail(
        "The input field corresponding to the identifier is required.",
        ["input", "email"],
        "MISSING_FIELD_REQUIRED",
      );
    if (input.email.toLowerCase() !== idf.email.toLowerCase())
      return fail(
        "The identifier value does not match the value of the corresponding field in the input.",
        ["input", "email"],
        "INPUT_MISMATCH",
      );
    target = byEmail(ctx.shop, idf.email);
  } else if (idf?.phone != null) {
    if (input.phone == null)
      return fail(
        "The input field corresponding to the identifier is required.",
        ["input", "phone"],
        "MISSING_FIELD_REQUIRED",
      );
    if (input.phone !== idf.phone)
      return fail(
        "The identifier value does not match the value of the corresponding field in the input.",
        ["input", "phone"],
        "INPUT_MISMATCH",
      );
    target = byPhone(ctx.shop, idf.phone);
  }
  if (input.email != null && input.email !== "") {
    if (!EMAIL.test(input.email)) errors.push(userError("Email is invalid", ["input", "email"], "INVALID"));
    else {
      const other = byEmail(ctx.shop, input.email);
      if (other && other !== target)
        errors.push(userError("Email has already been taken", ["input", "email"], "TAKEN"));
    }
  }
  if (input.phone != null && input.phone !== "") {
    if (!E164.test(input.phone)) errors.push(userError("Phone is invalid", ["input", "phone"], "INVALID"));
    else {
      const other = byPhone(ctx.shop, input.phone);
      if (other && other !== target)
        errors.push(userError("Phone has already been taken", ["input", "phone"], "TAKEN"));
    }
  }
  for (const f of ["firstName", "lastName"] as const)
    if ((input[f]?.length ?? 0) > 255)
      errors.push(
        userError(
          `${f === "firstName" ? "First" : "Last"} name is too long (maximum is 255 characters)`,
          ["input", f],
          "TOO_LONG",
        ),
      );
  (input.tags ?? []).forEach((t, i) => {
    if (t.length > 255)
      errors.push(
        userError("Tag is too long (maximum is 255 characters)", ["input", "tags", String(i)], "TOO_LONG"),
      );
  });
  (input.addresses ?? []).forEach((a, i) => {
    if (a.phone && !E164.test(a.phone))
      errors.push(userError("Phone is invalid", ["input", "addresses", String(i), "phone"], "INVALID"));
  });
  const email = input.email === undefined ? target?.email : input.email || null;
  const phone = input.phone === undefined ? target?.phone : input.phone || null;
  const first = input.firstName === undefined ? target?.firstName : input.firstName;
  const last = input.lastName === undefined ? target?.lastName : input.lastName;
  if (!email && !phone && !first && !last)
    errors.push(userError("A name, phone number, or email address must be present", ["input"], "BLANK"));
  if (errors.length > 0) return { customer: null, userErrors: errors };
  const now = ctx.now;
  const c: Customer = target ?? {
    id: ctx.store.nextId(),
    email: null,
    firstName: null,
    lastName: null,
    phone: null,
    tags: [],
    defaultAddress: null,
    createdAt: now,
    updatedAt: now,
  };
  c.email = email ?? null;
  c.phone = phone ?? null;
  c.firstName = first ?? null;
  c.lastName = last ?? null;
  if (input.tags != null)
    c.tags = [
      ...new Set(
        input.tags
          .flatMap((t) => t.split(","))
          .map((t) => t.trim())
          .filter(Boolean),
      ),
    ];
  if (input.addresses != null) c.defaultAddress = input.addresses[0] ?? null;
  c.updatedAt = now;
  if (!target) {
    ctx.shop.customers.set(c.id, c);
    ctx.store.emit(ctx.shop, "customers/create", {
      id: c.id,
      email: c.email,
      admin_graphql_api_id: gid("Customer", c.id),
    });
  } else {
    ctx.store.emit(ctx.shop, "customers/update", {
      id: c.id,
      email: c.email,
      admin_graphql_api_id: gid("Customer", c.id),
    });
  }
  return { customer: tag(c, "Customer"), userErrors: [] };
}

interface ConsentArgs {
  customerId: string;
  marketingState: string;
  marketingOptInLevel?: string | null;
  consentUpdatedAt?: string | null;
  sourceLocationId?: string | null;
}

function consentUpdate(ctx: Ctx, channel: "email" | "sms", consent: ConsentArgs, field: string) {
  const id = parseGid(consent.customerId, "Customer");
  const c = id === undefined ? undefined : ctx.shop.customers.get(id);
  const fail = (message: string, path: string[], code: string) => ({
    customer: null,
    userErrors: [userError(message, path, code)],
  });
  if (!c) return fail("Customer not found", ["input", "customerId"], "INVALID");
  if (channel === "email" && !c.email)
    return fail("Customer must have an email address", ["input", "customerId"], "INVALID");
  if (channel === "sms" && !c.phone)
    return fail("Customer must have a phone number", ["input", "customerId"], "INVALID");
  if (!["SUBSCRIBED", "UNSUBSCRIBED", "PENDING"].includes(consent.marketingState))
    return fail(
      `Marketing state ${consent.marketingState} cannot be set`,
      ["input", field, "marketingState"],
      "INCLUSION",
    );
  if (consent.consentUpdatedAt && Date.parse(consent.consentUpdatedAt) > Date.parse(ctx.now) + 60_000)
    return fail(
      "Consent updated at cannot be in the future",
      ["input", field, "consentUpdatedAt"],
      "INVALID",
    );
  let sourceLocationId: number | null = null;
  if (consent.sourceLocationId != null) {
    const lid = parseGid(consent.sourceLocationId, "Location");
    if (lid === undefined || !ctx.shop.locations.has(lid))
      return fail("Location does not exist", ["input", field, "sourceLocationId"], "INVALID");
    sourceLocationId = lid;
  }
  const map =
    channel === "email" ? customerStateOf(ctx.shop).emailConsent : customerStateOf(ctx.shop).smsConsent;
  const at = consent.consentUpdatedAt
    ? new Date(consent.consentUpdatedAt).toISOString().replace(/\.\d{3}Z$/, "Z")
    : ctx.now;
  const prev = map.get(c.id);
  // The customer's consent is the record with the most recent consentUpdatedAt.
  if (!prev?.consentUpdatedAt || Date.parse(prev.consentUpdatedAt) <= Date.parse(at))
    map.set(c.id, {
      marketingState: consent.marketingState,
      marketingOptInLevel: consent.marketingOptInLevel ?? null,
      consentUpdatedAt: at,
      sourceLocationId,
    });
  c.updatedAt = ctx.now;
  return { customer: tag(c, "Customer"), userErrors: [] };
}

const DEFAULT_ROLES = ["Location admin", "Ordering only"];

interface CompanyAddressInput {
  address1?: string | null;
  address2?: string | null;
  city?: string | null;
  zip?: string | null;
  countryCode?: string | null;
  zoneCode?: string | null;
  recipient?: string | null;
  phone?: string | null;
  firstName?: string | null;
  lastName?: string | null;
}

function companyCreate(
  ctx: Ctx,
  args: {
    input: {
      company: { name?: string | null; externalId?: string | null; note?: string | null };
      companyContact?: {
        email?: string | null;
        firstName?: string | null;
        lastName?: string | null;
        phone?: string | null;
      } | null;
      companyLocation?: {
        name?: string | null;
        externalId?: string | null;
        shippingAddress?: CompanyAddressInput | null;
        billingAddress?: CompanyAddressInput | null;
        billingSameAsShipping?: boolean | null;
        phone?: string | null;
      } | null;
    };
  },
) {
  const { company, companyContact, companyLocation } = args.input;
  const errors: UE[] = [];
  const name = company.name?.trim() ?? "";
  if (!name) errors.push(userError("Name can't be blank", ["input", "company", "name"], "BLANK"));
  if (name.length > 255)
    errors.push(
      userError("Name is too long (maximum is 255 characters)", ["input", "company", "name"], "TOO_LONG"),
    );
  if (company.externalId != null) {
    if (company.externalId.length > 64)
      errors.push(
        userError(
          "External ID is too long (maximum is 64 characters)",
          ["input", "company", "externalId"],
          "TOO_LONG",
        ),
      );
    if ([...ctx.shop.companies.values()].some((c) => c.externalId === company.externalId))
      errors.push(
        userError("External Id has already been taken", ["input", "company", "externalId"], "TAKEN"),
      );
  }
  const st = customerStateOf(ctx.shop);
  if (
    companyLocation?.externalId != null &&
    [...st.locations.values()].some((l) => l.externalId === companyLocation.externalId)
  )
    errors.push(
      userError("External Id has already been taken", ["input", "companyLocation", "externalId"], "TAKEN"),
    );
  for (const [k, a] of [
    ["shippingAddress", companyLocation?.shippingAddress],
    ["billingAddress", companyLocation?.billingAddress],
  ] as const)
    if (a?.phone && !E164.test(a.phone))
      errors.push(userError("Phone is invalid", ["input", "companyLocation", k, "phone"], "INVALID"));
  if (companyContact?.email) {
    if (!EMAIL.test(companyContact.email))
      errors.push(userError("Email is invalid", ["input", "companyContact", "email"], "INVALID"));
    else if (byEmail(ctx.shop, companyContact.email))
      errors.push(
        userError("Email address has already been taken", ["input", "companyContact", "email"], "TAKEN"),
      );
  }
  if (errors.length > 0) return { company: null, userErrors: errors };
  const now = ctx.now;
  const co: Company = {
    id: ctx.store.nextId(),
    name,
    externalId: company.externalId ?? null,
    createdAt: now,
    updatedAt: now,
  };
  ctx.shop.companies.set(co.id, co);
  for (const r of DEFAULT_ROLES) {
    const role = { id: ctx.store.nextId(), companyId: co.id, name: r };
    st.roles.set(role.id, role);
  }
  const a = companyLocation?.shippingAddress;
  const loc: CompanyLocation = {
    id: ctx.store.nextId(),
    companyId: co.id,
    name: companyLocation?.name?.trim() || name,
    externalId: companyLocation?.externalId ?? null,
    shippingAddress: a
      ? {
          address1: a.address1 ?? null,
          address2: a.address2 ?? null,
          city: a.city ?? null,
          zip: a.zip ?? null,
          countryCode: a.countryCode ?? null,
          provinceCode: a.zoneCode ?? null,
          company: a.recipient ?? null,
          phone: a.phone ?? null,
        }
      : null,
    createdAt: now,
  };
  st.locations.set(loc.id, loc);
  if (companyContact) {
    const cust: Customer = {
      id: ctx.store.nextId(),
      email: companyContact.email ?? null,
      firstName: companyContact.firstName ?? null,
      lastName: companyContact.lastName ?? null,
      phone: companyContact.phone ?? null,
      tags: [],
      defaultAddress: null,
      createdAt: now,
      updatedAt: now,
    };
    ctx.shop.customers.set(cust.id, cust);
    const contact = { id: ctx.store.nextId(), companyId: co.id, customerId: cust.id, createdAt: now };
    st.contacts.set(contact.id, contact);
  }
  return { company: tag(co, "Company"), userErrors: [] };
}

/** companyUpdate: name, note and external id, with companyCreate's checks on them. */
function companyUpdate(
  ctx: Ctx,
  args: {
    companyId: string;
    input: { name?: string | null; externalId?: string | null; note?: string | null };
  },
) {
  const co = ctx.shop.companies.get(parseGid(args.companyId, "Company") ?? -1);
  if (!co)
    return {
      company: null,
      userErrors: [userError("Resource requested does not exist.", ["companyId"], "RESOURCE_NOT_FOUND")],
    };
  const errors: UE[] = [];
  const name = args.input.name?.trim();
  if (args.input.name !== undefined && !name)
    errors.push(userError("Name can't be blank", ["input", "name"], "BLANK"));
  if (name && name.length > 255)
    errors.push(userError("Name is too long (maximum is 255 characters)", ["input", "name"], "TOO_LONG"));
  const ext = args.input.externalId;
  if (ext != null && ext.length > 64)
    errors.push(
      userError("External ID is too long (maximum is 64 characters)", ["input", "externalId"], "TOO_LONG"),
    );
  if (ext != null && [...ctx.shop.companies.values()].some((c) => c.id !== co.id && c.externalId === ext))
    errors.push(userError("External Id has already been taken", ["input", "externalId"], "TAKEN"));
  if (errors.length > 0) return { company: null, userErrors: errors };
  if (name) co.name = name;
  if (ext !== undefined) co.externalId = ext;
  co.updatedAt = ctx.now;
  return { company: tag(co, "Company"), userErrors: [] };
}

function assignCustomerAsContact(ctx: Ctx, args: { companyId: string; customerId: string }) {
  const coId = parseGid(args.companyId, "Company");
  const co = coId === undefined ? undefined : ctx.shop.companies.get(coId);
  const cId = parseGid(args.customerId, "Customer");
  const c = cId === undefined ? undefined : ctx.shop.customers.get(cId);
  const errors: UE[] = [];
  if (!co) errors.push(userError("Resource requested does not exist.", ["companyId"], "RESOURCE_NOT_FOUND"));
  if (!c) errors.push(userError("Resource requested does not exist.", ["customerId"], "RESOURCE_NOT_FOUND"));
  if (errors.length > 0) return { companyContact: null, userErrors: errors };
  const st = customerStateOf(ctx.shop);
  if ([...st.contacts.values()].some((x) => x.companyId === co!.id && x.customerId === c!.id))
    return {
      companyContact: null,
      userErrors: [
        userError("Customer is already associated with a company contact.", ["customerId"], "TAKEN"),
      ],
    };
  const contact = { id: ctx.store.nextId(), companyId: co!.id, customerId: c!.id, createdAt: ctx.now };
  st.contacts.set(contact.id, contact);
  return { companyContact: contact, userErrors: [] };
}

function contactAssignRole(
  ctx: Ctx,
  args: { companyContactId: string; companyContactRoleId: string; companyLocationId: string },
) {
  const st = customerStateOf(ctx.shop);
  const contact = st.contacts.get(parseGid(args.companyContactId, "CompanyContact") ?? -1);
  const role = st.roles.get(parseGid(args.companyContactRoleId, "CompanyContactRole") ?? -1);
  const loc = st.locations.get(parseGid(args.companyLocationId, "CompanyLocation") ?? -1);
  const errors: UE[] = [];
  if (!contact)
    errors.push(userError("Resource requested does not exist.", ["companyContactId"], "RESOURCE_NOT_FOUND"));
  if (!role)
    errors.push(
      userError("Resource requested does not exist.", ["companyContactRoleId"], "RESOURCE_NOT_FOUND"),
    );
  if (!loc)
    errors.push(userError("Resource requested does not exist.", ["companyLocationId"], "RESOURCE_NOT_FOUND"));
  if (errors.length > 0) return { companyContactRoleAssignment: null, userErrors: errors };
  if (role!.companyId !== contact!.companyId || loc!.companyId !== contact!.companyId)
    return {
      companyContactRoleAssignment: null,
      userErrors: [
        userError(
          "The role and location must belong to the contact's company.",
          ["companyLocationId"],
          "INVALID_INPUT",
        ),
      ],
    };
  if ([...st.assignments.values()].some((a) => a.contactId === contact!.id && a.locationId === loc!.id))
    return {
      companyContactRoleAssignment: null,
      userErrors: [
        userError(
          "Company contact has already been assigned a role in the company location.",
          ["companyLocationId"],
          "LIMIT_REACHED",
        ),
      ],
    };
  const a = {
    id: ctx.store.nextId(),
    contactId: contact!.id,
    roleId: role!.id,
    locationId: loc!.id,
    createdAt: ctx.now,
  };
  st.assignments.set(a.id, a);
  return { companyContactRoleAssignment: a, userErrors: [] };
}

/** Adds or removes company locations of a company location catalog (a price group's, issue 16). */
function catalogContextUpdate(
  ctx: Ctx,
  args: {
    catalogId: string;
    contextsToAdd?: { companyLocationIds?: string[] | null; marketIds?: string[] | null } | null;
    contextsToRemove?: { companyLocationIds?: string[] | null; marketIds?: string[] | null } | null;
  },
) {
  const fail = (message: string, field: string[], code: string) => ({
    catalog: null,
    userErrors: [userError(message, field, code)],
  });
  const id = parseGid(args.catalogId, "CompanyLocationCatalog") ?? parseGid(args.catalogId, "MarketCatalog");
  const catalog = id === undefined ? undefined : priceStateOf(ctx.shop).catalogs.get(id);
  if (!catalog) return fail("Catalog not found.", ["catalogId"], "CATALOG_NOT_FOUND");
  if (!args.contextsToAdd && !args.contextsToRemove)
    return fail(
      "Contexts to add or remove are required.",
      ["contextsToAdd"],
      "REQUIRES_CONTEXTS_TO_ADD_OR_REMOVE",
    );
  const add = args.contextsToAdd?.companyLocationIds ?? [];
  const remove = args.contextsToRemove?.companyLocationIds ?? [];
  if (args.contextsToAdd?.marketIds || args.contextsToRemove?.marketIds || catalog.marketIds.length > 0)
    return fail(
      "The arguments `contextsToAdd` and `contextsToRemove` must match existing catalog context type.",
      ["contextsToAdd"],
      "CONTEXT_DRIVER_MISMATCH",
    );
  const locations = customerStateOf(ctx.shop).locations;
  const unknown = [...add, ...remove].findIndex((g) => !locations.has(parseGid(g, "CompanyLocation") ?? -1));
  if (unknown >= 0)
    return fail(
      "Company location not found.",
      [
        unknown < add.length ? "contextsToAdd" : "contextsToRemove",
        "companyLocationIds",
        String(unknown < add.length ? unknown : unknown - add.length),
      ],
      "COMPANY_LOCATION_NOT_FOUND",
    );
  catalog.companyLocationIds = [...new Set([...catalog.companyLocationIds, ...add])].filter(
    (g) => !remove.includes(g),
  );
  return { catalog: tag(catalog, "CompanyLocationCatalog"), userErrors: [] };
}

const consentView = (r: ConsentRecord | undefined, fallback: string) =>
  r ? { ...r } : { marketingState: fallback, marketingOptInLevel: null, consentUpdatedAt: null };

export const customerResolvers: ResolverMap = {
  QueryRoot: {
    companyLocation: (_s, args: { id: string }, ctx) =>
      customerStateOf(ctx.shop).locations.get(parseGid(args.id, "CompanyLocation") ?? -1) ?? null,
  },
  Mutation: {
    customerSet: (_s, args, ctx) => customerSet(ctx, args),
    customerEmailMarketingConsentUpdate: (
      _s,
      args: { input: { customerId: string; emailMarketingConsent: Omit<ConsentArgs, "customerId"> } },
      ctx,
    ) =>
      consentUpdate(
        ctx,
        "email",
        { customerId: args.input.customerId, ...args.input.emailMarketingConsent },
        "emailMarketingConsent",
      ),
    customerSmsMarketingConsentUpdate: (
      _s,
      args: { input: { customerId: string; smsMarketingConsent: Omit<ConsentArgs, "customerId"> } },
      ctx,
    ) =>
      consentUpdate(
        ctx,
        "sms",
        { customerId: args.input.customerId, ...args.input.smsMarketingConsent },
        "smsMarketingConsent",
      ),
    companyCreate: (_s, args, ctx) => companyCreate(ctx, args),
    companyUpdate: (_s, args, ctx) => companyUpdate(ctx, args),
    companyAssignCustomerAsContact: (_s, args, ctx) => assignCustomerAsContact(ctx, args),
    companyContactAssignRole: (_s, args, ctx) => contactAssignRole(ctx, args),
    catalogContextUpdate: (_s, args, ctx) => catalogContextUpdate(ctx, args),
  },
  CatalogContextUpdatePayload: { catalog: (s) => s.catalog, userErrors: (s) => s.userErrors },
  CustomerSetPayload: { customer: (s) => s.customer, userErrors: (s) => s.userErrors },
  CustomerEmailMarketingConsentUpdatePayload: {
    customer: (s) => s.customer,
    userErrors: (s) => s.userErrors,
  },
  CustomerSmsMarketingConsentUpdatePayload: { customer: (s) => s.customer, userErrors: (s) => s.userErrors },
  CompanyCreatePayload: { company: (s) => s.company, userErrors: (s) => s.userErrors },
  CompanyUpdatePayload: { company: (s) => s.company, userErrors: (s) => s.userErrors },
  CompanyAssignCustomerAsContactPayload: {
    companyContact: (s) => s.companyContact,
    userErrors: (s) => s.userErrors,
  },
  CompanyContactAssignRolePayload: {
    companyContactRoleAssignment: (s) => s.companyContactRoleAssignment,
    userErrors: (s) => s.userErrors,
  },
  Customer: {
    emailMarketingConsent: (c: Customer, _a, ctx) =>
      c.email ? consentView(customerStateOf(ctx.shop).emailConsent.get(c.id), "NOT_SUBSCRIBED") : null,
    smsMarketingConsent: (c: Customer, _a, ctx) =>
      c.phone ? consentView(customerStateOf(ctx.shop).smsConsent.get(c.id), "NOT_SUBSCRIBED") : null,
    companyContactProfiles: (c: Customer, _a, ctx) =>
      [...customerStateOf(ctx.shop).contacts.values()].filter((x) => x.customerId === c.id),
  },
  CustomerEmailMarketingConsentState: {
    marketingState: (s: ConsentRecord) => s.marketingState,
    marketingOptInLevel: (s: ConsentRecord) => s.marketingOptInLevel,
    consentUpdatedAt: (s: ConsentRecord) => s.consentUpdatedAt,
    sourceLocation: (s: ConsentRecord, _a, ctx) =>
      s.sourceLocationId == null ? null : (ctx.shop.locations.get(s.sourceLocationId) ?? null),
  },
  CustomerSmsMarketingConsentState: {
    marketingState: (s: ConsentRecord) => s.marketingState,
    marketingOptInLevel: (s: ConsentRecord) => s.marketingOptInLevel ?? "UNKNOWN",
    consentUpdatedAt: (s: ConsentRecord) => s.consentUpdatedAt,
    consentCollectedFrom: () => "OTHER",
    sourceLocation: (s: ConsentRecord, _a, ctx) =>
      s.sourceLocationId == null ? null : (ctx.shop.locations.get(s.sourceLocationId) ?? null),
  },
  Company: {
    locations: (c: Company, args: PageArgs, ctx) =>
      connection(
        [...customerStateOf(ctx.shop).locations.values()].filter((l) => l.companyId === c.id),
        args,
        ctx,
        (l) => l.id,
      ),
    contactRoles: (c: Company, args: PageArgs, ctx) =>
      connection(
        [...customerStateOf(ctx.shop).roles.values()].filter((r) => r.companyId === c.id),
        args,
        ctx,
        (r) => r.id,
      ),
    contacts: (c: Company, args: PageArgs, ctx) =>
      connection(
        [...customerStateOf(ctx.shop).contacts.values()].filter((x) => x.companyId === c.id),
        args,
        ctx,
        (x) => x.id,
      ),
    mainContact: () => null,
  },
  CompanyLocation: {
    id: (l: CompanyLocation) => gid("CompanyLocation", l.id),
    name: (l: CompanyLocation) => l.name,
    externalId: (l: CompanyLocation) => l.externalId,
    company: (l: CompanyLocation, _a, ctx) => ctx.shop.companies.get(l.companyId),
    shippingAddress: (l: CompanyLocation) => l.shippingAddress,
    createdAt: (l: CompanyLocation) => l.createdAt,
    catalogs: (l: CompanyLocation, args: PageArgs, ctx) =>
      connection(
        [...priceStateOf(ctx.shop).catalogs.values()]
          .filter((c) => c.companyLocationIds.includes(gid("CompanyLocation", l.id)))
          .map((c) => tag(c, "CompanyLocationCatalog")),
        args,
        ctx,
        (c) => c.id,
      ),
  },
  CompanyAddress: {
    address1: (a: Address) => a.address1 ?? null,
    address2: (a: Address) => a.address2 ?? null,
    city: (a: Address) => a.city ?? null,
    zip: (a: Address) => a.zip ?? null,
    countryCode: (a: Address) => a.countryCode ?? null,
    zoneCode: (a: Address) => a.provinceCode ?? null,
    recipient: (a: Address) => a.company ?? null,
    phone: (a: Address) => a.phone ?? null,
  },
  CompanyContact: {
    id: (x: CompanyContact) => gid("CompanyContact", x.id),
    company: (x: CompanyContact, _a, ctx) => ctx.shop.companies.get(x.companyId),
    customer: (x: CompanyContact, _a, ctx) => tag(ctx.shop.customers.get(x.customerId)!, "Customer"),
    createdAt: (x: CompanyContact) => x.createdAt,
    roleAssignments: (x: CompanyContact, args: PageArgs, ctx) =>
      connection(
        [...customerStateOf(ctx.shop).assignments.values()].filter((a) => a.contactId === x.id),
        args,
        ctx,
        (a) => a.id,
      ),
  },
  CompanyContactRole: {
    id: (r: ContactRole) => gid("CompanyContactRole", r.id),
    name: (r: ContactRole) => r.name,
    note: () => null,
  },
  CompanyContactRoleAssignment: {
    id: (a: RoleAssignment) => gid("CompanyContactRoleAssignment", a.id),
    companyContact: (a: RoleAssignment, _a, ctx) => customerStateOf(ctx.shop).contacts.get(a.contactId),
    companyLocation: (a: RoleAssignment, _a, ctx) => customerStateOf(ctx.shop).locations.get(a.locationId),
    company: (a: RoleAssignment, _a, ctx) =>
      ctx.shop.companies.get(customerStateOf(ctx.shop).contacts.get(a.contactId)!.companyId),
    role: (a: RoleAssignment, _a, ctx) => customerStateOf(ctx.shop).roles.get(a.roleId),
    createdAt: (a: RoleAssignment) => a.createdAt,
    updatedAt: (a: RoleAssignment) => a.createdAt,
  },
};

/** The customer's consent as the emulator holds it (tests read it directly). */
export function consentOf(shop: Shop, customerId: number) {
  const st = customerStateOf(shop);
  return { email: st.emailConsent.get(customerId) ?? null, sms: st.smsConsent.get(customerId) ?? null };
}
