/**
 * Tokens at rest: AES-256-GCM with a random 12-byte IV, as `v1:<iv>:<tag>:<ciphertext>` (base64url).
 * The key comes from ENCRYPTION_KEY, or is generated once into `${dataDir}/encryption.key`
 * (mode 0600) with a warning to back it up. Neither the key nor a plaintext is ever logged.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config/config.ts";

const VERSION = "v1";
/** How every sealed value starts (lets callers tell sealed from plain values). */
export const SEALED_PREFIX = `${VERSION}:`;
const IV_BYTES = 12;
const KEY_BYTES = 32;

export class SecretError extends Error {
  readonly code = "SECRET_UNREADABLE";
  constructor(message: string) {
    super(message);
    this.name = "SecretError";
  }
}

export function encryptSecret(plaintext: string, key: Buffer): string {
  if (key.length !== KEY_BYTES) throw new SecretError("encryption key must be 32 bytes");
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [
    VERSION,
    iv.toString("base64url"),
    tag.toString("base64url"),
    ciphertext.toString("base64url"),
  ].join(":");
}

/** Throws SecretError when the value is malformed, tampered with, or was encrypted with another key. */
export function decryptSecret(sealed: string, key: Buffer): string {
  const parts = sealed.split(":");
  if (parts.length !== 4 || parts[0] !== VERSION) throw new SecretError("unknown secret format");
  const [, ivText, tagText, ctText] = parts as [string, string, string, string];
  const iv = Buffer.from(ivText, "base64url");
  const tag = Buffer.from(tagText, "base64url");
  if (iv.length !== IV_BYTES || tag.length !== 16) throw new SecretError("malformed secret");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ctText, "base64url")), decipher.final()]).toString(
      "utf8",
    );
  } catch {
    throw new SecretError(
      "a stored secret could not be decrypted (tampered with, or encrypted with another ENCRYPTION_KEY)",
    );
  }
}

export const keyFilePath = (dataDir: string) => join(dataDir, "encryption.key");

/**
 * The encryption key: ENCRYPTION_KEY when set; else the key file in DATA_DIR, created on first
 * start (32 random bytes, base64, mode 0600) with a WARNING to back it up.
 */
export function loadOrCreateKey(config: Pick<Config, "encryptionKey" | "dataDir">, logger: Logger): Buffer {
  if (config.encryptionKey) return config.encryptionKey;
  const path = keyFilePath(config.dataDir);
  if (existsSync(path)) {
    const key = Buffer.from(readFileSync(path, "utf8").trim(), "base64");
    if (key.length !== KEY_BYTES) {
      throw new SecretError(`${path} must hold base64 of exactly 32 bytes`);
    }
    return key;
  }
  mkdirSync(config.dataDir, { recursive: true });
  const key = randomBytes(KEY_BYTES);
  writeFileSync(path, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
  logger.warn(
    { keyFile: path },
    "WARNING: generated a new encryption key for Shopify tokens. Back up this file: without it the stored store connections cannot be read (or set ENCRYPTION_KEY).",
  );
  return key;
}
