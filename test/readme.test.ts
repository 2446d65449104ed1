import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SETTINGS } from "../src/config/config.ts";

const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");

describe("README", () => {
  it("documents every configuration setting", () => {
    const missing = SETTINGS.filter((s) => !readme.includes(`\`${s.env}\``)).map((s) => s.env);
    expect(missing).toEqual([]);
  });

  it("keeps the two quick-start commands that CI relies on", () => {
    expect(readme).toContain("npm ci && npm start");
    expect(readme).toMatch(/^npm test/m);
    expect(readFileSync(join(import.meta.dirname, "..", ".ci", "run"), "utf8")).toMatch(/^npm test\b/m);
  });
});
