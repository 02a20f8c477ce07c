/**
 * Two instances on one store, the merchant's browser on instance B, WeChat's `authorized` push on instance A.
 * A exchanges the code first and commits it only later (a slow transaction): B's own api_query_auth answers
 * 61009 before A's authorization is in the store. B must wait for it, reading only the store, and show the
 * merchant 授权成功 — not 授权码无效 for an authorization that worked. A code nobody exchanged still gets the
 * error page, within the wait's bound. The other way round (the callback wins, the push loses) the loser
 * logs info, not a warning that reads as a failure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { USED_CODE_PAUSES_MS } from '../../src/credentials/exchanged-elsewhere.js';
import { Platform } from '../../src/platform.js';
import { buildApp, type WxOpenApp } from '../../src/server/app.js';
import type { Store } from '../../src/store/types.js';
import { createStore } from '../../src/store/create-store.js';
import { captureLogger } from '../helpers/logs.js';
import { startWorld, type World } from '../helpers/world.js';
import { formOf } from '../helpers/sandbox-form.js';

const QUERY_AUTH = '/cgi-bin/component/api_query_auth';
/** How long after WeChat answered it the winning instance takes to commit the authorization. */
const A_COMMIT_DELAY_MS = 600;
const WAIT_BOUND_MS = USED_CODE_PAUSES_MS.reduce((a, b) => a + b, 0);

let w: World | undefined;
let a: { built: WxOpenApp; platform: Platform } | undefined;
afterEach(async () => {
  if (a) {
    await a.built.app.close();
    await a.built.context.pushes.drain();
    await a.platform.close();
  }
  await w?.close();
  a = undefined;
  w = undefined;
});

/** `base` with `applyAuthorization` committing A_COMMIT_DELAY_MS after it was called (`entered` says when). */
function slowCommits(base: Store, entered: () => void): Store {
  return wrap(base, 'applyAuthorization', async (f, args) => {
    entered();
    await new Promise((r) => setTimeout(r, A_COMMIT_DELAY_MS));
    return f(...args);
  });
}

/** `base` with `recordPush` held until `gate` opens: the push reaches this instance late. */
function latePushes(base: Store, gate: Promise<void>): Store {
  return wrap(base, 'recordPush', async (f, args) => {
    await gate;
    return f(...args);
  });
}

/** The real store behind a proxy (methods bound to it) with one method replaced. */
function wrap(base: Store, name: keyof Store, replacement: (f: (...args: unknown[]) => unknown, args: unknown[]) => Promise<unknown>): Store {
  return new Proxy(base, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      const f = (v as (...args: unknown[]) => unknown).bind(target);
      return prop === name ? (...args: unknown[]) => replacement(f, args) : f;
    },
  });
}

/**
 * Instance B is the world's server (the merchant's browser lands there); instance A gets WeChat's pushes.
 * Both on one store, each through its own view of it (`bStore`, `aStore`).
 */
async function twoInstances(views: { aStore?: (base: Store) => Store; bStore?: (base: Store) => Store } = {}) {
  const b = captureLogger('info');
  const base = await createStore('sqlite::memory:');
  const world = await startWorld({ logger: b.logger, store: async () => views.bStore?.(base) ?? base });
  w = world;
  const store = views.aStore?.(base) ?? base;
  const config = { ...world.config };
  const aLog = captureLogger('info');
  const platform = new Platform({ config, store, logger: aLog.logger, clock: world.sandbox.clock, http: { busyBackoffMs: 5 } });
  const built = await buildApp({ config, store, logger: aLog.logger, clock: world.sandbox.clock, platform });
  a = { built, platform };
  await built.app.listen({ port: 0, host: '127.0.0.1' });
  const address = built.app.server.address();
  const aUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  world.sandbox.setPlatform({ componentPushUrl: `${aUrl}/wechat/component`, authorizerPushUrl: `${aUrl}/wechat/authorizer/$APPID$` });
  await world.sandbox.pushTicket();
  await world.sandbox.settled();
  await built.context.pushes.drain();
  return { world, base, a: built, aLines: aLog.lines, bLines: b.lines };
}

/** A signed state from instance B's /authorize/go, as the merchant's browser carries it to the callback. */
async function stateFrom(world: World): Promise<string> {
  const go = await fetch(`${world.url}/authorize/go?auth_type=2`, { redirect: 'manual' });
  expect(go.status).toBe(302);
  return new URL(new URL(go.headers.get('location')!).searchParams.get('redirect_uri')!).searchParams.get('state')!;
}

describe('authorization callback racing another instance for the same code', () => {
  it('the merchant sees 授权成功 when the other instance commits a few hundred ms after our 61009', async () => {
    let entered!: () => void;
    const aCommitting = new Promise<void>((r) => (entered = r));
    const { world, bLines } = await twoInstances({ aStore: (base) => slowCommits(base, entered) });
    const state = await stateFrom(world);
    const appid = world.sandbox.accounts.find((x) => x.type === 'official' && x.testGroup === undefined)!.appid;
    // The merchant confirms: the code is pushed to instance A, which exchanges it at once and is slow to commit.
    const { authCode } = await world.sandbox.authorize(appid);
    await aCommitting;
    expect(world.sandbox.counters.get(QUERY_AUTH)).toBe(1);
    expect(await world.store.getAuthorizer(world.config.componentAppid, appid)).toBeUndefined();

    // The browser lands on instance B meanwhile: B's api_query_auth is refused (code used), A commits later.
    const started = Date.now();
    const res = await fetch(`${world.url}/authorize/callback?state=${state}&auth_code=${encodeURIComponent(authCode)}&expires_in=600`);
    const page = await res.text();
    expect(res.status).toBe(200);
    expect(page).toContain('授权成功');
    expect(page).toContain(appid);
    expect(page).not.toContain('授权码无效');
    expect(Date.now() - started).toBeLessThan(WAIT_BOUND_MS + 2_000);
    // B asked WeChat once (61009) and then only read the store.
    expect(world.sandbox.counters.get(QUERY_AUTH)).toBe(2);
    expect(await world.store.getAuthorizer(world.config.componentAppid, appid)).toMatchObject({ status: 'authorized' });
    // Losing the race is normal: one info line, no warning that reads as a failure.
    expect(bLines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    expect(bLines).toContainEqual(expect.objectContaining({ level: 30, msg: 'authorization code exchanged by another instance; using its authorization', authorizerAppid: appid, source: 'callback', errcode: 61009 }));
  });

  it('a code nobody exchanged still gets the error page, within the bound, with one call to WeChat', async () => {
    const { world } = await twoInstances();
    const state = await stateFrom(world);
    const calls = world.sandbox.counters.get(QUERY_AUTH);
    const started = Date.now();
    const res = await fetch(`${world.url}/authorize/callback?state=${state}&auth_code=queryauthcode@@@nobody&expires_in=600`);
    const elapsed = Date.now() - started;
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/授权码无效或已过期[\s\S]*<code>61009<\/code>/);
    expect(elapsed).toBeLessThan(WAIT_BOUND_MS + 2_000);
    expect(world.sandbox.counters.get(QUERY_AUTH)).toBe(calls + 1);
  });

  it('the push path losing the race to the callback logs info, not a failure, and asks WeChat once', async () => {
    let entered!: () => void;
    const bCommitting = new Promise<void>((r) => (entered = r));
    // B (the callback) commits slowly; the push reaches A only once B is committing, so A's exchange is the late one.
    const { world, base, a: aApp, aLines } = await twoInstances({ bStore: (s) => slowCommits(s, entered), aStore: (s) => latePushes(s, bCommitting) });
    const go = await fetch(`${world.url}/authorize/go?auth_type=2`, { redirect: 'manual' });
    const wechatPage = new URL(go.headers.get('location')!);
    const form = formOf(await (await fetch(wechatPage, { headers: { referer: `${world.url}/authorize` } })).text());
    const appid = form.accounts[0]!;
    const body = new URLSearchParams([...form.fields, ['authorizer_appid', appid], ...form.funcs.map((f): [string, string] => ['func', f])]);
    const confirm = await fetch(new URL(form.action, world.sandbox.url), { method: 'POST', body, redirect: 'manual' });
    expect(confirm.status).toBe(302);
    const page = await (await fetch(confirm.headers.get('location')!)).text();
    expect(page).toContain('授权成功');
    await world.sandbox.settled();
    await aApp.context.pushes.drain();
    // A's api_query_auth was refused (B had spent the code); A found B's authorization and closed its row as done.
    expect(world.sandbox.counters.get(QUERY_AUTH)).toBe(2);
    const [push] = await base.listPushes(world.config.componentAppid, { infoType: 'authorized', limit: 1 });
    expect(await base.getExchange(world.config.componentAppid, aApp.context.platform!.exchanges.key(new URL(confirm.headers.get('location')!).searchParams.get('auth_code')!, push!.createTime))).toMatchObject({ state: 'done', attempts: 1 });
    expect(aLines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    expect(aLines).toContainEqual(expect.objectContaining({ level: 30, msg: 'authorization code exchanged by another instance; using its authorization', authorizerAppid: appid, source: 'push', errcode: 61009 }));
  });
});
