import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signLink } from '../../src/authorize/link.js';
import { deriveStateKeys, signState } from '../../src/authorize/state.js';
import { startAdminWorld, ADMIN_TOKEN, type AdminWorld } from '../helpers/admin-world.js';
import { formOf } from '../helpers/sandbox-form.js';

const OA = 'wx3a7f2c9e1b4d6f80';

function concrete(url: string): string {
  return url
    .replace(':appid', OA)
    .replace(':name', 'location_report')
    .replace(':id', 'k0000000000')
    .replace(':action', 'revoke')
    .replace('*', 'index.html');
}

async function login(w: AdminWorld): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${w.adminUrl}/login`, { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN, next: '/' }), redirect: 'manual' });
  expect(res.status).toBe(303);
  const set = res.headers.get('set-cookie')!;
  expect(set).toMatch(/HttpOnly/);
  expect(set).toMatch(/SameSite=Strict/);
  const cookie = set.split(';')[0]!;
  const page = await (await fetch(`${w.adminUrl}/`, { headers: { cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
  return { cookie, csrf };
}

describe('operator surface', () => {
  let w: AdminWorld;
  beforeAll(async () => {
    w = await startAdminWorld();
    await w.settle();
    await w.sandbox.authorize(OA, [1, 2, 3, 15]);
    await w.settle();
  });
  afterAll(async () => {
    await w?.close();
  });

  it('every operator route refuses a missing or wrong token with a 401 that reveals nothing', async () => {
    const routes = w.admin.routes.filter((r) => r.access !== 'public' && r.method !== 'OPTIONS');
    expect(routes.length).toBeGreaterThan(20);
    for (const paths of ['/api/v1', '/api/v1/authorizers', '/api/v1/authorizers/:appid', '/api/v1/authorizers/:appid/access-token', '/api/v1/authorization-links', '/docs/json', '/metrics', '/']) {
      expect(routes.map((r) => r.url)).toContain(paths);
    }
    for (const r of routes) {
      for (const token of [null, 'wrong-token-0123456789', `${ADMIN_TOKEN}x`, 'wxok_k0000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
        const res = await w.api(concrete(r.url), { method: r.method, token, ...(r.method !== 'GET' && r.method !== 'HEAD' && { body: '{}' }) });
        expect([r.method, r.url, token, res.status]).toEqual([r.method, r.url, token, 401]);
        const text = await res.text();
        expect(text).not.toContain('青木咖啡');
        if (r.access === 'session' && r.method === 'GET') expect(text).toContain('action="/login"');
        else if (r.method !== 'HEAD') expect(text).toBe('{"error":"WXO_ERR_UNAUTHORIZED"}');
      }
    }
    // The public listener no longer serves the dashboard or metrics.
    expect((await fetch(`${w.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${w.url}/`)).status).toBe(404);
    // The sandbox's admin API wants the operator token too.
    const sandboxAnon = await fetch(`${w.sandbox.url}/sandbox/admin/state`);
    expect([sandboxAnon.status, await sandboxAnon.json()]).toEqual([401, { error: 'WXO_ERR_UNAUTHORIZED' }]);
    expect((await fetch(`${w.sandbox.url}/sandbox/admin/state`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
  });

  it('serves a valid OpenAPI 3 document generated from the route schemas', async () => {
    const doc = (await (await w.api('/docs/json')).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/authorizers', '/api/v1/authorizers/{appid}', '/api/v1/authorizers/{appid}/access-token', '/api/v1/authorization-links', '/api/v1/component/access-token', '/api/v1/reconcile']),
    );
    expect(Object.keys(doc.paths)).not.toContain('/login');
    const ui = await fetch(`${w.adminUrl}/docs`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, redirect: 'manual' });
    expect([200, 302]).toContain(ui.status);
    // The root the banner prints points at both, and is in the document itself.
    const root = await w.api('/api/v1');
    expect(root.status).toBe(200);
    const links = (await root.json()) as { openapi: string; docs: string };
    expect(links).toEqual({ name: 'wxopen operator API', openapi: '/docs/json', docs: '/docs' });
    expect((await w.api(links.openapi)).status).toBe(200);
    expect(Object.keys(doc.paths)).toContain('/api/v1');
  });

  it('every refusal carries a WXO_ERR_* code, the ones the OpenAPI document describes', async () => {
    const bodyOf = async (res: Response) => [res.status, await res.json()];
    expect(await bodyOf(await w.api('/api/v1/authorizers?type=bogus'))).toEqual([
      400,
      { error: 'WXO_ERR_BAD_REQUEST', message: 'querystring/type must be equal to one of the allowed values' },
    ]);
    const { key } = (await (await w.api('/api/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'no metrics', scopes: ['tokens:read'] }) })).json()) as { key: string };
    expect(await bodyOf(await w.api('/metrics', { token: key }))).toEqual([403, { error: 'WXO_ERR_FORBIDDEN', message: 'this key lacks the metrics scope' }]);
    expect(await bodyOf(await w.api('/api/v1/authorizers', { token: key }))).toEqual([403, { error: 'WXO_ERR_FORBIDDEN', message: 'this key lacks the authorizers:read scope' }]);
    expect(await bodyOf(await w.api('/api/v1/nope'))).toEqual([404, { error: 'WXO_ERR_NOT_FOUND' }]);
    expect(await bodyOf(await w.api('/api/v1/authorizers', { token: 'wrong-token-0123456789' }))).toEqual([401, { error: 'WXO_ERR_UNAUTHORIZED' }]);
    const doc = (await (await w.api('/docs/json')).json()) as {
      paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema: { properties?: { error?: { pattern?: string } } } }> }> }>>;
    };
    const errorResponses = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).flatMap(([method, op]) =>
        Object.entries(op.responses ?? {})
          .filter(([status]) => Number(status) >= 400)
          .map(([status, r]) => [`${method} ${path} ${status}`, r.content?.['application/json']?.schema.properties?.error?.pattern] as const),
      ),
    );
    expect(errorResponses.length).toBeGreaterThan(30);
    expect(errorResponses.filter(([, pattern]) => pattern !== '^WXO_ERR_[A-Z_]+$')).toEqual([]);
    expect(errorResponses.map(([name]) => name)).toContain('get /api/v1/authorizers 400');
  });

  it('lists, filters and reads authorizers with names and permission names; never a token', async () => {
    const list = (await (await w.api('/api/v1/authorizers?type=official&permission=15')).json()) as { total: number; authorizers: Array<Record<string, unknown>> };
    expect(list.total).toBe(1);
    expect(list.authorizers[0]).toMatchObject({ authorizer_appid: OA, name: '青木咖啡', type: 'official', status: 'authorized' });
    expect(list.authorizers[0]!.permissions).toContainEqual({ id: 15, name_zh: '菜单管理', name_en: 'Custom menu' });
    expect(JSON.stringify(list)).not.toMatch(/access_token"|refresh/);
    expect(((await (await w.api('/api/v1/authorizers?type=miniprogram')).json()) as { total: number }).total).toBe(0);
    expect(((await (await w.api('/api/v1/authorizers?q=青木')).json()) as { total: number }).total).toBe(1);
    const one = (await (await w.api(`/api/v1/authorizers/${OA}`)).json()) as Record<string, unknown>;
    expect(one).toMatchObject({ authorizer_appid: OA, profile: { principal_name: '上海青木餐饮管理有限公司' } });
    expect((one.recent_events as unknown[]).length).toBeGreaterThan(0);
    expect((await w.api('/api/v1/authorizers/wx0000000000000000')).status).toBe(404);
    expect((await w.api('/api/v1/authorizers?status=bogus')).status).toBe(400);
  });

  it('token service: serves tokens, logs and audits every read with the reading key', async () => {
    const t = (await (await w.api(`/api/v1/authorizers/${OA}/access-token`)).json()) as { access_token: string; expires_in: number };
    expect(t.access_token).toBe(await w.platform.authorizerToken(OA));
    expect(t.expires_in).toBeGreaterThan(0);
    const c = (await (await w.api('/api/v1/component/access-token')).json()) as { access_token: string };
    expect(c.access_token).toBe(await w.platform.componentToken());
    const audit = (await (await w.api('/api/v1/audit?action=token.read.authorizer')).json()) as { entries: Array<{ key_id: string; target: string }> };
    expect(audit.entries[0]).toMatchObject({ key_id: 'operator', target: OA });
    const jsapi = (await (await w.api(`/api/v1/authorizers/${OA}/jsapi-ticket`)).json()) as { ticket: string; expires_in: number };
    expect(jsapi.ticket).toBe(await w.platform.jssdk.ticket(OA));
    expect(jsapi.expires_in).toBeGreaterThan(0);
    const jsapiAudit = (await (await w.api('/api/v1/audit?action=token.read.jsapi_ticket')).json()) as { entries: Array<{ key_id: string; target: string }> };
    expect(jsapiAudit.entries[0]).toMatchObject({ key_id: 'operator', target: OA });
  });

  it('lists the message log, filtered by authorizer', async () => {
    const res = await fetch(`${w.sandbox.url}/sandbox/admin/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ appid: OA, from: 'oAdminList', type: 'text', content: '你好 admin' }),
    });
    expect(res.status).toBe(200);
    const listed = (await (await w.api(`/api/v1/messages?authorizer_appid=${OA}`)).json()) as { messages: Array<{ authorizer_appid: string; type: string; from_user: string; payload: string }> };
    expect(listed.messages[0]).toMatchObject({ authorizer_appid: OA, type: 'message.text', from_user: 'oAdminList' });
    expect(listed.messages[0]!.payload).toContain('你好 admin');
    expect(((await (await w.api('/api/v1/messages?authorizer_appid=wx0000000000000001')).json()) as { messages: unknown[] }).messages).toEqual([]);
    // The authorizer's dashboard page lists it too.
    const { cookie } = await login(w);
    const page = await (await fetch(`${w.adminUrl}/authorizers/${OA}?lang=en`, { headers: { cookie } })).text();
    expect(page).toContain('Recent messages and events from users');
    expect(/<table id="messages">.*?<\/table>/s.exec(page)?.[0]).toMatch(/message\.text.*oAdminList/s);
  });

  it('says "not ready yet" on a page when WeChat refuses the ticket (61006), in both languages', async () => {
    const fresh = await startAdminWorld();
    try {
      fresh.sandbox.faults.set('/cgi-bin/component/api_component_token', { type: 'body', body: { errcode: 61006, errmsg: 'component ticket is invalid' }, times: 10 });
      const zh = await fetch(`${fresh.url}/authorize/go?auth_type=3`);
      expect(zh.status).toBe(503);
      expect(zh.headers.get('content-type')).toMatch(/text\/html/);
      expect(await zh.text()).toContain('平台尚未就绪');
      const en = await fetch(`${fresh.url}/authorize/go?auth_type=3`, { headers: { 'accept-language': 'en' } });
      expect(await en.text()).toContain('The platform is not ready yet');
    } finally {
      await fresh.close();
    }
  });

  it('scoped keys: read only their authorizers and scopes; revoked keys stop working', async () => {
    const created = await w.api('/api/v1/keys', { method: 'POST', body: JSON.stringify({ name: 'shop service', scopes: ['tokens:read'], authorizers: [OA] }) });
    expect(created.status).toBe(201);
    const { key, id } = (await created.json()) as { key: string; id: string };
    expect(key).toMatch(/^wxok_k[0-9a-f]{10}_/);
    expect((await w.api(`/api/v1/authorizers/${OA}/access-token`, { token: key })).status).toBe(200);
    expect((await w.api('/api/v1/authorizers/wx0000000000000001/access-token', { token: key })).status).toBe(404);
    expect((await w.api('/api/v1/component/access-token', { token: key })).status).toBe(403);
    expect((await w.api('/api/v1/authorizers', { token: key })).status).toBe(403);
    expect((await w.api('/api/v1/keys', { token: key })).status).toBe(403);
    expect((await w.api('/metrics', { token: key })).status).toBe(403);
    const audit = (await (await w.api(`/api/v1/audit?key_id=${id}`)).json()) as { entries: Array<{ action: string; target: string }> };
    expect(audit.entries).toContainEqual(expect.objectContaining({ action: 'token.read.authorizer', target: OA }));
    const listed = (await (await w.api('/api/v1/keys')).json()) as { keys: Array<Record<string, unknown>> };
    expect(JSON.stringify(listed)).not.toContain(key.split('_').at(-1));
    expect((await w.api(`/api/v1/keys/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await w.api(`/api/v1/authorizers/${OA}/access-token`, { token: key })).status).toBe(401);
    const metrics = await w.api('/metrics');
    expect(await metrics.text()).toContain('wxopen_pushes_total');
  });

  it('refuses an authorization link with both auth_type and biz_appid', async () => {
    const res = await w.api('/api/v1/authorization-links', { method: 'POST', body: JSON.stringify({ auth_type: 1, biz_appid: OA }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/mutually exclusive/);
    expect((await w.api('/api/v1/authorization-links', { method: 'POST', body: JSON.stringify({ return_url: 'javascript:alert(1)' }) })).status).toBe(400);
  });

  it('a link fixes the account type and sets, and the callback returns to the operator with parameters before the #', async () => {
    const res = await w.api('/api/v1/authorization-links', {
      method: 'POST',
      body: JSON.stringify({ state: 'merchant-42', auth_type: 2, category_list: [17, 18], required_sets: [18, 88], return_url: 'https://shop.example/app/#/done?x=1' }),
    });
    expect(res.status).toBe(201);
    const { url } = (await res.json()) as { url: string };
    const page = await (await fetch(url)).text();
    expect(page).toContain('仅小程序');
    expect(page).toContain('小程序开发与数据分析');
    const goHref = /href="(\/authorize\/go\?link=[^"]+)" data-kind="pc"|data-kind="pc" href="([^"]+)"/.exec(page)!;
    const go = await fetch(`${w.url}${(goHref[1] ?? goHref[2])!.replaceAll('&amp;', '&')}`, { redirect: 'manual' });
    expect(go.status).toBe(302);
    const wechat = new URL(go.headers.get('location')!);
    expect(wechat.searchParams.get('auth_type')).toBe('2');
    expect(wechat.searchParams.get('category_list')).toBe('17|18');
    expect(wechat.searchParams.has('biz_appid')).toBe(false);
    const form = formOf(await (await fetch(wechat, { headers: { referer: `${w.url}/authorize` } })).text());
    const chosen = form.accounts[0]!;
    const body = new URLSearchParams([...form.fields, ['authorizer_appid', chosen], ['func', '17'], ['func', '18']]);
    const confirm = await fetch(new URL(form.action, w.sandbox.url), { method: 'POST', body, redirect: 'manual' });
    const callback = await fetch(confirm.headers.get('location')!, { headers: { 'accept-language': 'en-US,en;q=0.9' } });
    const html = await callback.text();
    expect(callback.status).toBe(200);
    expect(html).toContain('Mini-program development and data analysis');
    expect(html).toContain('Mini-program links'); // 88 is required and missing
    const cont = /id="continue" href="([^"]+)"/.exec(html)![1]!.replaceAll('&amp;', '&');
    expect(cont).toBe(`https://shop.example/app/?authorizer_appid=${chosen}&state=merchant-42&missing=88#/done?x=1`);
    await w.settle();
  });

  it('merchant error pages are HTML in Chinese by default and English by Accept-Language; JSON only on request', async () => {
    const expired = signLink({ exp: 1 }, w.config.secretKeys);
    // A callback needs the signed state its link carried; without one it is refused before WeChat is asked.
    const state = () => signState(deriveStateKeys(w.config.secretKeys), w.config.componentAppid, w.sandbox.clock.now(), 3_600_000);
    const cases: Array<[string, number, string, string]> = [
      ['/authorize/callback?auth_code=nope', 400, '不是本平台的授权链接', 'Not a link from this platform'],
      ['/authorize?link=forged.sig', 400, '链接无效', 'Invalid link'],
      [`/authorize?link=${expired}`, 410, '授权链接已过期', 'Link expired'],
      [`/authorize/callback?state=${state()}&auth_code=nope&expires_in=600`, 400, '授权码无效或已过期', 'Authorization code invalid or expired'],
      [`/authorize/callback?state=${state()}`, 400, '缺少授权码', 'No authorization code'],
    ];
    for (const [path, status, zh, en] of cases) {
      const a = await fetch(`${w.url}${path}`);
      expect([path, a.status]).toEqual([path, status]);
      expect(a.headers.get('content-type')).toMatch(/text\/html/);
      const zhText = await a.text();
      expect(zhText).toContain(zh);
      expect(zhText).toContain('lang="zh-CN"');
      const b = await fetch(`${w.url}${path}`, { headers: { 'accept-language': 'en-GB,en;q=0.8,zh;q=0.5' } });
      expect(await b.text()).toContain(en);
      const j = await fetch(`${w.url}${path}`, { headers: { accept: 'application/json' } });
      expect(j.headers.get('content-type')).toMatch(/json/);
    }
    // WeChat unreachable and rate limited, from the sandbox's faults.
    w.sandbox.faults.set('/cgi-bin/component/api_create_preauthcode', { type: 'http_error', status: 502, times: 5 });
    let r = await fetch(`${w.url}/authorize/go?auth_type=3`);
    expect(r.status).toBe(502);
    expect(await r.text()).toContain('暂时无法连接微信');
    r = await fetch(`${w.url}/authorize/go?auth_type=3`, { headers: { 'accept-language': 'en' } });
    expect(await r.text()).toContain('WeChat cannot be reached');
    w.sandbox.faults.clear();
    w.sandbox.faults.set('/cgi-bin/component/api_create_preauthcode', { type: 'rate_limit', perMinute: 0, times: 2 });
    r = await fetch(`${w.url}/authorize/go?auth_type=3`);
    expect(r.status).toBe(429);
    expect(await r.text()).toContain('请求过于频繁');
    r = await fetch(`${w.url}/authorize/go?auth_type=3`, { headers: { 'accept-language': 'en' } });
    expect(await r.text()).toContain('Too many requests');
    w.sandbox.faults.clear();
  });

  it('dashboard: login sets a strict session; actions need the CSRF token and our Origin', async () => {
    const bad = await fetch(`${w.adminUrl}/login`, { method: 'POST', body: new URLSearchParams({ token: 'nope' }) });
    expect(bad.status).toBe(401);
    const { cookie, csrf } = await login(w);
    const overview = await (await fetch(`${w.adminUrl}/`, { headers: { cookie } })).text();
    expect(overview).toContain('青木咖啡');
    expect(overview).toContain('菜单管理');
    const en = await (await fetch(`${w.adminUrl}/?lang=en`, { headers: { cookie } })).text();
    expect(en).toContain('Custom menu');
    // The mode is said in the page's language too.
    const sandbox = w.config.mode === 'sandbox';
    expect(overview).toContain(`<span id="mode">${sandbox ? '沙箱模式' : '正式环境'}</span>`);
    expect(en).toContain(`<span id="mode">${sandbox ? 'Sandbox mode' : 'Live'}</span>`);
    const post = (headers: Record<string, string>, form: Record<string, string>) =>
      fetch(`${w.adminUrl}/authorizers/${OA}/refresh`, { method: 'POST', headers: { cookie, ...headers }, body: new URLSearchParams(form), redirect: 'manual' });
    const origin = w.adminUrl;
    expect((await post({ origin }, {})).status).toBe(403);
    expect((await post({ origin }, { csrf: `${csrf}x` })).status).toBe(403);
    expect((await post({ origin: 'https://evil.example' }, { csrf })).status).toBe(403);
    const before = w.sandbox.counters.get('/cgi-bin/component/api_authorizer_token', OA);
    const ok = await post({ origin }, { csrf });
    expect(ok.status).toBe(303);
    expect(w.sandbox.counters.get('/cgi-bin/component/api_authorizer_token', OA)).toBe(before + 1);
    // A forged session cookie is refused.
    expect((await fetch(`${w.adminUrl}/`, { headers: { cookie: `${cookie}x` } })).status).toBe(401);
  });

  it('sandbox control page: advance the clock, inject a fault; a failed call shows an error', async () => {
    const { cookie, csrf } = await login(w);
    const origin = w.adminUrl;
    const act = (action: string, form: Record<string, string>) =>
      fetch(`${w.adminUrl}/sandbox/${action}`, { method: 'POST', headers: { cookie, origin }, body: new URLSearchParams({ csrf, ...form }), redirect: 'manual' });
    const page = await (await fetch(`${w.adminUrl}/sandbox`, { headers: { cookie } })).text();
    expect(page).toContain('青木咖啡');
    const offset = w.sandbox.clock.offset();
    expect((await act('advance', { seconds: '60' })).headers.get('location')).toBe('/sandbox?done=1');
    expect(w.sandbox.clock.offset()).toBe(offset + 60_000);
    await act('fault', { path: '/cgi-bin/component/api_get_authorizer_list', type: 'system_busy', times: '1' });
    expect(w.sandbox.faults.list()).toHaveLength(1);
    await act('clear-faults', {});
    expect(w.sandbox.faults.list()).toHaveLength(0);
    const failed = await act('revoke', { appid: 'wx0000000000000000' });
    const shown = await (await fetch(`${w.adminUrl}${failed.headers.get('location')!}`, { headers: { cookie } })).text();
    expect(shown).toContain('id="sandbox-error"');
    expect((await fetch(`${w.adminUrl}/sandbox/advance`, { method: 'POST', headers: { cookie, origin }, body: new URLSearchParams({ seconds: '5' }) })).status).toBe(403);
  });
});

describe('reconciliation with api_get_authorizer_list', () => {
  let w: AdminWorld;
  beforeAll(async () => {
    w = await startAdminWorld();
    await w.settle();
  });
  afterAll(async () => {
    await w?.close();
  });

  it('adds what WeChat lists and the store lacks (recovering its refresh token) and marks what WeChat no longer lists', async () => {
    const [a, b, c] = w.sandbox.accounts.filter((x) => x.type === 'official').map((x) => x.appid);
    await w.sandbox.authorize(b!);
    await w.sandbox.authorize(c!);
    await w.settle();
    // Pushes lost: WeChat's state changes while the platform cannot hear about it.
    const platformUrls = { componentPushUrl: `${w.url}/wechat/component`, authorizerPushUrl: `${w.url}/wechat/authorizer/$APPID$` };
    w.sandbox.setPlatform({ componentPushUrl: 'http://127.0.0.1:9/wechat/component', authorizerPushUrl: 'http://127.0.0.1:9/wechat/authorizer/$APPID$' });
    await w.sandbox.authorize(a!);
    await w.sandbox.revoke(c!);
    await w.sandbox.settled();
    w.sandbox.setPlatform(platformUrls);
    expect(await w.store.getAuthorizer(w.config.componentAppid, a!)).toBeUndefined();
    expect((await w.store.getAuthorizer(w.config.componentAppid, c!))?.status).toBe('authorized');

    const res = await w.api('/api/v1/reconcile', { method: 'POST' });
    expect(res.status).toBe(200);
    const report = (await res.json()) as { added: string[]; markedMissing: string[]; unchanged: number; listed: number };
    expect(report).toMatchObject({ added: [a], markedMissing: [c], unchanged: 1, listed: 2 });
    expect(w.sandbox.counters.get('/cgi-bin/component/api_get_authorizer_list')).toBeGreaterThanOrEqual(1);
    const added = await w.store.getAuthorizer(w.config.componentAppid, a!);
    expect(added).toMatchObject({ status: 'authorized' });
    expect(added!.funcInfo.length).toBeGreaterThan(0);
    expect(added!.info?.nick_name).toBeTruthy();
    // The recovered refresh token works: a token for the added authorizer comes from api_authorizer_token.
    const t = await w.api(`/api/v1/authorizers/${a}/access-token`);
    expect(t.status).toBe(200);
    expect((await w.store.getAuthorizer(w.config.componentAppid, c!))).toMatchObject({ status: 'missing_upstream' });
    expect((await w.api(`/api/v1/authorizers/${c}/access-token`)).status).toBe(409);
    // Idempotent: a second run changes nothing.
    const again = (await (await w.api('/api/v1/reconcile', { method: 'POST' })).json()) as { added: string[]; markedMissing: string[] };
    expect(again).toMatchObject({ added: [], markedMissing: [] });
  });
});
