/**
 * HTTP routes of the catalog publish: the store's rules (validated, audited), the dry run (an
 * operator job under the store's lease) and its rows, and the per-product publish state with
 * Shopify's errors (product key and field), with a retry for a refused product.
 */
import { z } from "zod";
import type { AppContext } from "../../core/context.ts";
import { decodeCursor, encodeCursor } from "../../core/cursor.ts";
import { AppError } from "../../core/errors.ts";
import { normalizeKey } from "../../core/input.ts";
import { route } from "../../core/route.ts";
import { answerFromJob, type JobRunner, waitMs, waitSecondsParam } from "../../jobs/runner.ts";
import { recordSettingChange } from "../../shops/setting-changes.ts";
import { requireStore } from "../../shops/stores.ts";
import { bulkRuns } from "./bulk-publish.ts";
import { loadRules, publishDb, saveRules } from "./publish-store.ts";
import { publishRulesInput } from "./rules.ts";

const domainParams = z.object({ domain: z.string().min(1).max(255) });
const pageQuery = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export function catalogPublishRoutes(ctx: AppContext, deps: { jobs: JobRunner }) {
  const { database } = ctx;
  const db = database.db;
  const pdb = publishDb(db);
  return [
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/catalog-publish/settings",
      tag: "catalog",
      auth: "store.read",
      summary:
        "The store's publish rules as saved (absent keys take their defaults) and as applied (every default filled in).",
      params: domainParams,
      async handler({ params }) {
        const store = await requireStore(database, params.domain);
        const r = await loadRules(db, store.id);
        return { rules: r.input, applied: r.rules, customIdDefinition: r.customIdDefinition };
      },
    }),
    route({
      method: "PUT",
      url: "/api/v1/stores/:domain/catalog-publish/settings",
      tag: "catalog",
      auth: "store.operate",
      summary:
        "Replace the store's publish rules (title over 255: fail or truncate; per field always / create_only / off; category rules by product type; metafield namespace; status of new and archived products; whether the hub owns the store's products entirely). Products the change touches become due.",
      params: domainParams,
      body: publishRulesInput,
      async handler({ params, body, principal }) {
        const store = await requireStore(database, params.domain);
        const now = ctx.clock.now();
        return db.transaction().execute(async (trx) => {
          const before = await loadRules(trx, store.id);
          await saveRules(trx, store.id, body, now);
          const after = await loadRules(trx, store.id);
          await recordSettingChange(
            trx,
            {
              principal,
              storeId: store.id,
              action: "catalog_publish_settings.update",
              label: "Catalog publish rules",
              flow: "catalog_publish",
              before: before.rules,
              after: after.rules,
            },
            now,
          );
          return { rules: after.input, applied: after.rules, customIdDefinition: after.customIdDefinition };
        });
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/catalog-publish/dry-run",
      tag: "catalog",
      auth: "store.operate",
      summary:
        "What publishing would do, per product: create, update (field by field, old → new), unchanged, or refused with the reason; reads Shopify, writes nothing there. Runs as a job (202 with it; the rows at GET …/catalog-publish/dry-run/:job).",
      params: domainParams,
      query: z.object({ waitSeconds: waitSecondsParam }),
      body: z.object({ limit: z.number().int().min(1).max(100_000).optional() }).strict(),
      async handler({ params, query, body, reply }) {
        const store = await requireStore(database, params.domain);
        if (store.status !== "active")
          throw new AppError("STORE_DISCONNECTED", `${store.domain} is disconnected; reconnect it first`);
        const job = await deps.jobs.run(
          store,
          "catalog_publish_dry_run",
          body.limit ? { limit: body.limit } : {},
          waitMs(query.waitSeconds),
        );
        return answerFromJob(reply, job, (result) => result);
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/catalog-publish/dry-run/:job",
      tag: "catalog",
      auth: "store.read",
      summary:
        "The rows of a publish dry run, in product order, paged (outcome=create|update|unchanged|refused|failed filters).",
      params: z.object({ domain: z.string().min(1).max(255), job: z.coerce.number().int().positive() }),
      query: pageQuery.extend({
        outcome: z.enum(["create", "update", "unchanged", "refused", "failed"]).optional(),
      }),
      async handler({ params, query }) {
        const store = await requireStore(database, params.domain);
        const after = query.cursor ? Number(decodeCursor(query.cursor, ["number"])[0]) : 0;
        let q = pdb
          .selectFrom("catalog_publish_dry_runs")
          .select(["id", "product_key", "outcome", "detail"])
          .where("store_id", "=", store.id)
          .where("job_id", "=", params.job)
          .where("id", ">", after);
        if (query.outcome) q = q.where("outcome", "=", query.outcome);
        const rows = await q
          .orderBy("id")
          .limit(query.limit + 1)
          .execute();
        const page = rows.slice(0, query.limit);
        return {
          items: page.map((r) => ({ key: r.product_key, outcome: r.outcome, ...JSON.parse(r.detail) })),
          nextCursor: rows.length > query.limit ? encodeCursor([Number(page.at(-1)!.id)]) : null,
        };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/catalog-publish/products",
      tag: "catalog",
      auth: "store.read",
      summary:
        "Per product, the publish state for this store: pending (with attempts and the last error), done (the Shopify product), refused (Shopify's userErrors or the rule, with the field).",
      params: domainParams,
      query: pageQuery.extend({ status: z.enum(["pending", "done", "refused"]).optional() }),
      async handler({ params, query }) {
        const store = await requireStore(database, params.domain);
        const after = query.cursor ? Number(decodeCursor(query.cursor, ["number"])[0]) : 0;
        let q = pdb
          .selectFrom("catalog_publish_state as s")
          .innerJoin("products as p", "p.id", "s.product_id")
          .select([
            "s.product_id",
            "p.key",
            "p.title",
            "s.status",
            "s.error",
            "s.attempts",
            "s.shopify_product_gid",
            "s.published_at",
          ])
          .where("s.store_id", "=", store.id)
          .where("s.product_id", ">", after);
        if (query.status) q = q.where("s.status", "=", query.status);
        const rows = await q
          .orderBy("s.product_id")
          .limit(query.limit + 1)
          .execute();
        const page = rows.slice(0, query.limit);
        return {
          items: page.map((r) => ({
            key: r.key,
            title: r.title,
            status: r.status,
            error: r.error ? JSON.parse(r.error) : null,
            attempts: Number(r.attempts),
            shopifyProductId: r.shopify_product_gid,
            publishedAt: r.published_at === null ? null : new Date(Number(r.published_at)).toISOString(),
          })),
          nextCursor: rows.length > query.limit ? encodeCursor([Number(page.at(-1)!.product_id)]) : null,
        };
      },
    }),
    route({
      method: "GET",
      url: "/api/v1/stores/:domain/catalog-publish/bulk-runs",
      tag: "catalog",
      auth: "store.read",
      summary:
        "The store's latest bulk publishes, newest first: phase (products, channels, prices), status (starting, running, done, failed, abandoned), Shopify's operation id, products in it, error, start and end.",
      params: domainParams,
      async handler({ params }) {
        const store = await requireStore(database, params.domain);
        return { items: await bulkRuns(db, store.id) };
      },
    }),
    route({
      method: "POST",
      url: "/api/v1/stores/:domain/catalog-publish/products/:key/retry",
      tag: "catalog",
      auth: "store.operate",
      summary: "Publish a refused product again (after fixing it in Shopify or changing a rule).",
      params: z.object({ domain: z.string().min(1).max(255), key: z.string().min(1).max(255) }),
      async handler({ params }) {
        const store = await requireStore(database, params.domain);
        const key = normalizeKey(params.key);
        const p = await db.selectFrom("products").select("id").where("key", "=", key).executeTakeFirst();
        if (!p)
          throw new AppError("NOT_FOUND", `no product ${key}`, [
            { path: "key", code: "UNKNOWN_PRODUCT", message: key },
          ]);
        const now = ctx.clock.now();
        const r = await pdb
          .updateTable("catalog_publish_state")
          .set({ status: "pending", attempts: 0, next_attempt_at: now, marked_at: now, updated_at: now })
          .where("store_id", "=", store.id)
          .where("product_id", "=", Number(p.id))
          .where("status", "=", "refused")
          .executeTakeFirst();
        return { key, retried: Number(r.numUpdatedRows) > 0 };
      },
    }),
  ];
}
