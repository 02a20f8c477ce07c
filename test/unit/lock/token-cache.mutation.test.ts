import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisTokenCache } from '../../../src/lock/token-cache.js';
import { freePorts } from '../../helpers/ports.js';
import { noteSkipped, REDIS_URL } from '../../helpers/services.js';

describe('RedisTokenCache.fromUrl', () => {
  it('gives up on a command after one retry while Redis is unreachable (callers fall back to the store at once)', async () => {
    const [port] = (await freePorts(1)) as [number];
    const cache = RedisTokenCache.fromUrl(`redis://127.0.0.1:${port}`);
    try {
      // ioredis's default is 20 retries per request: seconds of waiting before the store is asked.
      await expect(cache.get('k')).rejects.toThrow(/\(which is 1\)/);
    } finally {
      await cache.close();
    }
  });
});

if (REDIS_URL) {
  describe('RedisTokenCache (real Redis)', () => {
    const prefix = `wxopen:test:cache:${process.pid}:${Date.now()}:`;
    const raw = new Redis(REDIS_URL!);
    const cache = new RedisTokenCache(raw, prefix);
    afterAll(async () => {
      const keys = await raw.keys(`${prefix}*`);
      if (keys.length > 0) await raw.del(...keys);
      raw.disconnect();
    });

    it('stores under its prefix with the TTL rounded up to whole ms, reads back, deletes', async () => {
      expect(await cache.get('a')).toBeUndefined();
      // Redis refuses a fractional PX: the TTL must reach it as whole milliseconds.
      await cache.set('a', 'sealed-value', 600_000.2);
      expect(await cache.get('a')).toBe('sealed-value');
      expect(await raw.get(`${prefix}a`)).toBe('sealed-value');
      const pttl = await raw.pttl(`${prefix}a`);
      expect(pttl).toBeGreaterThan(500_000);
      expect(pttl).toBeLessThanOrEqual(600_001);
      await cache.delete('a');
      expect(await cache.get('a')).toBeUndefined();
      expect(await raw.exists(`${prefix}a`)).toBe(0);
    });

    it('does not store a value that has already expired (ttl ≤ 0)', async () => {
      await cache.set('dead', 'v', 0);
      await cache.set('dead2', 'v', -5);
      expect(await raw.exists(`${prefix}dead`, `${prefix}dead2`)).toBe(0);
    });

    it('uses wxopen:cache: as the default prefix', async () => {
      const plain = new RedisTokenCache(raw);
      const key = `t:${process.pid}:${Date.now()}`;
      await plain.set(key, 'v', 10_000);
      expect(await raw.get(`wxopen:cache:${key}`)).toBe('v');
      await plain.delete(key);
    });

    it('closes the connection it opened itself, never one it was given', async () => {
      // Made here, not at collection time, so that a mutation of the constructor is judged by this test.
      await new RedisTokenCache(raw, prefix).close();
      await cache.close();
      // The connection it was given still works (disconnect() would only show in raw.status later).
      expect(await raw.ping()).toBe('PONG');
      expect(raw.status).toBe('ready');
      const own = RedisTokenCache.fromUrl(REDIS_URL!, prefix);
      await own.set('own', 'v', 10_000);
      expect(await own.get('own')).toBe('v');
      await own.close();
      await expect(own.get('own')).rejects.toThrow();
    });
  });
} else {
  noteSkipped('RedisTokenCache', 'WXOPEN_TEST_REDIS_URL');
}
