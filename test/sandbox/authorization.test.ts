import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authorizedToken, call, COMPONENT, componentToken, MINUTE_MS, MP, MP2, OA, OA2, startWorld, type World } from './helpers.js';

const C = '/cgi-bin/component';

describe('authorization page, codes and authorizer tokens', () => {
  let world: World;
  let cat: string;
  beforeEach(async () => {
    // The entry-domain check has its own tests (test/sandbox/entry-domain.test.ts); these open the page directly.
    world = await startWorld({ preAuthCodeTtlSeconds: 1800, entryDomainCheck: false });
    cat = await componentToken(world.sandbox);
  });
  afterEach(async () => world.close());

  const api = (path: string, body: Record<string, unknown>) =>
    call(world.sandbox.url, `${C}/${path}`, { query: { component_access_token: cat }, body: { component_appid: COMPONENT.appid, ...body } });
  const preAuthCode = async () => {
    const r = await api('api_create_preauthcode', {});
    expect(r.json.expires_in).toBe(1800);
    return String(r.json.pre_auth_code);
  };
  const pageUrl = (path: string, params: Record<string, string>) => {
    const url = new URL(path, world.sandbox.url);
    for (const [k, v] of Object.entries({ component_appid: COMPONENT.appid, redirect_uri: 'https://platform.example/authorize/callback', ...params })) {
      url.searchParams.set(k, v);
    }
    return url;
  };
  const optionsOf = (html: string) => [...html.matchAll(/name="authorizer_appid" value="(wx[0-9a-f]{16})"/g)].map((m) => m[1]);

  it('lists accounts by auth_type and biz_appid and pre-checks category_list', async () => {
    const code = await preAuthCode();
    const page = async (params: Record<string, string>) => {
      const res = await fetch(pageUrl('/cgi-bin/componentloginpage', { pre_auth_code: code, ...params }));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      return res.text();
    };
    const officialOnly = optionsOf(await page({ auth_type: '1' }));
    expect(officialOnly).toContain(OA);
    expect(officialOnly).not.toContain(MP);
    const miniOnly = optionsOf(await page({ auth_type: '2' }));
    expect(miniOnly).toContain(MP);
    expect(miniOnly).not.toContain(OA);
    const both = optionsOf(await page({}));
    expect(both).toEqual(expect.arrayContaining([OA, MP, 'wx570bc396a51b8ff8', 'wxd101a85aa106f53e']));
    expect(optionsOf(await page({ biz_appid: MP2 }))).toEqual([MP2]);
    const html = await page({ auth_type: '2', category_list: '18|19' });
    expect(html).toMatch(/value="18" checked/);
    expect(html).toMatch(/value="19" checked/);
    expect(html).toMatch(/value="17">/);
  });

  it('refuses an unknown, used or expired pre_auth_code with an HTTP 400 page', async () => {
    expect((await fetch(pageUrl('/cgi-bin/componentloginpage', { pre_auth_code: 'preauthcode@@@nope' }))).status).toBe(400);
    const code = await preAuthCode();
    await world.sandbox.advance(1800 * 1000);
    const expired = await fetch(pageUrl('/cgi-bin/componentloginpage', { pre_auth_code: code }));
    expect(expired.status).toBe(400);
    expect(await expired.text()).toContain('过期');
    cat = await componentToken(world.sandbox);
  });

  it('submitting the form redirects with auth_code and pushes `authorized`', async () => {
    const code = await preAuthCode();
    const url = pageUrl('/cgi-bin/componentloginpage', { pre_auth_code: code, auth_type: '2', redirect_uri: 'https://platform.example/cb?state=s1' });
    const html = await (await fetch(url)).text();
    const action = /<form method="post" action="([^"]+)"/.exec(html)![1]!;
    const form = new URLSearchParams();
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.append(m[1]!, m[2]!.replace(/&#38;/g, '&'));
    form.append('authorizer_appid', MP);
    for (const id of ['18', '19', '20']) form.append('func', id);
    const res = await fetch(new URL(action, world.sandbox.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe('https://platform.example/cb');
    expect(location.searchParams.get('state')).toBe('s1');
    expect(location.searchParams.get('expires_in')).toBe('600');
    const authCode = location.searchParams.get('auth_code')!;
    const push = await world.platform.waitFor((p) => p.fields.InfoType === 'authorized' && p.fields.AuthorizerAppid === MP);
    expect(push.signatureOk).toBe(true);
    expect(push.fields.AuthorizationCode).toBe(authCode);
    expect(push.fields.PreAuthCode).toBe(code);
    expect(Number(push.fields.AuthorizationCodeExpiredTime) - Number(push.fields.CreateTime)).toBe(600);

    const again = await fetch(new URL(action, world.sandbox.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      redirect: 'manual',
    });
    expect(again.status).toBe(400);

    const q = await api('api_query_auth', { authorization_code: authCode });
    const info = q.json.authorization_info as Record<string, unknown>;
    expect(info.authorizer_appid).toBe(MP);
    expect(info.expires_in).toBe(7200);
    expect(info.func_info).toEqual([18, 19, 20].map((id) => ({ funcscope_category: { id } })));
    expect((await api('api_query_auth', { authorization_code: authCode })).errcode).toBe(61009);
    expect((await api('api_query_auth', { authorization_code: 'queryauthcode@@@unknown' })).errcode).toBe(61009);
  });

  it('serves the mobile pages (current and legacy) and requires action=bindcomponent', async () => {
    const code = await preAuthCode();
    const mobile = await fetch(pageUrl('/wxaopen/safe/bindcomponent', { action: 'bindcomponent', no_scan: '1', pre_auth_code: code, auth_type: '1' }));
    expect(mobile.status).toBe(200);
    expect(optionsOf(await mobile.text())).toContain(OA);
    const legacy = await fetch(pageUrl('/safe/bindcomponent', { action: 'bindcomponent', pre_auth_code: code, auth_type: '3' }));
    expect(legacy.status).toBe(200);
    expect((await fetch(pageUrl('/wxaopen/safe/bindcomponent', { pre_auth_code: code }))).status).toBe(400);
  });

  it('auth codes expire after 600 s (61010)', async () => {
    const { authCode } = await world.sandbox.authorize(OA2, [1]);
    await world.sandbox.advance(601 * 1000);
    cat = await componentToken(world.sandbox);
    expect((await api('api_query_auth', { authorization_code: authCode })).errcode).toBe(61010);
  });

  it('re-authorization rotates the refresh token and pushes updateauthorized only when the set changed', async () => {
    const first = await authorizedToken(world.sandbox, cat, OA, [1, 2]);
    const refresh = (art: string) => api('api_authorizer_token', { authorizer_appid: OA, authorizer_refresh_token: art });
    expect((await refresh(first.art)).json.authorizer_refresh_token).toBe(first.art);

    const same = await world.sandbox.authorize(OA, [1, 2]);
    expect(same.event).toBeUndefined();
    const changed = await world.sandbox.authorize(OA, [1, 2, 15]);
    expect(changed.event).toBe('updateauthorized');
    const push = await world.platform.waitFor((p) => p.fields.InfoType === 'updateauthorized' && p.fields.AuthorizerAppid === OA);
    expect(push.fields.AuthorizationCode).toBe(changed.authCode);
    expect((await refresh(first.art)).errcode).toBe(61023);
    const info = (await api('api_query_auth', { authorization_code: changed.authCode })).json.authorization_info as Record<string, string>;
    expect((await refresh(info.authorizer_refresh_token!)).errcode).toBe(0);
  });

  it('a new AAT leaves the previous one valid for 5 minutes, then 40001; expiry is 42001', async () => {
    const { aat, art } = await authorizedToken(world.sandbox, cat, MP2, [18]);
    const page = (token: string) => call(world.sandbox.url, '/wxa/get_category', { query: { access_token: token } });
    expect((await page(aat)).errcode).toBe(0);
    const refreshed = await api('api_authorizer_token', { authorizer_appid: MP2, authorizer_refresh_token: art });
    const next = String(refreshed.json.authorizer_access_token);
    expect(refreshed.json.expires_in).toBe(7200);
    await world.sandbox.advance(5 * MINUTE_MS - 1);
    expect((await page(aat)).errcode).toBe(0);
    await world.sandbox.advance(1);
    expect((await page(aat)).errcode).toBe(40001);
    expect((await page(next)).errcode).toBe(0);
    await world.sandbox.advance(7200 * 1000);
    expect((await page(next)).errcode).toBe(42001);
    cat = await componentToken(world.sandbox);
  });

  it('rotate mode issues a new refresh token per call; the old one dies after the grace (61023)', async () => {
    const { art } = await authorizedToken(world.sandbox, cat, MP, [18, 20]);
    const refresh = (token: string) => api('api_authorizer_token', { authorizer_appid: MP, authorizer_refresh_token: token });
    world.sandbox.setRefreshTokenMode('rotate', 30_000);
    const r1 = await refresh(art);
    const art2 = String(r1.json.authorizer_refresh_token);
    expect(art2).not.toBe(art);
    const r2 = await refresh(art);
    expect(r2.errcode).toBe(0);
    await world.sandbox.advance(31_000);
    expect((await refresh(art)).errcode).toBe(61023);
    world.sandbox.setRefreshTokenMode('rotate', 0);
    const art3 = String((await refresh(String(r2.json.authorizer_refresh_token))).json.authorizer_refresh_token);
    expect((await refresh(art3)).errcode).toBe(0);
    expect((await refresh(art3)).errcode).toBe(61023);
    world.sandbox.setRefreshTokenMode('stable');
  });

  it('revocation pushes `unauthorized`; later calls are 61003', async () => {
    const { aat, art } = await authorizedToken(world.sandbox, cat, MP2, [18]);
    await world.sandbox.revoke(MP2);
    await world.platform.waitFor((p) => p.fields.InfoType === 'unauthorized' && p.fields.AuthorizerAppid === MP2);
    expect((await api('api_authorizer_token', { authorizer_appid: MP2, authorizer_refresh_token: art })).errcode).toBe(61003);
    expect((await call(world.sandbox.url, '/wxa/get_category', { query: { access_token: aat } })).errcode).toBe(61003);
    expect((await api('api_get_authorizer_info', { authorizer_appid: MP2 })).errcode).toBe(61003);
    const list = await api('api_get_authorizer_list', { offset: 0, count: 500 });
    expect((list.json.list as Array<{ authorizer_appid: string }>).map((a) => a.authorizer_appid)).not.toContain(MP2);
  });

  it('authorizer info has MiniProgramInfo only for mini programs; the list caps count at 500', async () => {
    await authorizedToken(world.sandbox, cat, MP, [18]);
    await authorizedToken(world.sandbox, cat, OA, [1]);
    const mp = await api('api_get_authorizer_info', { authorizer_appid: MP });
    const mpInfo = mp.json.authorizer_info as Record<string, unknown>;
    expect(mpInfo.user_name).toBe('gh_7f4b2d9e1c68');
    expect(mpInfo.MiniProgramInfo).toMatchObject({ network: { RequestDomain: [] }, categories: [{ first: '餐饮服务', second: '点餐平台' }] });
    expect(mp.json.authorization_info).toMatchObject({ authorizer_appid: MP, func_info: [{ funcscope_category: { id: 18 } }] });
    const oa = await api('api_get_authorizer_info', { authorizer_appid: OA });
    expect((oa.json.authorizer_info as Record<string, unknown>).MiniProgramInfo).toBeUndefined();
    expect((await api('api_get_authorizer_info', { authorizer_appid: 'wx0000000000000001' })).errcode).toBe(40013);
    const list = await api('api_get_authorizer_list', { offset: 0, count: 500 });
    const entry = (list.json.list as Array<Record<string, unknown>>).find((a) => a.authorizer_appid === MP)!;
    expect(typeof entry.refresh_token).toBe('string');
    expect(list.json.total_count).toBe((list.json.list as unknown[]).length);
    expect((await api('api_get_authorizer_list', { offset: 0, count: 501 })).errcode).toBe(47001);
  });

  it('authorizer options work in both variants and reject bad names and values', async () => {
    await authorizedToken(world.sandbox, cat, OA, [1]);
    const a = await api('api_set_authorizer_option', { authorizer_appid: OA, option_name: 'voice_recognize', option_value: '1' });
    expect(a.errcode).toBe(0);
    const got = await api('api_get_authorizer_option', { authorizer_appid: OA, option_name: 'voice_recognize' });
    expect(got.json).toMatchObject({ authorizer_appid: OA, option_name: 'voice_recognize', option_value: '1' });
    expect((await api('api_get_authorizer_option', { authorizer_appid: OA, option_name: 'bogus' })).errcode).toBe(61012);
    expect((await api('api_set_authorizer_option', { authorizer_appid: OA, option_name: 'location_report', option_value: '7' })).errcode).toBe(61013);
    const { aat } = await authorizedToken(world.sandbox, cat, OA, [1, 2, 15]);
    const b = await call(world.sandbox.url, `${C}/get_authorizer_option`, { query: { access_token: aat }, body: { option_name: 'voice_recognize' } });
    expect(b.json.option_value).toBe('1');
    const bSet = await call(world.sandbox.url, `${C}/set_authorizer_option`, {
      query: { access_token: cat },
      body: { authorizer_appid: OA, option_name: 'customer_service', option_value: '1' },
    });
    expect(bSet.errcode).toBe(0);
  });
});
