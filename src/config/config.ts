/**
 * Configuration: parsed once from an environment object (and an optional JSON file named by
 * TILLBRIDGE_CONFIG_FILE), every problem reported together, the result frozen and injected.
 * `SETTINGS` lists every setting; a test fails when the README's configuration reference misses one.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";

export interface Setting {
  readonly env: string;
  readonly description: string;
  readonly default?: string;
}

export const SETTINGS: readonly Setting[] = [
  { env: "PORT", description: "HTTP port of the hub (API, webhooks, console).", default: "8080" },
  { env: "HOST", description: "Address the HTTP server binds to.", default: "127.0.0.1" },
  {
    env: "PUBLIC_URL",
    description: "URL at which Shopify and browsers reach the hub (OAuth redirects, webhook addresses).",
    default: "http://HOST:PORT",
  },
  {
    env: "DATA_DIR",
    description: "Folder for the SQLite file and the generated encryption key.",
    default: "./data",
  },
  {
    env: "DATABASE_URL",
    description:
      "`postgres://…` to use PostgreSQL; otherwise a SQLite file path (`sqlite:./data/x.db` or a plain path).",
    default: "sqlite:DATA_DIR/tillbridge.db",
  },
  {
    env: "LOG_LEVEL",
    description: "pino log level: fatal, error, warn, info, debug, trace, silent.",
    default: "info",
  },
  {
    env: "MAX_BODY_BYTES",
    description: "Largest accepted request body in bytes (a 1,000-movement batch is about 200 kB).",
    default: "2097152",
  },
  {
    env: "ENCRYPTION_KEY",
    description:
      "Base64 of 32 bytes used to encrypt Shopify tokens at rest (AES-256-GCM). Generated into DATA_DIR/encryption.key on first start when unset — back that file up.",
  },
  {
    env: "SHOPIFY_API_KEY",
    description:
      "Client id of the Tillbridge Shopify app (OAuth installs). Unset: only custom-app tokens can connect.",
  },
  {
    env: "SHOPIFY_API_SECRET",
    description: "Client secret of the Shopify app: verifies OAuth callbacks and webhooks.",
  },
  {
    env: "SHOPIFY_ADMIN_URL_TEMPLATE",
    description:
      "Where a store's Admin API lives; `{shop}` is replaced by the store domain. Change only for an emulator.",
    default: "https://{shop}",
  },
  {
    env: "SHOPIFY_ADMIN_URL_OVERRIDES",
    description:
      "Admin API location of single stores, as `shop=template` pairs separated by commas (the demo sets its own store's this way, so every other store keeps SHOPIFY_ADMIN_URL_TEMPLATE).",
  },
  {
    env: "DEMO",
    description:
      "`auto` starts the built-in Shopify emulator with a demo store when no Shopify app is configured; `on` or `off` force it.",
    default: "auto",
  },
  { env: "DEMO_EMULATOR_PORT", description: "Port of the demo emulator.", default: "8081" },
  {
    env: "COALESCE_WINDOW_MS",
    description: "How long the inventory push waits after a change so bursts on one SKU become one update.",
    default: "2000",
  },
  {
    env: "WORKER",
    description: "`on` runs the background sync workers inside `tillbridge start`.",
    default: "on",
  },
  {
    env: "API",
    description:
      "`on` serves the HTTP API, webhooks and the console; `off` makes a worker-only process that serves only `/healthz` and `/metrics` (with `WORKER=off`, an API-only one).",
    default: "on",
  },
  {
    env: "LEASE_TTL_MS",
    description:
      "How long a worker's ownership of a store lasts without renewal: after a crash, another process takes the store over within about this time (a clean stop hands it over at once).",
    default: "8000",
  },
  {
    env: "LEASE_HEARTBEAT_MS",
    description: "How often a worker renews the leases it holds; at most half of LEASE_TTL_MS.",
    default: "2000",
  },
  {
    env: "OUTBOUND_ALLOWED_HOSTS",
    description:
      "Comma-separated hosts the hub may post order notifications to (`erp.example.com`, `*.example.com`). Unset: any https host. Only admins can set a store's outbound address.",
  },
  {
    env: "TEST_ONLY_PLAIN_HTTP_OUTBOUND",
    description:
      "`on` lets outbound addresses be plain `http://` on 127.0.0.1 or localhost. For tests and local demos only; never on a real installation.",
    default: "off",
  },
];

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const port = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(0, `${name} must be 0-65535`)
    .max(65535, `${name} must be 0-65535`);

const envSchema = z.object({
  PORT: port("PORT").default(8080),
  HOST: z.string().min(1).default("127.0.0.1"),
  PUBLIC_URL: z.url({ error: "PUBLIC_URL must be an absolute URL" }).optional(),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z.string().min(1).optional(),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}` })
    .default("info"),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024, "MAX_BODY_BYTES must be at least 1024")
    .default(2 * 1024 * 1024),
  ENCRYPTION_KEY: z
    .string()
    .refine(
      (v) => Buffer.from(v, "base64").length === 32,
      "ENCRYPTION_KEY must be base64 of exactly 32 bytes",
    )
    .optional(),
  SHOPIFY_API_KEY: z.string().min(1).optional(),
  SHOPIFY_API_SECRET: z.string().min(1).optional(),
  SHOPIFY_ADMIN_URL_TEMPLATE: z
    .string()
    .refine((v) => v.includes("{shop}"), "SHOPIFY_ADMIN_URL_TEMPLATE must contain {shop}")
    .default("https://{shop}"),
  SHOPIFY_ADMIN_URL_OVERRIDES: z
    .string()
    .optional()
    .transform((v, c) => {
      const out = new Map<string, string>();
      for (const pair of (v ?? "")
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean)) {
        const at = pair.indexOf("=");
        const shop = pair.slice(0, at).trim().toLowerCase();
        const template = pair.slice(at + 1).trim();
        if (at <= 0 || !template.includes("{shop}")) {
          c.addIssue({
            code: "custom",
            message: `SHOPIFY_ADMIN_URL_OVERRIDES: "${pair}" is not shop=template with {shop} in the template`,
          });
          continue;
        }
        out.set(shop, template);
      }
      return out;
    }),
  DEMO: z.enum(["auto", "on", "off"], { error: "DEMO must be auto, on or off" }).default("auto"),
  DEMO_EMULATOR_PORT: port("DEMO_EMULATOR_PORT").default(8081),
  COALESCE_WINDOW_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
  DRIFT_CHECK_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(0)
    // The backstop behind inventory_levels/update: one bulk read (or a few level pages) per store.
    .default(15 * 60_000),
  WORKER: z.enum(["on", "off"], { error: "WORKER must be on or off" }).default("on"),
  API: z.enum(["on", "off"], { error: "API must be on or off" }).default("on"),
  LEASE_TTL_MS: z.coerce.number().int().min(1000, "LEASE_TTL_MS must be at least 1000").default(8000),
  LEASE_HEARTBEAT_MS: z.coerce
    .number()
    .int()
    .min(100, "LEASE_HEARTBEAT_MS must be at least 100")
    .default(2000),
  OUTBOUND_ALLOWED_HOSTS: z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    )
    .refine(
      (hosts) => hosts.every((h) => /^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(h)),
      "OUTBOUND_ALLOWED_HOSTS must be host names such as erp.example.com or *.example.com",
    )
    .optional(),
  TEST_ONLY_PLAIN_HTTP_OUTBOUND: z
    .enum(["on", "off"], { error: "TEST_ONLY_PLAIN_HTTP_OUTBOUND must be on or off" })
    .default("off"),
});

export type DatabaseTarget =
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "postgres"; readonly url: string };

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string;
  /**
   * Whether PUBLIC_URL was given. Without it each process derives its own http://HOST:PORT, so
   * several processes on one database hold different addresses and none may treat another's
   * subscriptions as an old address to delete (webhook-health.ts).
   */
  readonly publicUrlSet: boolean;
  readonly dataDir: string;
  readonly database: DatabaseTarget;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly maxBodyBytes: number;
  readonly encryptionKey: Buffer | undefined;
  readonly shopifyApp: { readonly apiKey: string; readonly apiSecret: string } | undefined;
  readonly shopifyAdminUrlTemplate: string;
  /** Per-store Admin API templates (the demo store's); others use shopifyAdminUrlTemplate. */
  readonly shopifyAdminUrlOverrides: ReadonlyMap<string, string>;
  readonly demo: boolean;
  readonly demoEmulatorPort: number;
  readonly coalesceWindowMs: number;
  readonly driftCheckIntervalMs: number;
  readonly worker: boolean;
  /** Serve the HTTP API, webhooks and console (off: a worker-only process, /healthz and /metrics). */
  readonly api: boolean;
  readonly leaseTtlMs: number;
  readonly leaseHeartbeatMs: number;
  readonly outbound: {
    /** null: any https host. */
    readonly allowedHosts: readonly string[] | null;
    readonly plainHttpLoopbackForTests: boolean;
  };
}

export class ConfigError extends Error {
  readonly code = "INVALID_CONFIGURATION";
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

export function parseDatabaseTarget(url: string | undefined, dataDir: string): DatabaseTarget {
  if (url === undefined) return { kind: "sqlite", path: resolve(dataDir, "tillbridge.db") };
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: "postgres", url };
  return { kind: "sqlite", path: resolve(url.replace(/^sqlite:/, "")) };
}

/** Reads the optional JSON file; environment variables win over it. */
function withFile(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const file = env.TILLBRIDGE_CONFIG_FILE;
  if (!file) return env;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ConfigError([`TILLBRIDGE_CONFIG_FILE ${file}: ${(err as Error).message}`]);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([`TILLBRIDGE_CONFIG_FILE ${file}: must hold a JSON object of SETTING: value`]);
  }
  const fromFile = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
  return { ...fromFile, ...env };
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const merged = withFile(env);
  const known = new Set(SETTINGS.map((s) => s.env));
  // Empty strings mean "unset" so that `FOO= tillbridge start` behaves as expected.
  const input = Object.fromEntries(
    Object.entries(merged).filter(([k, v]) => known.has(k) && v !== undefined && v !== ""),
  );
  const result = envSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map(
        (i) =>
          `${i.path.join(".") || "(root)"}: ${i.message} (got ${JSON.stringify(input[String(i.path[0])])})`,
      ),
    );
  }
  const e = result.data;
  const problems: string[] = [];
  if ((e.SHOPIFY_API_KEY === undefined) !== (e.SHOPIFY_API_SECRET === undefined)) {
    problems.push("SHOPIFY_API_KEY and SHOPIFY_API_SECRET must be set together");
  }
  if (e.LEASE_HEARTBEAT_MS * 2 > e.LEASE_TTL_MS) {
    problems.push(
      `LEASE_HEARTBEAT_MS (${e.LEASE_HEARTBEAT_MS}) must be at most half of LEASE_TTL_MS (${e.LEASE_TTL_MS})`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const shopifyApp =
    e.SHOPIFY_API_KEY && e.SHOPIFY_API_SECRET
      ? { apiKey: e.SHOPIFY_API_KEY, apiSecret: e.SHOPIFY_API_SECRET }
      : undefined;
  const demo = e.DEMO === "on" || (e.DEMO === "auto" && shopifyApp === undefined);
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    publicUrl: (e.PUBLIC_URL ?? `http://${e.HOST}:${e.PORT}`).replace(/\/$/, ""),
    publicUrlSet: e.PUBLIC_URL !== undefined,
    dataDir: resolve(e.DATA_DIR),
    database: parseDatabaseTarget(e.DATABASE_URL, e.DATA_DIR),
    logLevel: e.LOG_LEVEL,
    maxBodyBytes: e.MAX_BODY_BYTES,
    encryptionKey: e.ENCRYPTION_KEY ? Buffer.from(e.ENCRYPTION_KEY, "base64") : undefined,
    shopifyApp,
    shopifyAdminUrlTemplate: e.SHOPIFY_ADMIN_URL_TEMPLATE,
    shopifyAdminUrlOverrides: e.SHOPIFY_ADMIN_URL_OVERRIDES,
    demo,
    demoEmulatorPort: e.DEMO_EMULATOR_PORT,
    coalesceWindowMs: e.COALESCE_WINDOW_MS,
    driftCheckIntervalMs: e.DRIFT_CHECK_INTERVAL_MS,
    worker: e.WORKER === "on",
    api: e.API === "on",
    leaseTtlMs: e.LEASE_TTL_MS,
    leaseHeartbeatMs: e.LEASE_HEARTBEAT_MS,
    outbound: Object.freeze({
      allowedHosts: e.OUTBOUND_ALLOWED_HOSTS ?? null,
      plainHttpLoopbackForTests: e.TEST_ONLY_PLAIN_HTTP_OUTBOUND === "on",
    }),
  });
}

/** Where one store's Admin API lives: its own template if it has one, else the hub's. */
export function adminUrlTemplateFor(
  config: Pick<Config, "shopifyAdminUrlTemplate"> & Partial<Pick<Config, "shopifyAdminUrlOverrides">>,
  shop: string,
): string {
  return config.shopifyAdminUrlOverrides?.get(shop.toLowerCase()) ?? config.shopifyAdminUrlTemplate;
}
