import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeAesKey } from '../../../src/crypto/aes-key.js';
import { jsapiSignature } from '../../../src/crypto/jssdk.js';
import { decryptMessage, encryptMessage } from '../../../src/crypto/message-cipher.js';
import { decryptOpenData, OpenDataError } from '../../../src/crypto/open-data.js';
import { SecretBox, SecretBoxError } from '../../../src/crypto/secret-box.js';
import { CryptoError } from '../../../src/errors.js';

const KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

/** Encrypts a hand-made WXBizMsgCrypt plaintext (no padding added), as a sender with a bug or a forger would. */
function sealRaw(plain: Buffer): string {
  const { key, iv } = decodeAesKey(KEY);
  const c = createCipheriv('aes-256-cbc', key, iv).setAutoPadding(false);
  return Buffer.concat([c.update(plain), c.final()]).toString('base64');
}

/** random16 ‖ uint32_be(declared) ‖ body. */
function header(declared: number, body: string): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(declared);
  return Buffer.concat([Buffer.alloc(16, 0x61), len, Buffer.from(body)]);
}

const failure = (fn: () => unknown): CryptoError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof CryptoError) return err;
    throw err;
  }
  throw new Error('expected a CryptoError');
};

describe('decryptMessage: plaintexts WeChat never sends', () => {
  it('refuses padding bytes above 32 even when every one of them is equal (WXBizMsgCrypt pads to 32, not further)', () => {
    // 31 bytes of content, then 33 bytes of 0x21: valid PKCS#7 for a 64-byte block size, not for WeChat's 32.
    const plain = Buffer.concat([header(0, 'wx012345678'), Buffer.alloc(33, 33)]);
    expect(failure(() => decryptMessage(sealRaw(plain), KEY, 'wx012345678')).reason).toBe('bad_padding');
  });

  it('a plaintext that is all padding has no header: bad_length, not bad_padding', () => {
    for (const n of [16, 32]) {
      const e = failure(() => decryptMessage(sealRaw(Buffer.alloc(n, n)), KEY, undefined));
      expect(e.reason, `${n} bytes of ${n}`).toBe('bad_length');
      expect(e.message).toContain('plaintext shorter than its header');
    }
  });

  it('accepts a header with nothing after it: the empty message for the empty receiver', () => {
    const enc = encryptMessage('', KEY, '');
    expect(decryptMessage(enc, KEY, '')).toEqual({ message: '', receiveId: '' });
  });

  it('refuses a declared length longer than what follows the header, naming both', () => {
    // 23 bytes + 9 bytes of padding: declares 10 message bytes, carries 3.
    const plain = Buffer.concat([header(10, 'abc'), Buffer.alloc(9, 9)]);
    const e = failure(() => decryptMessage(sealRaw(plain), KEY, undefined));
    expect(e.reason).toBe('bad_length');
    expect(e.message).toContain('declares 10 bytes, has 3');
    // Declaring exactly what is there is fine.
    const exact = Buffer.concat([header(3, 'abc'), Buffer.alloc(9, 9)]);
    expect(decryptMessage(sealRaw(exact), KEY, '')).toEqual({ message: 'abc', receiveId: '' });
  });

  it('says how many bytes a ciphertext of the wrong block length has, and the next ciphertext still decrypts', () => {
    expect(failure(() => decryptMessage(Buffer.alloc(24).toString('base64'), KEY, undefined)).message).toContain('24 bytes');
    // The decipher is shared by every push: a refused one must leave nothing behind for the next.
    const enc = encryptMessage('<xml>after</xml>', KEY, 'wx012345678');
    expect(decryptMessage(enc, KEY, 'wx012345678').message).toBe('<xml>after</xml>');
  });

  it('refuses the empty string and characters outside base64 as bad_base64, whatever they would decode to', () => {
    expect(failure(() => decryptMessage('', KEY, undefined)).reason).toBe('bad_base64');
    // Node's decoder skips '!', '-' and '_': these would decode to 0, 3 or 24 bytes and fail later for another reason.
    for (const bad of ['!!!!', '-_-_', `${'A'.repeat(28)}!!!!`, `${'A'.repeat(31)}_`]) {
      expect(failure(() => decryptMessage(bad, KEY, undefined)).reason, bad).toBe('bad_base64');
    }
  });

  it('accepts base64 whose unused low bits are set (not what an encoder writes, still the same bytes)', () => {
    const enc = encryptMessage('<xml>bits</xml>', KEY, 'wx012345678');
    // 32·k bytes end in '=' or '==': the last data character carries 2 or 4 unused bits.
    const pads = enc.endsWith('==') ? 2 : 1;
    expect(enc.endsWith('=')).toBe(true);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = enc.at(-1 - pads)!;
    const loose = `${enc.slice(0, -1 - pads)}${alphabet[alphabet.indexOf(last) | (pads === 2 ? 15 : 3)]}${'='.repeat(pads)}`;
    expect(loose).not.toBe(enc);
    expect(Buffer.from(loose, 'base64').equals(Buffer.from(enc, 'base64'))).toBe(true);
    expect(decryptMessage(loose, KEY, 'wx012345678').message).toBe('<xml>bits</xml>');
  });

  it('explains a refused EncodingAESKey and a random prefix of the wrong size', () => {
    const e = failure(() => decodeAesKey('short'));
    expect(e.reason).toBe('illegal_aes_key');
    expect(e.message).toContain('expected 43 characters [A-Za-z0-9]');
    expect(() => encryptMessage('m', KEY, 'wx', { random: 'short' })).toThrow(/random prefix must be 16 bytes/);
  });
});

describe('JS-SDK signature', () => {
  it('drops a fragment that starts the URL', () => {
    expect(jsapiSignature({ jsapiTicket: 'T', noncestr: 'N', timestamp: 1, url: '#only-fragment' }).string1).toBe('jsapi_ticket=T&noncestr=N&timestamp=1&url=');
  });
});

describe('error identity', () => {
  it('open data and secret box errors carry their stable codes, and a failed authentication keeps its cause', () => {
    const sessionKey = Buffer.alloc(16, 7).toString('base64');
    let open: unknown;
    try {
      decryptOpenData('', Buffer.alloc(16).toString('base64'), sessionKey, 'wxmp');
    } catch (err) {
      open = err;
    }
    expect(open).toBeInstanceOf(OpenDataError);
    expect((open as OpenDataError).code).toBe('WXO_ERR_OPEN_DATA');

    expect(() => new SecretBox([])).toThrow(/at least one secret key is required/);
    const box = new SecretBox(['a'.repeat(64)]);
    const [v, kid, iv, tag, ct] = box.seal('secret', 'row-1').split('.');
    let sealedErr: unknown;
    try {
      box.open([v, kid, iv, tag, ct].join('.'), 'row-2');
    } catch (err) {
      sealedErr = err;
    }
    expect(sealedErr).toBeInstanceOf(SecretBoxError);
    expect((sealedErr as SecretBoxError).code).toBe('WXO_ERR_SECRET_BOX');
    expect((sealedErr as Error).message).toContain('failed authentication');
    expect((sealedErr as Error).cause).toBeInstanceOf(Error);
  });
});
