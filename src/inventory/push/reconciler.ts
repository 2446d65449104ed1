/**
 * One cycle of a store's inventory push: resend what a crash left in flight, then push what
 * differs among the variants whose coalescing window has passed. Level-triggered: marks are
 * cleared only once their push is confirmed, so a failure delays convergence but never loses it.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { logActivity } from "../../core/activity.ts";
import type { Db } from "../../db/database.ts";
import type { InventoryMode } from "../../db/tables.ts";
import { ShopifyError } from "../../shopify/errors.ts";
import type { AdminTransport } from "../../shopify/transport.ts";
import { adaptiveWindowMs, flushReady, maxWindowFor } from "./coalescing.ts";
import { confirmAllLevels } from "./confirm-levels.ts";
import { batchesOf, planPush, rejectedIndexes, type SyncTarget } from "./planner.ts";
import {
  type BatchPayload,
  clearDirty,
  clearItemErrors,
  clearRecheck,
  countBatchSend,
  delayMarks,
  finishBatch,
  loadDirty,
  loadPendingBatches,
  loadTargets,
  noteBatchError,
  noteItemErrors,
  type PendingBatch,
  recordSync,
  type SyncUpdate,
  savePendingBatches,
} from "./push-store.ts";
import {
  activateItem,
  adjustQuantities,
  BULK_READ_THRESHOLD,
  itemLocationKey,
  type MutationOutcome,
  readItemLevels,
  setQuantities,
} from "./shopify-inventory.ts";

const FLOW = "inventory_push";
/** Variants considered per cycle; more wait for the next cycle (a cycle is seconds at most). */
const MAX_VARIANTS_PER_CYCLE = 5000;
/** A stale compare-and-set is re-read and retried this often within one cycle. */
const MAX_STALE_ROUNDS = 3;

export interface PushStore {
  readonly id: number;
  readonly domain: string;
  readonly mode: InventoryMode;
  /** The store's longest coalescing window (ms); null/absent: `PushDeps.windowMs`. */
  readonly coalesceWindowMs?: number | null;
}

export interface PushDeps {
  readonly db: Db;
  readonly now: () => number;
  readonly logger: Logger;
  /**
   * The hub's longest coalescing window (COALESCE_WINDOW_MS) for stores without their own; the
   * window used adapts to the store's bucket (coalescing.ts). 0 pushes everything marked now
   * (the drift check, tests).
   */
  readonly windowMs: number;
  /** Reads of more item-locations than this use a bulk operation (drift check, dry run). */
  readonly bulkReadThreshold?: number;
  /**
   * The store lease's fencing check (src/runtime/leases.ts), run inside each transaction that
   * records what Shopify accepted; throws when another worker has taken the store over.
   */
  readonly fence?: (trx: Db) => Promise<void>;
}

export interface PushCycleResult {
  /** Quantities Shopify accepted in this cycle. */
  readonly pushed: number;
  readonly calls: number;
  readonly staleCorrected: number;
  /** When marks still waiting in their window become ready. */
  readonly nextAt: number | null;
  /** Marks left for a later cycle (failure or more than one cycle's worth). */
  readonly remaining: boolean;
}

export async function runPushCycle(
  deps: PushDeps,
  store: PushStore,
  transport: AdminTransport,
): Promise<PushCycleResult> {
  const log = deps.logger.child({ store: store.domain, flow: FLOW });
  let pushed = 0;
  let calls = 0;
  let staleCorrected = 0;

  // 1. Whatever a crash or a failure left in flight goes first, exactly as it was written.
  for (const batch of await loadPendingBatches(deps.db, store.id)) {
    // Resent after a crash: whether its items were failing is not known here, so it is looked up.
    const r = await sendBatch(deps, store, transport, batch, log, null);
    calls++;
    if (r === "retry-later")
      return { pushed, calls, staleCorrected, nextAt: deps.now() + 1000, remaining: true };
    if (r.kind === "applied") pushed += r.count;
  }

  // 2. New work: variants whose window has passed.
  const marks = await loadDirty(deps.db, store.id, MAX_VARIANTS_PER_CYCLE);
  const windowMs =
    deps.windowMs === 0
      ? 0
      : adaptiveWindowMs(maxWindowFor(store, deps.windowMs), transport.throttleState?.());
  const { ready, nextAt } = flushReady(marks, deps.now(), windowMs);
  if (ready.length === 0) return { pushed, calls, staleCorrected, nextAt, remaining: false };

  const variantIds = ready.map((m) => m.variantId);
  for (let round = 0; round <= MAX_STALE_ROUNDS; round++) {
    const targets = await loadTargets(deps.db, store.id, variantIds);
    let plan = planPush(targets, store.mode, deps.now());
    if (plan.baselines.length > 0) {
      // Fenced: a baseline written by a former owner would make the new owner's next delta
      // repeat a change Shopify already has.
      await deps.db.transaction().execute(async (trx) => {
        await deps.fence?.(trx);
        await recordSync(
          trx,
          store.id,
          plan.baselines.map((t) => ({ ...ids(t), pushed: t.desired })),
          deps.now(),
        );
      });
    }
    if (plan.needsRead.length > 0) {
      // Never confirmed, or Shopify reported a change: read Shopify's value, then plan again.
      // Many at once (a mode switch, a first sync): one bulk read of the store, not ~3 points an item.
      if (plan.needsRead.length > (deps.bulkReadThreshold ?? BULK_READ_THRESHOLD)) {
        // Confirms every linked level of the store at once, so later cycles need no read either.
        await confirmAllLevels(deps.db, transport, store.id, deps.now());
        await clearRecheck(
          deps.db,
          store.id,
          plan.needsRead.filter((t) => t.recheck),
        );
        calls++;
        const unread = (await loadTargets(deps.db, store.id, variantIds)).filter((t) => t.confirmed === null);
        // What the store does not stock at a managed location is activated below, item by item.
        if (unread.length === 0) continue;
        plan = { ...plan, needsRead: unread };
      }
      const { levels, notStocked } = await readCurrent(transport, plan.needsRead);
      await recordRead(deps, store, plan.needsRead, levels);
      calls++;
      for (const t of notStocked) {
        calls++;
        const r = await activate(deps, store, transport, t, log);
        if (r === "retry-later")
          return { pushed, calls, staleCorrected, nextAt: deps.now() + 1000, remaining: true };
        if (r) pushed++;
      }
      continue;
    }
    let again = false;
    // Items Shopify had refused before: their error is cleared once accepted.
    const failing = new Set(
      targets.filter((t) => t.error !== null).map((t) => itemLocationKey(t.inventoryItemGid, t.locationGid)),
    );
    // Items Shopify had reported changed: a set accepted from the confirmed on_hand settles them.
    const rechecked = new Set(
      targets.filter((t) => t.recheck).map((t) => itemLocationKey(t.inventoryItemGid, t.locationGid)),
    );
    const payloads: BatchPayload[] = [
      ...batchesOf(plan.sets).map((quantities): BatchPayload => ({ kind: "set", quantities })),
      ...batchesOf(plan.adjusts).map((changes): BatchPayload => ({ kind: "adjust", changes })),
    ];
    // Fenced: the batches were planned from this owner's view of what Shopify has. A former owner
    // (paused between planning and here while another worker took the store over and pushed the
    // same change) must not leave them pending, or the new owner would resend them and Shopify
    // would apply the change twice (delta mode). All of the round's batches in one statement.
    const batches = await deps.db.transaction().execute(async (trx) => {
      await deps.fence?.(trx);
      return savePendingBatches(
        trx,
        store.id,
        store.mode,
        payloads.map((payload) => ({ key: `tillbridge-${randomUUID()}`, payload })),
        deps.now(),
      );
    });
    // The first alone (its answer tells the throttle model the bucket and the call's cost, and a
    // failure stops the round before more calls are spent), then the rest together: the
    // transport keeps as many in flight as it allows within the budget (their items are
    // distinct, so their outcomes are independent). Each is recorded as it ends.
    const send = (batch: PendingBatch) =>
      sendBatch(deps, store, transport, batch, log, { failing, rechecked });
    const [head, ...rest] = batches;
    const outcomes = head ? [...(await Promise.allSettled([send(head)]))] : [];
    const first = outcomes[0];
    if (first?.status === "fulfilled" && first.value !== "retry-later")
      outcomes.push(...(await Promise.allSettled(rest.map(send))));
    calls += outcomes.length;
    let retryLater = false;
    for (const o of outcomes) {
      // A lost lease or a database error ends the cycle once every call has ended.
      if (o.status === "rejected") throw o.reason;
      const r = o.value;
      if (r === "retry-later") {
        retryLater = true;
        continue;
      }
      if (r.kind === "applied") pushed += r.count;
      if (r.kind === "stale") {
        again = true;
        staleCorrected += r.drifted;
      }
      // Plan again: the refused items now wait for their retry (their marks are kept, due then),
      // the rest of the batch goes out at once.
      if (r.kind === "rejected") again = true;
    }
    if (retryLater) return { pushed, calls, staleCorrected, nextAt: deps.now() + 1000, remaining: true };
    if (!again) {
      // A refused item that needs nothing any more (the hub's value changed back) is no longer failing.
      const resolved = targets.filter(
        (t) => t.error !== null && (store.mode === "absolute" ? t.confirmed : t.pushed) === t.desired,
      );
      if (resolved.length > 0) await clearItemErrors(deps.db, store.id, resolved);
      // A variant with a refused item keeps its mark, due when the item may be retried.
      const held = new Map<number, number>();
      for (const t of plan.waiting)
        held.set(t.variantId, Math.min(held.get(t.variantId) ?? Infinity, t.retryAt!));
      await clearDirty(
        deps.db,
        store.id,
        ready.filter((m) => !held.has(m.variantId)),
      );
      await delayMarks(deps.db, store.id, held, windowMs);
      const retryAt = held.size > 0 ? Math.min(...held.values()) : null;
      return {
        pushed,
        calls,
        staleCorrected,
        nextAt: nextAt === null ? retryAt : retryAt === null ? nextAt : Math.min(nextAt, retryAt),
        remaining: marks.length >= MAX_VARIANTS_PER_CYCLE,
      };
    }
  }
  log.warn(
    { variants: variantIds.length },
    "stock in Shopify kept changing under the push; will retry next cycle",
  );
  return { pushed, calls, staleCorrected, nextAt: deps.now() + 1000, remaining: true };
}

const ids = (t: { variantId: number; inventoryItemGid: string; locationGid: string }) => ({
  variantId: t.variantId,
  inventoryItemGid: t.inventoryItemGid,
  locationGid: t.locationGid,
});

/** Shopify's values for targets; items not stocked at their location are returned apart. */
async function readCurrent(
  transport: AdminTransport,
  targets: readonly SyncTarget[],
): Promise<{ levels: SyncUpdate[]; notStocked: SyncTarget[] }> {
  const byLocation = new Map<string, SyncTarget[]>();
  for (const t of targets) {
    const group = byLocation.get(t.locationGid);
    if (group) group.push(t);
    else byLocation.set(t.locationGid, [t]);
  }
  const levels: SyncUpdate[] = [];
  const notStocked: SyncTarget[] = [];
  for (const [location, group] of byLocation) {
    const found = await readItemLevels(
      transport,
      location,
      group.map((t) => t.inventoryItemGid),
    );
    for (const t of group) {
      const level = found.get(itemLocationKey(t.inventoryItemGid, location));
      if (level === null) notStocked.push(t);
      else levels.push({ ...ids(t), confirmed: level?.onHand ?? 0 });
    }
  }
  return { levels, notStocked };
}

/**
 * Records what a read found. Where Shopify had reported a change (inventory_levels/update) and
 * its on_hand is no longer what the hub last confirmed, the edit is logged as drift: absolute
 * mode then overwrites it, delta mode keeps it as Shopify's own change.
 */
async function recordRead(
  deps: PushDeps,
  store: PushStore,
  read: readonly SyncTarget[],
  levels: readonly SyncUpdate[],
): Promise<void> {
  const found = new Map(levels.map((l) => [itemLocationKey(l.inventoryItemGid, l.locationGid), l.confirmed]));
  // Against the last confirmed value, or (delta mode, never confirmed) what the model expects.
  const before = (t: SyncTarget) => t.confirmed ?? t.pushed ?? t.desired;
  const edited = read.filter((t) => {
    const now = found.get(itemLocationKey(t.inventoryItemGid, t.locationGid));
    return t.recheck && now !== undefined && now !== before(t);
  });
  const now = deps.now();
  await deps.db.transaction().execute(async (trx) => {
    await deps.fence?.(trx);
    await recordSync(trx, store.id, levels, now);
    await clearRecheck(
      trx,
      store.id,
      read.filter((t) => t.recheck),
    );
    if (edited.length === 0) return;
    await logActivity(
      trx,
      {
        storeId: store.id,
        flow: FLOW,
        kind: "shopify_edit",
        level: "warn",
        message:
          store.mode === "absolute"
            ? `Stock was changed in Shopify for ${edited.length} item(s); the hub's values will overwrite them`
            : `Stock was changed in Shopify for ${edited.length} item(s); delta mode keeps Shopify's change`,
        data: {
          drift: edited.slice(0, 100).map((t) => ({
            item: t.inventoryItemGid,
            location: t.locationGid,
            expected: before(t),
            found: found.get(itemLocationKey(t.inventoryItemGid, t.locationGid)),
            hub: t.desired,
          })),
        },
      },
      now,
    );
  });
}

/**
 * An item the store does not stock at a managed location: activate it there with the hub's
 * quantity (Shopify refuses quantities for items without an inventory level).
 */
async function activate(
  deps: PushDeps,
  store: PushStore,
  transport: AdminTransport,
  t: SyncTarget,
  log: Logger,
): Promise<boolean | "retry-later"> {
  let outcome: MutationOutcome;
  try {
    outcome = await activateItem(
      transport,
      t.inventoryItemGid,
      t.locationGid,
      t.desired,
      `tillbridge-${randomUUID()}`,
    );
  } catch (err) {
    log.warn(
      { item: t.inventoryItemGid, location: t.locationGid, err: (err as Error).message },
      "activating an item failed",
    );
    return "retry-later";
  }
  const now = deps.now();
  const where = { item: t.inventoryItemGid, location: t.locationGid };
  if (outcome.kind !== "applied") {
    const message =
      outcome.kind === "rejected" ? outcome.errors.map((e) => e.message).join("; ") : outcome.message;
    const entry = {
      storeId: store.id,
      flow: FLOW,
      kind: "activate_rejected",
      level: "error" as const,
      data: where,
    };
    await logActivity(
      deps.db,
      { ...entry, message: `Shopify refused to stock ${t.inventoryItemGid} at ${t.locationGid}: ${message}` },
      now,
    );
    // Recorded as confirmed 0 so the next change does not retry the activation forever.
    await recordSync(deps.db, store.id, [{ ...ids(t), confirmed: 0 }], now);
    return false;
  }
  await deps.db.transaction().execute(async (trx) => {
    await deps.fence?.(trx);
    await recordSync(trx, store.id, [{ ...ids(t), pushed: t.desired, confirmed: t.desired }], now);
    const message = `Started stocking ${t.inventoryItemGid} at ${t.locationGid} with ${t.desired} available`;
    await logActivity(trx, { storeId: store.id, flow: FLOW, kind: "activated", message, data: where }, now);
  });
  return true;
}

type SendResult =
  | "retry-later"
  | { kind: "applied"; count: number }
  | { kind: "stale"; drifted: number }
  | { kind: "rejected" };

async function sendBatch(
  deps: PushDeps,
  store: PushStore,
  transport: AdminTransport,
  batch: PendingBatch,
  log: Logger,
  /**
   * Keys of items that were failing, and that Shopify had reported changed, when planned; null
   * when unknown (a batch resent after a crash).
   */
  planned: { readonly failing: ReadonlySet<string>; readonly rechecked: ReadonlySet<string> } | null,
): Promise<SendResult> {
  const { payload } = batch;
  const size = payload.kind === "set" ? payload.quantities.length : payload.changes.length;
  // Counted before the call: a batch resent after a crash shows how often it went out.
  await countBatchSend(deps.db, batch.id);
  let outcome: MutationOutcome;
  try {
    outcome =
      payload.kind === "set"
        ? await setQuantities(
            transport,
            payload.quantities.map(({ variantId: _v, ...q }) => q),
            batch.key,
          )
        : await adjustQuantities(
            transport,
            payload.changes.map(({ variantId: _v, desired: _d, ...c }) => c),
            batch.key,
          );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await noteBatchError(deps.db, batch.id, message);
    const retriable = err instanceof ShopifyError ? err.retriable : true;
    log.warn({ batch: batch.id, key: batch.key, retriable, err: message }, "inventory push call failed");
    if (!retriable) {
      await finishBatch(deps.db, batch.id, "failed", message, deps.now());
      await logActivity(
        deps.db,
        {
          storeId: store.id,
          flow: FLOW,
          kind: "push_failed",
          level: "error",
          message: `Pushing ${size} quantities failed and needs attention: ${message}`,
          data: { batchId: batch.id, key: batch.key },
        },
        deps.now(),
      );
    }
    return "retry-later";
  }
  const now = deps.now();
  switch (outcome.kind) {
    case "applied": {
      const updates: SyncUpdate[] =
        payload.kind === "set"
          ? payload.quantities.map((q) => ({
              variantId: q.variantId,
              inventoryItemGid: q.inventoryItemId,
              locationGid: q.locationId,
              pushed: q.quantity,
              confirmed: q.quantity,
            }))
          : payload.changes.map((c) => {
              const after = outcome.after.get(itemLocationKey(c.inventoryItemId, c.locationId));
              return {
                variantId: c.variantId,
                inventoryItemGid: c.inventoryItemId,
                locationGid: c.locationId,
                pushed: c.desired,
                ...(after === undefined ? {} : { confirmed: after }),
              };
            });
      await deps.db.transaction().execute(async (trx) => {
        await deps.fence?.(trx);
        await recordSync(trx, store.id, updates, now);
        const cleared =
          planned === null
            ? updates
            : updates.filter((u) => planned.failing.has(itemLocationKey(u.inventoryItemGid, u.locationGid)));
        if (cleared.length > 0) await clearItemErrors(trx, store.id, cleared);
        // A set compared with the confirmed on_hand and was accepted: what Shopify had reported
        // before it was planned changed nothing the hub must read. A delta adjust does not
        // compare, and a batch resent after a crash may answer from its first sending: theirs stay.
        const settled =
          payload.kind === "set" && planned !== null
            ? updates.filter((u) => planned.rechecked.has(itemLocationKey(u.inventoryItemGid, u.locationGid)))
            : [];
        if (settled.length > 0) await clearRecheck(trx, store.id, settled);
        await finishBatch(trx, batch.id, "done", null, now);
        await logActivity(
          trx,
          {
            storeId: store.id,
            flow: FLOW,
            kind: "push",
            message: `${payload.kind === "set" ? "Set" : "Adjusted"} ${size} quantities in Shopify`,
            data: { batchId: batch.id, key: batch.key, items: size },
          },
          now,
        );
      });
      return { kind: "applied", count: size };
    }
    case "stale": {
      // Someone changed stock in Shopify. The hub is master: read the current values, record
      // the drift, and let the next round overwrite with them as changeFromQuantity.
      if (payload.kind !== "set") {
        await finishBatch(deps.db, batch.id, "failed", outcome.message, now);
        return { kind: "rejected" };
      }
      const { levels: current } = await readCurrent(
        transport,
        payload.quantities.map((q) => ({
          variantId: q.variantId,
          inventoryItemGid: q.inventoryItemId,
          locationGid: q.locationId,
          desired: q.quantity,
          sellable: q.quantity,
          committed: 0,
          confirmed: q.changeFromQuantity,
          pushed: null,
          recheck: false,
          retryAt: null,
          error: null,
        })),
      );
      const expected = new Map(
        payload.quantities.map((q) => [
          itemLocationKey(q.inventoryItemId, q.locationId),
          q.changeFromQuantity,
        ]),
      );
      const drifted = current.filter(
        (c) => expected.get(itemLocationKey(c.inventoryItemGid, c.locationGid)) !== c.confirmed,
      );
      await deps.db.transaction().execute(async (trx) => {
        await recordSync(trx, store.id, current, now);
        await finishBatch(trx, batch.id, "failed", `superseded: ${outcome.message}`, now);
        await logActivity(
          trx,
          {
            storeId: store.id,
            flow: FLOW,
            kind: "stale_corrected",
            level: "warn",
            message: `Shopify's on_hand had moved for ${drifted.length} item(s) since the hub last confirmed it (a fulfillment, restock or edit in Shopify); the hub pushes again from the values read`,
            data: {
              batchId: batch.id,
              drift: drifted.map((d) => ({
                item: d.inventoryItemGid,
                location: d.locationGid,
                expected: expected.get(itemLocationKey(d.inventoryItemGid, d.locationGid)),
                found: d.confirmed,
              })),
            },
          },
          now,
        );
      });
      return { kind: "stale", drifted: drifted.length };
    }
    case "rejected": {
      const message = outcome.errors.map((e) => `${e.code ?? "ERROR"}: ${e.message}`).join("; ");
      const list = payload.kind === "set" ? "quantities" : "changes";
      const items: { variantId: number; inventoryItemGid: string; locationGid: string }[] = (
        payload.kind === "set" ? payload.quantities : payload.changes
      ).map((q) => ({
        variantId: q.variantId,
        inventoryItemGid: q.inventoryItemId,
        locationGid: q.locationId,
      }));
      const named = rejectedIndexes(outcome.errors, list);
      // Errors that name no item refuse the whole batch: every item waits and is retried.
      const refused = named === null ? items : items.filter((_, i) => named.has(i));
      const errorOf = (i: number) =>
        outcome.errors
          .filter((e) => named === null || Number(e.field?.[e.field.indexOf(list) + 1]) === i)
          .map((e) => `${e.code ?? "ERROR"}: ${e.message}`)
          .join("; ");
      await deps.db.transaction().execute(async (trx) => {
        await finishBatch(trx, batch.id, "failed", message, now);
        await noteItemErrors(
          trx,
          store.id,
          refused.map((r) => ({ ...r, error: errorOf(items.indexOf(r)) || message })),
          now,
        );
        await logActivity(
          trx,
          {
            storeId: store.id,
            flow: FLOW,
            kind: "push_rejected",
            level: "error",
            message: `Shopify refused ${refused.length} of ${size} quantities: ${message}. They are retried with backoff; the others are sent again.`,
            data: {
              batchId: batch.id,
              key: batch.key,
              errors: outcome.errors,
              items: refused
                .slice(0, 100)
                .map((r) => ({ item: r.inventoryItemGid, location: r.locationGid })),
            },
          },
          now,
        );
      });
      log.error({ batch: batch.id, errors: outcome.errors }, "Shopify rejected an inventory batch");
      return { kind: "rejected" };
    }
  }
}
