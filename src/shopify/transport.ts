/**
 * What the rest of the hub sees of the Admin API: one GraphQL call for one store, already
 * throttled against that store's bucket. Implemented in admin-client.ts.
 */
import type { Db } from "../db/database.ts";

export interface ThrottleStatus {
  readonly maximumAvailable: number;
  readonly currentlyAvailable: number;
  readonly restoreRate: number;
}

export interface QueryCost {
  readonly requestedQueryCost: number;
  readonly actualQueryCost: number | null;
  readonly throttleStatus: ThrottleStatus;
}

export interface GraphQLResult<T> {
  readonly data: T;
  readonly cost: QueryCost | undefined;
}

export interface GraphQLCallOptions {
  readonly estimatedCost?: number;
  /**
   * Runs right before each HTTP attempt is sent (after any wait for the budget, before every
   * retry); throwing stops the call unsent. The worker checks its store lease here.
   */
  readonly beforeSend?: () => Promise<void>;
  /**
   * The flow's own limit of calls in flight (a lane): the call starts once fewer than `inFlight`
   * calls of the lane `name` are in flight and the transport's total allows one more. Without
   * it the call shares the default lane (the transport's `maxInFlight`). Each call still
   * reserves its cost against the store's bucket before it is sent.
   */
  readonly lane?: { readonly name: string; readonly inFlight: number };
}

export interface AdminTransport {
  /** The store's domain, `<name>.myshopify.com`. */
  readonly store: string;
  /**
   * The fencing check of the lease this transport spends the store's budget under: run it inside
   * the transaction of a write that records a result of Shopify work (a cursor, a tag done, a
   * fulfillment); it throws (code LEASE_LOST) once a newer owner holds the store. Absent on a
   * transport used outside any lease (tests, a connection being verified).
   */
  readonly fence?: (trx: Db) => Promise<void>;
  /**
   * Sends one document with variables through the store's throttle; retries transient failures
   * and throttling with backoff up to the configured attempts, then throws a ShopifyError.
   * `estimatedCost` lets the throttle wait for enough budget before sending (defaults to 10
   * for mutations and 50 for queries when unknown).
   */
  graphql<T>(
    document: string,
    variables?: Record<string, unknown>,
    options?: GraphQLCallOptions,
  ): Promise<GraphQLResult<T>>;
  /**
   * The store's bucket as the throttle models it now (Shopify's last `throttleStatus`, projected
   * with the restore rate); the push's coalescing window adapts to it. Absent on test doubles.
   */
  throttleState?(): ThrottleStatus & { readonly observed: boolean };
}
