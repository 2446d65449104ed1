/**
 * The money of a Shopify order, exact: every amount is a decimal string in the shop currency and
 * in the customer's (presentment) currency, never a binary float. Read the same way from a REST
 * webhook body (`moneyFromRest`) and from the Admin GraphQL API (`moneyFromGraphql`), so both
 * paths give the same document. `checkTotals` is the order's own consistency:
 * lines − discounts + shipping + taxes (when not included) + duties = total.
 *
 * Glossary: allocation = the part of a discount application charged to one line or shipping
 * line; application = a discount as applied to the order (a code, an automatic discount, a
 * manual one), referred to by its index.
 */
import { z } from "zod";

export interface Amount {
  readonly shop: string;
  readonly presentment: string;
}

export interface TaxLine {
  readonly title: string;
  /** Decimal fraction as Shopify gives it, e.g. "0.21". */
  readonly rate: string;
  readonly amount: Amount;
}

export interface DiscountAllocation {
  /** Index of the discount application in `discountApplications`. */
  readonly application: number;
  readonly amount: Amount;
}

export interface MoneyLine {
  readonly gid: string;
  readonly variantGid: string | null;
  readonly quantity: number;
  readonly unitPrice: Amount;
  readonly giftCard: boolean;
  readonly properties: readonly { name: string; value: string }[];
  readonly taxLines: readonly TaxLine[];
  readonly discountAllocations: readonly DiscountAllocation[];
  readonly duties: readonly {
    amount: Amount;
    harmonizedSystemCode: string | null;
    countryOfOrigin: string | null;
  }[];
}

export interface ShippingLine {
  readonly title: string;
  readonly code: string | null;
  readonly carrierIdentifier: string | null;
  readonly source: string | null;
  readonly price: Amount;
  readonly taxLines: readonly TaxLine[];
  readonly discountAllocations: readonly DiscountAllocation[];
}

export interface DiscountApplication {
  readonly index: number;
  readonly type: "discount_code" | "automatic" | "manual" | "script";
  readonly code: string | null;
  readonly title: string | null;
  readonly valueType: "percentage" | "fixed_amount";
  /** Percent ("10") or amount ("5.00"). */
  readonly value: string;
  readonly allocationMethod: string;
  readonly targetType: string;
}

export interface PaymentTerms {
  readonly name: string;
  readonly type: string;
  readonly dueInDays: number | null;
  readonly dueAt: number | null;
  readonly completedAt: number | null;
}

export interface Transaction {
  readonly gid: string;
  readonly kind: string;
  readonly status: string;
  readonly gateway: string | null;
  readonly amount: Amount;
  readonly authorization: string | null;
  readonly parentGid: string | null;
  readonly processedAt: number | null;
}

export interface RefundMoney {
  readonly gid: string;
  readonly createdAt: number | null;
  readonly note: string | null;
  readonly lines: readonly { lineGid: string; quantity: number; subtotal: Amount; tax: Amount }[];
  readonly shipping: readonly { subtotal: Amount; tax: Amount }[];
  readonly adjustments: readonly { amount: Amount; tax: Amount; reason: string | null }[];
  readonly transactions: readonly Transaction[];
}

export type SourceKind = "web" | "pos" | "draft" | "b2b" | "other";

export interface OrderMoney {
  readonly currency: string;
  readonly presentmentCurrency: string;
  readonly taxesIncluded: boolean;
  readonly lines: readonly MoneyLine[];
  readonly shippingLines: readonly ShippingLine[];
  readonly discountApplications: readonly DiscountApplication[];
  readonly discountCodes: readonly string[];
  readonly taxLines: readonly TaxLine[];
  /** As Shopify states them. */
  readonly totals: {
    readonly subtotal: Amount;
    readonly discounts: Amount;
    readonly shipping: Amount;
    readonly tax: Amount;
    readonly duties: Amount;
    readonly total: Amount;
  };
  readonly source: {
    readonly kind: SourceKind;
    readonly name: string | null;
    readonly locationGid: string | null;
    readonly staffMemberGid: string | null;
    readonly companyGid: string | null;
    readonly companyLocationGid: string | null;
    readonly paymentTerms: PaymentTerms | null;
  };
  readonly paymentGateways: readonly string[];
  readonly note: string | null;
  readonly noteAttributes: readonly { name: string; value: string }[];
  readonly customerLocale: string | null;
  readonly refunds: readonly RefundMoney[];
}

// ---- exact decimals: bigint in units of 10⁻⁴ (covers 0-, 2- and 3-decimal currencies) ----

const SCALE = 4;
const ONE = 10n ** BigInt(SCALE);

export function units(s: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s.trim());
  if (!m) throw new Error(`not a decimal amount: ${s}`);
  const frac = (m[3] ?? "").padEnd(SCALE, "0");
  if (frac.length > SCALE && /[1-9]/.test(frac.slice(SCALE))) throw new Error(`too many decimals: ${s}`);
  const v = BigInt(m[2]!) * ONE + BigInt(frac.slice(0, SCALE));
  return m[1] ? -v : v;
}

/** Units → decimal string with at least two decimals ("12.30", "0.125"). */
export function decimal(u: bigint): string {
  const neg = u < 0n;
  const a = neg ? -u : u;
  let frac = (a % ONE).toString().padStart(SCALE, "0").replace(/0+$/, "");
  if (frac.length < 2) frac = frac.padEnd(2, "0");
  return `${neg ? "-" : ""}${a / ONE}.${frac}`;
}

/** A decimal amount in the canonical form (exact; accepts "12.3", "12.30", 12.3 as Shopify's REST prints it). */
export function canonical(v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === "") return "0.00";
  return decimal(units(typeof v === "number" ? String(v) : v));
}

export function sum(values: readonly string[]): string {
  return decimal(values.reduce((n, v) => n + units(v), 0n));
}

const ZERO: Amount = { shop: "0.00", presentment: "0.00" };

export function addAmounts(values: readonly Amount[]): Amount {
  return { shop: sum(values.map((a) => a.shop)), presentment: sum(values.map((a) => a.presentment)) };
}

// ---- consistency ----

export interface TotalsCheck {
  readonly ok: boolean;
  /** The order's parts added up, per currency. */
  readonly computed: {
    lines: Amount;
    discounts: Amount;
    shipping: Amount;
    tax: Amount;
    duties: Amount;
    subtotal: Amount;
    total: Amount;
  };
  /** What does not add up, in words with the numbers. */
  readonly problems: readonly string[];
}

/**
 * Adds the order up from its parts and compares with Shopify's totals: lines − discounts +
 * shipping + taxes (when not included in prices) + duties = total, and each stated total equals
 * the sum of its parts.
 */
export function checkTotals(m: OrderMoney): TotalsCheck {
  const per = (cur: "shop" | "presentment") => {
    const u = (a: Amount) => units(a[cur]);
    const s = (xs: Amount[]) => xs.reduce((n, a) => n + u(a), 0n);
    const lines = lineGross(m, cur);
    const lineDisc = s(m.lines.flatMap((l) => l.discountAllocations.map((a) => a.amount)));
    const shipDisc = s(m.shippingLines.flatMap((l) => l.discountAllocations.map((a) => a.amount)));
    const shipping = s(m.shippingLines.map((l) => l.price));
    const tax = s(
      [...m.lines.flatMap((l) => l.taxLines), ...m.shippingLines.flatMap((l) => l.taxLines)].map(
        (t) => t.amount,
      ),
    );
    const duties = s(m.lines.flatMap((l) => l.duties.map((d) => d.amount)));
    const discounts = lineDisc + shipDisc;
    const total = lines - discounts + shipping + (m.taxesIncluded ? 0n : tax) + duties;
    return { lines, discounts, shipping, tax, duties, subtotal: lines - lineDisc, total };
  };
  const shop = per("shop");
  const pres = per("presentment");
  const pair = (k: keyof typeof shop): Amount => ({ shop: decimal(shop[k]), presentment: decimal(pres[k]) });
  const computed = {
    lines: pair("lines"),
    discounts: pair("discounts"),
    shipping: pair("shipping"),
    tax: pair("tax"),
    duties: pair("duties"),
    subtotal: pair("subtotal"),
    total: pair("total"),
  };
  const problems: string[] = [];
  for (const cur of ["shop", "presentment"] as const) {
    const c = cur === "shop" ? m.currency : m.presentmentCurrency;
    for (const k of ["subtotal", "discounts", "shipping", "tax", "duties", "total"] as const) {
      if (units(computed[k][cur]) !== units(m.totals[k][cur]))
        problems.push(
          k === "total"
            ? `total does not add up (${c}): lines ${computed.lines[cur]} − discounts ${computed.discounts[cur]} + shipping ${computed.shipping[cur]} + tax ${m.taxesIncluded ? "0.00 (included)" : computed.tax[cur]} + duties ${computed.duties[cur]} = ${computed.total[cur]}, Shopify says ${m.totals.total[cur]}`
            : `${k} does not add up (${c}): parts make ${computed[k][cur]}, Shopify says ${m.totals[k][cur]}`,
        );
    }
  }
  return { ok: problems.length === 0, computed, problems };
}

function lineGross(m: OrderMoney, cur: "shop" | "presentment"): bigint {
  return m.lines.reduce((n, l) => n + units(l.unitPrice[cur]) * BigInt(l.quantity), 0n);
}

// ---- REST (webhook body) ----

const str = z.string().nullish();
const amountish = z.union([z.string(), z.number()]).nullish();
const restMoney = z.object({ amount: amountish }).nullish();
const restSet = z.object({ shop_money: restMoney, presentment_money: restMoney }).nullish();
const restTax = z.object({ title: z.string(), rate: amountish, price: amountish, price_set: restSet });
const restAlloc = z.object({
  amount: amountish,
  amount_set: restSet,
  discount_application_index: z.number().int(),
});

const restMoneyOrder = z.object({
  currency: str,
  presentment_currency: str,
  taxes_included: z.boolean().nullish(),
  source_name: str,
  location_id: z.union([z.number(), z.string()]).nullish(),
  user_id: z.union([z.number(), z.string()]).nullish(),
  company: z
    .object({
      id: z.union([z.number(), z.string()]).nullish(),
      location_id: z.union([z.number(), z.string()]).nullish(),
    })
    .nullish(),
  note: str,
  note_attributes: z.array(z.object({ name: z.string(), value: z.unknown() })).nullish(),
  customer_locale: str,
  payment_gateway_names: z.array(z.string()).nullish(),
  payment_terms: z
    .object({
      payment_terms_name: str,
      payment_terms_type: str,
      due_in_days: z.number().int().nullish(),
      payment_schedules: z.array(z.object({ due_at: str, completed_at: str })).nullish(),
    })
    .nullish(),
  subtotal_price: amountish,
  subtotal_price_set: restSet,
  total_discounts: amountish,
  total_discounts_set: restSet,
  total_shipping_price_set: restSet,
  total_tax: amountish,
  total_tax_set: restSet,
  current_total_duties_set: restSet,
  original_total_duties_set: restSet,
  total_price: amountish,
  total_price_set: restSet,
  tax_lines: z.array(restTax).nullish(),
  discount_applications: z
    .array(
      z.object({
        type: z.string(),
        value: amountish,
        value_type: z.string(),
        allocation_method: str,
        target_type: str,
        code: str,
        title: str,
      }),
    )
    .nullish(),
  discount_codes: z.array(z.object({ code: z.string() })).nullish(),
  shipping_lines: z
    .array(
      z.object({
        title: z.string(),
        code: str,
        source: str,
        carrier_identifier: str,
        price: amountish,
        price_set: restSet,
        tax_lines: z.array(restTax).nullish(),
        discount_allocations: z.array(restAlloc).nullish(),
      }),
    )
    .nullish(),
  line_items: z.array(
    z.object({
      id: z.union([z.number(), z.string()]),
      admin_graphql_api_id: z.string().optional(),
      variant_id: z.union([z.number(), z.string()]).nullish(),
      quantity: z.number().int(),
      price: amountish,
      price_set: restSet,
      gift_card: z.boolean().nullish(),
      properties: z.array(z.object({ name: z.string(), value: z.unknown() })).nullish(),
      tax_lines: z.array(restTax).nullish(),
      discount_allocations: z.array(restAlloc).nullish(),
      duties: z
        .array(z.object({ harmonized_system_code: str, country_code_of_origin: str, price_set: restSet }))
        .nullish(),
    }),
  ),
  refunds: z
    .array(
      z.object({
        id: z.union([z.number(), z.string()]),
        admin_graphql_api_id: z.string().optional(),
        created_at: str,
        note: str,
        refund_line_items: z
          .array(
            z.object({
              line_item_id: z.union([z.number(), z.string()]),
              quantity: z.number().int(),
              subtotal: amountish,
              subtotal_set: restSet,
              total_tax: amountish,
              total_tax_set: restSet,
            }),
          )
          .nullish(),
        refund_shipping_lines: z
          .array(z.object({ subtotal_amount_set: restSet, tax_amount_set: restSet }))
          .nullish(),
        order_adjustments: z
          .array(
            z.object({
              amount: amountish,
              amount_set: restSet,
              tax_amount: amountish,
              tax_amount_set: restSet,
              reason: str,
              kind: str,
            }),
          )
          .nullish(),
        transactions: z.array(z.lazy(() => restTransaction)).nullish(),
      }),
    )
    .nullish(),
});

export const restTransaction = z.object({
  id: z.union([z.number(), z.string()]),
  admin_graphql_api_id: z.string().optional(),
  order_id: z.union([z.number(), z.string()]).nullish(),
  kind: z.string(),
  status: str,
  gateway: str,
  amount: amountish,
  amount_set: restSet,
  authorization: str,
  parent_id: z.union([z.number(), z.string()]).nullish(),
  processed_at: str,
  created_at: str,
});

const gidOf = (type: string, id: string | number | null | undefined, given?: string) =>
  given ?? (id === null || id === undefined ? null : `gid://shopify/${type}/${id}`);

const time = (iso: string | null | undefined) => {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
};

/** A REST money set, or the plain amount in both currencies when the set is missing. */
function restAmount(set: z.infer<typeof restSet>, plain?: string | number | null): Amount {
  const shop = set?.shop_money?.amount ?? plain;
  return { shop: canonical(shop), presentment: canonical(set?.presentment_money?.amount ?? shop) };
}

const rate = (r: string | number | null | undefined) =>
  r === null || r === undefined ? "0" : String(Number(r));

const restTaxes = (ts: z.infer<typeof restTax>[] | null | undefined): TaxLine[] =>
  (ts ?? []).map((t) => ({ title: t.title, rate: rate(t.rate), amount: restAmount(t.price_set, t.price) }));

const restAllocs = (as: z.infer<typeof restAlloc>[] | null | undefined): DiscountAllocation[] =>
  (as ?? []).map((a) => ({
    application: a.discount_application_index,
    amount: restAmount(a.amount_set, a.amount),
  }));

export function sourceKind(name: string | null, hasCompany: boolean): SourceKind {
  if (hasCompany) return "b2b";
  if (name === "pos") return "pos";
  if (name === "shopify_draft_order") return "draft";
  if (name === "web" || name === null) return "web";
  return "other";
}

function percentOrAmount(valueType: string, v: string | number | null | undefined): string {
  return valueType === "percentage" ? String(Number(v ?? 0)) : canonical(v);
}

export function transactionFromRest(t: z.infer<typeof restTransaction>): Transaction {
  return {
    gid: gidOf("OrderTransaction", t.id, t.admin_graphql_api_id)!,
    kind: t.kind.toLowerCase(),
    status: (t.status ?? "success").toLowerCase(),
    gateway: t.gateway ?? null,
    amount: restAmount(t.amount_set, t.amount),
    authorization: t.authorization ?? null,
    parentGid: gidOf("OrderTransaction", t.parent_id),
    processedAt: time(t.processed_at ?? t.created_at),
  };
}

export type MoneyParse = { ok: true; money: OrderMoney } | { ok: false; reason: string };

export function moneyFromRest(body: unknown): MoneyParse {
  const r = restMoneyOrder.safeParse(body);
  if (!r.success) {
    const first = r.error.issues[0];
    return { ok: false, reason: `order money unreadable: ${first?.path.join(".")} ${first?.message}` };
  }
  const o = r.data;
  const currency = o.currency ?? "XXX";
  const companyGid = gidOf("Company", o.company?.id);
  const terms = o.payment_terms;
  try {
    return {
      ok: true,
      money: {
        currency,
        presentmentCurrency: o.presentment_currency ?? currency,
        taxesIncluded: o.taxes_included ?? false,
        lines: o.line_items.map((li) => ({
          gid: gidOf("LineItem", li.id, li.admin_graphql_api_id)!,
          variantGid: gidOf("ProductVariant", li.variant_id),
          quantity: li.quantity,
          unitPrice: restAmount(li.price_set, li.price),
          giftCard: li.gift_card ?? false,
          properties: (li.properties ?? []).map((p) => ({ name: p.name, value: String(p.value ?? "") })),
          taxLines: restTaxes(li.tax_lines),
          discountAllocations: restAllocs(li.discount_allocations),
          duties: (li.duties ?? []).map((d) => ({
            amount: restAmount(d.price_set),
            harmonizedSystemCode: d.harmonized_system_code ?? null,
            countryOfOrigin: d.country_code_of_origin ?? null,
          })),
        })),
        shippingLines: (o.shipping_lines ?? []).map((s) => ({
          title: s.title,
          code: s.code ?? null,
          carrierIdentifier: s.carrier_identifier ?? null,
          source: s.source ?? null,
          price: restAmount(s.price_set, s.price),
          taxLines: restTaxes(s.tax_lines),
          discountAllocations: restAllocs(s.discount_allocations),
        })),
        discountApplications: (o.discount_applications ?? []).map((a, index) => ({
          index,
          type: (["discount_code", "automatic", "manual", "script"].includes(a.type)
            ? a.type
            : "manual") as DiscountApplication["type"],
          code: a.code ?? null,
          title: a.type === "discount_code" ? null : (a.title ?? null),
          valueType: a.value_type === "percentage" ? "percentage" : "fixed_amount",
          value: percentOrAmount(a.value_type, a.value),
          allocationMethod: (a.allocation_method ?? "across").toLowerCase(),
          targetType: (a.target_type ?? "line_item").toLowerCase(),
        })),
        discountCodes: (o.discount_codes ?? []).map((d) => d.code),
        taxLines: restTaxes(o.tax_lines),
        totals: {
          subtotal: restAmount(o.subtotal_price_set, o.subtotal_price),
          discounts: restAmount(o.total_discounts_set, o.total_discounts),
          shipping: restAmount(o.total_shipping_price_set),
          tax: restAmount(o.total_tax_set, o.total_tax),
          duties: o.current_total_duties_set ? restAmount(o.current_total_duties_set) : ZERO,
          total: restAmount(o.total_price_set, o.total_price),
        },
        source: {
          kind: sourceKind(o.source_name ?? null, companyGid !== null),
          name: o.source_name ?? null,
          locationGid: gidOf("Location", o.location_id),
          staffMemberGid: gidOf("StaffMember", o.user_id),
          companyGid,
          companyLocationGid: gidOf("CompanyLocation", o.company?.location_id),
          paymentTerms: terms
            ? {
                name: terms.payment_terms_name ?? "",
                type: (terms.payment_terms_type ?? "").toLowerCase(),
                dueInDays: terms.due_in_days ?? null,
                dueAt: time(terms.payment_schedules?.[0]?.due_at),
                completedAt: time(terms.payment_schedules?.[0]?.completed_at),
              }
            : null,
        },
        paymentGateways: o.payment_gateway_names ?? [],
        note: o.note ?? null,
        noteAttributes: (o.note_attributes ?? []).map((a) => ({
          name: a.name,
          value: String(a.value ?? ""),
        })),
        customerLocale: o.customer_locale ?? null,
        refunds: (o.refunds ?? []).map((rf) => ({
          gid: gidOf("Refund", rf.id, rf.admin_graphql_api_id)!,
          createdAt: time(rf.created_at),
          note: rf.note ?? null,
          lines: (rf.refund_line_items ?? []).map((l) => ({
            lineGid: gidOf("LineItem", l.line_item_id)!,
            quantity: l.quantity,
            subtotal: restAmount(l.subtotal_set, l.subtotal),
            tax: restAmount(l.total_tax_set, l.total_tax),
          })),
          shipping: (rf.refund_shipping_lines ?? []).map((s) => ({
            subtotal: restAmount(s.subtotal_amount_set),
            tax: restAmount(s.tax_amount_set),
          })),
          adjustments: (rf.order_adjustments ?? []).map((a) => ({
            amount: restAmount(a.amount_set, a.amount),
            tax: restAmount(a.tax_amount_set, a.tax_amount),
            reason: a.reason ?? null,
          })),
          transactions: (rf.transactions ?? []).map(transactionFromRest),
        })),
      },
    };
  } catch (e) {
    return { ok: false, reason: `order money unreadable: ${(e as Error).message}` };
  }
}
