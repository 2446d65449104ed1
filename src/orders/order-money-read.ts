/**
 * Reads an order's money and transactions through the Admin GraphQL API (the backfill calls it
 * for every order it reads), giving the same document as a webhook body (money.ts).
 */
import { graphql } from "../shopify/graphql.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import {
  type Amount,
  canonical,
  type DiscountAllocation,
  type MoneyParse,
  type OrderMoney,
  sourceKind,
  type TaxLine,
  type Transaction,
} from "./money.ts";

export const ORDER_MONEY_QUERY = graphql`
  query TillbridgeOrderMoney($id: ID!) {
    order(id: $id) {
      id
      currencyCode
      presentmentCurrencyCode
      taxesIncluded
      sourceName
      note
      customerLocale
      paymentGatewayNames
      discountCodes
      customAttributes {
        key
        value
      }
      retailLocation {
        id
      }
      staffMember {
        id
      }
      purchasingEntity {
        __typename
        ... on PurchasingCompany {
          company {
            id
          }
          location {
            id
          }
        }
      }
      paymentTerms {
        paymentTermsName
        paymentTermsType
        dueInDays
        paymentSchedules(first: 1) {
          nodes {
            dueAt
            completedAt
          }
        }
      }
      subtotalPriceSet {
        ...Bag
      }
      totalDiscountsSet {
        ...Bag
      }
      totalShippingPriceSet {
        ...Bag
      }
      totalTaxSet {
        ...Bag
      }
      currentTotalDutiesSet {
        ...Bag
      }
      totalPriceSet {
        ...Bag
      }
      taxLines {
        ...Tax
      }
      discountApplications(first: 10) {
        nodes {
          __typename
          index
          allocationMethod
          targetType
          value {
            __typename
            ... on MoneyV2 {
              amount
            }
            ... on PricingPercentageValue {
              percentage
            }
          }
          ... on DiscountCodeApplication {
            code
          }
          ... on AutomaticDiscountApplication {
            title
          }
          ... on ManualDiscountApplication {
            title
          }
          ... on ScriptDiscountApplication {
            title
          }
        }
      }
      shippingLines(first: 5) {
        nodes {
          title
          code
          carrierIdentifier
          source
          originalPriceSet {
            ...Bag
          }
          taxLines {
            ...Tax
          }
          discountAllocations {
            ...Allocation
          }
        }
      }
      lineItems(first: 20) {
        nodes {
          id
          quantity
          isGiftCard
          variant {
            id
          }
          originalUnitPriceSet {
            ...Bag
          }
          customAttributes {
            key
            value
          }
          taxLines {
            ...Tax
          }
          discountAllocations {
            ...Allocation
          }
          duties {
            harmonizedSystemCode
            countryCodeOfOrigin
            price {
              ...Bag
            }
          }
        }
      }
      transactions(first: 10) {
        ...Txn
      }
      refunds(first: 2) {
        id
        createdAt
        note
        refundLineItems(first: 10) {
          nodes {
            quantity
            lineItem {
              id
            }
            subtotalSet {
              ...Bag
            }
            totalTaxSet {
              ...Bag
            }
          }
        }
        refundShippingLines(first: 3) {
          nodes {
            subtotalAmountSet {
              ...Bag
            }
            taxAmountSet {
              ...Bag
            }
          }
        }
        orderAdjustments(first: 3) {
          nodes {
            reason
            amountSet {
              ...Bag
            }
            taxAmountSet {
              ...Bag
            }
          }
        }
        transactions(first: 5) {
          nodes {
            ...Txn
          }
        }
      }
    }
  }

  fragment Bag on MoneyBag {
    shopMoney {
      amount
    }
    presentmentMoney {
      amount
    }
  }

  fragment Tax on TaxLine {
    title
    rate
    priceSet {
      ...Bag
    }
  }

  fragment Allocation on DiscountAllocation {
    allocatedAmountSet {
      ...Bag
    }
    discountApplication {
      index
    }
  }

  fragment Txn on OrderTransaction {
    id
    kind
    status
    gateway
    authorizationCode
    processedAt
    createdAt
    parentTransaction {
      id
    }
    amountSet {
      ...Bag
    }
  }
`;

interface Bag {
  shopMoney: { amount: string };
  presentmentMoney: { amount: string };
}
interface GqlTax {
  title: string;
  rate: number | null;
  priceSet: Bag;
}
interface GqlAlloc {
  allocatedAmountSet: Bag;
  discountApplication: { index: number };
}
interface GqlTxn {
  id: string;
  kind: string;
  status: string;
  gateway: string | null;
  authorizationCode: string | null;
  processedAt: string | null;
  createdAt: string;
  parentTransaction: { id: string } | null;
  amountSet: Bag;
}

export interface GraphqlMoneyNode {
  id: string;
  currencyCode: string;
  presentmentCurrencyCode: string;
  taxesIncluded: boolean;
  sourceName: string | null;
  note: string | null;
  customerLocale: string | null;
  paymentGatewayNames: string[];
  discountCodes: string[];
  customAttributes: { key: string; value: string | null }[];
  retailLocation: { id: string } | null;
  staffMember: { id: string } | null;
  purchasingEntity: { __typename: string; company?: { id: string }; location?: { id: string } } | null;
  paymentTerms: {
    paymentTermsName: string;
    paymentTermsType: string;
    dueInDays: number | null;
    paymentSchedules: { nodes: { dueAt: string | null; completedAt: string | null }[] };
  } | null;
  subtotalPriceSet: Bag | null;
  totalDiscountsSet: Bag | null;
  totalShippingPriceSet: Bag;
  totalTaxSet: Bag | null;
  currentTotalDutiesSet: Bag | null;
  totalPriceSet: Bag;
  taxLines: GqlTax[];
  discountApplications: {
    nodes: {
      __typename: string;
      index: number;
      allocationMethod: string;
      targetType: string;
      value: { __typename: string; amount?: string; percentage?: number };
      code?: string;
      title?: string;
    }[];
  };
  shippingLines: {
    nodes: {
      title: string;
      code: string | null;
      carrierIdentifier: string | null;
      source: string | null;
      originalPriceSet: Bag;
      taxLines: GqlTax[];
      discountAllocations: GqlAlloc[];
    }[];
  };
  lineItems: {
    nodes: {
      id: string;
      quantity: number;
      isGiftCard: boolean;
      variant: { id: string } | null;
      originalUnitPriceSet: Bag;
      customAttributes: { key: string; value: string | null }[];
      taxLines: GqlTax[];
      discountAllocations: GqlAlloc[];
      duties: { harmonizedSystemCode: string | null; countryCodeOfOrigin: string | null; price: Bag }[];
    }[];
  };
  transactions: GqlTxn[];
  refunds: {
    id: string;
    createdAt: string | null;
    note: string | null;
    refundLineItems: {
      nodes: { quantity: number; lineItem: { id: string }; subtotalSet: Bag; totalTaxSet: Bag }[];
    };
    refundShippingLines: { nodes: { subtotalAmountSet: Bag; taxAmountSet: Bag }[] };
    orderAdjustments: { nodes: { reason: string | null; amountSet: Bag; taxAmountSet: Bag }[] };
    transactions: { nodes: GqlTxn[] };
  }[];
}

const amount = (b: Bag | null | undefined): Amount => ({
  shop: canonical(b?.shopMoney.amount),
  presentment: canonical(b?.presentmentMoney.amount ?? b?.shopMoney.amount),
});
const time = (iso: string | null | undefined) => (iso ? Date.parse(iso) : null);
const taxes = (ts: GqlTax[]): TaxLine[] =>
  ts.map((t) => ({ title: t.title, rate: String(t.rate ?? 0), amount: amount(t.priceSet) }));
const allocs = (as: GqlAlloc[]): DiscountAllocation[] =>
  as.map((a) => ({ application: a.discountApplication.index, amount: amount(a.allocatedAmountSet) }));

const APPLICATION_TYPE: Record<string, "discount_code" | "automatic" | "manual" | "script"> = {
  DiscountCodeApplication: "discount_code",
  AutomaticDiscountApplication: "automatic",
  ManualDiscountApplication: "manual",
  ScriptDiscountApplication: "script",
};

export function transactionFromGraphql(t: GqlTxn): Transaction {
  return {
    gid: t.id,
    kind: t.kind.toLowerCase(),
    status: t.status.toLowerCase(),
    gateway: t.gateway,
    amount: amount(t.amountSet),
    authorization: t.authorizationCode,
    parentGid: t.parentTransaction?.id ?? null,
    processedAt: time(t.processedAt ?? t.createdAt),
  };
}

export function moneyFromGraphql(n: GraphqlMoneyNode): MoneyParse {
  try {
    const company = n.purchasingEntity?.__typename === "PurchasingCompany" ? n.purchasingEntity : null;
    const terms = n.paymentTerms;
    const money: OrderMoney = {
      currency: n.currencyCode,
      presentmentCurrency: n.presentmentCurrencyCode,
      taxesIncluded: n.taxesIncluded,
      lines: n.lineItems.nodes.map((li) => ({
        gid: li.id,
        variantGid: li.variant?.id ?? null,
        quantity: li.quantity,
        unitPrice: amount(li.originalUnitPriceSet),
        giftCard: li.isGiftCard,
        properties: li.customAttributes.map((a) => ({ name: a.key, value: a.value ?? "" })),
        taxLines: taxes(li.taxLines),
        discountAllocations: allocs(li.discountAllocations),
        duties: li.duties.map((d) => ({
          amount: amount(d.price),
          harmonizedSystemCode: d.harmonizedSystemCode,
          countryOfOrigin: d.countryCodeOfOrigin,
        })),
      })),
      shippingLines: n.shippingLines.nodes.map((s) => ({
        title: s.title,
        code: s.code,
        carrierIdentifier: s.carrierIdentifier,
        source: s.source,
        price: amount(s.originalPriceSet),
        taxLines: taxes(s.taxLines),
        discountAllocations: allocs(s.discountAllocations),
      })),
      discountApplications: n.discountApplications.nodes.map((a) => {
        const type = APPLICATION_TYPE[a.__typename] ?? "manual";
        const pct = a.value.__typename === "PricingPercentageValue";
        return {
          index: a.index,
          type,
          code: a.code ?? null,
          title: type === "discount_code" ? null : (a.title ?? null),
          valueType: pct ? "percentage" : "fixed_amount",
          value: pct ? String(a.value.percentage ?? 0) : canonical(a.value.amount),
          allocationMethod: a.allocationMethod.toLowerCase(),
          targetType: a.targetType.toLowerCase(),
        };
      }),
      discountCodes: n.discountCodes,
      taxLines: taxes(n.taxLines),
      totals: {
        subtotal: amount(n.subtotalPriceSet),
        discounts: amount(n.totalDiscountsSet),
        shipping: amount(n.totalShippingPriceSet),
        tax: amount(n.totalTaxSet),
        duties: amount(n.currentTotalDutiesSet),
        total: amount(n.totalPriceSet),
      },
      source: {
        kind: sourceKind(n.sourceName, company !== null),
        name: n.sourceName,
        locationGid: n.retailLocation?.id ?? null,
        staffMemberGid: n.staffMember?.id ?? null,
        companyGid: company?.company?.id ?? null,
        companyLocationGid: company?.location?.id ?? null,
        paymentTerms: terms
          ? {
              name: terms.paymentTermsName,
              type: terms.paymentTermsType.toLowerCase(),
              dueInDays: terms.dueInDays,
              dueAt: time(terms.paymentSchedules.nodes[0]?.dueAt),
              completedAt: time(terms.paymentSchedules.nodes[0]?.completedAt),
            }
          : null,
      },
      paymentGateways: n.paymentGatewayNames,
      note: n.note,
      noteAttributes: n.customAttributes.map((a) => ({ name: a.key, value: a.value ?? "" })),
      customerLocale: n.customerLocale,
      refunds: n.refunds.map((r) => ({
        gid: r.id,
        createdAt: time(r.createdAt),
        note: r.note,
        lines: r.refundLineItems.nodes.map((l) => ({
          lineGid: l.lineItem.id,
          quantity: l.quantity,
          subtotal: amount(l.subtotalSet),
          tax: amount(l.totalTaxSet),
        })),
        shipping: r.refundShippingLines.nodes.map((s) => ({
          subtotal: amount(s.subtotalAmountSet),
          tax: amount(s.taxAmountSet),
        })),
        adjustments: r.orderAdjustments.nodes.map((a) => ({
          amount: amount(a.amountSet),
          tax: amount(a.taxAmountSet),
          reason: a.reason ? a.reason.toLowerCase() : null,
        })),
        transactions: r.transactions.nodes.map(transactionFromGraphql),
      })),
    };
    return { ok: true, money };
  } catch (e) {
    return { ok: false, reason: `order money unreadable: ${(e as Error).message}` };
  }
}

/** The money and the transactions of one order, read now. */
export async function readOrderMoney(
  transport: AdminTransport,
  orderGid: string,
): Promise<{ money: MoneyParse; transactions: Transaction[] } | null> {
  const { data } = await transport.graphql<{ order: GraphqlMoneyNode | null }>(
    ORDER_MONEY_QUERY,
    { id: orderGid },
    { estimatedCost: 870 },
  );
  if (!data.order) return null;
  return {
    money: moneyFromGraphql(data.order),
    transactions: data.order.transactions.map(transactionFromGraphql),
  };
}
