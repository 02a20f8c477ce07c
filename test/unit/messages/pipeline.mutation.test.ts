import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { MemoryMessageDedupe } from '../../../src/messages/dedupe.js';
import { MessagePipeline } from '../../../src/messages/pipeline.js';
import { reply } from '../../../src/messages/reply.js';
import { MessageRouter } from '../../../src/messages/router.js';
import type { Platform } from '../../../src/platform.js';
import { createStore } from '../../../src/store/create-store.js';
import type { Store } from '../../../src/store/types.js';
import { parseXml } from '../../../src/xml/parse.js';
import { captureLogger } from '../../helpers/logs.js';
import { ManualClock } from '../../helpers/platform.js';

const APPID = 'wx3a7f2c9e1b4d6f80';
let seq = 0;
const text = (content: string, extra: Record<string, string> = {}) => ({
  ToUserName: 'gh_acc',
  FromUserName: 'oUser',
  CreateTime: '1700000000',
  MsgType: 'text',
  Content: content,
  MsgId: `m${++seq}`,
  ...extra,
});

async function world(o: { userName?: string; level?: string; platform?: Platform; getAuthorizer?: () => Promise<unknown> } = {}) {
  const config = loadConfig({});
  const real = await createStore('sqlite::memory:');
  let authorizerReads = 0;
  // The authorizer record (api_get_authorizer_info) as stored; messages go to the real store.
  const store: Store = Object.assign(Object.create(real) as Store, {
    getAuthorizer: async () => {
      authorizerReads++;
      if (o.getAuthorizer) return (await o.getAuthorizer()) as never;
      return o.userName === undefined ? undefined : ({ info: { user_name: o.userName } } as never);
    },
  });
  const clock = new ManualClock(1_700_000_123_456);
  const router = new MessageRouter();
  const { logger, lines } = captureLogger(o.level ?? 'debug');
  const pipeline = new MessagePipeline({ config, store, logger, clock, router, dedupe: new MemoryMessageDedupe(clock), ...(o.platform && { platform: o.platform }) });
  return { config, store: real, clock, router, lines, pipeline, reads: () => authorizerReads, logger };
}

describe('MessagePipeline', () => {
  it('a handler answering nothing, "", "success" or a non-reply object sends no passive reply', async () => {
    const w = await world();
    for (const answer of [undefined, '', 'success', { not: 'a reply' }]) {
      const handler = () => answer as never;
      w.router.on('message.text', handler);
      const r = await w.pipeline.handle(APPID, text('x'), '<xml/>');
      expect(r, JSON.stringify(answer)).toEqual({ outcome: 'stored', type: 'message.text' });
      expect('replyXml' in r, JSON.stringify(answer)).toBe(false);
      w.router.off('message.text', handler);
    }
  });

  it('raw XML is passed through; a reply value is rendered to the user from the account at the clock’s second', async () => {
    const w = await world();
    w.router.on('message.text', (m) => (m.content === 'raw' ? '<xml>raw</xml>' : reply.text('hi')));
    expect(await w.pipeline.handle(APPID, text('raw'), '<xml/>')).toEqual({ outcome: 'stored', type: 'message.text', replyXml: '<xml>raw</xml>' });
    const r = await w.pipeline.handle(APPID, text('v'), '<xml/>');
    expect(r.outcome === 'stored' && parseXml(r.replyXml!)).toEqual({ ToUserName: 'oUser', FromUserName: 'gh_acc', CreateTime: '1700000123', MsgType: 'text', Content: 'hi' });
  });

  it('stores each message once with its sender and CreateTime (0 when unreadable); a stored duplicate is not handled again', async () => {
    const w = await world();
    let runs = 0;
    w.router.on('message.text', () => void runs++);
    const m = text('once', { CreateTime: 'later' });
    expect((await w.pipeline.handle(APPID, m, '<xml>p</xml>')).outcome).toBe('stored');
    const [row] = await w.store.listMessages(w.config.componentAppid, { authorizerAppid: APPID });
    expect(row).toMatchObject({ createTime: 0, fromUser: 'oUser', type: 'message.text', payload: '<xml>p</xml>' });
    // Another instance (its own dedupe) gets WeChat's retry: the store's unique key stops it.
    const other = new MessagePipeline({ ...w.pipeline.o, dedupe: new MemoryMessageDedupe(w.clock) });
    expect(await other.handle(APPID, m, '<xml>p</xml>')).toEqual({ outcome: 'duplicate', type: 'message.text' });
    expect(runs).toBe(1);
  });

  it('refuses a ToUserName that is not the authorizer’s gh_ id, reading it once a minute', async () => {
    const w = await world({ userName: 'gh_acc' });
    expect(await w.pipeline.handle(APPID, text('x', { ToUserName: 'gh_other' }), '')).toEqual({
      outcome: 'refused',
      type: 'message.text',
      detail: `the decrypted ToUserName is not the gh_ id of ${APPID}`,
    });
    expect((await w.pipeline.handle(APPID, text('y'), '')).outcome).toBe('stored');
    expect(w.reads()).toBe(1);
    w.clock.advance(59_999);
    await w.pipeline.handle(APPID, text('z'), '');
    expect(w.reads()).toBe(1);
    w.clock.advance(1);
    await w.pipeline.handle(APPID, text('w'), '');
    expect(w.reads()).toBe(2);
  });

  it('does not check ToUserName against a user_name that is not a gh_ id', async () => {
    const w = await world({ userName: 'acc' });
    expect((await w.pipeline.handle(APPID, text('x', { ToUserName: 'gh_any' }), '')).outcome).toBe('stored');
  });

  it('logs a failed handler (timed out or not), a schema mismatch, and each accepted message at debug', async () => {
    const w = await world();
    w.router.on('message.text', (m) => {
      if (m.content === 'boom') throw new Error('boom');
      return m.content === 'reply' ? reply.text('r') : undefined;
    });
    await w.pipeline.handle(APPID, text('ok'), '');
    expect(w.lines.filter((l) => l.level === 50)).toEqual([]);
    await w.pipeline.handle(APPID, text('boom'), '');
    expect(w.lines.find((l) => l.msg === 'message handler failed; answered success')).toMatchObject({ authorizerAppid: APPID, type: 'message.text', timedOut: false });
    await w.pipeline.handle(APPID, text('reply'), '');
    const accepted = w.lines.filter((l) => l.msg === 'message accepted');
    expect(accepted.map((l) => l.replied)).toEqual([false, false, true]);
    expect(accepted[0]).toMatchObject({ push: 'authorizer', authorizerAppid: APPID, type: 'message.text' });
    // A message is typed (and its schema checked) only when a handler wants its kind.
    w.router.on('message.location', () => undefined);
    await w.pipeline.handle(APPID, { ...text(''), MsgType: 'location', Location_X: 'north', Location_Y: '1' }, '');
    expect(w.lines.find((l) => l.msg === 'message fields do not match their schema; delivered as other')).toMatchObject({ authorizerAppid: APPID, type: 'message.location' });
  });

  it('a release-test QUERY_AUTH_CODE without the platform is logged and settled in the background', async () => {
    const w = await world();
    const r = await w.pipeline.handle('wx570bc396a51b8ff8', text('QUERY_AUTH_CODE:abc', { ToUserName: 'gh_3c884a361561' }), '');
    expect(r).toEqual({ outcome: 'stored', type: 'message.text' });
    await w.pipeline.settled();
    expect(w.lines.find((l) => l.msg === 'release test: QUERY_AUTH_CODE needs the platform (credentials); nothing sent')).toMatchObject({ authorizerAppid: 'wx570bc396a51b8ff8' });
  });

  it('cannot read the authorizer: logged, ToUserName left unchecked, and read again for the next message', async () => {
    let fail = true;
    const w = await world({ getAuthorizer: async () => (fail ? Promise.reject(new Error('store down')) : { info: { user_name: 'gh_acc' } }) });
    expect((await w.pipeline.handle(APPID, text('x', { ToUserName: 'gh_other' }), '')).outcome).toBe('stored');
    expect(w.lines.find((l) => l.msg === 'cannot read the authorizer for the ToUserName check')).toMatchObject({ level: 40, authorizerAppid: APPID, err: { message: 'store down' } });
    // The failure was not remembered as "no gh_ id": the next message reads the record and is checked.
    fail = false;
    expect((await w.pipeline.handle(APPID, text('y', { ToUserName: 'gh_other' }), '')).outcome).toBe('refused');
    expect(w.reads()).toBe(2);
  });

  it('a message the store cannot record fails, and its claim is given back so WeChat’s retry is processed', async () => {
    const w = await world();
    let runs = 0;
    w.router.on('message.text', () => void runs++);
    const broken = new MessagePipeline({ ...w.pipeline.o, store: Object.assign(Object.create(w.pipeline.o.store) as Store, { recordMessage: async () => Promise.reject(new Error('disk full')) }) });
    const m = text('retry me');
    await expect(broken.handle(APPID, m, '')).rejects.toThrow('disk full');
    // Same dedupe, a store that works again: the retry is not a duplicate.
    const healed = new MessagePipeline({ ...broken.o, store: w.pipeline.o.store });
    expect(await healed.handle(APPID, m, '')).toEqual({ outcome: 'stored', type: 'message.text' });
    expect(runs).toBe(1);
  });

  it('a message nobody handles is stored without being typed: a malformed one logs no schema warning until a handler wants it', async () => {
    const w = await world();
    const SCHEMA = 'message fields do not match their schema; delivered as other';
    // A location whose latitude is not a number fails its schema: typed, it is delivered as `other` with a warning.
    const bad = () => ({ ...text(''), MsgType: 'location', Location_X: 'north', Location_Y: '1' });
    expect(await w.pipeline.handle(APPID, bad(), '<xml/>')).toEqual({ outcome: 'stored', type: 'message.location' });
    expect(w.lines.filter((l) => l.msg === SCHEMA)).toEqual([]);
    w.router.on('message.location', () => undefined);
    expect(await w.pipeline.handle(APPID, bad(), '<xml/>')).toEqual({ outcome: 'stored', type: 'message.location' });
    expect(w.lines.filter((l) => l.msg === SCHEMA)).toHaveLength(1);
  });

  it('stores a message without a FromUserName with an empty sender', async () => {
    const w = await world();
    const m: Record<string, string> = text('who');
    delete m.FromUserName;
    expect((await w.pipeline.handle(APPID, m, '<xml/>')).outcome).toBe('stored');
    const [row] = await w.store.listMessages(w.config.componentAppid, { authorizerAppid: APPID });
    expect(row).toMatchObject({ fromUser: '' });
  });
});

describe('MessagePipeline: the release test’s QUERY_AUTH_CODE with the platform', () => {
  const OA = 'wx570bc396a51b8ff8';
  const code = (fields: Record<string, string> = {}) => text('QUERY_AUTH_CODE:abc', { ToUserName: 'gh_3c884a361561', ...fields });

  /** A platform whose calls are recorded; each finishes on a later turn of the event loop, as a request would. */
  function fakePlatform(o: { queryAuthFails?: boolean; sendFails?: boolean } = {}) {
    const calls: unknown[] = [];
    const later = () => new Promise((resolve) => setImmediate(resolve));
    const platform = {
      queryAuth: async (c: string, source: string) => {
        await later();
        calls.push(['queryAuth', c, source]);
        if (o.queryAuthFails) throw new Error('code already used');
      },
      callAuthorizer: async (appid: string, req: unknown) => {
        await later();
        calls.push(['callAuthorizer', appid, req]);
        if (o.sendFails) throw new Error('45015 response out of time limit');
        return {};
      },
    } as unknown as Platform;
    return { platform, calls };
  }

  it('answers at once; the code is exchanged and <code>_from_api sent in the background, which settled() waits for', async () => {
    const { platform, calls } = fakePlatform();
    const w = await world({ platform });
    expect(await w.pipeline.handle(OA, code(), '')).toEqual({ outcome: 'stored', type: 'message.text' });
    expect(calls).toEqual([]);
    await w.pipeline.settled();
    expect(calls).toEqual([
      ['queryAuth', 'abc', 'push'],
      ['callAuthorizer', OA, { method: 'POST', path: '/cgi-bin/message/custom/send', body: { touser: 'oUser', msgtype: 'text', text: { content: 'abc_from_api' } } }],
    ]);
    const sent = w.lines.filter((l) => l.msg === 'release test: customer-service reply sent');
    expect(sent).toEqual([expect.objectContaining({ level: 30, authorizerAppid: OA })]);
    expect(w.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('release test: api_query_auth'))).toEqual([]);
    // Nothing is left in the background: settled() answers again at once.
    await w.pipeline.settled();
  });

  it('a failed code exchange is logged as a warning and the message still sent', async () => {
    const { platform, calls } = fakePlatform({ queryAuthFails: true });
    const w = await world({ platform });
    await w.pipeline.handle(OA, code(), '');
    await w.pipeline.settled();
    expect(calls.map((c) => (c as unknown[])[0])).toEqual(['queryAuth', 'callAuthorizer']);
    expect(w.lines.find((l) => l.msg === 'release test: api_query_auth with the QUERY_AUTH_CODE failed; sending with the stored token')).toMatchObject({
      level: 40,
      authorizerAppid: OA,
      err: { message: 'code already used' },
    });
    expect(w.lines.find((l) => l.msg === 'release test: customer-service reply sent')).toMatchObject({ authorizerAppid: OA });
  });

  it('a failed customer-service send is logged as an error, not as sent, and does not reject settled()', async () => {
    const { platform } = fakePlatform({ sendFails: true });
    const w = await world({ platform });
    await w.pipeline.handle(OA, code(), '');
    await w.pipeline.settled();
    expect(w.lines.find((l) => l.msg === 'release test: customer-service reply failed')).toMatchObject({
      level: 50,
      authorizerAppid: OA,
      err: { message: '45015 response out of time limit' },
    });
    expect(w.lines.filter((l) => l.msg === 'release test: customer-service reply sent')).toEqual([]);
  });
});
