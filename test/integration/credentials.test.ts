import { buildAdminApp } from '../../src/admin/app.js';
import { AdminAuth } from '../../src/admin/credentials.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ReauthorizationRequiredError, TicketMissingError, WeChatApiError } from '../../src/errors.js';
import { startWorld, type World } from '../helpers/world.js';

const TOKEN = '/cgi-bin/component/api_component_token';
const AAT = '/cgi-bin/component/api_authorizer_token';
const HOUR = 3600_000;

let w: World;
afterEach(async () => {
  await w?.close();
});

async function withTicket(world: World): Promise<void> {
  await world.sandbox.pushTicket();
  await world.settle();
}

async function authorized(world: World, type: 'official' | 'miniprogram' = 'miniprogram'): Promise<string> {
  const account = world.sandbox.accounts.find((a) => a.type === type)!;
  await world.sandbox.authorize(account.appid);
  await world.settle();
  const record = await world.store.getAuthorizer(world.config.componentAppid, account.appid);
  expect(record?.status).toBe('authorized');
  return account.appid;
}

describe('component_access_token', () => {
  it('says the ticket is missing until one is pushed, then fetches and caches one token', async () => {
    w = await startWorld();
    await expect(w.platform.componentToken()).rejects.toBeInstanceOf(TicketMissingError);
    expect(w.sandbox.counters.get(TOKEN)).toBe(0);
    await withTicket(w);
    const t1 = await w.platform.componentToken();
    expect(await w.platform.componentToken()).toBe(t1);
    expect(w.sandbox.counters.get(TOKEN)).toBe(1);
    // Stored sealed: the database never holds the token in clear.
    const stored = await w.store.getComponentToken(w.config.componentAppid);
    expect(stored?.tokenEnc).not.toContain(t1);
  });

  it('asks WeChat to push a ticket at start when none younger than 12 h is stored', async () => {
    w = await startWorld();
    expect(await w.platform.component.ensureTicket()).toBe('requested');
    await w.settle();
    expect(w.sandbox.counters.get('/cgi-bin/component/api_start_push_ticket')).toBe(1);
    expect(await w.store.getTicket(w.config.componentAppid)).toBeDefined();
    expect(await w.platform.component.ensureTicket()).toBe('present');
    w.sandbox.clock.advance(13 * HOUR);
    await expect(w.platform.componentToken()).rejects.toThrow(/min old \(valid 12 h\)/);
  });

  it('refreshes ahead of expiry exactly once under 200 concurrent callers', async () => {
    w = await startWorld();
    await withTicket(w);
    const t1 = await w.platform.componentToken();
    await w.sandbox.advance(2 * HOUR - 9 * 60_000);
    const tokens = await Promise.all(Array.from({ length: 200 }, () => w.platform.componentToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(t1);
    expect(w.sandbox.counters.get(TOKEN)).toBe(2);
  });

  it('on 61006 re-reads the newest ticket; with none newer it asks for a push and reports the error', async () => {
    w = await startWorld();
    await withTicket(w);
    const real = await w.store.getTicket(w.config.componentAppid);
    await w.store.recordTicket({ componentAppid: w.config.componentAppid, ticket: 'ticket@@@not-issued-by-wechat', createTime: real!.createTime + 1, receivedAt: w.sandbox.clock.now() });
    await w.sandbox.advance(5_000);
    const err = await w.platform.componentToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeChatApiError);
    expect((err as WeChatApiError).errcode).toBe(61006);
    await w.settle();
    // The start_push_ticket call made WeChat push a fresh ticket, so the next call works.
    expect(w.sandbox.counters.get('/cgi-bin/component/api_start_push_ticket')).toBe(1);
    expect(await w.platform.componentToken()).toMatch(/.+/);
  });

  it('fails over to the backup host when the primary API host is unreachable', async () => {
    // Port 9 on loopback: nothing listens, the connection is refused.
    w = await startWorld({ apiBases: (url) => ({ primary: 'http://127.0.0.1:9', backups: [url] }) });
    await withTicket(w);
    expect(await w.platform.componentToken()).toMatch(/.+/);
    expect(w.sandbox.counters.get(TOKEN)).toBe(1);
    expect(await w.platform.ctx.metrics.registry.getSingleMetricAsString('wxopen_upstream_requests_total')).toMatch(/api_component_token",outcome="network_error"} 1/);
  });
});

describe('authorizer_access_token', () => {
  it('is stored at query_auth and refreshed once for 200 concurrent callers after expiry', async () => {
    w = await startWorld();
    await withTicket(w);
    const appid = await authorized(w);
    const t1 = await w.platform.authorizerToken(appid);
    expect(w.sandbox.counters.get(AAT, appid)).toBe(0);
    await w.sandbox.advance(2 * HOUR);
    const tokens = await Promise.all(Array.from({ length: 200 }, () => w.platform.authorizerToken(appid)));
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(t1);
    expect(w.sandbox.counters.get(AAT, appid)).toBe(1);
  });

  it('invalidates a token WeChat rejects (40001) and retries the call once', async () => {
    w = await startWorld();
    await withTicket(w);
    const appid = await authorized(w);
    await w.platform.authorizerToken(appid);
    // Another party refreshes at WeChat directly; after 5 minutes our token is no longer the latest.
    const record = (await w.store.getAuthorizer(w.config.componentAppid, appid))!;
    const art = w.platform.ctx.box.open(record.refreshTokenEnc!, `${w.config.componentAppid}:${appid}`);
    await w.platform.callComponent({ method: 'POST', path: AAT, body: { component_appid: w.config.componentAppid, authorizer_appid: appid, authorizer_refresh_token: art } });
    await w.sandbox.advance(6 * 60_000);
    const calls = w.sandbox.counters.get(AAT, appid);
    const r = await w.platform.callAuthorizer<{ category_list: unknown[] }>(appid, { method: 'GET', path: '/wxa/get_category' });
    expect(Array.isArray(r.category_list)).toBe(true);
    expect(w.sandbox.counters.get(AAT, appid)).toBe(calls + 1);
    expect(w.sandbox.counters.get('/wxa/get_category', appid)).toBe(2);
  });

  it('rotate mode: persists every rotated refresh token, and recovers one lost to a crash from the authorizer list', async () => {
    w = await startWorld({ sandbox: { refreshTokenMode: 'rotate', refreshTokenGraceMs: 0 } });
    await withTicket(w);
    const appid = await authorized(w);
    const recovered: string[] = [];
    w.platform.events.on('authorizer.refresh_token_recovered', (e) => recovered.push(e.source));
    for (let i = 0; i < 3; i++) await w.platform.authorizerToken(appid, { force: true });
    // Simulate a crash after WeChat rotated the token but before our commit: rotate it behind our back.
    const record = (await w.store.getAuthorizer(w.config.componentAppid, appid))!;
    const art = w.platform.ctx.box.open(record.refreshTokenEnc!, `${w.config.componentAppid}:${appid}`);
    await w.platform.callComponent({ method: 'POST', path: AAT, body: { component_appid: w.config.componentAppid, authorizer_appid: appid, authorizer_refresh_token: art } });
    expect(await w.platform.authorizerToken(appid, { force: true })).toMatch(/.+/);
    expect(recovered).toEqual(['list']);
    expect((await w.store.getAuthorizer(w.config.componentAppid, appid))?.status).toBe('authorized');
  });

  it('flags needs_reauthorization once, with event and metric, and never calls WeChat again for it', async () => {
    w = await startWorld();
    await withTicket(w);
    const appid = await authorized(w);
    const flagged: number[] = [];
    w.platform.events.on('authorizer.needs_reauthorization', (e) => flagged.push(e.errcode));
    // The merchant revokes while our push URL is unreachable, so we miss the unauthorized push.
    w.sandbox.setPlatform({ componentPushUrl: 'http://127.0.0.1:9/wechat/component', authorizerPushUrl: 'http://127.0.0.1:9/x/$APPID$' });
    await w.sandbox.revoke(appid);
    await w.sandbox.advance(2 * HOUR);
    const err = await w.platform.authorizerToken(appid).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReauthorizationRequiredError);
    expect(flagged).toHaveLength(1);
    const calls = w.sandbox.counters.get(AAT, appid);
    await expect(w.platform.authorizerToken(appid)).rejects.toBeInstanceOf(ReauthorizationRequiredError);
    expect(w.sandbox.counters.get(AAT, appid)).toBe(calls);
    expect(await w.platform.ctx.metrics.registry.getSingleMetricAsString('wxopen_reauthorization_required_total')).toMatch(/errcode="61003"} 1/);
    expect((await w.store.countAuthorizers(w.config.componentAppid)).needs_reauthorization).toBe(1);
    // The dashboard (operator listener) flags it for the operator.
    const auth = new AdminAuth(w.store, w.config.componentAppid, () => w.sandbox.clock.now());
    await auth.init('operator-token-for-this-test', { persist: false });
    const { app } = await buildAdminApp({ config: w.config, store: w.store, platform: w.platform, logger: w.context.logger, clock: w.sandbox.clock, metrics: w.context.metrics }, { auth });
    const login = await app.inject({ method: 'POST', url: '/login', payload: 'token=operator-token-for-this-test', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const dashboard = (await app.inject({ url: '/?lang=en', headers: { cookie } })).body;
    await app.close();
    expect(dashboard).toMatch(/id="alert-reauth">1 merchant\(s\) must authorize the platform again/);
    expect(dashboard).toContain(`/authorizers/${appid}`);
    expect(dashboard).toMatch(/needs re-authorization<br><small>[^<]*61003/);
  });

  it('an unauthorized push deletes the tokens; calls fail fast without WeChat', async () => {
    w = await startWorld();
    await withTicket(w);
    const appid = await authorized(w);
    await w.sandbox.revoke(appid);
    await w.settle();
    expect(await w.store.getAuthorizer(w.config.componentAppid, appid)).toMatchObject({ status: 'unauthorized', refreshTokenEnc: null, accessTokenEnc: null });
    await expect(w.platform.authorizerToken(appid)).rejects.toBeInstanceOf(ReauthorizationRequiredError);
  });
});

describe('background refresher', () => {
  it('keeps every token valid over 6 hours, spread across ticks, within the budget, backing off on -1', async () => {
    const scheduled: number[] = [];
    // Budget: 1/30 per second × 60 s interval = 2 refreshes per tick; the frozen base clock makes it exact.
    w = await startWorld({
      sandbox: { clock: { now: () => Date.UTC(2026, 0, 15, 2, 0, 0) } },
      platform: {
        refresher: { intervalMs: 60_000, spreadMs: 15 * 60_000, maxPerSecond: 1 / 30, concurrency: 4, backoffMs: 5 * 60_000, sleepUntil: async () => {}, onStart: (_a, at) => scheduled.push(at) },
      },
    });
    await withTicket(w);
    const appids: string[] = [];
    for (const a of w.sandbox.accounts.slice(0, 8)) {
      await w.sandbox.authorize(a.appid);
      appids.push(a.appid);
    }
    await w.settle();
    const busy = appids[0]!;
    const busyFailures: number[] = [];
    // 4 × -1 = one refresh attempt (the transport retries -1 three times) fails.
    w.sandbox.faults.set(AAT, { type: 'system_busy', appid: busy, times: 4 });
    const refreshMinutes = new Set<number>();
    for (let minute = 1; minute <= 360; minute++) {
      await w.sandbox.advance(60_000);
      const before = appids.map((a) => w.sandbox.counters.get(AAT, a));
      const r = await w.platform.refresher.tick();
      const called = appids.filter((a, i) => w.sandbox.counters.get(AAT, a) > before[i]!);
      // What WeChat saw this tick: at most the budget's 2 authorizers, the ones the refresher reports.
      expect(called.length, `minute ${minute}`).toBeLessThanOrEqual(2);
      expect(r.refreshed + r.failed).toBe(called.length);
      if (r.failed) busyFailures.push(minute);
      if (r.refreshed > 0) refreshMinutes.add(minute);
      for (const appid of appids) {
        const rec = (await w.store.getAuthorizer(w.config.componentAppid, appid))!;
        expect(rec.accessExpiresAt! - w.sandbox.clock.now(), `minute ${minute}, ${appid}`).toBeGreaterThan(0);
      }
    }
    // The busy authorizer failed once and was not retried before its 5-minute backoff.
    expect(busyFailures).toHaveLength(1);
    // Spread: the eight authorizers did not all refresh in the same minute.
    expect(refreshMinutes.size).toBeGreaterThan(3);
    // Paced: with a budget of 1 per 30 s, no two refreshes are scheduled less than 30 s apart.
    const gaps = scheduled.slice(1).map((t, i) => t - scheduled[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(30_000);
    for (const appid of appids) {
      // ~6 h / (2 h − 10..25 min) ≈ 3–4 refreshes each, not one per tick.
      expect(w.sandbox.counters.get(AAT, appid)).toBeGreaterThanOrEqual(3);
      expect(w.sandbox.counters.get(AAT, appid)).toBeLessThanOrEqual(appid === busy ? 9 : 5);
    }
    expect((await w.store.getAuthorizer(w.config.componentAppid, busy))?.status).toBe('authorized');
  }, 180_000);
});

describe('Redis token cache', () => {
  const redisUrl = process.env.WXOPEN_TEST_REDIS_URL;
  it.skipIf(!redisUrl)('serves the component token from Redis, sealed, and drops it when WeChat rejects it', async () => {
    const { Redis } = await import('ioredis');
    const { RedisTokenCache } = await import('../../src/lock/token-cache.js');
    const prefix = `wxopen:test:${process.pid}:${Date.now()}:`;
    const redis = new Redis(redisUrl!);
    w = await startWorld({ platform: { cache: new RedisTokenCache(redis, prefix) } });
    try {
      await withTicket(w);
      const token = await w.platform.componentToken();
      const key = `${prefix}cat:${w.config.componentAppid}:${w.platform.ctx.apiNamespace}`;
      const cached = await redis.get(key);
      expect(cached).toBeTruthy();
      expect(cached).not.toContain(token);
      expect(await redis.pttl(key)).toBeGreaterThan(7_000_000);
      // Another instance starting cold reads Redis, not WeChat and not even the store.
      const getComponentToken = w.store.getComponentToken.bind(w.store);
      let storeReads = 0;
      w.store.getComponentToken = async (c) => {
        storeReads++;
        return getComponentToken(c);
      };
      const { Platform } = await import('../../src/platform.js');
      const other = new Platform({ config: w.config, store: w.store, clock: w.sandbox.clock, cache: new RedisTokenCache(redis, prefix) });
      expect(await other.componentToken()).toBe(token);
      expect(storeReads).toBe(0);
      await other.component.invalidate((await other.component.info()).obtainedAt);
      expect(await redis.get(key)).toBeNull();
      await other.close();
      // Another environment (a different API host) with the same component appid never reads it.
      const foreign = new Platform({ config: { ...w.config, apiBase: 'http://127.0.0.1:9' }, store: w.store, clock: w.sandbox.clock, cache: new RedisTokenCache(redis, prefix) });
      expect(foreign.ctx.apiNamespace).not.toBe(w.platform.ctx.apiNamespace);
      await foreign.close();
    } finally {
      redis.disconnect();
    }
  });
});
