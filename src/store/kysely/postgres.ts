import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { KyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';

export interface PostgresStoreOptions {
  connectionString: string;
  /** Schema to create and use (tests isolate runs with it); default: the server's search_path. */
  schema?: string;
  maxConnections?: number;
}

const INT8_OID = 20;

export async function createPostgresStore(options: PostgresStoreOptions): Promise<KyselyStore> {
  const { schema } = options;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new TypeError(`[wxopen] invalid PostgreSQL schema name ${JSON.stringify(schema)}`);
  }
  if (schema !== undefined) {
    const client = new pg.Client({ connectionString: options.connectionString });
    await client.connect();
    try {
      await client.query(`create schema if not exists ${schema}`);
    } finally {
      await client.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
    // Epoch-ms columns are bigint; they fit a JS number exactly, so read them as numbers.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  return new KyselyStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), 'postgres');
}
