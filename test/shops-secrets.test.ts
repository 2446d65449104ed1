import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/core/logger.ts";
import { decryptSecret, encryptSecret, loadOrCreateKey, SecretError } from "../src/shops/secrets.ts";

const key = randomBytes(32);

describe("secrets", () => {
  const dir = mkdtempSync(join(tmpdir(), "tillbridge-secrets-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("round-trips and never repeats a ciphertext", () => {
    const a = encryptSecret("shpat_secret", key);
    const b = encryptSecret("shpat_secret", key);
    expect(a).toMatch(/^v1:[\w-]+:[\w-]+:[\w-]+$/);
    expect(a).not.toContain("shpat_secret");
    expect(a).not.toBe(b);
    expect(decryptSecret(a, key)).toBe("shpat_secret");
  });

  it("refuses a tampered value", () => {
    const sealed = encryptSecret("shpat_secret", key);
    const parts = sealed.split(":");
    const ct = Buffer.from(parts[3]!, "base64url");
    ct[0]! ^= 1;
    parts[3] = ct.toString("base64url");
    expect(() => decryptSecret(parts.join(":"), key)).toThrow(SecretError);
    expect(() => decryptSecret("v2:a:b:c", key)).toThrow(SecretError);
  });

  it("refuses the wrong key", () => {
    expect(() => decryptSecret(encryptSecret("x", key), randomBytes(32))).toThrow(SecretError);
  });

  it("generates a key file once (0600) and warns without logging the key", () => {
    let logged = "";
    const logger = createLogger(
      "info",
      new Writable({
        write(chunk, _e, cb) {
          logged += chunk;
          cb();
        },
      }),
    );
    const first = loadOrCreateKey({ encryptionKey: undefined, dataDir: dir }, logger);
    const file = join(dir, "encryption.key");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(logged).toContain("WARNING");
    expect(logged).not.toContain(first.toString("base64"));
    expect(readFileSync(file, "utf8").trim()).toBe(first.toString("base64"));
    logged = "";
    expect(loadOrCreateKey({ encryptionKey: undefined, dataDir: dir }, logger).equals(first)).toBe(true);
    expect(logged).toBe("");
    expect(loadOrCreateKey({ encryptionKey: key, dataDir: dir }, logger)).toBe(key);
  });
});
