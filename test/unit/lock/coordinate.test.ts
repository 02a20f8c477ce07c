/**
 * coordinate() between two users that do NOT share the in-process single-flight map (two instances of
 * the module, as two processes would have), so only the lock backend and the re-read after acquiring
 * the lease stand between them and a second refresh. Run on the in-process backend and on Redis.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { coordinate as coordinateA } from '../../../src/lock/coordinate.js';
import { MemoryLockBackend } from '../../../src/lock/memory.js';
import { RedisLockBackend } from '../../../src/lock/redis.js';
import type { LockBackend } from '../../../src/lock/types.js';
import { REDIS_URL } from '../../helpers/services.js';

type Coordinate = typeof coordinateA;
let coordinateB: Coordinate;

beforeAll(async () => {
  // A second copy of the module: its own map of pending promises, like another process.
  vi.resetModules();
  coordinateB = (await import('../../../src/lock/coordinate.js')).coordinate;
  expect(coordinateB).not.toBe(coordinateA);
});

let n = 0;
const backends: Array<[string, () => LockBackend]> = [['memory', () => new MemoryLockBackend()]];
if (REDIS_URL) backends.push(['Redis', () => RedisLockBackend.fromUrl(REDIS_URL!, `wxopen:test:coord:${process.pid}:${Date.now()}:`)]);

describe.each(backends)('coordinate() across two instances on the %s lock', (_name, make) => {
  let lock: LockBackend;
  beforeAll(() => {
    lock = make();
  });
  afterAll(async () => lock.close());
  const options = { leaseMs: 10_000, maxWaitMs: 5_000, pollMs: 5 };

  it('while A holds the lease, B waits for A and reads its value instead of refreshing', async () => {
    const key = `k${++n}`;
    let stored: string | undefined;
    let refreshes = 0;
    let bReads = 0;
    let bPolled!: () => void;
    // A's refresh finishes only once B has failed to get the lease and come back to read again (or
    // after a second, if B never waits: then B refreshed on its own and the count shows it).
    const bWaited = new Promise<void>((r) => (bPolled = r));
    let aHolds!: () => void;
    const aRefreshing = new Promise<void>((r) => (aHolds = r));
    const refresh = async () => {
      refreshes++;
      aHolds();
      await Promise.race([bWaited, new Promise((r) => setTimeout(r, 1000))]);
      stored = `token-${refreshes}`;
      return stored;
    };
    const a = coordinateA({ lock, key, current: async () => stored, refresh, ...options });
    await aRefreshing;
    const b = coordinateB({
      lock,
      key,
      current: async () => {
        if (++bReads === 2) bPolled();
        return stored;
      },
      refresh,
      ...options,
    });
    expect(await Promise.all([a, b])).toEqual(['token-1', 'token-1']);
    expect(refreshes).toBe(1);
  });

  it('B re-reads after getting the lease: a value A stored after B first looked is used, not refreshed again', async () => {
    const key = `k${++n}`;
    let stored: string | undefined;
    let refreshes = 0;
    const refresh = async () => {
      refreshes++;
      stored = `token-${refreshes}`;
      return stored;
    };
    const a = coordinateA({ lock, key, current: async () => stored, refresh, ...options });
    let first = true;
    const b = coordinateB({
      lock,
      key,
      // B's first read is taken before A commits and answered after A released the lease: by the time
      // B holds the lease, the value it saw is stale.
      current: async () => {
        if (!first) return stored;
        first = false;
        const seen = stored;
        await a;
        return seen;
      },
      refresh,
      ...options,
    });
    expect(await Promise.all([a, b])).toEqual(['token-1', 'token-1']);
    expect(refreshes).toBe(1);
  });
});
