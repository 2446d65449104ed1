// Shopify's mandatory compliance webhooks, as the app receives them. Payload keys as documented
// (shopify.dev/docs/apps/build/compliance/privacy-law-compliance): customers/data_request and
// customers/redact carry shop_id, shop_domain, customer { id, email, phone } and the order ids
// (orders_requested / orders_to_redact), data_request { id } for a data request; shop/redact,
// sent 48 hours after the app is uninstalled, carries shop_id and shop_domain.
import { createHash } from "node:crypto";
import { ControlError, type Shop } from "./state.ts";

export const COMPLIANCE_TOPICS = ["customers/data_request", "customers/redact", "shop/redact"] as const;
export type ComplianceTopic = (typeof COMPLIANCE_TOPICS)[number];

/** Shopify sends shop/redact this long after an uninstall. */
export const SHOP_REDACT_DELAY_MS = 48 * 3600 * 1000;

/** A stable numeric shop id (the emulator keys shops by domain). */
export function shopId(shop: Shop): number {
  return Number.parseInt(createHash("sha256").update(shop.domain).digest("hex").slice(0, 10), 16);
}

export interface ComplianceInput {
  topic: string;
  /** The customer the request is about (customers/*): an emulator customer id or an email. */
  customerId?: number | string;
  email?: string;
  /** customers/data_request: the request's id (default: a new one). */
  dataRequestId?: number;
}

export function compliancePayload(
  shop: Shop,
  input: ComplianceInput,
  nextId: () => number,
): Record<string, unknown> {
  const topic = input.topic;
  if (!(COMPLIANCE_TOPICS as readonly string[]).includes(topic))
    throw new ControlError("INVALID_TOPIC", `topic must be one of ${COMPLIANCE_TOPICS.join(", ")}`);
  const base = { shop_id: shopId(shop), shop_domain: shop.domain };
  if (topic === "shop/redact") return base;
  const wanted =
    input.customerId !== undefined ? Number(String(input.customerId).replace(/\D+/g, "")) : undefined;
  const customer = [...shop.customers.values()].find(
    (c) =>
      (wanted !== undefined && c.id === wanted) || (input.email !== undefined && c.email === input.email),
  );
  if (!customer)
    throw new ControlError(
      "CUSTOMER_NOT_FOUND",
      `No customer ${input.customerId ?? input.email ?? "(give customerId or email)"} on ${shop.domain}`,
      404,
    );
  const orders = [...shop.orders.values()].filter((o) => o.customerId === customer.id).map((o) => o.id);
  const who = { id: customer.id, email: customer.email, phone: customer.phone };
  if (topic === "customers/redact") return { ...base, customer: who, orders_to_redact: orders };
  return {
    ...base,
    orders_requested: orders,
    customer: who,
    data_request: { id: input.dataRequestId ?? nextId() },
  };
}
