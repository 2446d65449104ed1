// The money of an emulated order, as Shopify computes it: discount applications allocated to
// lines and shipping lines, taxes per line (included in prices or added to them) rounded per line
// half-up to the cent, duties, payments (transactions) and refunds. Amounts are integer cents in
// the shop currency; the presentment currency converts each amount on its own (rounded), and
// every total is the sum of converted parts, so totals add up exactly in both currencies.
// Two-decimal currencies only.
import { ControlError } from "./state.ts";

/** Integer cents. */
export type Cents = number;

export interface TaxLineState {
  title: string;
  /** Decimal fraction, e.g. "0.21". */
  rate: string;
  cents: Cents;
}

export interface AllocationState {
  applicationIndex: number;
  cents: Cents;
}

export interface LineMoney {
  giftCard: boolean;
  properties: { name: string; value: string }[];
  taxRates: { title: string; rate: string }[];
  taxLines: TaxLineState[];
  allocations: AllocationState[];
  duty: {
    id: number;
    cents: Cents;
    harmonizedSystemCode: string | null;
    countryCodeOfOrigin: string | null;
  } | null;
}

export interface ShippingLineState {
  id: number;
  title: string;
  code: string | null;
  carrierIdentifier: string | null;
  source: string;
  cents: Cents;
  taxRates: { title: string; rate: string }[];
  taxLines: TaxLineState[];
  allocations: AllocationState[];
}

export interface DiscountApplicationState {
  index: number;
  kind: "code" | "automatic" | "manual";
  code: string | null;
  title: string;
  valueType: "percentage" | "fixed_amount";
  /** Percent ("10.0") or amount ("5.00"). */
  value: string;
  target: "line_item" | "shipping_line";
  allocationMethod: "across" | "each";
}

export type TransactionKind = "sale" | "authorization" | "capture" | "refund";

export interface TransactionState {
  id: number;
  kind: TransactionKind;
  status: "success" | "pending" | "failure";
  gateway: string;
  cents: Cents;
  authorization: string | null;
  parentId: number | null;
  refundId: number | null;
  processedAt: string;
}

export interface PaymentTermsState {
  id: number;
  name: string;
  type: "NET" | "FIXED" | "RECEIPT" | "FULFILLMENT";
  dueInDays: number | null;
  dueAt: string | null;
  completedAt: string | null;
  cents: Cents;
}

export interface OrderMoneyState {
  presentmentCurrency: string;
  /** Shop → presentment rate, a decimal string ("1" when the same currency). */
  rate: string;
  taxesIncluded: boolean;
  applications: DiscountApplicationState[];
  shippingLines: ShippingLineState[];
  transactions: TransactionState[];
  paymentGatewayNames: string[];
  paymentTerms: PaymentTermsState | null;
  staffMember: { id: number; name: string } | null;
  companyLocation: { id: number; name: string } | null;
  noteAttributes: { name: string; value: string }[];
  customerLocale: string | null;
}

export interface RefundMoney {
  lines: { lineItemId: number; subtotalCents: Cents; taxCents: Cents }[];
  shipping: { shippingLineId: number; cents: Cents; taxCents: Cents }[];
  adjustments: { id: number; cents: Cents; taxCents: Cents; reason: string }[];
  transactionIds: number[];
}

// ---- exact decimal arithmetic ----

/** "12.34" → 1234 (exact; at most two decimals). */
export function toCents(v: string | number, what = "amount"): Cents {
  const s = typeof v === "number" ? String(v) : v.trim();
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(s);
  if (!m)
    throw new ControlError("INVALID_MONEY", `${what} must be a decimal with at most 2 places, got ${s}`);
  const cents = Number(m[2]) * 100 + Number((m[3] ?? "").padEnd(2, "0"));
  return m[1] ? -cents : cents;
}

export function fmt(cents: Cents): string {
  const neg = cents < 0;
  const a = Math.abs(cents);
  return `${neg ? "-" : ""}${Math.floor(a / 100)}.${String(a % 100).padStart(2, "0")}`;
}

/** A decimal string as a fraction of bigints. */
function fraction(s: string): { n: bigint; d: bigint } {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(s.trim());
  if (!m) throw new ControlError("INVALID_RATE", `a rate must be a non-negative decimal, got ${s}`);
  const dec = m[2] ?? "";
  return { n: BigInt(m[1]! + dec), d: 10n ** BigInt(dec.length) };
}

/** round(a × n / d) half away from zero, for a ≥ 0. */
function roundDiv(a: bigint, d: bigint): bigint {
  return (2n * a + d) / (2n * d);
}

export function mulRate(cents: Cents, rate: string): Cents {
  const f = fraction(rate);
  const sign = cents < 0 ? -1 : 1;
  return sign * Number(roundDiv(BigInt(Math.abs(cents)) * f.n, f.d));
}

/** Tax contained in a tax-inclusive amount: amount × rate / (1 + Σ rates). */
function includedTax(cents: Cents, rate: string, allRates: string[]): Cents {
  const r = fraction(rate);
  // Σ rates over a common denominator.
  const den = allRates.map(fraction).reduce((acc, f) => (acc > f.d ? acc : f.d), 1n);
  const sum = allRates.map(fraction).reduce((acc, f) => acc + (f.n * den) / f.d, 0n);
  // cents × (r.n/r.d) / ((den + sum)/den) = cents × r.n × den / (r.d × (den + sum))
  return Number(roundDiv(BigInt(cents) * r.n * den, r.d * (den + sum)));
}

/** Percent string ("12.5") as a rate fraction string ("0.125"). */
function percentRate(p: string): string {
  const f = fraction(p);
  const scale = f.d.toString().length - 1 + 2;
  const digits = f.n.toString().padStart(scale + 1, "0");
  return `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
}

/** Splits `total` over `weights` proportionally; the rounding remainder goes to the last part. */
function spread(total: Cents, weights: Cents[]): Cents[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map(() => 0);
  let given = 0;
  return weights.map((w, i) => {
    if (i === weights.length - 1) return total - given;
    const part = Number(roundDiv(BigInt(total) * BigInt(w), BigInt(sum)));
    given += part;
    return part;
  });
}

// ---- pricing an order ----

export interface PricedLine {
  priceCents: Cents;
  quantity: number;
  money: LineMoney;
}

export interface DiscountInput {
  kind?: "code" | "automatic" | "manual";
  code?: string;
  title?: string;
  valueType: "percentage" | "fixed_amount";
  value: string | number;
  target?: "line_item" | "shipping_line";
  allocationMethod?: "across" | "each";
}

export function discountApplications(input: DiscountInput[] | undefined): DiscountApplicationState[] {
  return (input ?? []).map((d, index) => {
    const kind = d.kind ?? (d.code ? "code" : "automatic");
    if (kind === "code" && !d.code)
      throw new ControlError("INVALID_DISCOUNT", "a discount code needs its code");
    const value = String(d.value);
    if (d.valueType === "percentage") {
      const f = fraction(value);
      if (f.n > 100n * f.d) throw new ControlError("INVALID_DISCOUNT", "a percentage is at most 100");
    } else toCents(value, "discount value");
    return {
      index,
      kind,
      code: kind === "code" ? d.code! : null,
      title: d.title ?? d.code ?? "Discount",
      valueType: d.valueType,
      value: d.valueType === "percentage" ? value : fmt(toCents(value)),
      target: d.target ?? "line_item",
      allocationMethod: d.allocationMethod ?? "across",
    };
  });
}

/** Allocates every application to its targets, never more than a target's remaining amount. */
export function allocate(
  apps: DiscountApplicationState[],
  lines: PricedLine[],
  shipping: ShippingLineState[],
): void {
  for (const l of lines) l.money.allocations = [];
  for (const s of shipping) s.allocations = [];
  const remaining = (gross: Cents, allocs: AllocationState[]) =>
    gross - allocs.reduce((n, a) => n + a.cents, 0);
  for (const app of apps) {
    const targets =
      app.target === "line_item"
        ? lines
            .filter((l) => !l.money.giftCard)
            .map((l) => ({ gross: l.priceCents * l.quantity, allocs: l.money.allocations, qty: l.quantity }))
        : shipping.map((s) => ({ gross: s.cents, allocs: s.allocations, qty: 1 }));
    if (targets.length === 0) continue;
    let amounts: Cents[];
    if (app.valueType === "percentage") {
      const rate = percentRate(app.value);
      amounts = targets.map((t) => mulRate(t.gross, rate));
    } else if (app.allocationMethod === "each") {
      amounts = targets.map((t) => toCents(app.value) * t.qty);
    } else {
      amounts = spread(
        Math.min(
          toCents(app.value),
          targets.reduce((n, t) => n + remaining(t.gross, t.allocs), 0),
        ),
        targets.map((t) => remaining(t.gross, t.allocs)),
      );
    }
    targets.forEach((t, i) => {
      const cents = Math.min(amounts[i]!, remaining(t.gross, t.allocs));
      if (cents > 0) t.allocs.push({ applicationIndex: app.index, cents });
    });
  }
}

function taxesOn(base: Cents, rates: { title: string; rate: string }[], included: boolean): TaxLineState[] {
  const all = rates.map((r) => r.rate);
  return rates.map((r) => ({
    title: r.title,
    rate: r.rate,
    cents: included ? includedTax(base, r.rate, all) : mulRate(base, r.rate),
  }));
}

/** Taxes per line and per shipping line, on the amount after discounts, rounded per line. */
export function computeTaxes(lines: PricedLine[], shipping: ShippingLineState[], included: boolean): void {
  const net = (gross: Cents, allocs: AllocationState[]) => gross - allocs.reduce((n, a) => n + a.cents, 0);
  for (const l of lines)
    l.money.taxLines = taxesOn(
      net(l.priceCents * l.quantity, l.money.allocations),
      l.money.taxRates,
      included,
    );
  for (const s of shipping) s.taxLines = taxesOn(net(s.cents, s.allocations), s.taxRates, included);
}

/** Shop cents → presentment cents. */
export function presentment(m: Pick<OrderMoneyState, "rate">, cents: Cents): Cents {
  return m.rate === "1" ? cents : mulRate(cents, m.rate);
}

export interface Totals {
  lineItems: Cents;
  lineDiscounts: Cents;
  shipping: Cents;
  shippingDiscounts: Cents;
  tax: Cents;
  duties: Cents;
  subtotal: Cents;
  discounts: Cents;
  total: Cents;
}

/**
 * Totals in one currency (`conv` maps each shop amount into it): subtotal = lines − line
 * discounts; total = lines − discounts + shipping + tax (when not included) + duties.
 */
export function totals(
  m: OrderMoneyState,
  lines: PricedLine[],
  conv: (c: Cents) => Cents = (c) => c,
): Totals {
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const lineItems = sum(lines.map((l) => conv(l.priceCents) * l.quantity));
  const lineDiscounts = sum(lines.flatMap((l) => l.money.allocations.map((a) => conv(a.cents))));
  const shipping = sum(m.shippingLines.map((s) => conv(s.cents)));
  const shippingDiscounts = sum(m.shippingLines.flatMap((s) => s.allocations.map((a) => conv(a.cents))));
  const tax =
    sum(lines.flatMap((l) => l.money.taxLines.map((t) => conv(t.cents)))) +
    sum(m.shippingLines.flatMap((s) => s.taxLines.map((t) => conv(t.cents))));
  const duties = sum(lines.map((l) => (l.money.duty ? conv(l.money.duty.cents) : 0)));
  const discounts = lineDiscounts + shippingDiscounts;
  return {
    lineItems,
    lineDiscounts,
    shipping,
    shippingDiscounts,
    tax,
    duties,
    subtotal: lineItems - lineDiscounts,
    discounts,
    total: lineItems - discounts + shipping + (m.taxesIncluded ? 0 : tax) + duties,
  };
}

/** Tax lines of the whole order, summed by title and rate. */
export function orderTaxLines(lines: PricedLine[], shipping: ShippingLineState[]): TaxLineState[] {
  const byKey = new Map<string, TaxLineState>();
  for (const t of [...lines.flatMap((l) => l.money.taxLines), ...shipping.flatMap((s) => s.taxLines)]) {
    const k = `${t.title}|${t.rate}`;
    const e = byKey.get(k);
    if (e) e.cents += t.cents;
    else byKey.set(k, { ...t });
  }
  return [...byKey.values()];
}

/** What a refund of `qty` units of a line gives back: its share of the discounted total and of the tax. */
export function refundOfLine(l: PricedLine, qty: number): { subtotalCents: Cents; taxCents: Cents } {
  const net = l.priceCents * l.quantity - l.money.allocations.reduce((n, a) => n + a.cents, 0);
  const tax = l.money.taxLines.reduce((n, t) => n + t.cents, 0);
  const share = (c: Cents) => Number(roundDiv(BigInt(c) * BigInt(qty), BigInt(l.quantity)));
  return { subtotalCents: share(net), taxCents: share(tax) };
}

export function rateString(tax: { rate: string | number }): string {
  const s = String(tax.rate);
  fraction(s);
  return s;
}
