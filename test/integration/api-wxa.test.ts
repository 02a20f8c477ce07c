import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiResponseError } from '../../src/api/client.js';
import { RateLimitedError } from '../../src/api/rate-limit.js';
import { UpstreamError, WeChatApiError } from '../../src/errors.js';
import { createLogger } from '../../src/util/logger.js';
import { startWorld, type World } from '../helpers/world.js';

const MP = 'wx5c9d0e3a7f1b2846';
const MP2 = 'wx2e6f8a1c4b7d9035';
const OA = 'wx3a7f2c9e1b4d6f80';
const AAT = '/cgi-bin/component/api_authorizer_token';

let w: World;
const lines: string[] = [];

beforeAll(async () => {
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(chunk.toString());
        cb();
      },
    }),
  });
  w = await startWorld({
    sandbox: { auditDelaySeconds: 600, quotas: { '/wxa/get_category': 3 } },
    env: { WXOPEN_API_RATE_LIMITS: 'wxa/queryquota=3/m,*=1000/s', WXOPEN_API_RATE_LIMIT_MAX_WAIT_MS: '0' },
    platform: { logger, api: { backoffMs: 2 } },
  });
  await w.sandbox.pushTicket();
  await w.settle();
  await w.sandbox.authorize(MP);
  await w.sandbox.authorize(OA);
  await w.sandbox.authorize(MP2, [20]);
  await w.settle();
});
afterAll(async () => w?.close());

async function rejection(p: Promise<unknown>): Promise<WeChatApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WeChatApiError);
  return err as WeChatApiError;
}

describe('component template library (wx.component)', () => {
  it('lists drafts, adds one to the library, lists and deletes templates; 85064 is typed', async () => {
    const t = w.platform.componentApi.templates;
    const drafts = await t.getDraftList();
    expect(drafts.draft_list[0]).toMatchObject({ draft_id: 1, user_version: '1.0.0' });
    expect(await t.addToTemplate(1)).toMatchObject({ errcode: 0 });
    const list = await t.getTemplateList(0);
    const id = list.template_list.find((x) => x.draft_id === 1)!.template_id;
    await t.addToTemplate(2);
    const extra = (await t.getTemplateList()).template_list.find((x) => x.draft_id === 2)!.template_id;
    await t.deleteTemplate(extra);
    const err = await rejection(t.deleteTemplate(extra));
    expect(err).toMatchObject({ errcode: 85064, errorClass: 'param', retryable: false, meaning: { en: 'template not found' } });
    expect(id).toBeGreaterThan(0);
  });
});

describe('code management', () => {
  let templateId: number;
  beforeAll(async () => {
    templateId = (await w.platform.componentApi.templates.getTemplateList()).template_list[0]!.template_id;
  });

  it('commit sends ext_json as a JSON string; get_page, get_qrcode (binary), get_category', async () => {
    const mp = w.platform.authorizer(MP);
    await mp.wxa.commit({ template_id: templateId, ext_json: { extAppid: MP, ext: { shop: '青木' } }, user_version: 'V1.0', user_desc: 'first' });
    expect(w.sandbox.state.code.get(MP)?.committed?.extJson).toBe(JSON.stringify({ extAppid: MP, ext: { shop: '青木' } }));
    expect((await mp.wxa.getPage()).page_list).toContain('pages/index/index');
    const qr = await mp.wxa.getQrcode('pages/index/index?from=test');
    expect(Buffer.isBuffer(qr.data)).toBe(true);
    expect(qr.contentType).toBe('image/jpeg');
    expect(qr.data.subarray(0, 2).toString('hex')).toBe('ffd8');
    expect((await mp.wxa.getCategory()).category_list[0]).toMatchObject({ first_class: '餐饮服务' });
    const bad = await rejection(mp.wxa.commit({ template_id: 424242, user_version: 'V1' }));
    expect(bad).toMatchObject({ errcode: 85014, path: '/wxa/commit' });
  });

  it('submit_audit, status, speedupaudit (once), queryquota, undo, resubmit, release with {}', async () => {
    const mp = w.platform.authorizer(MP);
    const { auditid } = await mp.wxa.submitAudit({ item_list: [{ address: 'pages/index/index', tag: '点餐', first_id: 220, second_id: 221, title: '首页' }] });
    expect(await mp.wxa.getAuditStatus(auditid)).toMatchObject({ status: 2 });
    expect(await rejection(mp.wxa.submitAudit())).toMatchObject({ errcode: 85009, errorClass: 'state' });
    const before = await mp.wxa.queryQuota();
    expect(await mp.wxa.speedupAudit(auditid)).toMatchObject({ errcode: 0 });
    expect(await rejection(mp.wxa.speedupAudit(auditid))).toMatchObject({ errcode: 89404 });
    expect((await mp.wxa.queryQuota()).speedup_rest).toBe(before.speedup_rest - 1);
    await mp.wxa.undoCodeAudit();
    expect(await mp.wxa.getLatestAuditStatus()).toMatchObject({ auditid, status: 3 });
    const second = await mp.wxa.submitAudit();
    // Sped up: due in a quarter of the 600 s audit delay.
    await w.sandbox.advance(151_000);
    expect(await mp.wxa.getAuditStatus(second.auditid.valueOf())).toMatchObject({ status: 2 });
    await mp.wxa.speedupAudit(second.auditid);
    await w.sandbox.advance(151_000);
    expect(await mp.wxa.getLatestAuditStatus()).toMatchObject({ auditid: second.auditid, status: 0 });
    expect(await mp.wxa.release()).toMatchObject({ errcode: 0 });
    expect(await rejection(mp.wxa.release())).toMatchObject({ errcode: 85052, errorClass: 'state' });
    expect(await rejection(mp.wxa.revertCodeRelease())).toMatchObject({ errcode: 87012 });
  });

  it('gray release plan, revert, history; visit status close/open', async () => {
    const mp = w.platform.authorizer(MP);
    await mp.wxa.commit({ template_id: templateId, ext_json: '{"extAppid":"x"}', user_version: 'V1.1' });
    const { auditid } = await mp.wxa.submitAudit();
    await w.sandbox.advance(601_000);
    expect((await mp.wxa.getAuditStatus(auditid)).status).toBe(0);
    await mp.wxa.grayRelease({ gray_percentage: 10 });
    expect(await rejection(mp.wxa.grayRelease({ gray_percentage: 5 }))).toMatchObject({ errcode: 85082 });
    expect((await mp.wxa.getGrayReleasePlan()).gray_release_plan).toMatchObject({ status: 1, gray_percentage: 10 });
    await mp.wxa.revertGrayRelease();
    expect((await mp.wxa.getGrayReleasePlan()).gray_release_plan.status).toBe(4);
    expect((await mp.wxa.getHistoryVersions()).version_list).toEqual([]);
    expect(await mp.wxa.getVisitStatus()).toMatchObject({ status: 1 });
    await mp.wxa.changeVisitStatus('close');
    expect(await mp.wxa.getVisitStatus()).toMatchObject({ status: 0 });
    await mp.wxa.changeVisitStatus('open');
    expect(await mp.wxa.getVisitStatus()).toMatchObject({ status: 1 });
  });
});

describe('domains, testers, privacy, basic info, links', () => {
  it('modify_domain and setwebviewdomain with their typed errors', async () => {
    const mp = w.platform.authorizer(MP);
    const added = await mp.domains.modify('add', { requestdomain: ['https://api.sandbox-merchant.com'] });
    expect(added.requestdomain).toEqual(['https://api.sandbox-merchant.com']);
    expect((await mp.domains.get()).requestdomain).toEqual(['https://api.sandbox-merchant.com']);
    expect(await rejection(mp.domains.modify('add', { requestdomain: ['https://evil.example.com'] }))).toMatchObject({ errcode: 85018, errorClass: 'config' });
    expect((await mp.domains.setWebview('add', ['https://cdn.sandbox-merchant.com'])).webviewdomain).toEqual(['https://cdn.sandbox-merchant.com']);
    expect(await rejection(mp.domains.setWebview('add', ['https://cdn.sandbox-merchant.com']))).toMatchObject({ errcode: 89019 });
    expect(await rejection(mp.domains.setWebview('add', ['https://other.example.org']))).toMatchObject({ errcode: 89021 });
    expect((await mp.domains.setWebview('get')).webviewdomain).toEqual(['https://cdn.sandbox-merchant.com']);
  });

  it('testers bind, list, unbind; 85004 when bound twice', async () => {
    const mp = w.platform.authorizer(MP);
    const { userstr } = await mp.testers.bind('tester_wang01');
    expect(await rejection(mp.testers.bind('tester_wang01'))).toMatchObject({ errcode: 85004, errorClass: 'param' });
    expect((await mp.testers.list()).members).toEqual([{ userstr }]);
    await mp.testers.unbind({ userstr });
    expect((await mp.testers.list()).members).toEqual([]);
  });

  it('privacy settings: 86069 without a contact, set dev, read back, live after release', async () => {
    const mp = w.platform.authorizer(MP);
    const owner = { notice_method: '弹窗', contact_email: 'privacy@sandbox-merchant.com' };
    expect(await rejection(mp.privacy.setPrivacySetting({ owner_setting: { notice_method: '弹窗' }, setting_list: [] }))).toMatchObject({ errcode: 86069 });
    await mp.privacy.setPrivacySetting({ owner_setting: owner, setting_list: [{ privacy_key: 'UserInfo', privacy_text: '用于会员识别' }] });
    const dev = await mp.privacy.getPrivacySetting(2);
    expect(dev.setting_list).toContainEqual(expect.objectContaining({ privacy_key: 'UserInfo', privacy_text: '用于会员识别' }));
    expect(dev.owner_setting).toMatchObject(owner);
    expect((await mp.privacy.getCodePrivacyInfo()).without_conf_list).toEqual(['Location']);
    // MP2 has never released: no live guideline yet.
    const mp2 = w.platform.authorizer(MP2);
    expect(await rejection(mp2.privacy.setPrivacySetting({ privacy_ver: 1, owner_setting: owner }))).toMatchObject({ errcode: 61007 });
  });

  it('getaccountbasicinfo, setting categories, URL scheme and link (after release)', async () => {
    const mp = w.platform.authorizer(MP);
    expect(await mp.basic.getAccountBasicInfo()).toMatchObject({ appid: MP, account_type: 3, nickname: '青木咖啡点单' });
    expect((await w.platform.authorizer(OA).basic.getAccountBasicInfo()).account_type).toBe(2);
    expect((await mp.basic.getSettingCategories()).categories[0]).toMatchObject({ first: 220, second_name: '点餐平台' });
    expect((await mp.basic.generateScheme({ jump_wxa: { path: 'pages/index/index' }, expire_type: 1, expire_interval: 7 })).openlink).toMatch(/^weixin:\/\/dl\/business\/\?t=/);
    expect((await mp.basic.generateUrlLink({ path: 'pages/index/index' })).url_link).toMatch(/^https:\/\/wxaurl\.cn\//);
    expect(await rejection(mp.basic.generateUrlLink({ expire_interval: 45, expire_type: 1 }))).toMatchObject({ errcode: 40097 });
  });
});

describe('typed permission errors', () => {
  it('61007 names the set the merchant did not grant and does not refresh the token', async () => {
    const refreshes = w.sandbox.counters.get(AAT, MP2);
    const err = await rejection(w.platform.authorizer(MP2).wxa.getPage());
    expect(err).toMatchObject({ errcode: 61007, errorClass: 'permission', retryable: false, missingPermissionSets: [{ id: 18, name: '小程序开发与数据分析' }] });
    expect(err.message).toContain('[18] 小程序开发与数据分析');
    expect(w.sandbox.counters.get(AAT, MP2)).toBe(refreshes);
    expect(w.sandbox.counters.get('/wxa/get_page', MP2)).toBe(1);
  });

  it('48001 when the account type lacks the API (an official account calling code management)', async () => {
    const err = await rejection(w.platform.authorizer(OA).wxa.getPage());
    expect(err).toMatchObject({ errcode: 48001, errorClass: 'permission' });
    expect(err.message).toContain('token kind');
  });
});

describe('retry policy', () => {
  it('40001 on a replaced token: one refresh, one retry', async () => {
    const mp = w.platform.authorizer(MP);
    await mp.wxa.getPage();
    const pages = w.sandbox.counters.get('/wxa/get_page', MP);
    const refreshes = w.sandbox.counters.get(AAT, MP);
    // WeChat issues a newer token elsewhere; ours stops working 5 minutes later.
    w.sandbox.state.issueToken('authorizer', MP);
    await w.sandbox.advance(6 * 60_000);
    await mp.wxa.getPage();
    expect(w.sandbox.counters.get(AAT, MP)).toBe(refreshes + 1);
    expect(w.sandbox.counters.get('/wxa/get_page', MP)).toBe(pages + 2);
  });

  it('-1 and 5xx on an idempotent read back off and retry (bounded)', async () => {
    const mp = w.platform.authorizer(MP);
    const path = '/wxa/getgrayreleaseplan';
    const base = w.sandbox.counters.get(path, MP);
    w.sandbox.faults.set(path, { type: 'system_busy', times: 2 });
    await mp.wxa.getGrayReleasePlan();
    expect(w.sandbox.counters.get(path, MP) - base).toBe(3);
    w.sandbox.faults.set(path, { type: 'http_error', status: 503, times: 2 });
    await mp.wxa.getGrayReleasePlan();
    expect(w.sandbox.counters.get(path, MP) - base).toBe(6);
    // Bounded: 1 try + 2 retries, then the UpstreamError surfaces.
    w.sandbox.faults.set(path, { type: 'http_error', status: 502 });
    await expect(mp.wxa.getGrayReleasePlan()).rejects.toBeInstanceOf(UpstreamError);
    expect(w.sandbox.counters.get(path, MP) - base).toBe(9);
    w.sandbox.faults.clear(path);
  });

  it('state-changing POSTs are never repeated: -1 and 5xx surface at once', async () => {
    const mp = w.platform.authorizer(MP);
    const submits = w.sandbox.counters.get('/wxa/submit_audit', MP);
    w.sandbox.faults.set('/wxa/submit_audit', { type: 'system_busy', times: 1 });
    const busy = await rejection(mp.wxa.submitAudit());
    expect(busy).toMatchObject({ errcode: -1, retryable: true, errorClass: 'busy' });
    expect(w.sandbox.counters.get('/wxa/submit_audit', MP) - submits).toBe(1);
    const visits = w.sandbox.counters.get('/wxa/change_visitstatus', MP);
    w.sandbox.faults.set('/wxa/change_visitstatus', { type: 'http_error', times: 1 });
    await expect(mp.wxa.changeVisitStatus('open')).rejects.toBeInstanceOf(UpstreamError);
    expect(w.sandbox.counters.get('/wxa/change_visitstatus', MP) - visits).toBe(1);
  });

  it('45009 is never retried', async () => {
    const mp = w.platform.authorizer(MP);
    const used = w.sandbox.counters.get('/wxa/get_category', MP);
    for (let i = used; i < 3; i++) await mp.wxa.getCategory();
    const err = await rejection(mp.wxa.getCategory());
    expect(err).toMatchObject({ errcode: 45009, errorClass: 'quota', retryable: false });
    expect(w.sandbox.counters.get('/wxa/get_category', MP)).toBe(4);
  });

  it('an answer of the wrong shape is refused before use', async () => {
    w.sandbox.faults.clear();
    const mp = w.platform.authorizer(MP);
    // WeChat answering errcode 0 with a page_list of the wrong type.
    const original = w.sandbox.state.code.get(MP)!.committed!.pages;
    w.sandbox.state.code.get(MP)!.committed!.pages = [42 as unknown as string];
    await expect(mp.wxa.getPage()).rejects.toBeInstanceOf(ApiResponseError);
    w.sandbox.state.code.get(MP)!.committed!.pages = original;
  });
});

describe('rate limit, metric and log per call', () => {
  it('WXOPEN_API_RATE_LIMITS stops a runaway loop before WeChat sees it', async () => {
    const mp = w.platform.authorizer(MP);
    const before = w.sandbox.counters.get('/wxa/queryquota', MP);
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => mp.wxa.queryQuota()));
    const refused = results.filter((r) => r.status === 'rejected');
    // The bucket holds at most 3 calls (wxa/queryquota=3/min) and the wait limit is 0: the rest are refused locally.
    expect(refused.length).toBeGreaterThanOrEqual(3);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(RateLimitedError);
    expect(w.sandbox.counters.get('/wxa/queryquota', MP) - before).toBe(6 - refused.length);
  });

  it('counts every call by api and outcome, and logs without tokens', async () => {
    const text = await w.platform.ctx.metrics.registry.metrics();
    expect(text).toMatch(/wxopen_api_calls_total\{api="wxa\/get_page",outcome="ok"\} \d+/);
    expect(text).toMatch(/wxopen_api_calls_total\{api="wxa\/get_page",outcome="61007"\} 1/);
    expect(text).toMatch(/wxopen_api_calls_total\{api="wxa\/queryquota",outcome="rate_limited"\} \d+/);
    expect(text).toMatch(/wxopen_api_calls_total\{api="wxa\/get_category",outcome="45009"\} 1/);
    expect(text).toMatch(/wxopen_api_call_duration_seconds_count\{api="wxa\/commit"\} \d+/);
    const callLines = lines.filter((l) => l.includes('"msg":"WeChat API call"'));
    expect(callLines.length).toBeGreaterThan(20);
    expect(JSON.parse(callLines[0]!)).toMatchObject({ level: 20, api: expect.any(String), appid: expect.any(String), outcome: expect.any(String) });
    const token = await w.platform.authorizerToken(MP);
    const cat = await w.platform.componentToken();
    const all = lines.join('');
    expect(all).not.toContain(token);
    expect(all).not.toContain(cat);
  });
});
