/**
 * What the back office asks Shopify to do to an order, beyond shipping it: ready for pickup,
 * move to another location (ship-from-store), cancel (whole order or some lines, with a reason),
 * close, and process received returns. Each request is an outbox row (`order_actions`), written
 * at once and answered 202, idempotent by the back office's request id (the same id with other
 * content is a 409); a store pass under the store's lease sends it, with backoff on transient
 * failures. Shopify's refusals (userErrors) end the action as `failed` with Shopify's message.
 *
 * Every send first reads what Shopify holds, so a retry after a lost answer never applies twice.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { type AppContext, stockChanged } from "../core/context.ts";
import { AppError, coerceError } from "../core/errors.ts";
import { key } from "../core/input.ts";
import type { Db } from "../db/database.ts";
import { ingestMovements, type Trx } from "../inventory/ledger-store.ts";
import { followShopifyChange, markStoreDirtyFor } from "../inventory/push/push-store.ts";
import { afterFailure, type RetryPolicy } from "../jobs/backoff.ts";
import { graphql } from "../shopify/graphql.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { moveFulfillmentOrder } from "./fulfillment-order-move.ts";
import { readFulfillmentOrders, recordFulfillmentOrders, warehouseOfLocation } from "./fulfillment-orders.ts";
import type { OrderActionKind } from "./order-ops-tables.ts";
import { loadFulfillmentSettings } from "./settings.ts";

export const ORDER_ACTION_MAX_ATTEMPTS = 10;

/** The order actions' retries: the hub's one backoff rule (src/jobs/backoff.ts), their own numbers. */
export const ORDER_ACTION_RETRY: RetryPolicy = {
  baseMs: 5_000,
  capMs: 3_600_000,
  maxAttempts: ORDER_ACTION_MAX_ATTEMPTS,
};

/**
 * A write recording what Shopify did for an action, fenced by the store's lease: a process that
 * lost the store (paused past its lease, then resumed) gets LEASE_LOST and writes nothing, so it
 * cannot overwrite the new owner's outcome. Without a fence (tests calling the pass directly) it
 * writes as is.
 */
async function fencedWrite(
  db: Db,
  transport: AdminTransport,
  write: (d: Db) => Promise<unknown>,
): Promise<void> {
  const fence = transport.fence;
  if (!fence) return void (await write(db));
  await db.transaction().execute(async (trx) => {
    await fence(trx);
    await write(trx);
  });
}

// ---- inputs (zod: validated by the routes, documented in OpenAPI) ----

export const CANCEL_REASONS = ["CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF"] as const;

const requestId = key(120).describe("The back office's id for this request: the idempotency key.");
const note = z.string().min(1).max(500);

export const readyForPickupInput = z.object({ requestId }).strict();

export const moveInput = z
  .object({
    requestId,
    warehouse: key(100).describe(
      "Code of the warehouse that will fulfil instead (a location mapped to it takes the order).",
    ),
    fulfillmentOrderId: z
      .string()
      .regex(/^gid:\/\/shopify\/FulfillmentOrder\/\d+$/)
      .optional()
      .describe("Move only this fulfillment order (default: every open one not already there)."),
  })
  .strict();

export const cancelInput = z
  .object({
    requestId,
    reason: z.enum(CANCEL_REASONS),
    refund: z.boolean().describe("Refund the payment to its original method."),
    restock: z
      .boolean()
      .describe(
        "Put unfulfilled units back on sale (Shopify) and, under the store's restock rule, units the back office already shipped through the hub that Shopify never fulfilled back into the ledger.",
      ),
    notifyCustomer: z.boolean(),
    staffNote: note.optional(),
  })
  .strict();

export const cancelLinesInput = z
  .object({
    requestId,
    reason: note.describe("Why (shown on the refund in Shopify): out of stock, customer asked, …"),
    notifyCustomer: z.boolean().default(false),
    lines: z
      .array(
        z
          .object({
            lineId: z
              .string()
              .regex(/^gid:\/\/shopify\/LineItem\/\d+$/)
              .describe("Shopify line item gid."),
            quantity: z.number().int().min(1).max(1_000_000),
          })
          .strict(),
      )
      .min(1)
      .max(100),
  })
  .strict();

export const substituteInput = z
  .object({
    requestId,
    lineId: z
      .string()
      .regex(/^gid:\/\/shopify\/LineItem\/\d+$/)
      .describe("The Shopify line item that cannot be served."),
    quantity: z.number().int().min(1).max(1_000_000),
    sku: key(255).describe("The hub SKU given instead (linked to a Shopify variant of the store)."),
    reason: note.describe("Why (the edit's staff note): out of stock, damaged, …"),
    notifyCustomer: z.boolean().default(false),
  })
  .strict();

export const closeInput = z.object({ requestId }).strict();

/** Shopify's hold reasons a merchant (or its back office) may place (FulfillmentHoldReason). */
export const HOLD_REASONS = [
  "AWAITING_PAYMENT",
  "HIGH_RISK_OF_FRAUD",
  "INCORRECT_ADDRESS",
  "INVENTORY_OUT_OF_STOCK",
  "UNKNOWN_DELIVERY_DATE",
  "OTHER",
] as const;

export const holdInput = z
  .object({
    requestId,
    reason: z.enum(HOLD_REASONS).describe("Shopify's hold reason."),
    note: z.string().max(255).optional().describe("Why, in words (the hold's reason notes)."),
  })
  .strict();

export const releaseHoldInput = z.object({ requestId }).strict();

export type ActionInput =
  | { kind: "ready_for_pickup"; input: z.infer<typeof readyForPickupInput> }
  | { kind: "move"; input: z.infer<typeof moveInput> & { locationGid: string } }
  | { kind: "cancel"; input: z.infer<typeof cancelInput> }
  | { kind: "cancel_lines"; input: z.infer<typeof cancelLinesInput> }
  | { kind: "substitute"; input: z.infer<typeof substituteInput> & { variantGid: string } }
  | { kind: "close"; input: z.infer<typeof closeInput> }
  | { kind: "hold"; input: z.infer<typeof holdInput> }
  | { kind: "release_hold"; input: z.infer<typeof releaseHoldInput> }
  | { kind: "return_process"; input: ReturnProcessAction };

export interface ReturnProcessAction {
  requestId: string;
  returnGid: string;
  lines: {
    returnLineGid: string;
    fulfillmentLineItemGid: string | null;
    quantity: number;
    /** Units of this return line Shopify must have processed before this receipt. */
    processedBefore: number;
    dispositions: {
      type: "RESTOCKED" | "NOT_RESTOCKED" | "MISSING";
      quantity: number;
      locationGid: string | null;
    }[];
  }[];
}

export function actionHash(kind: OrderActionKind, input: unknown): string {
  return createHash("sha256").update(kind).update(JSON.stringify(input)).digest("hex").slice(0, 32);
}

export interface ActionView {
  id: number;
  requestId: string;
  kind: OrderActionKind;
  orderId: number;
  status: string;
  attempts: number;
  errorCode: string | null;
  error: string | null;
  result: unknown;
  createdAt: number;
  updatedAt: number;
}

export async function actionView(db: Db | Trx, id: number): Promise<ActionView | undefined> {
  const a = await db.selectFrom("order_actions").selectAll().where("id", "=", id).executeTakeFirst();
  if (!a) return undefined;
  return {
    id: a.id,
    requestId: a.request_id,
    kind: a.kind,
    orderId: a.order_id,
    status: a.status,
    attempts: a.attempts,
    errorCode: a.error_code,
    error: a.last_error,
    result: a.result === null ? null : JSON.parse(a.result),
    createdAt: a.created_at,
    updatedAt: a.updated_at,
  };
}

export async function actionsOfOrder(db: Db, orderId: number): Promise<ActionView[]> {
  const rows = await db
    .selectFrom("order_actions")
    .select("id")
    .where("order_id", "=", orderId)
    .orderBy("id")
    .execute();
  return (await Promise.all(rows.map((r) => actionView(db, r.id)))).filter((a): a is ActionView => !!a);
}

/**
 * Writes the request (or finds the same one sent before). `trx`: the caller's transaction, when
 * the action is the follow-up of a change it makes (a return receipt and its ledger movements).
 */
export async function enqueueAction(
  db: Db | Trx,
  storeId: number,
  orderId: number,
  a: ActionInput,
  now: number,
): Promise<{ duplicate: boolean; action: ActionView }> {
  const hash = actionHash(a.kind, a.input);
  const seen = await db
    .selectFrom("order_actions")
    .select(["id", "content_hash", "order_id"])
    .where("kind", "=", a.kind)
    .where("request_id", "=", a.input.requestId)
    .executeTakeFirst();
  if (seen) {
    if (seen.content_hash !== hash || seen.order_id !== orderId)
      throw new AppError(
        "CONFLICT",
        `request ${a.input.requestId} was already sent with other content; use a new requestId for a new request`,
        [
          {
            path: "requestId",
            code: "REQUEST_ID_REUSED",
            message: `request ${a.input.requestId} already exists`,
          },
        ],
      );
    return { duplicate: true, action: (await actionView(db, seen.id))! };
  }
  const { id } = await db
    .insertInto("order_actions")
    .values({
      store_id: storeId,
      order_id: orderId,
      kind: a.kind,
      request_id: a.input.requestId,
      content_hash: hash,
      input: JSON.stringify(a.input),
      status: "pending",
      attempts: 0,
      next_attempt_at: now,
      error_code: null,
      last_error: null,
      result: null,
      created_at: now,
      updated_at: now,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return { duplicate: false, action: (await actionView(db, id))! };
}

// ---- Shopify operations ----

export const PREPARED_FOR_PICKUP_MUTATION = graphql`
  mutation TillbridgePreparedForPickup($input: FulfillmentOrderLineItemsPreparedForPickupInput!) {
    fulfillmentOrderLineItemsPreparedForPickup(input: $input) {
      userErrors {
        field
        message
        code
      }
    }
  }
`;

export const FULFILLMENT_ORDER_HOLD_MUTATION = graphql`
  mutation TillbridgeFulfillmentOrderHold($id: ID!, $fulfillmentHold: FulfillmentOrderHoldInput!) {
    fulfillmentOrderHold(id: $id, fulfillmentHold: $fulfillmentHold) {
      fulfillmentOrder {
        id
        status
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

export const FULFILLMENT_ORDER_RELEASE_HOLD_MUTATION = graphql`
  mutation TillbridgeFulfillmentOrderReleaseHold($id: ID!) {
    fulfillmentOrderReleaseHold(id: $id) {
      fulfillmentOrder {
        id
        status
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

export const ORDER_CANCEL_MUTATION = graphql`
  mutation TillbridgeOrderCancel(
    $orderId: ID!
    $reason: OrderCancelReason!
    $refund: Boolean
    $restock: Boolean!
    $notifyCustomer: Boolean
    $staffNote: String
  ) {
    orderCancel(
      orderId: $orderId
      reason: $reason
      refund: $refund
      restock: $restock
      notifyCustomer: $notifyCustomer
      staffNote: $staffNote
    ) {
      job {
        id
        done
      }
      orderCancelUserErrors {
        field
        message
        code
      }
    }
  }
`;

export const ORDER_CLOSE_MUTATION = graphql`
  mutation TillbridgeOrderClose($input: OrderCloseInput!) {
    orderClose(input: $input) {
      order {
        id
        closed
      }
      userErrors {
        field
        message
      }
    }
  }
`;

/** Refunding unfulfilled units with restock type CANCEL removes them from the order. */
export const CANCEL_LINES_MUTATION = graphql`
  mutation TillbridgeCancelLines($input: RefundInput!, $key: String!) {
    refundCreate(input: $input) @idempotent(key: $key) {
      refund {
        id
      }
      userErrors {
        field
        message
      }
    }
  }
`;

/** A substitution is one order edit: the line down, the other variant added, committed together. */
export const ORDER_EDIT_BEGIN_MUTATION = graphql`
  mutation TillbridgeOrderEditBegin($id: ID!) {
    orderEditBegin(id: $id) {
      calculatedOrder {
        id
      }
      userErrors {
        field
        message
      }
    }
  }
`;

export const ORDER_EDIT_SET_QUANTITY_MUTATION = graphql`
  mutation TillbridgeOrderEditSetQuantity($id: ID!, $lineItemId: ID!, $quantity: Int!) {
    orderEditSetQuantity(id: $id, lineItemId: $lineItemId, quantity: $quantity, restock: true) {
      calculatedLineItem {
        id
      }
      userErrors {
        field
        message
      }
    }
  }
`;

export const ORDER_EDIT_ADD_VARIANT_MUTATION = graphql`
  mutation TillbridgeOrderEditAddVariant($id: ID!, $variantId: ID!, $quantity: Int!, $locationId: ID) {
    orderEditAddVariant(
      id: $id
      variantId: $variantId
      quantity: $quantity
      locationId: $locationId
      allowDuplicates: true
    ) {
      calculatedLineItem {
        id
      }
      userErrors {
        field
        message
      }
    }
  }
`;

export const ORDER_EDIT_COMMIT_MUTATION = graphql`
  mutation TillbridgeOrderEditCommit($id: ID!, $notifyCustomer: Boolean, $staffNote: String) {
    orderEditCommit(id: $id, notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
      order {
        id
      }
      userErrors {
        field
        message
      }
    }
  }
`;

export const ORDER_STATE_QUERY = graphql`
  query TillbridgeOrderState($id: ID!) {
    order(id: $id) {
      id
      cancelledAt
      closed
      lineItems(first: 100) {
        nodes {
          id
          sku
          currentQuantity
          unfulfilledQuantity
        }
      }
    }
  }
`;

export const RETURN_STATE_QUERY = graphql`
  query TillbridgeReturnState($id: ID!) {
    return(id: $id) {
      id
      status
      returnLineItems(first: 50) {
        nodes {
          id
          quantity
          processedQuantity
        }
      }
      reverseFulfillmentOrders(first: 5) {
        nodes {
          id
          lineItems(first: 50) {
            nodes {
              id
              totalQuantity
              fulfillmentLineItem {
                id
              }
              dispositions {
                id
                quantity
                type
                location {
                  id
                }
              }
            }
          }
        }
      }
    }
  }
`;

export const RETURN_PROCESS_MUTATION = graphql`
  mutation TillbridgeReturnProcess($input: ReturnProcessInput!) {
    returnProcess(input: $input) {
      return {
        id
        status
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

interface UserError {
  field: string[] | null;
  message: string;
  code?: string | null;
}

/** An action Shopify refused: it will not succeed by retrying. */
class Refused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const refusedBy = (errors: readonly UserError[]) =>
  new Refused(
    errors[0]?.code ?? "SHOPIFY_REFUSED",
    errors.map((e) => `${e.field?.join(".") ?? ""}: ${e.message}`).join("; "),
  );

/**
 * Sends one of the actions' mutations; the userErrors under `field` of its answer (`errorsKey`,
 * `userErrors` unless the mutation names them otherwise) refuse the action.
 */
async function sendMutation<T extends object>(
  transport: AdminTransport,
  doc: string,
  vars: Record<string, unknown>,
  field: string,
  errorsKey = "userErrors",
): Promise<T> {
  const { data } = await transport.graphql<Record<string, T>>(doc, vars);
  const payload = data[field]!;
  const errors = (payload as Record<string, UserError[] | undefined>)[errorsKey] ?? [];
  if (errors.length > 0) throw refusedBy(errors);
  return payload;
}

export interface ReturnState {
  return: {
    id: string;
    status: string;
    returnLineItems: { nodes: { id: string; quantity: number; processedQuantity: number }[] };
    reverseFulfillmentOrders: {
      nodes: {
        id: string;
        lineItems: {
          nodes: {
            id: string;
            totalQuantity: number;
            fulfillmentLineItem: { id: string } | null;
            dispositions: { id: string; quantity: number; type: string; location: { id: string } | null }[];
          }[];
        };
      }[];
    };
  } | null;
}

export async function readReturn(
  transport: AdminTransport,
  returnGid: string,
): Promise<ReturnState["return"]> {
  const { data } = await transport.graphql<ReturnState>(
    RETURN_STATE_QUERY,
    { id: returnGid },
    { estimatedCost: 320 },
  );
  return data.return;
}

// ---- running ----

export type Hooks = {
  /** After a return was processed in Shopify: its dispositions (returns.ts records them once). */
  onReturnState?: (
    ctx: AppContext,
    storeId: number,
    orderId: number,
    state: NonNullable<ReturnState["return"]>,
  ) => Promise<void>;
};

async function run(
  ctx: AppContext,
  transport: AdminTransport,
  a: {
    id: number;
    store_id: number;
    order_id: number;
    kind: OrderActionKind;
    input: string;
    attempts: number;
    result: string | null;
  },
  hooks: Hooks,
): Promise<unknown> {
  const db = ctx.database.db;
  const order = await db
    .selectFrom("orders")
    .select(["shopify_order_gid", "name", "shopify_updated_at"])
    .where("id", "=", a.order_id)
    .executeTakeFirstOrThrow();
  const input = JSON.parse(a.input);
  switch (a.kind) {
    case "ready_for_pickup": {
      const fos = (await readFulfillmentOrders(transport, order.shopify_order_gid)) ?? [];
      const pickup = fos.filter(
        (f) =>
          f.deliveryMethod === "PICK_UP" &&
          (f.status === "OPEN" || f.status === "IN_PROGRESS") &&
          f.lines.some((l) => l.remaining > 0),
      );
      if (pickup.length === 0)
        throw new Refused(
          "NOT_PICKUP",
          `order ${order.name} has no open pickup fulfillment order in Shopify`,
        );
      await sendMutation(
        transport,
        PREPARED_FOR_PICKUP_MUTATION,
        { input: { lineItemsByFulfillmentOrder: pickup.map((f) => ({ fulfillmentOrderId: f.gid })) } },
        "fulfillmentOrderLineItemsPreparedForPickup",
      );
      await recordFulfillmentOrders(ctx, a.store_id, a.order_id, fos, {
        preparedNow: pickup.map((f) => f.gid),
      });
      return { fulfillmentOrders: pickup.map((f) => f.gid) };
    }
    case "move": {
      const fos = (await readFulfillmentOrders(transport, order.shopify_order_gid)) ?? [];
      const targets = fos.filter(
        (f) =>
          (input.fulfillmentOrderId ? f.gid === input.fulfillmentOrderId : true) &&
          f.locationGid !== input.locationGid &&
          f.status === "OPEN" &&
          f.lines.some((l) => l.remaining > 0),
      );
      const already = fos.some((f) => f.locationGid === input.locationGid && f.status !== "CLOSED");
      if (targets.length === 0 && !already)
        throw new Refused(
          "NOTHING_TO_MOVE",
          `order ${order.name} has no open fulfillment order to move${input.fulfillmentOrderId ? ` (${input.fulfillmentOrderId})` : ""}`,
        );
      const moved: string[] = [];
      for (const f of targets) {
        const r = await moveFulfillmentOrder(transport, f.gid, input.locationGid);
        if (r.userErrors.length > 0) throw refusedBy(r.userErrors);
        if (r.moved) moved.push(r.moved);
      }
      const after = (await readFulfillmentOrders(transport, order.shopify_order_gid)) ?? [];
      const r = await recordFulfillmentOrders(ctx, a.store_id, a.order_id, after);
      return { moved, location: input.locationGid, reservationMoved: r.warehouseMoved };
    }
    case "hold": {
      // A retry after a lost answer finds the hold in place (same reason and note) and sends nothing.
      const fos = (await readFulfillmentOrders(transport, order.shopify_order_gid)) ?? [];
      const note = (input.note as string | undefined) ?? null;
      const open = fos.filter(
        (f) =>
          (f.status === "OPEN" || f.status === "IN_PROGRESS" || f.status === "SCHEDULED") &&
          f.lines.some((l) => l.remaining > 0),
      );
      const held = fos.filter(
        (f) => f.status === "ON_HOLD" && f.holds.some((h) => h.reason === input.reason && h.note === note),
      );
      if (open.length === 0 && held.length === 0)
        throw new Refused("NOTHING_TO_HOLD", `order ${order.name} has no open fulfillment order to hold`);
      for (const f of open) {
        await sendMutation(
          transport,
          FULFILLMENT_ORDER_HOLD_MUTATION,
          { id: f.gid, fulfillmentHold: { reason: input.reason, reasonNotes: note } },
          "fulfillmentOrderHold",
        );
      }
      const after = (await readFulfillmentOrders(transport, order.shopify_order_gid)) ?? [];
      await recordFulfillmentOrders(ctx, a.store_id, a.order_id, after);
      return { held: [...open, ...held].map((f) => f.gid) };
    }
    case "release_hold": {
      // Released already (a retry, or released in Shopify's admin): nothing to send.
      const fos = (await readFulfillmentOrders(transport, order.shopify_order_gid)) ?? [];
      const held = fos.filter((f) => f.status === "ON_HOLD");
      for (const f of held) {
        await sendMutation(
          transport,
          FULFILLMENT_ORDER_RELEASE_HOLD_MUTATION,
          { id: f.gid },
          "fulfillmentOrderReleaseHold",
        );
      }
      const after = (await readFulfillmentOrders(transport, order.shopify_order_gid)) ?? [];
      await recordFulfillmentOrders(ctx, a.store_id, a.order_id, after);
      return { released: held.map((f) => f.gid) };
    }
    case "cancel": {
      const state = await readOrderState(transport, order.shopify_order_gid);
      if (!state) throw new Refused("NOT_FOUND", `order ${order.name} no longer exists in Shopify`);
      if (state.cancelledAt === null) {
        // Without restock, Shopify takes the unfulfilled units off its on_hand where they wait.
        const waiting = input.restock
          ? []
          : ((await readFulfillmentOrders(transport, order.shopify_order_gid)) ?? []);
        await sendMutation(
          transport,
          ORDER_CANCEL_MUTATION,
          {
            orderId: order.shopify_order_gid,
            reason: input.reason,
            refund: input.refund,
            restock: input.restock,
            notifyCustomer: input.notifyCustomer,
            staffNote: input.staffNote ?? null,
          },
          "orderCancel",
          "orderCancelUserErrors",
        );
        if (!input.restock)
          await followUnitsRemoved(
            ctx,
            a.store_id,
            a.order_id,
            waiting,
            new Map(state.lineItems.nodes.map((l) => [l.id, l.sku])),
          );
      }
      const restocked = input.restock
        ? await restockShippedNotFulfilled(ctx, a.store_id, a.order_id, order.shopify_order_gid)
        : 0;
      return { cancelled: true, restockedInLedger: restocked };
    }
    case "cancel_lines": {
      const state = await readOrderState(transport, order.shopify_order_gid);
      if (!state) throw new Refused("NOT_FOUND", `order ${order.name} no longer exists in Shopify`);
      if (state.cancelledAt !== null)
        throw new Refused("ORDER_CANCELLED", `order ${order.name} is cancelled`);
      const current = new Map(state.lineItems.nodes.map((l) => [l.id, l]));
      // The current quantities before the first attempt: a retry after a lost answer checks them.
      const before: Record<string, number> =
        a.result !== null
          ? (JSON.parse(a.result).before as Record<string, number>)
          : Object.fromEntries(
              (input.lines as { lineId: string }[]).map((l) => [
                l.lineId,
                current.get(l.lineId)?.currentQuantity ?? 0,
              ]),
            );
      if (a.result === null)
        await fencedWrite(db, transport, (d) =>
          d
            .updateTable("order_actions")
            .set({ result: JSON.stringify({ before }) })
            .where("id", "=", a.id)
            .where("status", "=", "pending")
            .execute(),
        );
      const todo = (input.lines as { lineId: string; quantity: number }[]).filter(
        (l) => (current.get(l.lineId)?.currentQuantity ?? 0) > (before[l.lineId] ?? 0) - l.quantity,
      );
      for (const l of todo) {
        const c = current.get(l.lineId);
        if (!c) throw new Refused("UNKNOWN_LINE", `line ${l.lineId} is not on order ${order.name}`);
        if (c.unfulfilledQuantity < l.quantity)
          throw new Refused(
            "NOT_CANCELLABLE",
            `line ${l.lineId}: ${l.quantity} to cancel but only ${c.unfulfilledQuantity} unfulfilled`,
          );
      }
      let refund: string | null = null;
      if (todo.length > 0) {
        const created = await sendMutation<{ refund: { id: string } | null }>(
          transport,
          CANCEL_LINES_MUTATION,
          {
            // One key per action: a resend after a lost answer is Shopify's replay, not a second refund.
            key: `tillbridge-cancel-lines-${a.id}`,
            input: {
              orderId: order.shopify_order_gid,
              note: input.reason,
              notify: input.notifyCustomer,
              refundLineItems: todo.map((l) => ({
                lineItemId: l.lineId,
                quantity: l.quantity,
                restockType: "CANCEL",
              })),
            },
          },
          "refundCreate",
        );
        refund = created.refund?.id ?? null;
      }
      return { before, refund };
    }
    case "substitute": {
      const state = await readOrderState(transport, order.shopify_order_gid);
      if (!state) throw new Refused("NOT_FOUND", `order ${order.name} no longer exists in Shopify`);
      if (state.cancelledAt !== null)
        throw new Refused("ORDER_CANCELLED", `order ${order.name} is cancelled`);
      const line = state.lineItems.nodes.find((l) => l.id === input.lineId);
      if (!line) throw new Refused("UNKNOWN_LINE", `line ${input.lineId} is not on order ${order.name}`);
      // The line's quantity before the first attempt: a retry after a lost answer checks it.
      const before: number =
        a.result !== null ? (JSON.parse(a.result).before as number) : line.currentQuantity;
      if (a.result === null)
        await fencedWrite(db, transport, (d) =>
          d
            .updateTable("order_actions")
            .set({ result: JSON.stringify({ before }) })
            .where("id", "=", a.id)
            .where("status", "=", "pending")
            .execute(),
        );
      if (line.currentQuantity <= before - input.quantity) return { before, substituted: true };
      if (line.unfulfilledQuantity < input.quantity)
        throw new Refused(
          "NOT_SUBSTITUTABLE",
          `line ${input.lineId}: ${input.quantity} to substitute but only ${line.unfulfilledQuantity} unfulfilled`,
        );
      const step = <T extends object>(doc: string, vars: Record<string, unknown>, field: string) =>
        sendMutation<T>(transport, doc, vars, field);
      // The substitute is served where the line was to be: the location of its fulfillment order.
      const where =
        ((await readFulfillmentOrders(transport, order.shopify_order_gid)) ?? []).find(
          (f) =>
            (f.status === "OPEN" || f.status === "IN_PROGRESS" || f.status === "ON_HOLD") &&
            f.lines.some((l) => l.lineGid === input.lineId && l.remaining > 0),
        )?.locationGid ?? null;
      const begun = await step<{ calculatedOrder: { id: string } | null; userErrors: UserError[] }>(
        ORDER_EDIT_BEGIN_MUTATION,
        { id: order.shopify_order_gid },
        "orderEditBegin",
      );
      const calc = begun.calculatedOrder!.id;
      await step(
        ORDER_EDIT_SET_QUANTITY_MUTATION,
        {
          id: calc,
          lineItemId: input.lineId.replace("/LineItem/", "/CalculatedLineItem/"),
          quantity: line.currentQuantity - input.quantity,
        },
        "orderEditSetQuantity",
      );
      await step(
        ORDER_EDIT_ADD_VARIANT_MUTATION,
        { id: calc, variantId: input.variantGid, quantity: input.quantity, locationId: where },
        "orderEditAddVariant",
      );
      await step(
        ORDER_EDIT_COMMIT_MUTATION,
        { id: calc, notifyCustomer: input.notifyCustomer, staffNote: input.reason },
        "orderEditCommit",
      );
      return { before, substituted: true };
    }
    case "close": {
      await sendMutation(
        transport,
        ORDER_CLOSE_MUTATION,
        { input: { id: order.shopify_order_gid } },
        "orderClose",
      );
      return { closed: true };
    }
    case "return_process": {
      const action = input as ReturnProcessAction;
      const state = await readReturn(transport, action.returnGid);
      if (!state) throw new Refused("NOT_FOUND", `return ${action.returnGid} no longer exists in Shopify`);
      const processed = new Map(state.returnLineItems.nodes.map((l) => [l.id, l.processedQuantity]));
      const rfoLines = state.reverseFulfillmentOrders.nodes.flatMap((r) => r.lineItems.nodes);
      const todo = action.lines.filter(
        (l) => (processed.get(l.returnLineGid) ?? 0) < l.processedBefore + l.quantity,
      );
      if (todo.length > 0) {
        if (state.status !== "OPEN")
          throw new Refused(
            "RETURN_NOT_OPEN",
            `return ${action.returnGid} is ${state.status.toLowerCase()} in Shopify`,
          );
        const lines = todo.map((l) => {
          const rfo = rfoLines.find((x) => x.fulfillmentLineItem?.id === l.fulfillmentLineItemGid);
          return {
            id: l.returnLineGid,
            quantity: l.quantity,
            dispositions:
              rfo === undefined
                ? []
                : l.dispositions
                    .filter((d) => d.quantity > 0)
                    .map((d) => ({
                      reverseFulfillmentOrderLineItemId: rfo.id,
                      quantity: d.quantity,
                      dispositionType: d.type,
                      ...(d.locationGid ? { locationId: d.locationGid } : {}),
                    })),
          };
        });
        await sendMutation(
          transport,
          RETURN_PROCESS_MUTATION,
          { input: { returnId: action.returnGid, returnLineItems: lines, notifyCustomer: false } },
          "returnProcess",
        );
      }
      const after = await readReturn(transport, action.returnGid);
      if (after && hooks.onReturnState) await hooks.onReturnState(ctx, a.store_id, a.order_id, after);
      return { processed: todo.length };
    }
  }
}

/**
 * Shopify lowered its on_hand by the units it dropped (a cancellation without restock): the delta
 * baseline follows where they waited, and the push sends the hub's value back (the ledger did not
 * lose them: the back office counts what it holds).
 */
async function followUnitsRemoved(
  ctx: AppContext,
  storeId: number,
  orderId: number,
  fos: readonly {
    status: string;
    locationGid: string | null;
    lines: readonly { lineGid: string; remaining: number }[];
  }[],
  skuOfLine: ReadonlyMap<string, string | null>,
): Promise<void> {
  const now = ctx.clock.now();
  await ctx.database.db.transaction().execute(async (trx) => {
    const variantOf = new Map<string, number | null>(
      (
        await trx
          .selectFrom("order_lines")
          .select(["shopify_line_gid", "variant_id"])
          .where("order_id", "=", orderId)
          .execute()
      ).map((l) => [l.shopify_line_gid, l.variant_id]),
    );
    // A line the hub has not imported yet (one its own order edit added a moment ago, the new
    // order version not read yet) still had its units removed: its variant by SKU, as intake links
    // it (the store's own link wins, otherwise the hub variant of that SKU).
    const unknown = fos.flatMap((f) => f.lines.map((l) => l.lineGid)).filter((g) => !variantOf.has(g));
    const skus = [
      ...new Set(unknown.map((g) => skuOfLine.get(g) ?? null).filter((x): x is string => x !== null)),
    ];
    if (skus.length > 0) {
      const bySku = new Map<string, number>();
      for (const r of await trx
        .selectFrom("variants as v")
        .leftJoin("variant_links as l", (j) =>
          j.onRef("l.variant_id", "=", "v.id").on("l.store_id", "=", storeId),
        )
        .select(["v.id", "v.sku", "l.variant_id as linked"])
        .where("v.sku", "in", skus)
        .execute())
        if (r.linked !== null || !bySku.has(r.sku)) bySku.set(r.sku, r.id);
      for (const g of unknown) {
        const sku = skuOfLine.get(g);
        if (sku != null && bySku.has(sku)) variantOf.set(g, bySku.get(sku)!);
      }
    }
    const changes = fos.flatMap((f) =>
      f.locationGid === null || f.status === "CLOSED" || f.status === "CANCELLED"
        ? []
        : f.lines.flatMap((l) => {
            const v = variantOf.get(l.lineGid);
            return v == null || l.remaining <= 0
              ? []
              : [{ variantId: v, locationGid: f.locationGid!, delta: -l.remaining }];
          }),
    );
    await followShopifyChange(trx, storeId, changes);
    if (changes.length > 0)
      await markStoreDirtyFor(trx, storeId, [...new Set(changes.map((c) => c.variantId))], now);
  });
}

async function readOrderState(transport: AdminTransport, orderGid: string) {
  const { data } = await transport.graphql<{
    order: {
      id: string;
      cancelledAt: string | null;
      closed: boolean;
      lineItems: {
        nodes: { id: string; sku: string | null; currentQuantity: number; unfulfilledQuantity: number }[];
      };
    } | null;
  }>(ORDER_STATE_QUERY, { id: orderGid }, { estimatedCost: 110 });
  return data.order;
}

/**
 * A cancelled order's units the back office shipped through the hub (their `sale` is in the
 * ledger) that Shopify never fulfilled come back under the store's restock rule: one `return`
 * movement per line, keyed by the order and line, so a second cancellation adds nothing.
 */
export async function restockShippedNotFulfilled(
  ctx: AppContext,
  storeId: number,
  orderId: number,
  orderGid: string,
): Promise<number> {
  const db = ctx.database.db;
  const settings = await loadFulfillmentSettings(db, storeId);
  if (settings.restockRule === "none") return 0;
  const open = await db
    .selectFrom("shipment_lines as l")
    .innerJoin("shipments as s", "s.id", "l.shipment_id")
    .innerJoin("variants as v", "v.id", "l.variant_id")
    .select(["l.shopify_line_gid", "v.sku", "l.quantity", "l.fulfilled_quantity", "s.warehouse_id"])
    .where("s.order_id", "=", orderId)
    .whereRef("l.quantity", ">", "l.fulfilled_quantity")
    .execute();
  if (open.length === 0) return 0;
  const order = await db
    .selectFrom("orders")
    .select("warehouse_id")
    .where("id", "=", orderId)
    .executeTakeFirstOrThrow();
  const warehouseId =
    settings.restockRule === "returns_warehouse" ? settings.returnsWarehouseId : (order.warehouse_id ?? null);
  if (warehouseId === null) return 0;
  const w = await db
    .selectFrom("warehouses")
    .select("code")
    .where("id", "=", warehouseId)
    .executeTakeFirstOrThrow();
  const byLine = new Map<string, { sku: string; quantity: number }>();
  for (const l of open) {
    const cur = byLine.get(l.shopify_line_gid) ?? { sku: l.sku, quantity: 0 };
    cur.quantity += l.quantity - l.fulfilled_quantity;
    byLine.set(l.shopify_line_gid, cur);
  }
  const now = ctx.clock.now();
  // Restocked before (an earlier cancel request of this order): never again.
  const done = new Set(
    (
      await db
        .selectFrom("movements")
        .select("external_id")
        .where("external_id", "like", `cancel-restock:${orderGid}:%`)
        .execute()
    ).map((m) => m.external_id),
  );
  for (const line of byLine.keys()) if (done.has(`cancel-restock:${orderGid}:${line}`)) byLine.delete(line);
  if (byLine.size === 0) return 0;
  const movements = [...byLine].map(([line, v]) => ({
    id: `cancel-restock:${orderGid}:${line}`,
    type: "return",
    sku: v.sku,
    warehouse: w.code,
    quantity: v.quantity,
    occurredAt: new Date(now).toISOString(),
  }));
  const r = await ingestMovements(ctx.database, movements, now, async (trx, ids, at) => {
    // Those shipments will never be fulfilled: they end, saying why.
    await trx
      .updateTable("shipments")
      .set({
        status: "rejected",
        reason: "order cancelled from the back office; units restocked",
        updated_at: now,
      })
      .where("order_id", "=", orderId)
      .where("status", "in", ["pending", "parked"])
      .execute();
    await stockChanged(ctx)(trx, ids, at);
  });
  return r.applied > 0 ? movements.reduce((n, m) => n + m.quantity, 0) : 0;
}

/** Sends the store's due actions; call under the store's lease. */
export async function runOrderActions(
  ctx: AppContext,
  transport: AdminTransport,
  storeId: number,
  hooks: Hooks = {},
  limit = 20,
): Promise<{ done: number; failed: number; retried: number }> {
  const db = ctx.database.db;
  const now = ctx.clock.now();
  const due = await db
    .selectFrom("order_actions")
    .select(["id", "store_id", "order_id", "kind", "input", "attempts", "result", "request_id"])
    .where("store_id", "=", storeId)
    .where("status", "=", "pending")
    .where("next_attempt_at", "<=", now)
    .orderBy("id")
    .limit(limit)
    .execute();
  const out = { done: 0, failed: 0, retried: 0 };
  for (const a of due) {
    try {
      const result = await run(ctx, transport, a, hooks);
      // Fenced, and only over the attempt this pass read: never over another owner's outcome.
      await fencedWrite(db, transport, (d) =>
        d
          .updateTable("order_actions")
          .set({
            status: "done",
            attempts: a.attempts + 1,
            result: JSON.stringify(result ?? null),
            error_code: null,
            last_error: null,
            updated_at: ctx.clock.now(),
          })
          .where("id", "=", a.id)
          .where("status", "=", "pending")
          .where("attempts", "=", a.attempts)
          .execute(),
      );
      out.done++;
      ctx.logger.info({ store: storeId, action: a.kind, request: a.request_id }, "order action done");
    } catch (thrown) {
      if ((thrown as { code?: string }).code === "LEASE_LOST") throw thrown;
      const err = coerceError(thrown);
      const refused = thrown instanceof Refused;
      const permanent = refused || (thrown as { retriable?: boolean }).retriable === false;
      const { attempts, dead, nextAttemptAt } = afterFailure(
        a.attempts,
        ORDER_ACTION_RETRY,
        ctx.clock.now(),
        {
          permanent,
        },
      );
      await fencedWrite(db, transport, (d) =>
        d
          .updateTable("order_actions")
          .set({
            status: dead ? "failed" : "pending",
            attempts,
            next_attempt_at: nextAttemptAt,
            error_code: refused ? (thrown as Refused).code : "SHOPIFY_ERROR",
            last_error: err.message.slice(0, 500),
            updated_at: ctx.clock.now(),
          })
          .where("id", "=", a.id)
          .where("status", "=", "pending")
          .where("attempts", "=", a.attempts)
          .execute(),
      );
      if (dead) out.failed++;
      else out.retried++;
      ctx.logger.warn(
        {
          store: storeId,
          action: a.kind,
          request: a.request_id,
          attempts,
          dead,
          reason: err.message.slice(0, 200),
        },
        "order action not done",
      );
    }
  }
  return out;
}

/** The destination of a move: a managed location of the store mapped to the warehouse. */
export async function locationOfWarehouse(db: Db, storeId: number, code: string): Promise<string> {
  const w = await db.selectFrom("warehouses").select("id").where("code", "=", code).executeTakeFirst();
  if (!w)
    throw new AppError("UNKNOWN_WAREHOUSE", `no warehouse ${code}`, [
      { path: "warehouse", code: "UNKNOWN_WAREHOUSE", message: `no warehouse ${code}` },
    ]);
  const l = await db
    .selectFrom("store_locations as sl")
    .innerJoin("location_warehouses as lw", "lw.store_location_id", "sl.id")
    .select("sl.location_gid")
    .where("sl.store_id", "=", storeId)
    .where("lw.warehouse_id", "=", w.id)
    .where("sl.managed", "=", 1)
    .orderBy("sl.id")
    .limit(1)
    .executeTakeFirst();
  if (!l)
    throw new AppError(
      "INVALID_REQUEST",
      `warehouse ${code} is mapped to no managed location of this store`,
      [
        {
          path: "warehouse",
          code: "WAREHOUSE_NOT_MAPPED",
          message: `map warehouse ${code} to a location of the store (PUT …/locations/mapping) before moving orders there`,
        },
      ],
    );
  return l.location_gid;
}

export type { Trx };
export { warehouseOfLocation };
