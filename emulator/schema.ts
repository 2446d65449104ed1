// Loads Shopify's real Admin GraphQL schema (introspection JSON, gzipped) once per process.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { buildClientSchema, type GraphQLSchema, type IntrospectionQuery } from "graphql";

export const API_VERSION = "2026-10";

const schemaPath = fileURLToPath(new URL(`../vendor/shopify/admin_${API_VERSION}.json.gz`, import.meta.url));

let cached: GraphQLSchema | undefined;

/** The schema is 11 MB of JSON: build it lazily and share it across every emulator in the process. */
export function adminSchema(): GraphQLSchema {
  if (!cached) {
    const json = JSON.parse(gunzipSync(readFileSync(schemaPath)).toString("utf8")) as
      | IntrospectionQuery
      | { data: IntrospectionQuery };
    const introspection = "data" in json ? json.data : json;
    cached = buildClientSchema(introspection, { assumeValid: true });
  }
  return cached;
}
