/**
 * Numbered, immutable migrations. Never edit a released one: add the next number.
 */
import { type Migration, type MigrationProvider, Migrator } from "kysely";
import type { Database } from "./database.ts";
import { foundation } from "./migrations/0001-foundation.ts";
import { storesAndPush } from "./migrations/0002-stores-and-push.ts";
import { shopsExtra } from "./migrations/0003-shops-extra.ts";
import { orders } from "./migrations/0004-orders.ts";
import { leases } from "./migrations/0005-leases.ts";
import { fulfillment } from "./migrations/0006-fulfillment.ts";
import { stockModel } from "./migrations/0007-stock-model.ts";
import { orderMoney } from "./migrations/0008-order-money.ts";
import { ownership } from "./migrations/0009-ownership.ts";
import { bounds } from "./migrations/0010-bounds.ts";
import { operatorJobs } from "./migrations/0011-operator-jobs.ts";
import { access } from "./migrations/0012-access.ts";
import { consoleViews } from "./migrations/0013-console-views.ts";
import { jobParams } from "./migrations/0014-job-params.ts";
import { products } from "./migrations/0015-products.ts";
import { storeSafetyStock } from "./migrations/0016-store-safety-stock.ts";
import { catalogImport } from "./migrations/0017-catalog-import.ts";
import { workQueue } from "./migrations/0018-work-queue.ts";
import { syncHealth } from "./migrations/0020-sync-health.ts";
import { orderOperations } from "./migrations/0021-order-operations.ts";
import { catalogPublish } from "./migrations/0022-catalog-publish.ts";
import { linkProblemCandidates } from "./migrations/0023-link-problem-candidates.ts";
import { priceGroups } from "./migrations/0024-price-groups.ts";
import { customerPublish } from "./migrations/0025-customer-publish.ts";
import { returnChecks } from "./migrations/0027-return-checks.ts";
import { claimedInboxShipments } from "./migrations/0028-claimed-inbox-shipments.ts";
import { foSyncContent } from "./migrations/0031-fo-sync-content.ts";
import { customerCompanyKey } from "./migrations/0033-customer-company-key.ts";
import { ledgerWritePath } from "./migrations/0038-ledger-write-path.ts";
import { hotUpdateRoom } from "./migrations/0039-hot-update-room.ts";
import { linksByVariant } from "./migrations/0040-links-by-variant.ts";
import { type HubMigration, migrationContext } from "./schema-helpers.ts";

export const MIGRATIONS: readonly HubMigration[] = [
  foundation,
  storesAndPush,
  shopsExtra,
  orders,
  leases,
  fulfillment,
  stockModel,
  orderMoney,
  ownership,
  bounds,
  operatorJobs,
  access,
  consoleViews,
  jobParams,
  products,
  storeSafetyStock,
  catalogImport,
  workQueue,
  syncHealth,
  orderOperations,
  catalogPublish,
  linkProblemCandidates,
  priceGroups,
  customerPublish,
  returnChecks,
  claimedInboxShipments,
  foSyncContent,
  customerCompanyKey,
  ledgerWritePath,
  hotUpdateRoom,
  linksByVariant,
];

export class MigrationError extends Error {
  readonly code = "MIGRATION_FAILED";
  constructor(
    readonly migration: string | undefined,
    cause: unknown,
  ) {
    super(
      `Database migration ${migration ?? "(unknown)"} failed: ${(cause as Error)?.message ?? String(cause)}`,
      {
        cause,
      },
    );
  }
}

/** Applies every pending migration; returns the names applied now. */
export async function migrateToLatest(database: Database): Promise<string[]> {
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const m of MIGRATIONS) out[m.name] = { up: (db) => m.up(migrationContext(db, database.dialect)) };
      return out;
    },
  };
  const migrator = new Migrator({ db: database.db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error");
    throw new MigrationError(failed?.migrationName, error);
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
