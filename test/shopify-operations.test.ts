// Every GraphQL document the hub sends (each graphql`…` in src/) must validate against Shopify's
// real Admin schema of the pinned version (vendor/shopify/admin_<SHOPIFY_API_VERSION>.json.gz). Documents added anywhere in src/ are
// picked up automatically.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { buildClientSchema, type GraphQLSchema, type IntrospectionQuery, parse, validate } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { SHOPIFY_API_VERSION } from "../src/shopify/api-version.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const SCHEMA = join(root, `vendor/shopify/admin_${SHOPIFY_API_VERSION}.json.gz`);
/** Defines the tag; its comments and messages mention graphql`…` without being documents. */
const TAG_DEFINITION = "src/shopify/graphql.ts";

interface Doc {
  file: string;
  line: number;
  text: string;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : tsFiles(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

/** Blank out /* … *\/ blocks and whole-line // comments, keeping offsets (for line numbers). */
function stripComments(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, " "))
    .replace(/^([ \t]*)\/\/.*$/gm, (m) => m.replace(/./g, " "));
}

function collectDocuments(): Doc[] {
  const docs: Doc[] = [];
  for (const path of tsFiles(join(root, "src"))) {
    const file = relative(root, path).replaceAll("\\", "/");
    if (file === TAG_DEFINITION) continue;
    const source = stripComments(readFileSync(path, "utf8"));
    for (const m of source.matchAll(/(?<![\w.$])graphql\s*`((?:\\[\s\S]|[^`\\])*)`/g)) {
      const line = source.slice(0, m.index).split("\n").length;
      docs.push({ file, line, text: m[1]! });
    }
  }
  return docs;
}

let schema: GraphQLSchema;
const docs = collectDocuments();

beforeAll(() => {
  const json = JSON.parse(gunzipSync(readFileSync(SCHEMA)).toString("utf8")) as
    | IntrospectionQuery
    | { data: IntrospectionQuery };
  schema = buildClientSchema("data" in json ? json.data : json);
});

describe("GraphQL documents in src/", () => {
  it("finds documents to check", () => {
    expect(docs.length).toBeGreaterThan(0);
  });

  it.each(docs.map((d) => [`${d.file}:${d.line}`, d] as const))(
    "%s validates against Admin 2026-10",
    (_, d) => {
      expect(d.text.includes("${"), `${d.file}:${d.line} interpolates into a graphql\`…\` document`).toBe(
        false,
      );
      let errors: string[];
      try {
        errors = validate(schema, parse(d.text)).map((e) => e.message);
      } catch (e) {
        errors = [(e as Error).message];
      }
      expect(errors, `${d.file}:${d.line}:\n${errors.join("\n")}`).toEqual([]);
    },
  );
});
