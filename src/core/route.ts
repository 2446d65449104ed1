/**
 * How a capability declares an HTTP route without depending on the server: the zod schemas
 * here both validate requests (in src/http) and generate the OpenAPI document, so the two
 * cannot drift.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import type { Permission } from "../auth/permissions.ts";
import type { Principal } from "../auth/principal.ts";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface RouteInput<B, Q, P> {
  readonly body: B;
  readonly query: Q;
  readonly params: P;
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  /** Who is calling; null only on routes with `auth: "none"`. */
  readonly principal: Principal | null;
}

export interface RouteSpec<B = unknown, Q = unknown, P = unknown> {
  readonly method: HttpMethod;
  /** Fastify path, e.g. `/api/v1/orders/:id/ack`. */
  readonly url: string;
  readonly summary: string;
  readonly tag: string;
  /**
   * The permission a caller needs (an API key's scopes or a signed-in operator's role must grant
   * it), "any" for routes every authenticated caller may use (its own session), or "none" for
   * routes outside the authenticated API (webhooks, OAuth, sign-in).
   */
  readonly auth: Permission | "any" | "none";
  readonly body?: z.ZodType<B>;
  /**
   * "handler" when the handler validates the body itself (e.g. to report every bad item of a
   * batch in one answer); the schema then only documents the body.
   */
  readonly bodyValidation?: "route" | "handler";
  readonly query?: z.ZodType<Q>;
  readonly params?: z.ZodType<P>;
  readonly response?: z.ZodType;
  readonly successStatus?: number;
  /** Requests allowed per client address and window (for unauthenticated routes that write). */
  readonly rateLimit?: { readonly max: number; readonly windowMs: number };
  handler(input: RouteInput<B, Q, P>): Promise<unknown>;
}

// biome-ignore lint/suspicious/noExplicitAny: a heterogeneous list of routes
export type AnyRoute = RouteSpec<any, any, any>;

export function route<B = undefined, Q = undefined, P = undefined>(spec: RouteSpec<B, Q, P>): AnyRoute {
  return spec as AnyRoute;
}
