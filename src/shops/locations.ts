/**
 * A store's Shopify locations and their mapping to hub warehouses: which locations the hub
 * manages (pushes stock to), which warehouses' sellable stock is summed into each, and the default.
 */
import { z } from "zod";
import type { StoreStockListener } from "../core/context.ts";
import { AppError, type ErrorDetail } from "../core/errors.ts";
import type { Database } from "../db/database.ts";
import { graphql } from "../shopify/graphql.ts";
import { allNodes } from "../shopify/pager.ts";
import type { AdminTransport } from "../shopify/transport.ts";
import { logActivity } from "./activity.ts";

export const LOCATIONS_QUERY = graphql`
  query TillbridgeLocations($after: String) {
    locations(first: 250, after: $after, includeInactive: true) {
      nodes {
        id
        name
        isActive
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

interface LocationsPage {
  locations: {
    nodes: { id: string; name: string; isActive: boolean }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

export interface LocationSyncSummary {
  readonly total: number;
  readonly added: number;
  readonly inactive: number;
}

/**
 * Reads every location of the store into store_locations. Keeps managed/default/mapping on
 * re-sync; locations gone from Shopify (or deactivated) are marked inactive, never deleted.
 */
export async function syncLocations(
  database: Database,
  transport: AdminTransport,
  storeId: number,
  now: number,
): Promise<LocationSyncSummary> {
  const seen = await allNodes(
    async (after) => (await transport.graphql<LocationsPage>(LOCATIONS_QUERY, { after })).data.locations,
  );
  return database.db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom("store_locations")
      .select(["id", "location_gid"])
      .where("store_id", "=", storeId)
      .execute();
    const known = new Map(existing.map((r) => [r.location_gid, Number(r.id)]));
    let added = 0;
    for (const loc of seen) {
      const id = known.get(loc.id);
      if (id === undefined) {
        added++;
        await trx
          .insertInto("store_locations")
          .values({
            store_id: storeId,
            location_gid: loc.id,
            name: loc.name,
            active_in_shopify: loc.isActive ? 1 : 0,
            managed: 0,
            is_default: 0,
            updated_at: now,
          })
          .execute();
      } else {
        await trx
          .updateTable("store_locations")
          .set({ name: loc.name, active_in_shopify: loc.isActive ? 1 : 0, updated_at: now })
          .where("id", "=", id)
          .execute();
      }
    }
    const present = new Set(seen.map((l) => l.id));
    const gone = existing.filter((r) => !present.has(r.location_gid)).map((r) => Number(r.id));
    if (gone.length > 0) {
      await trx
        .updateTable("store_locations")
        .set({ active_in_shopify: 0, updated_at: now })
        .where("id", "in", gone)
        .execute();
    }
    await logActivity(
      trx,
      {
        storeId,
        flow: "connection",
        kind: "locations_synced",
        message: `read ${seen.length} location(s) from Shopify (${added} new)`,
        data: { added, gone: gone.length },
      },
      now,
    );
    return { total: seen.length, added, inactive: seen.filter((l) => !l.isActive).length + gone.length };
  });
}

export interface LocationView {
  readonly locationId: string;
  readonly name: string;
  readonly activeInShopify: boolean;
  readonly managed: boolean;
  readonly default: boolean;
  readonly warehouses: string[];
}

export async function listLocations(database: Database, storeId: number): Promise<LocationView[]> {
  const locs = await database.db
    .selectFrom("store_locations")
    .selectAll()
    .where("store_id", "=", storeId)
    .orderBy("name")
    .orderBy("id")
    .execute();
  const maps = await database.db
    .selectFrom("location_warehouses as lw")
    .innerJoin("store_locations as sl", "sl.id", "lw.store_location_id")
    .innerJoin("warehouses as w", "w.id", "lw.warehouse_id")
    .select(["lw.store_location_id", "w.code"])
    .where("sl.store_id", "=", storeId)
    .orderBy("w.code")
    .execute();
  const codes = new Map<number, string[]>();
  for (const m of maps) {
    const id = Number(m.store_location_id);
    codes.set(id, [...(codes.get(id) ?? []), m.code]);
  }
  return locs.map((l) => ({
    locationId: l.location_gid,
    name: l.name,
    activeInShopify: l.active_in_shopify === 1,
    managed: l.managed === 1,
    default: l.is_default === 1,
    warehouses: codes.get(Number(l.id)) ?? [],
  }));
}

export const locationMappingInput = z.object({
  locations: z
    .array(
      z
        .object({
          locationId: z.string().min(1),
          warehouses: z.array(z.string().min(1)).max(100),
          managed: z.boolean(),
          default: z.boolean().optional(),
        })
        .strict(),
    )
    .min(1)
    .max(1000),
});
export type LocationMappingInput = z.infer<typeof locationMappingInput>;

/**
 * Sets the mapping of the listed locations atomically (locations not listed keep theirs). Every
 * problem is reported together and nothing changes when there is one. Marks the store's linked
 * variants dirty, since what the hub wants each location to show has changed.
 */
export async function setLocationMapping(
  database: Database,
  storeId: number,
  input: LocationMappingInput,
  now: number,
  /** The push's marking (src/core/context.ts `storeStockChanged`). */
  markAllDue: StoreStockListener,
): Promise<LocationView[]> {
  const problems: ErrorDetail[] = [];
  await database.db.transaction().execute(async (trx) => {
    const locs = await trx
      .selectFrom("store_locations")
      .select(["id", "location_gid", "active_in_shopify"])
      .where("store_id", "=", storeId)
      .execute();
    const byGid = new Map(locs.map((l) => [l.location_gid, l]));
    const codes = [...new Set(input.locations.flatMap((l) => l.warehouses))];
    const whs =
      codes.length === 0
        ? []
        : await trx.selectFrom("warehouses").select(["id", "code"]).where("code", "in", codes).execute();
    const whByCode = new Map(whs.map((w) => [w.code, Number(w.id)]));
    const seen = new Set<string>();
    input.locations.forEach((l, index) => {
      const loc = byGid.get(l.locationId);
      if (!loc) {
        problems.push({
          index,
          path: `locations[${index}].locationId`,
          code: "UNKNOWN_LOCATION",
          message: `location ${l.locationId} is not a location of this store (sync the locations first)`,
        });
      } else if (l.managed && loc.active_in_shopify !== 1) {
        problems.push({
          index,
          path: `locations[${index}].managed`,
          code: "INACTIVE_LOCATION",
          message: `location ${l.locationId} is not active in Shopify and cannot be managed`,
        });
      }
      if (seen.has(l.locationId)) {
        problems.push({
          index,
          path: `locations[${index}].locationId`,
          code: "DUPLICATE_LOCATION",
          message: `location ${l.locationId} is listed twice`,
        });
      }
      seen.add(l.locationId);
      l.warehouses.forEach((code, j) => {
        if (!whByCode.has(code)) {
          problems.push({
            index,
            path: `locations[${index}].warehouses[${j}]`,
            code: "UNKNOWN_WAREHOUSE",
            message: `warehouse ${code} does not exist`,
          });
        }
      });
      if (l.managed && l.warehouses.length === 0) {
        problems.push({
          index,
          path: `locations[${index}].warehouses`,
          code: "NO_WAREHOUSE",
          message: "a managed location needs at least one warehouse",
        });
      }
    });
    const defaults = input.locations.filter((l) => l.default === true);
    if (defaults.length > 1) {
      problems.push({
        path: "locations",
        code: "MULTIPLE_DEFAULTS",
        message: `only one location can be the default (got ${defaults.map((d) => d.locationId).join(", ")})`,
      });
    }
    if (problems.length > 0) return;

    for (const l of input.locations) {
      const id = Number(byGid.get(l.locationId)!.id);
      await trx.deleteFrom("location_warehouses").where("store_location_id", "=", id).execute();
      const whIds = [...new Set(l.warehouses.map((c) => whByCode.get(c)!))];
      if (whIds.length > 0) {
        await trx
          .insertInto("location_warehouses")
          .values(whIds.map((warehouse_id) => ({ store_location_id: id, warehouse_id })))
          .execute();
      }
      await trx
        .updateTable("store_locations")
        .set({
          managed: l.managed ? 1 : 0,
          ...(l.default === undefined ? {} : { is_default: l.default ? 1 : 0 }),
          updated_at: now,
        })
        .where("id", "=", id)
        .execute();
    }
    const newDefault = defaults[0];
    if (newDefault) {
      await trx
        .updateTable("store_locations")
        .set({ is_default: 0, updated_at: now })
        .where("store_id", "=", storeId)
        .where("location_gid", "!=", newDefault.locationId)
        .where("is_default", "=", 1)
        .execute();
    }
    await markAllDue(trx, storeId, now);
    await logActivity(
      trx,
      {
        storeId,
        flow: "inventory_push",
        kind: "mapping_changed",
        message: `location mapping updated for ${input.locations.length} location(s)`,
        data: { locations: input.locations.map((l) => l.locationId) },
      },
      now,
    );
  });
  if (problems.length > 0) {
    throw new AppError(
      "INVALID_MAPPING",
      `the location mapping has ${problems.length} problem(s); nothing was changed`,
      problems,
    );
  }
  return listLocations(database, storeId);
}
