import { afterAll, describe, expect, it } from 'vitest';
import { coordinate } from '../../src/lock/coordinate.js';
import type { LockBackend } from '../../src/lock/types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Behaviour every LockBackend must have. `expire` makes a lease of `ttlMs` run out. */
export function lockContract(name: string, make: () => LockBackend, expire: (ttlMs: number) => Promise<void>): void {
  describe(`LockBackend contract: ${name}`, () => {
    const lock = make();
    const other = make();
    let n = 0;
    const key = () => `contract:${process.pid}:${Date.now()}:${++n}`;
    afterAll(async () => {
      await lock.close();
      await other.close();
    });

    it('excludes a second holder, also from another backend instance, until released', async () => {
      const k = key();
      const lease = await lock.tryAcquire(k, 10_000);
      expect(lease).toBeDefined();
      expect(await lock.tryAcquire(k, 10_000)).toBeUndefined();
      expect(await other.tryAcquire(k, 10_000)).toBeUndefined();
      const elsewhere = await other.tryAcquire(key(), 10_000);
      expect(elsewhere).toBeDefined();
      await lease!.release();
      await lease!.release();
      const next = await other.tryAcquire(k, 10_000);
      expect(next).toBeDefined();
      await next!.release();
      await elsewhere!.release();
    });

    it("lets a crashed holder's lease expire, and a late release does not free the new holder", async () => {
      const k = key();
      const stale = await lock.tryAcquire(k, 200);
      expect(stale).toBeDefined();
      await expire(200);
      const fresh = await other.tryAcquire(k, 10_000);
      expect(fresh).toBeDefined();
      await stale!.release();
      expect(await lock.tryAcquire(k, 10_000)).toBeUndefined();
      await fresh!.release();
    });

    it('renews a lease it holds; a lease that lapsed and was taken over cannot be renewed and is lost', async () => {
      const k = key();
      // 1 s, not 200 ms: the renew must reach the backend before the first lease ends, even on a loaded machine.
      const lease = await lock.tryAcquire(k, 1_000);
      expect(await lease!.renew(10_000)).toBe(true);
      await expire(1_000);
      expect(await other.tryAcquire(k, 10_000)).toBeUndefined();
      expect(lease!.lost).toBe(false);
      await lease!.release();
      const k2 = key();
      const stale = await lock.tryAcquire(k2, 200);
      await expire(200);
      const fresh = await other.tryAcquire(k2, 10_000);
      expect(fresh).toBeDefined();
      expect(await stale!.renew(10_000)).toBe(false);
      expect(stale!.lost).toBe(true);
      expect(await lock.tryAcquire(k2, 10_000)).toBeUndefined();
      await fresh!.release();
    });

    it('coordinate: 100 concurrent callers over two backends refresh once and all read the result', async () => {
      const k = key();
      let stored: string | undefined;
      let refreshes = 0;
      const call = (backend: LockBackend) =>
        coordinate({
          lock: backend,
          key: `${k}:${backend === lock ? 'a' : 'b'}`.replace(/:[ab]$/, ''),
          current: async () => stored,
          refresh: async () => {
            refreshes++;
            await sleep(50);
            stored = `token-${refreshes}`;
            return stored;
          },
          leaseMs: 5_000,
          maxWaitMs: 5_000,
          pollMs: 10,
        });
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => call(i % 2 ? lock : other)));
      expect(refreshes).toBe(1);
      expect(new Set(results)).toEqual(new Set(['token-1']));
    });
  });
}
