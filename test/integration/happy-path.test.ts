import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorld, type World } from '../helpers/world.js';
import { formOf } from '../helpers/sandbox-form.js';

describe('the whole flow over real HTTP: ticket → token → pre_auth_code → authorization page → callback → on-behalf call', () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld();
    await w.settle();
  });
  afterAll(async () => {
    await w.close();
  });

  it('runs end to end, exchanging the shared code once and calling an API as the merchant', async () => {
    // 1. The sandbox pushed a ticket as soon as it knew the platform.
    expect(await w.store.getTicket(w.config.componentAppid)).toBeDefined();

    // 2. The merchant starts on our page; /authorize/go makes a pre_auth_code and redirects to WeChat.
    const landing = await fetch(`${w.url}/authorize`);
    expect(await landing.text()).toContain('/authorize/go?auth_type=2');
    const go = await fetch(`${w.url}/authorize/go?auth_type=2`, { redirect: 'manual' });
    expect(go.status).toBe(302);
    const wechatPage = new URL(go.headers.get('location')!);
    expect(wechatPage.origin + wechatPage.pathname).toBe(`${w.sandbox.url}/cgi-bin/componentloginpage`);
    // The redirect_uri carries the platform's signed state back to the callback.
    const redirectUri = new URL(wechatPage.searchParams.get('redirect_uri')!);
    expect(redirectUri.origin + redirectUri.pathname).toBe(`${w.url}/authorize/callback`);
    expect(redirectUri.searchParams.get('state')).toMatch(/^\d+\.[\w-]{22}\.[\w-]{43}$/);
    expect(w.sandbox.counters.get('/cgi-bin/component/api_component_token')).toBe(1);
    expect(w.sandbox.counters.get('/cgi-bin/component/api_create_preauthcode')).toBe(1);

    // 3. The sandbox's authorization page offers only mini programs (auth_type=2); the admin picks one and confirms.
    const pageRes = await fetch(wechatPage, { headers: { referer: `${w.url}/authorize` } });
    expect(pageRes.status).toBe(200);
    const form = formOf(await pageRes.text());
    const miniPrograms = w.sandbox.accounts.filter((a) => a.type === 'miniprogram').map((a) => a.appid);
    expect(form.accounts.length).toBeGreaterThan(0);
    for (const a of form.accounts) expect(miniPrograms).toContain(a);
    const chosen = form.accounts[0]!;
    const granted = ['17', '18', '20'];
    for (const f of granted) expect(form.funcs).toContain(f);
    const body = new URLSearchParams([...form.fields, ['authorizer_appid', chosen], ...granted.map((f) => ['func', f] as [string, string])]);
    const confirm = await fetch(new URL(form.action, w.sandbox.url), { method: 'POST', body, redirect: 'manual' });
    expect(confirm.status).toBe(302);
    const callback = new URL(confirm.headers.get('location')!);
    expect(callback.origin + callback.pathname).toBe(`${w.url}/authorize/callback`);
    expect(callback.searchParams.get('expires_in')).toBe('600');
    expect(callback.searchParams.get('state')).toBe(redirectUri.searchParams.get('state'));

    // 4. The browser lands on our callback; the authorized push arrives in parallel with the same code.
    const done = await fetch(callback);
    expect(done.status).toBe(200);
    expect(await done.text()).toContain(chosen);
    await w.settle();
    const record = await w.store.getAuthorizer(w.config.componentAppid, chosen);
    expect(record).toMatchObject({ status: 'authorized', funcInfo: [17, 18, 20] });
    expect(w.sandbox.counters.get('/cgi-bin/component/api_query_auth')).toBe(1);
    const pushes = await w.store.listPushes(w.config.componentAppid, { infoType: 'authorized' });
    expect(pushes.map((p) => p.authorizerAppid)).toEqual([chosen]);

    // 5. On-behalf call with the authorizer token from query_auth: no refresh was needed.
    const categories = await w.platform.callAuthorizer<{ category_list: unknown[] }>(chosen, { method: 'GET', path: '/wxa/get_category' });
    expect(Array.isArray(categories.category_list)).toBe(true);
    expect(w.sandbox.counters.get('/wxa/get_category', chosen)).toBe(1);
    expect(w.sandbox.counters.get('/cgi-bin/component/api_authorizer_token', chosen)).toBe(0);

    // 6. A permission set the merchant did not grant is refused by WeChat with 61007 (spec 12.1), surfaced as a typed error.
    await expect(
      w.platform.callAuthorizer(chosen, { method: 'POST', path: '/cgi-bin/message/custom/send', body: { touser: 'o1', msgtype: 'text', text: { content: 'hi' } } }),
    ).rejects.toMatchObject({ errcode: 61007, kind: 'config', missingPermissionSets: [{ id: 1, name: '消息管理' }, { id: 6, name: '微信多客服' }, { id: 19, name: '小程序客服管理' }, { id: 100, name: expect.any(String) }, { id: 101, name: expect.any(String) }] });
  });

  it('a merchant who chose English on our page gets English back from WeChat, with no Accept-Language', async () => {
    const landing = await (await fetch(`${w.url}/authorize?lang=en`)).text();
    expect(landing).toContain('/authorize/go?auth_type=2&amp;lang=en');
    const go = await fetch(`${w.url}/authorize/go?auth_type=2&lang=en`, { redirect: 'manual' });
    const wechatPage = new URL(go.headers.get('location')!);
    expect(new URL(wechatPage.searchParams.get('redirect_uri')!).searchParams.get('lang')).toBe('en');
    const form = formOf(await (await fetch(wechatPage, { headers: { referer: `${w.url}/authorize` } })).text());
    const body = new URLSearchParams([...form.fields, ['authorizer_appid', form.accounts.at(-1)!], ['func', '17'], ['func', '18']]);
    const confirm = await fetch(new URL(form.action, w.sandbox.url), { method: 'POST', body, redirect: 'manual' });
    const callback = new URL(confirm.headers.get('location')!);
    expect(callback.searchParams.get('lang')).toBe('en');
    const page = await (await fetch(callback)).text();
    expect(page).toMatch(/<html lang="en"/);
    expect(page).not.toContain('授权成功');
    // Without a choice on our page it stays Chinese-first, as before.
    const plain = await fetch(`${w.url}/authorize/go?auth_type=2`, { redirect: 'manual' });
    expect(new URL(new URL(plain.headers.get('location')!).searchParams.get('redirect_uri')!).searchParams.has('lang')).toBe(false);
  });

  it('refuses a used or unknown auth_code at the callback with a clear page', async () => {
    const go = await fetch(`${w.url}/authorize/go?auth_type=2`, { redirect: 'manual' });
    const state = new URL(new URL(go.headers.get('location')!).searchParams.get('redirect_uri')!).searchParams.get('state')!;
    const res = await fetch(`${w.url}/authorize/callback?state=${state}&auth_code=queryauthcode@@@nope&expires_in=600`);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/授权码无效或已过期[\s\S]*<code>61009<\/code>/);
    const empty = await fetch(`${w.url}/authorize/callback`);
    expect(empty.status).toBe(400);
  });
});
