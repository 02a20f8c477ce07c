import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildXml } from '../../src/xml/build.js';
import { authorizedToken, call, COMPONENT, componentToken, MINUTE_MS, MP, MP2, OA, startWorld, type World } from './helpers.js';

describe('login, JS-SDK, customer service, quotas and messages', () => {
  let world: World;
  let cat: string;
  beforeEach(async () => {
    world = await startWorld({ quotas: { '/cgi-bin/ticket/getticket': 2 } });
    cat = await componentToken(world.sandbox);
  });
  afterEach(async () => world.close());

  const session = (appid: string, code: string, overrides: Record<string, string> = {}) =>
    call(world.sandbox.url, '/sns/component/jscode2session', {
      query: { appid, js_code: code, grant_type: 'authorization_code', component_appid: COMPONENT.appid, component_access_token: cat, ...overrides },
    });

  it('jscode2session: single-use codes (40163), unknown (40029), 5-minute expiry (40029)', async () => {
    await authorizedToken(world.sandbox, cat, MP, [18, 19, 20]);
    const { code, openid } = world.sandbox.mintJsCode(MP);
    const ok = await session(MP, code);
    expect(ok.json.openid).toBe(openid);
    expect(Buffer.from(String(ok.json.session_key), 'base64')).toHaveLength(16);
    expect((await session(MP, code)).errcode).toBe(40163);
    expect((await session(MP, 'not-a-code')).errcode).toBe(40029);
    expect((await session(MP, world.sandbox.mintJsCode(MP).code, { grant_type: 'client_credential' })).errcode).toBe(40002);
    const old = world.sandbox.mintJsCode(MP, 'oFixedOpenidForTheTest000000').code;
    await world.sandbox.advance(5 * MINUTE_MS);
    expect((await session(MP, old)).errcode).toBe(40029);
    // The CAT belongs in component_access_token on /sns/component/* (spec 3.0).
    const other = world.sandbox.mintJsCode(MP).code;
    expect((await session(MP, other, { component_access_token: '', access_token: cat })).errcode).toBe(41001);
  });

  it('jscode2session: 61003 when not authorized; no permission set needed (spec 12.3)', async () => {
    expect((await session(MP2, world.sandbox.mintJsCode(MP2).code)).errcode).toBe(61003);
    await authorizedToken(world.sandbox, cat, MP2, [18]);
    expect((await session(MP2, world.sandbox.mintJsCode(MP2).code)).json).toMatchObject({ openid: expect.any(String), session_key: expect.any(String) });
  });

  it('getticket returns a jsapi ticket valid 7200 s; the daily quota gives 45009 until clear_quota', async () => {
    const { aat } = await authorizedToken(world.sandbox, cat, OA, [1, 2]);
    const ticket = (type = 'jsapi') => call(world.sandbox.url, '/cgi-bin/ticket/getticket', { query: { access_token: aat, type } });
    const first = await ticket();
    expect(first.json).toMatchObject({ errcode: 0, errmsg: 'ok', expires_in: 7200 });
    expect(typeof first.json.ticket).toBe('string');
    expect((await ticket()).errcode).toBe(0);
    expect((await ticket()).errcode).toBe(45009);
    const usage = await call(world.sandbox.url, '/cgi-bin/openapi/quota/get', { query: { access_token: aat }, body: { cgi_path: '/cgi-bin/ticket/getticket' } });
    expect(usage.json.quota).toEqual({ daily_limit: 2, used: 2, remain: 0 });
    expect((await call(world.sandbox.url, '/cgi-bin/openapi/quota/get', { query: { access_token: aat }, body: { cgi_path: '/sns/component/jscode2session' } })).errcode).toBe(76022);
    const wrongAppid = await call(world.sandbox.url, '/cgi-bin/clear_quota', { query: { access_token: aat }, body: { appid: MP } });
    expect(wrongAppid.errcode).toBe(40013);
    expect((await call(world.sandbox.url, '/cgi-bin/clear_quota', { query: { access_token: aat }, body: { appid: OA } })).errcode).toBe(0);
    expect((await ticket()).errcode).toBe(0);
  });

  it('clear_quota is limited to 10 a month across endpoints (48006)', async () => {
    const clear = (i: number) =>
      i % 3 === 0
        ? call(world.sandbox.url, '/cgi-bin/clear_quota', { query: { access_token: cat }, body: { appid: COMPONENT.appid } })
        : i % 3 === 1
          ? call(world.sandbox.url, '/cgi-bin/component/clear_quota/v2', { body: { component_appid: COMPONENT.appid, appsecret: COMPONENT.secret } })
          : call(world.sandbox.url, '/cgi-bin/component/clear_quota', { query: { component_access_token: cat }, body: { component_appid: COMPONENT.appid } });
    for (let i = 0; i < 10; i++) expect((await clear(i)).errcode).toBe(0);
    expect((await clear(10)).errcode).toBe(48006);
    expect((await clear(11)).errcode).toBe(48006);
    const badSecret = await call(world.sandbox.url, '/cgi-bin/component/clear_quota/v2', { body: { component_appid: COMPONENT.appid, appsecret: 'nope-nope-nope-nope' } });
    expect(badSecret.errcode).toBe(40125);
  });

  it('custom/send records messages and needs the customer-service set', async () => {
    const { aat } = await authorizedToken(world.sandbox, cat, OA, [1, 2]);
    const send = (token: string, body: unknown) => call(world.sandbox.url, '/cgi-bin/message/custom/send', { query: { access_token: token }, body });
    // A user's message opens the customer-service window (spec 13; enforced, see cs-window.test.ts).
    await world.sandbox.sendMessage(OA, { FromUserName: 'oUser', MsgType: 'text', Content: 'hi' });
    const r = await send(aat, { touser: 'oUser', msgtype: 'text', text: { content: 'abc_from_api' } });
    expect(r.json).toMatchObject({ errcode: 0, errmsg: 'ok' });
    expect(world.sandbox.sentMessages(OA)).toEqual([expect.objectContaining({ appid: OA, touser: 'oUser', msgtype: 'text', body: expect.objectContaining({ text: { content: 'abc_from_api' } }) })]);
    expect((await send(aat, { touser: 'oUser', msgtype: 'nonsense' })).errcode).toBe(40008);
    expect((await send(aat, { msgtype: 'text', text: { content: 'x' } })).errcode).toBe(40003);
    const { aat: mpToken } = await authorizedToken(world.sandbox, cat, MP2, [18]);
    // The mini program could grant set 19 but did not: 61007 (spec 12.1), not 48001.
    expect((await send(mpToken, { touser: 'oUser', msgtype: 'text', text: { content: 'x' } })).errcode).toBe(61007);
  });

  it('delivers a user message to the message URL and opens the encrypted passive reply', async () => {
    world.platform.onMessage = (fields) =>
      fields.Content === 'TESTCOMPONENT_MSG_TYPE_TEXT'
        ? buildXml({ ToUserName: String(fields.FromUserName), FromUserName: String(fields.ToUserName), CreateTime: 1, MsgType: 'text', Content: 'TESTCOMPONENT_MSG_TYPE_TEXT_callback' })
        : undefined;
    const reply = await world.sandbox.sendMessage('wx570bc396a51b8ff8', { MsgType: 'text', Content: 'TESTCOMPONENT_MSG_TYPE_TEXT' });
    expect(reply.status).toBe(200);
    expect(reply.replyError).toBeUndefined();
    expect(reply.reply).toMatchObject({ FromUserName: 'gh_3c884a361561', Content: 'TESTCOMPONENT_MSG_TYPE_TEXT_callback' });
    const push = world.platform.pushes.at(-1)!;
    expect(push.path).toBe('/wechat/authorizer/wx570bc396a51b8ff8');
    expect(push.envelope.ToUserName).toBe('gh_3c884a361561');
    expect(push.query.openid).toBe(push.fields.FromUserName);
    expect(typeof push.fields.MsgId).toBe('string');
    const silent = await world.sandbox.sendMessage('wx570bc396a51b8ff8', { MsgType: 'text', Content: 'other' });
    expect(silent.body).toBe('success');
    expect(silent.reply).toBeUndefined();
  });

  it('records failed deliveries without crashing', async () => {
    world.platform.status = 500;
    const delivery = await world.sandbox.sendMessage(OA, { MsgType: 'event', Event: 'subscribe' });
    expect(delivery.ok).toBe(false);
    expect(delivery.error).toBe('HTTP 500');
    world.platform.status = 200;
    world.sandbox.setPlatform({ componentPushUrl: 'http://127.0.0.1:1/none', authorizerPushUrl: 'http://203.0.113.5/$APPID$' });
    const refused = await world.sandbox.sendMessage(OA, { MsgType: 'text', Content: 'x' });
    expect(refused.error).toMatch(/non-loopback/);
    await world.sandbox.pushTicket();
    expect(world.sandbox.state.pushLog.at(-1)).toMatchObject({ type: 'component_verify_ticket', error: expect.any(String) });
    const health = await call(world.sandbox.url, '/sandbox/admin/state');
    expect(health.status).toBe(200);
  });
});
