/**
 * Talking to `tillbridge start` processes in tests (test/support/processes.ts starts them): an
 * admin key made with the CLI, a caller for a process's HTTP API with it, and waiting for a
 * process to have exited. Tests of several processes on one database share these.
 */
import type { ChildProcess } from "node:child_process";
import type { DatabaseTarget } from "../../src/config/config.ts";
import { runCli } from "./processes.ts";

/**
 * The environment of `tillbridge start` processes sharing one PostgreSQL database in a test:
 * workers on, no demo, leases short enough to see a takeover in seconds (TTL 3 s, heartbeat
 * 750 ms), Shopify at `shopifyUrl` (the emulator, or a proxy in front of it) and one key for all.
 */
export function processEnv(
  target: DatabaseTarget,
  shopifyUrl: string,
  keyByte: number,
): Record<string, string> {
  return {
    DATABASE_URL: target.kind === "postgres" ? target.url : "",
    DEMO: "off",
    WORKER: "on",
    LEASE_TTL_MS: "3000",
    LEASE_HEARTBEAT_MS: "750",
    SHOPIFY_ADMIN_URL_TEMPLATE: `${shopifyUrl}/{shop}`,
    ENCRYPTION_KEY: Buffer.alloc(32, keyByte).toString("base64"),
  };
}

/** An admin API key for the database in `env`, made with `tillbridge api-key create`. */
export function createAdminKey(env: Record<string, string>, name: string): string {
  const created = runCli(["api-key", "create", "--name", name, "--scope", "admin"], env);
  if (created.status !== 0) throw new Error(`api-key create failed: ${created.stderr}`);
  return created.stdout.trim().split("\n").pop()!;
}

export type ApiCall = (
  hub: { url: string },
  method: string,
  path: string,
  body?: unknown,
) => Promise<Record<string, unknown>>;

/** Calls a process's API with the key; a 4xx or 5xx answer throws with its body. */
export function apiCaller(key: string): ApiCall {
  return async (hub, method, path, body) => {
    const res = await fetch(`${hub.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
}

/** Resolves once the process has exited (at once if it has). */
export const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => child.once("exit", () => r()));
