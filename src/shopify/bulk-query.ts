/**
 * Bulk query operations: start one (`bulkOperationRunQuery`), poll `bulkOperation(id:)` until it
 * ends, then stream the JSONL result. Each line is one object; objects of nested connections
 * carry `__parentId` (the id of the nearest parent with an id) and follow their parent.
 */
import { type Clock, yieldToEventLoop } from "../core/clock.ts";
import {
  ShopifyAuthError,
  ShopifyQueryError,
  ShopifyThrottledError,
  ShopifyTransientError,
} from "./errors.ts";
import { graphql } from "./graphql.ts";
import type { AdminTransport } from "./transport.ts";

export const RUN_BULK_QUERY = graphql`
  mutation RunBulkQuery($query: String!, $groupObjects: Boolean!) {
    bulkOperationRunQuery(query: $query, groupObjects: $groupObjects) {
      bulkOperation {
        id
        status
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

export const BULK_OPERATION_STATUS = graphql`
  query BulkOperationStatus($id: ID!) {
    bulkOperation(id: $id) {
      id
      status
      errorCode
      objectCount
      url
      partialDataUrl
    }
  }
`;

export type BulkOperationStatus =
  | "CREATED"
  | "RUNNING"
  | "COMPLETED"
  | "FAILED"
  | "CANCELING"
  | "CANCELED"
  | "EXPIRED";

interface RunData {
  bulkOperationRunQuery: {
    bulkOperation: { id: string; status: BulkOperationStatus } | null;
    userErrors: { field: string[] | null; message: string; code: string | null }[];
  } | null;
}

interface StatusData {
  bulkOperation: {
    id: string;
    status: BulkOperationStatus;
    errorCode: string | null;
    objectCount: string;
    url: string | null;
    partialDataUrl: string | null;
  } | null;
}

export interface BulkQueryOptions {
  clock: Clock;
  /** Between status polls (default 1 s). */
  pollMs?: number;
  /** Give up (ShopifyTransientError) when the operation has not ended after this long (default 1 h). */
  maxWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** For downloading the result file (default global fetch). */
  fetch?: typeof fetch;
  /** Told the operation's id as soon as Shopify accepted it (to log it or find it again). */
  onStarted?: (id: string) => void | Promise<void>;
  /**
   * Each object's children right after it (default false, Shopify's faster default). A reader that
   * reassembles parents one at a time (the catalog import) needs them grouped.
   */
  groupObjects?: boolean;
  /**
   * When Shopify refuses to start because the app's bulk operations in the shop are all running
   * (LIMIT_REACHED): how long to wait between tries (default 5 s) and in all (default 60 s) before
   * giving up with a retriable ShopifyThrottledError.
   */
  busyRetryMs?: number;
  busyWaitMs?: number;
}

export type BulkRow = Record<string, unknown> & { __parentId?: string };

/**
 * Refusals that mean "the app's bulk operations in this shop are all running": LIMIT_REACHED
 * ("Bulk operations limit reached. Please try again later.") and OPERATION_IN_PROGRESS ("A bulk
 * operation is already in progress."), BulkOperationUserErrorCode in the 2026-10 schema.
 */
const BUSY_CODES = new Set(["LIMIT_REACHED", "OPERATION_IN_PROGRESS"]);

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts the bulk query and waits for it to end; returns the result file's URL (null when empty). */
export async function startAndAwaitBulkQuery(
  transport: AdminTransport,
  innerQuery: string,
  options: BulkQueryOptions,
): Promise<{ id: string; url: string | null; objectCount: number }> {
  const sleep = options.sleep ?? realSleep;
  const busyRetryMs = options.busyRetryMs ?? 5_000;
  const busyWaitMs = options.busyWaitMs ?? 60_000;
  const busyUntil = options.clock.now() + busyWaitMs;
  let payload: RunData["bulkOperationRunQuery"];
  for (;;) {
    const started = await transport.graphql<RunData>(RUN_BULK_QUERY, {
      query: innerQuery,
      groupObjects: options.groupObjects ?? false,
    });
    payload = started.data.bulkOperationRunQuery;
    const userErrors = payload?.userErrors ?? [];
    if (payload?.bulkOperation && userErrors.length === 0) break;
    const busy = userErrors.length > 0 && userErrors.every((e) => e.code !== null && BUSY_CODES.has(e.code));
    const message = `Shopify refused the bulk query: ${userErrors.map((e) => e.message).join("; ") || "no operation"}`;
    if (!busy) {
      throw new ShopifyQueryError(
        message,
        transport.store,
        userErrors.map((e) => ({ message: e.message, extensions: { code: e.code ?? undefined } })),
      );
    }
    // The app's bulk operations in this shop are all taken (five from 2026-01; earlier versions
    // one): nothing ran. Wait a little for one to end, then hand back a retriable error so the
    // caller's job tries again later instead of holding the store's lease.
    if (options.clock.now() + busyRetryMs > busyUntil) {
      throw new ShopifyThrottledError(message, transport.store, busyRetryMs);
    }
    await sleep(busyRetryMs);
  }
  const id = payload!.bulkOperation!.id;
  await options.onStarted?.(id);
  return awaitBulkOperation(transport, id, options);
}

/**
 * Polls a bulk operation until it ends; returns its result file's URL (null when empty). Also for
 * an operation started earlier (a job resumed after a crash finds its operation again by id).
 */
export async function awaitBulkOperation(
  transport: AdminTransport,
  id: string,
  options: BulkQueryOptions,
): Promise<{ id: string; url: string | null; objectCount: number }> {
  const sleep = options.sleep ?? realSleep;
  const pollMs = options.pollMs ?? 1000;
  const maxWaitMs = options.maxWaitMs ?? 3_600_000;
  const deadline = options.clock.now() + maxWaitMs;
  for (;;) {
    const { data } = await transport.graphql<StatusData>(BULK_OPERATION_STATUS, { id });
    const op = data.bulkOperation;
    if (!op) throw new ShopifyQueryError(`Bulk operation ${id} not found`, transport.store, []);
    switch (op.status) {
      case "COMPLETED":
        return { id, url: op.url, objectCount: Number(op.objectCount) };
      case "FAILED":
      case "CANCELED":
      case "CANCELING":
      case "EXPIRED": {
        const message = `Bulk operation ${id} ended ${op.status}${op.errorCode ? ` (${op.errorCode})` : ""}`;
        if (op.errorCode === "ACCESS_DENIED") throw new ShopifyAuthError(message, transport.store, 403);
        throw new ShopifyQueryError(message, transport.store, [
          { message, extensions: { code: op.errorCode ?? op.status } },
        ]);
      }
      default:
        if (options.clock.now() >= deadline) {
          throw new ShopifyTransientError(
            `Bulk operation ${id} still ${op.status} after ${maxWaitMs} ms`,
            transport.store,
            undefined,
          );
        }
        await sleep(pollMs);
    }
  }
}

/** Streams the lines of a JSONL file as parsed objects. */
export async function* readJsonl(
  url: string,
  store: string,
  doFetch: typeof fetch = fetch,
): AsyncGenerator<BulkRow> {
  for await (const line of readJsonlLines(url, store, doFetch)) yield JSON.parse(line) as BulkRow;
}

/** Streams the non-empty lines of a JSONL file as text (a reader resuming at line N skips unparsed). */
export async function* readJsonlLines(
  url: string,
  store: string,
  doFetch: typeof fetch = fetch,
): AsyncGenerator<string> {
  let res: Response;
  try {
    res = await doFetch(url);
  } catch (e) {
    throw new ShopifyTransientError(
      `Downloading the bulk result failed: ${(e as Error).message}`,
      store,
      undefined,
      {
        cause: e,
      },
    );
  }
  if (!res.ok || !res.body) {
    throw new ShopifyTransientError(
      `Downloading the bulk result answered HTTP ${res.status}`,
      store,
      res.status,
    );
  }
  const decoder = new TextDecoder();
  let buffered = "";
  const reader = res.body.getReader();
  // A read of buffered data resolves as a microtask: a file already received (a local store, a
  // fast network) would be read to its end without a turn of the event loop (/healthz waited
  // some 250 ms while a link read 50,000 variants). A turn every 20 ms of reading.
  let turnAt = performance.now();
  try {
    for (;;) {
      if (performance.now() - turnAt > 20) {
        await yieldToEventLoop();
        turnAt = performance.now();
      }
      const { done, value } = await reader.read();
      buffered += done ? decoder.decode() : decoder.decode(value, { stream: true });
      const lines = buffered.split("\n");
      buffered = done ? "" : (lines.pop() ?? "");
      for (const line of lines) if (line.trim()) yield line;
      if (done) break;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Runs `innerQuery` (a query with connections, no pagination arguments needed) as a bulk
 * operation and yields its rows as they download.
 */
export async function* runBulkQuery(
  transport: AdminTransport,
  innerQuery: string,
  options: BulkQueryOptions,
): AsyncGenerator<BulkRow> {
  const { url } = await startAndAwaitBulkQuery(transport, innerQuery, options);
  if (url === null) return;
  yield* readJsonl(url, transport.store, options.fetch);
}

/** The same, collected (for results known to be small). */
export async function collectBulkQuery(
  transport: AdminTransport,
  innerQuery: string,
  options: BulkQueryOptions,
): Promise<BulkRow[]> {
  const rows: BulkRow[] = [];
  for await (const row of runBulkQuery(transport, innerQuery, options)) rows.push(row);
  return rows;
}
