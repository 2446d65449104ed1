// Error codes, messages and headers as Shopify documents them.
// Sources: shopify.dev/docs/api/admin-graphql ("Status and error codes": sample 200 error responses
// and sample error codes), shopify.dev/docs/api/usage/limits (Retry-After, the 250-item input limit),
// shopify.dev/docs/api/usage/versioning (fall-forward, X-Shopify-API-Version), and the changelog
// "Making idempotency mandatory for inventory adjustments and refund mutations" (2026-04).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "./index.ts";
import { gql, type Seeded, SHOP, seedShop } from "./test-helpers.ts";
import { resolveVersion, supportedVersions } from "./versions.ts";

let emu: Emulator;
let s: Seeded;

beforeAll(async () => {
  emu = await startEmulator();
  s = seedShop(emu);
});
afterAll(async () => {
  await emu.close();
});

async function post(path: string, body: unknown, token: string | undefined = s.token) {
  const res = await fetch(`${emu.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { "X-Shopify-Access-Token": token } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { res, body: text ? JSON.parse(text) : null };
}

const GQL = `/${SHOP}/admin/api/2026-10/graphql.json`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("x-request-id on every answer", () => {
  it("is on successes, 401s, 404s, emulated faults and control errors, and differs per request", async () => {
    const ok = await post(GQL, { query: "{ shop { name } }" });
    const unauth = await post(GQL, { query: "{ shop { name } }" }, "nope");
    const missing = await post(`/nowhere.myshopify.com/admin/api/2026-10/graphql.json`, {
      query: "{ shop { name } }",
    });
    emu.control.setFaults(SHOP, { failNext: 1, errorStatuses: [503] });
    const fault = await post(GQL, { query: "{ shop { name } }" });
    const control = await fetch(`${emu.url}/_emulator/shops/unknown.myshopify.com`);
    const ids = [ok, unauth, missing, fault].map((r) => r.res.headers.get("x-request-id"));
    ids.push(control.headers.get("x-request-id"));
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(ids.length);
    expect(unauth.res.status).toBe(401);
    expect(missing.res.status).toBe(404);
    expect(fault.res.status).toBe(503);
  });
});

describe("HTTP error statuses", () => {
  it("an emulated 429 carries Retry-After and a body that says it is a rate limit", async () => {
    emu.control.setFaults(SHOP, { failNext: 1, errorStatuses: [429] });
    const r = await post(GQL, { query: "{ shop { name } }" });
    expect(r.res.status).toBe(429);
    // shopify.dev/docs/api/usage/limits: "a 429 Too Many Requests error and a Retry-After header"
    expect(r.res.headers.get("retry-after")).toBe("2.0");
    expect(r.body.errors).toMatch(/Reduce request rates/);
    emu.control.clearFaults(SHOP);
  });

  it("each documented status answers its documented body", async () => {
    const expected: Record<number, string> = {
      402: "This shop's plan does not have access to this feature",
      403: "Unavailable Shop",
      404: "Not Found",
      423: "This shop is unavailable",
      500: "An unexpected error occurred",
    };
    for (const [status, errors] of Object.entries(expected)) {
      emu.control.setFaults(SHOP, { failNext: 1, errorStatuses: [Number(status)] });
      const r = await post(GQL, { query: "{ shop { name } }" });
      expect(r.res.status).toBe(Number(status));
      expect(r.body).toEqual({ errors });
      expect(r.res.headers.get("retry-after")).toBeNull();
    }
    emu.control.clearFaults(SHOP);
  });

  it("400 for a missing query: { errors: { query: 'Required parameter missing or invalid' } }", async () => {
    const r = await post(GQL, {});
    expect(r.res.status).toBe(400);
    expect(r.body).toEqual({ errors: { query: "Required parameter missing or invalid" } });
  });
});

describe("200 error responses", () => {
  it("MAX_COST_EXCEEDED with cost, maxCost and documentation", async () => {
    const r = await gql(
      emu,
      s.token,
      `{ products(first: 250) { nodes { variants(first: 250) { nodes {
        inventoryItem { inventoryLevels(first: 250) { nodes { id location { id } } } } } } } } }`,
    );
    const e = r.body.errors[0];
    expect(e.message).toMatch(/^Query cost is \d+, which exceeds the single query max cost limit \(1000\)\./);
    expect(e.extensions).toEqual({
      code: "MAX_COST_EXCEEDED",
      cost: expect.any(Number),
      maxCost: 1000,
      documentation: "https://shopify.dev/api/usage/limits#rate-limits",
    });
  });

  it("THROTTLED as the documented sample", async () => {
    emu.control.freezeTime(true);
    emu.control.setThrottlePressure({ shop: SHOP, clientId: s.clientId, available: 0 });
    const r = await gql(emu, s.token, "{ shop { name } }");
    emu.control.freezeTime(false);
    expect(r.body.errors).toEqual([
      {
        message: "Throttled",
        extensions: { code: "THROTTLED", documentation: "https://shopify.dev/api/usage/limits#rate-limits" },
      },
    ]);
    emu.control.setThrottlePressure({ shop: SHOP, clientId: s.clientId, available: 2000 });
  });

  it("a mutation without @idempotent: BAD_REQUEST on the field, the field null", async () => {
    const r = await gql(
      emu,
      s.token,
      `mutation { inventorySetQuantities(input: { name: "available", reason: "correction", quantities: [] }) {
        userErrors { message } } }`,
    );
    expect(r.body.data).toEqual({ inventorySetQuantities: null });
    expect(r.body.errors[0]).toMatchObject({
      message: "The @idempotent directive is required for this mutation but was not provided.",
      path: ["inventorySetQuantities"],
      extensions: { code: "BAD_REQUEST" },
    });
  });

  it("an input array above 250 items is refused", async () => {
    const ids = Array.from({ length: 251 }, (_, i) => `gid://shopify/Product/${i + 1}`);
    const r = await gql(emu, s.token, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", { ids });
    expect(r.body.errors[0].extensions.code).toBe("MAX_INPUT_SIZE_EXCEEDED");
    expect(r.body.errors[0].message).toBe(
      "The input array size of 251 is greater than the maximum allowed of 250.",
    );
  });
});

describe("versions", () => {
  it("serves every supported version, falls forward from an unsupported one, 404s an unreleased one", async () => {
    const now = new Date(emu.control.now().now);
    const { stable, releaseCandidate } = supportedVersions(now);
    expect(stable).toHaveLength(4);
    for (const v of [...stable, releaseCandidate, "unstable"]) {
      const r = await post(`/${SHOP}/admin/api/${v}/graphql.json`, { query: "{ shop { name } }" });
      expect(r.res.status).toBe(200);
      expect(r.res.headers.get("x-shopify-api-version")).toBe(v);
    }
    const old = await post(`/${SHOP}/admin/api/2019-07/graphql.json`, { query: "{ shop { name } }" });
    expect(old.res.status).toBe(200);
    expect(old.res.headers.get("x-shopify-api-version")).toBe(stable[0]);
    const future = await post(`/${SHOP}/admin/api/2099-01/graphql.json`, { query: "{ shop { name } }" });
    expect(future.res.status).toBe(404);
    expect(future.body).toEqual({ errors: "Not Found" });
    expect(
      (await post(`/${SHOP}/admin/api/latest/graphql.json`, { query: "{ shop { name } }" })).res.status,
    ).toBe(404);
  });

  it("a version is supported twelve months from its release", () => {
    expect(resolveVersion("2026-10", new Date("2027-09-30T23:00:00Z"))).toEqual({
      kind: "served",
      handle: "2026-10",
      supported: true,
    });
    expect(resolveVersion("2026-10", new Date("2027-10-01T00:00:00Z"))).toEqual({
      kind: "served",
      handle: "2027-01",
      supported: true,
    });
  });

  it("a request using a deprecated field gets X-Shopify-API-Deprecated-Reason; others do not", async () => {
    const dep = await post(GQL, { query: "{ currentBulkOperation { id } }" });
    expect(dep.res.headers.get("x-shopify-api-deprecated-reason")).toBe(
      "https://shopify.dev/api/usage/versioning#deprecation-practices",
    );
    const calls = emu.control.apiCalls(SHOP);
    expect(calls.at(-1)?.deprecated).toEqual(["QueryRoot.currentBulkOperation"]);
    const plain = await post(GQL, { query: "{ shop { name } }" });
    expect(plain.res.headers.get("x-shopify-api-deprecated-reason")).toBeNull();
  });
});
