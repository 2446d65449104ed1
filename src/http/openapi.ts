/** The OpenAPI document, generated from the same zod schemas that validate requests. */
import { z } from "zod";
import type { AnyRoute } from "../core/route.ts";

const errorEnvelope = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: {
        code: { type: "string" },
        message: { type: "string" },
        details: { type: "array", items: { type: "object" } },
      },
      required: ["code", "message", "details"],
    },
  },
};

const toSchema = (schema: z.ZodType, io: "input" | "output") =>
  z.toJSONSchema(schema, { target: "openapi-3.0", io, unrepresentable: "any" }) as Record<string, unknown>;

export function buildOpenApi(routes: readonly AnyRoute[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes.filter((r) => r.auth !== "none")) {
    const path = r.url.replace(/:([A-Za-z]+)/g, "{$1}");
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ["query", r.query],
      ["path", r.params],
    ] as const) {
      if (!schema) continue;
      const json = toSchema(schema, "input") as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(json.properties ?? {})) {
        parameters.push({
          name,
          in: where,
          required: where === "path" || (json.required ?? []).includes(name),
          schema: s,
        });
      }
    }
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      summary: r.summary,
      tags: [r.tag],
      // The permission an API key's scopes or an operator's role must grant (src/auth/permissions.ts).
      "x-permission": r.auth,
      ...(parameters.length ? { parameters } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: { "application/json": { schema: toSchema(r.body, "input") } },
            },
          }
        : {}),
      responses: {
        [String(r.successStatus ?? 200)]: {
          description: "Success",
          ...(r.response
            ? { content: { "application/json": { schema: toSchema(r.response, "output") } } }
            : {}),
        },
        default: { description: "Error", content: { "application/json": { schema: errorEnvelope } } },
      },
    };
  }
  return {
    openapi: "3.0.3",
    info: { title: "Tillbridge back-office API", version },
    components: { securitySchemes: { apiKey: { type: "http", scheme: "bearer" } } },
    security: [{ apiKey: [] }],
    paths,
  };
}
