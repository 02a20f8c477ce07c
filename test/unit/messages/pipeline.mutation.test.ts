import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { MemoryMessageDedupe } from '../../../src/messages/dedupe.js';
import { MessagePipeline } from '../../../src/messages/pipeline.js';
import { reply } from '../../../src/messages/reply.js';
import { MessageRouter } from '../../../src/messages/router.js';
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

async function world(o: { userName?: string; level?: string } = {}) {
  const config = loadConfig({});
  const real = await createStore('sqlite::memory:');
  let authorizerReads = 0;
  // The authorizer record (api_get_authorizer_info) as stored; messages go to the real store.
  const store: Store = Object.assign(Object.create(real) as Store, {
    getAuthorizer: async () => (authorizerReads++, o.userName === undefined ? undefined : ({ info: { user_name: o.userName } } as never)),
  });
  const clock = new ManualClock(1_700_000_123_456);
  const router = new MessageRouter();
  const { logger, lines } = captureLogger(o.level ?? 'debug');
  const pipeline = new MessagePipeline({ config, store, logger, clock, router, dedupe: new MemoryMessageDedupe(clock) });
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
});
