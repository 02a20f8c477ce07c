import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisClient } from '../util/redis-outage.js';
import type { Lease, LockBackend } from './types.js';

// Delete only if we still own it: a lease that expired and was taken over must not be released by us.
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
// Extend only if we still own it.
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

/** `SET key token NX PX ttl`: the lease dies with its TTL if the holder crashes; the holder renews it. */
export class RedisLockBackend implements LockBackend {
  readonly kind = 'redis';
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'wxopen:lock:',
    private readonly ownsConnection = false,
  ) {}

  static fromUrl(url: string, prefix?: string): RedisLockBackend {
    // Failed commands surface where the lock is taken; the connection's own errors need a listener all the same.
    const { redis } = redisClient(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
    return new RedisLockBackend(redis, prefix, true);
  }

  async tryAcquire(key: string, ttlMs: number): Promise<Lease | undefined> {
    const token = randomBytes(12).toString('hex');
    const k = this.prefix + key;
    const ok = await this.redis.set(k, token, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
    if (ok !== 'OK') return undefined;
    let released = false;
    const lease: Lease & { lost: boolean } = {
      lost: false,
      renew: async (ttl: number) => {
        if (released || lease.lost) return false;
        const r = await this.redis.eval(RENEW, 1, k, token, String(Math.max(1, Math.ceil(ttl))));
        if (Number(r) !== 1) lease.lost = true;
        return !lease.lost;
      },
      release: async () => {
        if (released) return;
        released = true;
        await this.redis.eval(RELEASE, 1, k, token);
      },
    };
    return lease;
  }

  async close(): Promise<void> {
    if (this.ownsConnection) this.redis.disconnect();
  }
}
