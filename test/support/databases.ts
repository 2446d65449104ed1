/**
 * Real databases for tests: a fresh SQLite file, or a fresh PostgreSQL database created on the
 * local server and dropped afterwards. Each test file (or `describe`) gets its own.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { DatabaseTarget } from "../../src/config/config.ts";
import { type Database, openDatabase } from "../../src/db/database.ts";
import { migrateToLatest } from "../../src/db/migrate.ts";

export const DIALECTS = ["sqlite", "postgres"] as const;
export type TestDialect = (typeof DIALECTS)[number];

/** Admin connection to the local server; override with TEST_POSTGRES_URL. */
const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  readonly target: DatabaseTarget;
  drop(): Promise<void>;
}

export async function createTestDatabase(dialect: TestDialect): Promise<TestDatabase> {
  if (dialect === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "tillbridge-test-"));
    return {
      target: { kind: "sqlite", path: join(dir, "hub.db") },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `tillbridge_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    target: { kind: "postgres", url: url.toString() },
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** An open, migrated database; `close` also drops it. */
export async function openTestDatabase(dialect: TestDialect): Promise<Database & { drop(): Promise<void> }> {
  const test = await createTestDatabase(dialect);
  const database = openDatabase(test.target);
  await migrateToLatest(database);
  return {
    ...database,
    async drop() {
      await database.close();
      await test.drop();
    },
  };
}
