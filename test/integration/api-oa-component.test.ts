import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamError, WeChatApiError } from '../../src/errors.js';
import { sandboxTemplateId } from '../../src/sandbox/index.js';
import { openidFor } from '../../src/sandbox/state.js';
import { startWorld, type World } from '../helpers/world.js';

const OA = 'wx3a7f2c9e1b4d6f80';
const OA2 = 'wx8b1e4d2f6a9c3057';
const MP = 'wx5c9d0e3a7f1b2846';

let w: World;
beforeAll(async () => {
  // The customer-service window (spec 13) has its own tests (test/sandbox/cs-window.test.ts).
  w = await startWorld({ sandbox: { quotas: { '/cgi-bin/message/custom/send': 4 }, customerServiceWindow: false }, platform: { api: { backoffMs: 2 } } });
  await w.sandbox.pushTicket();
  await w.settle();
  await w.sandbox.authorize(OA);
  await w.sandbox.authorize(OA2, [1]);
  await w.sandbox.authorize(MP);
  await w.settle();
});
afterAll(async () => w?.close());

const fails = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a WeChatApiError');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(WeChatApiError);
      return e as WeChatApiError;
    },
  );

describe('official account groups', () => {
  const user = openidFor(OA, 'demo-user');

  it('customer-service send (text, news, miniprogrampage) and template messages', async () => {
    const oa = w.platform.authorizer(OA);
    await oa.message.sendText(user, '您的咖啡好了');
    await oa.message.sendCustom(user, { msgtype: 'news', news: { articles: [{ title: '新品', url: 'https://sandbox-merchant.com/new' }] } });
    await oa.message.sendCustom(user, { msgtype: 'miniprogrampage', miniprogrampage: { title: '点单', appid: MP, pagepath: 'pages/index/index', thumb_media_id: 'm1' } });
    expect(w.sandbox.sentMessages(OA).map((m) => m.msgtype)).toEqual(['text', 'news', 'miniprogrampage']);
    const { msgid } = await oa.message.sendTemplate({ touser: user, template_id: sandboxTemplateId(OA), data: { first: { value: '订单已完成' } } });
    expect(msgid).toBeGreaterThan(0);
    expect(await fails(oa.message.sendTemplate({ touser: user, template_id: 'nope', data: {} }))).toMatchObject({ errcode: 40037, errorClass: 'param' });
  });

  it('menu create, get, delete (46003 afterwards)', async () => {
    const oa = w.platform.authorizer(OA);
    const button = [
      { type: 'click' as const, name: '今日推荐', key: 'TODAY' },
      { name: '菜单', sub_button: [{ type: 'view' as const, name: '官网', url: 'https://sandbox-merchant.com' }] },
    ];
    await oa.menu.create(button);
    expect((await oa.menu.get()).menu.button).toEqual(button);
    expect(await fails(oa.menu.create([{ type: 'click', name: 'x'.repeat(40), key: 'K' }]))).toMatchObject({ errcode: 40018 });
    await oa.menu.delete();
    expect(await fails(oa.menu.get())).toMatchObject({ errcode: 46003, errorClass: 'state' });
  });

  it('user info, batch info (1–100), parametric QR codes, short keys', async () => {
    const oa = w.platform.authorizer(OA);
    expect(await oa.user.info(user)).toMatchObject({ subscribe: 1, openid: user, unionid: expect.any(String) });
    expect((await oa.user.batchInfo([user, openidFor(OA, 'b')])).user_info_list).toHaveLength(2);
    expect(() => oa.user.batchInfo([])).toThrow(RangeError);
    expect(await fails(oa.user.info('not-an-openid'))).toMatchObject({ errcode: 40003 });
    const temp = await oa.qrcode.create({ action_name: 'QR_STR_SCENE', expire_seconds: 3600, action_info: { scene: { scene_str: 'table-12' } } });
    expect(temp).toMatchObject({ expire_seconds: 3600, url: expect.stringMatching(/^http:\/\/weixin\.qq\.com\/q\//) });
    const forever = await oa.qrcode.create({ action_name: 'QR_LIMIT_SCENE', action_info: { scene: { scene_id: 7 } } });
    expect(forever.expire_seconds).toBeUndefined();
    const { short_key } = await oa.qrcode.shortenGen('{"table":12}', 600);
    expect(await oa.qrcode.shortenFetch(short_key)).toMatchObject({ long_data: '{"table":12}' });
    expect(await fails(oa.qrcode.shortenFetch('unknownkey00000'))).toMatchObject({ errcode: 9410012 });
  });

  it('61007 names the OA set not granted (menu → [15])', async () => {
    const err = await fails(w.platform.authorizer(OA2).menu.get());
    expect(err).toMatchObject({ errcode: 61007, missingPermissionSets: [{ id: 15, name: '菜单管理' }] });
  });
});

describe('component level (wx.component)', () => {
  it('authorizer info, list, options', async () => {
    const c = w.platform.componentApi;
    const info = await c.getAuthorizerInfo(MP);
    expect(info.authorizer_info).toMatchObject({ nick_name: '青木咖啡点单', MiniProgramInfo: expect.any(Object) });
    expect(info.authorization_info.func_info?.map((f) => f.funcscope_category.id)).toContain(18);
    const list = await c.getAuthorizerList(0, 2);
    expect(list.total_count).toBe(3);
    expect(list.list).toHaveLength(2);
    await c.setAuthorizerOption(OA, 'voice_recognize', '1');
    expect(await c.getAuthorizerOption(OA, 'voice_recognize')).toMatchObject({ option_name: 'voice_recognize', option_value: '1' });
    expect(await fails(c.setAuthorizerOption(OA, 'location_report', '9'))).toMatchObject({ errcode: 61013 });
  });

  it('openapi quota and clear_quota (component token, by secret, legacy, on an authorizer’s behalf)', async () => {
    const c = w.platform.componentApi;
    const q = await c.getApiQuota('/cgi-bin/component/api_component_token');
    expect(q.quota).toMatchObject({ daily_limit: 2000, used: 1 });
    expect(await fails(c.getApiQuota('/sns/component/jscode2session'))).toMatchObject({ errcode: 76022 });
    await c.clearQuota();
    await c.clearQuotaBySecret();
    await c.clearQuotaBySecret(MP);
    await c.clearQuotaLegacy();
    // CAT clears only the component's own quota (40013 for another appid, spec 3.8).
    expect(await fails(c.clearQuota(MP))).toMatchObject({ errcode: 40013, errorClass: 'config' });
    const mp = w.platform.authorizer(MP);
    await mp.wxa.getCategory();
    expect((await mp.quota.get('/wxa/get_category')).quota.used).toBe(1);
    await mp.quota.clear();
    expect((await mp.quota.get('/wxa/get_category')).quota.used).toBe(0);
  });
});

describe('retry policy for the OA and component groups', () => {
  it('component token replaced by WeChat: one refresh, one retry', async () => {
    const c = w.platform.componentApi;
    await c.templates.getDraftList();
    const tokens = w.sandbox.counters.get('/cgi-bin/component/api_component_token');
    w.sandbox.state.issueToken('component', w.config.componentAppid);
    await w.sandbox.advance(6 * 60_000);
    await c.templates.getDraftList();
    expect(w.sandbox.counters.get('/cgi-bin/component/api_component_token') - tokens).toBe(1);
  });

  it('-1 on idempotent reads (user info, authorizer list) is retried; 5xx on menu create is not', async () => {
    const oa = w.platform.authorizer(OA);
    const user = openidFor(OA, 'demo-user');
    const base = w.sandbox.counters.get('/cgi-bin/user/info', OA);
    w.sandbox.faults.set('/cgi-bin/user/info', { type: 'system_busy', times: 1 });
    expect((await oa.user.info(user)).openid).toBe(user);
    expect(w.sandbox.counters.get('/cgi-bin/user/info', OA) - base).toBe(2);
    const lists = w.sandbox.counters.get('/cgi-bin/component/api_get_authorizer_list');
    w.sandbox.faults.set('/cgi-bin/component/api_get_authorizer_list', { type: 'http_error', times: 1 });
    await w.platform.componentApi.getAuthorizerList();
    expect(w.sandbox.counters.get('/cgi-bin/component/api_get_authorizer_list') - lists).toBe(2);
    const creates = w.sandbox.counters.get('/cgi-bin/menu/create', OA);
    w.sandbox.faults.set('/cgi-bin/menu/create', { type: 'http_error', times: 1 });
    await expect(oa.menu.create([{ type: 'click', name: 'A', key: 'A' }])).rejects.toBeInstanceOf(UpstreamError);
    expect(w.sandbox.counters.get('/cgi-bin/menu/create', OA) - creates).toBe(1);
  });

  it('45009 on customer-service send is surfaced, never retried', async () => {
    w.sandbox.faults.clear();
    const oa = w.platform.authorizer(OA);
    const user = openidFor(OA, 'demo-user');
    // The first test sent 3 of the 4 messages the (sandbox) daily quota allows.
    await oa.message.sendText(user, 'fourth');
    const sends = w.sandbox.counters.get('/cgi-bin/message/custom/send', OA);
    const err = await oa.message.sendText(user, 'fifth').catch((e: unknown) => e);
    expect(err).toMatchObject({ errcode: 45009, errorClass: 'quota', retryable: false });
    expect(w.sandbox.counters.get('/cgi-bin/message/custom/send', OA) - sends).toBe(1);
  });
});
