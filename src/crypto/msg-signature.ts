import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * `sha1_hex(concat(sort(parts)))`: msg_signature over [token, timestamp, nonce, Encrypt] and the URL
 * `signature` over [token, timestamp, nonce]. JS's default sort is the bytewise sort WeChat uses for
 * the ASCII strings involved. Timestamps are signed exactly as received, never re-formatted.
 */
export function computeSignature(...parts: string[]): string {
  // `parts` is this call's own rest array: sorted in place, no copy.
  return createHash('sha1').update(parts.sort().join('')).digest('hex');
}

export function computeMsgSignature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return computeSignature(token, timestamp, nonce, encrypt);
}

/** Constant-time comparison of two hex signatures; hand-written because `===` leaks timing. */
export function safeCompare(expected: string, actual: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(actual.toLowerCase());
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

export function verifyMsgSignature(
  msgSignature: string,
  token: string,
  timestamp: string,
  nonce: string,
  encrypt: string,
): boolean {
  return safeCompare(computeMsgSignature(token, timestamp, nonce, encrypt), msgSignature);
}
