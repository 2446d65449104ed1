import type { HubMigration } from "../schema-helpers.ts";

/**
 * Operator jobs carry their parameters (a dry run's onlyDifferences, a connection's webhooks) and
 * the code of the error that ended them, so the store routes that used to call Shopify from the
 * HTTP request can run the same work as a job under the store's lease and answer as before.
 */
export const jobParams: HubMigration = {
  name: "0014-job-params",
  async up({ db }) {
    await db.schema.alterTable("operator_jobs").addColumn("params", "text").execute();
    await db.schema.alterTable("operator_jobs").addColumn("error_code", "text").execute();
  },
};
