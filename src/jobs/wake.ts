/**
 * Signals between hub processes that a store's woken pass has work (src/runtime/worker.ts
 * `StorePass.wakeOn`): the process that stored a delivery may not hold the store's lease. On
 * PostgreSQL through NOTIFY/LISTEN on one channel (delivered after the sender's commit, to every
 * listening session); SQLite serves one process, which wakes its own worker directly.
 *
 * A signal can be lost (a listener reconnecting, a process starting): woken passes also run on a
 * slow safety interval and at once when a process takes a store over.
 */
import { sql } from "kysely";
import pg from "pg";
import type { Logger } from "pino";
import type { Db } from "../db/database.ts";
import { backoffMs } from "./backoff.ts";

export const STORE_WORK_CHANNEL = "tillbridge_store_work";

export interface StoreWorkSignal {
  readonly signal: string;
  readonly shop: string;
  /** The worker that sent it (it woke itself already). */
  readonly from: string;
}

/** Tells every listening process (outside a transaction: it is sent at once). */
export async function notifyStoreWork(db: Db, message: StoreWorkSignal): Promise<void> {
  await sql`select pg_notify(${STORE_WORK_CHANNEL}, ${JSON.stringify(message)})`.execute(db);
}

export function parseStoreWork(payload: string | undefined): StoreWorkSignal | undefined {
  try {
    const m = JSON.parse(payload ?? "") as Partial<StoreWorkSignal>;
    if (typeof m.signal === "string" && typeof m.shop === "string" && typeof m.from === "string")
      return { signal: m.signal, shop: m.shop, from: m.from };
  } catch {
    // not ours
  }
  return undefined;
}

/**
 * Listens on the channel with a session of its own (LISTEN needs one; the pool's sessions come
 * and go), reconnecting with backoff when the session drops. `close` ends it.
 */
export function listenStoreWork(
  url: string,
  logger: Logger,
  onSignal: (message: StoreWorkSignal) => void,
): { close(): Promise<void> } {
  let closed = false;
  let client: pg.Client | undefined;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: url });
    client = c;
    const retry = () => {
      if (closed || client !== c) return;
      client = undefined;
      void c.end().catch(() => {});
      failures++;
      timer = setTimeout(
        () => void connect(),
        backoffMs(failures, { baseMs: 500, capMs: 30_000 }, Math.random),
      );
    };
    c.on("error", (err) => {
      logger.warn({ err }, "store work signals: listening session failed; reconnecting");
      retry();
    });
    c.on("end", retry);
    c.on("notification", (n) => {
      if (n.channel !== STORE_WORK_CHANNEL) return;
      const m = parseStoreWork(n.payload);
      if (m) onSignal(m);
    });
    try {
      await c.connect();
      await c.query(`listen ${STORE_WORK_CHANNEL}`);
      failures = 0;
    } catch (err) {
      logger.warn({ err }, "store work signals: cannot listen; retrying");
      retry();
    }
  };
  void connect();
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}
