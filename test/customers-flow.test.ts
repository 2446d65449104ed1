/**
 * The customer_publish flow as the worker runs it (one `tick` at a time, on a fixed clock): an
 * enabled flow publishes, a paused flow sends nothing and shows its backlog, and on resume it
 * catches up with the latest version (level-triggered: the change made while paused is sent once).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../emulator/index.ts";
import { fixedClock } from "../src/core/clock.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";
import { emulatedStore } from "./support/shopify.ts";

const DOMAIN = "customers-flow.myshopify.com";

describe("the customer_publish flow", () => {
  let emulator: Emulator;
  let hub: TestHub;
  const clock = fixedClock(Date.now());

  beforeAll(async () => {
    emulator = await startEmulator();
    const store = await emulatedStore({ emulator, domain: DOMAIN, skus: [] });
    hub = await startTestHub("sqlite", {
      clock,
      env: { SHOPIFY_ADMIN_URL_TEMPLATE: `${emulator.url}/{shop}` },
    });
    const connected = await hub.server.inject({
      method: "POST",
      url: "/api/v1/stores",
      headers: hub.auth,
      payload: { domain: DOMAIN, accessToken: store.token },
    });
    expect(connected.statusCode, connected.body).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await hub?.close();
    await emulator?.close();
  });

  const call = async (method: "GET" | "POST" | "PUT", url: string, payload?: object) => {
    const r = await hub.server.inject({ method, url, headers: hub.auth, ...(payload ? { payload } : {}) });
    expect(r.statusCode, r.body).toBeLessThan(300);
    return r.json();
  };
  // Past the pass's 1 s interval; short enough that the lease (renewed only by a running worker's
  // heartbeat) does not lapse on the fixed clock.
  const tick = async () => {
    clock.advance(1_100);
    await hub.worker.tick();
  };
  const flow = async () =>
    (await call("GET", `/api/v1/stores/${DOMAIN}/flows`)).items.find(
      (f: { flow: string }) => f.flow === "customer_publish",
    ) as { state: string; status: string; backlog: number };
  const row = async (key: string) =>
    (await call("GET", `/api/v1/stores/${DOMAIN}/customers`)).items.find(
      (c: { key: string }) => c.key === key,
    ) as {
      status: string;
      name: string | null;
    };
  const shopifySets = () =>
    emulator.control.apiCalls(DOMAIN).filter((c) => c.rootFields.includes("customerSet")).length;

  it("publishes while enabled, holds while paused, catches up on resume", async () => {
    await call("PUT", "/api/v1/customers", {
      customers: [{ key: "F-1", email: "flo@example.com", firstName: "Flo" }],
    });
    await tick();
    expect(shopifySets()).toBe(0); // the flow starts disabled
    await call("POST", `/api/v1/stores/${DOMAIN}/flows/customer_publish/enable`);
    await tick();
    expect(await row("F-1")).toMatchObject({ status: "published", name: "Flo" });
    expect(shopifySets()).toBe(1);

    await call("POST", `/api/v1/stores/${DOMAIN}/flows/customer_publish/pause`);
    await call("PUT", "/api/v1/customers", {
      customers: [{ key: "F-1", email: "flo@example.com", firstName: "Florence" }],
    });
    await call("PUT", "/api/v1/customers", {
      customers: [{ key: "F-1", email: "flo@example.com", firstName: "Florentine" }],
    });
    await tick();
    await tick();
    expect(shopifySets()).toBe(1);
    expect(await flow()).toMatchObject({ state: "paused", status: "paused", backlog: 1 });
    expect((await row("F-1")).status).toBe("waiting");

    await call("POST", `/api/v1/stores/${DOMAIN}/flows/customer_publish/resume`);
    await tick();
    expect(await row("F-1")).toMatchObject({ status: "published", name: "Florentine" });
    // The two edits made while paused are one publish.
    expect(shopifySets()).toBe(2);
    expect(await flow()).toMatchObject({ status: "running", backlog: 0 });
  });
});
