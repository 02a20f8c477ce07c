import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { authorizerListAnswer, componentTokenAnswer, okAnswer, parseAnswer, queryAuthAnswer } from '../../../src/api/answers.js';
import { ApiCaller, ApiResponseError, OkAnswer, type ApiCallerDeps, type TokenProvider } from '../../../src/api/client.js';
import { WeChatHttp } from '../../../src/api/http.js';
import { MemoryRateLimitBackend, RateLimitedError, RateLimiter, parseRateLimits, type RateLimitBackend, type RateRule } from '../../../src/api/rate-limit.js';
import { UpstreamError, UpstreamInvalidError, WeChatApiError } from '../../../src/errors.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { createLogger } from '../../../src/util/logger.js';

/**
 * ApiCaller (client.ts): one token refresh on a token errcode and only then, upstream retries with
 * doubling backoff for idempotent calls only, the token in the right query parameter, the rate-limit
 * bucket of the right account, answers validated, and the metric/log outcome of every call. WeChat is a
 * scripted `fetch`; time is an injected sleep.
 */

type Reply = { status?: number; json?: unknown; throws?: Error };

function scripted(replies: Reply[]) {
  const seen: { path: string; query: Record<string, string> }[] = [];
  const fetchFn = (async (input: URL | string) => {
    const url = new URL(String(input));
    seen.push({ path: url.pathname, query: Object.fromEntries(url.searchParams) });
    const r = replies.length > 1 ? replies.shift()! : replies[0]!;
    if (r.throws) throw r.throws;
    return Response.json(r.json ?? { errcode: 0 }, { status: r.status ?? 200 });
  }) as typeof fetch;
  return { seen, http: new WeChatHttp({ bases: ['http://127.0.0.1:9'], fetch: fetchFn, busyRetries: 0, busyBackoffMs: 0 }) };
}

function tokens(values: string[], param: TokenProvider['param'] = 'access_token') {
  const invalidated: string[] = [];
  let i = 0;
  const provider: TokenProvider = {
    subject: 'wxA',
    param,
    current: async () => {
      const value = values[Math.min(i, values.length - 1)]!;
      return {
        value,
        invalidate: async () => {
          invalidated.push(value);
          i++;
        },
      };
    },
  };
  return { provider, invalidated };
}

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

function caller(http: WeChatHttp, provider: TokenProvider, extra: Partial<ApiCallerDeps> = {}) {
  const slept: number[] = [];
  const metrics = createMetrics();
  const log = logLines();
  const deps: ApiCallerDeps = {
    http,
    metrics,
    logger: log.logger,
    clock: { now: () => 0 },
    sleep: async (ms) => {
      slept.push(ms);
    },
    ...extra,
  };
  return { c: new ApiCaller(deps, provider), slept, metrics, lines: log.lines };
}

async function outcomes(metrics: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.apiCalls.get()).values) out[`${v.labels.api} ${v.labels.outcome}`] = v.value;
  return out;
}

describe('ApiCaller: token errors', () => {
  for (const errcode of [40001, 40014, 42001]) {
    it(`${errcode}: invalidates the token and retries once with the next one`, async () => {
      const w = scripted([{ json: { errcode, errmsg: 'invalid credential' } }, { json: { errcode: 0, v: 1 } }]);
      const t = tokens(['T1', 'T2']);
      const { c } = caller(w.http, t.provider);
      expect(await c.call({ method: 'GET', path: '/wxa/get_page' }, OkAnswer)).toMatchObject({ v: 1 });
      expect(t.invalidated).toEqual(['T1']);
      expect(w.seen.map((s) => s.query.access_token)).toEqual(['T1', 'T2']);
    });
  }

  it('refreshes once only: a second token error is the caller’s', async () => {
    const w = scripted([{ json: { errcode: 40001 } }]);
    const t = tokens(['T1', 'T2', 'T3']);
    const { c } = caller(w.http, t.provider);
    await expect(c.call({ method: 'GET', path: '/x' }, OkAnswer)).rejects.toMatchObject({ errcode: 40001 });
    expect(t.invalidated).toEqual(['T1']);
    expect(w.seen).toHaveLength(2);
  });

  it('never refreshes on permission, quota or other errcodes', async () => {
    for (const errcode of [61007, 48001, 45009, 40013]) {
      const w = scripted([{ json: { errcode } }]);
      const t = tokens(['T1', 'T2']);
      const { c } = caller(w.http, t.provider);
      await expect(c.call({ method: 'POST', path: '/x', body: {} }, OkAnswer)).rejects.toMatchObject({ errcode });
      expect(t.invalidated).toEqual([]);
      expect(w.seen).toHaveLength(1);
    }
  });

  it('noTokenRefresh: a token that is not ours (OAuth) is reported as it is', async () => {
    const w = scripted([{ json: { errcode: 40001 } }, { json: { errcode: 0 } }]);
    const t = tokens(['T1', 'T2']);
    const { c } = caller(w.http, t.provider);
    await expect(c.call({ method: 'GET', path: '/sns/userinfo', noTokenRefresh: true }, OkAnswer)).rejects.toBeInstanceOf(WeChatApiError);
    expect(t.invalidated).toEqual([]);
    expect(w.seen).toHaveLength(1);
  });
});

describe('ApiCaller: upstream failures', () => {
  it('retries an idempotent call twice by default, doubling the backoff, then reports the failure', async () => {
    const w = scripted([{ status: 502 }]);
    const { c, slept } = caller(w.http, tokens(['T']).provider, { backoffMs: 100 });
    const err = await c.call({ method: 'GET', path: '/wxa/get_page' }, OkAnswer).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(w.seen).toHaveLength(3);
    expect(slept).toEqual([100, 200]);
  });

  it('succeeds when a retry does; upstreamRetries and the default backoff of 1 s are honoured', async () => {
    const w = scripted([{ status: 500 }, { status: 500 }, { status: 500 }, { json: { errcode: 0, done: true } }]);
    const { c, slept } = caller(w.http, tokens(['T']).provider, { upstreamRetries: 3 });
    expect(await c.call({ method: 'POST', path: '/wxa/getvisitstatus', body: {}, idempotent: true }, OkAnswer)).toMatchObject({ done: true });
    expect(slept).toEqual([1000, 2000, 4000]);
  });

  it('never repeats a call that is not idempotent (a POST by default, or a GET marked so)', async () => {
    for (const req of [{ method: 'POST' as const, path: '/wxa/release', body: {} }, { method: 'GET' as const, path: '/wxa/undocodeaudit', idempotent: false }]) {
      const w = scripted([{ status: 503 }, { json: { errcode: 0 } }]);
      const { c, slept } = caller(w.http, tokens(['T']).provider);
      await expect(c.call(req, OkAnswer)).rejects.toBeInstanceOf(UpstreamError);
      expect(w.seen).toHaveLength(1);
      expect(slept).toEqual([]);
    }
  });

  it('does not retry an errcode as if it were an upstream failure', async () => {
    const w = scripted([{ json: { errcode: 85009 } }, { json: { errcode: 0 } }]);
    const { c, slept } = caller(w.http, tokens(['T']).provider);
    await expect(c.call({ method: 'GET', path: '/x' }, OkAnswer)).rejects.toMatchObject({ errcode: 85009 });
    expect(w.seen).toHaveLength(1);
    expect(slept).toEqual([]);
  });

  it('waits with a real timer when no sleep is injected', async () => {
    const w = scripted([{ status: 500 }, { json: { errcode: 0, ok: 1 } }]);
    const metrics = createMetrics();
    const c = new ApiCaller({ http: w.http, metrics, logger: createLogger({ level: 'silent' }), clock: { now: () => 0 }, backoffMs: 1 }, tokens(['T']).provider);
    expect(await c.call({ method: 'GET', path: '/x' }, OkAnswer)).toMatchObject({ ok: 1 });
    expect(w.seen).toHaveLength(2);
  });
});

describe('ApiCaller: request, answer and accounting', () => {
  it('puts the token in the provider’s parameter, or the one the call names', async () => {
    const w = scripted([{ json: { errcode: 0 } }]);
    const { c } = caller(w.http, tokens(['CAT'], 'component_access_token').provider);
    await c.call({ method: 'GET', path: '/a', query: { x: 1 } }, OkAnswer);
    await c.call({ method: 'GET', path: '/b', tokenParam: 'access_token' }, OkAnswer);
    expect(w.seen.map((s) => s.query)).toEqual([{ x: '1', component_access_token: 'CAT' }, { access_token: 'CAT' }]);
    expect(c.subject).toBe('wxA');
  });

  it('an answer that does not match the schema is ApiResponseError naming the path and each bad field', async () => {
    const w = scripted([{ json: { errcode: 0, page_list: 'nope', n: 'x' } }]);
    const { c } = caller(w.http, tokens(['T']).provider);
    const schema = z.object({ page_list: z.array(z.string()), n: z.number() });
    const err = (await c.call({ method: 'GET', path: '/wxa/get_page' }, schema).catch((e: unknown) => e)) as ApiResponseError;
    expect(err).toBeInstanceOf(ApiResponseError);
    expect(err).toMatchObject({ code: 'WXO_ERR_API_RESPONSE', statusCode: 502, path: '/wxa/get_page' });
    expect(err.issues).toMatch(/^page_list: .+; n: .+$/);
    expect(err.message).toBe(`[wxopen] /wxa/get_page answered an unexpected shape: ${err.issues}`);
    const root = (await c.call({ method: 'GET', path: '/r' }, z.string()).catch((e: unknown) => e)) as ApiResponseError;
    expect(root.issues).toMatch(/^\(root\): /);
  });

  it('binary: image bytes pass, JSON without an errcode is ApiResponseError', async () => {
    const w = scripted([{ json: { errcode: 0, not: 'an image' } }]);
    const { c } = caller(w.http, tokens(['T']).provider);
    const err = await c.binary({ method: 'GET', path: '/wxa/get_qrcode' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiResponseError);
    expect((err as Error).message).toContain('expected an image, got JSON without errcode');
  });

  it('counts each call by API (no leading slash) and outcome, times it, and logs it without the token', async () => {
    const w = scripted([{ json: { errcode: 0 } }]);
    const { c, metrics, lines } = caller(w.http, tokens(['SECRET-TOKEN']).provider);
    await c.call({ method: 'GET', path: '/wxa/get_page' }, OkAnswer);
    await c.call({ method: 'GET', path: '/wxa/get_page', subject: 'wxB' }, OkAnswer);
    const w2 = scripted([{ json: { errcode: 61007, errmsg: 'unauthorized' } }]);
    const second = caller(w2.http, tokens(['T']).provider);
    await second.c.call({ method: 'GET', path: '/wxa/commit' }, OkAnswer).catch(() => undefined);
    const w3 = scripted([{ status: 500 }]);
    const third = caller(w3.http, tokens(['T']).provider, { upstreamRetries: 0 });
    await third.c.call({ method: 'GET', path: '/x' }, OkAnswer).catch(() => undefined);
    const broken: TokenProvider = { subject: 'wxA', param: 'access_token', current: async () => Promise.reject(new TypeError('no token')) };
    const fourth = caller(w.http, broken);
    await fourth.c.call({ method: 'GET', path: '/y' }, OkAnswer).catch(() => undefined);

    expect(await outcomes(metrics)).toEqual({ 'wxa/get_page ok': 2 });
    expect(await outcomes(second.metrics)).toEqual({ 'wxa/commit 61007': 1 });
    expect(await outcomes(third.metrics)).toEqual({ 'x upstream_error': 1 });
    expect(await outcomes(fourth.metrics)).toEqual({ 'y error': 1 });
    const hist = (await metrics.apiCallDuration.get()).values.find((v) => v.metricName === 'wxopen_api_call_duration_seconds_count');
    expect(hist).toMatchObject({ labels: { api: 'wxa/get_page' }, value: 2 });
    const debug = lines.filter((l) => l.msg === 'WeChat API call');
    expect(debug.map((l) => [l.api, l.appid, l.outcome, typeof l.ms])).toEqual([
      ['wxa/get_page', 'wxA', 'ok', 'number'],
      ['wxa/get_page', 'wxB', 'ok', 'number'],
    ]);
    expect(JSON.stringify(lines)).not.toContain('SECRET-TOKEN');
    const retry = third.lines.filter((l) => l.msg === 'WeChat upstream failed, retrying');
    expect(retry).toEqual([]);
  });

  it('takes a rate-limit token per API and account (the call’s subject when it names one); a refusal is counted as rate_limited', async () => {
    const takes: string[] = [];
    const backend: RateLimitBackend = {
      kind: 'recording',
      take: async (key: string) => {
        takes.push(key);
        return key.endsWith('|wxFull') ? 60_000 : 0;
      },
      close: async () => {},
    };
    const limiter = new RateLimiter({ rules: parseRateLimits('*=10/s'), backend, clock: { now: () => 0 }, maxWaitMs: 1000, sleep: async () => {} });
    const w = scripted([{ json: { errcode: 0 } }]);
    const { c, metrics } = caller(w.http, tokens(['T']).provider, { limiter });
    await c.call({ method: 'GET', path: '/wxa/get_page' }, OkAnswer);
    await c.call({ method: 'POST', path: '/cgi-bin/component/api_get_authorizer_info', subject: 'wxB', body: {} }, OkAnswer);
    const err = await c.call({ method: 'GET', path: '/wxa/get_page', subject: 'wxFull' }, OkAnswer).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(takes).toEqual(['wxa/get_page|wxA', 'cgi-bin/component/api_get_authorizer_info|wxB', 'wxa/get_page|wxFull']);
    expect(w.seen).toHaveLength(2);
    expect(await outcomes(metrics)).toEqual({ 'wxa/get_page ok': 1, 'cgi-bin/component/api_get_authorizer_info ok': 1, 'wxa/get_page rate_limited': 1 });
  });
});

describe('rate limits', () => {
  it('parses api=N/unit items (case-insensitive unit, a leading slash dropped, spaces and empty items ignored)', () => {
    const rules = parseRateLimits(' /wxa/submit_audit=2/S , *=50/s,,cgi-bin/x=1.5/m,a=3/h,b=4/d ');
    expect([...rules]).toEqual([
      ['wxa/submit_audit', { tokens: 2, perMs: 1000 }],
      ['*', { tokens: 50, perMs: 1000 }],
      ['cgi-bin/x', { tokens: 1.5, perMs: 60_000 }],
      ['a', { tokens: 3, perMs: 3_600_000 }],
      ['b', { tokens: 4, perMs: 86_400_000 }],
    ]);
    expect(parseRateLimits('')).toEqual(new Map());
  });

  it('refuses a bad item with a one-line TypeError naming it', () => {
    for (const bad of ['wxa/x=0/s', 'wxa/x=1/w', 'wxa/x=1', '=1/s', 'wxa/x=-1/s', 'wxa x=1/s', 'x=1/s trailing', 'lead x=1/s', 'wxa/x=1/ss', 'a=1.2.3/s']) {
      expect(() => parseRateLimits(bad), bad).toThrow(TypeError);
      expect(() => parseRateLimits(`ok=1/s,${bad}`), bad).toThrow(`"${bad}" is not api=N/unit`);
    }
  });

  it('a rule for the API wins over `*`; without either the API is not limited', () => {
    const limiter = new RateLimiter({ rules: parseRateLimits('wxa/commit=1/m,*=5/s'), backend: new MemoryRateLimitBackend(), clock: { now: () => 0 } });
    expect(limiter.ruleFor('wxa/commit')).toEqual({ tokens: 1, perMs: 60_000 });
    expect(limiter.ruleFor('other')).toEqual({ tokens: 5, perMs: 1000 });
    expect(limiter.backendKind).toBe('memory');
    const none = new RateLimiter({ rules: parseRateLimits('wxa/commit=1/m'), backend: new MemoryRateLimitBackend(), clock: { now: () => 0 } });
    expect(none.ruleFor('other')).toBeUndefined();
  });

  it('waits as long as the bucket says, up to maxWaitMs in total (10 s by default), then refuses with the wait', async () => {
    const waits = [400, 400, 0];
    const slept: number[] = [];
    const backend: RateLimitBackend = { kind: 'k', take: async () => waits.shift() ?? 0, close: async () => {} };
    const limiter = new RateLimiter({ rules: parseRateLimits('*=1/s'), backend, clock: { now: () => 0 }, maxWaitMs: 800, sleep: async (ms) => void slept.push(ms) });
    await limiter.acquire('a', 's');
    expect(slept).toEqual([400, 400]);
    // 400 + 400 + 1 > 800: refused, naming the wait it would have needed.
    const over = [400, 400, 1];
    const refusing = new RateLimiter({ rules: parseRateLimits('*=1/s'), backend: { kind: 'k', take: async () => over.shift() ?? 0, close: async () => {} }, clock: { now: () => 0 }, maxWaitMs: 800, sleep: async () => {} });
    await expect(refusing.acquire('a', 's')).rejects.toMatchObject({ api: 'a', waitMs: 1, message: '[wxopen] local rate limit for a reached (WXOPEN_API_RATE_LIMITS); next call possible in 1 ms' });
    const dflt = [9_999, 1];
    const byDefault = new RateLimiter({ rules: parseRateLimits('*=1/s'), backend: { kind: 'k', take: async () => dflt.shift() ?? 0, close: async () => {} }, clock: { now: () => 0 }, sleep: async () => {} });
    await byDefault.acquire('a', 's');
    const long = [10_001];
    const tooLong = new RateLimiter({ rules: parseRateLimits('*=1/s'), backend: { kind: 'k', take: async () => long.shift() ?? 0, close: async () => {} }, clock: { now: () => 0 }, sleep: async () => {} });
    await expect(tooLong.acquire('a', 's')).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('the memory bucket refills in proportion to the time passed, never above its burst, and reports the exact wait', async () => {
    const b = new MemoryRateLimitBackend();
    const rule: RateRule = { tokens: 2, perMs: 1000 };
    expect([await b.take('k', rule, 0), await b.take('k', rule, 0)]).toEqual([0, 0]);
    expect(await b.take('k', rule, 0)).toBe(500);
    expect(await b.take('k', rule, 250)).toBe(250);
    expect(await b.take('k', rule, 500)).toBe(0);
    // A clock that goes back does not refill.
    expect(await b.take('k', rule, 400)).toBe(500);
    expect(await b.take('k', rule, 10_000)).toBe(0);
    expect(await b.take('k', rule, 10_000)).toBe(0);
    expect(await b.take('k', rule, 10_000)).toBe(500);
    await b.close();
    const limiter = new RateLimiter({ rules: new Map(), backend: b, clock: { now: () => 0 } });
    await limiter.close();
  });

  it('waits with a real timer when no sleep is injected', async () => {
    const waits = [1, 0];
    const limiter = new RateLimiter({ rules: parseRateLimits('*=1/s'), backend: { kind: 'k', take: async () => waits.shift() ?? 0, close: async () => {} }, clock: { now: () => 0 } });
    await limiter.acquire('a', 's');
    expect(waits).toEqual([]);
  });
});

describe('answer schemas', () => {
  it('parseAnswer returns the parsed answer or names the path and the first bad field', () => {
    expect(parseAnswer(componentTokenAnswer, { component_access_token: 'c', expires_in: 7200, extra: 1 }, '/p')).toEqual({ component_access_token: 'c', expires_in: 7200, extra: 1 });
    const err = (() => {
      try {
        parseAnswer(queryAuthAnswer, { authorization_info: { authorizer_appid: 'wxA', authorizer_refresh_token: '' } }, '/cgi-bin/component/api_query_auth');
      } catch (e) {
        return e;
      }
    })() as UpstreamInvalidError;
    expect(err).toBeInstanceOf(UpstreamInvalidError);
    expect(err.message).toContain('/cgi-bin/component/api_query_auth');
    expect(err.message).toContain('authorization_info.authorizer_refresh_token');
    expect(() => parseAnswer(okAnswer, { errcode: 1 }, '/x')).toThrow(UpstreamInvalidError);
    expect(parseAnswer(okAnswer, { errcode: '0' }, '/x')).toEqual({ errcode: '0' });
    expect(parseAnswer(authorizerListAnswer, { total_count: 0 }, '/l')).toEqual({ total_count: 0, list: [] });
  });
});
