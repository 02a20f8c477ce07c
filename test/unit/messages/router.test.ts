import { describe, expect, it } from 'vitest';
import { MessageRouter } from '../../../src/messages/router.js';
import { reply, renderReply } from '../../../src/messages/reply.js';
import { releaseTestAnswer } from '../../../src/messages/release-test.js';
import { toMessage } from '../../../src/messages/types.js';
import { parseXml } from '../../../src/xml/parse.js';

const msg = (appid: string, fields: Record<string, string>) => toMessage(appid, { ToUserName: 'gh_x', FromUserName: 'oU', CreateTime: '1700000000', ...fields }, '<xml/>');

describe('MessageRouter', () => {
  it('matches exact types, message.*, event.*, *, other and raw names, in registration order, with appid filters', async () => {
    const r = new MessageRouter();
    const log: string[] = [];
    r.on('*', (m) => void log.push(`*:${m.type}`));
    r.on('message.*', (m) => void log.push(`message.*:${m.type}`));
    r.on('event.*', (m) => void log.push(`event.*:${m.type}`));
    r.on('message.text', () => reply.text('first'), { appid: 'wxA' });
    r.on('message.text', () => reply.text('second'));
    r.on('other', (m) => void log.push(`other:${m.msgType}`));
    r.on('event.brand_new_event', () => void log.push('raw name'));

    const a = await r.dispatch(msg('wxA', { MsgType: 'text', Content: 'x' }), 1000);
    expect(a.result).toEqual(reply.text('first'));
    const b = await r.dispatch(msg('wxB', { MsgType: 'text', Content: 'x' }), 1000);
    expect(b.result).toEqual(reply.text('second'));
    await r.dispatch(msg('wxA', { MsgType: 'event', Event: 'CLICK', EventKey: 'k' }), 1000);
    await r.dispatch(msg('wxA', { MsgType: 'event', Event: 'brand_new_event' }), 1000);
    expect(log).toEqual([
      '*:message.text',
      'message.*:message.text',
      '*:message.text',
      'message.*:message.text',
      '*:event.CLICK',
      'event.*:event.CLICK',
      '*:other',
      'event.*:other',
      'other:event',
      'raw name',
    ]);
    const second = () => reply.text('x');
    r.on('event.VIEW', second);
    expect(r.size).toBe(8);
    r.off('event.VIEW', second);
    expect(r.size).toBe(7);
    expect((await new MessageRouter().dispatch(msg('wxA', { MsgType: 'text' }), 10)).ran).toBe(0);
  });

  it('turns a throw or a late chain into an error without a reply', async () => {
    const r = new MessageRouter();
    r.on('message.text', (m) => {
      if (m.content === 'boom') throw new Error('boom');
      return new Promise(() => {});
    });
    const thrown = await r.dispatch(msg('wxA', { MsgType: 'text', Content: 'boom' }), 1000);
    expect(thrown).toMatchObject({ result: undefined, error: new Error('boom') });
    const late = await r.dispatch(msg('wxA', { MsgType: 'text', Content: 'hang' }), 20);
    expect(late).toMatchObject({ result: undefined, timedOut: true });
  });
});

describe('MessageRouter.wants: whether a message needs typing at all', () => {
  // Every pattern that could see a message must say so before it is typed, or its handler would be skipped.
  const cases: Array<[string, string, string | undefined, string | undefined, boolean]> = [
    // pattern, MsgType, Event, handler appid, wanted by wxA
    ['message.text', 'text', undefined, undefined, true],
    ['message.text', 'image', undefined, undefined, false],
    ['message.*', 'voice', undefined, undefined, true],
    ['message.*', 'event', 'CLICK', undefined, false],
    ['event.*', 'event', 'CLICK', undefined, true],
    ['event.weapp_audit_success', 'event', 'weapp_audit_success', undefined, true],
    ['event.weapp_audit_success', 'event', 'weapp_audit_fail', undefined, false],
    ['event.brand_new_event', 'event', 'brand_new_event', undefined, true],
    ['*', 'anything', undefined, undefined, true],
    ['other', 'holographic', undefined, undefined, true],
    ['message.text', 'text', undefined, 'wxB', false],
    ['message.text', 'text', undefined, 'wxA', true],
  ];
  for (const [pattern, msgType, event, appid, expected] of cases) {
    it(`${pattern}${appid ? ` (${appid})` : ''} ${expected ? 'wants' : 'does not want'} ${msgType}${event ? `/${event}` : ''}`, async () => {
      const r = new MessageRouter();
      expect(r.wants('wxA', msgType, event)).toBe(false);
      let ran = 0;
      r.on(pattern as '*', () => void ran++, appid ? { appid } : {});
      expect(r.wants('wxA', msgType, event)).toBe(expected);
      // It agrees with the chain dispatch actually runs.
      await r.dispatch(msg('wxA', { MsgType: msgType, ...(event !== undefined && { Event: event }) }), 1000);
      expect(ran).toBe(expected ? 1 : 0);
    });
  }
});

describe('replies and the release-test answers', () => {
  it('renders replies with To/From swapped and CDATA-safe content', () => {
    const xml = renderReply(reply.text('a]]>b'), { user: 'oU', account: 'gh_x', createTime: 1 })!;
    expect(parseXml(xml)).toEqual({ ToUserName: 'oU', FromUserName: 'gh_x', CreateTime: '1', MsgType: 'text', Content: 'a]]>b' });
    expect(renderReply(reply.none(), { user: 'oU', account: 'gh_x', createTime: 1 })).toBeUndefined();
  });

  it('answers only the test accounts, with the exact strings of spec 7', () => {
    const test = (fields: Record<string, string>) => releaseTestAnswer(toMessage('wxd101a85aa106f53e', { ToUserName: 'gh_8dad206e9538', FromUserName: 'oU', CreateTime: '1', ...fields }, ''));
    expect(test({ MsgType: 'text', Content: 'TESTCOMPONENT_MSG_TYPE_TEXT' })).toEqual({ reply: reply.text('TESTCOMPONENT_MSG_TYPE_TEXT_callback') });
    expect(test({ MsgType: 'text', Content: 'QUERY_AUTH_CODE:queryauthcode@@@a:b' })).toEqual({ queryAuthCode: 'queryauthcode@@@a:b' });
    expect(test({ MsgType: 'event', Event: 'LOCATION', Latitude: '1', Longitude: '2' })).toEqual({ reply: reply.text('LOCATIONfrom_callback') });
    expect(releaseTestAnswer(msg('wx3a7f2c9e1b4d6f80', { MsgType: 'text', Content: 'TESTCOMPONENT_MSG_TYPE_TEXT' }))).toBeUndefined();
  });
});
