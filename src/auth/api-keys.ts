/**
 * Back-office API keys. A key is 32 random bytes, so a plain SHA-256 of it is enough to store
 * (slow password hashes guard low-entropy secrets; these are not). Keys are shown once.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Database } from "../db/database.ts";
import { SCOPES, type Scope } from "./permissions.ts";

const PREFIX = "tb_";

export const hashKey = (key: string) => createHash("sha256").update(key).digest("hex");

export async function createApiKey(
  database: Database,
  name: string,
  now: number,
  scopes: readonly Scope[],
): Promise<{ id: number; key: string }> {
  const key = PREFIX + randomBytes(32).toString("base64url");
  const row = await database.db
    .insertInto("api_keys")
    .values({
      name,
      prefix: key.slice(0, 10),
      key_hash: hashKey(key),
      created_at: now,
      last_used_at: null,
      revoked_at: null,
      scopes: scopes.join(","),
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return { id: row.id, key };
}

export type KeyCheck =
  | { ok: true; keyId: number; name: string; scopes: Scope[] }
  | { ok: false; reason: "missing" | "malformed" | "unknown" | "revoked" };

/** `last_used_at` is written at most once a minute per key, not on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

const storedScopes = (text: string): Scope[] =>
  text.split(",").filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));

export async function verifyApiKey(
  database: Database,
  authorization: string | undefined,
  now: number,
): Promise<KeyCheck> {
  if (!authorization) return { ok: false, reason: "missing" };
  const m = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (!m || !m[1]!.startsWith(PREFIX)) return { ok: false, reason: "malformed" };
  const hash = hashKey(m[1]!);
  const row = await database.db
    .selectFrom("api_keys")
    .select(["id", "name", "key_hash", "revoked_at", "scopes", "last_used_at"])
    .where("key_hash", "=", hash)
    .executeTakeFirst();
  // The lookup is by hash, so timing reveals nothing about the key; compare anyway to be explicit.
  if (!row || !timingSafeEqual(Buffer.from(row.key_hash), Buffer.from(hash)))
    return { ok: false, reason: "unknown" };
  if (row.revoked_at !== null) return { ok: false, reason: "revoked" };
  if (row.last_used_at === null || row.last_used_at < now - LAST_USED_RESOLUTION_MS) {
    await database.db.updateTable("api_keys").set({ last_used_at: now }).where("id", "=", row.id).execute();
  }
  return { ok: true, keyId: row.id, name: row.name, scopes: storedScopes(row.scopes) };
}

export async function revokeApiKey(database: Database, id: number, now: number): Promise<boolean> {
  const r = await database.db
    .updateTable("api_keys")
    .set({ revoked_at: now })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function listApiKeys(database: Database) {
  return database.db
    .selectFrom("api_keys")
    .select(["id", "name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"])
    .orderBy("id")
    .execute();
}
