import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { computeMsgSignature, encryptMessage, signPush } from '../../src/crypto/index.js';
import { SecretBox } from '../../src/crypto/secret-box.js';
import { codeFromPayload, SEALED_CODE_PREFIX } from '../../src/push/authorization-code.js';
import type { PushEvent } from '../../src/push/events.js';
import { buildXml } from '../../src/xml/build.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

const OLD_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

describe('POST /wechat/component', () => {
  let p: TestPlatform;
  let events: PushEvent[];
  const now = () => Math.floor(p.clock.now() / 1000);
  const ticketFields = (ticket = 'ticket@@@one') => ({
    AppId: p.config.componentAppid,
    CreateTime: now(),
    InfoType: 'component_verify_ticket',
    ComponentVerifyTicket: ticket,
  });

  beforeEach(async () => {
    p = await startTestPlatform({ env: { WXOPEN_PREVIOUS_ENCODING_AES_KEYS: OLD_KEY, WXOPEN_BODY_LIMIT_BYTES: '4096' } });
    events = [];
    p.context.pushes.onAny((e) => {
      events.push(e);
    });
  });
  afterEach(async () => {
    await p.close();
  });

  async function expectNothingStored(): Promise<void> {
    await p.context.pushes.drain();
    expect(await p.store.getTicket(p.config.componentAppid)).toBeUndefined();
    expect(await p.store.listPushes(p.config.componentAppid)).toEqual([]);
    expect(events).toEqual([]);
  }

  function refusalLogs(reason: string) {
    return p.logs.filter((l) => l.msg === 'push refused' && l.reason === reason);
  }

  it('stores a ticket, answers success in plain text and emits the typed event', async () => {
    const res = await p.push(ticketFields('ticket@@@abc'));
    expect(res).toEqual({ status: 200, text: 'success' });
    expect(await p.store.getTicket(p.config.componentAppid)).toMatchObject({ ticket: 'ticket@@@abc', receivedAt: p.clock.now() });
    await p.context.pushes.drain();
    expect(events).toMatchObject([{ type: 'component_verify_ticket', ticket: 'ticket@@@abc', componentAppid: p.config.componentAppid }]);
    const metrics = await p.context.metrics.registry.metrics(); // /metrics is on the operator listener
    expect(metrics).toContain('wxopen_pushes_total{url="component",type="component_verify_ticket",outcome="stored"} 1');
    expect(metrics).toMatch(/wxopen_push_duration_seconds_count\{url="component"\} 1/);
    // The ticket value is a credential: it never reaches the log.
    expect(JSON.stringify(p.logs)).not.toContain('ticket@@@abc');
  });

  it('acknowledges an exact replay inside the window but processes it once', async () => {
    const signed = signPush(buildXml(ticketFields()), {
      token: p.config.token,
      encodingAesKey: p.config.encodingAesKeys[0]!,
      appid: p.config.componentAppid,
      timestamp: String(now()),
    });
    expect(await p.post('/wechat/component', signed.query, signed.body)).toEqual({ status: 200, text: 'success' });
    p.clock.advance(60_000);
    expect(await p.post('/wechat/component', signed.query, signed.body)).toEqual({ status: 200, text: 'success' });
    await p.context.pushes.drain();
    expect(events).toHaveLength(1);
    expect(p.logs.filter((l) => l.outcome === 'duplicate')).toHaveLength(1);
    expect((await p.store.getTicket(p.config.componentAppid))?.receivedAt).toBe(p.clock.now() - 60_000);
    // A ticket is state, not history: the push log keeps authorization events only.
    expect(await p.store.listPushes(p.config.componentAppid)).toEqual([]);
  });

  it('answers a late, older ticket push with success but keeps the newer ticket', async () => {
    expect((await p.push({ ...ticketFields('newer'), CreateTime: now() })).text).toBe('success');
    expect((await p.push({ ...ticketFields('older'), CreateTime: now() - 600 })).text).toBe('success');
    await p.context.pushes.drain();
    expect(events.map((e) => (e.type === 'component_verify_ticket' ? e.ticket : e.type))).toEqual(['newer']);
    expect((await p.store.getTicket(p.config.componentAppid))?.ticket).toBe('newer');
    expect(p.logs.filter((l) => l.outcome === 'superseded')).toHaveLength(1);
  });

  it('refuses a push outside the replay window', async () => {
    const signed = signPush(buildXml(ticketFields()), {
      token: p.config.token,
      encodingAesKey: p.config.encodingAesKeys[0]!,
      appid: p.config.componentAppid,
      timestamp: String(now()),
    });
    p.clock.advance(301_000);
    const res = await p.post('/wechat/component', signed.query, signed.body);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toMatchObject({ error: 'WXO_ERR_PUSH_STALE', reason: 'stale' });
    expect(refusalLogs('stale')).toHaveLength(1);
    await expectNothingStored();
  });

  it('refuses a forged signature', async () => {
    const signed = signPush(buildXml(ticketFields()), { token: 'wrongtoken', encodingAesKey: p.config.encodingAesKeys[0]!, appid: p.config.componentAppid });
    const res = await p.post('/wechat/component', signed.query, signed.body);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toMatchObject({ error: 'WXO_ERR_PUSH_BAD_SIGNATURE', reason: 'bad_signature' });
    expect(refusalLogs('bad_signature')).toHaveLength(1);
    const metrics = await p.context.metrics.registry.metrics(); // /metrics is on the operator listener
    expect(metrics).toContain('wxopen_pushes_total{url="component",type="unknown",outcome="bad_signature"} 1');
    await expectNothingStored();
  });

  it('refuses a ciphertext for another appid, and a plaintext whose AppId is another component', async () => {
    let res = await p.push(ticketFields(), { appid: 'wx9999999999999999' });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toMatchObject({ error: 'WXO_ERR_PUSH_APPID_MISMATCH' });
    res = await p.push({ ...ticketFields(), AppId: 'wx9999999999999999' });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toMatchObject({ reason: 'appid_mismatch' });
    expect(refusalLogs('appid_mismatch')).toHaveLength(2);
    await expectNothingStored();
  });

  it.each([
    ['broken XML', '<xml><Encrypt>abc</xml>', 400, 'xml_malformed'],
    ['XXE', '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Encrypt>&x;</Encrypt></xml>', 400, 'xml_forbidden'],
    ['no Encrypt', '<xml><AppId>x</AppId></xml>', 400, 'missing_encrypt'],
    ['empty body', '', 400, 'xml_malformed'],
    ['JSON body', '{"Encrypt":"abc"}', 400, 'xml_malformed'],
  ])('refuses %s with %i %s', async (_name, body, status, reason) => {
    const ts = String(now());
    const res = await p.post('/wechat/component', { timestamp: ts, nonce: '1', msg_signature: 'a'.repeat(40) }, body);
    expect(res.status).toBe(status);
    expect(JSON.parse(res.text)).toMatchObject({ reason });
    expect(refusalLogs(reason)).toHaveLength(1);
    await expectNothingStored();
  });

  it('refuses an oversized body with 413', async () => {
    const body = `<xml><Encrypt>${'A'.repeat(8000)}</Encrypt></xml>`;
    const res = await p.post('/wechat/component', { timestamp: String(now()), nonce: '1', msg_signature: 'x' }, body);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text)).toMatchObject({ reason: 'xml_too_large' });
    expect(refusalLogs('xml_too_large')).toHaveLength(1);
    await expectNothingStored();
  });

  it.each([
    ['no query at all', {}],
    ['no msg_signature', { timestamp: '1', nonce: '2' }],
    ['non-numeric timestamp', { timestamp: 'yesterday', nonce: '2', msg_signature: 'x' }],
  ])('refuses missing or bad query parameters: %s', async (_name, query) => {
    const res = await p.post('/wechat/component', query as Record<string, string>, '<xml><Encrypt>x</Encrypt></xml>');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ reason: 'missing_params' });
    await expectNothingStored();
  });

  it('refuses a correctly signed Encrypt that is not valid base64 or has bad padding', async () => {
    const ts = String(now());
    for (const [encrypt, reason] of [
      ['!!!notbase64!!!', 'bad_base64'],
      [Buffer.alloc(32, 1).toString('base64'), 'bad_padding'],
    ] as const) {
      const sig = computeMsgSignature(p.config.token, ts, '7', encrypt);
      const res = await p.post('/wechat/component', { timestamp: ts, nonce: '7', msg_signature: sig }, buildXml({ Encrypt: encrypt }));
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ reason });
    }
    await expectNothingStored();
  });

  it('refuses an authenticated push that lacks required fields', async () => {
    const res = await p.push({ AppId: p.config.componentAppid, CreateTime: now(), InfoType: 'component_verify_ticket' });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ reason: 'bad_event' });
    await expectNothingStored();
  });

  it('accepts a push encrypted with the previous EncodingAESKey during a rotation', async () => {
    expect(await p.push(ticketFields('rotated'), { encodingAesKey: OLD_KEY })).toEqual({ status: 200, text: 'success' });
    expect((await p.store.getTicket(p.config.componentAppid))?.ticket).toBe('rotated');
  });

  it('persists authorization events and emits typed events', async () => {
    const base = { AppId: p.config.componentAppid, CreateTime: now(), AuthorizerAppid: 'wxf8b4f85f3a794e77' };
    const code1 = 'queryauthcode@@@code1-Tq2kXw9RvLmZ8uFjHs3N';
    const code2 = 'queryauthcode@@@code2-Bn7YpQ4cVeWd1oKgAa6M';
    expect((await p.push({ ...base, InfoType: 'authorized', AuthorizationCode: code1, AuthorizationCodeExpiredTime: now() + 600, PreAuthCode: 'pre1' })).text).toBe('success');
    expect((await p.push({ ...base, InfoType: 'updateauthorized', AuthorizationCode: code2, AuthorizationCodeExpiredTime: 600, PreAuthCode: 'pre2' })).text).toBe('success');
    expect((await p.push({ ...base, InfoType: 'unauthorized' })).text).toBe('success');
    expect((await p.push({ AppId: p.config.componentAppid, CreateTime: now(), InfoType: 'notify_third_fasteregister', appid: 'wx1111111111111111', status: 0, info: { name: 'n' } })).text).toBe('success');
    await p.context.pushes.drain();
    const expiry = (now() + 600) * 1000;
    expect(events).toMatchObject([
      { type: 'authorized', authorizerAppid: 'wxf8b4f85f3a794e77', authorizationCode: code1, authorizationCodeExpiresAt: expiry, preAuthCode: 'pre1' },
      { type: 'updateauthorized', authorizationCode: code2, authorizationCodeExpiresAt: expiry },
      { type: 'unauthorized', authorizerAppid: 'wxf8b4f85f3a794e77' },
      { type: 'other', infoType: 'notify_third_fasteregister', authorizerAppid: 'wx1111111111111111', fields: { info: { name: 'n' } } },
    ]);
    const stored = await p.store.listPushes(p.config.componentAppid);
    expect(stored.map((s) => s.infoType)).toEqual(['notify_third_fasteregister', 'unauthorized', 'updateauthorized', 'authorized']);
    // The push log keeps the codes only sealed (a database read must not yield a code still worth exchanging);
    // the secret keys open them again, for the sweep and the callback's lookup.
    const box = new SecretBox(p.config.secretKeys);
    for (const [row, code] of [[stored[3]!, code1], [stored[2]!, code2]] as const) {
      expect(row.payload).not.toContain(code);
      expect(row.payload).toContain(`<AuthorizationCode><![CDATA[${SEALED_CODE_PREFIX}v1.`);
      expect(row.payload).toContain('<PreAuthCode><![CDATA[');
      expect(codeFromPayload(row.payload, box, p.config.componentAppid)?.code).toBe(code);
    }
  });

  it('answers success even when an event handler fails, and reports the failure', async () => {
    const failures: AggregateError[] = [];
    p.context.pushes.on('component_verify_ticket', () => {
      throw new Error('handler bug');
    });
    p.context.pushes.onError((e) => failures.push(e));
    expect(await p.push(ticketFields())).toEqual({ status: 200, text: 'success' });
    await p.context.pushes.drain();
    expect(failures).toHaveLength(1);
    expect(failures[0]!.errors[0]).toMatchObject({ message: 'handler bug' });
  });

  it('answers 503 (so WeChat retries) and writes nothing when the store is down', async () => {
    await p.store.close();
    const res = await p.push(ticketFields());
    expect(res.status).toBe(503);
    expect(p.logs.some((l) => l.msg === 'request failed')).toBe(true);
    // Reopened store for afterEach.
    p.store.close = async () => {};
  });

  it('never answers 5xx to garbage', async () => {
    const garbage = [
      '\u0000\u0001\u0002',
      '<xml>'.repeat(30),
      `<xml><Encrypt>${encryptMessage('not xml at all', p.config.encodingAesKeys[0]!, p.config.componentAppid)}</Encrypt></xml>`,
      '<xml><Encrypt><![CDATA[]]></Encrypt></xml>',
    ];
    for (const body of garbage) {
      const res = await p.post('/wechat/component', { timestamp: String(now()), nonce: '1', msg_signature: 'f'.repeat(40) }, body, {
        'content-type': 'application/octet-stream',
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    await expectNothingStored();
  });
});

describe('GET /healthz', () => {
  it('answers 200 before the first ticket, naming the problem, and fresh after it', async () => {
    const p = await startTestPlatform();
    try {
      let res = await fetch(`${p.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'degraded', database: { reachable: true }, ticket: { status: 'missing', ageSeconds: null } });
      await p.push({ AppId: p.config.componentAppid, CreateTime: Math.floor(p.clock.now() / 1000), InfoType: 'component_verify_ticket', ComponentVerifyTicket: 't' });
      p.clock.advance(90_000);
      res = await fetch(`${p.url}/healthz`);
      expect(await res.json()).toMatchObject({ status: 'ok', ticket: { status: 'fresh', ageSeconds: 90 } });
      p.clock.advance(13 * 3600_000);
      expect(await (await fetch(`${p.url}/healthz`)).json()).toMatchObject({ status: 'degraded', ticket: { status: 'expired' } });
    } finally {
      await p.close();
    }
  });
});

describe('the Fastify routes behind the fast path (app.inject)', () => {
  it('answer pushes the same way: success, refusals, oversized bodies', async () => {
    const p = await startTestPlatform({ env: { WXOPEN_BODY_LIMIT_BYTES: '2048' } });
    try {
      const { buildApp } = await import('../../src/server/app.js');
      const { app: injected } = await buildApp({ config: p.config, store: p.store, clock: p.clock, logger: p.context.logger });
      const signed = signPush(
        buildXml({ AppId: p.config.componentAppid, CreateTime: Math.floor(p.clock.now() / 1000), InfoType: 'component_verify_ticket', ComponentVerifyTicket: 'via-inject' }),
        { token: p.config.token, encodingAesKey: p.config.encodingAesKeys[0]!, appid: p.config.componentAppid, timestamp: String(Math.floor(p.clock.now() / 1000)) },
      );
      let res = await injected.inject({ method: 'POST', url: `/wechat/component?${new URLSearchParams(signed.query)}`, payload: signed.body, headers: { 'content-type': 'text/xml' } });
      expect([res.statusCode, res.body]).toEqual([200, 'success']);
      expect((await p.store.getTicket(p.config.componentAppid))?.ticket).toBe('via-inject');
      res = await injected.inject({ method: 'POST', url: `/wechat/component?${new URLSearchParams({ ...signed.query, msg_signature: 'f'.repeat(40) })}`, payload: signed.body });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ reason: 'bad_signature' });
      res = await injected.inject({ method: 'POST', url: '/wechat/authorizer/wx570bc396a51b8ff8?timestamp=1&nonce=1&msg_signature=x', payload: 'x'.repeat(5000) });
      expect(res.statusCode).toBe(413);
      expect(res.json()).toMatchObject({ reason: 'xml_too_large' });
      await injected.close();
    } finally {
      await p.close();
    }
  });
});
