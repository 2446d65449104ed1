/**
 * Who may do what: every route of the OpenAPI document walked with a key of each scope, operator
 * sessions with CSRF, the first account, roles, the audit trail, and where customers' data may
 * be sent. On both databases.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../src/auth/api-keys.ts";
import { allows, type Permission, SCOPES, type Scope } from "../src/auth/permissions.ts";
import { outboundUrlProblem } from "../src/orders/outbound.ts";
import { DIALECTS } from "./support/databases.ts";
import { startTestHub, type TestHub } from "./support/hub.ts";

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

describe.each(DIALECTS)("access on %s", (dialect) => {
  let hub: TestHub;
  const keys = {} as Record<Scope, string>;

  const inject = async (
    method: Method,
    url: string,
    options: { payload?: unknown; headers?: Record<string, string>; remoteAddress?: string } = {},
  ) => {
    const res = await hub.server.inject({
      method,
      url,
      ...(options.payload === undefined ? {} : { payload: options.payload as object }),
      headers: options.headers ?? {},
      ...(options.remoteAddress ? { remoteAddress: options.remoteAddress } : {}),
    });
    const json = String(res.headers["content-type"] ?? "").includes("json");
    return {
      status: res.statusCode,
      body: res.body && json ? JSON.parse(res.body) : res.body,
      cookie: res.cookies.find((c) => c.name === "tb_session"),
      headers: res.headers,
    };
  };

  beforeAll(async () => {
    hub = await startTestHub(dialect);
    for (const scope of SCOPES) {
      keys[scope] = (await createApiKey(hub.ctx.database, `key-${scope}`, Date.now(), [scope])).key;
    }
  });
  afterAll(async () => hub?.close());

  it("enforces each route's permission for a key of every scope (walking the OpenAPI document)", async () => {
    const doc = (await inject("GET", "/api/v1/openapi.json")).body as {
      paths: Record<string, Record<string, { "x-permission": Permission | "any" }>>;
    };
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      // Unknown ids and domains: an allowed call ends in 4xx from the handler, never 401/403.
      const url = path
        .replace("{domain}", "nowhere.myshopify.com")
        .replace("{flow}", "inventory_push")
        .replace("{action}", "pause")
        .replace(/\{[A-Za-z]+\}/g, "987654");
      for (const [method, op] of Object.entries(ops)) {
        const needed = op["x-permission"];
        expect(needed, `${method} ${path} names its permission`).toBeTruthy();
        for (const scope of SCOPES) {
          const r = await inject(method.toUpperCase() as Method, url, {
            headers: { authorization: `Bearer ${keys[scope]}` },
            ...(method === "get" ? {} : { payload: {} }),
          });
          const allowed = needed === "any" || allows([scope], needed as Permission);
          if (allowed) expect([401, 403], `${scope} may ${method} ${path}`).not.toContain(r.status);
          else {
            expect(r.status, `${scope} may not ${method} ${path}`).toBe(403);
            expect(r.body.error.code).toBe("FORBIDDEN");
            expect(r.body.error.message).toContain(needed);
          }
          checked++;
        }
        // From an address of its own each time: failed authentications are rate-limited per address.
        const anonymous = await inject(method.toUpperCase() as Method, url, {
          remoteAddress: `10.77.${Math.floor(checked / 250)}.${checked % 250}`,
        });
        expect(anonymous.status, `anonymous ${method} ${path}`).toBe(401);
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it("a till's key (scope stock) posts movements but reads no order, changes no store and no outbound address", async () => {
    const till = { authorization: `Bearer ${keys.stock}` };
    expect(
      (
        await inject("PUT", "/api/v1/warehouses", {
          headers: till,
          payload: { warehouses: [{ code: "W1", name: "W1" }] },
        })
      ).status,
    ).toBe(200);
    expect((await inject("GET", "/api/v1/orders", { headers: till })).status).toBe(403);
    expect(
      (await inject("POST", "/api/v1/stores/x.myshopify.com/disconnect", { headers: till })).status,
    ).toBe(403);
    expect(
      (
        await inject("PUT", "/api/v1/stores/x.myshopify.com/order-settings", {
          headers: till,
          payload: { outboundUrl: "http://10.0.0.1/" },
        })
      ).status,
    ).toBe(403);
  });

  it("creates the first account only from localhost and only once, then signs it in", async () => {
    expect((await inject("GET", "/api/v1/setup")).body).toEqual({
      needsFirstAccount: true,
      canCreateHere: true,
    });
    expect((await inject("GET", "/api/v1/setup", { remoteAddress: "10.1.2.3" })).body.canCreateHere).toBe(
      false,
    );
    const remote = await inject("POST", "/api/v1/setup", {
      remoteAddress: "10.1.2.3",
      payload: { username: "mallory", password: "long enough password" },
    });
    expect(remote.status).toBe(403);
    expect(remote.body.error.code).toBe("SETUP_CLOSED");
    const weak = await inject("POST", "/api/v1/setup", { payload: { username: "ada", password: "short" } });
    expect(weak.body.error.code).toBe("WEAK_PASSWORD");
    const first = await inject("POST", "/api/v1/setup", {
      payload: { username: "Ada", password: "correct horse battery" },
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ kind: "operator", username: "ada", role: "admin" });
    expect(first.cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/" });
    const again = await inject("POST", "/api/v1/setup", {
      payload: { username: "eve", password: "correct horse battery" },
    });
    expect(again.body.error.code).toBe("SETUP_CLOSED");
  });

  it("sessions: CSRF on changes, roles enforced, role change and sign-out end the session, audit kept", async () => {
    const signIn = async (username: string, password: string) => {
      const r = await inject("POST", "/api/v1/session", { payload: { username, password } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return { cookie: `tb_session=${r.cookie!.value}`, csrf: r.body.csrfToken as string };
    };
    const admin = await signIn("ada", "correct horse battery");
    // A change without the CSRF token is refused even with a valid cookie.
    const noCsrf = await inject("POST", "/api/v1/accounts", {
      headers: { cookie: admin.cookie },
      payload: { username: "vic", password: "viewer password 1", role: "viewer" },
    });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.error.code).toBe("CSRF_TOKEN_INVALID");
    const created = await inject("POST", "/api/v1/accounts", {
      headers: { cookie: admin.cookie, "x-csrf-token": admin.csrf },
      payload: { username: "vic", password: "viewer password 1", role: "viewer" },
    });
    expect(created.status).toBe(201);

    const viewer = await signIn("vic", "viewer password 1");
    expect(
      (await inject("GET", "/api/v1/session", { headers: { cookie: viewer.cookie } })).body,
    ).toMatchObject({
      username: "vic",
      role: "viewer",
      scopes: ["read"],
    });
    expect((await inject("GET", "/api/v1/audit", { headers: { cookie: viewer.cookie } })).status).toBe(200);
    const refused = await inject("PUT", "/api/v1/warehouses", {
      headers: { cookie: viewer.cookie, "x-csrf-token": viewer.csrf },
      payload: { warehouses: [{ code: "W2", name: "W2" }] },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain("viewer");

    // Promote the viewer: the old session ends, a new sign-in carries the new role.
    const id = created.body.id as number;
    const patched = await inject("PATCH", `/api/v1/accounts/${id}`, {
      headers: { cookie: admin.cookie, "x-csrf-token": admin.csrf },
      payload: { role: "operator" },
    });
    expect(patched.body.role).toBe("operator");
    expect((await inject("GET", "/api/v1/session", { headers: { cookie: viewer.cookie } })).status).toBe(401);
    const operator = await signIn("vic", "viewer password 1");
    expect((await inject("GET", "/api/v1/session", { headers: { cookie: operator.cookie } })).body.role).toBe(
      "operator",
    );
    // The last admin cannot be demoted.
    const me = (
      await inject("GET", "/api/v1/accounts", { headers: { cookie: admin.cookie } })
    ).body.items.find((a: { username: string }) => a.username === "ada");
    const demote = await inject("PATCH", `/api/v1/accounts/${me.id}`, {
      headers: { cookie: admin.cookie, "x-csrf-token": admin.csrf },
      payload: { role: "viewer" },
    });
    expect(demote.body.error.code).toBe("LAST_ADMIN");

    const out = await inject("DELETE", "/api/v1/session", {
      headers: { cookie: operator.cookie, "x-csrf-token": operator.csrf },
    });
    expect(out.status).toBe(200);
    expect((await inject("GET", "/api/v1/session", { headers: { cookie: operator.cookie } })).status).toBe(
      401,
    );

    const audit = (await inject("GET", "/api/v1/audit", { headers: { cookie: admin.cookie } })).body
      .items as {
      actor: string;
      action: string;
      target: string;
      changed: string[];
    }[];
    expect(
      audit.map((a) => `${a.actor} ${a.action} ${a.target}`),
      JSON.stringify(audit),
    ).toEqual(
      expect.arrayContaining([
        "system account.create ada",
        "operator:ada account.create vic",
        "operator:ada account.update vic",
      ]),
    );
    expect(audit.find((a) => a.action === "account.update")!.changed).toEqual(["role"]);
  });

  it("rate-limits failed sign-ins per address and never logs the password", async () => {
    const address = "10.9.9.9";
    let last = 0;
    for (let i = 0; i < 11; i++) {
      last = (
        await inject("POST", "/api/v1/session", {
          remoteAddress: address,
          payload: { username: "ada", password: `wrong guess ${i}` },
        })
      ).status;
    }
    expect(last).toBe(429);
    // The right password from that address waits too; another address is not affected.
    const blocked = await inject("POST", "/api/v1/session", {
      remoteAddress: address,
      payload: { username: "ada", password: "correct horse battery" },
    });
    expect(blocked.status).toBe(429);
    const other = await inject("POST", "/api/v1/session", {
      remoteAddress: "10.9.9.10",
      payload: { username: "ada", password: "correct horse battery" },
    });
    expect(other.status).toBe(200);
    const metrics = await inject("GET", "/metrics");
    expect(metrics.status).toBe(200);
  });

  it("counts only presented keys towards the limit: no credentials or an ended session stay 401", async () => {
    const address = "10.8.8.8";
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      statuses.push((await inject("GET", "/api/v1/session", { remoteAddress: address })).status);
      statuses.push(
        (
          await inject("GET", "/api/v1/stores", {
            remoteAddress: address,
            headers: { cookie: "tb_session=ended-or-made-up" },
          })
        ).status,
      );
    }
    expect(new Set(statuses)).toEqual(new Set([401]));
  });

  it("API keys made in the console carry their scopes and can be revoked", async () => {
    const admin = { authorization: `Bearer ${keys.admin}` };
    const made = await inject("POST", "/api/v1/api-keys", {
      headers: admin,
      payload: { name: "erp", scopes: ["orders"] },
    });
    expect(made.status).toBe(201);
    const erp = { authorization: `Bearer ${made.body.key}` };
    expect((await inject("GET", "/api/v1/orders", { headers: erp })).status).toBe(200);
    expect(
      (await inject("POST", "/api/v1/movements", { headers: erp, payload: { movements: [] } })).status,
    ).toBe(403);
    const listed = (await inject("GET", "/api/v1/api-keys", { headers: admin })).body.items.find(
      (k: { name: string }) => k.name === "erp",
    );
    expect(listed.scopes).toEqual(["orders"]);
    expect(listed.lastUsedAt).toBeGreaterThan(0);
    expect(JSON.stringify(listed)).not.toContain(made.body.key);
    expect((await inject("POST", `/api/v1/api-keys/${made.body.id}/revoke`, { headers: admin })).status).toBe(
      200,
    );
    const after = await inject("GET", "/api/v1/orders", { headers: erp });
    expect(after.status).toBe(401);
    expect(after.body.error.message).toContain("revoked");
  });

  it("serves the console under a Content-Security-Policy without inline scripts", async () => {
    const r = await inject("GET", "/api/v1/setup");
    const csp = String(r.headers["content-security-policy"]);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).toContain("frame-ancestors 'none'");
  });
});

describe("outbound addresses", () => {
  const open = { allowedHosts: null, plainHttpLoopbackForTests: false };
  it("must be https, without credentials, on an allowed host", () => {
    expect(outboundUrlProblem("https://erp.example.com/hook", open)).toBeNull();
    expect(outboundUrlProblem("http://erp.example.com/hook", open)).toContain("https");
    expect(outboundUrlProblem("http://10.0.0.8/admin", open)).toContain("https");
    expect(outboundUrlProblem("https://user:pw@erp.example.com/", open)).toContain("user name");
    const listed = { allowedHosts: ["erp.example.com", "*.corp.example"], plainHttpLoopbackForTests: false };
    expect(outboundUrlProblem("https://erp.example.com/x", listed)).toBeNull();
    expect(outboundUrlProblem("https://a.b.corp.example/x", listed)).toBeNull();
    expect(outboundUrlProblem("https://corp.example.evil.com/x", listed)).toContain("OUTBOUND_ALLOWED_HOSTS");
    expect(outboundUrlProblem("https://evil.com/x", listed)).toContain("OUTBOUND_ALLOWED_HOSTS");
  });
  it("plain http only to loopback, only under the test-only setting", () => {
    const testing = { allowedHosts: null, plainHttpLoopbackForTests: true };
    expect(outboundUrlProblem("http://127.0.0.1:9000/hook", testing)).toBeNull();
    expect(outboundUrlProblem("http://192.168.1.4/hook", testing)).toContain("https");
  });
});

describe.each(DIALECTS)("outbound settings on %s", (dialect) => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub(dialect, { env: { TEST_ONLY_PLAIN_HTTP_OUTBOUND: "off" } });
  });
  afterAll(async () => hub?.close());

  it("only an admin may set where orders are posted, and only to https", async () => {
    const db = hub.ctx.database.db;
    // A store row as connecting leaves it (no Shopify call is needed for order settings).
    await db
      .insertInto("stores")
      .values({
        domain: "out.myshopify.com",
        name: "Out",
        auth_kind: "custom_app",
        access_token_enc: null,
        access_token_expires_at: null,
        refresh_token_enc: null,
        refresh_token_expires_at: null,
        scopes: "",
        status: "active",
        status_reason: null,
        inventory_mode: "delta",
        connected_at: 1,
        disconnected_at: null,
        updated_at: 1,
      })
      .execute();
    const operator = (await createApiKey(hub.ctx.database, "ops", Date.now(), ["operate"])).key;
    const put = (key: string, payload: unknown) =>
      hub.server.inject({
        method: "PUT",
        url: "/api/v1/stores/out.myshopify.com/order-settings",
        headers: { authorization: `Bearer ${key}` },
        payload: payload as object,
      });
    const byOperator = await put(operator, {
      outboundUrl: "https://erp.example.com/h",
      outboundSecret: "s".repeat(20),
    });
    expect(byOperator.statusCode).toBe(403);
    const plain = await put(hub.apiKey, { outboundUrl: "http://10.0.0.1/h", outboundSecret: "s".repeat(20) });
    expect(plain.statusCode).toBe(400);
    expect(plain.json().error.code).toBe("OUTBOUND_URL_REFUSED");
    const ok = await put(hub.apiKey, {
      outboundUrl: "https://erp.example.com/h",
      outboundSecret: "s".repeat(20),
    });
    expect(ok.statusCode).toBe(200);
    // The operator may still change other settings when the address stays.
    const tag = await put(operator, { outboundUrl: "https://erp.example.com/h", tag: "from-hub" });
    expect(tag.statusCode, tag.body).toBe(200);
  });
});

describe("files at rest", () => {
  it("creates the data folder 0700 and the SQLite files 0600", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "tb-perm-")), "data");
    const run = promisify(execFile);
    await run(process.execPath, ["bin/tillbridge.mjs", "migrate"], {
      env: { ...process.env, DATA_DIR: dir, DEMO: "off", LOG_LEVEL: "silent" },
    });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "tillbridge.db")).mode & 0o777).toBe(0o600);
  });
});
