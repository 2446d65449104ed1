/**
 * What the rest of the hub sees of the Admin API: one GraphQL call for one store, already
 * throttled against that store's bucket. Implemented in admin-client.ts.
 */
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
}

export interface AdminTransport {
  /** The store's domain, `<name>.myshopify.com`. */
  readonly store: string;
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
}
