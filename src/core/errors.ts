/**
 * Errors that reach an operator or an API client. Every one carries a code from this union, a
 * message a person can act on, and the ids involved. Unexpected failures are normalised once
 * with `coerceError`; HTTP mapping lives in src/http.
 */

export type ErrorCode =
  | "INVALID_REQUEST"
  | "INVALID_JSON"
  | "UNSUPPORTED_CONTENT_TYPE"
  | "PAYLOAD_TOO_LARGE"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "CONFLICT"
  | "INVALID_MOVEMENTS"
  | "INVALID_PRODUCTS"
  | "UNKNOWN_SKU"
  | "UNKNOWN_WAREHOUSE"
  | "UNKNOWN_STORE"
  | "RATE_LIMITED"
  | "SHOPIFY_ERROR"
  | "INVALID_SHOP_DOMAIN"
  | "INVALID_OAUTH_CALLBACK"
  | "SHOPIFY_APP_NOT_CONFIGURED"
  | "INVALID_SHOPIFY_TOKEN"
  | "MISSING_SCOPE"
  | "STORE_DISCONNECTED"
  | "INVALID_MAPPING"
  | "INVALID_WEBHOOK"
  | "INVALID_SHIPMENT"
  | "UNKNOWN_ORDER"
  | "SHIPMENT_CONFLICT"
  | "CSRF_TOKEN_INVALID"
  | "INVALID_CREDENTIALS"
  | "INVALID_USERNAME"
  | "WEAK_PASSWORD"
  | "USERNAME_TAKEN"
  | "LAST_ADMIN"
  | "SETUP_CLOSED"
  | "OUTBOUND_URL_REFUSED"
  | "INTERNAL";

export interface ErrorDetail {
  /** Where the problem is: a JSON path such as `movements[3].quantity`, or an item index. */
  readonly path?: string;
  readonly index?: number;
  readonly id?: string;
  readonly code: string;
  readonly message: string;
}

const STATUS: Record<ErrorCode, number> = {
  INVALID_REQUEST: 400,
  INVALID_JSON: 400,
  INVALID_MOVEMENTS: 400,
  INVALID_PRODUCTS: 400,
  UNKNOWN_SKU: 400,
  UNKNOWN_WAREHOUSE: 400,
  UNSUPPORTED_CONTENT_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  UNKNOWN_STORE: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  SHOPIFY_ERROR: 502,
  INVALID_SHOP_DOMAIN: 400,
  INVALID_OAUTH_CALLBACK: 401,
  SHOPIFY_APP_NOT_CONFIGURED: 503,
  INVALID_SHOPIFY_TOKEN: 422,
  MISSING_SCOPE: 409,
  STORE_DISCONNECTED: 409,
  INVALID_MAPPING: 400,
  INVALID_WEBHOOK: 401,
  INVALID_SHIPMENT: 400,
  UNKNOWN_ORDER: 404,
  SHIPMENT_CONFLICT: 409,
  CSRF_TOKEN_INVALID: 403,
  INVALID_CREDENTIALS: 401,
  INVALID_USERNAME: 400,
  WEAK_PASSWORD: 400,
  USERNAME_TAKEN: 409,
  LAST_ADMIN: 409,
  SETUP_CLOSED: 403,
  OUTBOUND_URL_REFUSED: 400,
  INTERNAL: 500,
};

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.status = options?.status ?? STATUS[code];
  }
}

/** Normalises anything thrown into an Error (JavaScript lets code throw strings and objects). */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === "string") return new Error(thrown);
  try {
    return new Error(JSON.stringify(thrown));
  } catch {
    return new Error(String(thrown));
  }
}
