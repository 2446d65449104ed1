// GraphQL side of order-flows.ts: fulfillmentOrderLineItemsPreparedForPickup, fulfillmentOrderMove,
// orderCancel, orderClose, returnApproveRequest, returnDeclineRequest, returnCancel, returnProcess,
// reverseFulfillmentOrderDispose, and the reads they need (delivery method, reverse fulfillment
// orders, processed quantities).

import { holdFulfillmentOrder, releaseFulfillmentOrderHold } from "../fulfillment-holds.ts";
import { gid, parseGid } from "../gid.ts";
import {
  approveReturn,
  beginEdit,
  cancelOrderFlow,
  cancelReturn,
  closeOrder,
  commitEdit,
  type DispositionType,
  declineReturn,
  deliveryMethodType,
  dispose,
  editAddVariant,
  editSession,
  editSetQuantity,
  exchangeLinesOf,
  type FlowError,
  flows,
  moveFulfillmentOrder,
  prepareForPickup,
  processedQuantity,
  processReturn,
  type ReverseFulfillmentOrder,
  type ReverseLine,
  returnStatus,
  reverseOf,
} from "../order-flows.ts";
import { ControlError, type FulfillmentOrder, type ReturnRecord } from "../state.ts";
import { type Ctx, connection, type PageArgs, type ResolverMap, tag, userError } from "./kit.ts";

type ExchangeRef = ReturnType<typeof exchangeLinesOf>[number] & { orderId: number };

/** An exchange line's order line item (none before the return is approved), as LineItem resolves. */
function exchangeLineRefs(ctx: Ctx, x: ExchangeRef) {
  const o = ctx.shop.orders.get(x.orderId);
  const li = o?.lineItems.find((l) => l.id === x.lineItemId);
  return o && li ? [tag({ order: o, li }, "LineItem")] : [];
}

const errs = (e: FlowError[]) => e.map((x) => userError(x.message, x.field, x.code));

function returnByGid(ctx: Ctx, id: string): ReturnRecord | undefined {
  const n = parseGid(id, "Return");
  return n === undefined ? undefined : ctx.shop.returns.get(n);
}

const notFound = (field: string[]) => [userError("Return does not exist.", field, "NOT_FOUND")];

interface DisposeArg {
  reverseFulfillmentOrderLineItemId: string;
  quantity: number;
  dispositionType: DispositionType;
  locationId?: string | null;
}

const disposeInput = (d: DisposeArg) => ({
  reverseLineId: parseGid(d.reverseFulfillmentOrderLineItemId, "ReverseFulfillmentOrderLineItem") ?? -1,
  quantity: d.quantity,
  type: d.dispositionType,
  locationId: d.locationId ? (parseGid(d.locationId, "Location") ?? -1) : null,
});

const noSession = userError("The order edit does not exist or was committed.", ["id"]);
/** Later edit mutations name the session by the calculated order's (or the session's) id. */
const sessionOf = (ctx: Ctx, id: string) => {
  const n = parseGid(id, "CalculatedOrder") ?? parseGid(id, "OrderEditSession");
  return n === undefined ? undefined : editSession(ctx.shop, n);
};

/** A hold or release refused as Shopify does: a userError on the fulfillment order's id. */
function asUserErrors(e: unknown) {
  if (!(e instanceof ControlError)) throw e;
  // Shopify's codes (FulfillmentOrderHoldUserErrorCode, …ReleaseHold…): only "not found" has one here.
  const code = e.status === 404 ? "FULFILLMENT_ORDER_NOT_FOUND" : undefined;
  return [
    userError(e.message, e.code === "INVALID_HOLD_REASON" ? ["fulfillmentHold", "reason"] : ["id"], code),
  ];
}

export const orderFlowResolvers: ResolverMap = {
  Mutation: {
    fulfillmentOrderHold: (
      _s,
      args: { id: string; fulfillmentHold: { reason: string; reasonNotes?: string | null } },
      ctx,
    ) => {
      try {
        const fo = holdFulfillmentOrder(ctx.store, ctx.shop, parseGid(args.id, "FulfillmentOrder") ?? -1, {
          reason: args.fulfillmentHold.reason,
          reasonNotes: args.fulfillmentHold.reasonNotes ?? null,
        });
        const hold = fo.holds?.at(-1);
        return {
          fulfillmentHold: hold ? tag(hold, "FulfillmentHold") : null,
          fulfillmentOrder: tag(fo, "FulfillmentOrder"),
          remainingFulfillmentOrder: null,
          userErrors: [],
        };
      } catch (e) {
        return {
          fulfillmentHold: null,
          fulfillmentOrder: null,
          remainingFulfillmentOrder: null,
          userErrors: asUserErrors(e),
        };
      }
    },
    fulfillmentOrderReleaseHold: (_s, args: { id: string }, ctx) => {
      try {
        const fo = releaseFulfillmentOrderHold(
          ctx.store,
          ctx.shop,
          parseGid(args.id, "FulfillmentOrder") ?? -1,
        );
        return { fulfillmentOrder: tag(fo, "FulfillmentOrder"), userErrors: [] };
      } catch (e) {
        return { fulfillmentOrder: null, userErrors: asUserErrors(e) };
      }
    },
    fulfillmentOrderLineItemsPreparedForPickup: (
      _s,
      args: { input: { lineItemsByFulfillmentOrder: { fulfillmentOrderId: string }[] } },
      ctx,
    ) => {
      const ids = args.input.lineItemsByFulfillmentOrder.map(
        (g) => parseGid(g.fulfillmentOrderId, "FulfillmentOrder") ?? -1,
      );
      const r = prepareForPickup(ctx.store, ctx.shop, ids);
      return { userErrors: r.ok ? [] : errs(r.errors) };
    },
    fulfillmentOrderMove: (
      _s,
      args: {
        id: string;
        newLocationId: string;
        fulfillmentOrderLineItems?: { id: string; quantity: number }[] | null;
      },
      ctx,
    ) => {
      const r = moveFulfillmentOrder(
        ctx.store,
        ctx.shop,
        parseGid(args.id, "FulfillmentOrder") ?? -1,
        parseGid(args.newLocationId, "Location") ?? -1,
        args.fulfillmentOrderLineItems
          ? args.fulfillmentOrderLineItems.map((l) => ({
              id: parseGid(l.id, "FulfillmentOrderLineItem") ?? -1,
              quantity: l.quantity,
            }))
          : null,
      );
      if (!r.ok)
        return { movedFulfillmentOrder: null, originalFulfillmentOrder: null, userErrors: errs(r.errors) };
      return {
        movedFulfillmentOrder: r.value.moved,
        originalFulfillmentOrder: r.value.original,
        userErrors: [],
      };
    },
    orderCancel: (
      _s,
      args: {
        orderId: string;
        reason: string;
        restock: boolean;
        refund?: boolean | null;
        notifyCustomer?: boolean | null;
        staffNote?: string | null;
      },
      ctx,
    ) => {
      const n = parseGid(args.orderId, "Order");
      const o = n === undefined ? undefined : ctx.shop.orders.get(n);
      if (!o) {
        const e = [userError("Order does not exist.", ["orderId"], "NOT_FOUND")];
        return { job: null, orderCancelUserErrors: e, userErrors: e };
      }
      const r = cancelOrderFlow(ctx.store, ctx.shop, o, {
        reason: args.reason,
        restock: args.restock,
        refund: args.refund ?? true,
        notifyCustomer: args.notifyCustomer ?? false,
        staffNote: args.staffNote ?? null,
      });
      if (!r.ok) return { job: null, orderCancelUserErrors: errs(r.errors), userErrors: errs(r.errors) };
      // Shopify cancels in a job; the emulator has done it by the time it answers.
      return {
        job: { id: gid("Job", ctx.store.nextId()), done: true },
        orderCancelUserErrors: [],
        userErrors: [],
      };
    },
    orderClose: (_s, args: { input: { id: string } }, ctx) => {
      const n = parseGid(args.input.id, "Order");
      const o = n === undefined ? undefined : ctx.shop.orders.get(n);
      if (!o) return { order: null, userErrors: [userError("Order does not exist.", ["input", "id"])] };
      const r = closeOrder(ctx.store, ctx.shop, o);
      return r.ok ? { order: r.value, userErrors: [] } : { order: o, userErrors: errs(r.errors) };
    },
    returnApproveRequest: (_s, args: { input: { id: string } }, ctx) => {
      const r = returnByGid(ctx, args.input.id);
      if (!r) return { return: null, userErrors: notFound(["input", "id"]) };
      const out = approveReturn(ctx.store, ctx.shop, r);
      return out.ok ? { return: r, userErrors: [] } : { return: r, userErrors: errs(out.errors) };
    },
    returnDeclineRequest: (_s, args: { input: { id: string; declineReason: string } }, ctx) => {
      const r = returnByGid(ctx, args.input.id);
      if (!r) return { return: null, userErrors: notFound(["input", "id"]) };
      const out = declineReturn(ctx.store, ctx.shop, r, args.input.declineReason);
      return out.ok ? { return: r, userErrors: [] } : { return: r, userErrors: errs(out.errors) };
    },
    returnCancel: (_s, args: { id: string }, ctx) => {
      const r = returnByGid(ctx, args.id);
      if (!r) return { return: null, userErrors: notFound(["id"]) };
      const out = cancelReturn(ctx.store, ctx.shop, r);
      return out.ok ? { return: r, userErrors: [] } : { return: r, userErrors: errs(out.errors) };
    },
    returnProcess: (
      _s,
      args: {
        input: {
          returnId: string;
          returnLineItems?: { id: string; quantity: number; dispositions?: DisposeArg[] | null }[] | null;
          financialTransfer?: unknown;
          note?: string | null;
        };
      },
      ctx,
    ) => {
      const r = returnByGid(ctx, args.input.returnId);
      if (!r) return { return: null, userErrors: notFound(["input", "returnId"]) };
      const out = processReturn(ctx.store, ctx.shop, r, {
        lines: (args.input.returnLineItems ?? []).map((l) => ({
          returnLineId: parseGid(l.id, "ReturnLineItem") ?? -1,
          quantity: l.quantity,
          dispositions: (l.dispositions ?? []).map(disposeInput),
        })),
        refund: args.input.financialTransfer != null,
        note: args.input.note ?? null,
      });
      return out.ok ? { return: r, userErrors: [] } : { return: null, userErrors: errs(out.errors) };
    },
    orderEditBegin: (_s, args: { id: string }, ctx) => {
      const n = parseGid(args.id, "Order");
      const o = n === undefined ? undefined : ctx.shop.orders.get(n);
      if (!o)
        return {
          calculatedOrder: null,
          orderEditSession: null,
          userErrors: [userError("Order does not exist.", ["id"])],
        };
      const r = beginEdit(ctx.store, ctx.shop, o);
      if (!r.ok) return { calculatedOrder: null, orderEditSession: null, userErrors: errs(r.errors) };
      return { calculatedOrder: { sid: r.value.id }, orderEditSession: { sid: r.value.id }, userErrors: [] };
    },
    orderEditAddVariant: (
      _s,
      args: { id: string; variantId: string; quantity: number; locationId?: string | null },
      ctx,
    ) => {
      const sess = sessionOf(ctx, args.id);
      if (!sess) return { calculatedLineItem: null, calculatedOrder: null, userErrors: [noSession] };
      const r = editAddVariant(
        ctx.store,
        ctx.shop,
        sess,
        parseGid(args.variantId, "ProductVariant") ?? -1,
        args.quantity,
        args.locationId ? (parseGid(args.locationId, "Location") ?? -1) : null,
      );
      if (!r.ok) return { calculatedLineItem: null, calculatedOrder: null, userErrors: errs(r.errors) };
      return { calculatedLineItem: { lid: r.value }, calculatedOrder: { sid: sess.id }, userErrors: [] };
    },
    orderEditSetQuantity: (
      _s,
      args: { id: string; lineItemId: string; quantity: number; restock?: boolean | null },
      ctx,
    ) => {
      const sess = sessionOf(ctx, args.id);
      if (!sess) return { calculatedLineItem: null, calculatedOrder: null, userErrors: [noSession] };
      const line =
        parseGid(args.lineItemId, "CalculatedLineItem") ?? parseGid(args.lineItemId, "LineItem") ?? -1;
      const r = editSetQuantity(ctx.shop, sess, line, args.quantity, args.restock ?? true);
      if (!r.ok) return { calculatedLineItem: null, calculatedOrder: null, userErrors: errs(r.errors) };
      return { calculatedLineItem: { lid: r.value }, calculatedOrder: { sid: sess.id }, userErrors: [] };
    },
    orderEditCommit: (_s, args: { id: string }, ctx) => {
      const sess = sessionOf(ctx, args.id);
      if (!sess) return { order: null, successMessages: [], userErrors: [noSession] };
      const r = commitEdit(ctx.store, ctx.shop, sess);
      if (!r.ok) return { order: null, successMessages: [], userErrors: errs(r.errors) };
      return { order: r.value, successMessages: ["Order updated"], userErrors: [] };
    },
    reverseFulfillmentOrderDispose: (_s, args: { dispositionInputs: DisposeArg[] }, ctx) => {
      const out = dispose(ctx.store, ctx.shop, args.dispositionInputs.map(disposeInput));
      if (!out.ok) return { reverseFulfillmentOrderLineItems: null, userErrors: errs(out.errors) };
      return { reverseFulfillmentOrderLineItems: out.value, userErrors: [] };
    },
  },
  FulfillmentOrderLineItemsPreparedForPickupPayload: { userErrors: (p) => p.userErrors },
  FulfillmentOrderHoldPayload: {
    fulfillmentHold: (p) => p.fulfillmentHold,
    fulfillmentOrder: (p) => p.fulfillmentOrder,
    remainingFulfillmentOrder: () => null,
    userErrors: (p) => p.userErrors,
  },
  FulfillmentOrderHoldUserError: {
    message: (e) => e.message,
    field: (e) => e.field,
    code: (e) => e.code ?? null,
  },
  FulfillmentOrderReleaseHoldPayload: {
    fulfillmentOrder: (p) => p.fulfillmentOrder,
    userErrors: (p) => p.userErrors,
  },
  FulfillmentOrderReleaseHoldUserError: {
    message: (e) => e.message,
    field: (e) => e.field,
    code: (e) => e.code ?? null,
  },
  FulfillmentOrderMovePayload: {
    movedFulfillmentOrder: (p) => p.movedFulfillmentOrder,
    originalFulfillmentOrder: (p) => p.originalFulfillmentOrder,
    remainingFulfillmentOrder: () => null,
    userErrors: (p) => p.userErrors,
  },
  FulfillmentOrderMoveFulfillmentOrderMoveUserError: {
    message: (e) => e.message,
    field: (e) => e.field,
    code: (e) => e.code ?? null,
  },
  OrderCancelPayload: {
    job: (p) => p.job,
    jobResult: () => null,
    orderCancelUserErrors: (p) => p.orderCancelUserErrors,
    userErrors: (p) => p.userErrors,
  },
  OrderCancelUserError: { message: (e) => e.message, field: (e) => e.field, code: (e) => e.code ?? null },
  Job: { id: (j) => j.id, done: (j) => j.done, query: () => ({}) },
  OrderClosePayload: { order: (p) => p.order, userErrors: (p) => p.userErrors },
  OrderEditBeginPayload: {
    calculatedOrder: (p) => p.calculatedOrder,
    orderEditSession: (p) => p.orderEditSession,
    userErrors: (p) => p.userErrors,
  },
  OrderEditAddVariantPayload: {
    calculatedLineItem: (p) => p.calculatedLineItem,
    calculatedOrder: (p) => p.calculatedOrder,
    orderEditSession: (p) => (p.calculatedOrder ? { sid: p.calculatedOrder.sid } : null),
    userErrors: (p) => p.userErrors,
  },
  OrderEditSetQuantityPayload: {
    calculatedLineItem: (p) => p.calculatedLineItem,
    calculatedOrder: (p) => p.calculatedOrder,
    orderEditSession: (p) => (p.calculatedOrder ? { sid: p.calculatedOrder.sid } : null),
    userErrors: (p) => p.userErrors,
  },
  OrderEditCommitPayload: {
    order: (p) => p.order,
    successMessages: (p) => p.successMessages,
    userErrors: (p) => p.userErrors,
  },
  CalculatedOrder: { id: (c: { sid: number }) => gid("CalculatedOrder", c.sid) },
  OrderEditSession: { id: (c: { sid: number }) => gid("OrderEditSession", c.sid) },
  CalculatedLineItem: { id: (c: { lid: number }) => gid("CalculatedLineItem", c.lid) },
  ReturnApproveRequestPayload: { return: (p) => p.return, userErrors: (p) => p.userErrors },
  ReturnDeclineRequestPayload: { return: (p) => p.return, userErrors: (p) => p.userErrors },
  ReturnCancelPayload: { return: (p) => p.return, userErrors: (p) => p.userErrors },
  ReturnProcessPayload: { return: (p) => p.return, userErrors: (p) => p.userErrors },
  ReverseFulfillmentOrderDisposePayload: {
    reverseFulfillmentOrderLineItems: (p) => p.reverseFulfillmentOrderLineItems,
    userErrors: (p) => p.userErrors,
  },
  FulfillmentOrder: {
    deliveryMethod: (fo: FulfillmentOrder, _a, ctx) => ({
      id: gid("DeliveryMethod", fo.id),
      methodType: deliveryMethodType(ctx.shop, fo),
      presentedName: deliveryMethodType(ctx.shop, fo) === "PICK_UP" ? "Pickup in store" : "Shipping",
    }),
  },
  DeliveryMethod: {
    id: (d) => d.id,
    methodType: (d) => d.methodType,
    presentedName: (d) => d.presentedName,
    serviceCode: () => null,
    sourceReference: () => null,
    minDeliveryDateTime: () => null,
    maxDeliveryDateTime: () => null,
  },
  Return: {
    status: (r: ReturnRecord) => returnStatus(r),
    exchangeLineItems: (r: ReturnRecord, args: PageArgs, ctx) =>
      connection(
        exchangeLinesOf(ctx.shop, r).map((x) => tag({ ...x, orderId: r.orderId }, "ExchangeLineItem")),
        args,
        ctx,
        (x) => x.id,
      ),
    reverseFulfillmentOrders: (r: ReturnRecord, args: PageArgs, ctx) => {
      const rfo = reverseOf(ctx.store, ctx.shop, r);
      return connection(rfo ? [rfo] : [], args, ctx, (x) => x.id);
    },
  },
  ExchangeLineItem: {
    id: (x: ExchangeRef) => gid("ExchangeLineItem", x.id),
    quantity: (x: ExchangeRef) => x.quantity,
    variantSku: (x: ExchangeRef) => x.sku,
    // Processing an exchange (fulfilling its new line) is the order's business, not tracked here.
    processedQuantity: () => 0,
    processableQuantity: (x: ExchangeRef) => x.quantity,
    unprocessedQuantity: (x: ExchangeRef) => x.quantity,
    lineItems: (x: ExchangeRef, _a, ctx) => exchangeLineRefs(ctx, x),
    lineItem: (x: ExchangeRef, _a, ctx) => exchangeLineRefs(ctx, x)[0] ?? null,
  },
  ReturnLineItem: {
    processedQuantity: (l: ReturnRecord["lines"][number], _a, ctx) => {
      for (const r of ctx.shop.returns.values())
        if (r.lines.includes(l) || r.lines.some((x) => x.id === l.id))
          return processedQuantity(ctx.shop, r, l.id);
      return 0;
    },
    unprocessedQuantity: (l: ReturnRecord["lines"][number], _a, ctx) => {
      for (const r of ctx.shop.returns.values())
        if (r.lines.some((x) => x.id === l.id)) return l.quantity - processedQuantity(ctx.shop, r, l.id);
      return l.quantity;
    },
    processableQuantity: (l: ReturnRecord["lines"][number], _a, ctx) => {
      for (const r of ctx.shop.returns.values())
        if (r.lines.some((x) => x.id === l.id)) return l.quantity - processedQuantity(ctx.shop, r, l.id);
      return l.quantity;
    },
  },
  ReverseFulfillmentOrder: {
    id: (r: ReverseFulfillmentOrder) => gid("ReverseFulfillmentOrder", r.id),
    status: (r: ReverseFulfillmentOrder) => r.status,
    order: (r: ReverseFulfillmentOrder, _a, ctx) => ctx.shop.orders.get(r.orderId) ?? null,
    thirdPartyConfirmation: () => null,
    lineItems: (r: ReverseFulfillmentOrder, args: PageArgs, ctx) =>
      connection(
        r.lines.map((l) => tag(l, "ReverseFulfillmentOrderLineItem")),
        args,
        ctx,
        (l) => l.id,
      ),
  },
  ReverseFulfillmentOrderLineItem: {
    id: (l: ReverseLine) => gid("ReverseFulfillmentOrderLineItem", l.id),
    totalQuantity: (l: ReverseLine) => l.totalQuantity,
    dispositions: (l: ReverseLine) =>
      l.dispositions.map((d) => tag({ ...d }, "ReverseFulfillmentOrderDisposition")),
    fulfillmentLineItem: (l: ReverseLine, _a, ctx) => {
      for (const f of ctx.shop.fulfillments.values()) {
        const fl = f.lineItems.find((x) => x.id === l.fulfillmentLineItemId);
        if (!fl) continue;
        const o = ctx.shop.orders.get(f.orderId)!;
        const li = o.lineItems.find((x) => x.id === fl.lineItemId)!;
        return tag({ ...fl, ref: tag({ order: o, li }, "LineItem") }, "FulfillmentLineItem");
      }
      return null;
    },
  },
  ReverseFulfillmentOrderDisposition: {
    id: (d: { id: number }) => gid("ReverseFulfillmentOrderDisposition", d.id),
    quantity: (d: { quantity: number }) => d.quantity,
    type: (d: { type: string }) => d.type,
    createdAt: (d: { createdAt: string }) => d.createdAt,
    location: (d: { locationId: number | null }, _a, ctx) =>
      d.locationId === null ? null : (ctx.shop.locations.get(d.locationId) ?? null),
  },
};

export { flows };
