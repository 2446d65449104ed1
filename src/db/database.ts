/**
 * Opens the one store of truth: SQLite (embedded default, one file, WAL) or PostgreSQL.
 * Every query in the hub is written once with Kysely and runs on both.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import type { DatabaseTarget } from "../config/config.ts";
import type { Tables } from "./tables.ts";

export type Db = Kysely<Tables>;
export type Dialect = DatabaseTarget["kind"];

export interface Database {
  readonly db: Db;
  readonly dialect: Dialect;
  close(): Promise<void>;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

export function openDatabase(target: DatabaseTarget): Database {
  if (target.kind === "sqlite") {
    // Customers' data lives in these files: readable by the hub's user only. SQLite gives its -wal
    // and -shm files the database file's mode.
    mkdirSync(dirname(target.path), { recursive: true, mode: 0o700 });
    closeSync(openSync(target.path, "a", 0o600));
    for (const suffix of ["", "-wal", "-shm"]) {
      if (existsSync(target.path + suffix)) chmodSync(target.path + suffix, 0o600);
    }
    const sqlite = new SQLite(target.path);
    sqlite.pragma("journal_mode = WAL");
    // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the last commits).
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("foreign_keys = ON");
    sqlite.pragma("busy_timeout = 5000");
    // Erased personal data (compliance redactions) is overwritten, not left in free pages.
    sqlite.pragma("secure_delete = ON");
    const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: sqlite }) });
    return { db, dialect: "sqlite", close: () => db.destroy() };
  }
  const pool = new pg.Pool({
    connectionString: target.url,
    max: 10,
    // Our ids and epoch-millisecond timestamps fit in a double; read them as numbers, not strings.
    types: {
      getTypeParser: (oid: number, format?: "text" | "binary") =>
        oid === INT8_OID || oid === NUMERIC_OID
          ? (v: string) => Number(v)
          : (pg.types.getTypeParser as (o: number, f?: string) => (v: string) => unknown)(oid, format),
    } as pg.CustomTypesConfig,
  });
  // A connection the server closes (restart, failover, a dropped database) must not crash the
  // process. The pool listens only while a client is idle; a client checked out between two
  // statements (inside a transaction) would raise its error with no listener, an uncaught
  // exception. Every client therefore keeps a listener of its own: its next statement fails
  // with the cause instead, and the pool replaces it when it is released.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: "postgres", close: () => db.destroy() };
}
