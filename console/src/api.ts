/**
 * The one API client: same-origin fetches with the session cookie, the CSRF header on every
 * change, and the hub's error envelope turned into an ApiError (code, message, per-field details).
 */

export interface ErrorDetail {
  readonly path?: string;
  readonly code: string;
  readonly message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message);
  }
  /** The detail about one field (by its path, or the path's first part), if the hub named it. */
  forField(field: string): ErrorDetail | undefined {
    return this.details.find((d) => d.path === field || d.path?.split(/[.[]/)[0] === field);
  }
}

let csrfToken: string | null = null;
let onSignedOut: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
  versions.clear();
}

/** Called when the hub answers 401 (the session ended elsewhere or expired). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

/**
 * The last answer of each polled GET with its ETag: sent back as If-None-Match, a 304 returns the
 * very same object (no parse, and screens holding it do not re-render). Memory only: the hub
 * marks answers no-store, they hold customers' data.
 */
const versions = new Map<string, { etag: string; data: unknown }>();
const MAX_VERSIONS = 200;

export async function request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  const known = method === "GET" ? versions.get(path) : undefined;
  if (known) headers["if-none-match"] = known.etag;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "UNREACHABLE", "the hub did not answer; check that it is running");
  }
  if (res.status === 304 && known) return known.data as T;
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string; details?: ErrorDetail[] } } | null)
      ?.error;
    if (res.status === 401 && !path.endsWith("/session") && !path.endsWith("/setup")) onSignedOut?.();
    throw new ApiError(
      res.status,
      e?.code ?? `HTTP_${res.status}`,
      e?.message ?? res.statusText,
      e?.details ?? [],
    );
  }
  const etag = res.headers.get("etag");
  if (method === "GET" && etag) {
    versions.delete(path);
    if (versions.size >= MAX_VERSIONS) versions.delete(versions.keys().next().value!);
    versions.set(path, { etag, data });
  }
  return data as T;
}

export const api = {
  get: <T = unknown>(path: string) => request<T>("GET", path),
  post: <T = unknown>(path: string, body?: unknown) => request<T>("POST", path, body ?? {}),
  put: <T = unknown>(path: string, body: unknown) => request<T>("PUT", path, body),
  patch: <T = unknown>(path: string, body: unknown) => request<T>("PATCH", path, body),
  del: <T = unknown>(path: string) => request<T>("DELETE", path),
};

/** `/api/v1/stores/<domain>…` with the domain encoded. */
export const storePath = (domain: string, rest = "") => `/api/v1/stores/${encodeURIComponent(domain)}${rest}`;

/** A query string from the defined, non-empty values. */
export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
}
