/**
 * Before and after the push: the dry run (what the hub would change, without writing) and drift
 * reconciliation (read Shopify's levels for every linked item, compare with what the stock model
 * says Shopify should hold, correct in absolute mode). Both use one comparison.
 */

import { logActivity } from "../../core/activity.ts";
import { AppError } from "../../core/errors.ts";
import { chunks } from "../../db/batching.ts";
import type { Db } from "../../db/database.ts";
import type { AdminTransport } from "../../shopify/transport.ts";
import { confirmAllLevels } from "./confirm-levels.ts";
import type { SyncTarget } from "./planner.ts";
import { loadTargets, markStoreDirtyFor, recordSync, targetPages } from "./push-store.ts";
import { type PushDeps, type PushStore, runPushCycle } from "./reconciler.ts";
import { itemLocationKey, NOT_STOCKED, readLevels } from "./shopify-inventory.ts";
import { expectedAvailable, likelyCause } from "./stock-model.ts";
import { driftMessage, driftParts, dryRunMessage, dryRunParts } from "./summaries.ts";

export interface DryRunRow {
  readonly sku: string;
  readonly inventoryItemId: string;
  readonly locationId: string;
  readonly location: string;
  /** Shopify's quantities now (0 when the item is not stocked there). */
  readonly shopify: { readonly onHand: number; readonly available: number; readonly committed: number };
  /** What the model says Shopify should hold (docs/STOCK-MODEL.md). */
  readonly hub: { readonly onHand: number; readonly available: number; readonly committed: number };
  /** hub.onHand − shopify.onHand: what a push would change. */
  readonly difference: number;
  /** Why the two differ, for an operator; null when they agree. */
  readonly cause: string | null;
}

export interface DryRunReport {
  readonly store: string;
  readonly mode: PushStore["mode"];
  readonly generatedAt: string;
  readonly checked: number;
  /** checked = inSync + differing (see summaries.ts). */
  readonly inSync: number;
  readonly differing: number;
  readonly wouldChange: number;
  /**
   * Delta mode: item-locations where Shopify keeps its own value because the hub only sends its
   * own changes (what `POST …/inventory/initial-sync` would send once); 0 in absolute mode.
   */
  readonly keptByDelta: number;
  readonly rows: readonly DryRunRow[];
  /** Rows beyond MAX_REPORT_ROWS, counted but not listed. */
  readonly rowsOmitted: number;
}

export { BULK_READ_THRESHOLD } from "./shopify-inventory.ts";

/** A dry run's report holds at most this many rows; its counts cover every item-location. */
export const MAX_REPORT_ROWS = 5000;

/**
 * Where the hub and Shopify stand for every linked item-location, with the likely cause of each
 * difference: Shopify's levels are read once (one bulk operation for a large store), then the
 * hub's targets are compared a page at a time and handed to `visit`.
 */
async function compare(
  deps: PushDeps,
  store: PushStore,
  transport: AdminTransport,
  visit: (targets: readonly SyncTarget[], rows: readonly DryRunRow[]) => Promise<void>,
  interleave?: Interleave,
): Promise<void> {
  const db = deps.db;
  const links = await db
    .selectFrom("variant_links")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("store_id", "=", store.id)
    .executeTakeFirstOrThrow();
  const locations = (
    await db
      .selectFrom("store_locations")
      .select(["location_gid", "name"])
      .where("store_id", "=", store.id)
      .where("managed", "=", 1)
      .where("active_in_shopify", "=", 1)
      .execute()
  ).map((l) => l.location_gid);
  const levels = await readLevels(
    transport,
    { now: deps.now },
    locations,
    Number(links.n) * locations.length,
    deps.bulkReadThreshold,
    interleave ? () => interleave.between(true) : undefined,
  );
  const names = await locationNames(db, store.id);
  for await (const page of targetPages(db, store.id)) {
    let targets = page;
    if (interleave) {
      // Levels the push confirmed after Shopify's levels were read: the read is older than what
      // the hub knows, so they are left out of this comparison (the push checked them itself).
      const fresh = new Set<string>();
      for (const part of chunks([...new Set(page.map((t) => t.variantId))], 500))
        for (const r of await db
          .selectFrom("inventory_sync")
          .select(["inventory_item_gid", "location_gid"])
          .where("store_id", "=", store.id)
          .where("variant_id", "in", part)
          .where("confirmed_at", ">", interleave.readFrom)
          .execute())
          fresh.add(itemLocationKey(r.inventory_item_gid, r.location_gid));
      if (fresh.size > 0) {
        targets = page.filter((t) => !fresh.has(itemLocationKey(t.inventoryItemGid, t.locationGid)));
        interleave.skipped += page.length - targets.length;
      }
    }
    const variantIds = [...new Set(targets.map((t) => t.variantId))];
    const skus = new Map<number, string>();
    const waiting = new Set<number>();
    for (const part of chunks(variantIds, 500)) {
      for (const r of await db.selectFrom("variants").select(["id", "sku"]).where("id", "in", part).execute())
        skus.set(r.id, r.sku);
      for (const r of await db
        .selectFrom("push_dirty")
        .select("variant_id")
        .where("store_id", "=", store.id)
        .where("variant_id", "in", part)
        .execute())
        waiting.add(r.variant_id);
    }
    const rows = targets.map((t): DryRunRow => {
      const shopify = levels.getLevel(t.inventoryItemGid, t.locationGid) ?? NOT_STOCKED;
      const hub = { onHand: t.desired, available: expectedAvailable(t), committed: t.committed };
      return {
        sku: skus.get(t.variantId) ?? String(t.variantId),
        inventoryItemId: t.inventoryItemGid,
        locationId: t.locationGid,
        location: names.get(t.locationGid) ?? t.locationGid,
        shopify,
        hub,
        difference: hub.onHand - shopify.onHand,
        cause: likelyCause({
          mode: store.mode,
          shopify,
          hub,
          error: t.error,
          waiting: waiting.has(t.variantId),
          neverSent: t.pushed === null,
        }),
      };
    });
    await visit(targets, rows);
    // The store's push runs between pages: a whole-store check never holds it back.
    await interleave?.between(false);
  }
}

/**
 * A drift check runs the store's push between its steps (while the bulk operation runs, and
 * after each page of the comparison), so a check of 500,000 levels, minutes long, never holds
 * the store's pushes back: both run under the one store lease, one after the other, never at once.
 */
interface Interleave {
  /** When Shopify's levels began to be read: a level confirmed later is newer than the read. */
  readonly readFrom: number;
  /** Item-locations left out because the push confirmed them after the read began. */
  skipped: number;
  /** Runs the push; `waiting`: the bulk operation is still running (an error is only logged then). */
  between(waiting: boolean): Promise<void>;
}

/**
 * The store's mode now, and whether its push is enabled: an operator may switch either while a
 * check runs (minutes for a large store). The push between the check's steps and the check's
 * own correction follow them; with the mode the check began with, a check begun in delta mode
 * went on pushing deltas after a switch to absolute and cleared the switch's marks, so the
 * absolute values never went out.
 */
async function storeNow(
  deps: PushDeps,
  store: PushStore,
): Promise<{ mode: PushStore["mode"]; pushing: boolean }> {
  const row = await deps.db
    .selectFrom("stores")
    .leftJoin("flows", (j) =>
      j.onRef("flows.store_id", "=", "stores.id").on("flows.flow", "=", "inventory_push"),
    )
    .select(["stores.inventory_mode", "flows.state"])
    .where("stores.id", "=", store.id)
    .executeTakeFirst();
  return { mode: row?.inventory_mode ?? store.mode, pushing: row?.state === "enabled" };
}

/** The push, run by a drift check between its steps, at most every INTERLEAVE_EVERY_MS. */
const INTERLEAVE_EVERY_MS = 200;

function interleavedPush(deps: PushDeps, store: PushStore, transport: AdminTransport): Interleave {
  let last = deps.now();
  return {
    readFrom: deps.now(),
    skipped: 0,
    async between(waiting) {
      if (deps.now() - last < INTERLEAVE_EVERY_MS) return;
      try {
        // Only while the store's push is enabled (an operator's check of a paused store pushes
        // nothing), and in the mode the store has now.
        const now = await storeNow(deps, store);
        if (now.pushing) await runPushCycle(deps, { ...store, mode: now.mode }, transport);
      } catch (err) {
        // While the bulk operation runs, a push that fails (a bulk read of its own refused while
        // the check's runs) waits for its own pass; the check goes on. Later, it fails the check.
        if (!waiting) throw err;
        deps.logger.warn(
          { store: store.domain, err: err instanceof Error ? err.message : String(err) },
          "drift check: the push between its steps failed; it runs again in its own pass",
        );
      } finally {
        last = deps.now();
      }
    },
  };
}

async function locationNames(db: Db, storeId: number): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom("store_locations")
    .select(["location_gid", "name"])
    .where("store_id", "=", storeId)
    .execute();
  return new Map(rows.map((r) => [r.location_gid, r.name]));
}

/** Reads Shopify, writes nothing to it; records that the dry run happened. */
export async function dryRun(
  deps: PushDeps,
  store: PushStore,
  transport: AdminTransport,
  onlyDifferences = false,
): Promise<DryRunReport> {
  let checked = 0;
  let differing = 0;
  let deltaSends = 0;
  let omitted = 0;
  const kept: DryRunRow[] = [];
  await compare(deps, store, transport, async (targets, rows) => {
    checked += rows.length;
    for (const r of rows) if (r.difference !== 0) differing++;
    // Delta mode sends only the hub's own changes (desired − baseline).
    for (const t of targets) if (t.pushed !== null && t.pushed !== t.desired) deltaSends++;
    for (const r of rows) {
      if (onlyDifferences && r.difference === 0 && r.cause === null) continue;
      if (kept.length < MAX_REPORT_ROWS) kept.push(r);
      else omitted++;
    }
  });
  // A difference from Shopify's count that delta mode keeps, unless an initial sync sends it once.
  const parts = dryRunParts(store.mode, { checked, differing, deltaSends });
  const { wouldChange, keptByDelta } = parts;
  await logActivity(
    deps.db,
    {
      storeId: store.id,
      flow: "inventory_push",
      kind: "dry_run",
      message: dryRunMessage(store.mode, parts),
      level: keptByDelta > 0 ? "warn" : "info",
      data: { ...parts },
    },
    deps.now(),
  );
  return {
    store: store.domain,
    mode: store.mode,
    generatedAt: new Date(deps.now()).toISOString(),
    checked,
    inSync: parts.inSync,
    differing: parts.differing,
    wouldChange,
    keptByDelta,
    rows: kept.sort((a, b) =>
      a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : a.location < b.location ? -1 : a.location > b.location ? 1 : 0,
    ),
    rowsOmitted: omitted,
  };
}

export async function hasDryRun(db: Db, storeId: number): Promise<boolean> {
  const row = await db
    .selectFrom("activity_log")
    .select("id")
    .where("store_id", "=", storeId)
    .where("kind", "=", "dry_run")
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export interface DriftSummary {
  readonly runId: number;
  /** Item-locations compared. */
  readonly checked: number;
  /** Of those, where Shopify's on_hand differed from what the model says. */
  readonly drifted: number;
  /** Of the drifted, corrected by this check (absolute mode); delta mode corrects none. */
  readonly fixed: number;
  /** checked = inSync + drifted; drifted = fixed + remaining (see summaries.ts). */
  readonly inSync: number;
  readonly remaining: number;
  /**
   * Item-locations the push confirmed while the check ran, after it read Shopify: left out of
   * `checked` (the read is older than what the push saw).
   */
  readonly pushedMeanwhile: number;
}

/**
 * Compares Shopify's quantities with what the model says they should be (the same comparison
 * as the dry run), records Shopify's values as confirmed, and in absolute mode corrects every
 * difference at once (compare-and-set against the value just read). Delta mode reports and
 * keeps Shopify's own changes.
 */
export async function runDriftCheck(
  deps: PushDeps,
  store: PushStore,
  transport: AdminTransport,
  trigger: "schedule" | "operator",
  options: { readonly pushBetween?: boolean } = {},
): Promise<DriftSummary> {
  const started = deps.now();
  const run = await deps.db
    .insertInto("drift_runs")
    .values({
      store_id: store.id,
      trigger,
      status: "running",
      checked: 0,
      drifted: 0,
      fixed: 0,
      error: null,
      started_at: started,
      finished_at: null,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  try {
    let checked = 0;
    const drifted: DryRunRow[] = [];
    // Drifted item-locations as variant → a bit per location: a key string per item-location held
    // some 70 MB when all 500,000 levels of a store differed (a first check after receipts), and
    // a Set per variant some 15 MB at 100,000 variants. A store with more than 52 locations keeps
    // the others in a Set per variant (a safe integer holds 53 bits).
    const locationIndex = new Map<string, number>();
    const indexOf = (locationGid: string) => {
      let li = locationIndex.get(locationGid);
      if (li === undefined) {
        li = locationIndex.size;
        locationIndex.set(locationGid, li);
      }
      return li;
    };
    const driftedAt = new Map<number, number>();
    const driftedBeyond = new Map<number, Set<number>>();
    /** Notes a drifted item-location; false when it was noted already. */
    const noteDrift = (variantId: number, locationGid: string) => {
      const li = indexOf(locationGid);
      if (li >= 52) {
        const set = driftedBeyond.get(variantId) ?? new Set<number>();
        driftedBeyond.set(variantId, set);
        if (set.has(li)) return false;
        set.add(li);
        return true;
      }
      const bits = driftedAt.get(variantId) ?? 0;
      if (Math.floor(bits / 2 ** li) % 2 === 1) return false;
      driftedAt.set(variantId, bits + 2 ** li);
      return true;
    };
    const isDrifted = (variantId: number, locationGid: string) => {
      const li = locationIndex.get(locationGid);
      if (li === undefined) return false;
      if (li >= 52) return driftedBeyond.get(variantId)?.has(li) ?? false;
      return Math.floor((driftedAt.get(variantId) ?? 0) / 2 ** li) % 2 === 1;
    };
    let driftedCount = 0;
    const interleave = options.pushBetween === false ? undefined : interleavedPush(deps, store, transport);
    await compare(
      deps,
      store,
      transport,
      async (targets, rows) => {
        checked += rows.length;
        await recordSync(
          deps.db,
          store.id,
          targets.map((t, i) => ({
            variantId: t.variantId,
            inventoryItemGid: t.inventoryItemGid,
            locationGid: t.locationGid,
            confirmed: rows[i]!.shopify.onHand,
          })),
          deps.now(),
        );
        rows.forEach((r, i) => {
          if (r.difference === 0) return;
          if (drifted.length < 100) drifted.push(r);
          const t = targets[i]!;
          if (noteDrift(t.variantId, t.locationGid)) driftedCount++;
        });
      },
      interleave,
    );
    let fixed = 0;
    // Corrected only in absolute mode as the store has it now (switched to delta during the
    // check, Shopify keeps its own count).
    const mode = (await storeNow(deps, store)).mode;
    if (mode === "absolute" && driftedCount > 0) {
      const variants = [...new Set([...driftedAt.keys(), ...driftedBeyond.keys()])];
      await markStoreDirtyFor(deps.db, store.id, variants, deps.now());
      await runPushCycle({ ...deps, windowMs: 0 }, { ...store, mode }, transport);
      // Fixed: a drifted item-location whose confirmed value is now what the model says.
      for (const part of chunks(variants, 1000))
        fixed += (await loadTargets(deps.db, store.id, part)).filter(
          (t) => isDrifted(t.variantId, t.locationGid) && t.confirmed === t.desired,
        ).length;
    }
    const parts = driftParts({ checked, drifted: driftedCount, fixed });
    const summary = { runId: run.id, ...parts, pushedMeanwhile: interleave?.skipped ?? 0 };
    await deps.db
      .updateTable("drift_runs")
      .set({
        status: "done",
        checked: summary.checked,
        drifted: summary.drifted,
        fixed: summary.fixed,
        finished_at: deps.now(),
      })
      .where("id", "=", run.id)
      .execute();
    await logActivity(
      deps.db,
      {
        storeId: store.id,
        flow: "inventory_push",
        kind: "drift_check",
        level: parts.remaining > 0 ? "warn" : "info",
        message: driftMessage(mode, parts),
        data: {
          runId: run.id,
          ...parts,
          pushedMeanwhile: summary.pushedMeanwhile,
          drifted: drifted.map((d) => ({
            sku: d.sku,
            item: d.inventoryItemId,
            location: d.locationId,
            expected: d.hub.onHand,
            found: d.shopify.onHand,
            difference: d.difference,
            cause: d.cause,
          })),
        },
      },
      deps.now(),
    );
    return summary;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await deps.db
      .updateTable("drift_runs")
      .set({ status: "failed", error: message, finished_at: deps.now() })
      .where("id", "=", run.id)
      .execute();
    await logActivity(
      deps.db,
      {
        storeId: store.id,
        flow: "inventory_push",
        kind: "drift_check_failed",
        level: "error",
        message: `Drift check failed: ${message}`,
        data: { runId: run.id },
      },
      deps.now(),
    );
    throw err;
  }
}

export interface InitialSyncSummary {
  /** Item-locations whose Shopify value was read. */
  readonly read: number;
  /** Of those, where the hub's value will now be sent once. */
  readonly toSend: number;
}

/**
 * Delta mode's one-off start from the hub's values: reads Shopify's on_hand everywhere (one bulk
 * operation for a large store) and takes it as the delta baseline, so the next push sends the
 * difference to the hub's value once; afterwards only the hub's own changes go out again.
 */
export async function initialDeltaSync(
  deps: PushDeps,
  store: PushStore,
  transport: AdminTransport,
): Promise<InitialSyncSummary> {
  if (store.mode !== "delta")
    throw new AppError(
      "CONFLICT",
      `store ${store.domain} is in absolute mode, which already sets the hub's values; an initial sync is for delta mode`,
    );
  const now = deps.now();
  const read = await confirmAllLevels(deps.db, transport, store.id, now);
  await deps.db
    .updateTable("inventory_sync")
    .set((eb) => ({ pushed: eb.ref("confirmed") }))
    .where("store_id", "=", store.id)
    .where("confirmed", "is not", null)
    .execute();
  const toSend: SyncTarget[] = [];
  for await (const page of targetPages(deps.db, store.id))
    for (const t of page) if (t.pushed !== null && t.pushed !== t.desired) toSend.push(t);
  await markStoreDirtyFor(deps.db, store.id, [...new Set(toSend.map((t) => t.variantId))], now);
  await logActivity(
    deps.db,
    {
      storeId: store.id,
      flow: "inventory_push",
      kind: "initial_sync",
      message: `Initial sync: Shopify's count read at ${read} item-location(s); the hub's value goes out once at ${toSend.length}`,
      data: { read, toSend: toSend.length },
    },
    now,
  );
  return { read, toSend: toSend.length };
}

/**
 * Enabling the push in delta mode sends nothing for what the hub holds already: when the last dry
 * run found Shopify's count different from the hub's, the operator is told (activity, warn) what
 * stays and how to send the hub's values once.
 */
export async function warnOfDeltaDifferences(db: Db, storeId: number, now: number): Promise<void> {
  const store = await db
    .selectFrom("stores")
    .select(["inventory_mode", "domain"])
    .where("id", "=", storeId)
    .executeTakeFirst();
  if (store?.inventory_mode !== "delta") return;
  const last = await db
    .selectFrom("activity_log")
    .select("data")
    .where("store_id", "=", storeId)
    .where("kind", "=", "dry_run")
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
  const kept = Number((JSON.parse(last?.data ?? "{}") as { keptByDelta?: number }).keptByDelta ?? 0);
  if (kept === 0) return;
  await logActivity(
    db,
    {
      storeId,
      flow: "inventory_push",
      kind: "delta_kept",
      level: "warn",
      message: `Delta mode: Shopify keeps its own count at ${kept} item-location(s) where the last dry run found it different from the hub; only the hub's later changes are sent. To send the hub's values once: POST /api/v1/stores/${store.domain}/inventory/initial-sync (or switch to absolute mode).`,
      data: { keptByDelta: kept },
    },
    now,
  );
}
