import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The `state` carried in the authorization link's `redirect_uri`: `<expiry seconds>.<nonce>.<mac>`,
 * HMAC-SHA256 over the component appid, expiry and nonce under a key derived from WXOPEN_SECRET_KEY.
 * It proves a callback comes from a link this platform made (and rate-limited), so a forged callback
 * is refused before it can spend an `api_query_auth` call. Hand-written because it is small and
 * security-critical: one HMAC, a constant-time compare, no parsing beyond one anchored regex.
 */
export type StateRefusal = 'missing' | 'malformed' | 'bad_mac' | 'expired';
export type StateCheck = { ok: true; nonce: string; expiresAtMs: number } | { ok: false; reason: StateRefusal };

const FORMAT = /^(\d{9,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;
const INFO = 'wxopen/authorize-state/v1';

/** One key per secret key (current first), so links made before a key rotation still verify. */
export function deriveStateKeys(hexSecretKeys: readonly string[]): Buffer[] {
  return hexSecretKeys.map((hex) => Buffer.from(hkdfSync('sha256', Buffer.from(hex, 'hex'), Buffer.alloc(0), INFO, 32)));
}

export function signState(keys: readonly Buffer[], componentAppid: string, nowMs: number, ttlMs: number): string {
  const exp = Math.floor((nowMs + ttlMs) / 1000);
  const nonce = randomBytes(16).toString('base64url');
  return `${exp}.${nonce}.${mac(keys[0]!, componentAppid, exp, nonce).toString('base64url')}`;
}

export function verifyState(keys: readonly Buffer[], componentAppid: string, state: unknown, nowMs: number): StateCheck {
  if (typeof state !== 'string' || state === '') return { ok: false, reason: 'missing' };
  const m = FORMAT.exec(state);
  if (!m) return { ok: false, reason: 'malformed' };
  const exp = Number(m[1]);
  // Compared as text, not decoded bytes: base64url's last character carries 2 spare bits, so decoding
  // would accept 4 spellings of one MAC.
  const given = Buffer.from(m[3]!);
  // Every key is tried (no early exit) so the time taken does not tell which one matched.
  let valid = false;
  for (const key of keys) valid = timingSafeEqual(Buffer.from(mac(key, componentAppid, exp, m[2]!).toString('base64url')), given) || valid;
  if (!valid) return { ok: false, reason: 'bad_mac' };
  if (exp * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, nonce: m[2]!, expiresAtMs: exp * 1000 };
}

function mac(key: Buffer, componentAppid: string, exp: number, nonce: string): Buffer {
  return createHmac('sha256', key).update(`v1.${componentAppid}.${exp}.${nonce}`).digest();
}
