/**
 * Behaviours of the credential layer that a one-line change in src/ could silently drop: the token-error
 * retries, the 61005/61006 retry with a newer ticket, refresh-token recovery from the log, flagging after a
 * failed recovery, and finding a code another instance exchanged. Everything runs against the sandbox with
 * a frozen base clock (only `advance()` moves time), so expiry and rotation are exact.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ReauthorizationRequiredError, WeChatApiError } from '../../src/errors.js';
import { Platform } from '../../src/platform.js';
import { createLogger } from '../../src/util/logger.js';
import { captureLogger } from '../helpers/logs.js';
import { startWorld, type World, type WorldOptions } from '../helpers/world.js';

const TOKEN = '/cgi-bin/component/api_component_token';
const AAT = '/cgi-bin/component/api_authorizer_token';
const LIST = '/cgi-bin/component/api_get_authorizer_list';
const QUERY_AUTH = '/cgi-bin/component/api_query_auth';
const MINUTE = 60_000;
/** A fixed instant: the sandbox clock is this plus what the test advanced. */
const T0 = Date.UTC(2026, 0, 15, 2, 0, 0);

let w: World;
const extra: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of extra.splice(0)) await close();
  await w?.close();
});

function world(options: WorldOptions = {}): Promise<World> {
  return startWorld({ ...options, sandbox: { clock: { now: () => T0 }, ...options.sandbox } });
}

async function ready(world: World, type: 'official' | 'miniprogram' = 'miniprogram'): Promise<string> {
  await world.sandbox.pushTicket();
  await world.settle();
  const appid = world.sandbox.accounts.find((a) => a.type === type && a.testGroup === undefined)!.appid;
  await world.sandbox.authorize(appid);
  await world.settle();
  expect((await world.store.getAuthorizer(world.config.componentAppid, appid))?.status).toBe('authorized');
  return appid;
}

/** Someone else asks WeChat for a component token: ours becomes "the previous one", dead 5 minutes later. */
async function rotateComponentTokenBehindOurBack(world: World): Promise<void> {
  const ticket = (await world.store.getTicket(world.config.componentAppid))!.ticket;
  const res = await fetch(`${world.sandbox.url}${TOKEN}`, {
    method: 'POST',
    body: JSON.stringify({ component_appid: world.config.componentAppid, component_appsecret: world.config.componentSecret, component_verify_ticket: ticket }),
  });
  expect(await res.json()).toHaveProperty('component_access_token');
  await world.sandbox.advance(6 * MINUTE);
}

function refreshTokenOf(world: World, appid: string, enc: string): string {
  return world.platform.ctx.box.open(enc, `${world.config.componentAppid}:${appid}`);
}

describe('token-error retries', () => {
  it('callComponent: a component token WeChat rejects (40001) is replaced and the call retried once', async () => {
    w = await world();
    await ready(w);
    const before = await w.platform.componentToken();
    await rotateComponentTokenBehindOurBack(w);
    const tokenCalls = w.sandbox.counters.get(TOKEN);
    const r = await w.platform.createPreAuthCode();
    expect(r.preAuthCode).toMatch(/.+/);
    // The first attempt was refused, ours fetched one new token, the second attempt succeeded.
    expect(w.sandbox.counters.get('/cgi-bin/component/api_create_preauthcode')).toBe(2);
    expect(w.sandbox.counters.get(TOKEN)).toBe(tokenCalls + 1);
    expect(await w.platform.componentToken()).not.toBe(before);
  });

  it('api_authorizer_token answered 40001 for the component token is retried with a fresh component token', async () => {
    w = await world();
    const appid = await ready(w);
    await w.platform.componentToken();
    await rotateComponentTokenBehindOurBack(w);
    const tokenCalls = w.sandbox.counters.get(TOKEN);
    const aat = w.sandbox.counters.get(AAT, appid);
    expect(await w.platform.authorizerToken(appid, { force: true })).toMatch(/.+/);
    expect(w.sandbox.counters.get(AAT, appid)).toBe(aat + 2);
    expect(w.sandbox.counters.get(TOKEN)).toBe(tokenCalls + 1);
    expect((await w.store.getAuthorizer(w.config.componentAppid, appid))?.status).toBe('authorized');
  });

  it('61006: when a newer ticket arrived while the request was in flight, retries once with it', async () => {
    let onFirstTokenRequest: (() => Promise<void>) | undefined;
    const gatedFetch: typeof fetch = async (input, init) => {
      if (String(input).includes(TOKEN) && onFirstTokenRequest) {
        const hook = onFirstTokenRequest;
        onFirstTokenRequest = undefined;
        await hook();
      }
      return fetch(input, init);
    };
    w = await world({ platform: { fetch: gatedFetch } });
    await w.sandbox.pushTicket();
    await w.settle();
    const real = (await w.store.getTicket(w.config.componentAppid))!;
    // The newest stored ticket is one WeChat never issued: the first request is answered 61006…
    await w.store.recordTicket({ componentAppid: w.config.componentAppid, ticket: 'ticket@@@not-issued-by-wechat', createTime: real.createTime + 1, receivedAt: w.sandbox.clock.now() });
    // …and while it is in flight WeChat pushes a genuine, newer one.
    onFirstTokenRequest = async () => {
      await w.sandbox.advance(5_000);
      await w.sandbox.pushTicket();
      await w.settle();
    };
    expect(await w.platform.componentToken()).toMatch(/.+/);
    expect(w.sandbox.counters.get(TOKEN)).toBe(2);
    expect(w.sandbox.counters.get('/cgi-bin/component/api_start_push_ticket')).toBe(0);
  });
});

describe('refresh-token recovery (61023)', () => {
  it('tries the logged refresh tokens when the authorizer list cannot help', async () => {
    const { logger, lines } = captureLogger('info');
    w = await world({ logger, sandbox: { refreshTokenMode: 'rotate', refreshTokenGraceMs: 0 } });
    const appid = await ready(w);
    const recovered: string[] = [];
    w.platform.events.on('authorizer.refresh_token_recovered', (e) => recovered.push(e.source));
    const first = (await w.store.getAuthorizer(w.config.componentAppid, appid))!;
    // WeChat rotates RT1 → RT2; we commit RT2 (and log it).
    await w.platform.authorizerToken(appid, { force: true });
    const second = (await w.store.getAuthorizer(w.config.componentAppid, appid))!;
    expect(refreshTokenOf(w, appid, second.refreshTokenEnc!)).not.toBe(refreshTokenOf(w, appid, first.refreshTokenEnc!));
    // The row ends up holding the dead RT1 again (e.g. restored from a backup); only the log knows RT2,
    // and api_get_authorizer_list is down.
    expect(await w.store.replaceRefreshToken(w.config.componentAppid, appid, second.version, first.refreshTokenEnc!, 'test', w.sandbox.clock.now())).toBe(true);
    w.sandbox.faults.set(LIST, { type: 'http_error', status: 502 });
    const aat = w.sandbox.counters.get(AAT, appid);
    expect(await w.platform.authorizerToken(appid, { force: true })).toMatch(/.+/);
    expect(recovered).toEqual(['log']);
    expect(w.sandbox.counters.get(LIST)).toBeGreaterThan(0);
    // The operator is told both: the list failed, and which source had the live token.
    const said = (msg: string) => lines.filter((l) => l.msg === msg).map((l) => [l.level, l.authorizerAppid, l.source]);
    expect(said('api_get_authorizer_list failed during refresh-token recovery')).toEqual([[40, appid, undefined]]);
    expect(said('recovered a refresh token WeChat still accepts')).toEqual([[40, appid, 'log']]);
    // RT1 refused (61023), then RT2 from the log accepted.
    expect(w.sandbox.counters.get(AAT, appid)).toBe(aat + 2);
    expect((await w.store.getAuthorizer(w.config.componentAppid, appid))?.status).toBe('authorized');
  });

  it('flags the authorizer (61023, event, metric) when neither the list nor the log has a live token', async () => {
    const { logger, lines } = captureLogger('info');
    w = await world({ logger, sandbox: { refreshTokenMode: 'rotate', refreshTokenGraceMs: 0 } });
    const appid = await ready(w);
    const flagged: number[] = [];
    w.platform.events.on('authorizer.needs_reauthorization', (e) => flagged.push(e.errcode));
    // Another party rotates our refresh token at WeChat; we never see the new one, and the list is down.
    const record = (await w.store.getAuthorizer(w.config.componentAppid, appid))!;
    await w.platform.callComponent({ method: 'POST', path: AAT, body: { component_appid: w.config.componentAppid, authorizer_appid: appid, authorizer_refresh_token: refreshTokenOf(w, appid, record.refreshTokenEnc!) } });
    w.sandbox.faults.set(LIST, { type: 'http_error', status: 502 });
    const err = await w.platform.authorizerToken(appid, { force: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReauthorizationRequiredError);
    expect(flagged).toEqual([61023]);
    expect(lines.filter((l) => l.msg === 'authorizer needs re-authorization').map((l) => [l.level, l.authorizerAppid, l.errcode])).toEqual([[50, appid, 61023]]);
    expect(await w.store.getAuthorizer(w.config.componentAppid, appid)).toMatchObject({ status: 'needs_reauthorization', statusReason: expect.stringMatching(/^61023 /) });
    expect(await w.platform.ctx.metrics.registry.getSingleMetricAsString('wxopen_reauthorization_required_total')).toMatch(/errcode="61023"} 1/);
    // No retry loop: WeChat is not asked again.
    const calls = w.sandbox.counters.get(AAT, appid);
    await expect(w.platform.authorizerToken(appid, { force: true })).rejects.toBeInstanceOf(ReauthorizationRequiredError);
    expect(w.sandbox.counters.get(AAT, appid)).toBe(calls);
  });
});

describe('queryAuth across instances', () => {
  it('finds the authorization another instance made with the same code (61010 here)', async () => {
    w = await world();
    await w.sandbox.pushTicket();
    await w.settle();
    const appid = w.sandbox.accounts.find((a) => a.type === 'official')!.appid;
    // The push reaches instance A (the world's server), which exchanges the code and logs the push.
    const { authCode } = await w.sandbox.authorize(appid);
    await w.settle();
    expect(w.sandbox.counters.get(QUERY_AUTH)).toBe(1);
    // A logs the push with the code sealed: B finds it by opening it, not by reading it.
    const [logged] = await w.store.listPushes(w.config.componentAppid, { infoType: 'authorized', limit: 1 });
    expect(logged!.payload).not.toContain(authCode);
    expect(logged!.payload).toContain('wxopen-sealed:v1.');
    // Sealed once: the exchange row holds the very ciphertext the push log holds.
    const row = await w.store.getExchange(w.config.componentAppid, w.platform.exchanges.key(authCode, logged!.createTime));
    expect(row).toMatchObject({ state: 'done' });
    expect(logged!.payload).toContain(`wxopen-sealed:${row!.codeEnc}]]>`);
    // The browser's callback reaches instance B, on the same store.
    const b = new Platform({ config: w.config, store: w.store, clock: w.sandbox.clock, logger: createLogger({ level: 'silent' }), http: { busyBackoffMs: 5 } });
    extra.push(() => b.close());
    const record = await b.queryAuth(authCode, 'callback');
    expect(record).toMatchObject({ authorizerAppid: appid, status: 'authorized' });
    // B's own exchange was refused as already used; it did not flag or re-exchange anything.
    expect(w.sandbox.counters.get(QUERY_AUTH)).toBe(2);
    const err = await w.platform.callComponent({ method: 'POST', path: QUERY_AUTH, body: { component_appid: w.config.componentAppid, authorization_code: authCode } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeChatApiError);
    expect([61009, 61010]).toContain((err as WeChatApiError).errcode);
  });
});
