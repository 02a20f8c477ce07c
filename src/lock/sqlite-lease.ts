import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { systemClock, type Clock } from '../util/clock.js';
import type { Lease, LockBackend } from './types.js';

/**
 * Leases in a small SQLite file beside the database, so the processes sharing one SQLite store (the
 * server and a CLI command) refresh each token once between them. Each acquire is one short write
 * transaction; nothing is held while WeChat is called, and an expired lease is taken over.
 */
export class SqliteLeaseLockBackend implements LockBackend {
  readonly kind = 'sqlite';
  private readonly db: BetterSqlite3.Database;
  private readonly acquire: BetterSqlite3.Statement<[string, string, number, number]>;
  private readonly release: BetterSqlite3.Statement<[string, string]>;
  private readonly takeOver: BetterSqlite3.Statement<[string, string]>;
  private readonly holderOf: BetterSqlite3.Statement<[string], { holder: string }>;
  private readonly extend: BetterSqlite3.Statement<[number, string, string, number]>;

  constructor(
    path: string,
    private readonly clock: Clock = systemClock,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    // Stryker disable next-line ObjectLiteral: 5000 ms is also better-sqlite3's default (docs/mutation-survivors.md).
    this.db = new BetterSqlite3(path, { timeout: 5000 });
    this.db.pragma('journal_mode = WAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS lease (key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL)');
    this.acquire = this.db.prepare(
      'INSERT INTO lease (key, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at WHERE lease.expires_at <= ?',
    );
    this.release = this.db.prepare('DELETE FROM lease WHERE key = ? AND holder = ?');
    this.takeOver = this.db.prepare('DELETE FROM lease WHERE key = ? AND holder = ?');
    this.holderOf = this.db.prepare('SELECT holder FROM lease WHERE key = ?');
    this.extend = this.db.prepare('UPDATE lease SET expires_at = ? WHERE key = ? AND holder = ? AND expires_at > ?');
  }

  async tryAcquire(key: string, ttlMs: number): Promise<Lease | undefined> {
    const now = this.clock.now();
    // The pid names the holder: every process on one SQLite file is on this machine, so a lease whose
    // holder died (kill -9 mid-refresh) is taken over at once instead of blocking everyone until it expires.
    const holder = `${process.pid}:${randomUUID()}`;
    if (this.acquire.run(key, holder, now + ttlMs, now).changes === 0) {
      const current = this.holderOf.get(key);
      if (!current || alive(Number(current.holder.split(':')[0]))) return undefined;
      this.takeOver.run(key, current.holder);
      if (this.acquire.run(key, holder, now + ttlMs, now).changes === 0) return undefined;
    }
    const lease: Lease & { lost: boolean } = {
      lost: false,
      renew: async (ttl: number) => {
        const at = this.clock.now();
        if (!this.db.open || this.extend.run(at + ttl, key, holder, at).changes === 0) {
          lease.lost = true;
          return false;
        }
        return true;
      },
      release: async () => {
        if (this.db.open) this.release.run(key, holder);
      },
    };
    return lease;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
