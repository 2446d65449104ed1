/**
 * Import runs as stored (`catalog_imports`) and as the API shows them: mode, fields, progress
 * counts, status; listed per store newest first.
 */
import type { Selectable } from "kysely";
import type { Db } from "../../db/database.ts";
import type { CatalogImportMode, CatalogImportStatus, Tables } from "../../db/tables.ts";
import type { ImportField } from "./import-plan.ts";

export interface ImportRun {
  readonly id: number;
  readonly storeId: number;
  readonly jobId: number;
  readonly mode: CatalogImportMode;
  readonly fields: ImportField[];
  readonly status: CatalogImportStatus;
  readonly bulkOperationGid: string | null;
  /** The result file; "" once the operation ended with nothing to read. */
  readonly resultUrl: string | null;
  readonly lineOffset: number;
  readonly productsRead: number;
  readonly variantsRead: number;
  readonly matched: number;
  readonly created: number;
  readonly updated: number;
  readonly problems: number;
  readonly error: string | null;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | null;
}

export interface ImportSummary {
  readonly importRun: number;
  readonly status: CatalogImportStatus;
  readonly mode: CatalogImportMode;
  readonly fields: readonly ImportField[];
  readonly productsRead: number;
  readonly variantsRead: number;
  /** Shopify variants linked to a hub variant that existed. */
  readonly matched: number;
  /** Hub variants created from Shopify's. */
  readonly created: number;
  /** Hub products changed (create and overwrite). */
  readonly updated: number;
  readonly problems: number;
}

export function importRunOf(r: Selectable<Tables["catalog_imports"]>): ImportRun {
  return {
    id: Number(r.id),
    storeId: Number(r.store_id),
    jobId: Number(r.job_id),
    mode: r.mode,
    fields: JSON.parse(r.fields) as ImportField[],
    status: r.status,
    bulkOperationGid: r.bulk_operation_gid,
    resultUrl: r.result_url,
    lineOffset: Number(r.line_offset),
    productsRead: Number(r.products_read),
    variantsRead: Number(r.variants_read),
    matched: Number(r.matched),
    created: Number(r.created),
    updated: Number(r.updated),
    problems: Number(r.problems),
    error: r.error,
    startedAt: Number(r.started_at),
    updatedAt: Number(r.updated_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  };
}

/** An import run as the API answers it. */
export interface ImportRunView {
  readonly id: number;
  readonly job: number;
  readonly mode: CatalogImportMode;
  readonly fields: readonly ImportField[];
  readonly status: CatalogImportStatus;
  readonly productsRead: number;
  readonly variantsRead: number;
  readonly matched: number;
  readonly created: number;
  readonly updated: number;
  readonly problems: number;
  readonly error: string | null;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
}

export function importRunView(r: ImportRun): ImportRunView {
  return {
    id: r.id,
    job: r.jobId,
    mode: r.mode,
    fields: r.fields,
    status: r.status,
    productsRead: r.productsRead,
    variantsRead: r.variantsRead,
    matched: r.matched,
    created: r.created,
    updated: r.updated,
    problems: r.problems,
    error: r.error,
    startedAt: new Date(r.startedAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
    finishedAt: r.finishedAt === null ? null : new Date(r.finishedAt).toISOString(),
  };
}

export async function listImportRuns(db: Db, storeId: number, limit = 20): Promise<ImportRun[]> {
  const rows = await db
    .selectFrom("catalog_imports")
    .selectAll()
    .where("store_id", "=", storeId)
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
  return rows.map(importRunOf);
}

export async function getImportRun(db: Db, storeId: number, id: number): Promise<ImportRun | undefined> {
  const row = await db
    .selectFrom("catalog_imports")
    .selectAll()
    .where("store_id", "=", storeId)
    .where("id", "=", id)
    .executeTakeFirst();
  return row ? importRunOf(row) : undefined;
}
