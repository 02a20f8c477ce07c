import { describe, expect, it } from 'vitest';
import { createAuthorizerApi } from '../../../src/api/authorizer-client.js';
import { ApiCaller, type TokenProvider } from '../../../src/api/client.js';
import { componentAdminApi } from '../../../src/api/component-admin.js';
import { WeChatHttp } from '../../../src/api/http.js';
import { wxaTemplateApi } from '../../../src/api/wxa-template.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { createLogger } from '../../../src/util/logger.js';

/**
 * What each typed API call puts on the wire (method, path, query, body, which token parameter) and
 * whether it is repeated after a -1: WeChat's documented request shapes (spec 5, 12, 15), checked at the
 * transport through a recording `fetch`, so a wrong path, body field or retry policy fails here.
 */

interface Sent {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

const IMAGE = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);

/** A minimal valid answer for each path (the calls validate what comes back). */
function answerFor(path: string): unknown {
  const answers: Record<string, unknown> = {
    '/wxa/get_page': { page_list: ['pages/index'] },
    '/wxa/get_category': { category_list: [] },
    '/wxa/submit_audit': { auditid: 9 },
    '/wxa/get_auditstatus': { status: 0 },
    '/wxa/get_latest_auditstatus': { status: 0, auditid: 9 },
    '/wxa/queryquota': { rest: 1, limit: 2, speedup_rest: 1, speedup_limit: 1 },
    '/wxa/revertcoderelease': { version_list: [] },
    '/wxa/getgrayreleaseplan': { gray_release_plan: { status: 1, create_timestamp: 1, gray_percentage: 5 } },
    '/wxa/getvisitstatus': { status: 1 },
    '/wxa/bind_tester': { userstr: 'u1' },
    '/wxa/memberauth': { members: [] },
    '/wxa/security/get_code_privacy_info': { without_auth_list: [], without_conf_list: [] },
    '/cgi-bin/account/getaccountbasicinfo': { appid: 'wxA', account_type: 2 },
    '/cgi-bin/wxopen/getcategory': { categories: [] },
    '/wxa/generatescheme': { openlink: 'weixin://dl/business/?t=x' },
    '/wxa/generate_urllink': { url_link: 'https://wxaurl.cn/x' },
    '/cgi-bin/message/template/send': { msgid: 7 },
    '/cgi-bin/menu/get': { menu: { button: [] } },
    '/cgi-bin/user/info': { subscribe: 1, openid: 'o1' },
    '/cgi-bin/user/info/batchget': { user_info_list: [] },
    '/cgi-bin/qrcode/create': { ticket: 't', url: 'http://weixin.qq.com/q/x' },
    '/cgi-bin/shorten/gen': { short_key: 'k' },
    '/cgi-bin/shorten/fetch': { long_data: 'd', create_time: 1, expire_seconds: 2 },
    '/cgi-bin/openapi/quota/get': { quota: { daily_limit: 10, used: 1, remain: 9 } },
    '/cgi-bin/ticket/getticket': { ticket: 'jt', expires_in: 7200 },
    '/cgi-bin/component/api_get_authorizer_info': { authorizer_info: { user_name: 'gh_1' }, authorization_info: { authorizer_appid: 'wxA' } },
    '/cgi-bin/component/api_get_authorizer_list': { total_count: 0, list: [] },
    '/cgi-bin/component/api_get_authorizer_option': { option_name: 'voice_recognize', option_value: '1' },
    '/wxa/gettemplatedraftlist': { draft_list: [] },
    '/wxa/gettemplatelist': { template_list: [] },
  };
  return { errcode: 0, errmsg: 'ok', ...(answers[path] as object | undefined) };
}

/** A transport whose `fetch` records every request; `busyFirst` answers -1 once per call before the real answer. */
function wire() {
  const sent: Sent[] = [];
  let busyFirst = false;
  let busyGiven = false;
  const fakeFetch = (async (input: URL | string, init?: RequestInit) => {
    const url = new URL(String(input));
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    sent.push({ method: init?.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), body });
    if (busyFirst && !busyGiven) {
      busyGiven = true;
      return Response.json({ errcode: -1, errmsg: 'system error' });
    }
    if (url.pathname === '/wxa/get_qrcode') return new Response(IMAGE, { headers: { 'content-type': 'image/jpeg' } });
    return Response.json(answerFor(url.pathname));
  }) as typeof fetch;
  const http = new WeChatHttp({ bases: ['http://127.0.0.1:9'], fetch: fakeFetch, busyRetries: 1, busyBackoffMs: 0 });
  const deps = { http, metrics: createMetrics(), logger: createLogger({ level: 'silent' }), clock: { now: () => 0 }, sleep: async () => {} };
  const token = (subject: string, param: TokenProvider['param'], value: string): TokenProvider => ({
    subject,
    param,
    current: async () => ({ value, invalidate: async () => {} }),
  });
  const authorizer = new ApiCaller(deps, token('wxA', 'access_token', 'AAT'));
  const component = new ApiCaller(deps, token('wxC', 'component_access_token', 'CAT'));
  return {
    sent,
    http,
    authorizerApi: createAuthorizerApi(authorizer),
    admin: componentAdminApi(component, { componentAppid: 'wxC', componentSecret: 'SECRET', http }),
    templates: wxaTemplateApi(component),
    /** Runs `call` twice: once plainly (what it sends), once with a -1 first (is it repeated?). */
    async probe(call: () => Promise<unknown>): Promise<{ sent: Sent; repeatedAfterBusy: boolean }> {
      sent.length = 0;
      busyFirst = false;
      await call();
      expect(sent).toHaveLength(1);
      const first = sent[0]!;
      sent.length = 0;
      busyFirst = true;
      busyGiven = false;
      const outcome = await call().then(
        () => 'ok',
        (err: { errcode?: number }) => err.errcode,
      );
      const repeated = sent.length === 2 && outcome === 'ok';
      if (!repeated) expect([sent.length, outcome]).toEqual([1, -1]);
      busyFirst = false;
      return { sent: first, repeatedAfterBusy: repeated };
    },
  };
}

type Row = [name: string, call: (w: ReturnType<typeof wire>) => Promise<unknown>, method: 'GET' | 'POST', path: string, query: Record<string, string>, body: unknown, repeated: boolean];

const A = { access_token: 'AAT' };
const C = { component_access_token: 'CAT' };
const CA = { access_token: 'CAT' };

const rows: Row[] = [
  ['wxa.commit (object ext_json)', (w) => w.authorizerApi.wxa.commit({ template_id: 3, ext_json: { extAppid: 'wxA' }, user_version: '1.0.0', user_desc: 'd' }), 'POST', '/wxa/commit', A, { template_id: 3, ext_json: '{"extAppid":"wxA"}', user_version: '1.0.0', user_desc: 'd' }, false],
  ['wxa.commit (string ext_json)', (w) => w.authorizerApi.wxa.commit({ template_id: 3, ext_json: '{"a":1}', user_version: '1' }), 'POST', '/wxa/commit', A, { template_id: 3, ext_json: '{"a":1}', user_version: '1' }, false],
  ['wxa.commit (no ext_json)', (w) => w.authorizerApi.wxa.commit({ template_id: 3, user_version: '1' }), 'POST', '/wxa/commit', A, { template_id: 3, ext_json: '{}', user_version: '1' }, false],
  ['wxa.getPage', (w) => w.authorizerApi.wxa.getPage(), 'GET', '/wxa/get_page', A, undefined, true],
  ['wxa.getQrcode', (w) => w.authorizerApi.wxa.getQrcode('pages/a?x=1'), 'GET', '/wxa/get_qrcode', { path: 'pages/a?x=1', ...A }, undefined, true],
  ['wxa.getQrcode (no path)', (w) => w.authorizerApi.wxa.getQrcode(), 'GET', '/wxa/get_qrcode', A, undefined, true],
  ['wxa.getCategory', (w) => w.authorizerApi.wxa.getCategory(), 'GET', '/wxa/get_category', A, undefined, true],
  ['wxa.submitAudit', (w) => w.authorizerApi.wxa.submitAudit({ version_desc: 'v' }), 'POST', '/wxa/submit_audit', A, { version_desc: 'v' }, false],
  ['wxa.submitAudit (nothing)', (w) => w.authorizerApi.wxa.submitAudit(), 'POST', '/wxa/submit_audit', A, {}, false],
  ['wxa.getAuditStatus', (w) => w.authorizerApi.wxa.getAuditStatus(9), 'POST', '/wxa/get_auditstatus', A, { auditid: 9 }, true],
  ['wxa.getLatestAuditStatus', (w) => w.authorizerApi.wxa.getLatestAuditStatus(), 'GET', '/wxa/get_latest_auditstatus', A, undefined, true],
  ['wxa.undoCodeAudit', (w) => w.authorizerApi.wxa.undoCodeAudit(), 'GET', '/wxa/undocodeaudit', A, undefined, false],
  ['wxa.speedupAudit', (w) => w.authorizerApi.wxa.speedupAudit(9), 'POST', '/wxa/speedupaudit', A, { auditid: 9 }, false],
  ['wxa.queryQuota', (w) => w.authorizerApi.wxa.queryQuota(), 'GET', '/wxa/queryquota', A, undefined, true],
  ['wxa.release', (w) => w.authorizerApi.wxa.release(), 'POST', '/wxa/release', A, {}, false],
  ['wxa.revertCodeRelease', (w) => w.authorizerApi.wxa.revertCodeRelease(4), 'GET', '/wxa/revertcoderelease', { app_version: '4', ...A }, undefined, false],
  ['wxa.revertCodeRelease (previous)', (w) => w.authorizerApi.wxa.revertCodeRelease(), 'GET', '/wxa/revertcoderelease', A, undefined, false],
  ['wxa.getHistoryVersions', (w) => w.authorizerApi.wxa.getHistoryVersions(), 'GET', '/wxa/revertcoderelease', { action: 'get_history_version', ...A }, undefined, true],
  ['wxa.grayRelease', (w) => w.authorizerApi.wxa.grayRelease({ gray_percentage: 10 }), 'POST', '/wxa/grayrelease', A, { gray_percentage: 10 }, false],
  ['wxa.revertGrayRelease', (w) => w.authorizerApi.wxa.revertGrayRelease(), 'GET', '/wxa/revertgrayrelease', A, undefined, false],
  ['wxa.getGrayReleasePlan', (w) => w.authorizerApi.wxa.getGrayReleasePlan(), 'GET', '/wxa/getgrayreleaseplan', A, undefined, true],
  ['wxa.changeVisitStatus', (w) => w.authorizerApi.wxa.changeVisitStatus('close'), 'POST', '/wxa/change_visitstatus', A, { action: 'close' }, false],
  ['wxa.getVisitStatus', (w) => w.authorizerApi.wxa.getVisitStatus(), 'POST', '/wxa/getvisitstatus', A, {}, true],
  ['domains.modify', (w) => w.authorizerApi.domains.modify('add', { requestdomain: ['https://a.example'] }), 'POST', '/wxa/modify_domain', A, { action: 'add', requestdomain: ['https://a.example'] }, false],
  ['domains.get', (w) => w.authorizerApi.domains.get(), 'POST', '/wxa/modify_domain', A, { action: 'get' }, true],
  ['domains.setWebview (set)', (w) => w.authorizerApi.domains.setWebview('set', ['https://w.example']), 'POST', '/wxa/setwebviewdomain', A, { action: 'set', webviewdomain: ['https://w.example'] }, false],
  ['domains.setWebview (add, none)', (w) => w.authorizerApi.domains.setWebview('add'), 'POST', '/wxa/setwebviewdomain', A, { action: 'add', webviewdomain: [] }, false],
  ['domains.setWebview (get)', (w) => w.authorizerApi.domains.setWebview('get', ['ignored']), 'POST', '/wxa/setwebviewdomain', A, { action: 'get' }, true],
  ['testers.bind', (w) => w.authorizerApi.testers.bind('wxid_1'), 'POST', '/wxa/bind_tester', A, { wechatid: 'wxid_1' }, false],
  ['testers.unbind', (w) => w.authorizerApi.testers.unbind({ userstr: 'u1' }), 'POST', '/wxa/unbind_tester', A, { userstr: 'u1' }, false],
  ['testers.list', (w) => w.authorizerApi.testers.list(), 'POST', '/wxa/memberauth', A, { action: 'get_experiencer' }, true],
  ['privacy.getPrivacySetting', (w) => w.authorizerApi.privacy.getPrivacySetting(), 'POST', '/cgi-bin/component/getprivacysetting', A, { privacy_ver: 2 }, true],
  ['privacy.getPrivacySetting (live)', (w) => w.authorizerApi.privacy.getPrivacySetting(1), 'POST', '/cgi-bin/component/getprivacysetting', A, { privacy_ver: 1 }, true],
  [
    'privacy.setPrivacySetting (dev)',
    (w) => w.authorizerApi.privacy.setPrivacySetting({ owner_setting: { notice_method: 'mail' }, setting_list: [{ privacy_key: 'Location', privacy_text: 't' }] }),
    'POST',
    '/cgi-bin/component/setprivacysetting',
    A,
    { privacy_ver: 2, owner_setting: { notice_method: 'mail' }, setting_list: [{ privacy_key: 'Location', privacy_text: 't' }] },
    false,
  ],
  [
    'privacy.setPrivacySetting (live: owner_setting only)',
    (w) => w.authorizerApi.privacy.setPrivacySetting({ privacy_ver: 1, owner_setting: { notice_method: 'mail' }, setting_list: [{ privacy_key: 'Location', privacy_text: 't' }] }),
    'POST',
    '/cgi-bin/component/setprivacysetting',
    A,
    { privacy_ver: 1, owner_setting: { notice_method: 'mail' } },
    false,
  ],
  ['privacy.getCodePrivacyInfo', (w) => w.authorizerApi.privacy.getCodePrivacyInfo(), 'GET', '/wxa/security/get_code_privacy_info', A, undefined, true],
  ['basic.getAccountBasicInfo', (w) => w.authorizerApi.basic.getAccountBasicInfo(), 'POST', '/cgi-bin/account/getaccountbasicinfo', A, {}, true],
  ['basic.getSettingCategories', (w) => w.authorizerApi.basic.getSettingCategories(), 'GET', '/cgi-bin/wxopen/getcategory', A, undefined, true],
  ['basic.generateScheme', (w) => w.authorizerApi.basic.generateScheme({ expire_type: 1, expire_interval: 1 }), 'POST', '/wxa/generatescheme', A, { expire_type: 1, expire_interval: 1 }, false],
  ['basic.generateUrlLink', (w) => w.authorizerApi.basic.generateUrlLink({ path: 'pages/a' }), 'POST', '/wxa/generate_urllink', A, { path: 'pages/a' }, false],
  [
    'message.sendCustom (kf account)',
    (w) => w.authorizerApi.message.sendCustom('o1', { msgtype: 'text', text: { content: 'hi' } }, 'kf2001@gh'),
    'POST',
    '/cgi-bin/message/custom/send',
    A,
    { touser: 'o1', msgtype: 'text', text: { content: 'hi' }, customservice: { kf_account: 'kf2001@gh' } },
    false,
  ],
  ['message.sendCustom', (w) => w.authorizerApi.message.sendCustom('o1', { msgtype: 'image', image: { media_id: 'm' } }), 'POST', '/cgi-bin/message/custom/send', A, { touser: 'o1', msgtype: 'image', image: { media_id: 'm' } }, false],
  ['message.sendText', (w) => w.authorizerApi.message.sendText('o1', 'hello'), 'POST', '/cgi-bin/message/custom/send', A, { touser: 'o1', msgtype: 'text', text: { content: 'hello' } }, false],
  [
    'message.sendTemplate',
    (w) => w.authorizerApi.message.sendTemplate({ touser: 'o1', template_id: 'T', data: { k: { value: 'v' } } }),
    'POST',
    '/cgi-bin/message/template/send',
    A,
    { touser: 'o1', template_id: 'T', data: { k: { value: 'v' } } },
    false,
  ],
  ['menu.create', (w) => w.authorizerApi.menu.create([{ type: 'click', name: 'n', key: 'k' }]), 'POST', '/cgi-bin/menu/create', A, { button: [{ type: 'click', name: 'n', key: 'k' }] }, false],
  ['menu.get', (w) => w.authorizerApi.menu.get(), 'GET', '/cgi-bin/menu/get', A, undefined, true],
  ['menu.delete', (w) => w.authorizerApi.menu.delete(), 'GET', '/cgi-bin/menu/delete', A, undefined, true],
  ['user.info', (w) => w.authorizerApi.user.info('o1'), 'GET', '/cgi-bin/user/info', { openid: 'o1', lang: 'zh_CN', ...A }, undefined, true],
  ['user.info (en)', (w) => w.authorizerApi.user.info('o1', 'en'), 'GET', '/cgi-bin/user/info', { openid: 'o1', lang: 'en', ...A }, undefined, true],
  [
    'user.batchInfo',
    (w) => w.authorizerApi.user.batchInfo(['o1', 'o2']),
    'POST',
    '/cgi-bin/user/info/batchget',
    A,
    { user_list: [{ openid: 'o1', lang: 'zh_CN' }, { openid: 'o2', lang: 'zh_CN' }] },
    true,
  ],
  ['user.batchInfo (zh_TW)', (w) => w.authorizerApi.user.batchInfo(['o1'], 'zh_TW'), 'POST', '/cgi-bin/user/info/batchget', A, { user_list: [{ openid: 'o1', lang: 'zh_TW' }] }, true],
  [
    'qrcode.create',
    (w) => w.authorizerApi.qrcode.create({ action_name: 'QR_LIMIT_STR_SCENE', action_info: { scene: { scene_str: 's' } } }),
    'POST',
    '/cgi-bin/qrcode/create',
    A,
    { action_name: 'QR_LIMIT_STR_SCENE', action_info: { scene: { scene_str: 's' } } },
    false,
  ],
  ['qrcode.shortenGen', (w) => w.authorizerApi.qrcode.shortenGen('data', 60), 'POST', '/cgi-bin/shorten/gen', A, { long_data: 'data', expire_seconds: 60 }, false],
  ['qrcode.shortenGen (default expiry)', (w) => w.authorizerApi.qrcode.shortenGen('data'), 'POST', '/cgi-bin/shorten/gen', A, { long_data: 'data' }, false],
  ['qrcode.shortenFetch', (w) => w.authorizerApi.qrcode.shortenFetch('k'), 'POST', '/cgi-bin/shorten/fetch', A, { short_key: 'k' }, true],
  ['quota.clear', (w) => w.authorizerApi.quota.clear(), 'POST', '/cgi-bin/clear_quota', A, { appid: 'wxA' }, false],
  ['quota.get', (w) => w.authorizerApi.quota.get('/wxa/commit'), 'POST', '/cgi-bin/openapi/quota/get', A, { cgi_path: '/wxa/commit' }, true],
  ['getTicket', (w) => w.authorizerApi.getTicket(), 'GET', '/cgi-bin/ticket/getticket', { type: 'jsapi', ...A }, undefined, true],
  ['getTicket (wx_card)', (w) => w.authorizerApi.getTicket('wx_card'), 'GET', '/cgi-bin/ticket/getticket', { type: 'wx_card', ...A }, undefined, true],
  ['admin.getAuthorizerInfo', (w) => w.admin.getAuthorizerInfo('wxA'), 'POST', '/cgi-bin/component/api_get_authorizer_info', C, { component_appid: 'wxC', authorizer_appid: 'wxA' }, true],
  ['admin.getAuthorizerList', (w) => w.admin.getAuthorizerList(), 'POST', '/cgi-bin/component/api_get_authorizer_list', C, { component_appid: 'wxC', offset: 0, count: 100 }, true],
  ['admin.getAuthorizerList (page)', (w) => w.admin.getAuthorizerList(500, 20), 'POST', '/cgi-bin/component/api_get_authorizer_list', C, { component_appid: 'wxC', offset: 500, count: 20 }, true],
  [
    'admin.getAuthorizerOption',
    (w) => w.admin.getAuthorizerOption('wxA', 'voice_recognize'),
    'POST',
    '/cgi-bin/component/api_get_authorizer_option',
    C,
    { component_appid: 'wxC', authorizer_appid: 'wxA', option_name: 'voice_recognize' },
    true,
  ],
  [
    'admin.setAuthorizerOption',
    (w) => w.admin.setAuthorizerOption('wxA', 'voice_recognize', '0'),
    'POST',
    '/cgi-bin/component/api_set_authorizer_option',
    C,
    { component_appid: 'wxC', authorizer_appid: 'wxA', option_name: 'voice_recognize', option_value: '0' },
    true,
  ],
  ['admin.clearQuota (component)', (w) => w.admin.clearQuota(), 'POST', '/cgi-bin/clear_quota', CA, { appid: 'wxC' }, false],
  ['admin.clearQuota (authorizer)', (w) => w.admin.clearQuota('wxA'), 'POST', '/cgi-bin/clear_quota', CA, { appid: 'wxA' }, false],
  ['admin.clearQuotaBySecret (component)', (w) => w.admin.clearQuotaBySecret(), 'POST', '/cgi-bin/component/clear_quota/v2', {}, { component_appid: 'wxC', appsecret: 'SECRET' }, false],
  ['admin.clearQuotaBySecret (authorizer)', (w) => w.admin.clearQuotaBySecret('wxA'), 'POST', '/cgi-bin/component/clear_quota/v2', {}, { component_appid: 'wxC', appsecret: 'SECRET', appid: 'wxA' }, false],
  ['admin.clearQuotaLegacy', (w) => w.admin.clearQuotaLegacy(), 'POST', '/cgi-bin/component/clear_quota', C, { component_appid: 'wxC' }, false],
  ['admin.getApiQuota', (w) => w.admin.getApiQuota('/wxa/commit'), 'POST', '/cgi-bin/openapi/quota/get', CA, { cgi_path: '/wxa/commit' }, true],
  ['templates.getDraftList', (w) => w.templates.getDraftList(), 'GET', '/wxa/gettemplatedraftlist', CA, undefined, true],
  ['templates.addToTemplate', (w) => w.templates.addToTemplate(7), 'POST', '/wxa/addtotemplate', CA, { draft_id: 7, template_type: 0 }, false],
  ['templates.addToTemplate (standard)', (w) => w.templates.addToTemplate(7, 1), 'POST', '/wxa/addtotemplate', CA, { draft_id: 7, template_type: 1 }, false],
  ['templates.getTemplateList', (w) => w.templates.getTemplateList(), 'GET', '/wxa/gettemplatelist', CA, undefined, true],
  ['templates.getTemplateList (standard)', (w) => w.templates.getTemplateList(1), 'GET', '/wxa/gettemplatelist', { template_type: '1', ...CA }, undefined, true],
  ['templates.deleteTemplate', (w) => w.templates.deleteTemplate(3), 'POST', '/wxa/deletetemplate', CA, { template_id: 3 }, false],
];

describe('typed API groups: what goes on the wire', () => {
  it.each(rows)('%s', async (_name, call, method, path, query, body, repeated) => {
    const w = wire();
    const r = await w.probe(() => call(w));
    expect(r.sent).toEqual({ method, path, query, body });
    // State-changing calls are never repeated after -1 (spec 8: check state first); reads are.
    expect(r.repeatedAfterBusy).toBe(repeated);
  });

  it('binds the authorizer groups to the caller’s account and returns what WeChat answered', async () => {
    const w = wire();
    expect(w.authorizerApi.appid).toBe('wxA');
    expect(await w.authorizerApi.wxa.submitAudit()).toMatchObject({ auditid: 9 });
    const qr = await w.authorizerApi.wxa.getQrcode();
    expect(qr).toEqual({ contentType: 'image/jpeg', data: IMAGE });
    expect(await w.admin.clearQuotaBySecret()).toMatchObject({ errcode: 0 });
  });

  it('user.batchInfo takes 1 to 100 openids and refuses other counts before calling WeChat', async () => {
    const w = wire();
    expect(() => w.authorizerApi.user.batchInfo([])).toThrow(RangeError);
    expect(() => w.authorizerApi.user.batchInfo(Array.from({ length: 101 }, (_, i) => `o${i}`))).toThrow('1–100 openids');
    expect(w.sent).toHaveLength(0);
    await w.authorizerApi.user.batchInfo(Array.from({ length: 100 }, (_, i) => `o${i}`));
    expect((w.sent[0]!.body as { user_list: unknown[] }).user_list).toHaveLength(100);
  });
});
