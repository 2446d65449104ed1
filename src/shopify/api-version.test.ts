import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { daysUntilEndOfLife, endOfLife, endOfLifeWarning, SHOPIFY_API_VERSION } from "./api-version.ts";

describe("API version lifecycle", () => {
  it("ends 12 months after the release month", () => {
    expect(new Date(endOfLife("2026-10")).toISOString()).toBe("2027-10-01T00:00:00.000Z");
    expect(new Date(endOfLife("2027-01")).toISOString()).toBe("2028-01-01T00:00:00.000Z");
    expect(() => endOfLife("2026-11")).toThrow();
    expect(() => endOfLife(SHOPIFY_API_VERSION)).not.toThrow();
  });
  it("warns only within 90 days of the end, and louder after it", () => {
    const eol = endOfLife("2026-10");
    const day = 24 * 3600_000;
    expect(endOfLifeWarning("2026-10", eol - 91 * day)).toBeNull();
    expect(endOfLifeWarning("2026-10", eol - 90 * day)).toContain("in 90 days");
    expect(endOfLifeWarning("2026-10", eol + day)).toContain("reached its end of life");
    expect(daysUntilEndOfLife("2026-10", eol - 10 * day)).toBe(10);
  });
});

describe("moving to a new version is one constant (README: Moving to a new Shopify API version)", () => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  it("the schema fetch script pins the same version, and its schema file is present", () => {
    const script = readFileSync(join(root, "scripts/fetch-shopify-schema.mjs"), "utf8");
    expect(/const API_VERSION = "([^"]+)"/.exec(script)?.[1]).toBe(SHOPIFY_API_VERSION);
    expect(existsSync(join(root, `vendor/shopify/admin_${SHOPIFY_API_VERSION}.json.gz`))).toBe(true);
  });
  it("no other file of the hub names an API version", () => {
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.tsx?$/.test(e.name) && !/api-version(\.test)?\.ts$/.test(e.name)) {
          if (/["'`/]20\d\d-(01|04|07|10)["'`/]/.test(readFileSync(p, "utf8"))) found.push(relative(root, p));
        }
      }
    };
    walk(join(root, "src"));
    expect(found).toEqual([]);
  });
});
