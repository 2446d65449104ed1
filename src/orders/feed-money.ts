/**
 * The money part of the order document the back office reads (feed, detail, outbound webhook):
 * Shopify's money (money.ts) with the store's mapped codes beside each value and the payment
 * transactions. Pure: the caller loads the mappings and the transactions.
 */
import { type OrderMappings, type Place, shippingCodeOf, taxCodeOf } from "./mapping.ts";
import { type Amount, addAmounts, type OrderMoney, type TaxLine, type Transaction } from "./money.ts";

/** The version of the order document; raised on any change a back office must adapt to. */
export const ORDER_DOCUMENT_VERSION = 2;

export type PaymentMethodKind = "card" | "gift_card" | "store_credit" | "other";

export function methodKind(gateway: string | null): PaymentMethodKind {
  if (gateway === "gift_card") return "gift_card";
  if (gateway === "shopify_store_credit" || gateway === "store_credit") return "store_credit";
  if (gateway === "shopify_payments" || gateway === "bogus" || gateway === "stripe") return "card";
  return "other";
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function feedMoney(
  money: OrderMoney,
  lines: readonly { shopifyLineId: string; sku: string | null }[],
  mappings: OrderMappings,
  place: Place,
  transactions: readonly Transaction[],
) {
  const sku = new Map(lines.map((l) => [l.shopifyLineId, l.sku]));
  const tax = (t: TaxLine) => ({ ...t, taxCode: taxCodeOf(mappings, t, place) ?? null });
  const method = (g: string | null) =>
    g === null || mappings.paymentGateways === null ? null : (mappings.paymentGateways[g] ?? null);
  const txn = (t: Transaction) => ({
    id: t.gid,
    kind: t.kind,
    status: t.status,
    gateway: t.gateway,
    method: methodKind(t.gateway),
    paymentMethod: method(t.gateway),
    amount: t.amount,
    authorization: t.authorization,
    parentId: t.parentGid,
    processedAt: iso(t.processedAt),
  });
  const loc = money.source.locationGid;
  const received = (kinds: string[]) =>
    addAmounts(
      transactions.filter((t) => t.status === "success" && kinds.includes(t.kind)).map((t) => t.amount),
    );
  return {
    currency: money.currency,
    presentmentCurrency: money.presentmentCurrency,
    taxesIncluded: money.taxesIncluded,
    lines: money.lines.map((l) => ({
      shopifyLineId: l.gid,
      sku: sku.get(l.gid) ?? null,
      shopifyVariantId: l.variantGid,
      quantity: l.quantity,
      unitPrice: l.unitPrice,
      giftCard: l.giftCard,
      properties: l.properties,
      discountAllocations: l.discountAllocations,
      taxLines: l.taxLines.map(tax),
      duties: l.duties,
    })),
    shippingLines: money.shippingLines.map((s) => {
      const codes = shippingCodeOf(mappings, s) ?? null;
      return {
        ...s,
        taxLines: s.taxLines.map(tax),
        carrierCode: codes?.carrier ?? null,
        serviceCode: codes?.service ?? null,
      };
    }),
    discountApplications: money.discountApplications,
    discountCodes: money.discountCodes,
    taxLines: money.taxLines.map(tax),
    totals: money.totals,
    source: {
      kind: money.source.kind,
      name: money.source.name,
      locationId: loc,
      staffMemberId: money.source.staffMemberGid,
      companyId: money.source.companyGid,
      companyLocationId: money.source.companyLocationGid,
      paymentTerms: money.source.paymentTerms
        ? {
            ...money.source.paymentTerms,
            dueAt: iso(money.source.paymentTerms.dueAt),
            completedAt: iso(money.source.paymentTerms.completedAt),
          }
        : null,
      salesChannel: mappings.sources?.[money.source.kind] ?? null,
      branch: money.source.kind === "pos" && loc !== null ? (mappings.posLocations?.[loc] ?? null) : null,
    },
    payments: {
      gateways: money.paymentGateways.map((g) => ({
        gateway: g,
        method: methodKind(g),
        paymentMethod: method(g),
      })),
      transactions: transactions.map(txn),
      received: received(["sale", "capture"]),
      refunded: received(["refund"]),
    },
    note: money.note,
    noteAttributes: money.noteAttributes,
    customerLocale: money.customerLocale,
    refunds: money.refunds.map((r) => ({
      id: r.gid,
      createdAt: iso(r.createdAt),
      note: r.note,
      lines: r.lines
        .map((l) => ({ ...l, shopifyLineId: l.lineGid, lineGid: undefined }))
        .map(({ lineGid: _x, ...l }) => l),
      shipping: r.shipping,
      adjustments: r.adjustments,
      transactions: r.transactions.map(txn),
      total: addAmounts(r.transactions.filter((t) => t.status === "success").map((t) => t.amount)) as Amount,
    })),
  };
}

export type FeedMoney = ReturnType<typeof feedMoney>;
