/**
 * Tokens at rest: AES-256-GCM with a random 12-byte IV, as `v2:<iv>:<tag>:<ciphertext>` (base64url),
 * bound to where the value belongs (`sealedAt`: table, column and store) as associated data, so a
 * sealed value copied into another row or column does not open. `v1` values (no binding, written
 * before) still open and are re-sealed as `v2` on their next write.
 * The key comes from ENCRYPTION_KEY, or is generated once into `${dataDir}/encryption.key`
 * (mode 0600) with a warning to back it up. Neither the key nor a plaintext is ever logged.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config/config.ts";
import type { Db } from "../db/database.ts";

const VERSION = "v2";
const LEGACY_VERSION = "v1";
/** Tells sealed values from plain ones (both versions). */
export const isSealedValue = (s: string) => s.startsWith(`${VERSION}:`) || s.startsWith(`${LEGACY_VERSION}:`);

/** Where a sealed value lives; the binding every seal and open must name. */
export const sealedAt = {
  storeColumn: (column: "access_token_enc" | "refresh_token_enc" | "webhook_secret_enc", domain: string) =>
    `stores.${column}:${domain.toLowerCase()}`,
  outboundSecret: (storeId: number) => `order_settings.outbound_secret:${storeId}`,
  keyCheck: "hub_settings.key_check",
};
const IV_BYTES = 12;
const KEY_BYTES = 32;

export class SecretError extends Error {
  readonly code = "SECRET_UNREADABLE";
  constructor(message: string) {
    super(message);
    this.name = "SecretError";
  }
}

export function encryptSecret(plaintext: string, key: Buffer, context: string): string {
  if (key.length !== KEY_BYTES) throw new SecretError("encryption key must be 32 bytes");
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(context, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [
    VERSION,
    iv.toString("base64url"),
    tag.toString("base64url"),
    ciphertext.toString("base64url"),
  ].join(":");
}

/**
 * Throws SecretError when the value is malformed, tampered with, sealed for another place
 * (`context`), or was encrypted with another key.
 */
export function decryptSecret(sealed: string, key: Buffer, context: string): string {
  const parts = sealed.split(":");
  if (parts.length !== 4 || (parts[0] !== VERSION && parts[0] !== LEGACY_VERSION))
    throw new SecretError("unknown secret format");
  const [, ivText, tagText, ctText] = parts as [string, string, string, string];
  const iv = Buffer.from(ivText, "base64url");
  const tag = Buffer.from(tagText, "base64url");
  if (iv.length !== IV_BYTES || tag.length !== 16) throw new SecretError("malformed secret");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, iv);
    if (parts[0] === VERSION) decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ctText, "base64url")), decipher.final()]).toString(
      "utf8",
    );
  } catch {
    throw new SecretError(
      `a stored secret (${context.split(":")[0]}) could not be decrypted: tampered with, copied from another store or column, or encrypted with another ENCRYPTION_KEY`,
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
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  writeFileSync(path, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
  logger.warn(
    { keyFile: path },
    "WARNING: generated a new encryption key for Shopify tokens. Back up this file: without it the stored store connections cannot be read (or set ENCRYPTION_KEY).",
  );
  return key;
}

/** Where this process's key comes from, in words an operator can act on. */
export function keySource(config: Pick<Config, "encryptionKey" | "dataDir">): string {
  return config.encryptionKey ? "the ENCRYPTION_KEY setting" : `the key file ${keyFilePath(config.dataDir)}`;
}

/** A short, non-secret fingerprint of a key (first 8 hex digits of its SHA-256). */
export const keyId = (key: Buffer) => createHash("sha256").update(key).digest("hex").slice(0, 8);

/** The process's key does not open the secrets in the database: it must stop before any work. */
export class KeyMismatchError extends Error {
  readonly code = "ENCRYPTION_KEY_MISMATCH";
  constructor(message: string) {
    super(message);
    this.name = "KeyMismatchError";
  }
}

const KEY_CHECK = "key_check";
const KEY_CHECK_PLAINTEXT = "tillbridge key check v1";

interface KeyCheck {
  readonly sealed: string;
  readonly keyId: string;
  readonly source: string;
}

/**
 * The key for this process, proven against the database before any work: a key check value
 * (a known plaintext sealed with the key) is stored beside the secrets on first use, and every
 * later start must open it. A key is generated (into DATA_DIR) only when the database holds no
 * secrets yet; a mismatch throws KeyMismatchError naming the expected key and its source.
 */
export async function openSecretKey(
  db: Db,
  config: Pick<Config, "encryptionKey" | "dataDir">,
  logger: Logger,
  now: number,
): Promise<Buffer> {
  const readCheck = async (): Promise<KeyCheck | undefined> => {
    const row = await db
      .selectFrom("hub_meta")
      .select("value")
      .where("name", "=", KEY_CHECK)
      .executeTakeFirst();
    return row ? (JSON.parse(row.value) as KeyCheck) : undefined;
  };
  const sealedToken = async () =>
    (
      await db
        .selectFrom("stores")
        .select("access_token_enc")
        .where("access_token_enc", "is not", null)
        .limit(1)
        .executeTakeFirst()
    )?.access_token_enc ?? undefined;
  let check = await readCheck();
  const token = check ? undefined : await sealedToken();
  const hasSecrets = check !== undefined || token !== undefined;
  if (hasSecrets && !config.encryptionKey && !existsSync(keyFilePath(config.dataDir))) {
    throw new KeyMismatchError(
      `no encryption key is configured, but this database holds secrets sealed with ${
        check ? `key ${check.keyId} from ${check.source}` : "another key"
      }. Set ENCRYPTION_KEY to that key (every process sharing a database needs the same one); a new key is generated only into an empty database.`,
    );
  }
  const key = loadOrCreateKey(config, logger);
  const source = keySource(config);
  const mismatch = (expected: KeyCheck | undefined) =>
    new KeyMismatchError(
      `the encryption key from ${source} (key ${keyId(key)}) does not open the secrets stored in this database; they were sealed with ${
        expected ? `key ${expected.keyId} from ${expected.source}` : "another key"
      }. Start every process that shares this database with that same ENCRYPTION_KEY.`,
    );
  const opens = (sealed: string) => {
    try {
      decryptSecret(sealed, key, sealedAt.keyCheck);
      return true;
    } catch {
      return false;
    }
  };
  if (!check) {
    if (token !== undefined && !opens(token)) throw mismatch(undefined);
    const value: KeyCheck = {
      sealed: encryptSecret(KEY_CHECK_PLAINTEXT, key, sealedAt.keyCheck),
      keyId: keyId(key),
      source,
    };
    await db
      .insertInto("hub_meta")
      .values({ name: KEY_CHECK, value: JSON.stringify(value), updated_at: now })
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
    // Another process may have written its own check first: the stored one decides.
    check = await readCheck();
  }
  if (!check || !opens(check.sealed)) throw mismatch(check);
  return key;
}
