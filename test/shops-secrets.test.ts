import { createCipheriv, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/core/logger.ts";
import {
  decryptSecret,
  encryptSecret,
  loadOrCreateKey,
  SecretError,
  sealedAt,
} from "../src/shops/secrets.ts";

const AT = sealedAt.storeColumn("access_token_enc", "a.myshopify.com");

const key = randomBytes(32);

describe("secrets", () => {
  const dir = mkdtempSync(join(tmpdir(), "tillbridge-secrets-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("round-trips and never repeats a ciphertext", () => {
    const a = encryptSecret("shpat_secret", key, AT);
    const b = encryptSecret("shpat_secret", key, AT);
    expect(a).toMatch(/^v2:[\w-]+:[\w-]+:[\w-]+$/);
    expect(a).not.toContain("shpat_secret");
    expect(a).not.toBe(b);
    expect(decryptSecret(a, key, AT)).toBe("shpat_secret");
  });

  it("does not open a value copied to another store or column", () => {
    const sealed = encryptSecret("shpat_secret", key, AT);
    expect(() =>
      decryptSecret(sealed, key, sealedAt.storeColumn("access_token_enc", "b.myshopify.com")),
    ).toThrow(/copied from another store or column/);
    expect(() =>
      decryptSecret(sealed, key, sealedAt.storeColumn("refresh_token_enc", "a.myshopify.com")),
    ).toThrow(SecretError);
    expect(() => decryptSecret(sealed, key, sealedAt.outboundSecret(1))).toThrow(SecretError);
  });

  it("still opens values sealed before the binding (v1)", () => {
    // A v1 value as the hub wrote it before: no associated data.
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    const ct = Buffer.concat([cipher.update("old-token", "utf8"), cipher.final()]);
    const v1 = [
      "v1",
      iv.toString("base64url"),
      cipher.getAuthTag().toString("base64url"),
      ct.toString("base64url"),
    ].join(":");
    expect(decryptSecret(v1, key, AT)).toBe("old-token");
  });

  it("refuses a tampered value", () => {
    const sealed = encryptSecret("shpat_secret", key, AT);
    const parts = sealed.split(":");
    const ct = Buffer.from(parts[3]!, "base64url");
    ct[0]! ^= 1;
    parts[3] = ct.toString("base64url");
    expect(() => decryptSecret(parts.join(":"), key, AT)).toThrow(SecretError);
    expect(() => decryptSecret("v3:a:b:c", key, AT)).toThrow(SecretError);
  });

  it("refuses the wrong key", () => {
    expect(() => decryptSecret(encryptSecret("x", key, AT), randomBytes(32), AT)).toThrow(SecretError);
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
