/**
 * The background refresher against fakes: its timer (start/stop), its paging through every authorizer, its
 * per-tick budget and pacing, and its per-authorizer backoff, each checked on what the fakes saw. A fake store
 * and fake token managers keep each case to microseconds (the integration tests in refresher.test.ts check the
 * same promises against the sandbox).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CREDENTIAL_OPTIONS, type CredentialContext } from '../../../src/credentials/context.js';
import { BackgroundRefresher, DEFAULT_REFRESHER_OPTIONS, jitter, type RefresherOptions } from '../../../src/credentials/refresher.js';
import { ReauthorizationRequiredError, WeChatApiError } from '../../../src/errors.js';
import { captureLogger } from '../../helpers/logs.js';

const T0 = Date.UTC(2026, 0, 15, 2, 0, 0);
const MINUTE = 60_000;

interface FakeAuthorizer {
  authorizerAppid: string;
  accessExpiresAt: number | null;
}

function setup(opts: { authorizers?: FakeAuthorizer[]; ticket?: boolean; refresher?: Partial<RefresherOptions>; fail?: (appid: string) => unknown } = {}) {
  const clock = { t: T0, now: () => clock.t };
  const { logger, lines } = captureLogger('info');
  const pages: { after: string | undefined; limit: number; status: string; accessExpiringBefore: number }[] = [];
  const all = [...(opts.authorizers ?? [])].sort((a, b) => (a.authorizerAppid < b.authorizerAppid ? -1 : 1));
  let getTicket = async () => (opts.ticket === false ? undefined : { ticket: 't' });
  const store = {
    getTicket: (..._a: unknown[]) => getTicket(),
    listAuthorizers: async (_c: string, q: { after?: string; limit: number; status: string; accessExpiringBefore: number }) => {
      pages.push({ after: q.after, limit: q.limit, status: q.status, accessExpiringBefore: q.accessExpiringBefore });
      return all.filter((a) => q.after === undefined || a.authorizerAppid > q.after).slice(0, q.limit);
    },
  };
  const ctx = { componentAppid: 'wxcomponent', store, clock, logger, options: DEFAULT_CREDENTIAL_OPTIONS } as unknown as CredentialContext;
  let componentCalls = 0;
  let componentFails = false;
  const component = {
    info: async () => {
      componentCalls++;
      if (componentFails) throw new Error('component down');
      return { token: 'cat' };
    },
  };
  const calls: { appid: string; minValidMs: number | undefined; at: number }[] = [];
  const authorizers = {
    info: async (appid: string, o: { minValidMs?: number }) => {
      calls.push({ appid, minValidMs: o.minValidMs, at: clock.t });
      const err = opts.fail?.(appid);
      if (err) throw err;
      return { token: `t-${appid}`, expiresAt: clock.t + 7200_000, version: 1 };
    },
  };
  const starts: { appid: string; at: number }[] = [];
  const options: RefresherOptions = {
    ...DEFAULT_REFRESHER_OPTIONS,
    sleepUntil: async (at) => {
      clock.t = Math.max(clock.t, at);
    },
    onStart: (appid, at) => starts.push({ appid, at }),
    ...opts.refresher,
  };
  const refresher = new BackgroundRefresher(ctx, component as never, authorizers as never, options);
  return {
    refresher,
    clock,
    lines,
    pages,
    calls,
    starts,
    componentCalls: () => componentCalls,
    failComponent: () => (componentFails = true),
    setGetTicket: (f: () => Promise<unknown>) => (getTicket = f as typeof getTicket),
  };
}

/** `n` authorizers whose tokens expire within the refresh-ahead margin (all due now). */
function dueNow(n: number, prefix = 'wxa'): FakeAuthorizer[] {
  return Array.from({ length: n }, (_, i) => ({ authorizerAppid: `${prefix}${String(i).padStart(5, '0')}`, accessExpiresAt: T0 + MINUTE + i }));
}

afterEach(() => {
  vi.useRealTimers();
});

describe('refresher: timer', () => {
  it('start() ticks every intervalMs on an unref’d timer (twice is once); stop() ends the ticks', async () => {
    vi.useFakeTimers({ now: T0 });
    const s = setup({ ticket: false, refresher: { intervalMs: 5_000 } });
    let ticks = 0;
    s.setGetTicket(async () => void ticks++);
    s.refresher.start();
    s.refresher.start();
    const timer = (s.refresher as unknown as { timer: NodeJS.Timeout }).timer;
    expect(timer.hasRef()).toBe(false);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(ticks).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(ticks).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ticks).toBe(3);
    await s.refresher.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ticks).toBe(3);
    // Started again after a stop, it ticks again.
    s.refresher.start();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(ticks).toBe(4);
    await s.refresher.stop();
  });

  it('stop() waits for the pass in progress; a failing pass is logged, not thrown', async () => {
    vi.useFakeTimers({ now: T0 });
    const s = setup({ refresher: { intervalMs: 1_000 } });
    let release!: () => void;
    s.setGetTicket(() => new Promise((r) => (release = () => r({ ticket: 't' }))));
    s.refresher.start();
    await vi.advanceTimersByTimeAsync(1_000);
    let stopped = false;
    const stopping = s.refresher.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(10);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
    s.setGetTicket(async () => {
      throw new Error('store gone');
    });
    s.refresher.start();
    await vi.advanceTimersByTimeAsync(1_000);
    await s.refresher.stop();
    expect(s.lines.filter((l) => l.msg === 'refresher tick failed').map((l) => [l.level, (l.err as { message: string }).message])).toEqual([[50, 'store gone']]);
  });

  it('overlapping tick() calls share one pass; the next call after it starts a new one', async () => {
    const s = setup({ authorizers: dueNow(2) });
    const [a, b] = [s.refresher.tick(), s.refresher.tick()];
    expect(a).toBe(b);
    expect(await a).toEqual({ due: 2, refreshed: 2, failed: 0, deferred: 0 });
    expect(s.componentCalls()).toBe(1);
    await s.refresher.tick();
    expect(s.componentCalls()).toBe(2);
  });
});

describe('refresher: one pass', () => {
  it('without a ticket does nothing (not even the component token)', async () => {
    const s = setup({ ticket: false, authorizers: dueNow(3) });
    expect(await s.refresher.tick()).toEqual({ due: 0, refreshed: 0, failed: 0, deferred: 0 });
    expect(s.componentCalls()).toBe(0);
    expect(s.pages).toEqual([]);
  });

  it('pages through every authorizer 500 at a time, after the last appid of each page', async () => {
    const s = setup({ authorizers: dueNow(1_001), refresher: { maxPerSecond: 10_000 } });
    const r = await s.refresher.tick();
    expect(r).toEqual({ due: 1_001, refreshed: 1_001, failed: 0, deferred: 0 });
    const horizon = T0 + DEFAULT_CREDENTIAL_OPTIONS.refreshAheadMs + DEFAULT_REFRESHER_OPTIONS.spreadMs;
    expect(s.pages).toEqual([
      { after: undefined, limit: 500, status: 'authorized', accessExpiringBefore: horizon },
      { after: 'wxa00499', limit: 500, status: 'authorized', accessExpiringBefore: horizon },
      { after: 'wxa00999', limit: 500, status: 'authorized', accessExpiringBefore: horizon },
    ]);
    expect(new Set(s.calls.map((c) => c.appid)).size).toBe(1_001);
  });

  it('a page of exactly 500 is followed by one more (empty) page', async () => {
    const s = setup({ authorizers: dueNow(500), refresher: { maxPerSecond: 10_000 } });
    expect(await s.refresher.tick()).toMatchObject({ due: 500, refreshed: 500 });
    expect(s.pages.map((p) => p.after)).toEqual([undefined, 'wxa00499']);
  });

  it('asks each authorizer for refresh-ahead + its own jitter × spread, and skips those not yet due', async () => {
    const spread = DEFAULT_REFRESHER_OPTIONS.spreadMs;
    const ahead = DEFAULT_CREDENTIAL_OPTIONS.refreshAheadMs;
    const exp = T0 + ahead + spread / 2;
    const slot = (appid: string, at: number) => ahead + Math.floor(jitter(`${appid}:${at}`) * spread);
    // Find one appid whose slot makes it due at T0 and one that is not, for the same expiry.
    const names = Array.from({ length: 50 }, (_, i) => `wxj${i}`);
    const dueName = names.find((n) => exp - slot(n, exp) <= T0)!;
    const laterName = names.find((n) => exp - slot(n, exp) > T0)!;
    const s = setup({ authorizers: [{ authorizerAppid: dueName, accessExpiresAt: exp }, { authorizerAppid: laterName, accessExpiresAt: exp }, { authorizerAppid: 'wxnull', accessExpiresAt: null }] });
    const r = await s.refresher.tick();
    expect(s.calls.map((c) => [c.appid, c.minValidMs]).sort()).toEqual([[dueName, slot(dueName, exp)], ['wxnull', slot('wxnull', 0)]].sort());
    expect(r).toMatchObject({ due: 2, refreshed: 2 });
  });

  it('a token whose refresh point is exactly now is due (the point itself counts)', async () => {
    const spread = 1_000;
    const ahead = DEFAULT_CREDENTIAL_OPTIONS.refreshAheadMs;
    const slot = (appid: string, at: number) => ahead + Math.floor(jitter(`${appid}:${at}`) * spread);
    // An appid and expiry whose own jitter puts the refresh point on T0 to the millisecond, and one a millisecond later.
    const find = (prefix: string, point: number): [string, number] => {
      for (let i = 0; ; i++) {
        for (let exp = T0 + ahead; exp <= T0 + ahead + spread; exp++) if (exp - slot(`${prefix}${i}`, exp) === point) return [`${prefix}${i}`, exp];
      }
    };
    const [edge, exact] = find('wxedge', T0);
    const [late, later] = find('wxlate', T0 + 1);
    const s = setup({
      authorizers: [
        { authorizerAppid: edge, accessExpiresAt: exact },
        { authorizerAppid: late, accessExpiresAt: later },
      ],
      refresher: { spreadMs: spread },
    });
    expect(await s.refresher.tick()).toMatchObject({ due: 1, refreshed: 1 });
    expect(s.calls.map((c) => [c.appid, c.minValidMs])).toEqual([[edge, slot(edge, exact)]]);
  });

  it('without a sleepUntil of its own, waits for each start slot on a timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const s = setup({ authorizers: dueNow(2), refresher: { maxPerSecond: 4, concurrency: 1, sleepUntil: undefined } });
      const pass = s.refresher.tick();
      await vi.advanceTimersByTimeAsync(249);
      expect(s.calls.map((c) => c.appid)).toEqual(['wxa00000']);
      await vi.advanceTimersByTimeAsync(1);
      expect(s.calls.map((c) => c.appid)).toEqual(['wxa00000', 'wxa00001']);
      expect(await pass).toMatchObject({ due: 2, refreshed: 2 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('over budget, the soonest-expiring go first and the rest are deferred; budget = maxPerSecond × interval, at least 1', async () => {
    const auths = [5, 1, 4, 2, 3].map((k) => ({ authorizerAppid: `wxb${k}`, accessExpiresAt: T0 + k * 1000 }));
    const s = setup({ authorizers: auths, refresher: { maxPerSecond: 1.5, intervalMs: 2_000 } });
    expect(await s.refresher.tick()).toEqual({ due: 5, refreshed: 3, failed: 0, deferred: 2 });
    expect(s.calls.map((c) => c.appid).sort()).toEqual(['wxb1', 'wxb2', 'wxb3']);
    const one = setup({ authorizers: auths, refresher: { maxPerSecond: 0.01, intervalMs: 1_000 } });
    expect(await one.refresher.tick()).toEqual({ due: 5, refreshed: 1, failed: 0, deferred: 4 });
    expect(one.calls.map((c) => c.appid)).toEqual(['wxb1']);
    // Exactly at budget: all go, none deferred.
    const exact = setup({ authorizers: auths, refresher: { maxPerSecond: 5, intervalMs: 1_000 } });
    expect(await exact.refresher.tick()).toEqual({ due: 5, refreshed: 5, failed: 0, deferred: 0 });
  });

  it('paces starts 1/maxPerSecond apart on the clock, and never more than `concurrency` at once', async () => {
    const s = setup({ authorizers: dueNow(6), refresher: { maxPerSecond: 4, concurrency: 2 } });
    await s.refresher.tick();
    expect(s.starts.map((x) => x.at - T0)).toEqual([0, 250, 500, 750, 1000, 1250]);
    // Each call happens no earlier than its slot.
    for (const c of s.calls) expect(c.at).toBeGreaterThanOrEqual(s.starts.find((x) => x.appid === c.appid)!.at);
    let inflight = 0;
    let most = 0;
    const slow = setup({ authorizers: dueNow(7), refresher: { maxPerSecond: 1_000_000, concurrency: 3 } });
    const inner = (slow.refresher as unknown as { authorizers: { info: (a: string, o: object) => Promise<unknown> } }).authorizers;
    const orig = inner.info;
    inner.info = async (a, o) => {
      most = Math.max(most, ++inflight);
      await new Promise((r) => setTimeout(r, 2));
      inflight--;
      return orig(a, o);
    };
    expect(await slow.refresher.tick()).toMatchObject({ refreshed: 7 });
    expect(most).toBe(3);
  });

  it('a failing component token is logged and the authorizers are still refreshed', async () => {
    const s = setup({ authorizers: dueNow(2) });
    s.failComponent();
    expect(await s.refresher.tick()).toMatchObject({ due: 2, refreshed: 2 });
    expect(s.lines.filter((l) => l.msg === 'component token refresh failed').map((l) => [l.level, (l.err as { message: string }).message])).toEqual([[40, 'component down']]);
  });

  it('logs a pass only when something was due', async () => {
    const s = setup({ authorizers: [] });
    await s.refresher.tick();
    expect(s.lines.filter((l) => l.msg === 'refresher pass')).toEqual([]);
    const t = setup({ authorizers: dueNow(1) });
    await t.refresher.tick();
    expect(t.lines.filter((l) => l.msg === 'refresher pass').map((l) => [l.level, l.due, l.refreshed, l.failed, l.deferred])).toEqual([[30, 1, 1, 0, 0]]);
  });
});

describe('refresher: backoff', () => {
  it('backs off a failing authorizer from backoffMs, doubling to maxBackoffMs; a success resets it', async () => {
    let failing = true;
    const s = setup({
      authorizers: [{ authorizerAppid: 'wxf', accessExpiresAt: T0 + MINUTE }],
      refresher: { backoffMs: 1_000, maxBackoffMs: 3_000 },
      fail: () => (failing ? new WeChatApiError(-1, 'system busy', '/cgi-bin/component/api_authorizer_token') : undefined),
    });
    const warned = () => s.lines.filter((l) => l.msg === 'authorizer token refresh failed; backing off').map((l) => [l.level, l.authorizerAppid, l.errcode, l.retryInMs, l.err]);
    expect(await s.refresher.tick()).toEqual({ due: 1, refreshed: 0, failed: 1, deferred: 0 });
    // Within the backoff it is not due; at its end it is.
    s.clock.t += 999;
    expect(await s.refresher.tick()).toMatchObject({ due: 0 });
    s.clock.t += 1;
    expect(await s.refresher.tick()).toMatchObject({ due: 1, failed: 1 });
    s.clock.t += 2_000;
    expect(await s.refresher.tick()).toMatchObject({ due: 1, failed: 1 });
    s.clock.t += 3_000;
    expect(await s.refresher.tick()).toMatchObject({ due: 1, failed: 1 });
    expect(warned()).toEqual([
      [40, 'wxf', -1, 1_000, undefined],
      [40, 'wxf', -1, 2_000, undefined],
      [40, 'wxf', -1, 3_000, undefined],
      [40, 'wxf', -1, 3_000, undefined],
    ]);
    failing = false;
    s.clock.t += 3_000;
    expect(await s.refresher.tick()).toMatchObject({ due: 1, refreshed: 1 });
    failing = true;
    expect(await s.refresher.tick()).toMatchObject({ due: 1, failed: 1 });
    expect(warned().at(-1)).toEqual([40, 'wxf', -1, 1_000, undefined]);
  });

  it('logs a non-WeChat failure with its error, and never backs off an authorizer that must authorize again', async () => {
    const s = setup({
      authorizers: [
        { authorizerAppid: 'wxnet', accessExpiresAt: T0 + MINUTE },
        { authorizerAppid: 'wxgone', accessExpiresAt: T0 + MINUTE },
      ],
      fail: (a) => (a === 'wxnet' ? new Error('ECONNRESET') : new ReauthorizationRequiredError(a, 'needs_reauthorization', '61003')),
    });
    expect(await s.refresher.tick()).toEqual({ due: 2, refreshed: 0, failed: 2, deferred: 0 });
    const warns = s.lines.filter((l) => l.msg === 'authorizer token refresh failed; backing off');
    expect(warns.map((l) => [l.authorizerAppid, l.errcode, (l.err as { message?: string } | undefined)?.message, l.retryInMs])).toEqual([
      ['wxnet', undefined, 'ECONNRESET', DEFAULT_REFRESHER_OPTIONS.backoffMs],
    ]);
    // The flagged one is not held back: the next pass lists it again (the store's status filter drops it in real life).
    expect(await s.refresher.tick()).toMatchObject({ due: 1 });
    expect(s.calls.filter((c) => c.appid === 'wxgone')).toHaveLength(2);
  });
});
