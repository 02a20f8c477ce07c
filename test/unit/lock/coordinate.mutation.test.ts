import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { coordinate, LockTimeoutError, type CoordinateOptions } from '../../../src/lock/coordinate.js';
import { createLockBackend } from '../../../src/lock/create-lock.js';
import { MemoryLockBackend } from '../../../src/lock/memory.js';
import type { Lease, LockBackend } from '../../../src/lock/types.js';
import { ManualClock } from '../../helpers/platform.js';
import { REDIS_URL } from '../../helpers/services.js';

let n = 0;
const uniqueKey = () => `unit:${process.pid}:${++n}`;

/** A real MemoryLockBackend that also records what coordinate asked of it. */
class RecordingLock implements LockBackend {
  readonly kind = 'memory';
  readonly acquired: { key: string; ttlMs: number; got: boolean }[] = [];
  releases = 0;
  constructor(readonly inner = new MemoryLockBackend(new ManualClock())) {}
  async tryAcquire(key: string, ttlMs: number): Promise<Lease | undefined> {
    const lease = await this.inner.tryAcquire(key, ttlMs);
    this.acquired.push({ key, ttlMs, got: lease !== undefined });
    if (!lease) return undefined;
    return {
      renew: (ttl: number) => lease.renew(ttl),
      get lost() {
        return lease.lost;
      },
      release: async () => {
        this.releases++;
        await lease.release();
      },
    };
  }
  async close(): Promise<void> {}
}

function options<T>(o: Partial<CoordinateOptions<T>> & Pick<CoordinateOptions<T>, 'lock' | 'current' | 'refresh'>): CoordinateOptions<T> {
  return { key: uniqueKey(), leaseMs: 30_000, maxWaitMs: 5_000, pollMs: 100, sleep: async () => {}, ...o };
}

describe('coordinate', () => {
  it('returns the stored value without taking the lease or refreshing', async () => {
    const lock = new RecordingLock();
    let refreshes = 0;
    const v = await coordinate(options({ lock, current: async () => 'stored', refresh: async () => `new${++refreshes}` }));
    expect(v).toBe('stored');
    expect(refreshes).toBe(0);
    expect(lock.acquired).toEqual([]);
  });

  it('refreshes under a lease of leaseMs on its key and releases it afterwards', async () => {
    const lock = new RecordingLock();
    const o = options({ lock, current: async () => undefined, refresh: async () => 'fresh', leaseMs: 12_345 });
    expect(await coordinate(o)).toBe('fresh');
    expect(lock.acquired).toEqual([{ key: o.key, ttlMs: 12_345, got: true }]);
    expect(lock.releases).toBe(1);
    expect(await lock.inner.tryAcquire(o.key, 1000)).toBeDefined();
  });

  it('re-reads the store after taking the lease: a value another instance wrote meanwhile is returned, not refreshed', async () => {
    const lock = new RecordingLock();
    const reads: (string | undefined)[] = [undefined, 'written-by-other-instance'];
    let refreshes = 0;
    const v = await coordinate(
      options({ lock, current: async () => reads.shift(), refresh: async () => `ours${++refreshes}` }),
    );
    expect(v).toBe('written-by-other-instance');
    expect(refreshes).toBe(0);
    expect(lock.releases).toBe(1);
  });

  it('waits while another instance holds the lease and returns what it stored, without calling WeChat', async () => {
    const lock = new RecordingLock();
    const key = uniqueKey();
    const other = await lock.inner.tryAcquire(key, 60_000); // the other instance's lease
    let stored: string | undefined;
    let polls = 0;
    const sleeps: number[] = [];
    let refreshes = 0;
    const v = await coordinate(
      options({
        lock,
        key,
        pollMs: 200,
        current: async () => stored,
        refresh: async () => `ours${++refreshes}`,
        sleep: async (ms) => {
          sleeps.push(ms);
          if (++polls === 3) stored = 'theirs';
        },
      }),
    );
    expect(v).toBe('theirs');
    expect(refreshes).toBe(0);
    expect(lock.acquired.filter((a) => a.got)).toEqual([]);
    expect(sleeps).toHaveLength(3);
    // Jittered around pollMs so waiters do not poll in lockstep.
    for (const ms of sleeps) {
      expect(ms).toBeGreaterThanOrEqual(100);
      expect(ms).toBeLessThanOrEqual(300);
    }
    await other!.release();
  });

  it('takes over when the other holder releases without storing anything', async () => {
    const lock = new RecordingLock();
    const key = uniqueKey();
    const other = await lock.inner.tryAcquire(key, 60_000);
    let refreshes = 0;
    const v = await coordinate(
      options({
        lock,
        key,
        current: async () => undefined,
        refresh: async () => `ours${++refreshes}`,
        sleep: async () => void (await other!.release()),
      }),
    );
    expect(v).toBe('ours1');
    expect(lock.acquired.map((a) => a.got)).toEqual([false, true]);
  });

  it('gives up with LockTimeoutError after maxWaitMs when the holder never finishes', async () => {
    const lock = new RecordingLock();
    const key = uniqueKey();
    await lock.inner.tryAcquire(key, 600_000);
    const started = Date.now();
    const err = await coordinate(
      // Waiters outlast two leases (plus a second) whatever maxWaitMs says, so a short lease keeps this quick.
      options({ lock, key, leaseMs: 20, maxWaitMs: 40, pollMs: 10, current: async () => undefined, refresh: async () => 'x', sleep: undefined }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as LockTimeoutError).message).toContain(key);
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    expect(lock.acquired.length).toBeGreaterThan(1);
  });

  it('shares one run between concurrent callers of a key in this process, and starts anew once it settled', async () => {
    const lock = new RecordingLock();
    const key = uniqueKey();
    let refreshes = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const o = options({
      lock,
      key,
      current: async () => undefined,
      refresh: async () => {
        refreshes++;
        await gate;
        return `v${refreshes}`;
      },
    });
    const calls = [coordinate(o), coordinate(o), coordinate(o)];
    release();
    expect(await Promise.all(calls)).toEqual(['v1', 'v1', 'v1']);
    expect(await coordinate(o)).toBe('v2');
    expect(refreshes).toBe(2);
  });

  it('releases the lease and lets the next call retry when the refresh fails', async () => {
    const lock = new RecordingLock();
    const key = uniqueKey();
    let attempts = 0;
    const o = options({
      lock,
      key,
      current: async () => undefined,
      refresh: async () => {
        if (++attempts === 1) throw new Error('WeChat said no');
        return 'second';
      },
    });
    await expect(coordinate(o)).rejects.toThrow('WeChat said no');
    expect(lock.releases).toBe(1);
    expect(await coordinate(o)).toBe('second');
  });

  it('keeps different keys independent', async () => {
    const lock = new RecordingLock();
    const a = coordinate(options({ lock, current: async () => undefined, refresh: async () => 'a' }));
    const b = coordinate(options({ lock, current: async () => undefined, refresh: async () => 'b' }));
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
  });
});

describe('MemoryLockBackend', () => {
  it('excludes a second holder until the lease expires by its clock, exactly at its ttl', async () => {
    const clock = new ManualClock(1_000_000);
    const lock = new MemoryLockBackend(clock);
    const first = await lock.tryAcquire('k', 1000);
    expect(first).toBeDefined();
    clock.advance(999);
    expect(await lock.tryAcquire('k', 1000)).toBeUndefined();
    expect(await lock.tryAcquire('other', 1000)).toBeDefined();
    clock.advance(1);
    const second = await lock.tryAcquire('k', 1000);
    expect(second).toBeDefined();
    await first!.release(); // late release of the expired lease
    expect(await lock.tryAcquire('k', 1000)).toBeUndefined();
    await second!.release();
    expect(await lock.tryAcquire('k', 1000)).toBeDefined();
  });

  it('close drops every lease', async () => {
    const lock = new MemoryLockBackend(new ManualClock());
    await lock.tryAcquire('k', 60_000);
    await lock.close();
    expect(await lock.tryAcquire('k', 60_000)).toBeDefined();
  });
});

describe('createLockBackend', () => {
  it('uses Redis when configured, else PostgreSQL advisory locks for a postgres URL, else a lease file beside a SQLite file, else memory', async () => {
    const memory = createLockBackend({ databaseUrl: 'sqlite::memory:' });
    expect(memory.kind).toBe('memory');
    for (const url of ['postgres://u@127.0.0.1:1/x', 'postgresql://u@127.0.0.1:1/x']) {
      const pg = createLockBackend({ databaseUrl: url });
      expect(pg.kind).toBe('postgres');
      await pg.close();
    }
    const file = createLockBackend({ databaseUrl: `sqlite:${join(mkdtempSync(join(tmpdir(), 'wxo-lock-')), 'postgres:x.db')}` });
    expect(file.kind).toBe('sqlite');
    await file.close();
  });

  it.runIf(REDIS_URL)('prefers Redis over PostgreSQL when both are configured', async () => {
    const lock = createLockBackend({ redisUrl: REDIS_URL!, databaseUrl: 'postgres://u@127.0.0.1:1/x' });
    expect(lock.kind).toBe('redis');
    await lock.close();
  });

  it('gives the memory backend the injected clock', async () => {
    const clock = new ManualClock(0);
    const lock = createLockBackend({ databaseUrl: 'sqlite::memory:', clock });
    await lock.tryAcquire('k', 1000);
    expect(await lock.tryAcquire('k', 1000)).toBeUndefined();
    clock.advance(1000);
    expect(await lock.tryAcquire('k', 1000)).toBeDefined();
  });
});
