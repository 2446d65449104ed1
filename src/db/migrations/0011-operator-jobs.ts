import type { HubMigration } from "../schema-helpers.ts";

/**
 * Operator jobs: long work on one store (linking, dry runs, drift checks, the delta initial sync)
 * runs as a job under the store's lease, with progress, a result, cancellation and a restart that
 * picks it up again; the API answers at once with the job. And an inbox index per topic.
 */
export const operatorJobs: HubMigration = {
  name: "0011-operator-jobs",
  async up({ db, id }) {
    await id(db.schema.createTable("operator_jobs"))
      .addColumn("store_id", "bigint", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull()) // link | dry_run | drift_check | initial_sync
      .addColumn("status", "text", (c) => c.notNull()) // queued | running | done | failed | cancelled
      .addColumn("progress", "text") // JSON { phase, done, total }
      .addColumn("result", "text") // JSON
      .addColumn("error", "text")
      .addColumn("cancel_requested", "integer", (c) => c.notNull())
      .addColumn("attempts", "integer", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("started_at", "bigint")
      .addColumn("finished_at", "bigint")
      .execute();
    // Each capability drains its own topics from the inbox: without the topic in an index, every
    // drain walks every pending delivery (a full push echoes one inventory_levels/update per level).
    await db.schema
      .createIndex("webhook_inbox_topic_due")
      .on("webhook_inbox")
      .columns(["topic", "status", "next_attempt_at"])
      .execute();
    await db.schema
      .createIndex("operator_jobs_store")
      .on("operator_jobs")
      .columns(["store_id", "status"])
      .execute();
  },
};
