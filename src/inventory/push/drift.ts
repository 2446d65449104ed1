/**
 * Before and after the push: the dry run (what the hub would change, without writing) and drift
 * reconciliation (read Shopify's levels for every linked item, compare with what Shopify last
 * confirmed, correct in absolute mode).
 */
import type { Db } from "../../db/database.ts";
import type { AdminTransport } from "../../shopify/transport.ts";
import { logActivity } from "../../shops/activity.ts";
import { loadTargets, markStoreDirtyFor, recordSync } from "./push-store.ts";
import { type PushDeps, type PushStore, runPushCycle } from "./reconciler.ts";
import { itemLocationKey, readAllLevelsBulk, readLocationLevels } from "./shopify-inventory.ts";

export interface DryRunRow {
  readonly sku: string;
  readonly inventoryItemId: string;
  readonly locationId: string;
  readonly location: string;
  /** Shopify's `available` now (0 when the item is not stocked there). */
  readonly shopify: number;
  /** The hub's sellable for that location. */
  readonly hub: number;
  readonly difference: number;
}

export interface DryRunReport {
  readonly store: string;
  readonly mode: PushStore["mode"];
  readonly generatedAt: string;
  readonly checked: number;
  readonly wouldChange: number;
  readonly rows: readonly DryRunRow[];
}

/** Above this many item-locations one bulk operation is cheaper than paging level by level. */
export const BULK_READ_THRESHOLD = 2500;

async function shopifyLevels(
  transport: AdminTransport,
  locationGids: readonly string[],
  targets: number,
  deps: PushDeps,
): Promise<Map<string, number>> {
  if (targets > (deps.bulkReadThreshold ?? BULK_READ_THRESHOLD)) {
    return readAllLevelsBulk(transport, { now: deps.now }, new Set(locationGids));
  }
  const all = new Map<string, number>();
  for (const location of locationGids)
    for (const [k, v] of await readLocationLevels(transport, location)) all.set(k, v);
  return all;
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
  const targets = await loadTargets(deps.db, store.id, "all");
  const levels = await shopifyLevels(
    transport,
    [...new Set(targets.map((t) => t.locationGid))],
    targets.length,
    deps,
  );
  const names = await locationNames(deps.db, store.id);
  const skus = new Map(
    (
      await deps.db
        .selectFrom("variants")
        .select(["id", "sku"])
        .where("id", "in", targets.length ? [...new Set(targets.map((t) => t.variantId))] : [-1])
        .execute()
    ).map((r) => [r.id, r.sku]),
  );
  const rows: DryRunRow[] = targets.map((t) => {
    const shopify = levels.get(itemLocationKey(t.inventoryItemGid, t.locationGid)) ?? 0;
    return {
      sku: skus.get(t.variantId) ?? String(t.variantId),
      inventoryItemId: t.inventoryItemGid,
      locationId: t.locationGid,
      location: names.get(t.locationGid) ?? t.locationGid,
      shopify,
      hub: t.desired,
      difference: t.desired - shopify,
    };
  });
  const wouldChange = rows.filter((r) => r.difference !== 0).length;
  await logActivity(
    deps.db,
    {
      storeId: store.id,
      flow: "inventory_push",
      kind: "dry_run",
      message: `Dry run: ${rows.length} item-locations checked, ${wouldChange} would change`,
      data: { checked: rows.length, wouldChange },
    },
    deps.now(),
  );
  return {
    store: store.domain,
    mode: store.mode,
    generatedAt: new Date(deps.now()).toISOString(),
    checked: rows.length,
    wouldChange,
    rows: (onlyDifferences ? rows.filter((r) => r.difference !== 0) : rows).sort(
      (a, b) => a.sku.localeCompare(b.sku) || a.location.localeCompare(b.location),
    ),
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
  readonly checked: number;
  readonly drifted: number;
  readonly fixed: number;
}

/**
 * Compares Shopify's levels with the last confirmed values. Drift is recorded as the new
 * confirmed value; in absolute mode every item whose Shopify value differs from the hub's is
 * pushed again at once (compare-and-set against the value just read).
 */
export async function runDriftCheck(
  deps: PushDeps,
  store: PushStore,
  transport: AdminTransport,
  trigger: "schedule" | "operator",
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
    const targets = await loadTargets(deps.db, store.id, "all");
    const levels = await shopifyLevels(
      transport,
      [...new Set(targets.map((t) => t.locationGid))],
      targets.length,
      deps,
    );
    const drifted = targets.filter(
      (t) =>
        t.confirmed !== null &&
        (levels.get(itemLocationKey(t.inventoryItemGid, t.locationGid)) ?? 0) !== t.confirmed,
    );
    await recordSync(
      deps.db,
      store.id,
      targets.map((t) => ({
        variantId: t.variantId,
        inventoryItemGid: t.inventoryItemGid,
        locationGid: t.locationGid,
        confirmed: levels.get(itemLocationKey(t.inventoryItemGid, t.locationGid)) ?? 0,
      })),
      deps.now(),
    );
    let fixed = 0;
    if (store.mode === "absolute") {
      const wrong = targets.filter(
        (t) => (levels.get(itemLocationKey(t.inventoryItemGid, t.locationGid)) ?? 0) !== t.desired,
      );
      if (wrong.length > 0) {
        await markStoreDirtyFor(deps.db, store.id, [...new Set(wrong.map((t) => t.variantId))], deps.now());
        const result = await runPushCycle({ ...deps, windowMs: 0 }, store, transport);
        fixed = result.pushed;
      }
    }
    const summary = { runId: run.id, checked: targets.length, drifted: drifted.length, fixed };
    await deps.db
      .updateTable("drift_runs")
      .set({
        status: "done",
        checked: summary.checked,
        drifted: summary.drifted,
        fixed,
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
        level: drifted.length > 0 ? "warn" : "info",
        message: `Drift check: ${summary.checked} checked, ${summary.drifted} drifted, ${fixed} fixed`,
        data: {
          runId: run.id,
          drifted: drifted.slice(0, 100).map((d) => ({
            item: d.inventoryItemGid,
            location: d.locationGid,
            expected: d.confirmed,
            found: levels.get(itemLocationKey(d.inventoryItemGid, d.locationGid)) ?? 0,
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
