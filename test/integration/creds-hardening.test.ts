import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { signPush } from '../../src/crypto/reply.js';
import { ReauthorizationRequiredError, UpstreamInvalidError } from '../../src/errors.js';
import { createStore } from '../../src/store/create-store.js';
import type { KyselyStore } from '../../src/store/kysely/kysely-store.js';
import { buildXml, type XmlInputObject } from '../../src/xml/build.js';
import { startWorld, type World } from '../helpers/world.js';

const TOKEN = '/cgi-bin/component/api_component_token';
const AAT = '/cgi-bin/component/api_authorizer_token';
const LIST = '/cgi-bin/component/api_get_authorizer_list';
const QUERY_AUTH = '/cgi-bin/component/api_query_auth';
const HOUR = 3600_000;
const UNREACHABLE = { componentPushUrl: 'http://127.0.0.1:9/wechat/component', authorizerPushUrl: 'http://127.0.0.1:9/x/$APPID$' };

let w: World;
afterEach(async () => {
  await w?.close();
});

async function withTicket(world: World): Promise<void> {
  await world.sandbox.pushTicket();
  await world.settle();
}

const nowS = (world: World) => Math.floor(world.sandbox.clock.now() / 1000);

/** POSTs a push exactly as WeChat would (signed, encrypted), with whatever CreateTime the test wants. */
async function push(world: World, fields: XmlInputObject): Promise<string> {
  const signed = signPush(buildXml({ AppId: world.config.componentAppid, ...fields }), {
    token: world.config.token,
    encodingAesKey: world.config.encodingAesKeys[0]!,
    appid: world.config.componentAppid,
    timestamp: String(nowS(world)),
  });
  const res = await fetch(`${world.url}/wechat/component?${new URLSearchParams(signed.query)}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: signed.body });
  const text = await res.text();
  await world.settle();
  return text;
}

async function until(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('upstream answers are validated', () => {
  it('an authorizer list without a numeric total_count ends recovery after a bounded number of calls (no paging loop)', async () => {
    w = await startWorld({ sandbox: { refreshTokenMode: 'rotate', refreshTokenGraceMs: 0 } });
    await withTicket(w);
    const account = w.sandbox.accounts.find((a) => a.type === 'miniprogram')!;
    await w.sandbox.authorize(account.appid);
    await w.settle();
    const appid = account.appid;
    // Our refresh token dies behind our back (61023), so recovery asks api_get_authorizer_list…
    const record = (await w.store.getAuthorizer(w.config.componentAppid, appid))!;
    const art = w.platform.ctx.box.open(record.refreshTokenEnc!, `${w.config.componentAppid}:${appid}`);
    await w.platform.callComponent({ method: 'POST', path: AAT, body: { component_appid: w.config.componentAppid, authorizer_appid: appid, authorizer_refresh_token: art } });
    // …which answers a page of other accounts and no total_count, forever.
    w.sandbox.faults.set(LIST, { type: 'body', body: { list: [{ authorizer_appid: 'wx00000000000000aa', refresh_token: 'x' }] } });
    w.sandbox.counters.reset();
    await expect(w.platform.authorizerToken(appid, { force: true })).rejects.toBeInstanceOf(ReauthorizationRequiredError);
    expect(w.sandbox.counters.get(LIST)).toBe(1);
  });

  it('garbage from api_component_token is a typed upstream error naming the path and the field', async () => {
    w = await startWorld();
    await withTicket(w);
    w.sandbox.faults.set(TOKEN, { type: 'body', body: { expires_in: 7200 }, times: 1 });
    const err = await w.platform.componentToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamInvalidError);
    expect((err as UpstreamInvalidError).code).toBe('WXO_ERR_UPSTREAM_INVALID');
    expect((err as Error).message).toContain('/cgi-bin/component/api_component_token');
    expect((err as UpstreamInvalidError).field).toBe('component_access_token');
    // The next answer is real again and is used.
    expect(await w.platform.componentToken()).toMatch(/.+/);
  });
});

describe('no authorization is lost', () => {
  it('a -1 on api_query_auth is not cached: the pushed code is retried and a later callback with the same code succeeds', async () => {
    w = await startWorld({ platform: { exchanges: { firstRetryMs: 50 } } });
    await withTicket(w);
    const appid = w.sandbox.accounts.find((a) => a.type === 'official')!.appid;
    w.sandbox.faults.set(QUERY_AUTH, { type: 'system_busy', times: 1 });
    const { authCode } = await w.sandbox.authorize(appid);
    await w.settle();
    await until(async () => (await w.store.getAuthorizer(w.config.componentAppid, appid))?.status === 'authorized');
    // The row's key starts with the push's CreateTime, as stored with the push.
    const [stored] = await w.store.listPushes(w.config.componentAppid, { infoType: 'authorized', limit: 1 });
    const key = w.platform.exchanges.key(authCode, stored!.createTime);
    await until(async () => (await w.store.getExchange(w.config.componentAppid, key))?.state !== 'pending');
    expect(await w.store.getExchange(w.config.componentAppid, key)).toMatchObject({ state: 'done', attempts: 2 });
    expect(await w.store.getAuthorizer(w.config.componentAppid, appid)).toMatchObject({ status: 'authorized' });
    expect(w.sandbox.counters.get(QUERY_AUTH)).toBe(2);
    // The browser's callback carries the same (now used) code: it finds the stored authorization.
    const viaCallback = await w.platform.queryAuth(authCode, 'callback');
    expect(viaCallback.authorizerAppid).toBe(appid);
    // Only in-flight exchanges are held in memory.
    expect(w.platform.exchangesInFlight).toBe(0);
  });
});

describe('authorization events apply in CreateTime order', () => {
  it('a late unauthorized older than the current authorization does not revoke it; a newer one does', async () => {
    w = await startWorld();
    await withTicket(w);
    const appid = w.sandbox.accounts.find((a) => a.type === 'miniprogram')!.appid;
    await w.sandbox.advance(60_000);
    const before = nowS(w);
    await w.sandbox.authorize(appid);
    await w.settle();
    // Stamped with the push's CreateTime.
    const authorizedAt = (await w.store.getAuthorizer(w.config.componentAppid, appid))!.eventTime!;
    expect(authorizedAt).toBeGreaterThanOrEqual(before);
    expect(authorizedAt).toBeLessThanOrEqual(nowS(w));
    expect(await push(w, { CreateTime: authorizedAt - 30, InfoType: 'unauthorized', AuthorizerAppid: appid })).toBe('success');
    const kept = await w.store.getAuthorizer(w.config.componentAppid, appid);
    expect(kept?.status).toBe('authorized');
    expect(kept?.refreshTokenEnc).not.toBeNull();
    expect(await w.platform.authorizerToken(appid)).toMatch(/.+/);

    await w.sandbox.advance(5_000);
    expect(await push(w, { CreateTime: nowS(w), InfoType: 'unauthorized', AuthorizerAppid: appid })).toBe('success');
    expect(await w.store.getAuthorizer(w.config.componentAppid, appid)).toMatchObject({ status: 'unauthorized', refreshTokenEnc: null });
  });

  it('a late authorized does not overwrite the permissions of a newer updateauthorized', async () => {
    w = await startWorld();
    await withTicket(w);
    const account = w.sandbox.accounts.find((a) => a.type === 'official')!;
    const all = (await import('../../src/sandbox/permissions.js')).FUNC_SETS.official.map((f) => f.id);
    // WeChat's pushes are held up: we deliver them ourselves, newest first.
    w.sandbox.setPlatform(UNREACHABLE);
    const first = await w.sandbox.authorize(account.appid, all.slice(0, 2));
    const t1 = nowS(w);
    await w.sandbox.advance(60_000);
    const second = await w.sandbox.authorize(account.appid, all.slice(0, 4));
    const t2 = nowS(w);
    expect(second.event).toBe('updateauthorized');
    const fields = (type: string, code: string, at: number) => ({
      CreateTime: at,
      InfoType: type,
      AuthorizerAppid: account.appid,
      AuthorizationCode: code,
      AuthorizationCodeExpiredTime: at + 600,
      PreAuthCode: 'preauthcode@@@x',
    });
    expect(await push(w, fields('updateauthorized', second.authCode, t2))).toBe('success');
    expect((await w.store.getAuthorizer(w.config.componentAppid, account.appid))?.funcInfo).toEqual(all.slice(0, 4));
    // WeChat answers the older code with the grant it was issued for (the sandbox would answer the current one).
    const olderGrant = {
      authorization_info: {
        authorizer_appid: account.appid,
        authorizer_access_token: 'authorizer_access_token@@@older',
        expires_in: 7200,
        authorizer_refresh_token: 'refreshtoken@@@older',
        func_info: all.slice(0, 2).map((id) => ({ funcscope_category: { id } })),
      },
    };
    w.sandbox.faults.set(QUERY_AUTH, { type: 'body', body: olderGrant, times: 1 });
    const exchangesBefore = w.sandbox.counters.get(QUERY_AUTH);
    expect(await push(w, fields('authorized', first.authCode, t1))).toBe('success');
    await w.settle();
    // The older code is never sent: its row is closed as stale, one warning names both event times.
    expect(w.sandbox.counters.get(QUERY_AUTH)).toBe(exchangesBefore);
    const staleRow = await w.store.getExchange(w.config.componentAppid, w.platform.exchanges.key(first.authCode, t1));
    expect(staleRow).toMatchObject({ state: 'done', attempts: 1 });
    const codeOutcomes = Object.fromEntries((await w.platform.ctx.metrics.codeExchanges.get()).values.map((v) => [v.labels.outcome, v.value]));
    expect(codeOutcomes.stale).toBe(1);
    expect((await w.store.getAuthorizer(w.config.componentAppid, account.appid))?.funcInfo).toEqual(all.slice(0, 4));
    expect((await w.store.getAuthorizer(w.config.componentAppid, account.appid))?.eventTime).toBe(t2);
    // Even when the older exchange races past that check, the conditional write keeps the newer state.
    w.sandbox.faults.set(QUERY_AUTH, { type: 'body', body: olderGrant, times: 1 });
    await w.platform.queryAuth(first.authCode, 'push', t1);
    const after = (await w.store.getAuthorizer(w.config.componentAppid, account.appid))!;
    expect(after).toMatchObject({ funcInfo: all.slice(0, 4), eventTime: t2 });
    expect(w.platform.ctx.box.open(after.refreshTokenEnc!, `${w.config.componentAppid}:${account.appid}`)).not.toBe('refreshtoken@@@older');
  });
});

describe('ticket ordering', () => {
  it('one authentic ticket with a far-future CreateTime does not supersede the tickets after it', async () => {
    w = await startWorld();
    await withTicket(w);
    expect(await push(w, { CreateTime: nowS(w) + 10 * 24 * 3600, InfoType: 'component_verify_ticket', ComponentVerifyTicket: 'ticket@@@from-the-future' })).toBe('success');
    await w.sandbox.advance(10 * 60_000);
    const next = await w.sandbox.pushTicket();
    await w.settle();
    const stored = await w.store.getTicket(w.config.componentAppid);
    expect(stored?.ticket).toBe(next);
    expect(stored?.createTime).toBeLessThanOrEqual(nowS(w));
  });
});

describe('a store that cannot write', () => {
  it('/healthz says read_only with 503, and 20 /authorize/go cost one component_access_token, written when the store recovers', async () => {
    // A SQLite file turned read-only under the running server (query_only: chmod does not stop root).
    const dbUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'wxopen-ro-')), 'wx.db')}`;
    w = await startWorld({ store: () => createStore(dbUrl), env: { WXOPEN_DATABASE_URL: dbUrl } });
    await withTicket(w);
    const db = (w.store as KyselyStore).db;
    expect((await fetch(`${w.url}/healthz`)).status).toBe(200);
    await sql`pragma query_only = on`.execute(db);
    await w.sandbox.advance(6_000);
    const health = await fetch(`${w.url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'error', store: 'read_only', database: { reachable: true, writable: false } });

    w.sandbox.counters.reset();
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      // Past the 30 s per-process copy: the token must come from the in-memory holding, not a new call.
      if (i === 10) await w.sandbox.advance(40_000);
      const res = await fetch(`${w.url}/authorize/go?auth_type=3`, { redirect: 'manual' });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    // 429 allowed should link creation be rate-limited; never a failure.
    expect(statuses.every((s) => s === 302 || s === 429)).toBe(true);
    expect(statuses[0]).toBe(302);
    expect(w.sandbox.counters.get(TOKEN)).toBe(1);
    expect(await w.store.getComponentToken(w.config.componentAppid)).toBeUndefined();

    await sql`pragma query_only = off`.execute(db);
    await w.sandbox.advance(40_000);
    const token = await w.platform.componentToken();
    const stored = await w.store.getComponentToken(w.config.componentAppid);
    expect(w.platform.ctx.box.open(stored!.tokenEnc, w.config.componentAppid)).toBe(token);
    expect(w.sandbox.counters.get(TOKEN)).toBe(1);
    expect((await fetch(`${w.url}/healthz`)).status).toBe(200);
  });

  it('keeps a refreshed authorizer token in memory while the store refuses it', async () => {
    w = await startWorld();
    await withTicket(w);
    const appid = w.sandbox.accounts.find((a) => a.type === 'miniprogram')!.appid;
    await w.sandbox.authorize(appid);
    await w.settle();
    await w.platform.componentToken();
    await w.sandbox.advance(2 * HOUR - 15 * 60_000);
    await w.platform.componentToken();
    await w.sandbox.advance(14 * 60_000);
    const db = (w.store as KyselyStore).db;
    await sql`pragma query_only = on`.execute(db);
    const t = await w.platform.authorizerToken(appid);
    await w.sandbox.advance(40_000);
    expect(await w.platform.authorizerToken(appid)).toBe(t);
    expect(w.sandbox.counters.get(AAT, appid)).toBe(1);
    await sql`pragma query_only = off`.execute(db);
    await w.sandbox.advance(6_000);
    expect(await w.platform.authorizerToken(appid)).toBe(t);
    const stored = await w.store.getAuthorizer(w.config.componentAppid, appid);
    expect(w.platform.ctx.box.open(stored!.accessTokenEnc!, `${w.config.componentAppid}:${appid}`)).toBe(t);
  });
});
