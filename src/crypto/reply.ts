import { buildXml } from '../xml/build.js';
import type { AesKey } from './aes-key.js';
import { encryptMessage } from './message-cipher.js';
import { randomUint32 } from './random-pool.js';
import { computeMsgSignature, computeSignature } from './msg-signature.js';

export interface SealOptions {
  token: string;
  encodingAesKey: string | AesKey;
  /** receiveId: the component appid for both of a platform's URLs. */
  appid: string;
  timestamp?: string;
  nonce?: string;
  /** Fixed random prefix for test vectors only. */
  random?: Buffer | string;
}

export interface SealedMessage {
  encrypt: string;
  msgSignature: string;
  timestamp: string;
  nonce: string;
}

export function randomNonce(): string {
  return String(randomUint32());
}

/** Encrypts and signs a message; MsgSignature is computed over exactly the values emitted. */
export function sealMessage(message: string, options: SealOptions): SealedMessage {
  const timestamp = options.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = options.nonce ?? randomNonce();
  const encrypt = encryptMessage(message, options.encodingAesKey, options.appid, { random: options.random });
  return { encrypt, msgSignature: computeMsgSignature(options.token, timestamp, nonce, encrypt), timestamp, nonce };
}

/** The encrypted passive reply of spec 1.3: Encrypt, MsgSignature, TimeStamp, Nonce. */
export function buildEncryptedReply(replyXml: string, options: SealOptions): string {
  const s = sealMessage(replyXml, options);
  return buildXml({ Encrypt: s.encrypt, MsgSignature: s.msgSignature, TimeStamp: Number(s.timestamp), Nonce: s.nonce });
}

export interface SignedPush {
  /** Query string parameters WeChat sends: signature, timestamp, nonce, encrypt_type, msg_signature. */
  query: Record<string, string>;
  /** The XML envelope. */
  body: string;
}

/**
 * Builds a push exactly as WeChat sends it, for the sandbox, the CLI and tests (like stripe's
 * `generateTestHeaderString`). The envelope is `<AppId>` for the authorization-event URL and
 * `<ToUserName>` for the message URL.
 */
export function signPush(
  message: string,
  options: SealOptions & { toUserName?: string; openid?: string },
): SignedPush {
  const s = sealMessage(message, options);
  const envelope = options.toUserName === undefined ? { AppId: options.appid } : { ToUserName: options.toUserName };
  const query: Record<string, string> = {
    signature: computeSignature(options.token, s.timestamp, s.nonce),
    timestamp: s.timestamp,
    nonce: s.nonce,
    encrypt_type: 'aes',
    msg_signature: s.msgSignature,
  };
  if (options.openid !== undefined) query.openid = options.openid;
  return { query, body: buildXml({ ...envelope, Encrypt: s.encrypt }) };
}
