/**
 * What each flow of a store is doing now, derived from what the hub keeps: the flow's state and
 * failure, the store's connection, and the flow's own queue (dirty marks for the inventory push,
 * the webhook inbox for order intake, pending shipments for the fulfillment push).
 *
 * The numbers of one answer agree with each other by construction: a flow's backlog and lag come
 * from one statement (lag is null exactly when nothing waits), and the status is a pure function
 * of the state, the failure and the store (`flowStatus`), never of a separate count.
 */

import { publishQueue } from "../catalog/publish/publish-store.ts";
import { customerPublishQueue } from "../customers/publish.ts";
import type { Db } from "../db/database.ts";
import type { FlowName, FlowState } from "../db/tables.ts";
import { ORDER_TOPICS, TRANSACTION_TOPIC } from "../orders/inbox.ts";
import { FLOWS } from "./stores.ts";

export type FlowStatus = "running" | "paused" | "failing" | "disconnected" | "disabled";

export interface FlowStatusView {
  readonly flow: FlowName;
  /** The switch as set: disabled, enabled or paused. */
  readonly state: FlowState;
  readonly status: FlowStatus;
  /** Why it is failing, disconnected or paused; null when running or disabled. */
  readonly reason: string | null;
  /** Items waiting for this flow. */
  readonly backlog: number;
  /** Age in seconds of the oldest waiting item; null exactly when the backlog is 0. */
  readonly lagSeconds: number | null;
  /** When this flow last did its work successfully (epoch ms); null: never. */
  readonly lastSuccessAt: number | null;
}

export interface FlowFacts {
  readonly state: FlowState;
  readonly failure: string | null;
  readonly storeStatus: "active" | "disconnected";
  readonly storeReason: string | null;
}

/** The status of a flow from its facts (pure). */
export function flowStatus(f: FlowFacts): { status: FlowStatus; reason: string | null } {
  if (f.storeStatus === "disconnected")
    return { status: "disconnected", reason: f.storeReason ?? "the store is disconnected" };
  if (f.state === "disabled") return { status: "disabled", reason: null };
  if (f.failure !== null) return { status: "failing", reason: f.failure };
  if (f.state === "paused") return { status: "paused", reason: "paused by an operator" };
  return { status: "running", reason: null };
}

interface Queue {
  readonly backlog: number;
  readonly oldestAt: number | null;
  readonly lastSuccessAt: number | null;
  /** A failure seen in the queue itself (e.g. a batch Shopify refused after its last success). */
  readonly failure?: string | null;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

const INTAKE_TOPICS = [...ORDER_TOPICS, TRANSACTION_TOPIC];

async function inventoryQueue(db: Db, storeId: number): Promise<Queue> {
  const waiting = await db
    .selectFrom("push_dirty")
    .select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.min("first_marked_at").as("oldest")])
    .where("store_id", "=", storeId)
    .executeTakeFirstOrThrow();
  const lastDone = await db
    .selectFrom("push_batches")
    .select(["id", "finished_at"])
    .where("store_id", "=", storeId)
    .where("status", "=", "done")
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
  const lastFailed = await db
    .selectFrom("push_batches")
    .select(["id", "last_error"])
    .where("store_id", "=", storeId)
    .where("status", "=", "failed")
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
  const failedSinceSuccess = lastFailed && (!lastDone || Number(lastFailed.id) > Number(lastDone.id));
  return {
    backlog: Number(waiting.n),
    oldestAt: num(waiting.oldest),
    lastSuccessAt: num(lastDone?.finished_at),
    failure: failedSinceSuccess
      ? `Shopify refused push batch ${lastFailed.id}: ${lastFailed.last_error ?? "no reason given"}`
      : null,
  };
}

async function intakeQueue(db: Db, storeId: number, domain: string): Promise<Queue> {
  const waiting = await db
    .selectFrom("webhook_inbox")
    .select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.min("received_at").as("oldest")])
    .where("status", "in", ["pending", "failed"])
    .where("shop", "=", domain)
    .where("topic", "in", INTAKE_TOPICS)
    .executeTakeFirstOrThrow();
  const last = await db
    .selectFrom("orders")
    .select("imported_at")
    .where("store_id", "=", storeId)
    .where("imported_at", "is not", null)
    .orderBy("imported_at", "desc")
    .limit(1)
    .executeTakeFirst();
  return { backlog: Number(waiting.n), oldestAt: num(waiting.oldest), lastSuccessAt: num(last?.imported_at) };
}

async function fulfillmentQueue(db: Db, storeId: number): Promise<Queue> {
  const waiting = await db
    .selectFrom("shipments")
    .select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.min("created_at").as("oldest")])
    .where("store_id", "=", storeId)
    .where("status", "=", "pending")
    .executeTakeFirstOrThrow();
  const last = await db
    .selectFrom("shipments")
    .select("updated_at")
    .where("store_id", "=", storeId)
    .where("status", "=", "applied")
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
  return { backlog: Number(waiting.n), oldestAt: num(waiting.oldest), lastSuccessAt: num(last?.updated_at) };
}

const EMPTY: Queue = { backlog: 0, oldestAt: null, lastSuccessAt: null };

/** Every flow of the store, in FLOWS order. */
export async function storeFlowStatus(
  db: Db,
  store: { id: number; domain: string; status: "active" | "disconnected"; status_reason: string | null },
  now: number,
): Promise<FlowStatusView[]> {
  const rows = await db
    .selectFrom("flows")
    .select(["flow", "state", "failure"])
    .where("store_id", "=", store.id)
    .execute();
  const byFlow = new Map(rows.map((r) => [r.flow, r]));
  const out: FlowStatusView[] = [];
  for (const flow of FLOWS) {
    const row = byFlow.get(flow);
    const q =
      flow === "inventory_push"
        ? await inventoryQueue(db, store.id)
        : flow === "order_intake"
          ? await intakeQueue(db, store.id, store.domain)
          : flow === "fulfillment_push"
            ? await fulfillmentQueue(db, store.id)
            : flow === "catalog_publish"
              ? await publishQueue(db, store.id)
              : flow === "customer_publish"
                ? await customerPublishQueue(db, store.id)
                : EMPTY;
    const state = row?.state ?? "disabled";
    const { status, reason } = flowStatus({
      state,
      failure: row?.failure ?? (state === "enabled" ? (q.failure ?? null) : null),
      storeStatus: store.status,
      storeReason: store.status_reason,
    });
    const oldest = q.backlog > 0 ? q.oldestAt : null;
    out.push({
      flow,
      state,
      status,
      reason,
      backlog: q.backlog,
      lagSeconds: oldest === null ? null : Math.max(0, Math.floor((now - oldest) / 1000)),
      lastSuccessAt: q.lastSuccessAt,
    });
  }
  return out;
}
