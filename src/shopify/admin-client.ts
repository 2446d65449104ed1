/**
 * The Admin GraphQL transport for one store: the store's only spender of its API budget.
 *
 * Every call of one transport instance goes through one queue (the hub keeps one transport per
 * store): calls start in call order, at most `maxInFlight` at a time (1 by default: one call in
 * flight; a caller that issues calls concurrently gets them overlapped up to the limit) or, for
 * a call in its own lane (`GraphQLCallOptions.lane`), at most the lane's limit, and never more
 * than `maxInFlightTotal` across lanes; each
 * waits for the throttle model to afford it, then is sent; THROTTLED / 429 / 5xx /
 * network errors / timeouts are retried with backoff and jitter, 401/403 and other GraphQL errors
 * are thrown at once. The same request body is resent on retry, so a mutation carrying
 * `@idempotent(key:)` in the caller's document cannot double-apply.
 *
 * Why plain fetch and not `@shopify/admin-api-client`: its `createAdminApiClient` reduces
 * `storeDomain` to an https origin (`validateDomainAndGetStoreUrl` drops the path and forces
 * https), so `${emulatorUrl}/{shop}` could only be reached by rewriting URLs inside
 * `customFetchApi`, i.e. a second code path for the emulator; it also warns on versions it does
 * not know yet and hides the raw status and Retry-After behind its own error shape. What it
 * would add over one POST (headers, JSON) is a few lines here, and throttling and retries must be
 * ours anyway (only we know the per-store budget).
 */
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { SHOPIFY_API_VERSION } from "./api-version.ts";
import {
  ShopifyAuthError,
  type ShopifyError,
  ShopifyQueryError,
  ShopifyThrottledError,
  ShopifyTransientError,
} from "./errors.ts";
import {
  afterResponse,
  afterThrottled,
  backoffMs,
  initialThrottleState,
  reserve,
  statusAt,
  type ThrottleState,
  waitBefore,
} from "./throttle.ts";
import type { AdminTransport, GraphQLCallOptions, GraphQLResult, QueryCost } from "./transport.ts";

/** How one HTTP attempt ended, for metrics (`onCall`). */
export type CallOutcome =
  | "ok"
  | "throttled"
  | "rate_limited"
  | "server_error"
  | "network_error"
  | "timeout"
  | "auth_error"
  | "query_error";

export interface AdminTransportOptions {
  /** `<name>.myshopify.com` */
  store: string;
  /** `https://{shop}` in production, `${emulator.url}/{shop}` for the emulator. */
  urlTemplate: string;
  getAccessToken: () => Promise<string>;
  clock: Clock;
  logger: Logger;
  fetch?: typeof fetch;
  /** Attempts per call, the first included (default 5). */
  maxAttempts?: number;
  /** Per attempt (default 30 s). */
  timeoutMs?: number;
  /** Called after every HTTP attempt (also the retried ones). */
  onCall?: (outcome: CallOutcome, cost: QueryCost | undefined) => void;
  /**
   * Shopify answered with `X-Shopify-API-Deprecated-Reason`: the operation (its GraphQL name)
   * used something deprecated in the pinned version. Recorded per store (api-deprecations.ts).
   */
  onDeprecated?: (operation: string, reason: string) => void;
  /** Waits (default: a real timer). Tests pass one that advances a controlled clock. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1) (default Math.random). */
  random?: () => number;
  /**
   * Calls of this store sent at once, at most (default 1). Latency, not the budget, limits one
   * call at a time: at 200 ms a call, 5 calls/s spend half of Standard's 100 points/s on
   * 10-point mutations. The budget still bounds them: each call reserves its cost before it is
   * sent, and an answer's bucket counts the calls still in flight as spent.
   */
  maxInFlight?: number;
  /**
   * Calls of this store sent at once across all lanes, at most (default `maxInFlight`): a flow
   * that asks for its own lane (the catalog publish: many small mutations) may overlap more
   * calls than the default lane, up to this. The budget bounds them as above.
   */
  maxInFlightTotal?: number;
}

export interface ShopifyAdminTransport extends AdminTransport {
  /** The modelled bucket now (what Shopify last said, projected with the restore rate). */
  throttleState(): ReturnType<typeof statusAt>;
  /** Calls waiting in this store's queue, the one in flight included. */
  pending(): number;
}

/** The GraphQL operation's name in a request body ("(anonymous)" when it has none). */
function operationName(body: string): string {
  try {
    const q = (JSON.parse(body) as { query?: string }).query ?? "";
    return /\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(q)?.[1] ?? "(anonymous)";
  } catch {
    return "(anonymous)";
  }
}

/** Default cost estimates when a document's cost has not been seen yet (transport.ts contract). */
const DEFAULT_QUERY_COST = 50;
const DEFAULT_MUTATION_COST = 10;
const LEARNED_COSTS_MAX = 500;

/** Names the process, so Shopify's (and the emulator's) request logs tell spenders apart. */
const USER_AGENT = `Tillbridge (pid ${process.pid})`;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function adminApiUrl(urlTemplate: string, store: string): string {
  const base = urlTemplate.replaceAll("{shop}", store).replace(/\/+$/, "");
  return `${base}/admin/api/${SHOPIFY_API_VERSION}/graphql.json`;
}

interface GraphQLErrorShape {
  message: string;
  extensions?: { code?: string; requiredAccess?: string; [k: string]: unknown };
}

interface ResponseBody {
  data?: unknown;
  errors?: unknown;
  extensions?: { cost?: QueryCost };
}

/** What one attempt produced: a result, or an error and whether/how to retry. */
type Attempt =
  | { kind: "ok"; data: unknown; cost: QueryCost | undefined }
  | { kind: "throttled"; cost: QueryCost | undefined; retryAfterMs: number | undefined; outcome: CallOutcome }
  | { kind: "transient"; error: ShopifyTransientError; outcome: CallOutcome; retryAfterMs?: number }
  | { kind: "fatal"; error: ShopifyError; outcome: CallOutcome; cost: QueryCost | undefined };

/** Retry-After: seconds (Shopify sends e.g. "2.0") or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds * 1000));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The scope named in an ACCESS_DENIED error ("Required access: `read_orders` access scope."). */
export function missingScopeOf(errors: readonly GraphQLErrorShape[]): string | undefined {
  for (const e of errors) {
    const text = `${e.extensions?.requiredAccess ?? ""} ${e.message}`;
    const m = /`([a-z_]+)`/.exec(text);
    if (m) return m[1];
  }
  return undefined;
}

function asErrors(errors: unknown): GraphQLErrorShape[] {
  if (Array.isArray(errors))
    return errors.map((e) =>
      e && typeof e === "object" && typeof (e as GraphQLErrorShape).message === "string"
        ? (e as GraphQLErrorShape)
        : { message: JSON.stringify(e) },
    );
  if (typeof errors === "string") return [{ message: errors }];
  if (errors && typeof errors === "object") return [{ message: JSON.stringify(errors) }];
  return [];
}

function isMutation(document: string): boolean {
  return /^\s*(#[^\n]*\n\s*)*mutation\b/.test(document);
}

export function createAdminTransport(options: AdminTransportOptions): ShopifyAdminTransport {
  const { store, clock } = options;
  const url = adminApiUrl(options.urlTemplate, store);
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const logger = options.logger.child({ store, component: "shopify-transport" });
  const learnedCost = new Map<string, number>();

  let state: ThrottleState = initialThrottleState(clock.now());
  const maxInFlight = Math.max(1, Math.floor(options.maxInFlight ?? 1));
  const maxInFlightTotal = Math.max(maxInFlight, Math.floor(options.maxInFlightTotal ?? maxInFlight));
  /** Calls holding a slot (in all lanes and per lane), and those waiting for one in call order. */
  let active = 0;
  const activeIn = new Map<string, number>();
  const queue: { lane: string; limit: number; start: () => void }[] = [];
  const DEFAULT_LANE = "";
  const laneOf = (o: GraphQLCallOptions | undefined) =>
    o?.lane
      ? {
          lane: `lane:${o.lane.name}`,
          limit: Math.min(maxInFlightTotal, Math.max(1, Math.floor(o.lane.inFlight))),
        }
      : { lane: DEFAULT_LANE, limit: maxInFlight };
  const fits = (lane: string, limit: number) =>
    active < maxInFlightTotal && (activeIn.get(lane) ?? 0) < limit;
  const take = (lane: string) => {
    active++;
    activeIn.set(lane, (activeIn.get(lane) ?? 0) + 1);
  };
  /** Points reserved by calls sent and not answered yet. */
  let reservedInFlight = 0;
  let pending = 0;
  const acquire = (lane: string, limit: number): Promise<void> => {
    // In call order within a lane: a call never overtakes an earlier one of its lane.
    if (fits(lane, limit) && !queue.some((w) => w.lane === lane)) {
      take(lane);
      return Promise.resolve();
    }
    return new Promise((start) => queue.push({ lane, limit, start }));
  };
  const releaseSlot = (lane: string) => {
    active--;
    activeIn.set(lane, (activeIn.get(lane) ?? 1) - 1);
    // The earliest waiters whose lanes have room start (the first of each lane, in call order).
    const blocked = new Set<string>();
    for (let i = 0; i < queue.length && active < maxInFlightTotal; ) {
      const w = queue[i]!;
      if (!blocked.has(w.lane) && fits(w.lane, w.limit)) {
        queue.splice(i, 1);
        take(w.lane);
        w.start();
      } else {
        blocked.add(w.lane);
        i++;
      }
    }
  };
  /**
   * Adopts an answer's bucket: Shopify measured it before charging the calls still in flight
   * (or after: then this over-counts, which only makes the next call wait a little longer).
   */
  const settle = (next: ThrottleState): ThrottleState =>
    reservedInFlight > 0 ? { ...next, available: next.available - reservedInFlight } : next;

  const report = (outcome: CallOutcome, cost: QueryCost | undefined) => {
    try {
      options.onCall?.(outcome, cost);
    } catch (e) {
      logger.warn({ err: e }, "onCall hook failed");
    }
  };

  async function attempt(body: string, beforeSend: (() => Promise<void>) | undefined): Promise<Attempt> {
    const token = await options.getAccessToken();
    // Last: nothing may stand between this check and the request leaving.
    await beforeSend?.();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await doFetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          "x-shopify-access-token": token,
          "user-agent": USER_AGENT,
        },
        body,
        signal: controller.signal,
      });
      text = await res.text();
    } catch (e) {
      const timedOut = controller.signal.aborted;
      const outcome: CallOutcome = timedOut ? "timeout" : "network_error";
      return {
        kind: "transient",
        outcome,
        error: new ShopifyTransientError(
          timedOut
            ? `No answer from Shopify within ${timeoutMs} ms`
            : `Network error: ${(e as Error).message}`,
          store,
          undefined,
          { cause: e },
        ),
      };
    } finally {
      clearTimeout(timer);
    }

    const now = clock.now();
    const deprecated = res.headers.get("x-shopify-api-deprecated-reason");
    if (deprecated) {
      try {
        options.onDeprecated?.(operationName(body), deprecated.slice(0, 500));
      } catch (e) {
        logger.warn({ err: e }, "onDeprecated hook failed");
      }
    }
    let parsed: ResponseBody | undefined;
    try {
      parsed = text ? (JSON.parse(text) as ResponseBody) : undefined;
    } catch {
      parsed = undefined;
    }
    const cost = parsed?.extensions?.cost;
    const errors = asErrors(parsed?.errors);

    if (res.status === 429) {
      return {
        kind: "throttled",
        outcome: "rate_limited",
        cost,
        retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), now),
      };
    }
    if (res.status === 401 || res.status === 403) {
      const message =
        res.status === 401
          ? "Shopify refused the access token (missing, expired, revoked or app uninstalled)"
          : "Shopify refused access (a scope is missing or the app is not allowed)";
      return {
        kind: "fatal",
        outcome: "auth_error",
        cost,
        error: new ShopifyAuthError(message, store, res.status, missingScopeOf(errors)),
      };
    }
    if (res.status >= 500) {
      return {
        kind: "transient",
        outcome: "server_error",
        retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), now),
        error: new ShopifyTransientError(`Shopify answered HTTP ${res.status}`, store, res.status),
      };
    }
    if (res.status !== 200 || !parsed) {
      if (res.status === 200) {
        return {
          kind: "transient",
          outcome: "server_error",
          error: new ShopifyTransientError("Shopify answered 200 without a JSON body", store, 200),
        };
      }
      const errs = errors.length ? errors : [{ message: `HTTP ${res.status}` }];
      return {
        kind: "fatal",
        outcome: "query_error",
        cost,
        error: new ShopifyQueryError(`Shopify answered HTTP ${res.status}: ${errs[0]!.message}`, store, errs),
      };
    }
    if (errors.some((e) => e.extensions?.code === "THROTTLED")) {
      return { kind: "throttled", outcome: "throttled", cost, retryAfterMs: undefined };
    }
    if (errors.length > 0) {
      const denied = errors.filter((e) => e.extensions?.code === "ACCESS_DENIED");
      if (denied.length > 0) {
        const scope = missingScopeOf(denied);
        return {
          kind: "fatal",
          outcome: "auth_error",
          cost,
          error: new ShopifyAuthError(
            scope
              ? `Access denied: the token lacks the ${scope} scope`
              : `Access denied: ${denied[0]!.message}`,
            store,
            403,
            scope,
          ),
        };
      }
      return {
        kind: "fatal",
        outcome: "query_error",
        cost,
        error: new ShopifyQueryError(
          `Shopify GraphQL error: ${errors.map((e) => e.message).join("; ")}`,
          store,
          errors,
        ),
      };
    }
    return { kind: "ok", data: parsed.data, cost };
  }

  async function send<T>(document: string, body: string, callOptions: GraphQLCallOptions | undefined) {
    const estimatedCost = callOptions?.estimatedCost;
    let lastError: ShopifyError | undefined;
    let lastThrottleWait = 0;
    for (let n = 1; n <= maxAttempts; n++) {
      const costGuess =
        estimatedCost ??
        learnedCost.get(document) ??
        (isMutation(document) ? DEFAULT_MUTATION_COST : DEFAULT_QUERY_COST);
      // Checked again after each wait: a call in another slot may have reserved meanwhile.
      for (let wait = waitBefore(state, costGuess, clock.now()); wait > 0; ) {
        logger.debug({ waitMs: wait, cost: costGuess }, "waiting for the API budget");
        await sleep(wait);
        wait = waitBefore(state, costGuess, clock.now());
      }
      state = reserve(state, costGuess, clock.now());
      reservedInFlight += costGuess;
      let r: Attempt;
      try {
        r = await attempt(body, callOptions?.beforeSend);
      } finally {
        reservedInFlight -= costGuess;
      }
      const now = clock.now();
      if ("cost" in r && r.cost?.requestedQueryCost !== undefined) {
        if (learnedCost.size >= LEARNED_COSTS_MAX) learnedCost.clear();
        learnedCost.set(document, r.cost.requestedQueryCost);
      }
      switch (r.kind) {
        case "ok":
          state = settle(afterResponse(state, r.cost, now, costGuess));
          report("ok", r.cost);
          return { data: r.data as T, cost: r.cost } satisfies GraphQLResult<T>;
        case "fatal":
          state = settle(afterResponse(state, r.cost, now, costGuess));
          report(r.outcome, r.cost);
          throw r.error;
        case "throttled": {
          const t = afterThrottled(
            state,
            { cost: r.cost, requestedCost: costGuess, retryAfterMs: r.retryAfterMs },
            now,
            random,
          );
          state = settle(t.state);
          lastThrottleWait = t.waitMs;
          report(r.outcome, r.cost);
          lastError = new ShopifyThrottledError(
            r.outcome === "rate_limited" ? "Shopify answered 429" : "Shopify answered THROTTLED",
            store,
            t.waitMs,
          );
          logger.warn(
            { attempt: n, outcome: r.outcome, waitMs: t.waitMs, throttleStatus: r.cost?.throttleStatus },
            "throttled by Shopify",
          );
          // the wait is in state.notBefore: the next waitBefore honours it
          break;
        }
        case "transient": {
          // the reservation stands (it may have been executed and charged)
          state = afterResponse(state, undefined, now);
          report(r.outcome, undefined);
          lastError = r.error;
          if (n < maxAttempts) {
            const waitMs = Math.max(r.retryAfterMs ?? 0, backoffMs(n, random));
            logger.warn(
              { attempt: n, outcome: r.outcome, status: r.error.status, waitMs },
              "transient Shopify failure; retrying",
            );
            await sleep(waitMs);
          }
          break;
        }
      }
    }
    if (lastError instanceof ShopifyThrottledError) {
      throw new ShopifyThrottledError(
        `Still throttled after ${maxAttempts} attempts`,
        store,
        Math.max(lastThrottleWait, state.notBefore - clock.now()),
      );
    }
    const e = lastError as ShopifyTransientError;
    throw new ShopifyTransientError(`${e.message} (after ${maxAttempts} attempts)`, store, e.status, {
      cause: e,
    });
  }

  return {
    store,
    graphql<T>(
      document: string,
      variables?: Record<string, unknown>,
      callOptions?: GraphQLCallOptions,
    ): Promise<GraphQLResult<T>> {
      const body = JSON.stringify(variables ? { query: document, variables } : { query: document });
      pending++;
      const { lane, limit } = laneOf(callOptions);
      const run = acquire(lane, limit).then(() => send<T>(document, body, callOptions));
      // the queue continues whatever this call's fate
      void run.then(
        () => {
          pending--;
          releaseSlot(lane);
        },
        () => {
          pending--;
          releaseSlot(lane);
        },
      );
      return run;
    },
    throttleState: () => statusAt(state, clock.now()),
    pending: () => pending,
  };
}
