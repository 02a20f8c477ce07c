import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { KyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';
import { postgresLocation } from '../unavailable.js';

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
    // Names our backends in pg_stat_activity (a URL's application_name wins).
    application_name: 'wxopen',
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
    // Epoch-ms columns are bigint; they fit a JS number exactly, so read them as numbers.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  const store = new KyselyStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), 'postgres', postgresLocation(options.connectionString));
  // An idle connection dropped by a failover or a proxy is emitted on the pool, and a checked-out
  // client's on the client (pg-pool removes its own listener at checkout): without listeners either
  // one ends the process with "Unhandled 'error' event". The query that was running already failed.
  // Every client gets a permanent listener that reports; the pool's own 'error' (idle clients) is the
  // same error again, so it only needs a listener to exist.
  pool.on('connect', (client) => client.on('error', (err) => store.reportConnectionError(err)));
  pool.on('error', () => {});
  return store;
}
