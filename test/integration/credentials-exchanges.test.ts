/**
 * The durable authorization-code queue (src/credentials/exchanges.ts) on a real store, with the exchange
 * itself scripted: which failures are retried and when (doubling from firstRetryMs, capped, never past the
 * code's 10-minute life), which are final (event, metric, error log, row state), and that a code is
 * exchanged once however often it arrives. Time is a manual clock; retry timers are longer than any test.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { CredentialContext } from '../../src/credentials/context.js';
import { PlatformEvents } from '../../src/credentials/events.js';
import { CODE_LIFE_MS, ExchangeQueue, type Exchange } from '../../src/credentials/exchanges.js';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { SEALED_CODE_PREFIX, sealCode } from '../../src/push/authorization-code.js';
import { UpstreamError, WeChatApiError } from '../../src/errors.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { Platform } from '../../src/platform.js';
import { createStore } from '../../src/store/create-store.js';
import type { AuthorizerRecord, Store } from '../../src/store/types.js';
import { captureLogger } from '../helpers/logs.js';
import { ManualClock } from '../helpers/platform.js';

const T0 = Date.UTC(2026, 0, 15, 2, 0, 0);
let store: Store;
let platform: Platform;
const queues: ExchangeQueue[] = [];

beforeAll(async () => {
  store = await createStore('sqlite::memory:');
  platform = new Platform({ config: loadConfig({ LOG_LEVEL: 'silent', WXOPEN_DATABASE_URL: 'sqlite::memory:' }), store, clock: new ManualClock(T0) });
});
afterEach(async () => {
  for (const q of queues.splice(0)) await q.stop();
});
afterAll(async () => {
  await platform.close?.();
  await store.close();
});

let n = 0;
function setup(exchange: Exchange, o: { firstRetryMs?: number; maxRetryMs?: number; store?: Store; maxConcurrent?: number; maxWaiting?: number } = {}) {
  const clock = new ManualClock(T0 + n++ * 3_600_000);
  const metrics = createMetrics();
  const events = new PlatformEvents();
  const { logger, lines } = captureLogger();
  const failed: unknown[] = [];
  events.on('authorizer.exchange_failed', (e) => failed.push(e));
  const ctx: CredentialContext = { ...platform.ctx, store: o.store ?? store, clock, metrics, events, logger };
  const q = new ExchangeQueue(ctx, exchange, { sweepMs: 3_600_000, firstRetryMs: o.firstRetryMs ?? 100_000, maxRetryMs: o.maxRetryMs ?? 250_000, orderingTime: (c) => c, maxConcurrent: o.maxConcurrent, maxWaiting: o.maxWaiting });
  queues.push(q);
  const outcomes = async () => Object.fromEntries((await metrics.codeExchanges.get()).values.map((v) => [v.labels.outcome, v.value]));
  const row = (code: string) => ctx.store.getExchange(ctx.componentAppid, q.key(code, 1));
  return { q, clock, lines, failed, outcomes, row, submit: (code: string, appid: string | null = 'wxAuth') => q.submit(code, { authorizerAppid: appid, createTime: 1, eventTime: 1, receivedAt: clock.now() }) };
}

const record = { authorizerAppid: 'wxAuth' } as AuthorizerRecord;

describe('ExchangeQueue', () => {
  it('a success marks the row done and returns the authorization; a stale one counts as stale', async () => {
    const s = setup(async (code) => (code === 'fresh' ? record : undefined));
    expect(await s.submit('fresh')).toBe(record);
    expect(await s.row('fresh')).toMatchObject({ state: 'done', attempts: 1, lastError: null });
    expect(await s.submit('stale')).toBeUndefined();
    expect(await s.outcomes()).toEqual({ done: 1, stale: 1 });
  });

  it('a transient failure is retried after firstRetryMs, doubling, capped at maxRetryMs, and says why', async () => {
    let calls = 0;
    const s = setup(async () => {
      calls++;
      throw new UpstreamError('/cgi-bin/component/api_query_auth: HTTP 502 from x');
    });
    const t = s.clock.now();
    expect(await s.submit('c1')).toBeUndefined();
    expect(await s.row('c1')).toMatchObject({ state: 'pending', attempts: 1, nextAttemptAt: t + 100_000, lastError: 'WXO_ERR_UPSTREAM: [wxopen] /cgi-bin/component/api_query_auth: HTTP 502 from x' });
    s.clock.advance(100_000);
    await s.q.sweep();
    expect(await s.row('c1')).toMatchObject({ state: 'pending', attempts: 2, nextAttemptAt: t + 100_000 + 200_000 });
    s.clock.advance(200_000);
    await s.q.sweep();
    // 400 s would pass the cap: 250 s, which ends at 550 s, inside the 600 s life.
    expect(await s.row('c1')).toMatchObject({ state: 'pending', attempts: 3, nextAttemptAt: t + 300_000 + 250_000 });
    expect(calls).toBe(3);
    expect(await s.outcomes()).toEqual({ retry: 3 });
    const warn = s.lines.filter((l) => l.msg === 'authorization code exchange failed; will retry');
    expect(warn.map((l) => [l.level, l.authorizerAppid, l.attempt, l.retryInMs])).toEqual([
      [40, 'wxAuth', 1, 100_000],
      [40, 'wxAuth', 2, 200_000],
      [40, 'wxAuth', 3, 250_000],
    ]);
    // Next: no retry fits in the code's life any more.
    s.clock.advance(250_000);
    await s.q.sweep();
    expect(await s.row('c1')).toMatchObject({ state: 'failed', attempts: 4, lastError: expect.stringMatching(/HTTP 502 from x; no retry fits in the code's life$/) });
    expect(s.failed).toEqual([{ authorizerAppid: 'wxAuth', attempts: 4, error: expect.stringContaining('no retry fits') }]);
  });

  it('a final errcode fails at once, loudly: row, metric, event and an error log naming the errcode', async () => {
    const s = setup(async () => {
      throw new WeChatApiError(40029, 'invalid code', '/cgi-bin/component/api_query_auth');
    });
    expect(await s.submit('bad', null)).toBeUndefined();
    expect(await s.row('bad')).toMatchObject({ state: 'failed', attempts: 1, lastError: 'errcode 40029' });
    expect(await s.outcomes()).toEqual({ failed: 1 });
    expect(s.failed).toEqual([{ authorizerAppid: null, attempts: 1, error: 'errcode 40029' }]);
    const err = s.lines.filter((l) => l.level === 50);
    expect(err.map((l) => [l.msg, l.errcode, l.attempts, l.error])).toEqual([['authorization lost: the code could not be exchanged', 40029, 1, 'errcode 40029']]);
  });

  it('"code used" (61009/61010) is retried twice, in case another instance is committing it, then final', async () => {
    let calls = 0;
    const s = setup(async () => {
      calls++;
      throw new WeChatApiError(61010, 'code is expired', '/cgi-bin/component/api_query_auth');
    }, { firstRetryMs: 10_000 });
    await s.submit('used');
    expect(await s.row('used')).toMatchObject({ state: 'pending', attempts: 1 });
    s.clock.advance(10_000);
    await s.q.sweep();
    expect(await s.row('used')).toMatchObject({ state: 'pending', attempts: 2 });
    s.clock.advance(20_000);
    await s.q.sweep();
    expect(await s.row('used')).toMatchObject({ state: 'failed', attempts: 3, lastError: 'errcode 61010' });
    expect(calls).toBe(3);
  });

  it('a code past its life is not sent to WeChat', async () => {
    let calls = 0;
    const s = setup(async () => {
      calls++;
      return record;
    });
    await s.q.submit('old', { authorizerAppid: 'wxAuth', createTime: 1, eventTime: 1, receivedAt: s.clock.now() - CODE_LIFE_MS });
    expect(calls).toBe(0);
    expect(await s.row('old')).toMatchObject({ state: 'failed', attempts: 1, lastError: 'the code expired before it could be exchanged' });
  });

  it('a code is exchanged once: a submit while it is in flight shares the attempt, a done code is not exchanged again', async () => {
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // The second submit finds the pending row and reaches the queue while the first exchange is still in flight.
    // A proxy whose methods run on the real store: an Object.create copy would run the SQLite store's group
    // commit with `this` = the copy, leaving the copy's queue and the store's out of step for later tests.
    let lookups = 0;
    const getExchange: Store['getExchange'] = async (...args) => {
      const r = await store.getExchange(...args);
      if (++lookups === 1) release();
      return r;
    };
    const watched = new Proxy(store, {
      get(target, prop) {
        if (prop === 'getExchange') return getExchange;
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const s = setup(async () => {
      calls++;
      await gate;
      return record;
    }, { store: watched });
    const a = s.submit('once');
    const b = s.submit('once');
    expect(await Promise.all([a, b])).toEqual([record, record]);
    expect(calls).toBe(1);
    expect(await s.submit('once')).toBeUndefined();
    expect(calls).toBe(1);
  });

  it('after a transient failure nothing is sent until the backoff ends: later codes are recorded, the sweep sends them, a success ends the hold', async () => {
    const sent: string[] = [];
    let down = true;
    const s = setup(async (code) => {
      sent.push(code);
      if (down) throw new UpstreamError('/cgi-bin/component/api_query_auth: connect ECONNREFUSED');
      return record;
    });
    const t = s.clock.now();
    expect(await s.submit('h1')).toBeUndefined();
    // WeChat is down: 50 more authorizations in the 100 s backoff cost no call, only their rows.
    for (let i = 0; i < 50; i++) expect(await s.submit(`h-more-${i}`)).toBeUndefined();
    expect(sent).toEqual(['h1']);
    expect(await s.row('h-more-7')).toMatchObject({ state: 'pending', attempts: 0, nextAttemptAt: t });
    expect(await s.outcomes()).toEqual({ retry: 1 });
    expect(s.lines.filter((l) => l.msg === 'authorization code exchange failed; will retry')).toHaveLength(1);
    // One millisecond before the end a sweep still sends nothing.
    s.clock.advance(99_999);
    await s.q.sweep();
    expect(sent).toEqual(['h1']);
    // At the end the sweep sends the first due code; it fails again, so the hold doubles and the rest wait.
    s.clock.advance(1);
    await s.q.sweep();
    expect(sent).toHaveLength(2);
    s.clock.advance(199_999);
    await s.q.sweep();
    expect(sent).toHaveLength(2);
    // WeChat is back: the next sweep sends every due code (50 a pass), and the hold is over for new ones.
    down = false;
    s.clock.advance(1);
    await s.q.sweep();
    expect(sent).toHaveLength(2 + 50);
    expect(await s.submit('after')).toBe(record);
    expect(sent.at(-1)).toBe('after');
    expect((await s.outcomes()).done).toBe(51);
  });

  it('sends at most maxConcurrent exchanges at once; the rest wait their turn, and past maxWaiting wait in their row', async () => {
    let open = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const sent: string[] = [];
    const clock = new ManualClock(T0 + n++ * 3_600_000);
    const ctx: CredentialContext = { ...platform.ctx, store, clock, metrics: createMetrics(), events: new PlatformEvents(), logger: captureLogger().logger };
    const q = new ExchangeQueue(
      ctx,
      async (code) => {
        sent.push(code);
        peak = Math.max(peak, ++open);
        await new Promise<void>((r) => releases.push(r));
        open--;
        return record;
      },
      { sweepMs: 3_600_000, firstRetryMs: 100_000, maxRetryMs: 250_000, orderingTime: (c) => c, maxConcurrent: 2, maxWaiting: 3 },
    );
    queues.push(q);
    const submit = (code: string) => q.submit(code, { authorizerAppid: 'wxAuth', createTime: 1, eventTime: 1, receivedAt: clock.now() });
    const results = Array.from({ length: 6 }, (_, i) => submit(`cc-${i}`));
    await vi.waitFor(() => expect(sent).toHaveLength(2));
    // Two running, three waiting; the sixth found no room and is left to the sweep.
    expect(await results[5]).toBeUndefined();
    expect(await store.getExchange(ctx.componentAppid, q.key('cc-5', 1))).toMatchObject({ state: 'pending', attempts: 0 });
    while (sent.length < 5 || releases.length > 0) {
      await vi.waitFor(() => expect(releases.length).toBeGreaterThan(0));
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(results.slice(0, 5))).toEqual([record, record, record, record, record]);
    expect(sent).toEqual(['cc-0', 'cc-1', 'cc-2', 'cc-3', 'cc-4']);
    expect(peak).toBe(2);
  });

  it('stop() hands each waiting exchange its turn, which leaves its row for the next start', async () => {
    const sent: string[] = [];
    let release!: () => void;
    const s = setup(async (code) => {
      sent.push(code);
      await new Promise<void>((r) => (release = r));
      return record;
    }, { maxConcurrent: 1 });
    const results = ['w-a', 'w-b', 'w-c'].map((c) => s.submit(c));
    await vi.waitFor(() => expect(sent).toEqual(['w-a']));
    const stopping = s.q.stop();
    release();
    await stopping;
    expect(await Promise.all(results)).toEqual([record, undefined, undefined]);
    expect(sent).toEqual(['w-a']);
    expect(await s.row('w-b')).toMatchObject({ state: 'pending', attempts: 0 });
    expect(await s.row('w-c')).toMatchObject({ state: 'pending', attempts: 0 });
  });

  it('a hold that begins while an exchange waits its turn leaves that one in its row too', async () => {
    const sent: string[] = [];
    let fail!: () => void;
    const s = setup(async (code) => {
      sent.push(code);
      await new Promise<void>((r) => (fail = r));
      throw new UpstreamError('/cgi-bin/component/api_query_auth: HTTP 502');
    }, { maxConcurrent: 1 });
    const first = s.submit('hw-a');
    const second = s.submit('hw-b');
    await vi.waitFor(() => expect(sent).toEqual(['hw-a']));
    fail();
    expect(await first).toBeUndefined();
    expect(await second).toBeUndefined();
    expect(sent).toEqual(['hw-a']);
    expect(await s.row('hw-a')).toMatchObject({ state: 'pending', attempts: 1 });
    expect(await s.row('hw-b')).toMatchObject({ state: 'pending', attempts: 0 });
  });

  it('a started queue sweeps when a hold ends, so codes recorded during it go out then, not at the next sweepMs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const sent: string[] = [];
      let down = true;
      const s = setup(async (code) => {
        sent.push(code);
        if (down) throw new UpstreamError('/cgi-bin/component/api_query_auth: connect ECONNREFUSED');
        return record;
      });
      // setImmediate is real: it lets the store and the queue's promises run without moving the fake timers.
      const settle = async () => {
        for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      };
      s.q.start();
      await settle();
      expect(await s.submit('ht-a')).toBeUndefined();
      expect(await s.submit('ht-b')).toBeUndefined();
      expect(sent).toEqual(['ht-a']);
      down = false;
      s.clock.advance(100_000);
      await vi.advanceTimersByTimeAsync(99_999);
      expect(sent).toEqual(['ht-a']);
      await vi.advanceTimersByTimeAsync(1);
      await settle();
      expect([...sent].sort()).toEqual(['ht-a', 'ht-a', 'ht-b']);
      expect(await s.row('ht-a')).toMatchObject({ state: 'done', attempts: 2 });
      expect(await s.row('ht-b')).toMatchObject({ state: 'done', attempts: 1 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('describes a non-Error failure and a coded error in the row', async () => {
    const s = setup(async (code) => {
      if (code === 'str') throw 'socket hang up';
      throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    });
    await s.submit('str');
    // Past the queue-wide hold the first failure began.
    s.clock.advance(100_000);
    await s.submit('coded');
    expect((await s.row('str'))?.lastError).toBe('socket hang up');
    expect((await s.row('coded'))?.lastError).toBe('SQLITE_BUSY: database is locked');
  });

  it('the sweep turns stored authorized/updateauthorized pushes without a row into exchanges, within the code life', async () => {
    const seen: string[] = [];
    const s = setup(async (code) => {
      seen.push(code);
      return record;
    });
    const componentAppid = platform.ctx.componentAppid;
    const push = (infoType: string, code: string, receivedAt: number) =>
      store.recordPush({
        componentAppid,
        dedupeKey: `${infoType}:${code}`,
        infoType,
        authorizerAppid: 'wxAuth',
        createTime: 1,
        receivedAt,
        payload: `<xml><AppId>${componentAppid}</AppId><InfoType>${infoType}</InfoType><AuthorizerAppid>wxAuth</AuthorizerAppid><AuthorizationCode>${code}</AuthorizationCode></xml>`,
      });
    const now = s.clock.now();
    // Pushes stored before sealing carry the code in clear; since, it is sealed (with these keys, or with a key
    // that is no longer configured: that one cannot be recovered, and does not stop the others).
    const sealedPush = (infoType: string, code: string, box: SecretBox) =>
      push(infoType, `${SEALED_CODE_PREFIX}${sealCode(box, componentAppid, code)}`, now - 1000);
    await push('authorized', `sw-a-${now}`, now - 1000);
    await sealedPush('updateauthorized', `sw-u-${now}`, platform.ctx.box);
    await sealedPush('authorized', `sw-k-${now}`, new SecretBox([randomBytes(32).toString('hex')]));
    await push('authorized', `sw-old-${now}`, now - CODE_LIFE_MS);
    await push('unauthorized', `sw-x-${now}`, now - 1000);
    await s.q.sweep();
    expect(seen.sort()).toEqual([`sw-a-${now}`, `sw-u-${now}`]);
    expect(s.lines.filter((l) => l.msg === 'could not open the authorization code of a stored push')).toHaveLength(1);
    expect(await s.row(`sw-a-${now}`)).toMatchObject({ state: 'done', authorizerAppid: 'wxAuth', expiresAt: now - 1000 + CODE_LIFE_MS });
    // Done rows are not exchanged again by the next sweep.
    await s.q.sweep();
    expect(seen).toHaveLength(2);
  });

  it('start() sweeps at once and then every sweepMs; stop() ends the sweeps', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const seen: string[] = [];
      const s = setup(async (code) => {
        seen.push(code);
        return record;
      });
      const componentAppid = platform.ctx.componentAppid;
      const now = s.clock.now();
      const push = (code: string) =>
        store.recordPush({
          componentAppid,
          dedupeKey: `authorized:${code}`,
          infoType: 'authorized',
          authorizerAppid: 'wxAuth',
          createTime: 1,
          receivedAt: now - 1000,
          payload: `<xml><AppId>${componentAppid}</AppId><InfoType>authorized</InfoType><AuthorizationCode>${code}</AuthorizationCode></xml>`,
        });
      await push(`st-1-${now}`);
      s.q.start();
      s.q.start();
      await vi.waitFor(() => expect(seen).toEqual([`st-1-${now}`]));
      await push(`st-2-${now}`);
      // A tick that comes while the first pass is still finishing joins that pass (which listed the pushes before
      // st-2): each retry is one more interval, as the real timer would give.
      await vi.waitFor(() => {
        vi.advanceTimersByTime(3_600_000);
        expect(seen).toEqual([`st-1-${now}`, `st-2-${now}`]);
      });
      await s.q.stop();
      await push(`st-3-${now}`);
      vi.advanceTimersByTime(3_600_000);
      await s.q.sweep().catch(() => undefined);
      expect(seen).toEqual([`st-1-${now}`, `st-2-${now}`]);
    } finally {
      vi.useRealTimers();
    }
  });
});

/** The real store behind a proxy whose named writes throw while their cue says so. */
function faulty(base: Store, cues: Partial<Record<'recordExchange' | 'updateExchange' | 'listPushes' | 'pruneExchanges', () => boolean>>): Store {
  return new Proxy(base, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      const f = (v as (...a: unknown[]) => unknown).bind(target);
      const cue = cues[prop as keyof typeof cues];
      return cue
        ? async (...a: unknown[]) => {
            if (cue()) throw new Error(`${String(prop)} refused`);
            return f(...a);
          }
        : f;
    },
  });
}

/** setImmediate stays real under the fake timers used here: it lets the store and the queue's promises run. */
const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe('ExchangeQueue, edges (mutation run of 2026-12-02 08:21)', () => {
  // A store of their own: no pending row of another test is due in these sweeps.
  const own: Store[] = [];
  const fresh = async () => {
    const s = await createStore('sqlite::memory:');
    own.push(s);
    return s;
  };
  afterAll(async () => {
    for (const s of own.splice(0)) await s.close();
  });
  const pushTo = (to: Store, infoType: string, code: string, receivedAt: number) => {
    const componentAppid = platform.ctx.componentAppid;
    return to.recordPush({
      componentAppid,
      dedupeKey: `${infoType}:${code}:${receivedAt}`,
      infoType,
      authorizerAppid: 'wxAuth',
      createTime: 1,
      receivedAt,
      payload: `<xml><AppId>${componentAppid}</AppId><InfoType>${infoType}</InfoType><AuthorizationCode>${code}</AuthorizationCode></xml>`,
    });
  };

  it('start() twice keeps one sweep timer: after stop() no sweep runs any more', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      let lists = 0;
      const base = await fresh();
      const counted = faulty(base, { listPushes: () => (lists++, false) });
      const s = setup(async () => record, { store: counted });
      s.q.start();
      s.q.start();
      await settle();
      await s.q.stop();
      const before = lists;
      expect(before).toBeGreaterThan(0);
      vi.advanceTimersByTime(3 * 3_600_000);
      await settle();
      expect(lists).toBe(before);
    } finally {
      vi.useRealTimers();
    }
  });

  it('stop() waits for the exchanges in flight', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const s = setup(async () => {
      calls++;
      await gate;
      return record;
    });
    const a = s.submit('if-a');
    await vi.waitFor(() => expect(calls).toBe(1));
    let stopped = false;
    const stopping = s.q.stop().then(() => {
      stopped = true;
    });
    await settle();
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(await a).toBe(record);
    expect(await s.row('if-a')).toMatchObject({ state: 'done', attempts: 1 });
  });

  it('after stop() with waiters and a new start(), maxConcurrent still holds', async () => {
    let open = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const sent: string[] = [];
    const s = setup(
      async (code) => {
        sent.push(code);
        peak = Math.max(peak, ++open);
        await new Promise<void>((r) => releases.push(r));
        open--;
        return record;
      },
      { maxConcurrent: 1, store: await fresh() },
    );
    const results = ['rs-a', 'rs-b', 'rs-c'].map((c) => s.submit(c));
    await vi.waitFor(() => expect(sent).toEqual(['rs-a']));
    const stopping = s.q.stop();
    releases.shift()!();
    await stopping;
    expect(await Promise.all(results)).toEqual([record, undefined, undefined]);
    // Started again: its sweep sends rs-b and rs-c, one at a time, and a new code waits its turn.
    s.q.start();
    const d = s.submit('rs-d');
    while (sent.length < 4 || releases.length > 0) {
      await vi.waitFor(() => expect(releases.length).toBeGreaterThan(0));
      releases.shift()!();
      await settle();
    }
    expect(await d).toBe(record);
    await s.q.sweep();
    expect([...sent].sort()).toEqual(['rs-a', 'rs-b', 'rs-c', 'rs-d']);
    expect(peak).toBe(1);
  });

  it('a code the store refuses to record is exchanged all the same, with an error log naming the authorizer', async () => {
    const s = setup(async () => record, { store: faulty(store, { recordExchange: () => true }) });
    expect(await s.submit('rf-a')).toBe(record);
    expect(await s.submit('rf-b', null)).toBe(record);
    const errs = s.lines.filter((l) => l.level === 50);
    expect(errs.map((l) => [l.msg, l.authorizerAppid, (l.err as { message?: string } | undefined)?.message])).toEqual([
      ['could not record the authorization code to exchange; exchanging it now', 'wxAuth', 'recordExchange refused'],
      ['could not record the authorization code to exchange; exchanging it now', undefined, 'recordExchange refused'],
    ]);
    expect('authorizerAppid' in errs[1]!).toBe(false);
  });

  it('a refused row update is a warning; the exchange still answers and the row stays pending', async () => {
    const s = setup(async () => record, { store: faulty(store, { updateExchange: () => true }) });
    expect(await s.submit('ru-a')).toBe(record);
    expect(await s.row('ru-a')).toMatchObject({ state: 'pending', attempts: 0 });
    const warns = s.lines.filter((l) => l.level === 40);
    expect(warns.map((l) => [l.msg, (l.err as { message?: string } | undefined)?.message])).toEqual([['could not update the exchange record', 'updateExchange refused']]);
  });

  it('a failing sweep is a warning and resolves; the next one runs', async () => {
    let refuse = true;
    const s = setup(async () => record, { store: faulty(await fresh(), { listPushes: () => refuse }) });
    await expect(s.q.sweep()).resolves.toBeUndefined();
    const warns = s.lines.filter((l) => l.level === 40);
    expect(warns.map((l) => [l.msg, (l.err as { message?: string } | undefined)?.message])).toEqual([['exchange sweep failed; retrying at the next one', 'listPushes refused']]);
    refuse = false;
    await s.q.sweep();
    expect(s.lines.filter((l) => l.level === 40)).toHaveLength(1);
  });

  it('while a hold lasts, a new submit of a code in flight does not join it, and the sweep does not wait for it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sent: string[] = [];
    const s = setup(
      async (code) => {
        sent.push(code);
        if (code === 'jh-y') throw new UpstreamError('/cgi-bin/component/api_query_auth: HTTP 502');
        await gate;
        return record;
      },
      { store: await fresh() },
    );
    const a = s.submit('jh-x');
    await vi.waitFor(() => expect(sent).toEqual(['jh-x']));
    expect(await s.submit('jh-y')).toBeUndefined();
    let again: { v: unknown } | undefined;
    void s.submit('jh-x').then((v) => (again = { v }));
    let swept = false;
    void s.q.sweep().then(() => (swept = true));
    await settle();
    expect(again).toEqual({ v: undefined });
    expect(swept).toBe(true);
    release();
    expect(await a).toBe(record);
    expect(sent).toEqual(['jh-x', 'jh-y']);
  });

  it('the sweep skips a push at the end of its code life and one with an empty code', async () => {
    const own1 = await fresh();
    const seen: string[] = [];
    const s = setup(
      async (code) => {
        seen.push(code);
        return record;
      },
      { store: own1 },
    );
    const now = s.clock.now();
    await pushTo(own1, 'authorized', 'ed-old', now - CODE_LIFE_MS);
    await pushTo(own1, 'authorized', '', now - 1000);
    await pushTo(own1, 'updateauthorized', 'ed-ok', now - 1000);
    await s.q.sweep();
    expect(seen).toEqual(['ed-ok']);
    expect(await s.row('ed-old')).toBeUndefined();
    expect(await s.row('')).toBeUndefined();
    expect(s.failed).toEqual([]);
  });

  it('the sweep prunes exchange rows a day after they expired, not sooner', async () => {
    const s = setup(async () => record, { store: await fresh() });
    expect(await s.submit('pr-a')).toBe(record);
    s.clock.advance(CODE_LIFE_MS + 3_600_000);
    await s.q.sweep();
    expect(await s.row('pr-a')).toMatchObject({ state: 'done' });
    s.clock.advance(24 * 3_600_000);
    await s.q.sweep();
    expect(await s.row('pr-a')).toBeUndefined();
  });

  it('a sweep that finds WeChat still down prunes all the same: rows a day past their life go during a long outage', async () => {
    let down = false;
    const s = setup(
      async () => {
        if (down) throw new UpstreamError('/cgi-bin/component/api_query_auth: connect ECONNREFUSED');
        return record;
      },
      { store: await fresh() },
    );
    expect(await s.submit('ho-old')).toBe(record);
    s.clock.advance(CODE_LIFE_MS + 24 * 3_600_000 + 1);
    down = true;
    expect(await s.submit('ho-a')).toBeUndefined();
    // Held after ho-a's failure: ho-b is left due in its row.
    expect(await s.submit('ho-b')).toBeUndefined();
    s.clock.advance(100_000);
    // Both are due: the first one tried fails and holds the queue again, which leaves the other for the hold's end.
    await s.q.sweep();
    expect(await s.row('ho-old')).toBeUndefined();
    expect(await s.row('ho-a')).toMatchObject({ state: 'pending' });
    expect(await s.row('ho-b')).toMatchObject({ state: 'pending' });
  });

  it('maxWaiting 0: exchanges run up to maxConcurrent, and only past that wait in their row', async () => {
    const releases: (() => void)[] = [];
    const sent: string[] = [];
    const s = setup(
      async (code) => {
        sent.push(code);
        await new Promise<void>((r) => releases.push(r));
        return record;
      },
      { maxConcurrent: 2, maxWaiting: 0, store: await fresh() },
    );
    const results = ['mw-a', 'mw-b', 'mw-c'].map((c) => s.submit(c));
    await vi.waitFor(() => expect(sent).toEqual(['mw-a', 'mw-b']));
    expect(await results[2]).toBeUndefined();
    expect(await s.row('mw-c')).toMatchObject({ state: 'pending', attempts: 0 });
    await vi.waitFor(() => expect(releases).toHaveLength(2));
    for (const r of releases.splice(0)) r();
    expect(await Promise.all(results.slice(0, 2))).toEqual([record, record]);
  });

  it('a queue that is not started retries a failed code by its own timer and sweeps nothing at the hold end', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const sent: string[] = [];
      let down = true;
      const s = setup(
        async (code) => {
          sent.push(code);
          if (down) throw new UpstreamError('/cgi-bin/component/api_query_auth: connect ECONNREFUSED');
          return record;
        },
        { store: await fresh() },
      );
      expect(await s.submit('ns-a')).toBeUndefined();
      expect(await s.submit('ns-b')).toBeUndefined();
      down = false;
      s.clock.advance(100_000);
      await vi.advanceTimersByTimeAsync(100_000);
      await settle();
      expect(sent).toEqual(['ns-a', 'ns-a']);
      expect(await s.row('ns-a')).toMatchObject({ state: 'done', attempts: 2 });
      expect(await s.row('ns-b')).toMatchObject({ state: 'pending', attempts: 0 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('a started queue retries "code used" by its own timer (no hold covers it)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const sent: string[] = [];
      const s = setup(
        async (code) => {
          sent.push(code);
          if (sent.length === 1) throw new WeChatApiError(61010, 'code is expired', '/cgi-bin/component/api_query_auth');
          return record;
        },
        { firstRetryMs: 10_000, store: await fresh() },
      );
      s.q.start();
      await settle();
      expect(await s.submit('su-u')).toBeUndefined();
      s.clock.advance(10_000);
      await vi.advanceTimersByTimeAsync(10_000);
      await settle();
      expect(sent).toEqual(['su-u', 'su-u']);
      expect(await s.row('su-u')).toMatchObject({ state: 'done', attempts: 2 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('61009 is retried like 61010, and neither holds the queue', async () => {
    const sent: string[] = [];
    const s = setup(
      async (code) => {
        sent.push(code);
        if (code === 'ue-u') throw new WeChatApiError(61009, 'code is used', '/cgi-bin/component/api_query_auth');
        return record;
      },
      { firstRetryMs: 10_000 },
    );
    expect(await s.submit('ue-u')).toBeUndefined();
    expect(await s.row('ue-u')).toMatchObject({ state: 'pending', attempts: 1, lastError: 'errcode 61009' });
    expect(await s.submit('ue-v')).toBe(record);
    expect(sent).toEqual(['ue-u', 'ue-v']);
  });

  it('a retry that would land exactly at the end of the code life is not scheduled', async () => {
    const s = setup(
      async () => {
        throw new UpstreamError('/cgi-bin/component/api_query_auth: HTTP 502');
      },
      { firstRetryMs: CODE_LIFE_MS, maxRetryMs: CODE_LIFE_MS },
    );
    expect(await s.submit('el-a')).toBeUndefined();
    expect(await s.row('el-a')).toMatchObject({ state: 'failed', attempts: 1, lastError: expect.stringMatching(/; no retry fits in the code's life$/) });
  });

  it('the "authorization lost" error names the authorizer', async () => {
    const s = setup(async () => {
      throw new WeChatApiError(40029, 'invalid code', '/cgi-bin/component/api_query_auth');
    });
    await s.submit('al-a', 'wxNamed');
    const err = s.lines.filter((l) => l.level === 50);
    expect(err.map((l) => [l.msg, l.authorizerAppid])).toEqual([['authorization lost: the code could not be exchanged', 'wxNamed']]);
  });

  it('a long error is cut to 300 characters, in the row and in the log', async () => {
    const long = 'x'.repeat(400);
    const s = setup(async (code) => {
      if (code === 'lg-str') throw long;
      throw new Error(long);
    });
    await s.submit('lg-str');
    s.clock.advance(100_000);
    await s.submit('lg-err');
    expect((await s.row('lg-str'))?.lastError).toBe(long.slice(0, 300));
    expect((await s.row('lg-err'))?.lastError).toBe(`Error: ${long}`.slice(0, 300));
    const warn = s.lines.filter((l) => l.msg === 'authorization code exchange failed; will retry');
    expect(warn.map((l) => l.error)).toEqual([long.slice(0, 300), `Error: ${long}`.slice(0, 300)]);
  });
});
