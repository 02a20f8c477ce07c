import pg from 'pg';
import type { Lease, LockBackend } from './types.js';

/**
 * PostgreSQL session advisory locks. The lease lives on one pooled connection; if the process dies
 * the session ends and PostgreSQL frees the lock at once. A lease not renewed within its ttl is
 * released locally, so a hung holder cannot block forever; a lease whose session died (a dropped
 * connection, `pg_terminate_backend`) is lost: PostgreSQL has already freed the lock for others.
 */
export class PostgresLockBackend implements LockBackend {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;
  private readonly listeners: ((err: Error) => void)[] = [];

  constructor(connectionString: string, maxConnections = 4) {
    // Names our backends in pg_stat_activity (a URL's application_name wins).
    this.pool = new pg.Pool({ connectionString, max: maxConnections, application_name: 'wxopen-lock' });
    // Without listeners a dropped connection ends the process ("Unhandled 'error' event"): pg-pool
    // removes its idle listener from a checked-out client, and the lock client is checked out for
    // the whole lease. The pool's own 'error' repeats the client's.
    this.pool.on('connect', (client) => client.on('error', (err) => this.report(err)));
    this.pool.on('error', () => {});
  }

  onConnectionError(listener: (err: Error) => void): void {
    this.listeners.push(listener);
  }

  private report(err: Error): void {
    if (this.listeners.length === 0) process.stderr.write(`[wxopen] PostgreSQL lock connection error: ${err.message}\n`);
    for (const l of this.listeners) {
      try {
        l(err);
      } catch {
        // never let a listener turn a handled error into a crash
      }
    }
  }

  async tryAcquire(key: string, ttlMs: number): Promise<Lease | undefined> {
    const client = await this.pool.connect();
    let ok = false;
    try {
      const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as ok', [key]);
      ok = r.rows[0]?.ok === true;
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
    if (!ok) {
      client.release();
      return undefined;
    }
    let released = false;
    let dead: Error | undefined;
    let timer: NodeJS.Timeout;
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        // Not renewed in time: the holder is hung; free the lock and let it know.
        lease.lost = true;
        void lease.release();
      }, ms);
      timer.unref();
    };
    const lease: Lease & { lost: boolean } = {
      lost: false,
      async renew(ttl: number) {
        if (released || dead) return false;
        try {
          // The lock lives as long as the session: renewing is proving the session is alive.
          await client.query('select 1');
          arm(ttl);
          return true;
        } catch (err) {
          dead = err as Error;
          lease.lost = true;
          return false;
        }
      },
      async release() {
        if (released) return;
        released = true;
        clearTimeout(timer);
        client.removeListener('error', onError);
        if (dead) {
          client.release(dead);
          return;
        }
        try {
          await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', [key]);
          client.release();
        } catch (err) {
          client.release(err as Error);
        }
      },
    };
    const onError = (err: Error) => {
      dead = err;
      lease.lost = true;
    };
    client.on('error', onError);
    arm(ttlMs);
    return lease;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
