import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { adminUrlTemplateFor, ConfigError, loadConfig } from "./config.ts";

describe("configuration", () => {
  it("starts on SQLite in ./data with the demo when nothing is set", () => {
    const c = loadConfig({});
    expect(c.database).toEqual({ kind: "sqlite", path: resolve("./data/tillbridge.db") });
    expect(c.demo).toBe(true);
    expect(c.port).toBe(8080);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("uses PostgreSQL for a postgres:// URL and turns the demo off once a Shopify app is configured", () => {
    const c = loadConfig({
      DATABASE_URL: "postgres://u@h/db",
      SHOPIFY_API_KEY: "k",
      SHOPIFY_API_SECRET: "s",
    });
    expect(c.database).toEqual({ kind: "postgres", url: "postgres://u@h/db" });
    expect(c.demo).toBe(false);
  });

  it("gives single stores their own Admin API location; the others keep the template", () => {
    const c = loadConfig({ SHOPIFY_ADMIN_URL_OVERRIDES: "Demo.myshopify.com=http://127.0.0.1:8081/{shop}" });
    expect(adminUrlTemplateFor(c, "demo.myshopify.com")).toBe("http://127.0.0.1:8081/{shop}");
    expect(adminUrlTemplateFor(c, "real.myshopify.com")).toBe("https://{shop}");
    expect(() => loadConfig({ SHOPIFY_ADMIN_URL_OVERRIDES: "demo.myshopify.com=http://x" })).toThrow(
      ConfigError,
    );
  });

  it("reports every bad setting at once, naming each", () => {
    try {
      loadConfig({
        PORT: "eighty",
        LOG_LEVEL: "loud",
        ENCRYPTION_KEY: "short",
        SHOPIFY_ADMIN_URL_TEMPLATE: "https://x",
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join("\n");
      for (const name of ["PORT", "LOG_LEVEL", "ENCRYPTION_KEY", "SHOPIFY_ADMIN_URL_TEMPLATE"])
        expect(problems).toContain(name);
    }
  });

  it("requires the Shopify app's key and secret together", () => {
    expect(() => loadConfig({ SHOPIFY_API_KEY: "k" })).toThrow(/SHOPIFY_API_KEY and SHOPIFY_API_SECRET/);
  });

  it("reads an optional JSON file, with the environment winning", () => {
    const file = join(mkdtempSync(join(tmpdir(), "tb-config-")), "config.json");
    writeFileSync(file, JSON.stringify({ PORT: 9000, HOST: "0.0.0.0" }));
    const c = loadConfig({ TILLBRIDGE_CONFIG_FILE: file, PORT: "9001" });
    expect([c.port, c.host]).toEqual([9001, "0.0.0.0"]);
    expect(() => loadConfig({ TILLBRIDGE_CONFIG_FILE: "/nonexistent.json" })).toThrow(
      /TILLBRIDGE_CONFIG_FILE/,
    );
  });
});
