/**
 * One classifier for "the database is unreachable", fed the errors the drivers really throw: pg with nothing at the
 * address, better-sqlite3 with no file to open, a SQLite file deleted under a running store. Anything else (a
 * constraint, a bug) is not an outage and must still be logged as what it is.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/store/kysely/sqlite.js';
import { databaseUnavailable, postgresLocation } from '../../src/store/unavailable.js';
import { freePorts } from '../helpers/ports.js';

const pgStore = { dialect: 'postgres' as const, location: postgresLocation('postgres://app:hunter2@db.internal:6432/wx?sslmode=require') };

describe('databaseUnavailable', () => {
  it('names a PostgreSQL database by host, port and name only', () => {
    expect(pgStore.location).toBe('db.internal:6432/wx');
  });

  it('recognizes pg refused at the address', async () => {
    const [port] = (await freePorts(1)) as [number];
    const client = new pg.Client({ connectionString: `postgres://u:hunter2@127.0.0.1:${port}/x` });
    const err = await client.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    const u = databaseUnavailable(err, pgStore);
    expect(u?.code).toBe('WXO_ERR_DATABASE_UNAVAILABLE');
    expect(u?.statusCode).toBe(503);
    expect(u?.detail).toBe('the database (PostgreSQL at db.internal:6432/wx) is unreachable: ECONNREFUSED');
  });

  it('recognizes a SQLite file that cannot be opened, and one deleted under a running store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxopen-unavailable-'));
    try {
      const file = join(dir, 'wxopen.db');
      const sqlite = { dialect: 'sqlite' as const, location: file };
      // A path that is a directory (SQLITE_CANTOPEN), and a file that is not a database (SQLITE_NOTADB).
      const thrown = (f: () => unknown): unknown => {
        try {
          f();
        } catch (e) {
          return e;
        }
        throw new Error('did not throw');
      };
      const cantOpen = thrown(() => new BetterSqlite3(dir));
      expect(databaseUnavailable(cantOpen, sqlite)?.detail).toMatch(/^the database \(SQLite at .*wxopen\.db\) is unreachable: SQLITE_CANTOPEN /);
      writeFileSync(join(dir, 'junk.db'), 'x'.repeat(4096));
      const notADb = thrown(() => new BetterSqlite3(join(dir, 'junk.db')).prepare('select 1 from sqlite_master').all());
      expect(databaseUnavailable(notADb, sqlite)?.code).toBe('WXO_ERR_DATABASE_UNAVAILABLE');

      const store = createSqliteStore({ path: file });
      await store.migrate();
      rmSync(file);
      const gone = store.detached();
      expect(databaseUnavailable(gone, store)?.detail).toContain('was deleted or moved while this process ran');
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves other failures alone', () => {
    expect(databaseUnavailable(new TypeError('x is undefined'), pgStore)).toBeUndefined();
    expect(databaseUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }), pgStore)).toBeUndefined();
    expect(databaseUnavailable('ECONNREFUSED', pgStore)).toBeUndefined();
  });
});
