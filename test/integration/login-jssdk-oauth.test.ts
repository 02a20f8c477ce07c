import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsapiSignature } from '../../src/crypto/jssdk.js';
import { WeChatApiError } from '../../src/errors.js';
import { JssdkDomainError } from '../../src/jssdk/jssdk.js';
import { LoginCodeError } from '../../src/login/mini-login.js';
import { OAuthCodeError } from '../../src/oauth/web-oauth.js';
import { defaultAccounts } from '../../src/sandbox/index.js';
import { vectors } from '../helpers/vectors.js';
import { startWorld, type World } from '../helpers/world.js';

const OPEN = vectors.open_data_vectors[0]!;
const VMP = OPEN.appid;
const MP2 = 'wx2e6f8a1c4b7d9035';
const OA = 'wx3a7f2c9e1b4d6f80';
const OA2 = 'wx8b1e4d2f6a9c3057';
const GETTICKET = '/cgi-bin/ticket/getticket';

let w: World;
beforeAll(async () => {
  w = await startWorld({
    sandbox: {
      accounts: [
        ...defaultAccounts(),
        { appid: VMP, userName: 'gh_4f4bc4dec97d', nickName: '开放数据样例', type: 'miniprogram', principalName: '样例公司' },
      ],
    },
  });
  await w.sandbox.pushTicket();
  await w.settle();
  await w.sandbox.authorize(VMP, [18]);
  await w.sandbox.authorize(OA);
  await w.sandbox.authorize(OA2, [1]);
  await w.settle();
});
afterAll(async () => w?.close());

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${w.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

describe('mini-program login on behalf', () => {
  it('POST /wxa/:appid/login: openid + opaque session id; session_key stays sealed server-side; codes are single-use', async () => {
    const { code, openid } = w.sandbox.mintJsCode(VMP, undefined, OPEN.session_key);
    const r = await post(`/wxa/${VMP}/login`, { code });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ openid, unionid: expect.any(String), sessionId: expect.stringMatching(/^[\w-]{32}$/) });
    expect(JSON.stringify(r.json)).not.toContain(OPEN.session_key);
    const sessionId = String(r.json.sessionId);
    // The store holds neither the session id nor the key in clear.
    const { sql } = await import('kysely');
    const rows = await sql<{ session_id: string; session_key_enc: string }>`select session_id, session_key_enc from api_login_sessions`.execute(
      (w.store as unknown as { db: Parameters<ReturnType<typeof sql>['execute']>[0] }).db,
    );
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0]!.session_id).not.toBe(sessionId);
    expect(rows.rows[0]!.session_key_enc).not.toContain(OPEN.session_key);

    const again = await post(`/wxa/${VMP}/login`, { code });
    expect(again).toMatchObject({ status: 400, json: { error: 'WXO_ERR_LOGIN_CODE', reason: 'code_used' } });
    expect(await post(`/wxa/${VMP}/login`, { code: 'nonsense' })).toMatchObject({ status: 400, json: { reason: 'invalid_code' } });
    const late = w.sandbox.mintJsCode(VMP).code;
    await w.sandbox.advance(5 * 60_000);
    expect(await post(`/wxa/${VMP}/login`, { code: late })).toMatchObject({ status: 400, json: { reason: 'invalid_code' } });
    expect(await post(`/wxa/${VMP}/login`, '{')).toMatchObject({ status: 400, json: { error: 'WXO_ERR_BAD_REQUEST' } });
    expect(await post(`/wxa/${MP2}/login`, { code: w.sandbox.mintJsCode(MP2).code })).toMatchObject({ status: 404, json: { error: 'WXO_ERR_AUTHORIZER_NOT_FOUND' } });

    // The official open-data vector, decrypted with the sealed session_key; the watermark appid is checked.
    const dec = await post(`/wxa/${VMP}/decrypt`, { sessionId, encryptedData: OPEN.encrypted_data, iv: OPEN.iv });
    expect(dec).toEqual({ status: 200, json: { data: OPEN.expected_json } });
    const tampered = await post(`/wxa/${VMP}/decrypt`, { sessionId, encryptedData: OPEN.encrypted_data, iv: Buffer.alloc(16, 1).toString('base64') });
    expect(tampered).toMatchObject({ status: 400, json: { error: 'WXO_ERR_OPEN_DATA' } });
    expect(await post(`/wxa/${VMP}/decrypt`, { sessionId: 'forged', encryptedData: OPEN.encrypted_data, iv: OPEN.iv })).toMatchObject({
      status: 401,
      json: { error: 'WXO_ERR_SESSION_EXPIRED' },
    });
    // Sessions expire (WXOPEN_LOGIN_SESSION_TTL_SECONDS, default 7 days).
    await w.sandbox.advance(7 * 86_400_000);
    expect((await post(`/wxa/${VMP}/decrypt`, { sessionId, encryptedData: OPEN.encrypted_data, iv: OPEN.iv })).status).toBe(401);
    // A week passed without the (disabled) ticket schedule: WeChat pushes a fresh ticket.
    await w.sandbox.pushTicket();
    await w.settle();
  });

  it('SDK: platform.authorizer(appid).login.code2session and decrypt; 40163 is a typed 4xx', async () => {
    const client = w.platform.authorizer(VMP);
    const { code } = w.sandbox.mintJsCode(VMP, undefined, OPEN.session_key);
    const s = await client.login.code2session(code);
    expect(await client.login.decrypt(s.sessionId, OPEN.encrypted_data, OPEN.iv)).toEqual(OPEN.expected_json);
    const err = await client.login.code2session(code).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoginCodeError);
    expect(err).toMatchObject({ statusCode: 400, reason: 'code_used', cause: expect.objectContaining({ errcode: 40163 }) });
    // Another mini program's session cannot decrypt: the session is bound to its appid.
    await expect(w.platform.login.decrypt(MP2, s.sessionId, OPEN.encrypted_data, OPEN.iv)).rejects.toMatchObject({ code: 'WXO_ERR_SESSION_EXPIRED' });
  });
});

describe('invalid input on the merchant endpoints', () => {
  it('answers 400 WXO_ERR_BAD_REQUEST naming the field and what belongs in it', async () => {
    const get = async (path: string) => {
      const res = await fetch(`${w.url}${path}`);
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const bad = (message: string) => ({ status: 400, json: { error: 'WXO_ERR_BAD_REQUEST', message } });
    expect(await get(`/jssdk/${OA}/signature`)).toEqual(bad('url is required: the page URL the JS-SDK runs on'));
    expect(await get(`/jssdk/${OA}/signature?url=`)).toEqual(bad('url is required: the page URL the JS-SDK runs on'));
    expect(await get(`/jssdk/${OA}/signature?url=${'a'.repeat(4097)}`)).toEqual(bad('url is too long (at most 4096 characters): the page URL the JS-SDK runs on'));
    expect(await get('/jssdk/wxnope/signature?url=https%3A%2F%2Fa.example%2F')).toEqual(bad('appid in the path must be an appid: wx followed by 16 letters or digits'));
    expect(await post(`/wxa/${VMP}/login`, {})).toEqual(bad('code is required: the code wx.login() gave the mini program'));
    expect(await post(`/wxa/${VMP}/login`, { code: 42 })).toEqual(bad('code must be a string: the code wx.login() gave the mini program'));
    expect(await post(`/wxa/${VMP}/login`, 'null')).toEqual(bad('body must be a JSON object'));
    expect(await post(`/wxa/${VMP}/login`, '{')).toEqual(bad('body must be JSON'));
    expect(await post(`/wxa/${VMP}/decrypt`, { sessionId: 's', iv: '' })).toEqual(
      bad('encryptedData is required: the encryptedData of the open data (e.g. getPhoneNumber); iv is required: the iv that came with encryptedData'),
    );
  });
});

describe('JS-SDK on behalf', () => {
  it('refuses to sign for unconfigured or foreign domains (no signing oracle)', async () => {
    const res = await fetch(`${w.url}/jssdk/${OA}/signature?url=${encodeURIComponent('https://shop.sandbox-merchant.com/')}`);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'WXO_ERR_JSSDK_DOMAIN' });
    await w.platform.jssdk.setDomains(OA, ['shop.sandbox-merchant.com', '*.m.sandbox-merchant.com']);
    for (const url of [
      'https://evil.example.com/',
      'https://shop.sandbox-merchant.com.evil.example.com/',
      'https://user:pw@shop.sandbox-merchant.com/',
      'javascript:alert(1)//shop.sandbox-merchant.com',
      'https://m.sandbox-merchant.com/',
      'not a url',
    ]) {
      await expect(w.platform.jssdk.sign(OA, url)).rejects.toBeInstanceOf(JssdkDomainError);
    }
    await expect(w.platform.jssdk.setDomains(OA, ['https://x.com/path'])).rejects.toThrow(TypeError);
  });

  it('fetches one jsapi_ticket for concurrent callers, keeps it sealed, signs the page URL without its fragment', async () => {
    const before = w.sandbox.counters.get(GETTICKET, OA);
    const tickets = await Promise.all(Array.from({ length: 20 }, () => w.platform.jssdk.ticket(OA)));
    expect(new Set(tickets).size).toBe(1);
    expect(w.sandbox.counters.get(GETTICKET, OA) - before).toBe(1);
    expect(w.sandbox.state.jsapiTickets.get(tickets[0]!)?.appid).toBe(OA);
    const stored = await w.store.getJsapiTicket(w.config.componentAppid, OA);
    expect(stored?.ticketEnc).not.toContain(tickets[0]);

    const url = 'https://shop.sandbox-merchant.com/pay?order=42&x=中文';
    const res = await fetch(`${w.url}/jssdk/${OA}/signature?url=${encodeURIComponent(`${url}#/cart`)}`);
    expect(res.status).toBe(200);
    const cfg = (await res.json()) as { appId: string; timestamp: number; nonceStr: string; signature: string };
    expect(cfg.appId).toBe(OA);
    expect(cfg.signature).toBe(jsapiSignature({ jsapiTicket: tickets[0]!, noncestr: cfg.nonceStr, timestamp: cfg.timestamp, url }).signature);
    expect((await w.platform.authorizer(OA).jssdk.sign('https://a.m.sandbox-merchant.com/x')).appId).toBe(OA);
    expect(w.sandbox.counters.get(GETTICKET, OA) - before).toBe(1);
    // A ticket near expiry is refetched once.
    await w.sandbox.advance(7200_000);
    await Promise.all([w.platform.jssdk.ticket(OA), w.platform.jssdk.ticket(OA)]);
    expect(w.sandbox.counters.get(GETTICKET, OA) - before).toBe(2);
  });

  it.each(vectors.jssdk_signature_vectors)('signs the official vector $id', async (v) => {
    const appid = OA2;
    const aad = `${w.config.componentAppid}:${appid}:jsapi`;
    const now = w.sandbox.clock.now();
    await w.store.saveJsapiTicket({ componentAppid: w.config.componentAppid, authorizerAppid: appid, ticketEnc: w.platform.ctx.box.seal(v.jsapi_ticket, aad), expiresAt: now + 7200_000, obtainedAt: now });
    await w.platform.jssdk.setDomains(appid, ['mp.weixin.qq.com']);
    const cfg = await w.platform.jssdk.sign(appid, `${v.url}#wechat_redirect`, { nonceStr: v.noncestr, timestamp: Number(v.timestamp) });
    expect(cfg).toEqual({ appId: appid, timestamp: Number(v.timestamp), nonceStr: v.noncestr, signature: v.expected_signature });
  });
});

describe('official-account web OAuth on behalf', () => {
  it('authorize URL → redirect with a single-use code → exchange → userinfo → refresh', async () => {
    const url = w.platform.oauth.authorizeUrl({ appid: OA, redirectUri: `${w.url}/oauth/done?from=menu`, scope: 'snsapi_userinfo', state: 's-1' });
    expect(url).toBe(
      `${w.sandbox.url}/connect/oauth2/authorize?appid=${OA}&redirect_uri=${encodeURIComponent(`${w.url}/oauth/done?from=menu`)}&response_type=code&scope=snsapi_userinfo&state=s-1&component_appid=${w.config.componentAppid}#wechat_redirect`,
    );
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get('location')!);
    expect(back.pathname).toBe('/oauth/done');
    expect(back.searchParams.get('from')).toBe('menu');
    expect(back.searchParams.get('state')).toBe('s-1');
    expect(back.searchParams.get('appid')).toBe(OA);
    const code = back.searchParams.get('code')!;

    const token = await w.platform.oauth.exchangeCode(OA, code);
    expect(token).toMatchObject({ expires_in: 7200, scope: 'snsapi_userinfo', openid: expect.stringMatching(/^o/), unionid: expect.any(String) });
    await expect(w.platform.oauth.exchangeCode(OA, code)).rejects.toMatchObject({ code: 'WXO_ERR_OAUTH_CODE', reason: 'code_used', statusCode: 400 });
    await expect(w.platform.oauth.exchangeCode(OA, 'nope')).rejects.toBeInstanceOf(OAuthCodeError);

    expect(await w.platform.oauth.userInfo(token.access_token, token.openid)).toMatchObject({ openid: token.openid, nickname: expect.any(String) });
    const refreshed = await w.platform.oauth.refresh(OA, token.refresh_token);
    expect(refreshed.access_token).not.toBe(token.access_token);
    expect(refreshed.refresh_token).toBe(token.refresh_token);
    expect((await w.platform.oauth.userInfo(refreshed.access_token, token.openid)).openid).toBe(token.openid);
    await w.sandbox.advance(7200_000);
    const expired = await w.platform.oauth.userInfo(token.access_token, token.openid).catch((e: unknown) => e);
    expect(expired).toMatchObject({ errcode: 42001 });
  });

  it('snsapi_base cannot read userinfo; an OA without 网页服务 gets WeChat’s error page', async () => {
    const res = await fetch(w.platform.oauth.authorizeUrl({ appid: OA, redirectUri: 'https://shop.sandbox-merchant.com/cb', scope: 'snsapi_base' }), { redirect: 'manual' });
    const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
    const t = await w.platform.oauth.exchangeCode(OA, code);
    const err = await w.platform.oauth.userInfo(t.access_token, t.openid).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeChatApiError);
    expect(err).toMatchObject({ errcode: 48001 });
    const denied = await fetch(w.platform.oauth.authorizeUrl({ appid: OA2, redirectUri: 'https://shop.sandbox-merchant.com/cb', scope: 'snsapi_base' }), { redirect: 'manual' });
    expect(denied.status).toBe(400);
  });
});
