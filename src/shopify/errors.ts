import { AppError } from "../core/errors.ts";
/**
 * Failures talking to Shopify, as classes that say whether a retry can help. Expected outcomes
 * of a mutation (`userErrors`) are not here: each operation turns them into its own result type.
 */

export abstract class ShopifyError extends Error {
  abstract readonly retriable: boolean;
  readonly code = "SHOPIFY_ERROR";
  constructor(
    message: string,
    readonly store: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** 5xx, timeouts, dropped connections: the request may or may not have been applied. */
export class ShopifyTransientError extends ShopifyError {
  readonly retriable = true;
  constructor(
    message: string,
    store: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, store, options);
  }
}

/** THROTTLED or 429: nothing was executed; wait `retryAfterMs` before trying again. */
export class ShopifyThrottledError extends ShopifyError {
  readonly retriable = true;
  constructor(
    message: string,
    store: string,
    readonly retryAfterMs: number,
  ) {
    super(message, store);
  }
}

/** 401/403: the token is missing, expired or revoked, or a scope is missing. Needs an operator. */
export class ShopifyAuthError extends ShopifyError {
  readonly retriable = false;
  constructor(
    message: string,
    store: string,
    readonly status: number,
    readonly missingScope?: string,
  ) {
    super(message, store);
  }
}

/** Top-level GraphQL errors (invalid document, cost too high, not found): retrying won't help. */
export class ShopifyQueryError extends ShopifyError {
  readonly retriable = false;
  constructor(
    message: string,
    store: string,
    readonly errors: readonly { message: string; extensions?: { code?: string } }[],
  ) {
    super(message, store);
  }
}

/**
 * A Shopify failure met while answering an operator's request, as the API's error: refused
 * access names the missing scope (409), anything else is Shopify's failure (502), never a 500.
 */
export function shopifyFailure(err: unknown, what: string): never {
  if (err instanceof ShopifyAuthError) {
    throw new AppError(
      "MISSING_SCOPE",
      `${what}: Shopify refused access${err.missingScope ? ` (missing scope ${err.missingScope})` : ""}: ${err.message}`,
    );
  }
  if (err instanceof ShopifyError)
    throw new AppError("SHOPIFY_ERROR", `${what}: ${err.message}`, [], { cause: err });
  throw err;
}
