/**
 * The token managers' forced refreshes (used by `wxopen token --force` and the dashboard), their
 * bookkeeping helpers and the `token.refreshed` event, against the sandbox with a frozen base clock.
 * A forced refresh obtains first and commits after, so a failure leaves the stored token in place.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ReauthorizationRequiredError, UpstreamError } from '../../src/errors.js';
import { captureLogger } from '../helpers/logs.js';
import { startWorld, type World } from '../helpers/world.js';

const TOKEN = '/cgi-bin/component/api_component_token';
const AAT = '/cgi-bin/component/api_authorizer_token';
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 15, 2, 0, 0);

let w: World;
afterEach(async () => {
  await w?.close();
});

async function ready(): Promise<string> {
  w = await startWorld({ sandbox: { clock: { now: () => T0 } } });
  await w.sandbox.pushTicket();
  await w.settle();
  const appid = w.sandbox.accounts.find((a) => a.type === 'miniprogram' && a.testGroup === undefined)!.appid;
  await w.sandbox.authorize(appid);
  await w.settle();
  return appid;
}

describe('forced refreshes', () => {
  it('component: a new token while the stored one is still valid, committed and served from then on', async () => {
    await ready();
    const first = await w.platform.component.info();
    await w.sandbox.advance(MINUTE);
    const calls = w.sandbox.counters.get(TOKEN);
    const forced = await w.platform.component.forceRefresh();
    expect(forced.token).not.toBe(first.token);
    expect(forced.obtainedAt).toBe(w.sandbox.clock.now());
    expect(forced.expiresAt).toBe(forced.obtainedAt + 7200_000);
    expect(w.sandbox.counters.get(TOKEN)).toBe(calls + 1);
    expect(await w.platform.component.get()).toBe(forced.token);
    expect((await w.store.getComponentToken(w.config.componentAppid))?.obtainedAt).toBe(forced.obtainedAt);
    expect(w.platform.component.obtainedAtOf(forced.token)).toBe(forced.obtainedAt);
    expect(w.platform.component.obtainedAtOf(first.token)).toBeUndefined();
  });

  it('component: when WeChat fails, the stored token stays and is still served', async () => {
    await ready();
    const first = await w.platform.component.info();
    await w.sandbox.advance(MINUTE);
    w.sandbox.faults.set(TOKEN, { type: 'http_error', status: 502 });
    await expect(w.platform.component.forceRefresh()).rejects.toBeInstanceOf(UpstreamError);
    w.sandbox.faults.clear();
    expect(await w.platform.component.get()).toBe(first.token);
    expect((await w.store.getComponentToken(w.config.componentAppid))?.obtainedAt).toBe(first.obtainedAt);
  });

  it('authorizer: a new token with the next version; versionOf names the version of a token handed out; forget drops it', async () => {
    const appid = await ready();
    const first = await w.platform.authorizers.info(appid);
    const calls = w.sandbox.counters.get(AAT, appid);
    const forced = await w.platform.authorizers.forceRefresh(appid);
    expect(forced.token).not.toBe(first.token);
    expect(forced.version).toBe(first.version + 1);
    expect(w.sandbox.counters.get(AAT, appid)).toBe(calls + 1);
    expect(await w.platform.authorizers.get(appid)).toBe(forced.token);
    expect((await w.store.getAuthorizer(w.config.componentAppid, appid))?.version).toBe(forced.version);
    expect(w.platform.authorizers.versionOf(appid, forced.token)).toBe(forced.version);
    expect(w.platform.authorizers.versionOf(appid, first.token)).toBeUndefined();
    w.platform.authorizers.forget(appid);
    expect(w.platform.authorizers.versionOf(appid, forced.token)).toBeUndefined();
    // Forgotten from memory only: the store still serves the same token, without a call.
    expect(await w.platform.authorizers.get(appid)).toBe(forced.token);
    expect(w.sandbox.counters.get(AAT, appid)).toBe(calls + 1);
  });

  it('authorizer: when WeChat fails, the stored token stays and is still served', async () => {
    const appid = await ready();
    const first = await w.platform.authorizers.info(appid);
    w.sandbox.faults.set(AAT, { type: 'http_error', status: 502 });
    await expect(w.platform.authorizers.forceRefresh(appid)).rejects.toBeInstanceOf(UpstreamError);
    w.sandbox.faults.clear();
    expect(await w.platform.authorizers.get(appid)).toBe(first.token);
    expect((await w.store.getAuthorizer(w.config.componentAppid, appid))?.version).toBe(first.version);
  });
});

describe('token.refreshed', () => {
  it('is emitted once per new token, component and authorizer, with its expiry', async () => {
    w = await startWorld({ sandbox: { clock: { now: () => T0 } } });
    const seen: unknown[] = [];
    w.platform.events.on('token.refreshed', (e) => seen.push(e));
    await w.sandbox.pushTicket();
    await w.settle();
    const appid = w.sandbox.accounts.find((a) => a.type === 'miniprogram' && a.testGroup === undefined)!.appid;
    await w.sandbox.authorize(appid);
    await w.settle();
    const component = await w.platform.component.info();
    await w.platform.component.info();
    seen.length = 0;
    const forced = await w.platform.authorizers.forceRefresh(appid);
    expect(seen).toEqual([{ kind: 'authorizer', appid, expiresAt: forced.expiresAt }]);
    await w.sandbox.advance(MINUTE);
    const c2 = await w.platform.component.forceRefresh();
    expect(seen.at(-1)).toEqual({ kind: 'component', appid: w.config.componentAppid, expiresAt: c2.expiresAt });
    expect(c2.expiresAt).toBeGreaterThan(component.expiresAt);
    expect(seen).toHaveLength(2);
  });
});

describe('an authorization revoked while its push was lost', () => {
  it('61003 from api_authorizer_token flags the authorizer once (status, reason, event, metric) and WeChat is not asked again', async () => {
    const appid = await ready();
    const flagged: unknown[] = [];
    w.platform.events.on('authorizer.needs_reauthorization', (e) => flagged.push(e));
    // The merchant revokes; the unauthorized push never reaches us.
    w.sandbox.setPlatform({ componentPushUrl: 'http://127.0.0.1:9/lost', authorizerPushUrl: 'http://127.0.0.1:9/lost/$APPID$' });
    await w.sandbox.revoke(appid);
    const err = await w.platform.authorizers.info(appid, { force: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReauthorizationRequiredError);
    expect(flagged).toEqual([{ authorizerAppid: appid, errcode: 61003, errmsg: expect.any(String) }]);
    const row = await w.store.getAuthorizer(w.config.componentAppid, appid);
    expect(row?.status).toBe('needs_reauthorization');
    expect(row?.statusReason).toMatch(/^61003 /);
    expect(await w.platform.ctx.metrics.registry.getSingleMetricAsString('wxopen_reauthorization_required_total')).toMatch(/errcode="61003"} 1/);
    const calls = w.sandbox.counters.get(AAT, appid);
    await expect(w.platform.authorizers.info(appid, { force: true })).rejects.toBeInstanceOf(ReauthorizationRequiredError);
    expect(w.sandbox.counters.get(AAT, appid)).toBe(calls);
  });
});

describe('flagging', () => {
  it('keeps the first 200 characters of the reason and logs the flag as an error', async () => {
    const { logger, lines } = captureLogger('info');
    w = await startWorld({ sandbox: { clock: { now: () => T0 } }, logger });
    await w.sandbox.pushTicket();
    await w.settle();
    const appid = w.sandbox.accounts.find((a) => a.type === 'miniprogram' && a.testGroup === undefined)!.appid;
    await w.sandbox.authorize(appid);
    await w.settle();
    const errmsg = `api unauthorized ${'x'.repeat(300)}`;
    w.sandbox.faults.set(AAT, { type: 'body', body: { errcode: 61003, errmsg }, appid });
    await expect(w.platform.authorizers.info(appid, { force: true })).rejects.toBeInstanceOf(ReauthorizationRequiredError);
    const row = await w.store.getAuthorizer(w.config.componentAppid, appid);
    expect(row?.statusReason).toBe(`61003 ${errmsg}`.slice(0, 200));
    const errors = lines.filter((l) => l.level === 50);
    expect(errors.map((l) => [l.msg, l.authorizerAppid, l.errcode])).toEqual([['authorizer needs re-authorization', appid, 61003]]);
  });
});

describe('refresh-token recovery pages the authorizer list', () => {
  const LIST = '/cgi-bin/component/api_get_authorizer_list';
  async function deadRefreshToken(listBody: unknown): Promise<number> {
    const appid = await ready();
    w.sandbox.faults.set(AAT, { type: 'body', body: { errcode: 61023, errmsg: 'invalid refresh_token' }, appid });
    w.sandbox.faults.set(LIST, { type: 'body', body: listBody });
    const before = w.sandbox.counters.get(LIST);
    await expect(w.platform.authorizers.info(appid, { force: true })).rejects.toBeInstanceOf(ReauthorizationRequiredError);
    expect((await w.store.getAuthorizer(w.config.componentAppid, appid))?.status).toBe('needs_reauthorization');
    return w.sandbox.counters.get(LIST) - before;
  }

  it('reads the next page while total_count says there is one', async () => {
    expect(await deadRefreshToken({ errcode: 0, total_count: 1000, list: [{ authorizer_appid: 'wxsomeoneelse', refresh_token: 'r' }] })).toBe(2);
  });

  it('stops at an empty page', async () => {
    expect(await deadRefreshToken({ errcode: 0, total_count: 1000, list: [] })).toBe(1);
  });
});
