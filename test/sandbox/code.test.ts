import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedToken, call, componentToken, MP, MP2, MP_NO_NAME, OA, startWorld, type World } from './helpers.js';

describe('template library and mini-program code management', () => {
  let world: World;
  let cat: string;
  let aat: string;
  let templateId: number;
  beforeAll(async () => {
    world = await startWorld({ auditDelaySeconds: 120 });
    cat = await componentToken(world.sandbox);
    aat = (await authorizedToken(world.sandbox, cat, MP, [18, 19, 20])).aat;
  });
  afterAll(async () => world.close());

  const tpl = (path: string, body?: unknown, query: Record<string, string> = {}) =>
    call(world.sandbox.url, `/wxa/${path}`, { query: { access_token: cat, ...query }, ...(body !== undefined && { body }) });
  const wxa = (path: string, body?: unknown, token = aat, query: Record<string, string> = {}) =>
    call(world.sandbox.url, `/wxa/${path}`, { query: { access_token: token, ...query }, ...(body !== undefined && { body }) });
  const commit = (overrides: Record<string, unknown> = {}) =>
    wxa('commit', { template_id: templateId, ext_json: JSON.stringify({ extAppid: MP, ext: { shop: 1 } }), user_version: 'V1.0', user_desc: 'first', ...overrides });

  it('moves a seeded draft into the template library and deletes templates', async () => {
    const drafts = await tpl('gettemplatedraftlist');
    const list = drafts.json.draft_list as Array<Record<string, unknown>>;
    expect(list.length).toBeGreaterThanOrEqual(2);
    expect(list[0]).toMatchObject({ draft_id: 1, user_version: '1.0.0' });
    expect((await tpl('addtotemplate', { draft_id: 1, template_type: 0 })).errcode).toBe(0);
    expect((await tpl('addtotemplate', { draft_id: 999 })).errcode).toBe(85064);
    const templates = (await tpl('gettemplatelist')).json.template_list as Array<{ template_id: number; draft_id: number }>;
    templateId = templates.find((t) => t.draft_id === 1)!.template_id;
    expect((await tpl('addtotemplate', { draft_id: 2 })).errcode).toBe(0);
    const extra = (await tpl('gettemplatelist', undefined, { template_type: '0' })).json.template_list as Array<{ template_id: number }>;
    const toDelete = extra.at(-1)!.template_id;
    expect((await tpl('deletetemplate', { template_id: toDelete })).errcode).toBe(0);
    expect((await tpl('deletetemplate', { template_id: toDelete })).errcode).toBe(85064);
    // An AAT is not a component token.
    expect((await call(world.sandbox.url, '/wxa/gettemplatelist', { query: { access_token: aat } })).errcode).toBe(40001);
  });

  it('caps the template library at 200 (85065)', async () => {
    const count = ((await tpl('gettemplatelist')).json.template_list as unknown[]).length;
    for (let i = count; i < 200; i++) world.sandbox.state.templates.addToTemplate(2, 0);
    expect((await tpl('addtotemplate', { draft_id: 2 })).errcode).toBe(85065);
    const all = (await tpl('gettemplatelist')).json.template_list as Array<{ template_id: number }>;
    for (const t of all) if (t.template_id !== templateId) world.sandbox.state.templates.delete(t.template_id);
  });

  it('checks code-management permission before anything else: 61007 set not granted, 48001 API not for this account', async () => {
    const { aat: loginOnly } = await authorizedToken(world.sandbox, cat, MP2, [20]);
    expect((await wxa('get_category', undefined, loginOnly)).errcode).toBe(61007);
    const { aat: oaToken } = await authorizedToken(world.sandbox, cat, OA, [1]);
    expect((await wxa('get_category', undefined, oaToken)).errcode).toBe(48001);
  });

  it('rejects bad commits with the real codes', async () => {
    expect((await wxa('submit_audit', {})).errcode).toBe(85086);
    expect((await wxa('get_page')).errcode).toBe(86001);
    expect((await commit({ template_id: String(templateId) })).errcode).toBe(85014);
    expect((await commit({ template_id: 424242 })).errcode).toBe(85014);
    expect((await commit({ ext_json: { extAppid: MP } })).errcode).toBe(47001);
    expect((await commit({ ext_json: '{"extAppid": ' })).errcode).toBe(85013);
    expect((await commit({ user_version: 'v'.repeat(65) })).errcode).toBe(85015);
    expect((await commit()).errcode).toBe(0);
    expect((await wxa('get_page')).json.page_list).toEqual(['pages/index/index', 'pages/detail/detail', 'pages/me/me']);
  });

  it('get_qrcode answers a binary JPEG; get_category lists the categories', async () => {
    const res = await fetch(`${world.sandbox.url}/wxa/get_qrcode?access_token=${aat}&path=${encodeURIComponent('pages/index/index?a=1')}`);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const bad = await fetch(`${world.sandbox.url}/wxa/get_qrcode?access_token=nope-nope-nope-nope-nope`);
    expect(bad.headers.get('content-type')).toContain('application/json');
    expect((await wxa('get_category')).json.category_list).toEqual([{ first_class: '餐饮服务', second_class: '点餐平台', first_id: 220, second_id: 221 }]);
  });

  it('runs commit → submit → audit success push → release, with the state-machine errors on the way', async () => {
    expect((await wxa('submit_audit', { item_list: [] })).errcode).toBe(85023);
    expect((await wxa('submit_audit', { item_list: Array.from({ length: 6 }, () => ({ address: 'pages/index/index' })) })).errcode).toBe(85023);
    expect((await wxa('submit_audit', { item_list: [{ address: 'pages/index/index', first_id: 1, second_id: 2 }] })).errcode).toBe(85077);
    const submitted = await wxa('submit_audit', { item_list: [{ address: 'pages/index/index', first_id: 220, second_id: 221, title: '首页' }] });
    expect(submitted.errcode).toBe(0);
    const auditid = Number(submitted.json.auditid);
    expect((await wxa('submit_audit', {})).errcode).toBe(85009);
    expect((await wxa('get_auditstatus', { auditid })).json.status).toBe(2);
    expect((await wxa('get_auditstatus', { auditid: 1 })).errcode).toBe(85012);
    expect((await wxa('release', '')).errcode).toBe(44002);
    expect((await wxa('release', {})).errcode).toBe(85019);

    await world.sandbox.advance(119_000);
    expect(world.platform.pushes.some((p) => p.fields.Event === 'weapp_audit_success')).toBe(false);
    await world.sandbox.advance(2000);
    const push = await world.platform.waitFor((p) => p.fields.Event === 'weapp_audit_success');
    expect(push.path).toBe(`/wechat/authorizer/${MP}`);
    expect(push.signatureOk).toBe(true);
    expect(push.envelope.ToUserName).toBe('gh_7f4b2d9e1c68');
    expect(push.fields).toMatchObject({ ToUserName: 'gh_7f4b2d9e1c68', MsgType: 'event', Event: 'weapp_audit_success' });
    expect(Number(push.fields.SuccTime)).toBeGreaterThan(0);

    const latest = await wxa('get_latest_auditstatus');
    expect(latest.json).toMatchObject({ auditid, status: 0, user_version: 'V1.0', ScreenShot: '' });
    expect((await wxa('release', {})).errcode).toBe(0);
    expect((await wxa('release', {})).errcode).toBe(85052);
    expect((await wxa('revertcoderelease')).errcode).toBe(87012);
  });

  it('undocodeaudit withdraws an audit and is limited to 5 a day (87013)', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await wxa('submit_audit', {})).errcode).toBe(0);
      expect((await wxa('undocodeaudit')).errcode).toBe(0);
    }
    expect((await wxa('get_latest_auditstatus')).json.status).toBe(3);
    expect((await wxa('submit_audit', {})).errcode).toBe(0);
    expect((await wxa('undocodeaudit')).errcode).toBe(87013);
    await world.sandbox.advance(121_000);
    await world.platform.waitFor((p) => p.fields.Event === 'weapp_audit_success' && world.platform.pushes.filter((q) => q.fields.Event === 'weapp_audit_success').indexOf(p) === 1);
  });

  it('gray release: 85081, 85082, 87011 while in progress, then full release and revert', async () => {
    expect((await wxa('grayrelease', { gray_percentage: 0 })).errcode).toBe(85081);
    expect((await wxa('grayrelease', { gray_percentage: 10 })).errcode).toBe(0);
    expect((await wxa('grayrelease', { gray_percentage: 5 })).errcode).toBe(85082);
    expect((await wxa('grayrelease', { gray_percentage: 50 })).errcode).toBe(0);
    expect((await wxa('getgrayreleaseplan')).json.gray_release_plan).toMatchObject({ status: 1, gray_percentage: 50 });
    expect((await wxa('revertcoderelease')).errcode).toBe(87011);
    expect((await wxa('release', {})).errcode).toBe(0);
    expect((await wxa('getgrayreleaseplan')).json.gray_release_plan).toMatchObject({ status: 3 });
    const history = await wxa('revertcoderelease', undefined, aat, { action: 'get_history_version' });
    expect((history.json.version_list as unknown[]).length).toBe(1);
    expect((await wxa('revertcoderelease')).errcode).toBe(0);
    expect((await wxa('grayrelease', { gray_percentage: 10 })).errcode).toBe(85080);
  });

  it('gray release needs an online version (85079); a failing audit pushes weapp_audit_fail', async () => {
    const { aat: other } = await authorizedToken(world.sandbox, cat, MP2, [18]);
    expect((await wxa('grayrelease', { gray_percentage: 10 }, other)).errcode).toBe(85079);
    world.sandbox.setAuditOutcome(MP2, 'fail', '页面内容不完整');
    expect((await wxa('commit', { template_id: templateId, ext_json: '{}', user_version: '2.0' }, other)).errcode).toBe(0);
    const auditid = Number((await wxa('submit_audit', {}, other)).json.auditid);
    await world.sandbox.advance(121_000);
    const push = await world.platform.waitFor((p) => p.fields.Event === 'weapp_audit_fail');
    expect(push.fields).toMatchObject({ Reason: '页面内容不完整' });
    expect(String(push.fields.ScreenShot)).toMatch(/^[0-9a-f]+\|[0-9a-f]+$/);
    expect((await wxa('get_auditstatus', { auditid }, other)).json).toMatchObject({ status: 1, reason: '页面内容不完整' });
  });

  it('a delayed audit pushes weapp_audit_delay, then success', async () => {
    world.sandbox.setAuditOutcome(MP2, 'delay');
    await wxa('submit_audit', {}, (await authorizedToken(world.sandbox, cat, MP2, [18])).aat);
    await world.sandbox.advance(121_000);
    await world.platform.waitFor((p) => p.fields.Event === 'weapp_audit_delay' && typeof p.fields.DelayTime === 'string');
    const successes = () => world.platform.pushes.filter((p) => p.fields.Event === 'weapp_audit_success' && p.path.endsWith(MP2)).length;
    expect(successes()).toBe(0);
    await world.sandbox.advance(121_000);
    await world.platform.waitFor((p) => p.fields.Event === 'weapp_audit_success' && p.path.endsWith(MP2));
  });

  it('submit_audit needs a nickname (86002)', async () => {
    const { aat: noName } = await authorizedToken(world.sandbox, cat, MP_NO_NAME, [18]);
    expect((await wxa('commit', { template_id: templateId, user_version: '1' }, noName)).errcode).toBe(0);
    expect((await wxa('submit_audit', {}, noName)).errcode).toBe(86002);
  });

  it('modify_domain accepts only platform domains; testers bind once', async () => {
    expect((await wxa('modify_domain', { action: 'add', requestdomain: ['https://evil.example.com'] })).errcode).toBe(85018);
    const added = await wxa('modify_domain', { action: 'add', requestdomain: ['https://api.sandbox-merchant.com'] });
    expect(added.json.requestdomain).toEqual(['https://api.sandbox-merchant.com']);
    expect((await wxa('modify_domain', { action: 'add', requestdomain: ['https://api.sandbox-merchant.com'] })).errcode).toBe(85017);
    expect((await wxa('modify_domain', { action: 'get' })).json.requestdomain).toEqual(['https://api.sandbox-merchant.com']);
    const bound = await wxa('bind_tester', { wechatid: 'tester_one' });
    expect(typeof bound.json.userstr).toBe('string');
    expect((await wxa('bind_tester', { wechatid: 'tester_one' })).errcode).toBe(85004);
    expect((await wxa('bind_tester', { wechatid: '1' })).errcode).toBe(85001);
    expect((await wxa('memberauth', { action: 'get_experiencer' })).json.members).toEqual([{ userstr: bound.json.userstr }]);
    expect((await wxa('unbind_tester', { userstr: bound.json.userstr })).errcode).toBe(0);
    expect((await wxa('memberauth', { action: 'get_experiencer' })).json.members).toEqual([]);
    const quota = await wxa('queryquota');
    expect(quota.json).toMatchObject({ limit: 20 });
    expect(Number(quota.json.rest)).toBeLessThan(20);
  });
});
