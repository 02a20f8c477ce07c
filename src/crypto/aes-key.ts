import { CryptoError } from '../errors.js';

/** A decoded EncodingAESKey: the AES-256 key and its IV (the key's first 16 bytes, per WXBizMsgCrypt). */
export interface AesKey {
  readonly key: Buffer;
  readonly iv: Buffer;
}

const ENCODING_AES_KEY = /^[A-Za-z0-9]{43}$/;

export function isValidEncodingAesKey(encodingAesKey: string): boolean {
  return ENCODING_AES_KEY.test(encodingAesKey);
}

/** Decodes the 43-character EncodingAESKey; anything that is not 32 bytes is WeChat's -40004. */
export function decodeAesKey(encodingAesKey: string | AesKey): AesKey {
  if (typeof encodingAesKey !== 'string') return encodingAesKey;
  if (!isValidEncodingAesKey(encodingAesKey)) {
    throw new CryptoError('illegal_aes_key', 'expected 43 characters [A-Za-z0-9]');
  }
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  // Stryker disable next-line ConditionalExpression: 43 characters of [A-Za-z0-9] and '=' always decode to 32 bytes (docs/mutation-survivors.md).
  if (key.length !== 32) throw new CryptoError('illegal_aes_key');
  return { key, iv: key.subarray(0, 16) };
}
