import { hash } from 'node:crypto';

/**
 * `sha1_hex(concat(sort(parts)))`: msg_signature over [token, timestamp, nonce, Encrypt] and the URL
 * `signature` over [token, timestamp, nonce]. JS's default sort is the bytewise sort WeChat uses for
 * the ASCII strings involved. Timestamps are signed exactly as received, never re-formatted.
 */
export function computeSignature(...parts: string[]): string {
  // `parts` is this call's own rest array: sorted in place, no copy. One-shot hash: no Hash object (and its
  // weak handle for the next scavenge) per push, ~0.4 µs less than createHash in bench/push.ts's case.
  return hash('sha1', parts.sort().join(''), 'hex');
}

export function computeMsgSignature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return computeSignature(token, timestamp, nonce, encrypt);
}

/**
 * Constant-time comparison of our hex signature with a received one, ASCII letters compared without case.
 * Hand-written because `===` leaks timing and it is on every push: two buffers and a lower-cased copy per
 * compare (for crypto.timingSafeEqual) cost more than the loop. Every character is visited, whatever differs.
 */
export function safeCompare(expected: string, actual: string): boolean {
  if (expected.length !== actual.length) return false;
  let diff = 0;
  // Stryker disable next-line EqualityOperator: one index past the end compares NaN with NaN, adding 0 (docs/mutation-survivors.md).
  for (let i = 0; i < expected.length; i++) {
    const c = actual.charCodeAt(i);
    // A-Z read as a-z (what toLowerCase does to ASCII); any other character compares as it is.
    diff |= expected.charCodeAt(i) ^ (c >= 65 && c <= 90 ? c + 32 : c);
  }
  return diff === 0;
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
