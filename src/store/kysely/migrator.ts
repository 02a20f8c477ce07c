import { Migrator, sql, type Kysely } from 'kysely';
import type { StoreDialect } from '../types.js';
import { migrationProvider } from './migrations.js';
import type { Database } from './schema.js';

/** The Migrator every caller uses, so `migrate()` and the doctor's pending check read the same tables. */
export async function createMigrator(db: Kysely<Database>, dialect: StoreDialect): Promise<Migrator> {
  // PostgreSQL: name the schema of the migration tables. Kysely's existence check otherwise sees the
  // tables of any schema in the database and skips creating ours ("kysely_migration_lock does not exist").
  const migrationTableSchema = dialect === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s : undefined;
  // Migrations are named by area (creds_, messages_, …), so their names do not sort in the order they
  // were written: an area's first migration may sort before one a database already ran.
  return new Migrator({
    db,
    provider: migrationProvider(dialect),
    allowUnorderedMigrations: true,
    ...(migrationTableSchema && { migrationTableSchema }),
  });
}

/** Names of the migrations this version has that the database has not run (read only: creates nothing). */
export async function pendingMigrations(db: Kysely<Database>, dialect: StoreDialect): Promise<{ pending: string[]; total: number }> {
  const migrations = await (await createMigrator(db, dialect)).getMigrations();
  return { pending: migrations.filter((m) => m.executedAt === undefined).map((m) => m.name), total: migrations.length };
}
