import { createDecipheriv } from 'node:crypto';
import { WxOpenError } from '../errors.js';

export class OpenDataError extends WxOpenError {
  readonly code = 'WXO_ERR_OPEN_DATA';
  override readonly statusCode = 400;
  constructor(detail: string) {
    super(`cannot decrypt mini-program open data (${detail}); the session_key is stale: call wx.login again`);
  }
}

/**
 * Decrypts mini-program `encryptedData` (spec 6.1b): AES-128-CBC, key = session_key, 16-byte PKCS#7.
 * The watermark appid must be the mini program's, so data from another app cannot be replayed.
 */
export function decryptOpenData(
  encryptedData: string,
  iv: string,
  sessionKey: string,
  appid: string,
): Record<string, unknown> {
  const key = Buffer.from(sessionKey, 'base64');
  const ivBuf = Buffer.from(iv, 'base64');
  if (key.length !== 16 || ivBuf.length !== 16) throw new OpenDataError('session_key and iv must be 16 bytes');
  let text: string;
  try {
    const d = createDecipheriv('aes-128-cbc', key, ivBuf);
    text = Buffer.concat([d.update(Buffer.from(encryptedData, 'base64')), d.final()]).toString('utf8');
  } catch {
    throw new OpenDataError('bad padding');
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new OpenDataError('plaintext is not JSON');
  }
  // Only an object can carry a watermark: null, numbers, strings and arrays all fail this one check.
  const watermark = (data as { watermark?: { appid?: unknown } } | null)?.watermark;
  if (watermark?.appid !== appid) {
    throw new OpenDataError('watermark appid does not match');
  }
  return data as Record<string, unknown>;
}
