/**
 * A hub process's own data for a bench: a temporary data folder with SQLite, or a fresh
 * PostgreSQL database; the environment `tillbridge` runs with against the emulator; the CLI
 * (migrated, an admin API key made); and the cleanup.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

const root = new URL("../..", import.meta.url).pathname;
export const TILLBRIDGE_BIN = join(root, "bin/tillbridge.mjs");

const adminQuery = async (text: string) => {
  const admin = new pg.Client({ host: "127.0.0.1", port: 5432, user: "postgres", database: "postgres" });
  await admin.connect();
  try {
    await admin.query(text);
  } finally {
    await admin.end();
  }
};

/**
 * The Node flags a bench's hub runs with: those `npm start` gives it (package.json), then
 * HUB_NODE_FLAGS (later ones win), e.g. HUB_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
 */
export function hubNodeFlags(): string[] {
  const startScript = (
    JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: { start: string } }
  ).scripts.start;
  return [
    ...startScript.split(" ").filter((t) => t.startsWith("--")),
    ...(process.env.HUB_NODE_FLAGS ?? "").split(" ").filter(Boolean),
  ];
}

export interface HubData {
  readonly dataDir: string;
  readonly port: number;
  readonly env: NodeJS.ProcessEnv;
  /** An admin API key for the bench's calls. */
  readonly key: string;
  /** Runs `tillbridge <args>` to its end; its standard output. */
  cli(args: string[]): Promise<string>;
  /** Removes the data folder and drops the PostgreSQL database. */
  remove(): Promise<void>;
}

export async function prepareHubData(o: {
  readonly prefix: string;
  readonly db: "sqlite" | "postgres";
  readonly portBase: number;
  readonly emulatorUrl: string;
  readonly app: { readonly clientId: string; readonly clientSecret: string };
}): Promise<HubData> {
  const dataDir = mkdtempSync(join(tmpdir(), `tillbridge-${o.prefix}-`));
  let databaseUrl = `sqlite:${join(dataDir, "tillbridge.db")}`;
  const pgName = `tb_${o.prefix}_${randomBytes(4).toString("hex")}`;
  if (o.db === "postgres") {
    await adminQuery(`create database ${pgName}`);
    databaseUrl = `postgres://postgres@127.0.0.1:5432/${pgName}`;
  }
  const port = o.portBase + Math.floor(Math.random() * 1000);
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    PORT: String(port),
    DEMO: "off",
    LOG_LEVEL: "warn",
    ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    SHOPIFY_ADMIN_URL_TEMPLATE: `${o.emulatorUrl}/{shop}`,
    SHOPIFY_API_KEY: o.app.clientId,
    SHOPIFY_API_SECRET: o.app.clientSecret,
  };
  const cli = (args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, [TILLBRIDGE_BIN, ...args], {
        env,
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      p.stdout.on("data", (d) => {
        out += d;
      });
      p.on("exit", (code) =>
        code === 0 ? resolve(out) : reject(new Error(`tillbridge ${args.join(" ")} exited ${code}`)),
      );
    });
  await cli(["migrate"]);
  const key = (await cli(["api-key", "create", "--name", "bench", "--scope", "admin"]))
    .trim()
    .split("\n")
    .pop()!
    .trim();
  return {
    dataDir,
    port,
    env,
    key,
    cli,
    async remove() {
      rmSync(dataDir, { recursive: true, force: true });
      if (o.db === "postgres") await adminQuery(`drop database if exists ${pgName}`);
    },
  };
}
