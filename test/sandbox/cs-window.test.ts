import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizedToken, call, componentToken, MINUTE_MS, MP, OA, startWorld, type World } from './helpers.js';

const HOUR_MS = 3600_000;

describe('customer-service window on /cgi-bin/message/custom/send (spec 13)', () => {
  let world: World;
  let oaToken: string;
  let mpToken: string;
  // Tokens live 2 h; after moving the clock the test takes new ones (re-authorizing keeps the windows).
  const freshTokens = async () => {
    const cat = await componentToken(world.sandbox);
    oaToken = (await authorizedToken(world.sandbox, cat, OA)).aat;
    mpToken = (await authorizedToken(world.sandbox, cat, MP)).aat;
  };
  beforeAll(async () => {
    world = await startWorld();
    await freshTokens();
  });
  afterAll(async () => world.close());

  const send = async (token: string, touser: string) =>
    (await call(world.sandbox.url, '/cgi-bin/message/custom/send', { query: { access_token: token }, body: { touser, msgtype: 'text', text: { content: 'hi' } } })).json;
  const user = (appid: string, openid: string, fields: Record<string, string | number>) => world.sandbox.sendMessage(appid, { FromUserName: openid, ...fields });

  it('refuses with 45015 until the user acts, allows 5 in 48 h after a message, then 45047, then 45015 again', async () => {
    expect(await send(oaToken, 'oA')).toMatchObject({ errcode: 45015, errmsg: expect.stringContaining('response out of time limit or subscription is canceled') });
    await user(OA, 'oA', { MsgType: 'text', Content: 'hello' });
    for (let i = 0; i < 5; i++) expect((await send(oaToken, 'oA')).errcode).toBe(0);
    expect(await send(oaToken, 'oA')).toMatchObject({ errcode: 45047, errmsg: expect.stringContaining('out of response count limit') });
    // Another user's window is their own.
    expect((await send(oaToken, 'oB')).errcode).toBe(45015);
    // A new message resets the allowance to the maximum (quotas do not add up).
    await user(OA, 'oA', { MsgType: 'text', Content: 'again' });
    for (let i = 0; i < 5; i++) expect((await send(oaToken, 'oA')).errcode).toBe(0);
    expect((await send(oaToken, 'oA')).errcode).toBe(45047);
    await user(OA, 'oA', { MsgType: 'image', MediaId: 'm' });
    await world.sandbox.advance(47 * HOUR_MS);
    await world.sandbox.pushTicket();
    await freshTokens();
    expect((await send(oaToken, 'oA')).errcode).toBe(0);
    await world.sandbox.advance(1 * HOUR_MS);
    expect((await send(oaToken, 'oA')).errcode).toBe(45015);
    await freshTokens();
  });

  it('opens 3 messages for 1 minute on follow, menu click and QR scan; an unfollow closes every window', async () => {
    const events: Record<string, string>[] = [{ Event: 'subscribe' }, { Event: 'CLICK', EventKey: 'k' }, { Event: 'SCAN', EventKey: '1' }];
    for (const event of events) {
      const openid = `o-${event.Event}`;
      await user(OA, openid, { MsgType: 'event', ...event });
      for (let i = 0; i < 3; i++) expect((await send(oaToken, openid)).errcode).toBe(0);
      expect((await send(oaToken, openid)).errcode).toBe(45047);
      await user(OA, openid, { MsgType: 'event', ...event });
      await world.sandbox.advance(MINUTE_MS);
      expect((await send(oaToken, openid)).errcode).toBe(45015);
    }
    // A VIEW menu does not open a window.
    await user(OA, 'oView', { MsgType: 'event', Event: 'VIEW', EventKey: 'https://v.example' });
    expect((await send(oaToken, 'oView')).errcode).toBe(45015);
    await user(OA, 'oLeaving', { MsgType: 'text', Content: 'bye' });
    await user(OA, 'oLeaving', { MsgType: 'event', Event: 'unsubscribe' });
    expect((await send(oaToken, 'oLeaving')).errcode).toBe(45015);
  });

  it('mini program: 2 per minute after entering the session, 5 in 48 h after a message', async () => {
    await user(MP, 'oM', { MsgType: 'event', Event: 'user_enter_tempsession', SessionFrom: 'x' });
    expect((await send(mpToken, 'oM')).errcode).toBe(0);
    expect((await send(mpToken, 'oM')).errcode).toBe(0);
    expect((await send(mpToken, 'oM')).errcode).toBe(45047);
    await user(MP, 'oM', { MsgType: 'text', Content: '在吗' });
    for (let i = 0; i < 5; i++) expect((await send(mpToken, 'oM')).errcode).toBe(0);
    expect((await send(mpToken, 'oM')).errcode).toBe(45047);
  });
});

describe('customer-service window switched off', () => {
  it('lets every send through with customerServiceWindow: false', async () => {
    const world = await startWorld({ customerServiceWindow: false });
    try {
      const cat = await componentToken(world.sandbox);
      const { aat } = await authorizedToken(world.sandbox, cat, OA);
      const r = await call(world.sandbox.url, '/cgi-bin/message/custom/send', { query: { access_token: aat }, body: { touser: 'oNobody', msgtype: 'text', text: { content: 'x' } } });
      expect(r.errcode).toBe(0);
    } finally {
      await world.close();
    }
  });
});
