/**
 * A connection the server ends must not take the process down. The pool's own error listener
 * covers idle clients only; a client checked out inside a transaction, between two statements,
 * would otherwise raise an uncaught `error` (seen once in CI as 57P01 "terminating connection
 * due to administrator command" when a test database was dropped).
 */
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { openTestDatabase } from "../../test/support/databases.ts";

describe("a PostgreSQL connection ended by the server", () => {
  const opened: Array<{ drop(): Promise<void> }> = [];
  afterAll(async () => {
    for (const d of opened) await d.drop();
  });

  it("fails the transaction that held it, not the process, and the pool goes on", async () => {
    const database = await openTestDatabase("postgres");
    opened.push(database);
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on("uncaughtException", onUncaught);
    try {
      const outcome = database.db
        .transaction()
        .execute(async (trx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
          // Another session ends this one while the transaction waits between statements.
          await sql`select pg_terminate_backend(${rows[0]!.pid})`.execute(database.db);
          await new Promise((r) => setTimeout(r, 200));
          await sql`select 1`.execute(trx);
        })
        .then(
          () => "committed",
          (err: Error) => err.message,
        );
      expect(await outcome).not.toBe("committed");
      expect(uncaught).toEqual([]);
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(database.db);
      expect(rows[0]!.one).toBe(1);
    } finally {
      process.off("uncaughtException", onUncaught);
    }
  });
});
