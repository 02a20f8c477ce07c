import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { computeMsgSignature, decryptMessage } from '../../src/crypto/index.js';
import type { AuthorizerMessage } from '../../src/server/context.js';
import { buildXml } from '../../src/xml/build.js';
import { parseXml } from '../../src/xml/parse.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

const AUTHORIZER = 'wx570bc396a51b8ff8';
/** Not a release-test account (whose messages the built-in responder answers) and with no known gh_ id. */
const MERCHANT = 'wx3a7f2c9e1b4d6f80';

describe('POST /wechat/authorizer/:appid', () => {
  let p: TestPlatform;
  let seen: AuthorizerMessage[];

  beforeEach(async () => {
    seen = [];
    p = await startTestPlatform({
      onMessage: [
        (m) => {
          seen.push(m);
          if (m.fields.Content === 'TESTCOMPONENT_MSG_TYPE_TEXT') {
            return buildXml({
              ToUserName: String(m.fields.FromUserName),
              FromUserName: String(m.fields.ToUserName),
              CreateTime: 1,
              MsgType: 'text',
              Content: 'TESTCOMPONENT_MSG_TYPE_TEXT_callback',
            });
          }
          return undefined;
        },
      ],
    });
  });
  afterEach(async () => {
    await p.close();
  });

  const text = (content: string, msgId: string, toUserName = 'gh_3c884a361561') => ({
    ToUserName: toUserName,
    FromUserName: 'ozy4qt5QUADNXORxCVipKMV9dss0',
    CreateTime: Math.floor(p.clock.now() / 1000),
    MsgType: 'text',
    Content: content,
    MsgId: msgId,
  });

  it('answers an encrypted passive reply signed over what it emits', async () => {
    // A legacy raw handler on an ordinary merchant (test accounts are answered by the built-in responder).
    const res = await p.push(text('TESTCOMPONENT_MSG_TYPE_TEXT', '1001', 'gh_5e2a9c7b1d3f'), { path: `/wechat/authorizer/${MERCHANT}`, toUserName: 'gh_5e2a9c7b1d3f' });
    expect(res.status).toBe(200);
    const reply = parseXml(res.text) as Record<string, string>;
    expect(computeMsgSignature(p.config.token, reply.TimeStamp!, reply.Nonce!, reply.Encrypt!)).toBe(reply.MsgSignature);
    const inner = parseXml(decryptMessage(reply.Encrypt!, p.config.encodingAesKeys[0]!, p.config.componentAppid).message);
    expect(inner).toMatchObject({ ToUserName: 'ozy4qt5QUADNXORxCVipKMV9dss0', FromUserName: 'gh_5e2a9c7b1d3f', Content: 'TESTCOMPONENT_MSG_TYPE_TEXT_callback' });
    expect(seen[0]).toMatchObject({ authorizerAppid: MERCHANT });
  });

  it('answers success when no handler replies, and processes a retried MsgId once', async () => {
    const path = `/wechat/authorizer/${MERCHANT}`;
    expect(await p.push(text('hello', '2002', 'gh_5e2a9c7b1d3f'), { path, toUserName: 'gh_5e2a9c7b1d3f' })).toEqual({ status: 200, text: 'success' });
    expect(await p.push(text('hello', '2002', 'gh_5e2a9c7b1d3f'), { path, toUserName: 'gh_5e2a9c7b1d3f' })).toEqual({ status: 200, text: 'success' });
    expect(seen).toHaveLength(1);
  });

  it('dedupes events by FromUserName + CreateTime', async () => {
    const path = `/wechat/authorizer/${MERCHANT}`;
    const event = { ToUserName: 'gh_x', FromUserName: 'o1', CreateTime: 1_700_000_000, MsgType: 'event', Event: 'weapp_audit_success', SuccTime: 1 };
    await p.push(event, { path, toUserName: 'gh_x' });
    await p.push(event, { path, toUserName: 'gh_x' });
    await p.push({ ...event, CreateTime: 1_700_000_001 }, { path, toUserName: 'gh_x' });
    expect(seen).toHaveLength(2);
  });

  it('refuses forged pushes and a bad appid in the path', async () => {
    const ts = String(Math.floor(p.clock.now() / 1000));
    let res = await p.post(`/wechat/authorizer/${AUTHORIZER}`, { timestamp: ts, nonce: '1', msg_signature: 'f'.repeat(40) }, buildXml({ ToUserName: 'gh', Encrypt: 'abcd' }));
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toMatchObject({ reason: 'bad_signature' });
    res = await p.push(text('x', '1'), { path: '/wechat/authorizer/$APPID$', toUserName: 'gh' });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ reason: 'missing_params' });
    expect(seen).toEqual([]);
  });
});
