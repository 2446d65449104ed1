/**
 * /metrics for issue 18, read from the database at each scrape (so every process of a fleet
 * reports the same): webhook health per store, whether the public URL can receive Shopify's
 * webhooks, late deliveries, deprecation notices per store and operation, and the days left on
 * the pinned API version. Stores are labelled by id, never domain (/metrics is unauthenticated).
 * Also the start-up warning when the pinned version is within 90 days of its end of life.
 */
import { Gauge } from "prom-client";
import type { AppContext } from "../core/context.ts";
import { daysUntilEndOfLife, endOfLifeWarning, SHOPIFY_API_VERSION } from "../shopify/api-version.ts";
import { recordDeprecation } from "./api-deprecations.ts";
import { effectivePublicUrl, publicUrlProblem } from "./webhook-health.ts";

export function registerSyncHealth(ctx: AppContext): {
  onDeprecated: (storeLabel: string, operation: string, reason: string) => void;
} {
  const { registry } = ctx.metrics;
  const db = ctx.database.db;
  const warning = endOfLifeWarning(SHOPIFY_API_VERSION, ctx.clock.now());
  if (warning) ctx.logger.warn({ apiVersion: SHOPIFY_API_VERSION }, warning);
  new Gauge({
    name: "tillbridge_shopify_api_version_days_left",
    help: "Days until the pinned Shopify Admin API version's end of life",
    labelNames: ["version"] as const,
    registers: [registry],
    collect() {
      this.set({ version: SHOPIFY_API_VERSION }, daysUntilEndOfLife(SHOPIFY_API_VERSION, ctx.clock.now()));
    },
  });
  new Gauge({
    name: "tillbridge_public_url_webhooks_ok",
    help: "1 when the public URL can receive Shopify's webhooks (https://), 0 when Shopify refuses it",
    registers: [registry],
    async collect() {
      this.set(publicUrlProblem(await effectivePublicUrl(ctx)) ? 0 : 1);
    },
  });
  new Gauge({
    name: "tillbridge_webhooks_degraded",
    help: "1 when the store's webhooks are degraded (subscriptions missing or refused, or an address Shopify refuses), by store id",
    labelNames: ["store"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await db.selectFrom("webhook_health").select(["store_id", "problem"]).execute())
        this.set({ store: String(r.store_id) }, r.problem ? 1 : 0);
    },
  });
  new Gauge({
    name: "tillbridge_webhooks_missing",
    help: "Subscriptions found missing at the store's last webhook check (re-created unless refused), by store id",
    labelNames: ["store"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await db.selectFrom("webhook_health").select(["store_id", "missing"]).execute())
        this.set({ store: String(r.store_id) }, (JSON.parse(r.missing) as unknown[]).length);
    },
  });
  new Gauge({
    name: "tillbridge_webhooks_late_deliveries",
    help: "Deliveries that arrived more than an hour after X-Shopify-Triggered-At (processed), by store id",
    labelNames: ["store"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await db.selectFrom("webhook_late").select(["store_id", "count"]).execute())
        this.set({ store: String(r.store_id) }, Number(r.count));
    },
  });
  new Gauge({
    name: "tillbridge_shopify_api_deprecations",
    help: "Answers carrying X-Shopify-API-Deprecated-Reason, by store id and GraphQL operation",
    labelNames: ["store", "operation"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await db
        .selectFrom("api_deprecations")
        .select(["store_id", "operation", "count"])
        .execute())
        this.set({ store: String(r.store_id), operation: r.operation }, Number(r.count));
    },
  });
  return {
    onDeprecated(storeLabel, operation, reason) {
      const storeId = Number(storeLabel);
      if (!Number.isInteger(storeId)) return; // a connection being verified has no store yet
      recordDeprecation(db, storeId, operation, reason, ctx.clock.now()).catch((err: unknown) =>
        ctx.logger.warn({ err: (err as Error).message }, "cannot record a deprecation notice"),
      );
    },
  };
}
