import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, COMPONENT, componentToken, MINUTE_MS, startWorld, type World } from './helpers.js';

const TOKEN_PATH = '/cgi-bin/component/api_component_token';

describe('component_verify_ticket and component_access_token', () => {
  let world: World;
  beforeEach(async () => {
    world = await startWorld({ quotas: { [TOKEN_PATH]: 12 } });
  });
  afterEach(async () => world.close());

  const tokenRequest = (overrides: Record<string, unknown> = {}) =>
    call(world.sandbox.url, TOKEN_PATH, {
      body: {
        component_appid: COMPONENT.appid,
        component_appsecret: COMPONENT.secret,
        component_verify_ticket: world.sandbox.state.latestTicket,
        ...overrides,
      },
    });

  it('pushes an encrypted, signed ticket to the authorization-event URL on start', () => {
    const push = world.platform.pushes.find((p) => p.fields.InfoType === 'component_verify_ticket')!;
    expect(push.path).toBe('/wechat/component');
    expect(push.signatureOk).toBe(true);
    expect(push.envelope.AppId).toBe(COMPONENT.appid);
    expect(push.fields.AppId).toBe(COMPONENT.appid);
    expect(push.fields.ComponentVerifyTicket).toBe(world.sandbox.state.latestTicket);
    expect(Number(push.fields.CreateTime)).toBeGreaterThan(1_600_000_000);
  });

  it('pushes a new, different ticket when the clock passes 10 minutes', async () => {
    const before = world.platform.pushes.filter((p) => p.fields.InfoType === 'component_verify_ticket').length;
    await world.sandbox.advance(10 * MINUTE_MS - 1);
    expect(world.platform.pushes.filter((p) => p.fields.InfoType === 'component_verify_ticket')).toHaveLength(before);
    await world.sandbox.advance(1);
    const tickets = world.platform.pushes.filter((p) => p.fields.InfoType === 'component_verify_ticket');
    expect(tickets).toHaveLength(before + 1);
    expect(tickets.at(-1)!.fields.ComponentVerifyTicket).not.toBe(tickets.at(-2)!.fields.ComponentVerifyTicket);
  });

  it('api_start_push_ticket pushes a fresh ticket (field component_secret)', async () => {
    const before = world.platform.pushes.length;
    const wrongField = await call(world.sandbox.url, '/cgi-bin/component/api_start_push_ticket', {
      body: { component_appid: COMPONENT.appid, component_appsecret: COMPONENT.secret },
    });
    expect(wrongField.errcode).toBe(41004);
    const ok = await call(world.sandbox.url, '/cgi-bin/component/api_start_push_ticket', {
      body: { component_appid: COMPONENT.appid, component_secret: COMPONENT.secret },
    });
    expect(ok.json).toMatchObject({ errcode: 0, errmsg: 'ok' });
    await world.platform.waitFor((p) => p.fields.InfoType === 'component_verify_ticket' && world.platform.pushes.indexOf(p) >= before);
  });

  it('issues a CAT for the latest ticket and refuses bad credentials with the real codes', async () => {
    const ok = await tokenRequest();
    expect(ok.json.expires_in).toBe(7200);
    expect(typeof ok.json.component_access_token).toBe('string');
    expect((await tokenRequest({ component_appid: 'wx0000000000000000' })).errcode).toBe(61011);
    expect((await tokenRequest({ component_appsecret: undefined })).errcode).toBe(41004);
    expect((await tokenRequest({ component_appsecret: 'wrong-secret-wrong-secret' })).errcode).toBe(40125);
    expect((await tokenRequest({ component_verify_ticket: 'ticket@@@made-up' })).errcode).toBe(61006);
    const err = await tokenRequest({ component_verify_ticket: 'ticket@@@made-up' });
    expect(err.json.errmsg).toMatch(/ rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/);
  });

  it('an empty body is 44002 and a non-JSON body is 47001', async () => {
    expect((await call(world.sandbox.url, TOKEN_PATH, { method: 'POST', body: '' })).errcode).toBe(44002);
    expect((await call(world.sandbox.url, TOKEN_PATH, { body: '{not json' })).errcode).toBe(47001);
  });

  it('a replaced CAT works 5 more minutes, then 40001; an old one expires with 42001', async () => {
    const first = await componentToken(world.sandbox);
    const preauth = (cat: string) =>
      call(world.sandbox.url, '/cgi-bin/component/api_create_preauthcode', {
        query: { component_access_token: cat },
        body: { component_appid: COMPONENT.appid },
      });
    expect((await preauth(first)).json.expires_in).toBe(600);
    const second = await componentToken(world.sandbox);
    expect(second).not.toBe(first);
    await world.sandbox.advance(5 * MINUTE_MS - 1);
    expect((await preauth(first)).errcode).toBe(0);
    await world.sandbox.advance(1);
    expect((await preauth(first)).errcode).toBe(40001);
    expect((await preauth(second)).errcode).toBe(0);
    await world.sandbox.advance(7200 * 1000);
    expect((await preauth(second)).errcode).toBe(42001);
  });

  it('missing, malformed and unknown tokens are 41001, 40014 and 40001', async () => {
    const body = { component_appid: COMPONENT.appid };
    const path = '/cgi-bin/component/api_create_preauthcode';
    expect((await call(world.sandbox.url, path, { body })).errcode).toBe(41001);
    expect((await call(world.sandbox.url, path, { query: { component_access_token: 'bad token!' }, body })).errcode).toBe(40014);
    expect((await call(world.sandbox.url, path, { query: { component_access_token: 'x'.repeat(80) }, body })).errcode).toBe(40001);
  });

  it('a ticket older than 12 hours is 61005', async () => {
    const ticket = world.sandbox.state.latestTicket!;
    // Stop the schedule from replacing tickets so the old one can age.
    world.sandbox.state.settings.ticketIntervalMs = 0;
    await world.sandbox.advance(12 * 60 * MINUTE_MS);
    expect((await tokenRequest({ component_verify_ticket: ticket })).errcode).toBe(61005);
  });

  it('api_component_token has a daily quota that clear_quota cannot reset (45009)', async () => {
    const ticket = await world.sandbox.pushTicket();
    let last = 0;
    for (let i = 0; i < 13 && last === 0; i++) last = (await tokenRequest({ component_verify_ticket: ticket })).errcode;
    expect(last).toBe(45009);
    const cleared = await call(world.sandbox.url, '/cgi-bin/component/clear_quota/v2', {
      body: { component_appid: COMPONENT.appid, appsecret: COMPONENT.secret },
    });
    expect(cleared.errcode).toBe(0);
    expect((await tokenRequest({ component_verify_ticket: ticket })).errcode).toBe(45009);
    await world.sandbox.advance(24 * 60 * MINUTE_MS);
    const nextDay = await world.sandbox.pushTicket();
    expect((await tokenRequest({ component_verify_ticket: nextDay })).errcode).toBe(0);
  });
});

describe('push timestamps', () => {
  it('follow the sandbox clock by default and real time with pushTimestamps: real', async () => {
    const simulated = await startWorld();
    const real = await startWorld({ pushTimestamps: 'real' });
    try {
      for (const w of [simulated, real]) await w.sandbox.advance(3600_000);
      const last = (w: World) => w.platform.pushes.filter((p) => p.fields.InfoType === 'component_verify_ticket').at(-1)!;
      const nowSeconds = Date.now() / 1000;
      expect(Number(last(simulated).query.timestamp)).toBeGreaterThan(nowSeconds + 3500);
      expect(Math.abs(Number(last(real).query.timestamp) - nowSeconds)).toBeLessThan(5);
      expect(Number(last(real).fields.CreateTime)).toBeGreaterThan(nowSeconds + 3500);
    } finally {
      await simulated.close();
      await real.close();
    }
  });
});
