import type { ColumnDefinitionBuilder, CreateTableBuilder, Kysely } from "kysely";
import type { Dialect } from "./database.ts";

/** What a migration gets: the database and the helpers that hide the few dialect differences. */
export interface MigrationContext {
  // biome-ignore lint/suspicious/noExplicitAny: migrations run before the typed tables exist
  readonly db: Kysely<any>;
  readonly dialect: Dialect;
  /** Adds an auto-incrementing integer primary key named `id`. */
  // biome-ignore lint/suspicious/noExplicitAny: works on any table builder
  id<T extends CreateTableBuilder<any, any>>(table: T): T;
}

// biome-ignore lint/suspicious/noExplicitAny: see MigrationContext
export function migrationContext(db: Kysely<any>, dialect: Dialect): MigrationContext {
  return {
    db,
    dialect,
    id: (table) =>
      (dialect === "sqlite"
        ? table.addColumn("id", "integer", (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement())
        : table.addColumn("id", "bigserial", (c: ColumnDefinitionBuilder) => c.primaryKey())) as typeof table,
  };
}

export interface HubMigration {
  readonly name: string;
  up(ctx: MigrationContext): Promise<void>;
}
