/**
 * The Shopify operations of the customer publish (issue 16), each document beside the code that
 * sends it: finding a customer (by id, email, then phone), `customerSet` with an identifier (an
 * upsert: a retried or duplicated publish updates the customer it created), the marketing consent
 * updates, and the B2B side (a company found by its external id or created with a location, the
 * customer assigned as its contact with a role at the location, the location added to a catalog).
 * `userErrors` become a typed result here; transport failures stay exceptions.
 */
import { graphql } from "../shopify/graphql.ts";
import type { AdminTransport } from "../shopify/transport.ts";

export interface ShopifyUserError {
  readonly field: readonly string[] | null;
  readonly message: string;
  readonly code: string | null;
}

export interface ShopifyCustomer {
  readonly id: string;
  readonly email: string | null;
  readonly phone: string | null;
  readonly tags: readonly string[];
  readonly companyContactProfiles: readonly {
    id: string;
    company: { id: string };
    roleAssignments: { nodes: { companyLocation: { id: string } }[] };
  }[];
}

/**
 * One document finds a customer by id or by a search (email, phone): the customer's selection is
 * written once for both lookups ($byId chooses the field), and once more in customerSet's answer.
 */
export const CUSTOMER_FIND = graphql`
  query TillbridgeCustomerFind($byId: Boolean!, $id: ID!, $query: String!) {
    customer(id: $id) @include(if: $byId) {
      ...TillbridgeCustomer
    }
    customers(first: 2, query: $query) @skip(if: $byId) {
      nodes {
        ...TillbridgeCustomer
      }
    }
  }
  fragment TillbridgeCustomer on Customer {
    id
    email
    phone
    tags
    companyContactProfiles {
      id
      company {
        id
      }
      roleAssignments(first: 50) {
        nodes {
          companyLocation {
            id
          }
        }
      }
    }
  }
`;

type CustomerFind = { customer?: ShopifyCustomer | null; customers?: { nodes: ShopifyCustomer[] } };

/** Shopify's search syntax: the value quoted, quotes and backslashes escaped. */
const quote = (v: string) => `"${v.replace(/["\\]/g, (m) => `\\${m}`)}"`;

export async function customerById(transport: AdminTransport, id: string): Promise<ShopifyCustomer | null> {
  const r = await transport.graphql<CustomerFind>(CUSTOMER_FIND, { byId: true, id, query: "" });
  return r.data.customer ?? null;
}

/** The one Shopify customer with exactly this email (or phone); null when none. */
export async function findCustomer(
  transport: AdminTransport,
  by: "email" | "phone",
  value: string,
): Promise<ShopifyCustomer | null> {
  const r = await transport.graphql<CustomerFind>(CUSTOMER_FIND, {
    byId: false,
    id: "gid://shopify/Customer/0",
    query: `${by}:${quote(value)}`,
  });
  // Search is fuzzy on Shopify's side: only an exact match counts.
  const norm = (v: string | null) => (by === "email" ? v?.toLowerCase() : v?.replace(/[^\d+]/g, ""));
  return r.data.customers?.nodes.find((c) => norm(c[by]) === norm(value)) ?? null;
}

export const CUSTOMER_SET = graphql`
  mutation TillbridgeCustomerSet($identifier: CustomerSetIdentifiers, $input: CustomerSetInput!) {
    customerSet(identifier: $identifier, input: $input) {
      customer {
        ...TillbridgeCustomer
      }
      userErrors {
        field
        message
        code
      }
    }
  }
  fragment TillbridgeCustomer on Customer {
    id
    email
    phone
    tags
    companyContactProfiles {
      id
      company {
        id
      }
      roleAssignments(first: 50) {
        nodes {
          companyLocation {
            id
          }
        }
      }
    }
  }
`;

export type CustomerSetIdentifier = { id: string } | { email: string } | { phone: string };

export async function sendCustomerSet(
  transport: AdminTransport,
  identifier: CustomerSetIdentifier,
  input: Record<string, unknown>,
): Promise<{ ok: true; customer: ShopifyCustomer } | { ok: false; userErrors: ShopifyUserError[] }> {
  const r = await transport.graphql<{
    customerSet: { customer: ShopifyCustomer | null; userErrors: ShopifyUserError[] };
  }>(CUSTOMER_SET, { identifier, input });
  const p = r.data.customerSet;
  if (p.userErrors.length > 0 || !p.customer) return { ok: false, userErrors: p.userErrors };
  return { ok: true, customer: p.customer };
}

export const EMAIL_CONSENT_UPDATE = graphql`
  mutation TillbridgeEmailConsent($input: CustomerEmailMarketingConsentUpdateInput!) {
    customerEmailMarketingConsentUpdate(input: $input) {
      customer {
        id
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

export const SMS_CONSENT_UPDATE = graphql`
  mutation TillbridgeSmsConsent($input: CustomerSmsMarketingConsentUpdateInput!) {
    customerSmsMarketingConsentUpdate(input: $input) {
      customer {
        id
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

export interface ConsentInput {
  readonly marketingState: "SUBSCRIBED" | "UNSUBSCRIBED" | "PENDING";
  readonly consentUpdatedAt: string;
  readonly marketingOptInLevel: "SINGLE_OPT_IN" | "CONFIRMED_OPT_IN" | "UNKNOWN";
  /** Where the customer consented, when that is one of the store's locations (Shopify's only form of a source). */
  readonly sourceLocationId?: string;
}

export async function sendConsent(
  transport: AdminTransport,
  channel: "email" | "sms",
  customerId: string,
  consent: ConsentInput,
): Promise<ShopifyUserError[]> {
  if (channel === "email") {
    const r = await transport.graphql<{
      customerEmailMarketingConsentUpdate: { userErrors: ShopifyUserError[] };
    }>(EMAIL_CONSENT_UPDATE, { input: { customerId, emailMarketingConsent: consent } });
    return r.data.customerEmailMarketingConsentUpdate.userErrors;
  }
  const r = await transport.graphql<{
    customerSmsMarketingConsentUpdate: { userErrors: ShopifyUserError[] };
  }>(SMS_CONSENT_UPDATE, { input: { customerId, smsMarketingConsent: consent } });
  return r.data.customerSmsMarketingConsentUpdate.userErrors;
}

export interface ShopifyCompany {
  readonly id: string;
  readonly name: string;
  readonly externalId: string | null;
  readonly locations: { nodes: { id: string }[] };
  readonly contactRoles: { nodes: { id: string; name: string }[] };
}

/**
 * One document finds a company by its external id or by its id ($byId chooses the field), the
 * company's selection written once for both (and once more in companyCreate's answer).
 */
export const COMPANY_FIND = graphql`
  query TillbridgeCompanyFind($byId: Boolean!, $id: ID!, $query: String!) {
    company(id: $id) @include(if: $byId) {
      ...TillbridgeCompany
    }
    companies(first: 1, query: $query) @skip(if: $byId) {
      nodes {
        ...TillbridgeCompany
      }
    }
  }
  fragment TillbridgeCompany on Company {
    id
    name
    externalId
    locations(first: 1) {
      nodes {
        id
      }
    }
    contactRoles(first: 10) {
      nodes {
        id
        name
      }
    }
  }
`;

type CompanyFind = { company?: ShopifyCompany | null; companies?: { nodes: ShopifyCompany[] } };

/** The company with this external id (the hub's identity of a company); null when none. */
export async function findCompany(
  transport: AdminTransport,
  externalId: string,
): Promise<ShopifyCompany | null> {
  const r = await transport.graphql<CompanyFind>(COMPANY_FIND, {
    byId: false,
    id: "gid://shopify/Company/0",
    query: `external_id:${quote(externalId)}`,
  });
  return r.data.companies?.nodes[0] ?? null;
}

/** The company by its Shopify id (the one a customer was linked to); null when it is gone. */
export async function companyById(transport: AdminTransport, id: string): Promise<ShopifyCompany | null> {
  const r = await transport.graphql<CompanyFind>(COMPANY_FIND, { byId: true, id, query: "" });
  return r.data.company ?? null;
}

export const COMPANY_CREATE = graphql`
  mutation TillbridgeCompanyCreate($input: CompanyCreateInput!) {
    companyCreate(input: $input) {
      company {
        ...TillbridgeCompany
      }
      userErrors {
        field
        message
        code
      }
    }
  }
  fragment TillbridgeCompany on Company {
    id
    name
    externalId
    locations(first: 1) {
      nodes {
        id
      }
    }
    contactRoles(first: 10) {
      nodes {
        id
        name
      }
    }
  }
`;

export async function createCompany(
  transport: AdminTransport,
  input: Record<string, unknown>,
): Promise<{ ok: true; company: ShopifyCompany } | { ok: false; userErrors: ShopifyUserError[] }> {
  const r = await transport.graphql<{
    companyCreate: { company: ShopifyCompany | null; userErrors: ShopifyUserError[] };
  }>(COMPANY_CREATE, { input });
  const p = r.data.companyCreate;
  if (p.userErrors.length > 0 || !p.company) return { ok: false, userErrors: p.userErrors };
  return { ok: true, company: p.company };
}

export const COMPANY_UPDATE = graphql`
  mutation TillbridgeCompanyUpdate($companyId: ID!, $input: CompanyInput!) {
    companyUpdate(companyId: $companyId, input: $input) {
      company {
        id
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

/**
 * Renames the company (the back office renamed it). With a company key its external id stays;
 * without one the external id (made from the name) moves to the new name's, so the company's
 * other customers, renamed too, find it by the new name.
 */
export async function renameCompany(
  transport: AdminTransport,
  companyId: string,
  name: string,
  externalId?: string,
): Promise<ShopifyUserError[]> {
  const r = await transport.graphql<{ companyUpdate: { userErrors: ShopifyUserError[] } }>(COMPANY_UPDATE, {
    companyId,
    input: externalId ? { name, externalId } : { name },
  });
  return r.data.companyUpdate.userErrors;
}

export const COMPANY_ASSIGN_CONTACT = graphql`
  mutation TillbridgeCompanyAssignContact($companyId: ID!, $customerId: ID!) {
    companyAssignCustomerAsContact(companyId: $companyId, customerId: $customerId) {
      companyContact {
        id
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

export async function assignContact(
  transport: AdminTransport,
  companyId: string,
  customerId: string,
): Promise<{ ok: true; contactId: string } | { ok: false; userErrors: ShopifyUserError[] }> {
  const r = await transport.graphql<{
    companyAssignCustomerAsContact: { companyContact: { id: string } | null; userErrors: ShopifyUserError[] };
  }>(COMPANY_ASSIGN_CONTACT, { companyId, customerId });
  const p = r.data.companyAssignCustomerAsContact;
  if (p.userErrors.length > 0 || !p.companyContact) return { ok: false, userErrors: p.userErrors };
  return { ok: true, contactId: p.companyContact.id };
}

export const COMPANY_CONTACT_ASSIGN_ROLE = graphql`
  mutation TillbridgeContactAssignRole($contactId: ID!, $roleId: ID!, $locationId: ID!) {
    companyContactAssignRole(
      companyContactId: $contactId
      companyContactRoleId: $roleId
      companyLocationId: $locationId
    ) {
      companyContactRoleAssignment {
        id
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

export async function assignRole(
  transport: AdminTransport,
  contactId: string,
  roleId: string,
  locationId: string,
): Promise<ShopifyUserError[]> {
  const r = await transport.graphql<{ companyContactAssignRole: { userErrors: ShopifyUserError[] } }>(
    COMPANY_CONTACT_ASSIGN_ROLE,
    { contactId, roleId, locationId },
  );
  return r.data.companyContactAssignRole.userErrors;
}

export const CATALOG_ADD_LOCATION = graphql`
  mutation TillbridgeCatalogAddLocation($catalogId: ID!, $locationIds: [ID!]!) {
    catalogContextUpdate(catalogId: $catalogId, contextsToAdd: { companyLocationIds: $locationIds }) {
      catalog {
        id
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

export async function addLocationToCatalog(
  transport: AdminTransport,
  catalogId: string,
  locationId: string,
): Promise<ShopifyUserError[]> {
  const r = await transport.graphql<{ catalogContextUpdate: { userErrors: ShopifyUserError[] } }>(
    CATALOG_ADD_LOCATION,
    { catalogId, locationIds: [locationId] },
  );
  return r.data.catalogContextUpdate.userErrors;
}
