// Returns, minimally: returnCreate (an approved, OPEN return of fulfilled units), returnClose, reads.
// Restocking and money stay with refundCreate (restockType RETURN), as the hub drives them.
import { gid, parseGid } from "../gid.ts";
import type { Fulfillment, Order, ReturnRecord, Shop } from "../state.ts";
import { type Ctx, connection, type PageArgs, type ResolverMap, tag, userError } from "./kit.ts";

function findFulfillmentLine(
  shop: Shop,
  order: Order,
  id: number,
): { f: Fulfillment; lineItemId: number; quantity: number } | undefined {
  for (const f of shop.fulfillments.values()) {
    if (f.orderId !== order.id || f.status === "CANCELLED") continue;
    const l = f.lineItems.find((x) => x.id === id);
    if (l) return { f, lineItemId: l.lineItemId, quantity: l.quantity };
  }
  return undefined;
}

function returnedQuantity(shop: Shop, fulfillmentLineItemId: number): number {
  let n = 0;
  for (const r of shop.returns.values()) {
    if (r.status === "CANCELED") continue;
    for (const l of r.lines) if (l.fulfillmentLineItemId === fulfillmentLineItemId) n += l.quantity;
  }
  return n;
}

function returnPayload(r: ReturnRecord) {
  return {
    id: r.id,
    admin_graphql_api_id: gid("Return", r.id),
    order_id: r.orderId,
    name: r.name,
    status: r.status.toLowerCase(),
    return_line_items: r.lines.map((l) => ({
      id: l.id,
      admin_graphql_api_id: gid("ReturnLineItem", l.id),
      fulfillment_line_item: { id: l.fulfillmentLineItemId, line_item: { id: l.lineItemId } },
      quantity: l.quantity,
      return_reason: l.returnReason.toLowerCase(),
      return_reason_note: l.returnReasonNote,
      customer_note: l.customerNote,
    })),
  };
}

interface ReturnCreateArgs {
  returnInput: {
    orderId: string;
    returnLineItems: {
      fulfillmentLineItemId: string;
      quantity: number;
      returnReason?: string | null;
      returnReasonNote?: string | null;
    }[];
  };
}

function returnCreate(ctx: Ctx, args: ReturnCreateArgs) {
  const { shop } = ctx;
  const oid = parseGid(args.returnInput.orderId, "Order");
  const order = oid === undefined ? undefined : shop.orders.get(oid);
  if (!order)
    return {
      return: null,
      userErrors: [userError("Order does not exist.", ["returnInput", "orderId"], "NOT_FOUND")],
    };
  const errors: ReturnType<typeof userError>[] = [];
  const lines: ReturnRecord["lines"] = [];
  args.returnInput.returnLineItems.forEach((l, i) => {
    const path = ["returnInput", "returnLineItems", String(i)];
    const fid = parseGid(l.fulfillmentLineItemId, "FulfillmentLineItem");
    const found = fid === undefined ? undefined : findFulfillmentLine(shop, order, fid);
    if (!found || fid === undefined) {
      errors.push(
        userError("Fulfillment line item does not exist.", [...path, "fulfillmentLineItemId"], "NOT_FOUND"),
      );
      return;
    }
    const left =
      found.quantity -
      returnedQuantity(shop, fid) -
      lines.filter((x) => x.fulfillmentLineItemId === fid).reduce((n, x) => n + x.quantity, 0);
    if (l.quantity <= 0 || l.quantity > left) {
      errors.push(
        userError(`Quantity must be between 1 and ${left}.`, [...path, "quantity"], "LESS_THAN_OR_EQUAL_TO"),
      );
      return;
    }
    lines.push({
      id: ctx.store.nextId(),
      fulfillmentLineItemId: fid,
      lineItemId: found.lineItemId,
      quantity: l.quantity,
      returnReason: l.returnReason ?? "UNKNOWN",
      returnReasonNote: l.returnReasonNote ?? "",
      customerNote: null,
    });
  });
  if (errors.length) return { return: null, userErrors: errors };
  const count = [...shop.returns.values()].filter((r) => r.orderId === order.id).length;
  const r: ReturnRecord = {
    id: ctx.store.nextId(),
    orderId: order.id,
    name: `${order.name}-R${count + 1}`,
    status: "OPEN",
    lines,
    createdAt: ctx.now,
    closedAt: null,
  };
  shop.returns.set(r.id, r);
  ctx.store.emit(shop, "returns/approve", returnPayload(r));
  return { return: r, userErrors: [] };
}

export const returnResolvers: ResolverMap = {
  QueryRoot: {
    return: (_s, args: { id: string }, ctx) => {
      const n = parseGid(args.id, "Return");
      return n === undefined ? null : (ctx.shop.returns.get(n) ?? null);
    },
  },
  Mutation: {
    returnCreate: (_s, args: ReturnCreateArgs, ctx) => returnCreate(ctx, args),
    returnClose: (_s, args: { id: string }, ctx) => {
      const n = parseGid(args.id, "Return");
      const r = n === undefined ? undefined : ctx.shop.returns.get(n);
      if (!r) return { return: null, userErrors: [userError("Return does not exist.", ["id"], "NOT_FOUND")] };
      if (r.status !== "OPEN")
        return { return: r, userErrors: [userError("Return is not open.", ["id"], "INVALID_STATE")] };
      r.status = "CLOSED";
      r.closedAt = ctx.now;
      ctx.store.emit(ctx.shop, "returns/close", returnPayload(r));
      return { return: r, userErrors: [] };
    },
  },
  ReturnCreatePayload: { return: (p) => p.return, userErrors: (p) => p.userErrors },
  ReturnClosePayload: { return: (p) => p.return, userErrors: (p) => p.userErrors },
  Order: {
    returns: (o: Order, args: PageArgs, ctx) =>
      connection(
        [...ctx.shop.returns.values()].filter((r) => r.orderId === o.id),
        args,
        ctx,
        (r) => r.id,
      ),
  },
  Return: {
    id: (r: ReturnRecord) => gid("Return", r.id),
    name: (r: ReturnRecord) => r.name,
    status: (r: ReturnRecord) => r.status,
    createdAt: (r: ReturnRecord) => r.createdAt,
    closedAt: (r: ReturnRecord) => r.closedAt,
    totalQuantity: (r: ReturnRecord) => r.lines.reduce((n, l) => n + l.quantity, 0),
    order: (r: ReturnRecord, _a, ctx) => ctx.shop.orders.get(r.orderId) ?? null,
    returnLineItems: (r: ReturnRecord, args: PageArgs, ctx) =>
      connection(
        r.lines.map((l) => tag({ ...l }, "ReturnLineItem")),
        args,
        ctx,
        (l) => l.id,
      ),
  },
  ReturnLineItem: {
    id: (l: ReturnRecord["lines"][number]) => gid("ReturnLineItem", l.id),
    quantity: (l: ReturnRecord["lines"][number]) => l.quantity,
    processedQuantity: () => 0,
    processableQuantity: (l: ReturnRecord["lines"][number]) => l.quantity,
    unprocessedQuantity: (l: ReturnRecord["lines"][number]) => l.quantity,
    refundableQuantity: (l: ReturnRecord["lines"][number]) => l.quantity,
    refundedQuantity: () => 0,
    returnReason: (l: ReturnRecord["lines"][number]) => l.returnReason,
    returnReasonNote: (l: ReturnRecord["lines"][number]) => l.returnReasonNote,
    customerNote: (l: ReturnRecord["lines"][number]) => l.customerNote,
    fulfillmentLineItem: (l: ReturnRecord["lines"][number], _a, ctx) => {
      for (const f of ctx.shop.fulfillments.values()) {
        const fl = f.lineItems.find((x) => x.id === l.fulfillmentLineItemId);
        if (fl) {
          const o = ctx.shop.orders.get(f.orderId)!;
          const li = o.lineItems.find((x) => x.id === fl.lineItemId)!;
          return tag({ ...fl, ref: tag({ order: o, li }, "LineItem") }, "FulfillmentLineItem");
        }
      }
      return null;
    },
  },
};
