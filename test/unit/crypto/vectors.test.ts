import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildEncryptedReply,
  computeMsgSignature,
  decodeAesKey,
  decryptMessage,
  decryptOpenData,
  encryptMessage,
  jsapiSignature,
  OpenDataError,
  verifyMsgSignature,
} from '../../../src/crypto/index.js';
import { CryptoError } from '../../../src/errors.js';
import { parseXml } from '../../../src/xml/parse.js';
import { vectors } from '../../helpers/vectors.js';

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof CryptoError) return err.reason;
    throw err;
  }
  return 'no error';
}

/** AES-256-CBC of an arbitrary (already block-aligned) buffer, to build malformed plaintexts. */
function rawEncrypt(plain: Buffer, encodingAesKey: string): string {
  const { key, iv } = decodeAesKey(encodingAesKey);
  const c = createCipheriv('aes-256-cbc', key, iv).setAutoPadding(false);
  return Buffer.concat([c.update(plain), c.final()]).toString('base64');
}

const KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

describe('official decrypt vectors', () => {
  it.each(vectors.decrypt_vectors)('$id: signature and plaintext', (v) => {
    expect(computeMsgSignature(v.token, v.timestamp, v.nonce, v.encrypt)).toBe(v.expected_msg_signature);
    expect(verifyMsgSignature(v.expected_msg_signature, v.token, v.timestamp, v.nonce, v.encrypt)).toBe(true);
    const { message, receiveId } = decryptMessage(v.encrypt, v.encoding_aes_key, v.appid);
    expect(receiveId).toBe(v.appid);
    for (const part of v.expected_contains) expect(message).toContain(part);
    if (v.derived_plaintext !== undefined) expect(message).toBe(v.derived_plaintext);
  });

  it.each(vectors.decrypt_vectors)('$id: tampered variants are refused', (v) => {
    // Any change to Encrypt, timestamp or nonce breaks the signature.
    const flipped = v.encrypt.slice(0, 10) + (v.encrypt[10] === 'A' ? 'B' : 'A') + v.encrypt.slice(11);
    expect(verifyMsgSignature(v.expected_msg_signature, v.token, v.timestamp, v.nonce, flipped)).toBe(false);
    expect(verifyMsgSignature(v.expected_msg_signature, v.token, `${v.timestamp}1`, v.nonce, v.encrypt)).toBe(false);
    expect(verifyMsgSignature(v.expected_msg_signature.toUpperCase(), v.token, v.timestamp, v.nonce, v.encrypt)).toBe(true);
    expect(verifyMsgSignature(v.expected_msg_signature.slice(1), v.token, v.timestamp, v.nonce, v.encrypt)).toBe(false);
    // Wrong receiveId.
    expect(reasonOf(() => decryptMessage(v.encrypt, v.encoding_aes_key, `${v.appid}x`))).toBe('appid_mismatch');
    // Truncated ciphertext (one block short) is no longer valid base64 of whole blocks or padding.
    const bytes = Buffer.from(v.encrypt, 'base64');
    expect(reasonOf(() => decryptMessage(bytes.subarray(0, bytes.length - 1).toString('base64'), v.encoding_aes_key, v.appid))).toBe(
      'bad_block_length',
    );
    // A modified last block garbles the padding (or, rarely, the appid): never accepted.
    const garbled = Buffer.from(bytes);
    garbled[garbled.length - 20] = garbled[garbled.length - 20]! ^ 0xff;
    expect(['bad_padding', 'appid_mismatch', 'bad_length']).toContain(
      reasonOf(() => decryptMessage(garbled.toString('base64'), v.encoding_aes_key, v.appid)),
    );
  });
});

describe('official encrypt vectors (fixed random prefix)', () => {
  it.each(vectors.encrypt_vectors)('$id', (v) => {
    const encrypt = encryptMessage(v.plaintext, v.encoding_aes_key, v.appid, { random: v.random_prefix });
    expect(encrypt).toBe(v.expected_encrypt);
    expect(decryptMessage(encrypt, v.encoding_aes_key, v.appid).message).toBe(v.plaintext);
    if (v.expected_msg_signature !== undefined) {
      expect(computeMsgSignature(v.token, v.timestamp!, v.nonce!, encrypt)).toBe(v.expected_msg_signature);
      const reply = parseXml(
        buildEncryptedReply(v.plaintext, {
          token: v.token,
          encodingAesKey: v.encoding_aes_key,
          appid: v.appid,
          timestamp: v.timestamp!,
          nonce: v.nonce!,
          random: v.random_prefix,
        }),
      );
      expect(reply).toEqual({ Encrypt: v.expected_encrypt, MsgSignature: v.expected_msg_signature, TimeStamp: v.timestamp, Nonce: v.nonce });
    }
  });
});

describe('negative vectors', () => {
  it.each(vectors.negative_vectors)('$id → $expect', (v) => {
    if (v.expect === 'signature_mismatch') {
      expect(verifyMsgSignature(v.msg_signature, v.token, v.timestamp, v.nonce, v.encrypt)).toBe(false);
    } else {
      expect(verifyMsgSignature(v.msg_signature, v.token, v.timestamp, v.nonce, v.encrypt)).toBe(true);
      expect(reasonOf(() => decryptMessage(v.encrypt, v.encoding_aes_key!, v.appid!))).toBe('appid_mismatch');
    }
  });
});

describe('strict decrypt: each malformation has its own reason', () => {
  const appid = 'wxb11529c136998cb6';
  const header = (len: number) => {
    const h = Buffer.alloc(20, 0x61);
    h.writeUInt32BE(len, 16);
    return h;
  };
  const pad = (content: Buffer) => {
    const n = 32 - (content.length % 32);
    return Buffer.concat([content, Buffer.alloc(n, n)]);
  };

  it('illegal AES key', () => {
    expect(reasonOf(() => decodeAesKey('short'))).toBe('illegal_aes_key');
    expect(reasonOf(() => decodeAesKey(`${KEY.slice(0, 42)}!`))).toBe('illegal_aes_key');
  });
  it('invalid base64', () => {
    expect(reasonOf(() => decryptMessage('not*base64*at*all!!', KEY, appid))).toBe('bad_base64');
    expect(reasonOf(() => decryptMessage('', KEY, appid))).toBe('bad_base64');
    expect(reasonOf(() => decryptMessage('QUJD', KEY, appid))).toBe('bad_block_length');
    expect(reasonOf(() => decryptMessage('QUJDRA', KEY, appid))).toBe('bad_base64');
  });
  it('padding byte 0, 33, and unequal pad bytes', () => {
    const body = Buffer.concat([header(3), Buffer.from('abc'), Buffer.from(appid)]);
    const zero = Buffer.concat([body, Buffer.alloc(64 - body.length, 0)]);
    expect(reasonOf(() => decryptMessage(rawEncrypt(zero, KEY), KEY, appid))).toBe('bad_padding');
    const big = Buffer.concat([body, Buffer.alloc(64 - body.length, 33)]);
    expect(reasonOf(() => decryptMessage(rawEncrypt(big, KEY), KEY, appid))).toBe('bad_padding');
    const uneven = pad(body);
    uneven[uneven.length - 2] = 1;
    expect(reasonOf(() => decryptMessage(rawEncrypt(uneven, KEY), KEY, appid))).toBe('bad_padding');
  });
  it('declared length beyond the plaintext, and a plaintext shorter than its header', () => {
    const body = Buffer.concat([header(400), Buffer.from('abc'), Buffer.from(appid)]);
    expect(reasonOf(() => decryptMessage(rawEncrypt(pad(body), KEY), KEY, appid))).toBe('bad_length');
    expect(reasonOf(() => decryptMessage(rawEncrypt(pad(Buffer.from('tiny')), KEY), KEY, appid))).toBe('bad_length');
  });
  it('a plaintext that is already a multiple of 32 gets a full block of padding 32', () => {
    const msg = 'x'.repeat(32 - 20 - appid.length + 32);
    const encrypted = Buffer.from(encryptMessage(msg, KEY, appid, { random: 'aaaabbbbccccdddd' }), 'base64');
    expect(encrypted.length).toBe(96);
    expect(decryptMessage(encrypted.toString('base64'), KEY, appid).message).toBe(msg);
  });
  it('round-trips CJK and emoji by byte length', () => {
    const msg = '<xml><Content><![CDATA[中文 😀 ]]></Content></xml>';
    expect(decryptMessage(encryptMessage(msg, KEY, appid), KEY, appid).message).toBe(msg);
  });
});

describe('JS-SDK signature vectors', () => {
  it.each(vectors.jssdk_signature_vectors)('$id', (v) => {
    const r = jsapiSignature({ jsapiTicket: v.jsapi_ticket, noncestr: v.noncestr, timestamp: v.timestamp, url: v.url });
    expect(r.string1).toBe(v.expected_string1);
    expect(r.signature).toBe(v.expected_signature);
    expect(jsapiSignature({ jsapiTicket: v.jsapi_ticket, noncestr: v.noncestr, timestamp: v.timestamp, url: `${v.url}#frag` }).signature).toBe(
      v.expected_signature,
    );
  });
});

describe('mini-program open data vectors', () => {
  it.each(vectors.open_data_vectors)('$id', (v) => {
    expect(decryptOpenData(v.encrypted_data, v.iv, v.session_key, v.appid)).toEqual(v.expected_json);
    expect(() => decryptOpenData(v.encrypted_data, v.iv, v.session_key, 'wx0000000000000000')).toThrow(OpenDataError);
    const otherKey = Buffer.alloc(16, 7).toString('base64');
    expect(() => decryptOpenData(v.encrypted_data, v.iv, otherKey, v.appid)).toThrow(OpenDataError);
  });
});
