import { Redis } from 'ioredis';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dedupeKey, MemoryMessageDedupe, RedisMessageDedupe } from '../../../src/messages/dedupe.js';
import { answerQueryAuthCode, releaseTestAccount, releaseTestAnswer, releaseTestUserName } from '../../../src/messages/release-test.js';
import { isReply, renderReply, reply } from '../../../src/messages/reply.js';
import { HandlerTimeoutError, MessageRouter } from '../../../src/messages/router.js';
import { messageTypeOf, toMessage } from '../../../src/messages/types.js';
import { parseXml } from '../../../src/xml/parse.js';
import { ManualClock } from '../../helpers/platform.js';
import { freePorts } from '../../helpers/ports.js';
import { REDIS_URL } from '../../helpers/services.js';

const to = { user: 'oUser', account: 'gh_acc', createTime: 1700000000 };
const head = { ToUserName: 'oUser', FromUserName: 'gh_acc', CreateTime: '1700000000' };
const render = (r: Parameters<typeof renderReply>[0]) => parseXml(renderReply(r, to)!);
const msg = (appid: string, fields: Record<string, string>) =>
  toMessage(appid, { ToUserName: 'gh_x', FromUserName: 'oU', CreateTime: '1700000000', ...fields }, '<xml>raw</xml>');

describe('passive replies: every kind renders the XML of the official-account doc', () => {
  it('image, voice, video (optional title and description left out), music', () => {
    expect(render(reply.image('M1'))).toEqual({ ...head, MsgType: 'image', Image: { MediaId: 'M1' } });
    expect(render(reply.voice('M2'))).toEqual({ ...head, MsgType: 'voice', Voice: { MediaId: 'M2' } });
    expect(render(reply.video('M3'))).toEqual({ ...head, MsgType: 'video', Video: { MediaId: 'M3' } });
    expect(render(reply.video('M3', { title: 'T', description: 'D' }))).toEqual({ ...head, MsgType: 'video', Video: { MediaId: 'M3', Title: 'T', Description: 'D' } });
    expect(render(reply.music({ title: 'T', description: 'D', musicUrl: 'http://m', hqMusicUrl: 'http://hq', thumbMediaId: 'TH' }))).toEqual({
      ...head,
      MsgType: 'music',
      Music: { Title: 'T', Description: 'D', MusicUrl: 'http://m', HQMusicUrl: 'http://hq', ThumbMediaId: 'TH' },
    });
  });

  it('news: ArticleCount and one item per article; 1 to 8 articles, more or none refused', () => {
    const one = { title: 'A', description: 'd', picUrl: 'http://p', url: 'http://u' };
    expect(render(reply.news([one]))).toEqual({ ...head, MsgType: 'news', ArticleCount: '1', Articles: { item: { Title: 'A', Description: 'd', PicUrl: 'http://p', Url: 'http://u' } } });
    const eight = Array.from({ length: 8 }, (_, i) => ({ title: `t${i}` }));
    const f = render(reply.news(eight)) as { ArticleCount: string; Articles: { item: { Title: string }[] } };
    expect(f.ArticleCount).toBe('8');
    expect(f.Articles.item.map((i) => i.Title)).toEqual(eight.map((a) => a.title));
    expect(() => reply.news([])).toThrow(new RangeError('news replies carry 1 to 8 articles, got 0'));
    expect(() => reply.news([...eight, one])).toThrow(new RangeError('news replies carry 1 to 8 articles, got 9'));
  });

  it('transfer to customer service, to anyone or to one agent', () => {
    expect(render(reply.transferCustomerService())).toEqual({ ...head, MsgType: 'transfer_customer_service' });
    expect(reply.transferCustomerService()).toEqual({ kind: 'transfer_customer_service' });
    expect(render(reply.transferCustomerService('kf@acc'))).toEqual({ ...head, MsgType: 'transfer_customer_service', TransInfo: { KfAccount: 'kf@acc' } });
  });

  it('isReply accepts only objects with a string kind', () => {
    expect(isReply(reply.text('x'))).toBe(true);
    for (const v of [null, undefined, 'text', 3, {}, { kind: 1 }]) expect(isReply(v), JSON.stringify(v)).toBe(false);
  });
});

describe('typed messages', () => {
  it('reads base fields, numbers and the message id; missing ones become empty, 0 or undefined', () => {
    const m = msg('wxA', { MsgType: 'location', Location_X: '23.134521', Location_Y: '-113.358803', Scale: '20', Label: 'Here', MsgId: '42' });
    expect(m).toMatchObject({
      type: 'message.location',
      authorizerAppid: 'wxA',
      toUserName: 'gh_x',
      fromUserName: 'oU',
      createTime: 1700000000,
      msgType: 'location',
      msgId: '42',
      raw: '<xml>raw</xml>',
      data: { Location_X: 23.134521, Location_Y: -113.358803, Scale: 20, Label: 'Here' },
    });
    const bare = toMessage('wxA', { MsgType: 'text', CreateTime: 'soon' }, '');
    expect(bare).toMatchObject({ type: 'message.text', toUserName: '', fromUserName: '', createTime: 0, content: '', msgId: undefined });
  });

  it('a known kind whose fields fail its schema is delivered as other, with the field and zod message as reason', () => {
    const m = msg('wxA', { MsgType: 'location', Location_X: 'north', Location_Y: '1', MsgId: '7' });
    expect(m.type).toBe('other');
    expect(m).toMatchObject({ msgType: 'location', msgId: '7', event: undefined, data: {} });
    expect((m as { reason?: string }).reason).toMatch(/^location: Location_X \S/);
    const e = msg('wxA', { MsgType: 'event', Event: 'LOCATION', Latitude: 'x', Longitude: '1' });
    expect(e).toMatchObject({ type: 'other', event: 'LOCATION' });
    expect((e as { reason?: string }).reason).toMatch(/^LOCATION: Latitude \S/);
  });

  it('an unknown kind is other without a reason; names of Object.prototype are not kinds', () => {
    for (const fields of [{ MsgType: 'brand_new' }, { MsgType: 'toString' }, { MsgType: 'event', Event: 'constructor' }, { MsgType: 'event' }] as Record<string, string>[]) {
      const m = msg('wxA', fields);
      expect(m.type, JSON.stringify(fields)).toBe('other');
      expect('reason' in m, JSON.stringify(fields)).toBe(false);
    }
    expect(msg('wxA', { MsgType: 'event', Event: 'brand_new' })).toMatchObject({ type: 'other', event: 'brand_new', msgType: 'event' });
  });

  it('events carry their Event name and typed data', () => {
    expect(msg('wxA', { MsgType: 'event', Event: 'weapp_audit_success', SuccTime: '1700000001' })).toMatchObject({
      type: 'event.weapp_audit_success',
      event: 'weapp_audit_success',
      data: { SuccTime: 1700000001 },
    });
  });

  it('messageTypeOf: the routing key without validation', () => {
    expect(messageTypeOf({ MsgType: 'text' })).toBe('message.text');
    expect(messageTypeOf({ MsgType: 'event', Event: 'CLICK' })).toBe('event.CLICK');
    expect(messageTypeOf({ MsgType: 'event' })).toBe('message.event');
    expect(messageTypeOf({})).toBe('message.unknown');
    expect(messageTypeOf({ MsgType: { x: '1' } })).toBe('message.unknown');
    // Only an event is routed by its Event field.
    expect(messageTypeOf({ MsgType: 'text', Event: 'CLICK' })).toBe('message.text');
  });
});

describe('MessageRouter details', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('clears the budget timer once the chain has answered', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const r = new MessageRouter();
    r.on('message.text', () => reply.text('fast'));
    expect((await r.dispatch(msg('wxA', { MsgType: 'text', Content: 'x' }), 5000)).result).toEqual(reply.text('fast'));
    expect(vi.getTimerCount()).toBe(0);
  });

  it('off removes only the handler registered under that pattern; an unknown one removes nothing', async () => {
    const r = new MessageRouter();
    const a = () => reply.text('a');
    const b = () => reply.text('b');
    r.on('message.text', a).on('message.text', b);
    r.off('message.image', a);
    r.off('message.text', () => undefined);
    expect(r.size).toBe(2);
    r.off('message.text', a);
    expect(r.size).toBe(1);
    expect((await r.dispatch(msg('wxA', { MsgType: 'text', Content: 'x' }), 1000)).result).toEqual(reply.text('b'));
  });

  it('filters by a list of appids, reports hasHandlers and how many handlers ran before the answer', async () => {
    const r = new MessageRouter();
    const seen: string[] = [];
    r.on('*', (m) => void seen.push(m.authorizerAppid), { appid: ['wxA', 'wxB'] });
    r.on('message.text', () => reply.text('answer'));
    r.on('message.text', () => reply.text('never'));
    expect(r.hasHandlers(msg('wxC', { MsgType: 'image' }))).toBe(false);
    expect(r.hasHandlers(msg('wxB', { MsgType: 'image' }))).toBe(true);
    const d = await r.dispatch(msg('wxB', { MsgType: 'text', Content: 'x' }), 1000);
    expect(d).toEqual({ result: reply.text('answer'), ran: 2 });
    await r.dispatch(msg('wxC', { MsgType: 'text', Content: 'x' }), 1000);
    expect(seen).toEqual(['wxB']);
  });

  it('an unknown message kind is reachable by its raw name, an event without a name by "event."', async () => {
    const r = new MessageRouter();
    r.on('message.brand_new', () => reply.text('raw'));
    r.on('event.', () => reply.text('nameless'));
    expect((await r.dispatch(msg('wxA', { MsgType: 'brand_new' }), 1000)).result).toEqual(reply.text('raw'));
    expect((await r.dispatch(msg('wxA', { MsgType: 'event' }), 1000)).result).toEqual(reply.text('nameless'));
  });

  it('a handler error is not a timeout; a late chain is, with the budget in the message', async () => {
    const r = new MessageRouter();
    r.on('message.text', (m) => (m.content === 'boom' ? Promise.reject(new Error('boom')) : new Promise(() => {})));
    const failed = await r.dispatch(msg('wxA', { MsgType: 'text', Content: 'boom' }), 1000);
    expect('timedOut' in failed).toBe(false);
    const late = await r.dispatch(msg('wxA', { MsgType: 'text', Content: 'hang' }), 5);
    expect(late.error).toBeInstanceOf(HandlerTimeoutError);
    expect((late.error as HandlerTimeoutError).code).toBe('WXO_ERR_MESSAGE_HANDLER_TIMEOUT');
    expect((late.error as Error).message).toBe('message handler did not answer within 5 ms');
    expect((late.error as Error).name).toBe('HandlerTimeoutError');
  });
});

describe('release test (spec 7)', () => {
  it('finds a test account by appid or, for an unknown appid, by its gh_ id', () => {
    expect(releaseTestAccount('wx570bc396a51b8ff8')).toEqual({ group: 1, kind: 'official', appid: 'wx570bc396a51b8ff8', userName: 'gh_3c884a361561' });
    expect(releaseTestAccount('wx0000000000000000', 'gh_7818dcb60240')).toMatchObject({ group: 5, kind: 'miniprogram', appid: 'wx5910277cae6fd970' });
    expect(releaseTestAccount('wx0000000000000000')).toBeUndefined();
    expect(releaseTestUserName('wxa35b9c23cfe664eb')).toBe('gh_2b3713f184a6');
    expect(releaseTestUserName('wx0000000000000000')).toBeUndefined();
  });

  it('answers text and events only; other kinds get no answer', () => {
    const m = (fields: Record<string, string>) => releaseTestAnswer(toMessage('wx0000000000000000', { ToUserName: 'gh_3c884a361561', FromUserName: 'oU', CreateTime: '1', ...fields }, ''));
    expect(m({ MsgType: 'image', PicUrl: 'http://p' })).toBeUndefined();
    expect(m({ MsgType: 'text', Content: 'hi' })).toEqual({ reply: reply.text('hi_callback') });
    expect(m({ MsgType: 'event', Event: 'subscribe' })).toEqual({ reply: reply.text('subscribefrom_callback') });
    // An Event field on a non-event is not an event, and an event without a name has nothing to echo.
    expect(m({ MsgType: 'image', PicUrl: 'http://p', Event: 'subscribe' })).toBeUndefined();
    expect(m({ MsgType: 'event' })).toBeUndefined();
  });

  it('sends <code>_from_api to the user even when the code exchange fails, saying why', async () => {
    const calls: string[] = [];
    const warnings: string[] = [];
    await answerQueryAuthCode(
      {
        queryAuth: async (code) => {
          calls.push(`query ${code}`);
          throw new Error('already used');
        },
        sendText: async (a, touser, content) => void calls.push(`send ${a} ${touser} ${content}`),
      },
      { authorizerAppid: 'wxA', fromUserName: 'oU' },
      'CODE',
      (err, what) => warnings.push(`${(err as Error).message}: ${what}`),
    );
    expect(calls).toEqual(['query CODE', 'send wxA oU CODE_from_api']);
    expect(warnings).toEqual(['already used: release test: api_query_auth with the QUERY_AUTH_CODE failed; sending with the stored token']);
  });
});

describe('dedupe', () => {
  it('keys: MsgId for messages, FromUserName + CreateTime + Event for events', () => {
    expect(dedupeKey('wxA', { MsgId: '9', FromUserName: 'oU', CreateTime: '1' })).toBe('wxA:m:9');
    expect(dedupeKey('wxA', { FromUserName: 'oU', CreateTime: '1', Event: 'CLICK' })).toBe('wxA:e:oU:1:CLICK');
  });

  it('memory: the first claim wins until the TTL has passed; a released claim can be taken once more', () => {
    const clock = new ManualClock(1_000_000);
    const d = new MemoryMessageDedupe(clock, 1000);
    expect(d.kind).toBe('memory');
    expect(d.claim('k')).toBe(true);
    expect(d.claim('k')).toBe(false);
    d.release('k');
    expect(d.claim('k')).toBe(true);
    expect(d.claim('k')).toBe(false);
    // Remembered for at least the TTL and at most twice it (util/recent-keys.ts).
    clock.advance(2001);
    expect(d.claim('k')).toBe(true);
  });

  it.runIf(REDIS_URL)('Redis: claims once under its prefix with the TTL, gives a claim back, and grants the claim when Redis fails', async () => {
    const prefix = `wxopen:test:dedupe:${process.pid}:${Date.now()}:`;
    const raw = new Redis(REDIS_URL!);
    const d = new RedisMessageDedupe(raw, prefix, 600_000);
    try {
      expect(d.kind).toBe('redis');
      expect(await d.claim('k')).toBe(true);
      expect(await d.claim('k')).toBe(false);
      expect(await raw.pttl(`${prefix}k`)).toBeGreaterThan(500_000);
      await d.release('k');
      expect(await raw.exists(`${prefix}k`)).toBe(0);
      expect(await d.claim('k')).toBe(true);
      const dflt = new RedisMessageDedupe(raw, prefix);
      expect(await dflt.claim('ttl')).toBe(true);
      expect(await raw.pttl(`${prefix}ttl`)).toBeGreaterThan(500_000);
      await d.close();
      expect(raw.status).toBe('ready');
    } finally {
      await raw.del(`${prefix}k`, `${prefix}ttl`);
      raw.disconnect();
    }
    const errors: unknown[] = [];
    const down = new Redis(REDIS_URL!, { lazyConnect: true, enableOfflineQueue: false });
    const failing = new RedisMessageDedupe(down, prefix, 1000, false, (err) => errors.push(err));
    expect(await failing.claim('k')).toBe(true);
    await failing.release('k');
    expect(errors).toHaveLength(2);
    const own = RedisMessageDedupe.fromUrl(REDIS_URL!, prefix);
    expect(await own.claim('own')).toBe(true);
    await own.release('own');
    await own.close();
    await expect(own.claim('own2')).resolves.toBe(true); // the closed connection fails: granted
  });

  it('Redis from a URL: a command waits for the connection, fails after one reconnection, and the outage reaches onError once', async () => {
    // Nothing listens on the port: the queued SET fails after one reconnection (maxRetriesPerRequest 1) and the claim
    // is granted. Two refused connections and the failed command are one outage: onError hears its first error only
    // (each reconnect attempt used to be a log line with a stack).
    const [port] = (await freePorts(1)) as [number];
    const errors: Error[] = [];
    const d = RedisMessageDedupe.fromUrl(`redis://127.0.0.1:${port}`, 'p:', (err) => errors.push(err as Error));
    const connection = (d as unknown as { redis: Redis }).redis;
    let attempts = 0;
    connection.on('error', () => attempts++);
    try {
      expect(await d.claim('k')).toBe(true);
      expect(attempts).toBeGreaterThanOrEqual(1);
      expect(errors.map((e) => (e as { code?: string }).code ?? e.name)).toEqual(['ECONNREFUSED']);
    } finally {
      await d.close();
    }
  });

  it('Redis from a URL: connects at once, so an unreachable server is reported before any message', async () => {
    const [port] = (await freePorts(1)) as [number];
    let d: RedisMessageDedupe | undefined;
    const first = new Promise<unknown>((resolve) => {
      d = RedisMessageDedupe.fromUrl(`redis://127.0.0.1:${port}`, 'p:', resolve);
    });
    try {
      expect(await first).toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await d!.close();
    }
  }, 10_000);

  it('Redis from a URL: close() while reconnecting grants the claims still waiting instead of leaving them hanging', async () => {
    // Once ioredis waits to reconnect, disconnect() stops it and a command it had queued never settles: without the
    // race in RedisMessageDedupe the request waiting on that claim would hang until the process exits.
    const [port] = (await freePorts(1)) as [number];
    const errors: unknown[] = [];
    const d = RedisMessageDedupe.fromUrl(`redis://127.0.0.1:${port}`, 'p:', (err) => errors.push(err));
    const connection = (d as unknown as { redis: Redis }).redis;
    const reconnecting = new Promise<void>((resolve) => connection.once('reconnecting', () => resolve()));
    const claim = d.claim('k');
    const release = d.release('r');
    await reconnecting;
    await d.close();
    expect(await claim).toBe(true);
    await release;
    expect(await d.claim('after')).toBe(true);
    // One outage, one report: the refused connection (the claims cut short by close() are part of it).
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['ECONNREFUSED']);
  }, 10_000);

  it('Redis on a connection it was given: close() leaves that connection alone', async () => {
    const shared = new Redis({ lazyConnect: true });
    await new RedisMessageDedupe(shared, 'p:').close();
    // disconnect() would have ended the (never opened) connection at once.
    expect(shared.status).toBe('wait');
  });

  it('Redis from a URL: close() ends the connection it opened', async () => {
    // A TCP server that never answers stands in for Redis: what is tested is the socket being closed.
    const server = createServer();
    const opened = new Promise<{ closed: Promise<void> }>((resolve) =>
      server.once('connection', (socket) => {
        socket.resume();
        resolve({ closed: new Promise<void>((done) => socket.once('close', () => done())) });
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const d = RedisMessageDedupe.fromUrl(`redis://127.0.0.1:${(server.address() as { port: number }).port}`, 'p:');
      const { closed } = await opened;
      await d.close();
      await closed;
    } finally {
      server.close();
    }
  }, 10_000);

  it.runIf(REDIS_URL)('Redis from a URL: a claim made while connecting is answered by Redis; close() ends the connection it made', async () => {
    const prefix = `wxopen:test:dedupe-url:${process.pid}:${Date.now()}:`;
    const errors: Error[] = [];
    const d = RedisMessageDedupe.fromUrl(REDIS_URL!, prefix, (err) => errors.push(err as Error));
    const raw = new Redis(REDIS_URL!);
    try {
      expect(await d.claim('k')).toBe(true);
      expect(await d.claim('k')).toBe(false);
      expect(errors).toEqual([]);
      const connection = (d as unknown as { redis: Redis }).redis;
      const ended = new Promise<void>((resolve) => connection.once('end', () => resolve()));
      await d.close();
      await ended;
      // The dedupe is closed: the claim is granted, not refused by the key still in Redis, and its connection ended.
      expect(await d.claim('k')).toBe(true);
      // Either reason may answer first (the closed connection's or the dedupe's own); one error, and the claim granted.
      expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/^(Connection is closed\.|message dedupe closed)$/)]);
    } finally {
      await raw.del(`${prefix}k`);
      raw.disconnect();
    }
  });
});
