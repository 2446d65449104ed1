/**
 * Import boundaries between capabilities (issue 13): shops/ (connections, locations, settings)
 * and inventory/ (ledger, push) must not import each other's way down: inventory builds on shops,
 * never the reverse; what shops must tell the push (stock of a store changed, the inventory mode
 * changed) goes through core/'s listeners. core/ imports no capability.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..", "src");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : [];
  });
}

/** The src/ folders a file imports from (first path segment under src/). */
function importedFolders(file: string): Set<string> {
  const text = readFileSync(file, "utf8");
  const folders = new Set<string>();
  for (const m of text.matchAll(/(?:import|export)[^"']*?from\s+["'](\.[^"']+)["']/g)) {
    const target = relative(SRC, join(file, "..", m[1]!));
    if (!target.startsWith("..")) folders.add(target.split("/")[0]!);
  }
  return folders;
}

describe("import boundaries", () => {
  it("shops/ does not import inventory/", () => {
    const offenders = sources(join(SRC, "shops")).filter((f) => importedFolders(f).has("inventory"));
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });

  it("core/ imports no capability", () => {
    const capabilities = ["inventory", "orders", "fulfillment", "catalog", "shops", "customers", "prices"];
    const offenders = sources(join(SRC, "core")).flatMap((f) =>
      [...importedFolders(f)]
        .filter((d) => capabilities.includes(d))
        .map((d) => `${relative(SRC, f)} → ${d}`),
    );
    expect(offenders).toEqual([]);
  });
});
