import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "../../test/support/hub.ts";
import { createJobRunner } from "./runner.ts";

describe("a store route's job runner", () => {
  let hub: TestHub;
  let store: { id: number; domain: string };
  beforeAll(async () => {
    hub = await startTestHub("sqlite");
    const now = Date.now();
    const row = await hub.ctx.database.db
      .insertInto("stores")
      .values({
        domain: "runner.myshopify.com",
        name: "runner",
        auth_kind: "custom_app",
        access_token_enc: null,
        access_token_expires_at: null,
        refresh_token_enc: null,
        refresh_token_expires_at: null,
        scopes: "",
        status: "active",
        status_reason: null,
        inventory_mode: "absolute",
        connected_at: now,
        disconnected_at: null,
        updated_at: now,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    store = { id: row.id, domain: "runner.myshopify.com" };
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
