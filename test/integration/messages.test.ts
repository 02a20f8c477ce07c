import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageRetention } from '../../src/messages/retention.js';
import { reply } from '../../src/messages/reply.js';
import type { TypedMessages, WxMessage } from '../../src/messages/types.js';
import type { XmlObject } from '../../src/xml/parse.js';
import { captureLogger } from '../helpers/logs.js';
import { startWorld, type World } from '../helpers/world.js';

/** Ordinary merchants (not release-test accounts, so only user handlers answer them). */
const OA = 'wx3a7f2c9e1b4d6f80';
const OA2 = 'wx8b1e4d2f6a9c3057';
const MP = 'wx5c9d0e3a7f1b2846';
const BUDGET_MS = 300;

describe('messages at /wechat/authorizer/:appid through the sandbox', () => {
  let w: World;
  let lines: Record<string, unknown>[];
  const seen: WxMessage[] = [];
  let hang: Promise<never>;

  beforeAll(async () => {
    const captured = captureLogger('debug');
    lines = captured.lines;
    w = await startWorld({ env: { WXOPEN_MESSAGE_REPLY_BUDGET_MS: String(BUDGET_MS) }, logger: captured.logger });
    await w.settle();
    hang = new Promise<never>(() => {});
    const r = w.context.router;
    r.on('*', (m) => void seen.push(m));
    r.on('message.text', (m) => {
      switch (m.content) {
        case 'text':
          return reply.text('你好 <b>&amp;</b> ]]> 😀');
        case 'image':
          return reply.image('media-image-1');
        case 'voice':
          return reply.voice('media-voice-1');
        case 'video':
          return reply.video('media-video-1', { title: 'T', description: 'D' });
        case 'music':
          return reply.music({ title: 'Song', description: 'Desc', musicUrl: 'https://m.example/a.mp3', hqMusicUrl: 'https://m.example/a.flac', thumbMediaId: 'thumb-1' });
        case 'news':
          return reply.news([
            { title: 'A', description: 'first', picUrl: 'https://p.example/a.jpg', url: 'https://n.example/a' },
            { title: 'B', url: 'https://n.example/b' },
          ]);
        case 'transfer':
          return reply.transferCustomerService('kf2001@gh_5e2a9c7b1d3f');
        case 'transfer-any':
          return reply.transferCustomerService();
        case 'throw':
          throw new Error('handler exploded');
        case 'slow':
          return hang;
        default:
          return undefined;
      }
    }, { appid: [OA, MP, OA2] });
    r.on('event.subscribe', () => reply.text('welcome'));
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  const send = (appid: string, fields: Record<string, string | number>) => w.sandbox.sendMessage(appid, fields);
  const lastSeen = () => seen.at(-1)!;

  it('round-trips every reply type, encrypted, signed and decrypted by the sandbox', async () => {
    const check = async (content: string, want: (r: XmlObject) => void) => {
      const res = await send(OA, { MsgType: 'text', Content: content });
      expect(res.status).toBe(200);
      expect(res.replyError).toBeUndefined();
      expect(res.contentType).toContain('xml');
      expect(res.reply).toMatchObject({ ToUserName: lastSeen().fromUserName, FromUserName: 'gh_5e2a9c7b1d3f', CreateTime: expect.stringMatching(/^\d+$/) });
      want(res.reply!);
    };
    await check('text', (r) => expect(r).toMatchObject({ MsgType: 'text', Content: '你好 <b>&amp;</b> ]]> 😀' }));
    await check('image', (r) => expect(r).toMatchObject({ MsgType: 'image', Image: { MediaId: 'media-image-1' } }));
    await check('voice', (r) => expect(r).toMatchObject({ MsgType: 'voice', Voice: { MediaId: 'media-voice-1' } }));
    await check('video', (r) => expect(r).toMatchObject({ MsgType: 'video', Video: { MediaId: 'media-video-1', Title: 'T', Description: 'D' } }));
    await check('music', (r) =>
      expect(r).toMatchObject({
        MsgType: 'music',
        Music: { Title: 'Song', Description: 'Desc', MusicUrl: 'https://m.example/a.mp3', HQMusicUrl: 'https://m.example/a.flac', ThumbMediaId: 'thumb-1' },
      }),
    );
    await check('news', (r) =>
      expect(r).toMatchObject({
        MsgType: 'news',
        ArticleCount: '2',
        Articles: { item: [{ Title: 'A', Description: 'first', PicUrl: 'https://p.example/a.jpg', Url: 'https://n.example/a' }, { Title: 'B', Url: 'https://n.example/b' }] },
      }),
    );
    await check('transfer', (r) => expect(r).toMatchObject({ MsgType: 'transfer_customer_service', TransInfo: { KfAccount: 'kf2001@gh_5e2a9c7b1d3f' } }));
    await check('transfer-any', (r) => {
      expect(r.MsgType).toBe('transfer_customer_service');
      expect(r.TransInfo).toBeUndefined();
    });
    // A message nobody answers gets `success`.
    expect((await send(OA, { MsgType: 'text', Content: 'nothing to say' })).body).toBe('success');
    expect(() => reply.news([])).toThrow(RangeError);
  });

  it('delivers typed messages and events, including the mini-program audit events, and unknown kinds as other', async () => {
    const typed = async <K extends keyof TypedMessages>(appid: string, fields: Record<string, string | number>, type: K): Promise<TypedMessages[K]> => {
      const res = await send(appid, fields);
      expect(res.ok).toBe(true);
      const m = lastSeen();
      expect(m.type).toBe(type);
      expect(m.authorizerAppid).toBe(appid);
      return m as TypedMessages[K];
    };
    expect((await typed(OA, { MsgType: 'image', PicUrl: 'https://p.example/x.jpg', MediaId: 'm1' }, 'message.image')).data).toMatchObject({ PicUrl: 'https://p.example/x.jpg', MediaId: 'm1' });
    expect((await typed(OA, { MsgType: 'voice', MediaId: 'm2', Format: 'amr', Recognition: '你好' }, 'message.voice')).data.Recognition).toBe('你好');
    expect((await typed(OA, { MsgType: 'video', MediaId: 'm3', ThumbMediaId: 't3' }, 'message.video')).data.ThumbMediaId).toBe('t3');
    expect((await typed(OA, { MsgType: 'shortvideo', MediaId: 'm4', ThumbMediaId: 't4' }, 'message.shortvideo')).data.MediaId).toBe('m4');
    const loc = await typed(OA, { MsgType: 'location', Location_X: '23.134521', Location_Y: '113.358803', Scale: '20', Label: '广州' }, 'message.location');
    expect(loc.data).toMatchObject({ Location_X: 23.134521, Location_Y: 113.358803, Scale: 20, Label: '广州' });
    expect((await typed(OA, { MsgType: 'link', Title: 'T', Description: 'D', Url: 'https://l.example' }, 'message.link')).data.Url).toBe('https://l.example');
    const text = await typed(OA, { MsgType: 'text', Content: 'plain' }, 'message.text');
    expect(text.content).toBe('plain');
    expect(text.msgId).toMatch(/^\d+$/);

    const sub = await send(OA, { MsgType: 'event', Event: 'subscribe', EventKey: 'qrscene_42' });
    expect(sub.reply).toMatchObject({ MsgType: 'text', Content: 'welcome' });
    expect(lastSeen()).toMatchObject({ type: 'event.subscribe', event: 'subscribe', data: { EventKey: 'qrscene_42' } });
    await typed(OA, { MsgType: 'event', Event: 'unsubscribe' }, 'event.unsubscribe');
    expect((await typed(OA, { MsgType: 'event', Event: 'SCAN', EventKey: '123', Ticket: 'tk' }, 'event.SCAN')).data.Ticket).toBe('tk');
    expect((await typed(OA, { MsgType: 'event', Event: 'LOCATION', Latitude: '23.1', Longitude: '113.3', Precision: '119.3' }, 'event.LOCATION')).data).toMatchObject({ Latitude: 23.1, Longitude: 113.3 });
    expect((await typed(OA, { MsgType: 'event', Event: 'CLICK', EventKey: 'V1001_GOOD' }, 'event.CLICK')).data.EventKey).toBe('V1001_GOOD');
    expect((await typed(OA, { MsgType: 'event', Event: 'VIEW', EventKey: 'https://v.example' }, 'event.VIEW')).data.EventKey).toBe('https://v.example');

    // Mini-program events with their fields (spec 5.6), sent through the sandbox admin HTTP endpoint.
    const admin = async (body: Record<string, unknown>) => {
      const res = await fetch(`${w.sandbox.url}/sandbox/admin/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      return (await res.json()) as { ok: boolean; body: string };
    };
    await admin({ appid: MP, type: 'event', event: 'weapp_audit_success', fields: { SuccTime: 1_700_000_000 } });
    expect(lastSeen()).toMatchObject({ type: 'event.weapp_audit_success', data: { SuccTime: 1_700_000_000 }, toUserName: 'gh_7f4b2d9e1c68' });
    await admin({ appid: MP, type: 'event', event: 'weapp_audit_fail', fields: { Reason: '1:页面空白<br>2:类目不符', FailTime: 1_700_000_100, ScreenShot: 'xxx|yyy' } });
    expect(lastSeen()).toMatchObject({ type: 'event.weapp_audit_fail', data: { Reason: '1:页面空白<br>2:类目不符', FailTime: 1_700_000_100, ScreenShot: 'xxx|yyy' } });
    await admin({ appid: MP, type: 'event', event: 'weapp_audit_delay', fields: { Reason: '审核延后', DelayTime: 1_700_000_200 } });
    expect(lastSeen()).toMatchObject({ type: 'event.weapp_audit_delay', data: { Reason: '审核延后', DelayTime: 1_700_000_200 } });
    await admin({ appid: MP, type: 'event', event: 'wxa_nickname_audit', fields: { ret: 2, nickname: '青木', reason: '' } });
    expect(lastSeen()).toMatchObject({ type: 'event.wxa_nickname_audit', data: { ret: 2, nickname: '青木' } });
    await admin({ appid: MP, type: 'event', event: 'user_enter_tempsession', fields: { SessionFrom: 'cart' } });
    expect(lastSeen()).toMatchObject({ type: 'event.user_enter_tempsession', data: { SessionFrom: 'cart' } });
    await admin({ appid: MP, type: 'miniprogrampage', fields: { Title: 'P', AppId: MP, PagePath: 'pages/index' } });
    expect(lastSeen()).toMatchObject({ type: 'message.miniprogrampage', data: { PagePath: 'pages/index' } });

    // Unknown kinds, and a known kind whose fields do not fit, are delivered as `other` (and stored).
    await admin({ appid: MP, type: 'event', event: 'wxa_category_audit', fields: { ret: 1 } });
    expect(lastSeen()).toMatchObject({ type: 'other', msgType: 'event', event: 'wxa_category_audit' });
    await admin({ appid: OA, type: 'holographic', content: 'x' });
    expect(lastSeen()).toMatchObject({ type: 'other', msgType: 'holographic' });
    // Another user: the same event from the same user in the same second is a retry (FromUserName + CreateTime + Event).
    await admin({ appid: MP, from: 'oBadSuccTime', type: 'event', event: 'weapp_audit_success', fields: { SuccTime: 'yesterday' } });
    expect(lastSeen()).toMatchObject({ type: 'other', event: 'weapp_audit_success', reason: expect.stringContaining('SuccTime') });
    const stored = await w.store.listMessages(w.config.componentAppid, { authorizerAppid: MP, type: 'event.*' });
    expect(stored.map((m) => m.type)).toEqual(
      expect.arrayContaining(['event.weapp_audit_success', 'event.weapp_audit_fail', 'event.weapp_audit_delay', 'event.wxa_nickname_audit', 'event.wxa_category_audit']),
    );
  });

  it('stores every message once; retries of one message reach the handlers once', async () => {
    const before = seen.length;
    const fields = { MsgType: 'text', Content: 'retried', MsgId: '9000000001' };
    const first = await send(OA, fields);
    const retry = await send(OA, fields);
    const third = await send(OA, fields);
    expect([first.body, retry.body, third.body]).toEqual(['success', 'success', 'success']);
    expect(seen.length - before).toBe(1);
    // Events are keyed by FromUserName + CreateTime (+ Event).
    const ev = { MsgType: 'event', Event: 'CLICK', EventKey: 'K', FromUserName: 'oClicker', CreateTime: 1_700_000_123 };
    await send(OA, ev);
    await send(OA, ev);
    expect(seen.length - before).toBe(2);
    const rows = await w.store.listMessages(w.config.componentAppid, { authorizerAppid: OA, type: 'message.text' });
    expect(rows.filter((r) => r.dedupeKey === `${OA}:m:9000000001`)).toHaveLength(1);
    expect(rows.find((r) => r.dedupeKey === `${OA}:m:9000000001`)!.payload).toContain('<Content><![CDATA[retried]]></Content>');
    expect((await w.store.listMessages(w.config.componentAppid, { type: 'event.CLICK' })).filter((r) => r.fromUser === 'oClicker')).toHaveLength(1);
  });

  it('answers success and logs an error when a handler throws or exceeds the time budget; the message stays stored', async () => {
    const thrown = await send(OA, { MsgType: 'text', Content: 'throw', MsgId: '9000000002' });
    expect(thrown).toMatchObject({ status: 200, body: 'success' });
    expect(lines.find((l) => l.msg === 'message handler failed; answered success' && (l.err as { message?: string })?.message === 'handler exploded')).toBeDefined();

    const started = performance.now();
    const slow = await send(OA, { MsgType: 'text', Content: 'slow', MsgId: '9000000003' });
    const ms = performance.now() - started;
    expect(slow).toMatchObject({ status: 200, body: 'success' });
    expect(ms).toBeGreaterThanOrEqual(BUDGET_MS - 20);
    expect(ms).toBeLessThan(4000);
    expect(lines.find((l) => l.msg === 'message handler failed; answered success' && l.timedOut === true)).toMatchObject({ authorizerAppid: OA, type: 'message.text', level: 50 });
    const keys = (await w.store.listMessages(w.config.componentAppid, { authorizerAppid: OA })).map((m) => m.dedupeKey);
    expect(keys).toEqual(expect.arrayContaining([`${OA}:m:9000000002`, `${OA}:m:9000000003`]));
  });

  it('refuses a message whose decrypted ToUserName is not the authorizer of the path', async () => {
    // Known gh_ ids: the release-test table, and any authorizer's user_name from api_get_authorizer_info.
    await w.sandbox.authorize(OA2);
    await w.settle();
    expect((await w.store.getAuthorizer(w.config.componentAppid, OA2))?.info?.user_name).toBe('gh_a17c3e5b9d24');
    const before = seen.length;
    const wrong = await send(OA2, { MsgType: 'text', Content: 'for someone else', ToUserName: 'gh_5e2a9c7b1d3f' });
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body!)).toMatchObject({ reason: 'appid_mismatch' });
    const testAccount = await send('wx570bc396a51b8ff8', { MsgType: 'text', Content: 'x', ToUserName: 'gh_8dad206e9538' });
    expect(testAccount.status).toBe(401);
    expect(seen.length).toBe(before);
    const right = await send(OA2, { MsgType: 'text', Content: 'hello' });
    expect(right.status).toBe(200);
    expect(seen.length).toBe(before + 1);
    expect((await w.store.listMessages(w.config.componentAppid, { authorizerAppid: OA2 })).map((m) => m.payload)).not.toEqual(
      expect.arrayContaining([expect.stringContaining('for someone else')]),
    );
  });

  it('prunes messages older than the retention in bounded batches (injected clock)', async () => {
    const c = w.config.componentAppid;
    const total = (await w.store.listMessages(c, { limit: 1000 })).length;
    expect(total).toBeGreaterThan(20);
    const retention = new MessageRetention({ store: w.store, componentAppid: c, retentionDays: 7, clock: w.sandbox.clock, logger: captureLogger().logger, batchSize: 7 });
    expect(await retention.runOnce()).toBe(0);
    await w.sandbox.advance(6 * 86_400_000);
    await send(OA, { MsgType: 'text', Content: 'six days later' });
    expect(await retention.runOnce()).toBe(0);
    await w.sandbox.advance(1 * 86_400_000 + 1000);
    // Everything from a week ago goes (in batches of 7); the message of the sixth day stays.
    expect(await retention.runOnce()).toBe(total);
    const left = await w.store.listMessages(c, { limit: 1000 });
    expect(left.map((m) => m.payload)).toEqual([expect.stringContaining('six days later')]);
    const off = new MessageRetention({ store: w.store, componentAppid: c, retentionDays: 0, clock: w.sandbox.clock, logger: captureLogger().logger });
    await w.sandbox.advance(30 * 86_400_000);
    expect(await off.runOnce()).toBe(0);
    expect(await w.store.listMessages(c)).toHaveLength(1);
  });
});
