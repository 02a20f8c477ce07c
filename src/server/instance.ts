import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sqlitePath, type Config } from '../config.js';
import { WxOpenError } from '../errors.js';

/** A second process on the SQLite file a running server owns. */
export class DatabaseInUseError extends WxOpenError {
  readonly code = 'WXO_ERR_DATABASE_IN_USE';
}

/**
 * Two sandbox-mode instances on one PostgreSQL database started their simulators at the same moment (neither saw
 * the other's record): one simulated WeChat per database, so the later one stops; starting it again joins.
 */
export class SimulatorRaceError extends WxOpenError {
  readonly code = 'WXO_ERR_SIMULATOR_RACE';
}

/** The directory that holds the database (and the server's files beside it) cannot be created. */
export class DataDirectoryError extends WxOpenError {
  readonly code = 'WXO_ERR_DATA_DIRECTORY';
}

/**
 * `mkdir -p` with the failure a user can act on: which directory, why, and the setting that chose it (a file in
 * the way said only `EEXIST: file already exists, mkdir '/dev/null'`).
 */
export function ensureDataDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : (err as Error).message;
    throw new DataDirectoryError(`cannot create the data directory ${dir} (${code}: ${why}); choose another path in WXOPEN_DATABASE_URL`, { cause: err });
  }
}

/** What a running server tells CLI commands of the same project (written beside the database). */
export interface ServerRuntime {
  pid: number;
  url: string;
  sandboxUrl?: string;
  startedAt: string;
}

/**
 * Files a server keeps beside its database: `<db>.lock`, `<db>.server.json` and `<db>.sandbox.json`.
 * For PostgreSQL, `<project>/data/postgres-<digest>.*`, one set per database and schema (no lock: several
 * instances are fine there): a set shared with the project's SQLite file sent CLI commands to whichever
 * server wrote last, and let simulators of different databases overwrite each other's state.
 */
export function instancePaths(config: Config): { prefix: string; lock: string | undefined; runtime: string; sandboxState: string } {
  const db = sqlitePath(config.databaseUrl);
  const prefix = db ?? join(config.projectDir, 'data', `postgres-${databaseDigest(config.databaseUrl)}`);
  return { prefix, lock: db === undefined ? undefined : `${db}.lock`, runtime: `${prefix}.server.json`, sandboxState: `${prefix}.sandbox.json` };
}

/** The database a URL names (host, port, database, options such as the schema), not who logs in to it. */
function databaseDigest(url: string): string {
  let key = url;
  try {
    const u = new URL(url);
    key = `${u.hostname}:${u.port}${u.pathname}${u.search}`;
  } catch {
    // not a URL: the whole string names it
  }
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

export interface InstanceLock {
  release(): void;
}

/**
 * One process per SQLite file. The lock is SQLite's own: an EXCLUSIVE-mode connection on a side file
 * holds an OS file lock until the process ends, so a `kill -9`ed server leaves nothing to clean up and
 * a reused pid cannot fake a holder. Returns undefined when another process holds it.
 */
export function tryLockDatabase(lockPath: string): InstanceLock | undefined {
  ensureDataDirectory(dirname(lockPath));
  const db = new BetterSqlite3(lockPath, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; EXCLUSIVE mode keeps it after the commit.
    db.exec('CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY, pid INTEGER NOT NULL)');
    db.prepare('INSERT OR REPLACE INTO holder (id, pid) VALUES (1, ?)').run(process.pid);
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY' || (err as { code?: string }).code === 'SQLITE_LOCKED') return undefined;
    throw err;
  }
  held.add(db);
  return {
    release() {
      if (held.delete(db)) db.close();
    },
  };
}

/** Keeps lock connections reachable for the life of the process. */
const held = new Set<BetterSqlite3.Database>();

/** The running server's runtime file, if it names a live process. */
export function readServerRuntime(path: string): ServerRuntime | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as ServerRuntime;
    if (typeof r.pid !== 'number' || typeof r.url !== 'string') return undefined;
    process.kill(r.pid, 0);
    return r;
  } catch {
    return undefined;
  }
}

/**
 * Writes this process's record unless a live other process's is there, and returns that one's (a record without a
 * simulator gives way to one with). The record stays
 * the first live instance's (the one whose simulator the others share): a later instance that wrote over it took
 * it away at its stop, and CLI commands and the next start then found no server and no simulator while the first
 * still ran both. Created by a hard link of a complete file, so two instances cannot both win, and no reader sees
 * half a record.
 */
export function claimServerRuntime(path: string, runtime: ServerRuntime): ServerRuntime | undefined {
  ensureDataDirectory(dirname(path));
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(runtime)}\n`);
  try {
    try {
      linkSync(tmp, path);
      return undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readServerRuntime(path);
    // The record names the simulator the others join: one that runs it replaces one started with --no-sandbox.
    const outranks = runtime.sandboxUrl !== undefined && holder?.sandboxUrl === undefined;
    if (holder !== undefined && holder.pid !== process.pid && !outranks) return holder;
    // A crashed server's (or an unreadable) record: nobody uses it.
    renameSync(tmp, path);
    return undefined;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Only this process's record (or a dead one's): another live instance's stays while it runs. */
export function removeServerRuntime(path: string): void {
  const r = existsSync(path) ? readServerRuntime(path) : undefined;
  if (r === undefined || r.pid === process.pid) rmSync(path, { force: true });
}

/** The one line a second server (or a refreshing CLI command) gets while a server owns the file. */
export function inUseMessage(database: string, runtime: ServerRuntime | undefined): string {
  const who = runtime ? `the wxopen server (pid ${runtime.pid}, ${runtime.url})` : 'another wxopen process';
  return `${database} is in use by ${who}: SQLite allows one process; stop it, or use PostgreSQL (WXOPEN_DATABASE_URL=postgres://…) to run several`;
}
