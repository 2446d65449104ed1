import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertStore } from "../../test/support/console-data.ts";
import { startTestHub, type TestHub } from "../../test/support/hub.ts";
import { createJobRunner } from "./runner.ts";

describe("a store route's job runner", () => {
  let hub: TestHub;
  let store: { id: number; domain: string };
  beforeAll(async () => {
    hub = await startTestHub("sqlite");
    const domain = "runner.myshopify.com";
    store = { id: await insertStore(hub.ctx.database.db, domain, Date.now()), domain };
  });
  afterAll(async () => hub?.close());

  it("waits for a job that a run left queued (a lost lease) instead of answering with it queued", async () => {
    const db = hub.ctx.database.db;
    // This process ran the store's jobs, but the run ended without finishing this one; another
    // owner finishes it 300 ms later.
    const runner = createJobRunner(hub.ctx, async () => {
      setTimeout(() => {
        void db
          .updateTable("operator_jobs")
          .set({ status: "done", finished_at: Date.now() })
          .where("store_id", "=", store.id)
          .execute();
      }, 300);
      return true;
    });
    const job = await runner.run(store, "sync_locations", null, 5000);
    expect(job.status).toBe("done");
  });
});
