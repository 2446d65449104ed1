/**
 * The publish dry run (operator job `catalog_publish_dry_run`): per product, what a publish
 * would do to this store — create, update field by field (old → new), leave unchanged, or refuse
 * and why — reading Shopify's products and writing nothing to Shopify. Rows are kept per job
 * (`catalog_publish_dry_runs`) and paged by the console. Then per price group, what its price
 * list would get (src/prices/dry-run.ts), in the job's result.
 */
import type { AppContext } from "../../core/context.ts";
import type { JobControl } from "../../jobs/operator-jobs.ts";
import { JobCancelled } from "../../jobs/operator-jobs.ts";
import { type PriceListDryRun, priceListsDryRun } from "../../prices/dry-run.ts";
import { LeaseLostError } from "../../runtime/leases.ts";
import { ShopifyAuthError } from "../../shopify/errors.ts";
import type { AdminTransport } from "../../shopify/transport.ts";
import { getProduct } from "../products-store.ts";
import { desiredProduct, dryRunOutcome, NO_OWNED, type Owned } from "./desired.ts";
import { linkedProduct, loadRules, publishDb } from "./publish-store.ts";
import { knownCategories, readCurrentProduct } from "./shopify-publish.ts";

export interface DryRunSummary {
  readonly products: number;
  readonly create: number;
  readonly update: number;
  readonly unchanged: number;
  readonly refused: number;
  readonly failed: number;
  /** Per price group: its price list in this store, created or changed (old → new), or refused. */
  readonly priceLists: readonly PriceListDryRun[];
}

export async function runPublishDryRun(
  ctx: AppContext,
  store: { id: number; domain: string },
  transport: AdminTransport,
  control: JobControl,
  params: Record<string, unknown>,
): Promise<DryRunSummary> {
  const db = ctx.database.db;
  const pdb = publishDb(db);
  const rules = await loadRules(db, store.id);
  const limit = typeof params.limit === "number" ? params.limit : 10_000;
  const total = Number(
    (
      await db
        .selectFrom("products")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  );
  const counts = { products: 0, create: 0, update: 0, unchanged: 0, refused: 0, failed: 0 };
  let after = 0;
  /** Category GID → whether Shopify's taxonomy holds it (asked once per dry run). */
  const categories = new Map<string, boolean>();
  while (counts.products < limit) {
    const page = await db
      .selectFrom("products")
      .select(["id", "key"])
      .where("id", ">", after)
      .orderBy("id")
      .limit(Math.min(100, limit - counts.products))
      .execute();
    if (page.length === 0) break;
    const rows: { store_id: number; job_id: number; product_key: string; outcome: string; detail: string }[] =
      [];
    for (const p of page) {
      after = Number(p.id);
      counts.products++;
      const state = await pdb
        .selectFrom("catalog_publish_state")
        .select(["shopify_product_gid", "owned"])
        .where("store_id", "=", store.id)
        .where("product_id", "=", Number(p.id))
        .executeTakeFirst();
      const owned: Owned = state?.owned ? (JSON.parse(state.owned) as Owned) : NO_OWNED;
      try {
        const d = desiredProduct(await getProduct(db, p.key), rules.rules);
        let current = null;
        if (d.ok) {
          const gid = state?.shopify_product_gid ?? (await linkedProduct(db, store.id, Number(p.id)));
          current = gid ? await readCurrentProduct(transport, { id: gid }) : null;
          current ??= await readCurrentProduct(transport, { key: p.key });
        }
        let o = dryRunOutcome(d, current, owned, rules.rules);
        // Shopify refuses a category its taxonomy does not hold: said here, before enabling.
        const category = d.ok && rules.rules.fields.category !== "off" ? d.product.category : null;
        if (category && o.outcome !== "refused") {
          if (!categories.has(category))
            categories.set(category, (await knownCategories(transport, [category])).has(category));
          if (!categories.get(category))
            o = {
              outcome: "refused",
              refusal: {
                code: "UNKNOWN_CATEGORY",
                field: "category",
                message: `${category} is not a category of Shopify's product taxonomy: Shopify would refuse the product; correct the product's category or the store's category rule`,
              },
            };
        }
        counts[o.outcome]++;
        const detail =
          o.outcome === "refused" ? o.refusal : o.outcome === "unchanged" ? {} : { changes: o.changes };
        rows.push({
          store_id: store.id,
          job_id: control.jobId,
          product_key: p.key,
          outcome: o.outcome,
          detail: JSON.stringify(detail),
        });
      } catch (err) {
        if (err instanceof LeaseLostError || err instanceof ShopifyAuthError) throw err;
        counts.failed++;
        rows.push({
          store_id: store.id,
          job_id: control.jobId,
          product_key: p.key,
          outcome: "failed",
          detail: JSON.stringify({ message: err instanceof Error ? err.message : String(err) }),
        });
      }
    }
    if (rows.length > 0) await pdb.insertInto("catalog_publish_dry_runs").values(rows).execute();
    await control.progress({
      phase: "comparing the hub's products with Shopify's",
      done: counts.products,
      total: Math.min(total, limit),
    });
    if (await control.cancelled()) throw new JobCancelled();
  }
  await control.progress({ phase: "comparing the price groups with the store's price lists" });
  return { ...counts, priceLists: await priceListsDryRun(db, store.id, transport) };
}
