import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryRateLimitBackend, RateLimitedError, RateLimiter, RedisRateLimitBackend, parseRateLimits, type RateLimitBackend } from '../../src/api/rate-limit.js';
import { ManualClock } from '../helpers/platform.js';
import { noteSkipped, REDIS_URL } from '../helpers/services.js';

/** The behaviour both rate-limit backends share; time comes from a ManualClock, never real sleeps. */
function rateLimitContract(name: string, open: () => RateLimitBackend, second?: () => RateLimitBackend): void {
  describe(`rate limiter contract: ${name}`, () => {
    const backends: RateLimitBackend[] = [];
    const make = (f = open) => {
      const b = f();
      backends.push(b);
      return b;
    };
    afterAll(async () => {
      for (const b of backends) await b.close();
    });

    it('grants a burst of N, then tells how long to wait, then refills at N per period', async () => {
      const b = make();
      const rule = { tokens: 3, perMs: 1000 };
      const now = 1_000_000;
      expect([await b.take('k1', rule, now), await b.take('k1', rule, now), await b.take('k1', rule, now)]).toEqual([0, 0, 0]);
      const wait = await b.take('k1', rule, now);
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(334);
      expect(await b.take('k1', rule, now + wait - 2)).toBeGreaterThan(0);
      expect(await b.take('k1', rule, now + wait)).toBe(0);
      expect(await b.take('k1', rule, now + wait)).toBeGreaterThan(0);
      // Idle time refills up to the burst, not beyond.
      for (let i = 0; i < 3; i++) expect(await b.take('k1', rule, now + 60_000)).toBe(0);
      expect(await b.take('k1', rule, now + 60_000)).toBeGreaterThan(0);
    });

    it('keeps keys apart', async () => {
      const b = make();
      const rule = { tokens: 1, perMs: 1000 };
      expect(await b.take('a', rule, 5)).toBe(0);
      expect(await b.take('b', rule, 5)).toBe(0);
      expect(await b.take('a', rule, 5)).toBeGreaterThan(0);
    });

    it('RateLimiter waits for a token when allowed to, else refuses with RateLimitedError', async () => {
      const clock = new ManualClock(2_000_000);
      const slept: number[] = [];
      const limiter = new RateLimiter({
        rules: parseRateLimits('wxa/submit_audit=1/s,*=100/s'),
        backend: make(),
        clock,
        maxWaitMs: 1500,
        sleep: async (ms) => {
          slept.push(ms);
          clock.advance(ms);
        },
      });
      const subject = `wx${randomBytes(8).toString('hex')}`;
      await limiter.acquire('wxa/submit_audit', subject);
      await limiter.acquire('wxa/submit_audit', subject);
      expect(slept).toEqual([1000]);
      // Another account has its own bucket.
      await limiter.acquire('wxa/submit_audit', `${subject}x`);
      expect(slept).toEqual([1000]);
      const stuck = new RateLimiter({ rules: parseRateLimits('wxa/submit_audit=1/m'), backend: make(), clock, maxWaitMs: 1000, sleep: async () => {} });
      await stuck.acquire('wxa/submit_audit', `${subject}y`);
      await expect(stuck.acquire('wxa/submit_audit', `${subject}y`)).rejects.toBeInstanceOf(RateLimitedError);
      await expect(stuck.acquire('wxa/submit_audit', `${subject}y`)).rejects.toMatchObject({ code: 'WXO_ERR_RATE_LIMITED', statusCode: 429 });
      // An API without a rule and without `*` is not limited.
      for (let i = 0; i < 5; i++) await stuck.acquire('wxa/get_page', subject);
    });

    if (second) {
      it('is shared between instances: two limiters drain one bucket', async () => {
        const a = make();
        const b = make(second);
        const rule = { tokens: 2, perMs: 60_000 };
        const key = `shared-${randomBytes(4).toString('hex')}`;
        expect(await a.take(key, rule, 10)).toBe(0);
        expect(await b.take(key, rule, 10)).toBe(0);
        expect(await a.take(key, rule, 10)).toBeGreaterThan(0);
        expect(await b.take(key, rule, 10)).toBeGreaterThan(0);
      });
    }
  });
}

rateLimitContract('memory', () => new MemoryRateLimitBackend());

if (REDIS_URL) {
  const url = REDIS_URL;
  const prefix = `wxopen:test:${randomBytes(6).toString('hex')}:rate:`;
  const clients: Redis[] = [];
  const redisBackend = () => {
    const r = new Redis(url);
    clients.push(r);
    return new RedisRateLimitBackend(r, prefix);
  };
  rateLimitContract('Redis', redisBackend, redisBackend);
  afterAll(async () => {
    const r = clients[0];
    if (r) {
      const keys = await r.keys(`${prefix}*`);
      if (keys.length) await r.del(...keys);
    }
    for (const c of clients) c.disconnect();
  });
} else {
  noteSkipped('rate limiter contract: Redis', 'WXOPEN_TEST_REDIS_URL');
}
