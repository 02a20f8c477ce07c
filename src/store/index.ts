export type * from './types.js';
export { createStore } from './create-store.js';
export { createSqliteStore, SqliteStore } from './kysely/sqlite.js';
export type { SqliteStoreOptions } from './kysely/sqlite.js';
export { createPostgresStore } from './kysely/postgres.js';
export type { PostgresStoreOptions } from './kysely/postgres.js';
export { KyselyStore } from './kysely/kysely-store.js';
