import { WxOpenError } from '../errors.js';
import type { Store } from './types.js';

/**
 * The database could not be reached (PostgreSQL refused or dropped the connection, the SQLite file is gone or
 * unreadable). Answered 503: the request was fine and will work once the database is back, which the pool
 * notices on its own.
 */
export class DatabaseUnavailableError extends WxOpenError {
  readonly code = 'WXO_ERR_DATABASE_UNAVAILABLE';
  override readonly statusCode = 503;
}

/** Socket errors: the server is not there (yet), or went away mid-query. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);
/** pg's own words for a connection that ended or never came (it sets no code on these). */
const PG_CONNECTION_MESSAGES = [/^Connection terminated/, /^timeout exceeded when trying to connect/, /not queryable/, /^Client was closed/];
/** SQLite: the file cannot be opened or read (deleted with its directory, permissions, a dead disk). */
const SQLITE_CODES = /^SQLITE_(CANTOPEN|IOERR|NOTADB|CORRUPT|READONLY_DBMOVED)/;

/** Where the store is, without credentials: `PostgreSQL at host:5432/db`, `SQLite at /srv/data/wxopen.db`. */
export function storeName(store: Pick<Store, 'dialect' | 'location'>): string {
  const kind = store.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite';
  return store.location ? `${kind} at ${store.location}` : kind;
}

/** A PostgreSQL URL as `host:port/database`: a password (or user) in it must never reach a log or an answer. */
export function postgresLocation(connectionString: string): string | undefined {
  try {
    const u = new URL(connectionString);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return undefined;
  }
}

/**
 * The one place that decides whether a failure means "the database is unreachable", for both dialects: the
 * error to answer with, or undefined for anything else (a bug, a constraint, a timeout of one query).
 */
export function databaseUnavailable(err: unknown, store: Pick<Store, 'dialect' | 'location'>): DatabaseUnavailableError | undefined {
  if (err instanceof DatabaseUnavailableError) return err;
  const why = reason(err);
  if (why === undefined) return undefined;
  return new DatabaseUnavailableError(`the database (${storeName(store)}) is unreachable: ${why}`, { cause: err });
}

function reason(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  // The SQLite file deleted or replaced under the process (sqlite.ts's detached()): its message says what to do.
  if (code === 'WXO_ERR_DATABASE_DETACHED') return (err as WxOpenError).detail;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return code;
    // SQLSTATE class 08 (connection exception); 57P01-57P03: the server is shutting down or starting.
    if (/^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code)) return `${code} ${err.message}`;
    if (SQLITE_CODES.test(code)) return `${code} ${err.message}`;
  }
  if (PG_CONNECTION_MESSAGES.some((re) => re.test(err.message))) return err.message;
  // Node's happy-eyeballs connect gives an AggregateError of one error per address tried.
  if (err instanceof AggregateError && err.errors.length > 0 && err.errors.every((e) => reason(e) !== undefined)) return reason(err.errors[0]);
  return undefined;
}
