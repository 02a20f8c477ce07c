import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeAesKey, isValidEncodingAesKey } from '../../../src/crypto/aes-key.js';
import { jsapiSignature } from '../../../src/crypto/jssdk.js';
import { decryptMessage, encryptMessage } from '../../../src/crypto/message-cipher.js';
import { computeSignature, safeCompare, verifyMsgSignature } from '../../../src/crypto/msg-signature.js';
import { decryptOpenData, OpenDataError } from '../../../src/crypto/open-data.js';
import { buildEncryptedReply, randomNonce, sealMessage, signPush } from '../../../src/crypto/reply.js';
import { SecretBox, SecretBoxError } from '../../../src/crypto/secret-box.js';
import { CryptoError } from '../../../src/errors.js';
import { parseXml } from '../../../src/xml/parse.js';

const KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const APPID = 'wx0c0ffee0c0ffee00';

const reasonOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return err instanceof CryptoError ? err.reason : String(err);
  }
};

describe('EncodingAESKey', () => {
  it('accepts exactly 43 characters of [A-Za-z0-9]', () => {
    expect(isValidEncodingAesKey(KEY)).toBe(true);
    for (const bad of [KEY.slice(1), `${KEY}A`, `${KEY.slice(1)}+`, `${KEY.slice(1)}=`, ` ${KEY.slice(1)}`]) {
      expect(isValidEncodingAesKey(bad), bad).toBe(false);
      expect(reasonOf(() => decodeAesKey(bad)), bad).toBe('illegal_aes_key');
    }
  });

  it('decodes to a 32-byte key whose first 16 bytes are the IV, and passes a decoded key through', () => {
    const k = decodeAesKey(KEY);
    expect(k.key).toHaveLength(32);
    expect(k.iv.equals(k.key.subarray(0, 16))).toBe(true);
    expect(decodeAesKey(k)).toBe(k);
  });
});

describe('message cipher edges', () => {
  it('refuses an empty ciphertext as bad_base64', () => {
    expect(reasonOf(() => decryptMessage('', KEY, APPID))).toBe('bad_base64');
  });

  it('refuses a ciphertext that is not a whole number of AES blocks', () => {
    expect(reasonOf(() => decryptMessage(Buffer.alloc(24).toString('base64'), KEY, APPID))).toBe('bad_block_length');
  });

  it('inspects a ciphertext for any receiver when no appid is expected', () => {
    const enc = encryptMessage('<xml/>', KEY, 'wxother');
    expect(decryptMessage(enc, KEY, undefined)).toEqual({ message: '<xml/>', receiveId: 'wxother' });
    expect(reasonOf(() => decryptMessage(enc, KEY, APPID))).toBe('appid_mismatch');
  });

  it('refuses a random prefix that is not 16 bytes', () => {
    expect(() => encryptMessage('m', KEY, APPID, { random: 'short' })).toThrow(TypeError);
    expect(encryptMessage('m', KEY, APPID, { random: 'r'.repeat(16) })).toBe(encryptMessage('m', KEY, APPID, { random: 'r'.repeat(16) }));
  });

  it('accepts a message of exactly the declared length with an empty receiver', () => {
    const enc = encryptMessage('hello', KEY, '');
    expect(decryptMessage(enc, KEY, '')).toEqual({ message: 'hello', receiveId: '' });
  });
});

describe('signatures', () => {
  it('signs the sorted concatenation of its parts, independent of their order', () => {
    expect(computeSignature('b', 'a', 'c')).toBe(computeSignature('c', 'b', 'a'));
    expect(computeSignature('a', 'b')).not.toBe(computeSignature('ab', ''.padEnd(1, 'c')));
  });

  it('compares in constant time, refusing different lengths and different values, ignoring hex case', () => {
    const s = computeSignature('x');
    expect(safeCompare(s, s.toUpperCase())).toBe(true);
    expect(safeCompare(s, s.slice(0, -1))).toBe(false);
    expect(safeCompare(s, `${s.slice(0, -1)}${s.endsWith('0') ? '1' : '0'}`)).toBe(false);
    // A difference in the first character only, or the last only, is found (no early exit, no skipped end).
    expect(safeCompare(s, `${s.startsWith('0') ? '1' : '0'}${s.slice(1)}`)).toBe(false);
    // Exactly A–Z are read as lower case: '@' and '[' sit beside them and would become '`' and '{'.
    expect(safeCompare('az', 'AZ')).toBe(true);
    expect(safeCompare('`', '@')).toBe(false);
    expect(safeCompare('{', '[')).toBe(false);
    expect(safeCompare('a', 'b')).toBe(false);
    expect(safeCompare('', '')).toBe(true);
    expect(safeCompare('ab', 'abc')).toBe(false);
    expect(verifyMsgSignature(computeSignature('t', '1', 'n', 'e'), 't', '1', 'n', 'e')).toBe(true);
    expect(verifyMsgSignature(computeSignature('t', '1', 'n', 'e'), 't', '1', 'n', 'E')).toBe(false);
  });

  it('JS-SDK: drops everything from # in the URL and signs the raw values in key order', () => {
    const a = jsapiSignature({ jsapiTicket: 'T', noncestr: 'N', timestamp: 1, url: 'https://x.example/p?q=1#frag#more' });
    expect(a.string1).toBe('jsapi_ticket=T&noncestr=N&timestamp=1&url=https://x.example/p?q=1');
    const b = jsapiSignature({ jsapiTicket: 'T', noncestr: 'N', timestamp: '1', url: 'https://x.example/p?q=1' });
    expect(b).toEqual(a);
    expect(a.signature).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('sealing and pushes', () => {
  it('sealMessage signs exactly what it emits; randomNonce is a decimal uint32', () => {
    const s = sealMessage('<xml/>', { token: 'tok', encodingAesKey: KEY, appid: APPID, timestamp: '100', nonce: 'n1' });
    expect(s.timestamp).toBe('100');
    expect(s.nonce).toBe('n1');
    expect(verifyMsgSignature(s.msgSignature, 'tok', '100', 'n1', s.encrypt)).toBe(true);
    expect(decryptMessage(s.encrypt, KEY, APPID).message).toBe('<xml/>');
    const d = sealMessage('<xml/>', { token: 'tok', encodingAesKey: KEY, appid: APPID });
    expect(Math.abs(Number(d.timestamp) - Date.now() / 1000)).toBeLessThan(5);
    expect(d.nonce).toMatch(/^\d{1,10}$/);
    expect(Number(randomNonce())).toBeLessThan(2 ** 32);
  });

  it('buildEncryptedReply emits Encrypt, MsgSignature, a numeric TimeStamp and Nonce', () => {
    const xml = buildEncryptedReply('<xml><Content>hi</Content></xml>', { token: 'tok', encodingAesKey: KEY, appid: APPID, timestamp: '123', nonce: 'nn' });
    expect(xml).toContain('<TimeStamp>123</TimeStamp>');
    const f = parseXml(xml) as Record<string, string>;
    expect(f.Nonce).toBe('nn');
    expect(verifyMsgSignature(f.MsgSignature!, 'tok', '123', 'nn', f.Encrypt!)).toBe(true);
    expect(decryptMessage(f.Encrypt!, KEY, APPID).message).toBe('<xml><Content>hi</Content></xml>');
  });

  it('signPush builds WeChat’s query (URL signature without Encrypt) and the envelope of either URL', () => {
    const o = { token: 'tok', encodingAesKey: KEY, appid: APPID, timestamp: '5', nonce: '7' };
    const component = signPush('<xml/>', o);
    expect(Object.keys(component.query).sort()).toEqual(['encrypt_type', 'msg_signature', 'nonce', 'signature', 'timestamp']);
    expect(component.query).toMatchObject({ signature: computeSignature('tok', '5', '7'), timestamp: '5', nonce: '7', encrypt_type: 'aes' });
    const env = parseXml(component.body) as Record<string, string>;
    expect(env.AppId).toBe(APPID);
    expect(env.ToUserName).toBeUndefined();
    expect(verifyMsgSignature(component.query.msg_signature!, 'tok', '5', '7', env.Encrypt!)).toBe(true);
    const message = signPush('<xml/>', { ...o, toUserName: 'gh_123', openid: 'oUser' });
    expect(message.query.openid).toBe('oUser');
    const menv = parseXml(message.body) as Record<string, string>;
    expect(menv.ToUserName).toBe('gh_123');
    expect(menv.AppId).toBeUndefined();
  });
});

describe('open data', () => {
  const sessionKey = Buffer.alloc(16, 7).toString('base64');
  const iv = Buffer.alloc(16, 9).toString('base64');
  const enc = (plain: string) => {
    const c = createCipheriv('aes-128-cbc', Buffer.alloc(16, 7), Buffer.alloc(16, 9));
    return Buffer.concat([c.update(plain, 'utf8'), c.final()]).toString('base64');
  };
  const reason = (fn: () => unknown) => {
    try {
      fn();
      return 'ok';
    } catch (err) {
      expect(err).toBeInstanceOf(OpenDataError);
      return (err as Error).message;
    }
  };

  it('returns the data whose watermark names the mini program', () => {
    expect(decryptOpenData(enc('{"phone":"1","watermark":{"appid":"wxmp"}}'), iv, sessionKey, 'wxmp')).toEqual({ phone: '1', watermark: { appid: 'wxmp' } });
  });

  it('refuses a wrong watermark, JSON that is not an object, non-JSON, a bad key or IV length', () => {
    expect(reason(() => decryptOpenData(enc('{"watermark":{"appid":"wxother"}}'), iv, sessionKey, 'wxmp'))).toContain('watermark');
    expect(reason(() => decryptOpenData(enc('{}'), iv, sessionKey, 'wxmp'))).toContain('watermark');
    expect(reason(() => decryptOpenData(enc('null'), iv, sessionKey, 'wxmp'))).toContain('watermark');
    expect(reason(() => decryptOpenData(enc('not json'), iv, sessionKey, 'wxmp'))).toContain('not JSON');
    expect(reason(() => decryptOpenData(enc('{}'), iv, Buffer.alloc(15).toString('base64'), 'wxmp'))).toContain('16 bytes');
    expect(reason(() => decryptOpenData(enc('{}'), Buffer.alloc(17).toString('base64'), sessionKey, 'wxmp'))).toContain('16 bytes');
    expect(reason(() => decryptOpenData(enc('{}'), iv, Buffer.alloc(16, 1).toString('base64'), 'wxmp'))).toMatch(/bad padding|not JSON/);
  });
});

describe('SecretBox', () => {
  const k1 = 'a'.repeat(64);
  const k2 = 'b'.repeat(64);

  it('needs at least one 32-byte key', () => {
    expect(() => new SecretBox([])).toThrow(SecretBoxError);
    expect(() => new SecretBox(['ab'])).toThrow(SecretBoxError);
    expect(() => new SecretBox([k1, 'ab'])).toThrow(SecretBoxError);
  });

  it('marks values sealed with an older key as stale, and current ones as not', () => {
    const old = new SecretBox([k2]).seal('secret', 'row');
    const box = new SecretBox([k1, k2]);
    expect(box.isStale(old)).toBe(true);
    expect(box.isStale(box.seal('secret', 'row'))).toBe(false);
    expect(box.open(old, 'row')).toBe('secret');
  });

  it('refuses values not in the v1 format, naming why', () => {
    const box = new SecretBox([k1]);
    const sealed = box.seal('s', 'r');
    const [, kid, iv, tag, ct] = sealed.split('.');
    for (const bad of [`v2.${kid}.${iv}.${tag}.${ct}`, `v1..${iv}.${tag}.${ct}`, `v1.${kid}.${iv}.${tag}`, 'plain']) {
      expect(() => box.open(bad, 'r'), bad).toThrow(/v1 sealed format/);
    }
    expect(() => box.open(`v1.00000000.${iv}.${tag}.${ct}`, 'r')).toThrow(/not configured/);
    expect(box.open(sealed, 'r')).toBe('s');
  });
});
