import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WeChatHttp } from '../../../src/api/http.js';
import { RedisRateLimitBackend } from '../../../src/api/rate-limit.js';
import { UpstreamError } from '../../../src/errors.js';
import { createLogger } from '../../../src/util/logger.js';
import { REDIS_URL } from '../../helpers/services.js';

/**
 * The transport's operator-facing side: the default busy backoff (1 s, doubling) on a fake timer, and
 * the warning lines that say a call was retried or moved to the backup host, with the fields to act on.
 */

function logLines() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', destination }) };
}

const pick = (l: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, l[k]]));

afterEach(() => {
  vi.useRealTimers();
});

describe('WeChatHttp: backoff and warnings (mutation)', () => {
  it('waits 1 s, then 2 s between -1 retries by default, and logs each retry', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    let calls = 0;
    const fetchFn = (async () => {
      calls++;
      return Response.json(calls < 3 ? { errcode: -1, errmsg: 'busy' } : { errcode: 0, done: true });
    }) as typeof fetch;
    const { lines, logger } = logLines();
    const done = new WeChatHttp({ bases: ['http://127.0.0.1:9'], fetch: fetchFn, logger }).request({ method: 'GET', path: '/busy' });
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(1999);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(await done).toMatchObject({ done: true });
    expect(calls).toBe(3);
    expect(lines.map((l) => pick(l, ['level', 'msg', 'path', 'attempt', 'backoffMs']))).toEqual([
      { level: 40, msg: 'WeChat busy (-1), retrying', path: '/busy', attempt: 0, backoffMs: 1000 },
      { level: 40, msg: 'WeChat busy (-1), retrying', path: '/busy', attempt: 1, backoffMs: 2000 },
    ]);
  });

  it('logs a failover with the host that failed and the one tried next', async () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const fetchFn = (async (input: URL | string) => {
      const url = String(input);
      if (url.startsWith('http://a.invalid')) throw refused;
      if (url.startsWith('http://b.invalid')) return new Response('busy', { status: 503 });
      return Response.json({ errcode: 0, from: 'c' });
    }) as typeof fetch;
    const { lines, logger } = logLines();
    const http = new WeChatHttp({ bases: ['http://a.invalid', 'http://b.invalid', 'http://c.invalid'], fetch: fetchFn, logger });
    expect(await http.request({ method: 'GET', path: '/x' })).toMatchObject({ from: 'c' });
    expect(lines.map((l) => pick(l, ['level', 'msg', 'path', 'base', 'code', 'status', 'next']))).toEqual([
      { level: 40, msg: 'WeChat host unreachable, failing over', path: '/x', base: 'http://a.invalid', code: 'ECONNREFUSED', status: undefined, next: 'http://b.invalid' },
      { level: 40, msg: 'WeChat host failed, failing over', path: '/x', base: 'http://b.invalid', code: undefined, status: 503, next: 'http://c.invalid' },
    ]);
  });

  it('a network error without a code is named by its error name, or "network error"', async () => {
    const noName = Object.assign(Object.create(null) as object, {});
    for (const [thrown, expected] of [
      [new TypeError('boom'), '/x: TypeError on http://a.invalid'],
      [noName, '/x: network error on http://a.invalid'],
    ] as const) {
      const http = new WeChatHttp({ bases: ['http://a.invalid'], fetch: (async () => Promise.reject(thrown)) as typeof fetch });
      const err = await http.request({ method: 'POST', path: '/x', body: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UpstreamError);
      expect((err as Error).message).toBe(`[wxopen] ${expected}`);
      expect((err as Error).cause).toBe(thrown);
    }
  });

  it('an unreadable 5xx body still counts as a host failure', async () => {
    let n = 0;
    const fetchFn = (async () => {
      n++;
      if (n === 1) {
        const body = new ReadableStream({ start: (c) => c.error(new Error('cut')) });
        return new Response(body, { status: 502 });
      }
      return Response.json({ errcode: 0, from: 'backup' });
    }) as typeof fetch;
    const http = new WeChatHttp({ bases: ['http://a.invalid', 'http://b.invalid'], fetch: fetchFn });
    expect(await http.request({ method: 'GET', path: '/x' })).toMatchObject({ from: 'backup' });
  });

  it('a 200 whose body is not JSON names the path and status', async () => {
    const http = new WeChatHttp({ bases: ['http://a.invalid'], fetch: (async () => new Response('<html>', { status: 200, headers: { 'content-type': 'text/html' } })) as typeof fetch });
    await expect(http.request({ method: 'GET', path: '/p' })).rejects.toThrow('/p: HTTP 200 with a body that is not JSON');
  });
});

describe.runIf(REDIS_URL)('RedisRateLimitBackend.fromUrl (mutation)', () => {
  it('keys buckets under wxopen:rate: by default, expires them, and closes the connection it opened', async () => {
    const key = `mutb-${randomBytes(6).toString('hex')}`;
    const backend = RedisRateLimitBackend.fromUrl(REDIS_URL!);
    const probe = new Redis(REDIS_URL!);
    try {
      expect(backend.kind).toBe('redis');
      // Fails fast while Redis is down (2 retries per command, not ioredis' default 20).
      expect((backend as unknown as { redis: Redis }).redis.options.maxRetriesPerRequest).toBe(2);
      expect(await backend.take(key, { tokens: 1, perMs: 60_000 }, 1000)).toBe(0);
      expect(await backend.take(key, { tokens: 1, perMs: 60_000 }, 1000)).toBe(60_000);
      expect(await probe.exists(`wxopen:rate:${key}`)).toBe(1);
      const ttl = await probe.pttl(`wxopen:rate:${key}`);
      expect(ttl).toBeGreaterThan(60_000);
      expect(ttl).toBeLessThanOrEqual(61_000);
    } finally {
      await probe.del(`wxopen:rate:${key}`);
      probe.disconnect();
      await backend.close();
    }
    await expect(backend.take(key, { tokens: 1, perMs: 1000 }, 1)).rejects.toThrow();
    // A backend on a connection it was given leaves that connection open.
    const shared = new Redis(REDIS_URL!);
    const borrowed = new RedisRateLimitBackend(shared, `wxopen:test:${key}:`);
    await borrowed.close();
    expect(await shared.ping()).toBe('PONG');
    shared.disconnect();
  });
});
