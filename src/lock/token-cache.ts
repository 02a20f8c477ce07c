import type { Redis } from 'ioredis';
import { redisClient } from '../util/redis-outage.js';

/**
 * A shared cache in front of the store for hot credentials. Values are already sealed by the caller.
 * Every method may fail (Redis down): callers fall back to the store, which stays the truth.
 */
export interface TokenCache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export class RedisTokenCache implements TokenCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'wxopen:cache:',
    private readonly ownsConnection = false,
  ) {}

  static fromUrl(url: string, prefix?: string): RedisTokenCache {
    // A failed read or write falls back to the store (and is logged there); see reportOutages for the listener.
    const { redis } = redisClient(url, { maxRetriesPerRequest: 1 });
    return new RedisTokenCache(redis, prefix, true);
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(this.prefix + key)) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (ttlMs > 0) await this.redis.set(this.prefix + key, value, 'PX', Math.ceil(ttlMs));
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }

  async close(): Promise<void> {
    if (this.ownsConnection) this.redis.disconnect();
  }
}
