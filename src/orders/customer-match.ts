/**
 * Which hub customer an order belongs to (seed 004): matched by email; a company name on the
 * order makes (or finds) a company with the person as its contact, otherwise the customer is a
 * person; orders without an email (POS walk-ins) go to the store's default customer, if set.
 */
export interface CustomerFacts {
  /** Lower-cased. */
  readonly email: string | null;
  readonly name: string | null;
  readonly phone: string | null;
  readonly companyName: string | null;
}

export type CustomerPlan =
  | { readonly kind: "none" }
  | { readonly kind: "default"; readonly customerId: number }
  | {
      readonly kind: "match";
      readonly email: string;
      readonly name: string | null;
      readonly phone: string | null;
      readonly companyName: string | null;
      readonly customerKind: "person" | "company_contact";
    };

export function planCustomer(facts: CustomerFacts, defaultCustomerId: number | null): CustomerPlan {
  if (!facts.email)
    return defaultCustomerId === null ? { kind: "none" } : { kind: "default", customerId: defaultCustomerId };
  return {
    kind: "match",
    email: facts.email,
    name: facts.name,
    phone: facts.phone,
    companyName: facts.companyName,
    customerKind: facts.companyName ? "company_contact" : "person",
  };
}

export interface StoredCustomer {
  readonly name: string | null;
  readonly phone: string | null;
  readonly company_id: number | null;
  readonly kind: "person" | "company_contact";
}

/**
 * Fields to update on an existing customer: the latest order's name and phone win when given;
 * a customer who once ordered for a company stays that company's contact unless a new company is named.
 */
export function customerUpdates(
  existing: StoredCustomer,
  plan: Extract<CustomerPlan, { kind: "match" }>,
  companyId: number | null,
): Partial<StoredCustomer> {
  const out: {
    name?: string | null;
    phone?: string | null;
    company_id?: number | null;
    kind?: StoredCustomer["kind"];
  } = {};
  if (plan.name && plan.name !== existing.name) out.name = plan.name;
  if (plan.phone && plan.phone !== existing.phone) out.phone = plan.phone;
  if (companyId !== null && companyId !== existing.company_id) {
    out.company_id = companyId;
    out.kind = "company_contact";
  }
  return out;
}
