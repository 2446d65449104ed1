/**
 * Operator jobs: long work on a store answers at once with a job, the worker holding the store's
 * lease runs it (through the real hub assembly and a store connected through the API), progress
 * and result are read back; asking twice runs it once; a queued job can be cancelled; a job left
 * running by a dead process is picked up again and given up after its attempts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { runStoreJobs } from "../src/jobs/operator-jobs.ts";
import { operatorJobHandlers } from "../src/runtime/operator-job-handlers.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { type EmulatedStore, emulatedStore } from "./support/shopify.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => emulator?.close());

describe("operator jobs", () => {
  let hub: TestHub;
  let store: EmulatedStore;
  // biome-ignore lint/suspicious/noExplicitAny: test reads of JSON answers
  const call = async (method: "GET" | "POST" | "PUT", url: string, payload?: unknown): Promise<any> => {
    const res = await hub.server.inject({ method, url, headers: hub.auth, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json() };
  };

  beforeAll(async () => {
    store = await emulatedStore({ emulator, domain: "jobs.myshopify.com", skus: ["J-1", "J-2", "J-3"] });
    hub = await startTestHub("sqlite", {
      env: { WORKER: "on", SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}` },
    });
    expect((await call("PUT", "/api/v1/warehouses", { warehouses: [{ code: "W", name: "W" }] })).status).toBe(
      200,
    );
    expect(
      (await call("PUT", "/api/v1/variants", { variants: ["J-1", "J-2", "J-3"].map((sku) => ({ sku })) }))
        .status,
    ).toBe(200);
    const connected = await call("POST", "/api/v1/stores", {
      domain: store.domain,
      accessToken: store.token,
    });
    expect(connected.status, JSON.stringify(connected.body)).toBe(201);
    const { body: locations } = await call("GET", `/api/v1/stores/${store.domain}/locations`);
    const mapped = await call("PUT", `/api/v1/stores/${store.domain}/locations/mapping`, {
      locations: [
        { locationId: locations.items[0].locationId, warehouses: ["W"], managed: true, default: true },
      ],
    });
    expect(mapped.status, JSON.stringify(mapped.body)).toBe(200);
  }, 60_000);
  afterAll(async () => hub?.close());

  it("runs linking and a dry run as jobs in the store's worker and returns their results", async () => {
    const started = await call("POST", `/api/v1/stores/${store.domain}/jobs`, { kind: "link" });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ kind: "link", status: "queued", store: store.domain });
    // Asking again while it is queued or running returns the same job.
    const again = await call("POST", `/api/v1/stores/${store.domain}/jobs`, { kind: "link" });
    expect(again.body.id).toBe(started.body.id);

    const done = await call("POST", `/api/v1/stores/${store.domain}/jobs`, { kind: "link", waitSeconds: 30 });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({
      id: started.body.id,
      status: "done",
      result: { linked: 3, problems: 0 },
    });

    const dry = await call("POST", `/api/v1/stores/${store.domain}/jobs`, {
      kind: "dry_run",
      waitSeconds: 30,
    });
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    expect(dry.body).toMatchObject({ status: "done", result: { checked: 3, rowsOmitted: 0 } });
    const list = await call("GET", `/api/v1/stores/${store.domain}/jobs`);
    // Newest first; connecting and mapping ran their Shopify reads as jobs too.
    expect(list.body.items.map((j: { kind: string }) => j.kind)).toEqual([
      "dry_run",
      "link",
      "read_levels",
      "after_connect",
    ]);
    const one = await call("GET", `/api/v1/jobs/${dry.body.id}`);
    expect(one.body.progress).toEqual({ phase: "done" });
    expect((await call("GET", "/api/v1/jobs/999999")).status).toBe(404);
  }, 60_000);

  it("the store routes that call Shopify run under the store's lease: another holder means 202 and no call from here", async () => {
    const db = hub.ctx.database.db;
    const { id: storeId } = await db
      .selectFrom("stores")
      .select("id")
      .where("domain", "=", store.domain)
      .executeTakeFirstOrThrow();
    // Another process takes the store (its lease far from lapsing): this hub must not call Shopify.
    const other = "other-process:1";
    await db
      .updateTable("store_leases")
      .set({ owner: other, expires_at: Date.now() + 600_000, generation: (eb) => eb("generation", "+", 1) })
      .where("store_id", "=", storeId)
      .execute();
    const callsBefore = emulator.control.apiCalls(store.domain).length;
    const res = await hub.server.inject({
      method: "POST",
      url: `/api/v1/stores/${store.domain}/inventory/drift-check?waitSeconds=1`,
      headers: hub.auth,
    });
    expect(res.statusCode, res.body).toBe(202);
    const job = res.json();
    expect(res.headers.location).toBe(`/api/v1/jobs/${job.id}`);
    expect(job).toMatchObject({ kind: "drift_check" });
    expect(["queued", "running"]).toContain(job.status);
    for (const url of [
      `/api/v1/stores/${store.domain}/link?waitSeconds=0`,
      `/api/v1/stores/${store.domain}/locations/sync?waitSeconds=0`,
      `/api/v1/stores/${store.domain}/inventory/dry-run?waitSeconds=0`,
      `/api/v1/stores/${store.domain}/inventory/initial-sync?waitSeconds=0`,
    ]) {
      const r = await hub.server.inject({ method: "POST", url, headers: hub.auth });
      expect(r.statusCode, `${url}: ${r.body}`).toBe(202);
    }
    expect(emulator.control.apiCalls(store.domain).length).toBe(callsBefore);

    // The other process goes away: this hub's worker takes the store and runs the queued jobs.
    await db.updateTable("store_leases").set({ expires_at: 0 }).where("store_id", "=", storeId).execute();
    const done = await hub.server.inject({
      method: "POST",
      url: `/api/v1/stores/${store.domain}/inventory/drift-check?waitSeconds=30`,
      headers: hub.auth,
    });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toMatchObject({ checked: 3 });
    expect((await call("GET", `/api/v1/jobs/${job.id}`)).body).toMatchObject({ status: "done" });
    const located = await call("POST", `/api/v1/stores/${store.domain}/locations/sync?waitSeconds=30`);
    expect(located.status).toBe(200);
    expect(located.body.items.length).toBeGreaterThan(0);
  }, 60_000);

  it("cancels a queued job, and gives up a job whose runner kept dying", async () => {
    const db = hub.ctx.database.db;
    // A disconnected store: no worker runs its jobs, so nothing races the assertions.
    const now = Date.now();
    const { id: idle } = await db
      .insertInto("stores")
      .values({
        domain: "idle.myshopify.com",
        name: "idle",
        auth_kind: "custom_app",
        access_token_enc: null,
        access_token_expires_at: null,
        refresh_token_enc: null,
        refresh_token_expires_at: null,
        scopes: "",
        status: "disconnected",
        status_reason: null,
        inventory_mode: "absolute",
        connected_at: now,
        disconnected_at: now,
        updated_at: now,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    const insert = (status: "queued" | "running", attempts: number) =>
      db
        .insertInto("operator_jobs")
        .values({
          store_id: idle,
          kind: "drift_check",
          status,
          progress: null,
          result: null,
          error: null,
          cancel_requested: 0,
          attempts,
          created_at: now,
          started_at: null,
          finished_at: null,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
    const queued = await insert("queued", 0);
    const cancelled = await call("POST", `/api/v1/jobs/${queued.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: "cancelled", cancelRequested: true });
    // Starting jobs on a disconnected store is refused with the reason.
    const refused = await call("POST", "/api/v1/stores/idle.myshopify.com/jobs", { kind: "dry_run" });
    expect(refused.status).toBe(409);

    const dying = await insert("running", 3);
    const ran = await runStoreJobs(
      hub.ctx,
      { id: idle, domain: "idle.myshopify.com" },
      { store: "idle.myshopify.com", graphql: async () => Promise.reject(new Error("not called")) },
      operatorJobHandlers(hub.ctx),
    );
    expect(ran).toBe(0);
    const gaveUp = await db
      .selectFrom("operator_jobs")
      .selectAll()
      .where("id", "=", dying.id)
      .executeTakeFirstOrThrow();
    expect(gaveUp).toMatchObject({
      status: "failed",
      error: expect.stringContaining("gave up after 3 attempts"),
    });
  });
});
