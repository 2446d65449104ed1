import type { HubMigration } from "../schema-helpers.ts";

/**
 * Access: API keys get scopes (keys made before this keep `admin`, which is what they could do),
 * operators get accounts with a role and sign in with sessions, and every change of a setting is
 * kept in an audit trail with who made it.
 */
export const access: HubMigration = {
  name: "0012-access",
  async up({ db, id }) {
    await db.schema
      .alterTable("api_keys")
      .addColumn("scopes", "text", (c) => c.notNull().defaultTo("admin"))
      .execute();
    await id(db.schema.createTable("operator_accounts"))
      .addColumn("username", "text", (c) => c.notNull().unique())
      .addColumn("password_hash", "text", (c) => c.notNull())
      .addColumn("role", "text", (c) => c.notNull()) // viewer | operator | admin
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .addColumn("disabled_at", "bigint")
      .addColumn("last_sign_in_at", "bigint")
      .execute();
    await db.schema
      .createTable("operator_sessions")
      // SHA-256 of the cookie's random token: a leaked table opens no session.
      .addColumn("token_hash", "text", (c) => c.primaryKey())
      .addColumn("account_id", "bigint", (c) => c.notNull())
      .addColumn("csrf_token", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("last_seen_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("operator_sessions_account")
      .on("operator_sessions")
      .column("account_id")
      .execute();
    await id(db.schema.createTable("audit_log"))
      .addColumn("at", "bigint", (c) => c.notNull())
      .addColumn("actor", "text", (c) => c.notNull())
      .addColumn("store_id", "bigint")
      .addColumn("action", "text", (c) => c.notNull())
      .addColumn("target", "text")
      .addColumn("before", "text") // JSON
      .addColumn("after", "text") // JSON
      .execute();
    await db.schema.createIndex("audit_log_store").on("audit_log").columns(["store_id", "id"]).execute();
  },
};
