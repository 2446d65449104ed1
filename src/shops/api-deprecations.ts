/**
 * Shopify's `X-Shopify-API-Deprecated-Reason` answers, per store and operation: the console and
 * /metrics show them so the move to the next API version is planned before a field disappears.
 * Recorded from the transport's hook (src/shopify/admin-client.ts `onDeprecated`), outside any
 * transaction; a lost record is seen again on the next call.
 */
import type { Db } from "../db/database.ts";
import { SHOPIFY_API_VERSION } from "../shopify/api-version.ts";

export interface DeprecationView {
  readonly operation: string;
  readonly apiVersion: string;
  readonly reason: string;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
  readonly count: number;
}

export async function recordDeprecation(
  db: Db,
  storeId: number,
  operation: string,
  reason: string,
  now: number,
): Promise<void> {
  await db
    .insertInto("api_deprecations")
    .values({
      store_id: storeId,
      operation: operation.slice(0, 200),
      api_version: SHOPIFY_API_VERSION,
      reason,
      first_seen_at: now,
      last_seen_at: now,
      count: 1,
    })
    .onConflict((oc) =>
      oc.columns(["store_id", "operation"]).doUpdateSet((eb) => ({
        api_version: SHOPIFY_API_VERSION,
        reason,
        last_seen_at: now,
        count: eb(eb.ref("api_deprecations.count"), "+", 1),
      })),
    )
    .execute();
}

export async function listDeprecations(db: Db, storeId: number): Promise<DeprecationView[]> {
  const rows = await db
    .selectFrom("api_deprecations")
    .selectAll()
    .where("store_id", "=", storeId)
    .orderBy("last_seen_at", "desc")
    .execute();
  return rows.map((r) => ({
    operation: r.operation,
    apiVersion: r.api_version,
    reason: r.reason,
    firstSeenAt: Number(r.first_seen_at),
    lastSeenAt: Number(r.last_seen_at),
    count: Number(r.count),
  }));
}
