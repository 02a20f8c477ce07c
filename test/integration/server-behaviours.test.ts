/**
 * Server behaviours whose loss no other test would notice: the dashboard escapes what WeChat sends us
 * (merchant nicknames are chosen by merchants), /healthz reports a stale ticket, and message-event dedupe
 * keys on who sent which event, not only when.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildAdminApp } from '../../src/admin/app.js';
import { AdminAuth } from '../../src/admin/credentials.js';
import { defaultAccounts } from '../../src/sandbox/index.js';
import type { AuthorizerMessage } from '../../src/server/context.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { startWorld, type World } from '../helpers/world.js';

const T0 = Date.UTC(2026, 0, 15, 2, 0, 0);
const MINUTE = 60_000;
const HOSTILE = `<script>alert("pwned")</script> Tom's "Café" & Bar`;

let w: World | undefined;
let p: TestPlatform | undefined;
afterEach(async () => {
  await w?.close();
  await p?.close();
  w = undefined;
  p = undefined;
});

describe('dashboard', () => {
  it('escapes a merchant nickname WeChat returns (<script>, quotes, ampersand)', async () => {
    const accounts = defaultAccounts();
    const target = accounts.find((a) => a.type === 'official')!;
    target.nickName = HOSTILE;
    w = await startWorld({ sandbox: { accounts, clock: { now: () => T0 } } });
    await w.sandbox.pushTicket();
    await w.settle();
    await w.sandbox.authorize(target.appid);
    await w.settle();
    const record = await w.store.getAuthorizer(w.config.componentAppid, target.appid);
    expect(record?.info?.nick_name).toBe(HOSTILE);
    // The dashboard lives on the operator listener, behind the login.
    const auth = new AdminAuth(w.store, w.config.componentAppid, () => w!.sandbox.clock.now());
    await auth.init('operator-token-for-this-test', { persist: false });
    const { app } = await buildAdminApp({ config: w.config, store: w.store, platform: w.platform, logger: w.context.logger, clock: w.sandbox.clock, metrics: w.context.metrics }, { auth });
    try {
      const login = await app.inject({ method: 'POST', url: '/login', payload: 'token=operator-token-for-this-test', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      const cookie = String(login.headers['set-cookie']).split(';')[0]!;
      for (const url of ['/?lang=en', `/authorizers/${target.appid}?lang=en`]) {
        const html = (await app.inject({ url, headers: { cookie } })).body;
        expect(html, url).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; Tom&#39;s &quot;Café&quot; &amp; Bar');
        expect(html, url).not.toContain('<script>alert');
      }
    } finally {
      await app.close();
    }
  });
});

describe('/healthz', () => {
  it('says fresh up to 30 minutes after the last ticket, stale after, expired after 12 hours', async () => {
    w = await startWorld({ sandbox: { clock: { now: () => T0 } } });
    const health = async () => (await (await fetch(`${w!.url}/healthz`)).json()) as { status: string; ticket: { status: string; ageSeconds: number | null } };
    // Wiring the sandbox to the platform pushed the first ticket, at T0.
    await w.settle();
    expect(await health()).toMatchObject({ status: 'ok', ticket: { status: 'fresh', ageSeconds: 0 } });
    await w.sandbox.advance(30 * MINUTE);
    expect((await health()).ticket).toMatchObject({ status: 'fresh', ageSeconds: 1800 });
    await w.sandbox.advance(1 * MINUTE);
    expect(await health()).toMatchObject({ status: 'degraded', ticket: { status: 'stale', ageSeconds: 1860 } });
    await w.sandbox.advance(12 * 60 * MINUTE);
    expect((await health()).ticket.status).toBe('expired');
  });
});

describe('message-event dedupe', () => {
  it('keeps events with the same CreateTime from different users or of different types, and drops a true retry', async () => {
    const seen: AuthorizerMessage[] = [];
    p = await startTestPlatform({ onMessage: [(m) => void seen.push(m)] });
    // Not one of WeChat's release-test accounts, which the built-in responder answers.
    const path = '/wechat/authorizer/wx3a7f2c9e1b4d6f80';
    const createTime = Math.floor(p.clock.now() / 1000);
    const event = { ToUserName: 'gh_x', FromUserName: 'o-user-1', CreateTime: createTime, MsgType: 'event', Event: 'subscribe' };
    for (const e of [event, { ...event, FromUserName: 'o-user-2' }, { ...event, Event: 'unsubscribe' }, event]) {
      expect(await p.push(e, { path, toUserName: 'gh_x' })).toEqual({ status: 200, text: 'success' });
    }
    expect(seen.map((m) => `${String(m.fields.FromUserName)}/${String(m.fields.Event)}`)).toEqual(['o-user-1/subscribe', 'o-user-2/subscribe', 'o-user-1/unsubscribe']);
  });
});
