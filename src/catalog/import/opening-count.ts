/**
 * "Take Shopify's counts as the opening count": the one explicit way Shopify's quantities reach
 * the ledger (an import never does). A preview (a job with `apply: false`) reads Shopify's
 * `on_hand` of every linked item at the managed locations and lists the `count` movements it
 * would write: one per linked variant and warehouse, for locations mapped to exactly one
 * warehouse. Applying (`apply: true`) writes them, dated `countedAt`, keyed
 * `opening:<store>:<sku>:<warehouse>` (a crash mid-way and a retry record nothing twice), and
 * marks the store so it never happens again.
 */
import { z } from "zod";
import { type AppContext, stockChanged } from "../../core/context.ts";
import { AppError } from "../../core/errors.ts";
import { chunks } from "../../db/batching.ts";
import { ingestMovements } from "../../inventory/ledger-store.ts";
import { readLevels } from "../../inventory/push/shopify-inventory.ts";
import type { JobControl } from "../../jobs/operator-jobs.ts";
import type { AdminTransport } from "../../shopify/transport.ts";
import { logActivity } from "../../shops/activity.ts";

export const openingCountInput = z
  .object({
    apply: z.boolean().describe("false: a preview, nothing written; true: write the count movements, once"),
    countedAt: z.iso
      .datetime({ offset: true })
      .optional()
      .describe("The date the movements carry (default: now)"),
  })
  .strict();

export interface OpeningCountRow {
  readonly sku: string;
  readonly warehouse: string;
  readonly quantity: number;
}

export interface OpeningCountResult {
  readonly applied: boolean;
  readonly movements: number;
  /** The first rows (at most 1,000; `movements` counts them all). */
  readonly rows: readonly OpeningCountRow[];
  /** Locations skipped because they map to several warehouses (which one holds the units is unknown). */
  readonly skippedLocations: readonly string[];
  readonly countedAt: string;
}

const MAX_ROWS = 1000;

export async function runOpeningCount(
  ctx: AppContext,
  store: { id: number; domain: string },
  transport: AdminTransport,
  control: JobControl,
  params: Record<string, unknown>,
): Promise<OpeningCountResult> {
  const db = ctx.database.db;
  const apply = params.apply === true;
  const countedAt = typeof params.countedAt === "string" ? Date.parse(params.countedAt) : ctx.clock.now();
  const done = await db
    .selectFrom("opening_counts")
    .selectAll()
    .where("store_id", "=", store.id)
    .executeTakeFirst();
  if (done)
    throw new AppError(
      "CONFLICT",
      `Shopify's counts were taken as the opening count of ${store.domain} on ${new Date(Number(done.applied_at)).toISOString()} (${done.movements} movement(s)); it is done once`,
      [{ code: "OPENING_COUNT_DONE", message: "already applied" }],
    );
  await control.progress({ phase: "reading Shopify's quantities at the managed locations" });
  const locations = await db
    .selectFrom("store_locations as l")
    .innerJoin("location_warehouses as lw", "lw.store_location_id", "l.id")
    .innerJoin("warehouses as w", "w.id", "lw.warehouse_id")
    .select(["l.location_gid", "l.name", "w.code"])
    .where("l.store_id", "=", store.id)
    .where("l.managed", "=", 1)
    .where("l.active_in_shopify", "=", 1)
    .execute();
  const warehousesOf = new Map<string, string[]>();
  const names = new Map<string, string>();
  for (const l of locations) {
    warehousesOf.set(l.location_gid, [...(warehousesOf.get(l.location_gid) ?? []), l.code]);
    names.set(l.location_gid, l.name);
  }
  const single = [...warehousesOf].filter(([, w]) => w.length === 1).map(([gid]) => gid);
  const skippedLocations = [...warehousesOf]
    .filter(([, w]) => w.length > 1)
    .map(([gid]) => names.get(gid) ?? gid);
  const links = await db
    .selectFrom("variant_links as l")
    .innerJoin("variants as v", "v.id", "l.variant_id")
    .select(["v.sku", "l.inventory_item_gid"])
    .where("l.store_id", "=", store.id)
    .orderBy("v.sku")
    .execute();
  const levels =
    single.length > 0 && links.length > 0
      ? await readLevels(transport, { now: () => ctx.clock.now() }, single, links.length * single.length)
      : undefined;
  const rows: OpeningCountRow[] = [];
  for (const l of links)
    for (const location of single) {
      const level = levels?.getLevel(l.inventory_item_gid, location);
      if (!level) continue;
      rows.push({
        sku: l.sku,
        warehouse: warehousesOf.get(location)![0]!,
        quantity: Math.max(0, level.onHand),
      });
    }
  if (apply) {
    if (await control.cancelled()) throw new AppError("CONFLICT", "cancelled before anything was written");
    const at = new Date(countedAt).toISOString();
    let written = 0;
    for (const part of chunks(rows, 1000)) {
      await ingestMovements(
        ctx.database,
        part.map((r) => ({
          id: `opening:${store.id}:${r.sku}:${r.warehouse}`,
          type: "count",
          sku: r.sku,
          warehouse: r.warehouse,
          quantity: r.quantity,
          occurredAt: at,
        })),
        ctx.clock.now(),
        stockChanged(ctx),
      );
      written += part.length;
      await control.progress({ phase: "writing count movements", done: written, total: rows.length });
    }
    await db
      .insertInto("opening_counts")
      .values({
        store_id: store.id,
        movements: rows.length,
        counted_at: countedAt,
        applied_at: ctx.clock.now(),
      })
      .execute();
    await logActivity(
      db,
      {
        storeId: store.id,
        flow: "catalog_import",
        kind: "opening_count",
        message: `Shopify's on-hand quantities taken as the opening count: ${rows.length} count movement(s) dated ${at}`,
        data: { movements: rows.length, skippedLocations },
      },
      ctx.clock.now(),
    );
  }
  return {
    applied: apply,
    movements: rows.length,
    rows: rows.slice(0, MAX_ROWS),
    skippedLocations,
    countedAt: new Date(countedAt).toISOString(),
  };
}
