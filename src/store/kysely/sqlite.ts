import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';

export interface SqliteStoreOptions {
  /** File path, or `:memory:`. */
  path: string;
  /**
   * `full` (default) fsyncs every commit so a stored refresh token survives power loss, not only a
   * process crash; `normal` is crash-safe in WAL mode and faster.
   */
  synchronous?: 'full' | 'normal';
}

export function createSqliteStore(options: SqliteStoreOptions): KyselyStore {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const database = new BetterSqlite3(options.path);
  database.pragma('journal_mode = WAL');
  database.pragma(`synchronous = ${options.synchronous ?? 'full'}`);
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  return new KyselyStore(new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), 'sqlite');
}
