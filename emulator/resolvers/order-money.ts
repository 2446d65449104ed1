// The money fields of Order, LineItem, Refund and their types (taxes, discounts, shipping lines,
// duties, transactions, payment terms, POS staff, B2B location), read from order-money.ts state.
import { gid } from "../gid.ts";
import {
  type AllocationState,
  type Cents,
  type DiscountApplicationState,
  fmt,
  orderTaxLines,
  type PaymentTermsState,
  presentment,
  type ShippingLineState,
  type TaxLineState,
  type TransactionState,
  toCents,
} from "../order-money.ts";
import { orderTotals, outstanding, pricedLines } from "../orders.ts";
import type { Company, LineItem, Order, Refund } from "../state.ts";
import { type Ctx, connection, type PageArgs, type ResolverMap, tag } from "./kit.ts";

/** A MoneyBag in the order's two currencies; `p` when the presentment amount is not a plain conversion. */
function bag(o: Order, cents: Cents, p = presentment(o.money, cents)) {
  return {
    shopMoney: { amount: fmt(cents), currencyCode: o.currency },
    presentmentMoney: { amount: fmt(p), currencyCode: o.money.presentmentCurrency },
  };
}

type WithOrder<T> = T & { order: Order };
const withOrder = <T extends object>(o: Order, x: T, type: string): WithOrder<T> =>
  tag({ ...x, order: o }, type);

const taxLines = (o: Order, lines: TaxLineState[]) => lines.map((t) => withOrder(o, t, "TaxLine"));
const allocations = (o: Order, allocs: AllocationState[]) =>
  allocs.map((a) => withOrder(o, a, "DiscountAllocation"));
const application = (o: Order, a: DiscountApplicationState) =>
  withOrder(
    o,
    a,
    a.kind === "code"
      ? "DiscountCodeApplication"
      : a.kind === "manual"
        ? "ManualDiscountApplication"
        : "AutomaticDiscountApplication",
  );
const transaction = (o: Order, t: TransactionState) => withOrder(o, t, "OrderTransaction");

function total(o: Order, key: keyof ReturnType<typeof orderTotals>) {
  return bag(o, orderTotals(o)[key], orderTotals(o, true)[key]);
}

interface LineRef {
  order: Order;
  li: LineItem;
}

const applicationFields = {
  index: (a: DiscountApplicationState) => a.index,
  allocationMethod: (a: DiscountApplicationState) => a.allocationMethod.toUpperCase(),
  targetSelection: () => "ALL",
  targetType: (a: DiscountApplicationState) => a.target.toUpperCase(),
  value: (a: WithOrder<DiscountApplicationState>) =>
    a.valueType === "percentage"
      ? tag({ percentage: Number(a.value) }, "PricingPercentageValue")
      : tag({ amount: a.value, currencyCode: a.order.currency }, "MoneyV2"),
  title: (a: DiscountApplicationState) => a.title,
  description: (a: DiscountApplicationState) => a.title,
};

export const orderMoneyResolvers: ResolverMap = {
  Order: {
    taxesIncluded: (o: Order) => o.money.taxesIncluded,
    presentmentCurrencyCode: (o: Order) => o.money.presentmentCurrency,
    totalPriceSet: (o: Order) => total(o, "total"),
    currentTotalPriceSet: (o: Order) => total(o, "total"),
    subtotalPriceSet: (o: Order) => total(o, "subtotal"),
    currentSubtotalPriceSet: (o: Order) => total(o, "subtotal"),
    totalTaxSet: (o: Order) => total(o, "tax"),
    currentTotalTaxSet: (o: Order) => total(o, "tax"),
    totalShippingPriceSet: (o: Order) => total(o, "shipping"),
    totalDiscountsSet: (o: Order) => total(o, "discounts"),
    currentTotalDiscountsSet: (o: Order) => total(o, "discounts"),
    originalTotalDutiesSet: (o: Order) => (orderTotals(o).duties > 0 ? total(o, "duties") : null),
    currentTotalDutiesSet: (o: Order) => (orderTotals(o).duties > 0 ? total(o, "duties") : null),
    totalOutstandingSet: (o: Order) => bag(o, Math.max(0, outstanding(o))),
    taxLines: (o: Order) => taxLines(o, orderTaxLines(pricedLines(o), o.money.shippingLines)),
    currentTaxLines: (o: Order) => taxLines(o, orderTaxLines(pricedLines(o), o.money.shippingLines)),
    shippingLines: (o: Order, args: PageArgs, ctx: Ctx) =>
      connection(
        o.money.shippingLines.map((s) => withOrder(o, s, "ShippingLine")),
        args,
        ctx,
        (s) => s.id,
      ),
    shippingLine: (o: Order) => {
      const s = o.money.shippingLines[0];
      return s ? withOrder(o, s, "ShippingLine") : null;
    },
    discountApplications: (o: Order, args: PageArgs, ctx: Ctx) =>
      connection(
        o.money.applications.map((a) => application(o, a)),
        args,
        ctx,
        (a) => a.index + 1,
      ),
    discountCodes: (o: Order) => o.money.applications.filter((a) => a.kind === "code").map((a) => a.code!),
    discountCode: (o: Order) => o.money.applications.find((a) => a.kind === "code")?.code ?? null,
    paymentGatewayNames: (o: Order) => o.money.paymentGatewayNames,
    transactions: (o: Order, args: { first?: number | null }) =>
      o.money.transactions.slice(0, args.first ?? undefined).map((t) => transaction(o, t)),
    paymentTerms: (o: Order) =>
      o.money.paymentTerms ? withOrder(o, o.money.paymentTerms, "PaymentTerms") : null,
    staffMember: (o: Order) => (o.money.staffMember ? tag({ ...o.money.staffMember }, "StaffMember") : null),
    customAttributes: (o: Order) => o.money.noteAttributes.map((a) => ({ key: a.name, value: a.value })),
    customerLocale: (o: Order) => o.money.customerLocale,
    purchasingEntity: (o: Order, _a, ctx: Ctx) => {
      if (o.companyId !== null) {
        const company = ctx.shop.companies.get(o.companyId);
        if (company) return tag({ company, location: o.money.companyLocation }, "PurchasingCompany");
      }
      const c = o.customerId === null ? undefined : ctx.shop.customers.get(o.customerId);
      return c ? tag(c, "Customer") : null;
    },
  },
  PurchasingCompany: {
    location: (p: { company: Company; location?: { id: number; name: string } | null }) =>
      tag(
        { ...(p.location ?? { id: p.company.id, name: p.company.name }), company: p.company },
        "CompanyLocation",
      ),
  },
  CompanyLocation: {
    id: (l: { id: number }) => gid("CompanyLocation", l.id),
    name: (l: { name: string }) => l.name,
    externalId: () => null,
    company: (l: { company: Company }) => l.company,
  },
  StaffMember: {
    id: (s: { id: number }) => gid("StaffMember", s.id),
    name: (s: { name: string }) => s.name,
    firstName: (s: { name: string }) => s.name.split(" ")[0] ?? null,
    lastName: (s: { name: string }) => s.name.split(" ").slice(1).join(" ") || null,
  },
  Attribute: { key: (a) => a.key, value: (a) => a.value },
  LineItem: {
    isGiftCard: (r: LineRef) => r.li.money.giftCard,
    taxable: (r: LineRef) => r.li.money.taxRates.length > 0,
    customAttributes: (r: LineRef) => r.li.money.properties.map((p) => ({ key: p.name, value: p.value })),
    taxLines: (r: LineRef) => taxLines(r.order, r.li.money.taxLines),
    discountAllocations: (r: LineRef) => allocations(r.order, r.li.money.allocations),
    duties: (r: LineRef) => (r.li.money.duty ? [withOrder(r.order, r.li.money.duty, "Duty")] : []),
    originalUnitPriceSet: (r: LineRef) => bag(r.order, cents(r.li.price)),
    originalTotalSet: (r: LineRef) =>
      bag(
        r.order,
        cents(r.li.price) * r.li.quantity,
        presentment(r.order.money, cents(r.li.price)) * r.li.quantity,
      ),
    totalDiscountSet: (r: LineRef) => {
      const a = r.li.money.allocations;
      return bag(
        r.order,
        a.reduce((n, x) => n + x.cents, 0),
        a.reduce((n, x) => n + presentment(r.order.money, x.cents), 0),
      );
    },
  },
  TaxLine: {
    title: (t: TaxLineState) => t.title,
    rate: (t: TaxLineState) => Number(t.rate),
    ratePercentage: (t: TaxLineState) => Number(t.rate) * 100,
    priceSet: (t: WithOrder<TaxLineState>) => bag(t.order, t.cents),
    price: (t: TaxLineState) => fmt(t.cents),
    channelLiable: () => false,
    source: () => "Shopify",
  },
  DiscountAllocation: {
    allocatedAmountSet: (a: WithOrder<AllocationState>) => bag(a.order, a.cents),
    allocatedAmount: (a: WithOrder<AllocationState>) => ({
      amount: fmt(a.cents),
      currencyCode: a.order.currency,
    }),
    discountApplication: (a: WithOrder<AllocationState>) =>
      application(a.order, a.order.money.applications[a.applicationIndex]!),
  },
  DiscountCodeApplication: { ...applicationFields, code: (a: DiscountApplicationState) => a.code },
  AutomaticDiscountApplication: applicationFields,
  ManualDiscountApplication: applicationFields,
  PricingPercentageValue: { percentage: (p: { percentage: number }) => p.percentage },
  ShippingLine: {
    id: (s: ShippingLineState) => gid("ShippingLine", s.id),
    title: (s: ShippingLineState) => s.title,
    code: (s: ShippingLineState) => s.code,
    carrierIdentifier: (s: ShippingLineState) => s.carrierIdentifier,
    source: (s: ShippingLineState) => s.source,
    custom: () => false,
    isRemoved: () => false,
    originalPriceSet: (s: WithOrder<ShippingLineState>) => bag(s.order, s.cents),
    discountedPriceSet: (s: WithOrder<ShippingLineState>) => {
      const off = s.allocations.reduce((n, a) => n + a.cents, 0);
      const offP = s.allocations.reduce((n, a) => n + presentment(s.order.money, a.cents), 0);
      return bag(s.order, s.cents - off, presentment(s.order.money, s.cents) - offP);
    },
    taxLines: (s: WithOrder<ShippingLineState>) => taxLines(s.order, s.taxLines),
    discountAllocations: (s: WithOrder<ShippingLineState>) => allocations(s.order, s.allocations),
  },
  Duty: {
    id: (d: { id: number }) => gid("Duty", d.id),
    harmonizedSystemCode: (d: { harmonizedSystemCode: string | null }) => d.harmonizedSystemCode,
    countryCodeOfOrigin: (d: { countryCodeOfOrigin: string | null }) => d.countryCodeOfOrigin,
    price: (d: WithOrder<{ cents: Cents }>) => bag(d.order, d.cents),
    taxLines: () => [],
  },
  OrderTransaction: {
    id: (t: TransactionState) => gid("OrderTransaction", t.id),
    kind: (t: TransactionState) => t.kind.toUpperCase(),
    status: (t: TransactionState) => t.status.toUpperCase(),
    gateway: (t: TransactionState) => t.gateway,
    formattedGateway: (t: TransactionState) => FORMATTED[t.gateway] ?? t.gateway,
    amountSet: (t: WithOrder<TransactionState>) => bag(t.order, t.cents),
    authorizationCode: (t: TransactionState) => t.authorization,
    processedAt: (t: TransactionState) => t.processedAt,
    createdAt: (t: TransactionState) => t.processedAt,
    test: (t: WithOrder<TransactionState>) => t.order.test,
    manualPaymentGateway: (t: TransactionState) => t.gateway === "manual",
    receiptJson: (t: TransactionState) =>
      JSON.stringify(t.authorization ? { authorization: t.authorization } : {}),
    paymentId: (t: TransactionState) => `p-${t.id}`,
    parentTransaction: (t: WithOrder<TransactionState>) => {
      const p = t.order.money.transactions.find((x) => x.id === t.parentId);
      return p ? transaction(t.order, p) : null;
    },
    order: (t: WithOrder<TransactionState>) => t.order,
  },
  PaymentTerms: {
    id: (p: PaymentTermsState) => gid("PaymentTerms", p.id),
    paymentTermsName: (p: PaymentTermsState) => p.name,
    translatedName: (p: PaymentTermsState) => p.name,
    paymentTermsType: (p: PaymentTermsState) => p.type,
    dueInDays: (p: PaymentTermsState) => p.dueInDays,
    due: (p: PaymentTermsState, _a, ctx: Ctx) =>
      p.completedAt === null && p.dueAt !== null && Date.parse(p.dueAt) <= ctx.store.clock.now(),
    overdue: (p: PaymentTermsState, _a, ctx: Ctx) =>
      p.completedAt === null && p.dueAt !== null && Date.parse(p.dueAt) < ctx.store.clock.now(),
    paymentSchedules: (p: WithOrder<PaymentTermsState>, args: PageArgs, ctx: Ctx) =>
      connection([tag({ ...p }, "PaymentSchedule")], args, ctx, (s) => s.id),
  },
  PaymentSchedule: {
    id: (p: PaymentTermsState) => gid("PaymentSchedule", p.id),
    dueAt: (p: PaymentTermsState) => p.dueAt,
    issuedAt: (p: WithOrder<PaymentTermsState>) => p.order.createdAt,
    completedAt: (p: PaymentTermsState) => p.completedAt,
    amount: (p: WithOrder<PaymentTermsState>) => ({ amount: fmt(p.cents), currencyCode: p.order.currency }),
  },
  Refund: {
    totalRefundedSet: (r: Refund, _a, ctx: Ctx) => {
      const o = ctx.shop.orders.get(r.orderId)!;
      const paid = o.money.transactions.filter((t) => r.money.transactionIds.includes(t.id));
      return bag(
        o,
        paid.reduce((n, t) => n + t.cents, 0),
        paid.reduce((n, t) => n + presentment(o.money, t.cents), 0),
      );
    },
    transactions: (r: Refund, args: PageArgs, ctx: Ctx) => {
      const o = ctx.shop.orders.get(r.orderId)!;
      return connection(
        o.money.transactions
          .filter((t) => r.money.transactionIds.includes(t.id))
          .map((t) => transaction(o, t)),
        args,
        ctx,
        (t) => t.id,
      );
    },
    refundShippingLines: (r: Refund, args: PageArgs, ctx: Ctx) => {
      const o = ctx.shop.orders.get(r.orderId)!;
      return connection(
        r.money.shipping.map((s) => withOrder(o, { ...s, id: s.shippingLineId }, "RefundShippingLine")),
        args,
        ctx,
        (s) => s.id,
      );
    },
    orderAdjustments: (r: Refund, args: PageArgs, ctx: Ctx) => {
      const o = ctx.shop.orders.get(r.orderId)!;
      return connection(
        r.money.adjustments.map((a) => withOrder(o, a, "OrderAdjustment")),
        args,
        ctx,
        (a) => a.id,
      );
    },
    duties: () => [],
  },
  RefundLineItem: {
    subtotalSet: (r: { id: number; ref: LineRef }, _a, ctx: Ctx) =>
      bag(r.ref.order, refundLine(ctx, r).subtotalCents),
    totalTaxSet: (r: { id: number; ref: LineRef }, _a, ctx: Ctx) =>
      bag(r.ref.order, refundLine(ctx, r).taxCents),
  },
  RefundShippingLine: {
    id: (s: { id: number }) => gid("RefundShippingLine", s.id),
    shippingLine: (s: WithOrder<{ shippingLineId: number }>) => {
      const sl = s.order.money.shippingLines.find((x) => x.id === s.shippingLineId);
      return sl ? withOrder(s.order, sl, "ShippingLine") : null;
    },
    subtotalAmountSet: (s: WithOrder<{ cents: Cents }>) => bag(s.order, s.cents),
    taxAmountSet: (s: WithOrder<{ taxCents: Cents }>) => bag(s.order, s.taxCents),
  },
  OrderAdjustment: {
    id: (a: { id: number }) => gid("OrderAdjustment", a.id),
    amountSet: (a: WithOrder<{ cents: Cents }>) => bag(a.order, -a.cents),
    taxAmountSet: (a: WithOrder<{ taxCents: Cents }>) => bag(a.order, -a.taxCents),
    reason: () => "REFUND_DISCREPANCY",
  },
};

const FORMATTED: Record<string, string> = {
  shopify_payments: "Shopify Payments",
  gift_card: "Gift card",
  shopify_store_credit: "Store credit",
  manual: "Manual",
};

const cents = (price: string) => toCents(price);

/** A refund line's money (refund lines and their money are written in the same order). */
function refundLine(ctx: Ctx, r: { id?: number }) {
  for (const refund of ctx.shop.refunds.values()) {
    const i = refund.lineItems.findIndex((l) => l.id === r.id);
    if (i >= 0) return refund.money.lines[i] ?? { subtotalCents: 0, taxCents: 0 };
  }
  return { subtotalCents: 0, taxCents: 0 };
}
