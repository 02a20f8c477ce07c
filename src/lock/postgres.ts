import pg from 'pg';
import type { Lease, LockBackend } from './types.js';

/**
 * PostgreSQL session advisory locks. The lease lives on one pooled connection; if the process dies
 * the session ends and PostgreSQL frees the lock, which is the "crashed holder's lock expires" rule.
 * The ttl is enforced locally: a lease held past it is released so a hung refresh cannot block forever.
 */
export class PostgresLockBackend implements LockBackend {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;

  constructor(connectionString: string, maxConnections = 4) {
    this.pool = new pg.Pool({ connectionString, max: maxConnections });
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
    const release = async (): Promise<void> => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      try {
        await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', [key]);
        client.release();
      } catch (err) {
        client.release(err as Error);
      }
    };
    const timer = setTimeout(() => void release(), ttlMs);
    timer.unref();
    return { release };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
