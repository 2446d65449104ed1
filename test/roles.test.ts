/**
 * Issue 13's roles: a worker-only process (`API=off`) serves `/healthz` and `/metrics` and
 * nothing else — no API, no webhooks, no console — while its workers run; an API-only process
 * (`WORKER=off`) serves the API and starts no worker.
 */
import { afterAll, describe, expect, it } from "vitest";
import { startTestHub, type TestHub } from "./support/hub.ts";

describe("process roles", () => {
  const hubs: TestHub[] = [];
  afterAll(async () => {
    for (const h of hubs) await h.close();
  });

  it("API=off serves only /healthz and /metrics and runs the workers", async () => {
    const hub = await startTestHub("sqlite", { env: { API: "off", WORKER: "on" } });
    hubs.push(hub);
    expect(hub.ctx.config.api).toBe(false);
    const get = (url: string) => hub.server.inject({ method: "GET", url, headers: hub.auth });
    expect((await get("/healthz")).statusCode).toBe(200);
    expect((await get("/metrics")).statusCode).toBe(200);
    for (const url of ["/api/v1/stores", "/api/v1/stock", "/console/"])
      expect({ url, status: (await get(url)).statusCode }).toEqual({ url, status: 404 });
    const webhook = await hub.server.inject({ method: "POST", url: "/webhooks/shopify", payload: {} });
    expect(webhook.statusCode).toBe(404);
    // Its worker runs: it registered itself in the fleet.
    await expect
      .poll(async () => (await hub.ctx.database.db.selectFrom("hub_workers").select("id").execute()).length, {
        timeout: 10_000,
      })
      .toBeGreaterThan(0);
  });

  it("WORKER=off serves the API and starts no worker", async () => {
    const hub = await startTestHub("sqlite", { env: { WORKER: "off" } });
    hubs.push(hub);
    expect(
      (await hub.server.inject({ method: "GET", url: "/api/v1/stores", headers: hub.auth })).statusCode,
    ).toBe(200);
    expect(await hub.ctx.database.db.selectFrom("hub_workers").select("id").execute()).toEqual([]);
  });
});
