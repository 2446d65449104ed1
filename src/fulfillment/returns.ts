/**
 * Shopify returns and exchanges, and what the back office received of them.
 *
 * - `returns/request|approve|decline|process|close|cancel` are imported into `order_returns` with
 *   their lines and reasons (a status only moves forward: webhooks come in any order) and the
 *   order goes to the feed again. Exchange lines are new order lines: the order's own import
 *   reserves them and the back office ships them like any line.
 * - The back office reports a receipt (`POST /returns/:id/receipts`): per return line, how many
 *   came back and in which condition. Restocked units become one `return` movement per line at the
 *   warehouse it names, never more than left through the ledger for that order line minus what
 *   refunds and earlier receipts restocked (the refund path counts receipts the same way, so a
 *   unit is restocked once whichever arrives first). Damaged or missing units change nothing in
 *   the ledger. The receipt's movements, the receipt and the `returnProcess` action that tells
 *   Shopify (with RESTOCKED / NOT_RESTOCKED / MISSING dispositions) commit together.
 * - Shopify's dispositions (`reverse_fulfillment_orders/dispose`, or read after the hub's own
 *   `returnProcess`) are recorded once each: a RESTOCKED one raised Shopify's on_hand at its
 *   location by itself, so the delta baseline follows and the push looks again (where the ledger
 *   did not take the units back, the hub's value is sent: docs/STOCK-MODEL.md).
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { type AppContext, stockChanged } from "../core/context.ts";
import { AppError, type ErrorDetail } from "../core/errors.ts";
import { key } from "../core/input.ts";
import type { Db } from "../db/database.ts";
import { ingestMovements, type Trx } from "../inventory/ledger-store.ts";
import { followShopifyChange, markStoreDirtyFor } from "../inventory/push/push-store.ts";
import { drainInbox, type InboxRunResult, markInboxDone, storeDelivery } from "../orders/inbox.ts";
import { lockOrders } from "../orders/intake.ts";
import { bumpFeed } from "./fulfillment-orders.ts";
import { enqueueAction, type ReturnProcessAction, type ReturnState } from "./order-actions.ts";
import type { ReturnStatus } from "./order-ops-tables.ts";
import type { RestockLine } from "./refunds.ts";

export const RETURN_TOPICS = [
  "returns/request",
  "returns/approve",
  "returns/decline",
  "returns/process",
  "returns/close",
  "returns/cancel",
  "reverse_fulfillment_orders/dispose",
] as const;
export const RETURN_SUBSCRIPTIONS = RETURN_TOPICS.map((t) => t.toUpperCase().replace("/", "_"));

export interface ShopifyReturnLine {
  readonly gid: string;
  readonly fulfillmentLineItemGid: string | null;
  readonly lineGid: string | null;
  readonly quantity: number;
  readonly processed: number;
  readonly reason: string | null;
  readonly reasonNote: string | null;
  readonly customerNote: string | null;
}

export interface ShopifyReturn {
  readonly gid: string;
  readonly orderGid: string;
  readonly name: string | null;
  readonly status: ReturnStatus;
  readonly lines: readonly ShopifyReturnLine[];
  readonly exchangeLines: readonly { lineGid: string; quantity: number }[];
}

const RANK: Record<ReturnStatus, number> = { requested: 0, open: 1, declined: 2, canceled: 2, closed: 2 };
const TOPIC_STATUS: Record<string, ReturnStatus> = {
  "returns/request": "requested",
  "returns/approve": "open",
  "returns/decline": "declined",
  "returns/close": "closed",
  "returns/cancel": "canceled",
  "returns/process": "open",
};

const idish = z.union([z.number(), z.string()]);
const ref = z.object({ id: idish.optional(), admin_graphql_api_id: z.string().optional() }).passthrough();
const gidOf = (type: string, r: { id?: string | number; admin_graphql_api_id?: string } | null | undefined) =>
  r?.admin_graphql_api_id ?? (r?.id === undefined ? null : `gid://shopify/${type}/${r.id}`);

const restReturn = z
  .object({
    id: idish,
    admin_graphql_api_id: z.string().optional(),
    name: z.string().nullish(),
    status: z.string().nullish(),
    order_id: idish.nullish(),
    order: ref.nullish(),
    return_line_items: z
      .array(
        z
          .object({
            id: idish,
            admin_graphql_api_id: z.string().optional(),
            quantity: z.number().int().nonnegative(),
            processed_quantity: z.number().int().nonnegative().nullish(),
            return_reason: z.string().nullish(),
            return_reason_note: z.string().nullish(),
            customer_note: z.string().nullish(),
            fulfillment_line_item: ref.extend({ line_item: ref.nullish() }).nullish(),
          })
          .passthrough(),
      )
      .default([]),
    exchange_line_items: z
      .array(z.object({ line_item: ref.nullish(), quantity: z.number().int().nullish() }).passthrough())
      .default([]),
  })
  .passthrough();

/** The REST payload of a `returns/*` webhook. */
export function fromReturnWebhook(
  topic: string,
  body: unknown,
): { ok: true; value: ShopifyReturn } | { ok: false; reason: string } {
  const r = restReturn.safeParse(body);
  if (!r.success) {
    const first = r.error.issues[0];
    return { ok: false, reason: `not a return payload: ${first?.path.join(".")} ${first?.message}` };
  }
  const b = r.data;
  const orderGid =
    gidOf("Order", b.order) ?? (b.order_id == null ? null : `gid://shopify/Order/${b.order_id}`);
  if (orderGid === null) return { ok: false, reason: "return payload without its order" };
  const given = (b.status ?? "").toLowerCase();
  const status = (given in RANK ? given : TOPIC_STATUS[topic]) as ReturnStatus | undefined;
  if (!status) return { ok: false, reason: `unknown return status ${b.status}` };
  return {
    ok: true,
    value: {
      gid: b.admin_graphql_api_id ?? `gid://shopify/Return/${b.id}`,
      orderGid,
      name: b.name ?? null,
      status,
      lines: b.return_line_items.map((l) => ({
        gid: l.admin_graphql_api_id ?? `gid://shopify/ReturnLineItem/${l.id}`,
        fulfillmentLineItemGid: gidOf("FulfillmentLineItem", l.fulfillment_line_item),
        lineGid: gidOf("LineItem", l.fulfillment_line_item?.line_item),
        quantity: l.quantity,
        processed: l.processed_quantity ?? 0,
        reason: l.return_reason ?? null,
        reasonNote: l.return_reason_note || null,
        customerNote: l.customer_note || null,
      })),
      exchangeLines: b.exchange_line_items.flatMap((x) => {
        const g = gidOf("LineItem", x.line_item);
        return g ? [{ lineGid: g, quantity: x.quantity ?? 0 }] : [];
      }),
    },
  };
}

/** Pure: the newer of two statuses (a late `returns/request` never reopens a closed return). */
export function laterStatus(current: ReturnStatus, incoming: ReturnStatus): ReturnStatus {
  return RANK[incoming] >= RANK[current] ? incoming : current;
}

export type ReturnOutcome = "recorded" | "unchanged" | "unknown_order";

export async function recordReturn(
  ctx: AppContext,
  storeId: number,
  ret: ShopifyReturn,
): Promise<ReturnOutcome> {
  const db = ctx.database.db;
  const order = await db
    .selectFrom("orders")
    .select(["id"])
    .where("store_id", "=", storeId)
    .where("shopify_order_gid", "=", ret.orderGid)
    .executeTakeFirst();
  if (!order) return "unknown_order";
  const now = ctx.clock.now();
  return db.transaction().execute(async (trx) => {
    await lockOrders(trx, ctx.database.dialect);
    const known = await trx
      .selectFrom("order_returns")
      .selectAll()
      .where("store_id", "=", storeId)
      .where("return_gid", "=", ret.gid)
      .executeTakeFirst();
    const status = known ? laterStatus(known.status, ret.status) : ret.status;
    // Processed counts only grow; a payload without lines keeps the lines known.
    const knownLines = known ? (JSON.parse(known.lines) as ShopifyReturnLine[]) : [];
    const lines =
      ret.lines.length === 0
        ? knownLines
        : ret.lines.map((l) => ({
            ...l,
            processed: Math.max(l.processed, knownLines.find((k) => k.gid === l.gid)?.processed ?? 0),
          }));
    const exchange =
      ret.exchangeLines.length > 0 || !known ? ret.exchangeLines : JSON.parse(known.exchange_lines);
    const values = {
      name: ret.name ?? known?.name ?? null,
      status,
      lines: JSON.stringify(lines),
      exchange_lines: JSON.stringify(exchange),
      updated_at: now,
    };
    if (
      known &&
      known.status === values.status &&
      known.lines === values.lines &&
      known.exchange_lines === values.exchange_lines
    )
      return "unchanged";
    if (known) await trx.updateTable("order_returns").set(values).where("id", "=", known.id).execute();
    else
      await trx
        .insertInto("order_returns")
        .values({ ...values, store_id: storeId, order_id: order.id, return_gid: ret.gid, created_at: now })
        .execute();
    await bumpFeed(trx, storeId, order.id, now);
    return "recorded";
  });
}

// ---- dispositions ----

export interface ShopifyDisposition {
  readonly gid: string;
  readonly returnGid: string | null;
  readonly fulfillmentLineItemGid: string | null;
  readonly lineGid: string | null;
  readonly quantity: number;
  readonly type: string;
  readonly locationGid: string | null;
}

const restDispose = z
  .object({
    order_id: idish.nullish(),
    order: ref.nullish(),
    return: ref.nullish(),
    dispositions: z.array(
      z
        .object({
          id: idish,
          admin_graphql_api_id: z.string().optional(),
          type: z.string(),
          quantity: z.number().int().nonnegative(),
          location_id: idish.nullish(),
          location: ref.nullish(),
          reverse_fulfillment_order_line_item: ref
            .extend({ line_item: ref.nullish(), fulfillment_line_item: ref.nullish() })
            .nullish(),
        })
        .passthrough(),
    ),
  })
  .passthrough();

export function fromDisposeWebhook(
  body: unknown,
):
  | { ok: true; value: { orderGid: string; dispositions: ShopifyDisposition[] } }
  | { ok: false; reason: string } {
  const r = restDispose.safeParse(body);
  if (!r.success) {
    const first = r.error.issues[0];
    return { ok: false, reason: `not a disposition payload: ${first?.path.join(".")} ${first?.message}` };
  }
  const b = r.data;
  const orderGid =
    gidOf("Order", b.order) ?? (b.order_id == null ? null : `gid://shopify/Order/${b.order_id}`);
  if (orderGid === null) return { ok: false, reason: "disposition payload without its order" };
  return {
    ok: true,
    value: {
      orderGid,
      dispositions: b.dispositions.map((d) => ({
        gid: d.admin_graphql_api_id ?? `gid://shopify/ReverseFulfillmentOrderDisposition/${d.id}`,
        returnGid: gidOf("Return", b.return),
        fulfillmentLineItemGid: gidOf(
          "FulfillmentLineItem",
          d.reverse_fulfillment_order_line_item?.fulfillment_line_item,
        ),
        lineGid: gidOf("LineItem", d.reverse_fulfillment_order_line_item?.line_item),
        quantity: d.quantity,
        type: d.type.toUpperCase(),
        locationGid:
          gidOf("Location", d.location) ??
          (d.location_id == null ? null : `gid://shopify/Location/${d.location_id}`),
      })),
    },
  };
}

/** Records Shopify's dispositions once each; a RESTOCKED one moves the delta baseline up where Shopify restocked. */
export async function recordDispositions(
  ctx: AppContext,
  storeId: number,
  orderId: number,
  dispositions: readonly ShopifyDisposition[],
): Promise<number> {
  const now = ctx.clock.now();
  return ctx.database.db.transaction().execute(async (trx) => {
    await lockOrders(trx, ctx.database.dialect);
    const returnLines = new Map<string, string>();
    for (const r of await trx
      .selectFrom("order_returns")
      .select("lines")
      .where("order_id", "=", orderId)
      .execute())
      for (const l of JSON.parse(r.lines) as ShopifyReturnLine[])
        if (l.fulfillmentLineItemGid && l.lineGid) returnLines.set(l.fulfillmentLineItemGid, l.lineGid);
    const variantOf = new Map(
      (
        await trx
          .selectFrom("order_lines")
          .select(["shopify_line_gid", "variant_id"])
          .where("order_id", "=", orderId)
          .execute()
      ).map((l) => [l.shopify_line_gid, l.variant_id]),
    );
    const restocks: { variantId: number; locationGid: string; delta: number }[] = [];
    let recorded = 0;
    for (const d of dispositions) {
      const lineGid =
        d.lineGid ?? (d.fulfillmentLineItemGid ? (returnLines.get(d.fulfillmentLineItemGid) ?? null) : null);
      const r = await trx
        .insertInto("return_dispositions")
        .values({
          store_id: storeId,
          disposition_gid: d.gid,
          order_id: orderId,
          return_gid: d.returnGid,
          line_gid: lineGid,
          quantity: d.quantity,
          type: d.type,
          location_gid: d.locationGid,
          created_at: now,
        })
        .onConflict((oc) => oc.columns(["store_id", "disposition_gid"]).doNothing())
        .executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0n) === 0) continue;
      recorded++;
      const variantId = lineGid ? variantOf.get(lineGid) : undefined;
      if (d.type === "RESTOCKED" && d.locationGid && variantId != null)
        restocks.push({ variantId, locationGid: d.locationGid, delta: d.quantity });
    }
    await followShopifyChange(trx, storeId, restocks);
    if (restocks.length > 0)
      await markStoreDirtyFor(trx, storeId, [...new Set(restocks.map((r) => r.variantId))], now);
    if (recorded > 0) await bumpFeed(trx, storeId, orderId, now);
    return recorded;
  });
}

/** The action runner's hook: a return read after the hub's `returnProcess`. */
export async function recordReturnState(
  ctx: AppContext,
  storeId: number,
  orderId: number,
  state: NonNullable<ReturnState["return"]>,
): Promise<void> {
  const dispositions = state.reverseFulfillmentOrders.nodes.flatMap((rfo) =>
    rfo.lineItems.nodes.flatMap((l) =>
      l.dispositions.map((d) => ({
        gid: d.id,
        returnGid: state.id,
        fulfillmentLineItemGid: l.fulfillmentLineItem?.id ?? null,
        lineGid: null,
        quantity: d.quantity,
        type: d.type,
        locationGid: d.location?.id ?? null,
      })),
    ),
  );
  await recordDispositions(ctx, storeId, orderId, dispositions);
  const known = await ctx.database.db
    .selectFrom("order_returns")
    .select(["status", "lines"])
    .where("store_id", "=", storeId)
    .where("return_gid", "=", state.id)
    .executeTakeFirst();
  if (!known) return;
  const order = await ctx.database.db
    .selectFrom("orders")
    .select("shopify_order_gid")
    .where("id", "=", orderId)
    .executeTakeFirstOrThrow();
  const processed = new Map(state.returnLineItems.nodes.map((n) => [n.id, n.processedQuantity]));
  await recordReturn(ctx, storeId, {
    gid: state.id,
    orderGid: order.shopify_order_gid,
    name: null,
    status: state.status.toLowerCase() as ReturnStatus,
    lines: (JSON.parse(known.lines) as ShopifyReturnLine[]).map((l) => ({
      ...l,
      processed: processed.get(l.gid) ?? l.processed,
    })),
    exchangeLines: [],
  });
}

// ---- webhook → inbox → record ----

export async function processReturnInbox(ctx: AppContext, limit = 200): Promise<InboxRunResult> {
  return drainInbox(ctx, {
    topics: RETURN_TOPICS,
    limit,
    async apply(row) {
      if (row.topic === "reverse_fulfillment_orders/dispose") {
        const { storeId, value } = await storeDelivery(ctx, row, fromDisposeWebhook);
        const order = await ctx.database.db
          .selectFrom("orders")
          .select("id")
          .where("store_id", "=", storeId)
          .where("shopify_order_gid", "=", value.orderGid)
          .executeTakeFirst();
        if (!order) throw new Error(`order ${value.orderGid} is not in the hub yet; retrying`);
        await recordDispositions(ctx, storeId, order.id, value.dispositions);
      } else {
        const { storeId, value } = await storeDelivery(ctx, row, (b) => fromReturnWebhook(row.topic, b));
        const outcome = await recordReturn(ctx, storeId, value);
        if (outcome === "unknown_order")
          throw new Error(`order ${value.orderGid} is not in the hub yet; retrying`);
      }
      await markInboxDone(ctx.database.db, row.id, ctx.clock.now());
    },
  });
}

// ---- receipts from the back office ----

export const CONDITIONS = ["restock", "damaged", "missing"] as const;

export const receiptInput = z
  .object({
    id: key(120).describe("The back office's receipt id: the idempotency key."),
    lines: z
      .array(
        z
          .object({
            returnLineId: z
              .string()
              .regex(/^gid:\/\/shopify\/ReturnLineItem\/\d+$/)
              .describe("Shopify return line gid."),
            quantity: z.number().int().min(1).max(1_000_000),
            condition: z
              .enum(CONDITIONS)
              .describe(
                "restock (back on sale at `warehouse`), damaged (not restocked) or missing (never arrived)",
              ),
            warehouse: key(100).optional().describe("Where restocked units went (required for restock)."),
          })
          .strict(),
      )
      .min(1)
      .max(100),
  })
  .strict();
export type ReceiptInput = z.infer<typeof receiptInput>;

export interface ReceiptLine {
  returnLineGid: string;
  lineGid: string | null;
  quantity: number;
  condition: (typeof CONDITIONS)[number];
  warehouseId: number | null;
  /** Units that became a `return` movement (restocked, within what left through the ledger). */
  restocked: number;
}

/** Units of each order line back in the ledger already: refunds' restocks and receipts'. */
export async function restockedByLine(db: Db | Trx, orderId: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const r of await db.selectFrom("refunds").select("lines").where("order_id", "=", orderId).execute())
    for (const l of JSON.parse(r.lines) as RestockLine[])
      out.set(l.lineGid, (out.get(l.lineGid) ?? 0) + l.restocked);
  for (const [line, n] of await receiptRestocks(db, orderId)) out.set(line, (out.get(line) ?? 0) + n);
  return out;
}

/** Units of each order line under the order's returns (requested, open or closed): refunds.ts leaves them to receipts. */
export async function returnedUnitsByLine(db: Db | Trx, orderId: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const rows = await db
    .selectFrom("order_returns")
    .select("lines")
    .where("order_id", "=", orderId)
    .where("status", "in", ["requested", "open", "closed"])
    .execute();
  for (const r of rows)
    for (const l of JSON.parse(r.lines) as ShopifyReturnLine[])
      if (l.lineGid) out.set(l.lineGid, (out.get(l.lineGid) ?? 0) + l.quantity);
  return out;
}

/** Units of each order line restocked by back-office receipts. */
export async function receiptRestocks(db: Db | Trx, orderId: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const rows = await db
    .selectFrom("return_receipts as rr")
    .innerJoin("order_returns as r", "r.id", "rr.return_id")
    .select("rr.lines")
    .where("r.order_id", "=", orderId)
    .execute();
  for (const r of rows)
    for (const l of JSON.parse(r.lines) as ReceiptLine[])
      if (l.lineGid && l.restocked > 0) out.set(l.lineGid, (out.get(l.lineGid) ?? 0) + l.restocked);
  return out;
}

/** Units of each order line that left through the ledger: hub shipments and sales recorded from Shopify. */
async function leftByLine(
  db: Db | Trx,
  orderId: number,
): Promise<Map<string, { n: number; variantId: number }>> {
  const out = new Map<string, { n: number; variantId: number }>();
  const add = (line: string, n: number, variantId: number) => {
    const cur = out.get(line) ?? { n: 0, variantId };
    cur.n += n;
    out.set(line, cur);
  };
  for (const r of await db
    .selectFrom("shipment_lines as l")
    .innerJoin("shipments as s", "s.id", "l.shipment_id")
    .select(["l.shopify_line_gid", "l.quantity", "l.variant_id"])
    .where("s.order_id", "=", orderId)
    .execute())
    add(r.shopify_line_gid, r.quantity, r.variant_id);
  for (const r of await db
    .selectFrom("fulfillment_records")
    .select(["line_gid", "sale_quantity", "variant_id"])
    .where("order_id", "=", orderId)
    .where("cancelled", "=", 0)
    .where("sale_quantity", ">", 0)
    .execute())
    if (r.variant_id !== null) add(r.line_gid, r.sale_quantity, r.variant_id);
  return out;
}

/** Pure: how many of a restock fit in what is left to restock of its line. */
export function restockRoom(left: number, restockedBefore: number, asked: number): number {
  return Math.max(0, Math.min(asked, left - restockedBefore));
}

export async function resolveReturn(
  db: Db,
  ref: string,
): Promise<{
  id: number;
  storeId: number;
  orderId: number;
  gid: string;
  status: ReturnStatus;
  lines: ShopifyReturnLine[];
}> {
  const q = db.selectFrom("order_returns").selectAll();
  const r = /^\d+$/.test(ref)
    ? await q.where("id", "=", Number(ref)).executeTakeFirst()
    : await q.where("return_gid", "=", ref).executeTakeFirst();
  if (!r)
    throw new AppError("NOT_FOUND", `no return ${ref} in the hub`, [
      {
        path: "id",
        code: "UNKNOWN_RETURN",
        message: `no return ${ref}: returns arrive from Shopify's returns webhooks`,
      },
    ]);
  return {
    id: r.id,
    storeId: r.store_id,
    orderId: r.order_id,
    gid: r.return_gid,
    status: r.status,
    lines: JSON.parse(r.lines),
  };
}

export async function recordReceipt(
  ctx: AppContext,
  returnRef: string,
  input: ReceiptInput,
): Promise<{ duplicate: boolean; receipt: ReceiptView }> {
  const db = ctx.database.db;
  const hash = createHash("sha256")
    .update(returnRef)
    .update(JSON.stringify(input.lines))
    .digest("hex")
    .slice(0, 32);
  const ret = await resolveReturn(db, returnRef);
  const seen = await db
    .selectFrom("return_receipts")
    .selectAll()
    .where("external_id", "=", input.id)
    .executeTakeFirst();
  if (seen) {
    if (seen.content_hash !== hash || seen.return_id !== ret.id)
      throw new AppError("CONFLICT", `receipt ${input.id} was already recorded with other content`, [
        { path: "id", code: "RECEIPT_ID_REUSED", message: `receipt ${input.id} already exists` },
      ]);
    return { duplicate: true, receipt: receiptView(seen) };
  }
  if (ret.status !== "open")
    throw new AppError(
      "CONFLICT",
      `return ${ret.gid} is ${ret.status}: only an open return can be received`,
      [{ path: "id", code: "RETURN_NOT_OPEN", message: `return ${ret.gid} is ${ret.status}` }],
    );
  const now = ctx.clock.now();
  const errors: ErrorDetail[] = [];
  const warehouses = new Map(
    (await db.selectFrom("warehouses").select(["id", "code"]).execute()).map((w) => [w.code, w.id]),
  );
  const order = await db
    .selectFrom("orders")
    .select(["shopify_order_gid", "location_gid", "store_id"])
    .where("id", "=", ret.orderId)
    .executeTakeFirstOrThrow();

  // Everything is decided under the orders lock, inside the transaction that writes it.
  const plan = async (trx: Trx | Db) => {
    const earlier = await trx
      .selectFrom("return_receipts")
      .select("lines")
      .where("return_id", "=", ret.id)
      .execute();
    const received = new Map<string, number>();
    for (const r of earlier)
      for (const l of JSON.parse(r.lines) as ReceiptLine[])
        received.set(l.returnLineGid, (received.get(l.returnLineGid) ?? 0) + l.quantity);
    const left = await leftByLine(trx, ret.orderId);
    const restocked = await restockedByLine(trx, ret.orderId);
    const asked = new Map<string, number>();
    const lines: (ReceiptLine & { processedBefore: number; fulfillmentLineItemGid: string | null })[] = [];
    input.lines.forEach((l, i) => {
      const path = `lines[${i}]`;
      const rl = ret.lines.find((x) => x.gid === l.returnLineId);
      if (!rl) {
        errors.push({
          path: `${path}.returnLineId`,
          index: i,
          code: "UNKNOWN_RETURN_LINE",
          message: `${l.returnLineId} is not a line of return ${ret.gid}`,
        });
        return;
      }
      const before = (received.get(rl.gid) ?? 0) + (asked.get(rl.gid) ?? 0);
      if (before + l.quantity > rl.quantity) {
        errors.push({
          path: `${path}.quantity`,
          index: i,
          code: "RECEIVED_MORE_THAN_RETURNED",
          message: `${l.quantity} received but only ${rl.quantity - before} of ${rl.quantity} remain to receive on ${rl.gid}`,
        });
        return;
      }
      let warehouseId: number | null = null;
      if (l.condition === "restock") {
        if (!l.warehouse) {
          errors.push({
            path: `${path}.warehouse`,
            index: i,
            code: "MISSING_FIELD",
            message: "restocked units need the warehouse they went to",
          });
          return;
        }
        warehouseId = warehouses.get(l.warehouse) ?? null;
        if (warehouseId === null) {
          errors.push({
            path: `${path}.warehouse`,
            index: i,
            code: "UNKNOWN_WAREHOUSE",
            message: `no warehouse ${l.warehouse}`,
          });
          return;
        }
      }
      asked.set(rl.gid, (asked.get(rl.gid) ?? 0) + l.quantity);
      const lineLeft = rl.lineGid ? (left.get(rl.lineGid)?.n ?? 0) : 0;
      const before2 = rl.lineGid ? (restocked.get(rl.lineGid) ?? 0) : 0;
      const n = l.condition === "restock" && rl.lineGid ? restockRoom(lineLeft, before2, l.quantity) : 0;
      if (rl.lineGid && n > 0) restocked.set(rl.lineGid, before2 + n);
      lines.push({
        returnLineGid: rl.gid,
        lineGid: rl.lineGid,
        quantity: l.quantity,
        condition: l.condition,
        warehouseId,
        restocked: n,
        processedBefore: before,
        fulfillmentLineItemGid: rl.fulfillmentLineItemGid,
      });
    });
    return { lines, left };
  };

  const first = await plan(db);
  if (errors.length > 0)
    throw new AppError(
      "INVALID_REQUEST",
      `receipt ${input.id} has ${errors.length} invalid line(s); nothing was recorded`,
      errors,
    );
  const codeOf = new Map([...warehouses].map(([c, id]) => [id, c]));
  const skuOf = new Map(
    (
      await db
        .selectFrom("variants")
        .select(["id", "sku"])
        .where("id", "in", [...new Set([...first.left.values()].map((v) => v.variantId)), -1])
        .execute()
    ).map((v) => [v.id, v.sku]),
  );
  const occurredAt = new Date(now).toISOString();
  const movementsOf = (
    lines: Awaited<ReturnType<typeof plan>>["lines"],
    left: Awaited<ReturnType<typeof plan>>["left"],
  ) =>
    lines
      .filter((l) => l.restocked > 0 && l.lineGid)
      .map((l, i) => ({
        id: `return-receipt:${input.id}:${i}`,
        type: "return",
        sku: skuOf.get(left.get(l.lineGid!)!.variantId)!,
        warehouse: codeOf.get(l.warehouseId!)!,
        quantity: l.restocked,
        occurredAt,
      }));
  const movements = movementsOf(first.lines, first.left);
  const locationFor = async (trx: Trx, warehouseId: number | null) => {
    if (warehouseId === null) return null;
    const l = await trx
      .selectFrom("store_locations as sl")
      .innerJoin("location_warehouses as lw", "lw.store_location_id", "sl.id")
      .select("sl.location_gid")
      .where("sl.store_id", "=", ret.storeId)
      .where("lw.warehouse_id", "=", warehouseId)
      .orderBy("sl.managed", "desc")
      .orderBy("sl.id")
      .limit(1)
      .executeTakeFirst();
    if (l) return l.location_gid;
    const d = await trx
      .selectFrom("store_locations")
      .select("location_gid")
      .where("store_id", "=", ret.storeId)
      .orderBy("is_default", "desc")
      .orderBy("id")
      .limit(1)
      .executeTakeFirst();
    return order.location_gid ?? d?.location_gid ?? null;
  };

  let view: ReceiptView | undefined;
  const write = async (trx: Trx) => {
    await lockOrders(trx, ctx.database.dialect);
    const again = await plan(trx);
    if (errors.length > 0)
      throw new AppError("INVALID_REQUEST", `receipt ${input.id} changed while it was recorded`, errors);
    if (JSON.stringify(movementsOf(again.lines, again.left)) !== JSON.stringify(movements))
      throw new AppError(
        "CONFLICT",
        `return ${ret.gid} changed while receipt ${input.id} was recorded: send it again`,
        [
          {
            path: "id",
            code: "CONCURRENT_CHANGE",
            message: "another receipt or refund of this order was recorded at the same time",
          },
        ],
      );
    const stored: ReceiptLine[] = again.lines.map(
      ({ processedBefore: _p, fulfillmentLineItemGid: _f, ...l }) => l,
    );
    await trx
      .insertInto("return_receipts")
      .values({
        store_id: ret.storeId,
        return_id: ret.id,
        external_id: input.id,
        content_hash: hash,
        lines: JSON.stringify(stored),
        created_at: now,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    const action: ReturnProcessAction = { requestId: input.id, returnGid: ret.gid, lines: [] };
    for (const l of again.lines) {
      const restockedShopify = l.condition === "restock" ? l.quantity : 0;
      action.lines.push({
        returnLineGid: l.returnLineGid,
        fulfillmentLineItemGid: l.fulfillmentLineItemGid,
        quantity: l.quantity,
        processedBefore: l.processedBefore,
        dispositions: [
          {
            type: "RESTOCKED" as const,
            quantity: restockedShopify,
            locationGid: await locationFor(trx, l.warehouseId),
          },
          {
            type: l.condition === "missing" ? ("MISSING" as const) : ("NOT_RESTOCKED" as const),
            quantity: l.quantity - restockedShopify,
            locationGid: null,
          },
        ].filter((d) => d.quantity > 0),
      });
    }
    await enqueueAction(trx, ret.storeId, ret.orderId, { kind: "return_process", input: action }, now);
    await bumpFeed(trx, ret.storeId, ret.orderId, now);
    view = receiptView({
      external_id: input.id,
      lines: JSON.stringify(stored),
      created_at: now,
      return_id: ret.id,
    });
  };
  if (movements.length > 0) {
    const r = await ingestMovements(ctx.database, movements, now, async (trx, ids, at) => {
      await write(trx);
      await stockChanged(ctx)(trx, ids, at);
    });
    if (r.applied === 0) await db.transaction().execute(write);
  } else await db.transaction().execute(write);
  ctx.logger.info(
    {
      store: ret.storeId,
      return: ret.gid,
      receipt: input.id,
      restocked: movements.reduce((n, m) => n + m.quantity, 0),
    },
    "return receipt recorded",
  );
  return { duplicate: false, receipt: view! };
}

export interface ReceiptView {
  id: string;
  recordedAt: number;
  lines: {
    returnLineId: string;
    shopifyLineId: string | null;
    quantity: number;
    condition: string;
    restocked: number;
  }[];
}

function receiptView(r: {
  external_id: string;
  lines: string;
  created_at: number;
  return_id: number;
}): ReceiptView {
  return {
    id: r.external_id,
    recordedAt: r.created_at,
    lines: (JSON.parse(r.lines) as ReceiptLine[]).map((l) => ({
      returnLineId: l.returnLineGid,
      shopifyLineId: l.lineGid,
      quantity: l.quantity,
      condition: l.condition,
      restocked: l.restocked,
    })),
  };
}

export { type ReturnView, returnViews } from "./order-ops-views.ts";
