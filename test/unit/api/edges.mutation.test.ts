import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { parseAnswer } from '../../../src/api/answers.js';
import { ApiCaller, OkAnswer, type TokenProvider } from '../../../src/api/client.js';
import { WeChatHttp } from '../../../src/api/http.js';
import { RateLimiter, parseRateLimits, type RateLimitBackend } from '../../../src/api/rate-limit.js';
import { UpstreamError, UpstreamInvalidError } from '../../../src/errors.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { createLogger } from '../../../src/util/logger.js';

/** Edges of the API layer that the other tests left open (see docs/mutation-survivors.md, `src/api`). */

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

const answering = (make: () => Response) => (async () => make()) as typeof fetch;
const token: TokenProvider = { subject: 'wxA', param: 'access_token', current: async () => ({ value: 'T', invalidate: async () => {} }) };

afterEach(() => {
  vi.useRealTimers();
});

describe('WeChatHttp edges', () => {
  it('says why it cannot be built without a base URL', () => {
    expect(() => new WeChatHttp({ bases: [] })).toThrow('[wxopen] at least one API base URL is required');
  });

  it('an answer that is JSON but not an object is UpstreamInvalidError', async () => {
    for (const body of ['null', '5', '"text"', '[1,2]']) {
      const http = new WeChatHttp({ bases: ['http://a.invalid'], fetch: answering(() => new Response(body, { headers: { 'content-type': 'application/json' } })) });
      const err = await http.request({ method: 'GET', path: '/p' }).catch((e: unknown) => e);
      expect(err, body).toBeInstanceOf(UpstreamInvalidError);
      expect((err as Error).message, body).toBe('[wxopen] /p answered an invalid body: (root): not a JSON object');
    }
  });

  it('image bytes are returned as they are, even when the request names an answer schema', async () => {
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    const http = new WeChatHttp({ bases: ['http://a.invalid'], fetch: answering(() => new Response(bytes)) });
    const r = await http.request({ method: 'GET', path: '/wxa/get_qrcode', binary: true, answer: z.object({ page_list: z.array(z.string()) }) });
    // No content type at all: still an image (and reported as '').
    expect(r).toEqual({ contentType: '', data: Buffer.from(bytes) });
  });

  it('warns once per host it leaves, not for the last one', async () => {
    const { lines, logger } = logLines();
    const http = new WeChatHttp({ bases: ['http://a.invalid', 'http://b.invalid'], fetch: answering(() => new Response('', { status: 503 })), logger });
    await expect(http.request({ method: 'GET', path: '/x' })).rejects.toThrow('/x: HTTP 503 from http://b.invalid');
    expect(lines.map((l) => [l.msg, l.base, l.next])).toEqual([['WeChat host failed, failing over', 'http://a.invalid', 'http://b.invalid']]);
  });

  it('parseAnswer names the nested field and zod’s complaint', () => {
    const err = (() => {
      try {
        parseAnswer(z.object({ a: z.object({ b: z.number() }) }), { a: { b: 'x' } }, '/n');
      } catch (e) {
        return e;
      }
    })() as UpstreamInvalidError;
    expect(err.message).toMatch(/^\[wxopen\] \/n answered an invalid body: a\.b: Invalid input: expected number, received string$/);
  });
});

describe('ApiCaller edges', () => {
  it('names a nested bad field with dots', async () => {
    const http = new WeChatHttp({ bases: ['http://a.invalid'], fetch: answering(() => Response.json({ errcode: 0, a: { b: 'x' } })) });
    const c = new ApiCaller({ http, metrics: createMetrics(), logger: createLogger({ level: 'silent' }), clock: { now: () => 0 } }, token);
    const err = await c.call({ method: 'GET', path: '/n' }, z.object({ a: z.object({ b: z.number() }) })).catch((e: unknown) => e);
    expect((err as { issues: string }).issues).toMatch(/^a\.b: /);
  });

  it('times each call within the time it took, and logs its milliseconds', async () => {
    const http = new WeChatHttp({ bases: ['http://a.invalid'], fetch: (async () => new Promise<Response>((r) => setTimeout(() => r(Response.json({ errcode: 0 })), 20))) as typeof fetch });
    const metrics = createMetrics();
    const { lines, logger } = logLines();
    const c = new ApiCaller({ http, metrics, logger, clock: { now: () => 0 } }, token);
    const t0 = performance.now();
    await c.call({ method: 'GET', path: '/t' }, OkAnswer);
    const elapsedMs = performance.now() - t0;
    const sum = (await metrics.apiCallDuration.get()).values.find((v) => v.metricName === 'wxopen_api_call_duration_seconds_sum')!.value;
    expect(sum).toBeGreaterThan(0.01);
    expect(sum).toBeLessThanOrEqual(elapsedMs / 1000);
    const ms = lines.find((l) => l.msg === 'WeChat API call')!.ms as number;
    expect(ms).toBeGreaterThanOrEqual(10);
    expect(ms).toBeLessThanOrEqual(Math.ceil(elapsedMs));
  });

  it('waits 1 s by default before repeating an idempotent call after an upstream failure, and warns with the attempt', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    let calls = 0;
    const http = new WeChatHttp({ bases: ['http://a.invalid'], fetch: answering(() => (++calls === 1 ? new Response('', { status: 502 }) : Response.json({ errcode: 0, ok: 1 }))) });
    const { lines, logger } = logLines();
    const c = new ApiCaller({ http, metrics: createMetrics(), logger, clock: { now: () => 0 } }, token);
    const done = c.call({ method: 'GET', path: '/wxa/get_page' }, OkAnswer);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await done).toMatchObject({ ok: 1 });
    expect(calls).toBe(2);
    expect(lines.filter((l) => l.level === 40).map((l) => [l.msg, l.api, l.attempt, l.backoffMs])).toEqual([['WeChat upstream failed, retrying', '/wxa/get_page', 1, 1000]]);
  });
});

describe('RateLimiter edges', () => {
  it('parses a rate with two decimals', () => {
    expect(parseRateLimits('a=1.25/s').get('a')).toEqual({ tokens: 1.25, perMs: 1000 });
  });

  it('sleeps on a real timer by default for as long as the bucket says', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const waits = [300, 0];
    const backend: RateLimitBackend = { kind: 'k', take: async () => waits.shift() ?? 0, close: async () => {} };
    const limiter = new RateLimiter({ rules: parseRateLimits('*=1/s'), backend, clock: { now: () => 0 } });
    let granted = false;
    const p = limiter.acquire('a', 's').then(() => (granted = true));
    await vi.advanceTimersByTimeAsync(299);
    expect(granted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(granted).toBe(true);
  });

  it('close() closes its backend', async () => {
    let closed = 0;
    const limiter = new RateLimiter({ rules: new Map(), backend: { kind: 'k', take: async () => 0, close: async () => void closed++ }, clock: { now: () => 0 } });
    await limiter.close();
    expect(closed).toBe(1);
  });
});

describe('UpstreamError cause', () => {
  it('keeps the network error as its cause', async () => {
    const cause = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
    const http = new WeChatHttp({ bases: ['http://a.invalid'], fetch: (async () => Promise.reject(cause)) as typeof fetch });
    const err = (await http.request({ method: 'POST', path: '/p', body: {} }).catch((e: unknown) => e)) as UpstreamError;
    expect(err.cause).toBe(cause);
    expect(err.message).toBe('[wxopen] /p: ECONNRESET on http://a.invalid');
  });
});
