/**
 * Row types of migration 0021 (store pickup, moves, holds, cancellations, returns), added to the
 * hub's `Tables` by declaration merging so this capability's tables stay next to its code.
 */
import type { Generated } from "kysely";

export type OrderActionKind =
  | "ready_for_pickup"
  | "move"
  | "cancel"
  | "cancel_lines"
  | "substitute"
  | "close"
  | "hold"
  | "release_hold"
  | "return_process";
export type OrderActionStatus = "pending" | "done" | "failed";
export type ReturnStatus = "requested" | "open" | "declined" | "canceled" | "closed";

export interface OrderFulfillmentOrderTable {
  id: Generated<number>;
  store_id: number;
  order_id: number;
  fulfillment_order_gid: string;
  location_gid: string | null;
  /** Shopify's status: OPEN, IN_PROGRESS, ON_HOLD, SCHEDULED, CLOSED, CANCELLED, INCOMPLETE. */
  status: string;
  /** Shopify's DeliveryMethodType: SHIPPING, PICK_UP, LOCAL, … */
  delivery_method: string | null;
  /** JSON [{ reason, note }] */
  holds: string;
  /** JSON [{ id, lineGid, remaining, total }] */
  lines: string;
  prepared_at: number | null;
  updated_at: number;
}

export interface OrderFoSyncTable {
  order_id: number;
  store_id: number;
  due: number;
  synced_version: number | null;
  /** The order's `content_hash` the last read saw (migration 0031): versions have whole seconds. */
  synced_content: string | null;
  updated_at: number;
}

export interface OrderActionTable {
  id: Generated<number>;
  store_id: number;
  order_id: number;
  kind: OrderActionKind;
  request_id: string;
  content_hash: string;
  input: string;
  status: OrderActionStatus;
  attempts: number;
  next_attempt_at: number;
  error_code: string | null;
  last_error: string | null;
  result: string | null;
  created_at: number;
  updated_at: number;
}

export interface OrderReturnTable {
  id: Generated<number>;
  store_id: number;
  order_id: number;
  return_gid: string;
  name: string | null;
  status: ReturnStatus;
  lines: string;
  exchange_lines: string;
  created_at: number;
  updated_at: number;
}

export interface ReturnReceiptTable {
  id: Generated<number>;
  store_id: number;
  return_id: number;
  external_id: string;
  content_hash: string;
  lines: string;
  created_at: number;
}

export interface ReturnDispositionTable {
  id: Generated<number>;
  store_id: number;
  disposition_gid: string;
  order_id: number;
  return_gid: string | null;
  line_gid: string | null;
  quantity: number;
  type: string;
  location_gid: string | null;
  created_at: number;
}

declare module "../db/tables.ts" {
  interface Tables {
    order_fulfillment_orders: OrderFulfillmentOrderTable;
    order_fo_sync: OrderFoSyncTable;
    order_actions: OrderActionTable;
    order_returns: OrderReturnTable;
    return_receipts: ReturnReceiptTable;
    return_dispositions: ReturnDispositionTable;
  }
  interface OrderTable {
    /** The warehouse the reservation follows after a move (migration 0021); null: the order's own. */
    fulfil_warehouse_id: number | null;
  }
}
