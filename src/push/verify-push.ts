import { decodeAesKey, type AesKey } from '../crypto/aes-key.js';
import { decryptMessage } from '../crypto/message-cipher.js';
import { safeCompare, computeMsgSignature } from '../crypto/msg-signature.js';
import { CryptoError, XmlError, type CryptoFailure } from '../errors.js';
import { parseXml, type XmlObject } from '../xml/parse.js';

export type PushFailure =
  | 'missing_params'
  | 'xml_malformed'
  | 'xml_forbidden'
  | 'xml_too_large'
  | 'missing_encrypt'
  | 'stale'
  | CryptoFailure;

export interface PushCredentials {
  token: string;
  /** Current EncodingAESKey first, then previous ones still accepted during a rotation. */
  aesKeys: readonly (string | AesKey)[];
  /** receiveId every plaintext must end with: the component appid. */
  appid: string;
}

export interface OpenPushOptions extends PushCredentials {
  nowSeconds: number;
  /** A push whose timestamp differs from now by more than this is refused as a replay. */
  maxSkewSeconds: number;
  maxBodyLength?: number;
}

export interface OpenedPush {
  ok: true;
  /** Decrypted inner XML, exactly as WeChat sent it. */
  plaintext: string;
  fields: XmlObject;
  envelope: XmlObject;
  timestamp: string;
  nonce: string;
  msgSignature: string;
}

export interface RefusedPush {
  ok: false;
  reason: PushFailure;
  detail: string;
}

/** The envelope is `<xml>` with ToUserName or AppId and Encrypt; room for a few unknown extras. */
const ENVELOPE_MAX_NODES = 16;
const STRING_PARAM = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128;

/**
 * Verifies and decrypts one push (either of the platform's URLs). Pure: the caller supplies the clock,
 * so replay windows are testable. Returns a result instead of throwing so the reason drives the HTTP
 * status, the log field and the metric label in one place.
 */
export function openPush(
  query: Record<string, unknown>,
  body: string,
  options: OpenPushOptions,
): OpenedPush | RefusedPush {
  const { timestamp, nonce, msg_signature: msgSignature } = query;
  if (!STRING_PARAM(timestamp) || !STRING_PARAM(nonce) || !STRING_PARAM(msgSignature)) {
    return refuse('missing_params', 'timestamp, nonce and msg_signature are required in the query');
  }
  if (!/^\d{1,12}$/.test(timestamp)) return refuse('missing_params', 'timestamp is not a decimal number');
  const skew = Math.abs(options.nowSeconds - Number(timestamp));
  if (skew > options.maxSkewSeconds) {
    return refuse('stale', `timestamp is ${skew}s away from now (window ${options.maxSkewSeconds}s)`);
  }
  try {
    // Read before anything is authenticated: shallow and few nodes, so any body costs one linear pass.
    const envelope = parseXml(body, { maxLength: options.maxBodyLength, maxDepth: 2, maxNodes: ENVELOPE_MAX_NODES });
    const encrypt = envelope.Encrypt;
    if (typeof encrypt !== 'string' || encrypt === '') return refuse('missing_encrypt', 'the body has no <Encrypt>');
    // Signature first: nothing unauthenticated reaches the cipher.
    if (!safeCompare(computeMsgSignature(options.token, timestamp, nonce, encrypt), msgSignature)) {
      return refuse('bad_signature', 'msg_signature does not match token, timestamp, nonce and Encrypt');
    }
    const plaintext = decryptWithAnyKey(encrypt, options.aesKeys, options.appid);
    const fields = parseXml(plaintext, { maxLength: options.maxBodyLength });
    return { ok: true, plaintext, fields, envelope, timestamp, nonce, msgSignature };
  } catch (err) {
    if (err instanceof CryptoError) return refuse(err.reason, err.message);
    if (err instanceof XmlError) return refuse(err.reason, err.message);
    throw err;
  }
}

function decryptWithAnyKey(encrypt: string, keys: readonly (string | AesKey)[], appid: string): string {
  let first: unknown;
  for (const key of keys) {
    try {
      return decryptMessage(encrypt, decodeAesKey(key), appid).message;
    } catch (err) {
      first ??= err;
    }
  }
  throw first ?? new CryptoError('illegal_aes_key', 'no EncodingAESKey configured');
}

function refuse(reason: PushFailure, detail: string): RefusedPush {
  return { ok: false, reason, detail };
}
