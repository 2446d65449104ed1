/**
 * Operator accounts and their sessions. A session is a random token in an HttpOnly cookie; the
 * database keeps only its hash, the account and a CSRF token that state-changing requests must
 * echo in a header (a synchronizer token: the hub already has a row per session, so no signed
 * cookie secret has to be shared between processes).
 */
import { createHash, randomBytes } from "node:crypto";
import { AppError } from "../core/errors.ts";
import type { Database, Db } from "../db/database.ts";
import { hashPassword, passwordProblem, verifyPassword } from "./passwords.ts";
import { ROLE_SCOPES, type Role } from "./permissions.ts";
import type { Principal } from "./principal.ts";

export const SESSION_COOKIE = "tb_session";
/** A session ends after this long without use… */
export const SESSION_IDLE_MS = 12 * 3600_000;
/** …and after this long in any case. */
export const SESSION_MAX_MS = 7 * 24 * 3600_000;
/** last_seen_at/expires_at are written at most this often per session. */
const TOUCH_RESOLUTION_MS = 60_000;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Usernames are keys: NFC, lower case, no spaces. */
export function normaliseUsername(raw: string): string | null {
  const name = raw.normalize("NFC").trim().toLowerCase();
  return /^[\p{L}\p{N}._@-]{2,64}$/u.test(name) ? name : null;
}

export interface AccountView {
  readonly id: number;
  readonly username: string;
  readonly role: Role;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly disabledAt: number | null;
  readonly lastSignInAt: number | null;
}

export async function createAccount(
  db: Db,
  input: { username: string; password: string; role: Role; createdBy: string },
  now: number,
): Promise<AccountView> {
  const username = normaliseUsername(input.username);
  if (!username)
    throw new AppError(
      "INVALID_USERNAME",
      "a username has 2–64 letters, digits, dots, dashes, underscores or @, and no spaces",
    );
  const problem = passwordProblem(input.password);
  if (problem) throw new AppError("WEAK_PASSWORD", problem);
  const taken = await db
    .selectFrom("operator_accounts")
    .select("id")
    .where("username", "=", username)
    .executeTakeFirst();
  if (taken)
    throw new AppError("USERNAME_TAKEN", `there is already an account named ${username}`, [
      { id: username, code: "USERNAME_TAKEN", message: "choose another username" },
    ]);
  const password_hash = await hashPassword(input.password);
  const row = await db
    .insertInto("operator_accounts")
    .values({
      username,
      password_hash,
      role: input.role,
      created_at: now,
      created_by: input.createdBy,
      disabled_at: null,
      last_sign_in_at: null,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return {
    id: row.id,
    username,
    role: input.role,
    createdAt: now,
    createdBy: input.createdBy,
    disabledAt: null,
    lastSignInAt: null,
  };
}

export async function countAccounts(db: Db): Promise<number> {
  const r = await db
    .selectFrom("operator_accounts")
    .select((eb) => eb.fn.countAll<string | number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function listAccounts(db: Db): Promise<AccountView[]> {
  const rows = await db.selectFrom("operator_accounts").selectAll().orderBy("id").execute();
  return rows.map((r) => ({
    id: r.id,
    username: r.username,
    role: r.role,
    createdAt: r.created_at,
    createdBy: r.created_by,
    disabledAt: r.disabled_at,
    lastSignInAt: r.last_sign_in_at,
  }));
}

export interface NewSession {
  readonly token: string;
  readonly csrfToken: string;
  readonly expiresAt: number;
  readonly principal: Extract<Principal, { kind: "operator" }>;
}

/**
 * Checks a username and password. The same answer (null) for an unknown name, a disabled account
 * and a wrong password, so sign-in does not reveal which accounts exist; a dummy hash is computed
 * for unknown names so the timing does not either.
 */
export async function signIn(database: Database, username: string, password: string, now: number) {
  const name = normaliseUsername(username);
  const row = name
    ? await database.db
        .selectFrom("operator_accounts")
        .selectAll()
        .where("username", "=", name)
        .executeTakeFirst()
    : undefined;
  const ok = await verifyPassword(password, row?.password_hash ?? (await dummyHash()));
  if (!row || !ok || row.disabled_at !== null) return null;
  const token = randomBytes(32).toString("base64url");
  const csrfToken = randomBytes(24).toString("base64url");
  const expiresAt = Math.min(now + SESSION_IDLE_MS, now + SESSION_MAX_MS);
  await database.db.transaction().execute(async (trx) => {
    await trx
      .insertInto("operator_sessions")
      .values({
        token_hash: sha256(token),
        account_id: row.id,
        csrf_token: csrfToken,
        created_at: now,
        last_seen_at: now,
        expires_at: expiresAt,
      })
      .execute();
    await trx
      .updateTable("operator_accounts")
      .set({ last_sign_in_at: now })
      .where("id", "=", row.id)
      .execute();
    // Expired sessions of anyone are swept here rather than by a timer.
    await trx.deleteFrom("operator_sessions").where("expires_at", "<", now).execute();
  });
  return {
    token,
    csrfToken,
    expiresAt,
    principal: operatorPrincipal(row.id, row.username, row.role, sha256(token)),
  } satisfies NewSession;
}

let dummy: Promise<string> | null = null;
const dummyHash = () => {
  dummy ??= hashPassword(randomBytes(16).toString("hex"));
  return dummy;
};

const operatorPrincipal = (accountId: number, username: string, role: Role, sessionId: string) =>
  ({
    kind: "operator",
    accountId,
    username,
    role,
    scopes: ROLE_SCOPES[role],
    sessionId,
  }) as const;

export interface SessionCheck {
  readonly principal: Extract<Principal, { kind: "operator" }>;
  readonly csrfToken: string;
  readonly expiresAt: number;
}

/** The session behind a cookie token, or null when it is unknown, expired or its account disabled. */
export async function resolveSession(
  database: Database,
  token: string,
  now: number,
): Promise<SessionCheck | null> {
  const hash = sha256(token);
  const row = await database.db
    .selectFrom("operator_sessions as s")
    .innerJoin("operator_accounts as a", "a.id", "s.account_id")
    .select([
      "s.csrf_token",
      "s.created_at",
      "s.last_seen_at",
      "s.expires_at",
      "a.id as account_id",
      "a.username",
      "a.role",
      "a.disabled_at",
    ])
    .where("s.token_hash", "=", hash)
    .executeTakeFirst();
  if (!row || row.expires_at <= now || row.disabled_at !== null) return null;
  let expiresAt = row.expires_at;
  if (now - row.last_seen_at >= TOUCH_RESOLUTION_MS) {
    expiresAt = Math.min(now + SESSION_IDLE_MS, row.created_at + SESSION_MAX_MS);
    await database.db
      .updateTable("operator_sessions")
      .set({ last_seen_at: now, expires_at: expiresAt })
      .where("token_hash", "=", hash)
      .execute();
  }
  return {
    principal: operatorPrincipal(row.account_id, row.username, row.role, hash),
    csrfToken: row.csrf_token,
    expiresAt,
  };
}

export async function endSession(db: Db, sessionId: string): Promise<void> {
  await db.deleteFrom("operator_sessions").where("token_hash", "=", sessionId).execute();
}

/** Role change or disabling ends the account's sessions, so the change takes effect at once. */
export async function updateAccount(
  db: Db,
  id: number,
  change: { role?: Role | undefined; disabled?: boolean | undefined; password?: string | undefined },
  now: number,
): Promise<{ before: AccountView; after: AccountView }> {
  const all = await listAccounts(db);
  const before = all.find((a) => a.id === id);
  if (!before) throw new AppError("NOT_FOUND", `no operator account ${id}`);
  const activeAdmins = all.filter((a) => a.role === "admin" && a.disabledAt === null && a.id !== id);
  const staysAdmin =
    (change.role ?? before.role) === "admin" && !(change.disabled ?? before.disabledAt !== null);
  if (before.role === "admin" && before.disabledAt === null && !staysAdmin && activeAdmins.length === 0)
    throw new AppError(
      "LAST_ADMIN",
      `${before.username} is the only active admin; make another account admin first`,
    );
  const set: { role?: Role; disabled_at?: number | null; password_hash?: string } = {};
  if (change.role) set.role = change.role;
  if (change.disabled !== undefined) set.disabled_at = change.disabled ? (before.disabledAt ?? now) : null;
  if (change.password !== undefined) {
    const problem = passwordProblem(change.password);
    if (problem) throw new AppError("WEAK_PASSWORD", problem);
    set.password_hash = await hashPassword(change.password);
  }
  if (Object.keys(set).length > 0) {
    await db.updateTable("operator_accounts").set(set).where("id", "=", id).execute();
    await db.deleteFrom("operator_sessions").where("account_id", "=", id).execute();
  }
  const after = (await listAccounts(db)).find((a) => a.id === id)!;
  return { before, after };
}
