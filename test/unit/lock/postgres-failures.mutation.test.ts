import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PostgresLockBackend } from '../../../src/lock/postgres.js';
import type { Lease } from '../../../src/lock/types.js';
import { noteSkipped, PG_URL } from '../../helpers/services.js';

let n = 0;
const key = () => `unit-pgf:${process.pid}:${Date.now()}:${++n}`;

/**
 * A TCP relay in front of PostgreSQL that drops its connections on cue: all at once, or the one whose client
 * sends a query containing a given text (before PostgreSQL sees it), so the query is in flight when the
 * connection dies.
 */
async function relay(target: string) {
  const to = new URL(target);
  const open = new Set<Socket>();
  let dropOn: string | undefined;
  const server = createServer((down) => {
    const up = connect(Number(to.port || 5432), to.hostname);
    for (const s of [down, up]) {
      open.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        open.delete(s);
        down.destroy();
        up.destroy();
      });
    }
    down.on('data', (chunk: Buffer) => {
      if (dropOn !== undefined && chunk.includes(dropOn)) {
        dropOn = undefined;
        down.destroy();
        return;
      }
      up.write(chunk);
    });
    up.on('data', (chunk: Buffer) => down.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: url.toString(),
    dropWhenSent(text: string) {
      dropOn = text;
    },
    dropAll() {
      for (const s of open) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

afterEach(() => vi.restoreAllMocks());

if (PG_URL) {
  const url = PG_URL;
  describe('PostgresLockBackend: failing queries and dropped connections', () => {
    it('writes a dropped connection to stderr only when no listener is registered', async () => {
      const lines: string[] = [];
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
      const r = await relay(url);
      const heard = new PostgresLockBackend(r.url, 1);
      const silent = new PostgresLockBackend(r.url, 1);
      const leases: Lease[] = [];
      try {
        const errors: Error[] = [];
        heard.onConnectionError((err) => errors.push(err));
        const a = (await heard.tryAcquire(key(), 60_000))!;
        leases.push(a);
        r.dropAll();
        await vi.waitFor(() => expect(a.lost).toBe(true), { timeout: 10_000, interval: 5 });
        expect(errors.length).toBeGreaterThanOrEqual(1);
        expect(lines.filter((l) => l.includes('PostgreSQL'))).toEqual([]);

        const b = (await silent.tryAcquire(key(), 60_000))!;
        leases.push(b);
        r.dropAll();
        await vi.waitFor(() => expect(b.lost).toBe(true), { timeout: 10_000, interval: 5 });
        const ours = lines.filter((l) => l.includes('PostgreSQL'));
        expect(ours.length).toBeGreaterThanOrEqual(1);
        for (const l of ours) expect(l).toMatch(/^\[wxopen\] PostgreSQL lock connection error: \S.*\n$/);
      } finally {
        vi.restoreAllMocks();
        for (const l of leases) await l.release();
        await heard.close();
        await silent.close();
        await r.close();
      }
    });

    it('a failing pg_try_advisory_lock rejects, and the pool is usable again', async () => {
      const lock = new PostgresLockBackend(url, 1);
      try {
        // PostgreSQL text cannot hold a NUL byte: the query itself fails.
        await expect(lock.tryAcquire('bad\u0000key', 1000)).rejects.toThrow(/0x00/);
        const lease = await lock.tryAcquire(key(), 1000);
        expect(lease).toBeDefined();
        await lease!.release();
      } finally {
        await lock.close();
      }
    });

    it('a renewal whose connection drops mid-query returns false and marks the lease lost', async () => {
      const r = await relay(url);
      const lock = new PostgresLockBackend(r.url, 1);
      lock.onConnectionError(() => {});
      const lease = (await lock.tryAcquire(key(), 60_000))!;
      try {
        expect(await lease.renew(60_000)).toBe(true);
        r.dropWhenSent('select 1');
        expect(await lease.renew(60_000)).toBe(false);
        expect(lease.lost).toBe(true);
        expect(await lease.renew(60_000)).toBe(false);
      } finally {
        await lease.release();
        await lock.close();
        await r.close();
      }
    });

    it('a release whose unlock query fails gives the broken connection back to the pool, which opens a new one', async () => {
      const r = await relay(url);
      const lock = new PostgresLockBackend(r.url, 1);
      lock.onConnectionError(() => {});
      try {
        const lease = (await lock.tryAcquire(key(), 60_000))!;
        r.dropWhenSent('pg_advisory_unlock');
        await expect(lease.release()).resolves.toBeUndefined();
        // A pool of one: this waits forever if the failed client was kept checked out.
        const next = await lock.tryAcquire(key(), 1000);
        expect(next).toBeDefined();
        await next!.release();
      } finally {
        await lock.close();
        await r.close();
      }
    });

    it('close() ends the pool: no lease can be taken afterwards', async () => {
      const lock = new PostgresLockBackend(url, 1);
      const k = key();
      await (await lock.tryAcquire(k, 1000))!.release();
      await lock.close();
      await expect(lock.tryAcquire(k, 1000)).rejects.toThrow(/end on the pool/);
    });
  });
} else {
  noteSkipped('PostgresLockBackend failures', 'WXOPEN_TEST_PG_URL');
}
