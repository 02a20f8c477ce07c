import { createHmac, timingSafeEqual } from 'node:crypto';

/** What an operator's authorization link asks for (POST /api/v1/authorization-links). */
export interface LinkParams {
  /** Opaque to us: handed back on the return URL so the operator knows which merchant this was. */
  state?: string;
  /** 1 official accounts, 2 mini programs, 3 both; mutually exclusive with `bizAppid` (spec 4.1). */
  authType?: number;
  bizAppid?: string;
  categoryList?: number[];
  /** Where the merchant goes after the callback; our parameters are placed before any `#` (spec 4.4). */
  returnUrl?: string;
  /** Permission sets this merchant must grant; default the configured required sets. */
  requiredSets?: number[];
  /** Expiry, epoch seconds. */
  exp: number;
}

interface Wire {
  s?: string;
  t?: number;
  b?: string;
  c?: number[];
  r?: string;
  q?: number[];
  e: number;
}

function mac(secretHex: string, payload: string): Buffer {
  // A key of its own, derived from the secret key, so a link MAC is never a valid MAC of anything else.
  const key = createHmac('sha256', Buffer.from(secretHex, 'hex')).update('wxopen authorization link v1').digest();
  return createHmac('sha256', key).update(payload).digest();
}

/**
 * A signed, self-contained link token: no table to keep, and a merchant cannot change the account type,
 * the permission sets or where they are sent afterwards. Signed with the first secret key, verified with
 * any (rotation).
 */
export function signLink(p: LinkParams, secretKeys: readonly string[]): string {
  const w: Wire = { e: p.exp };
  if (p.state !== undefined) w.s = p.state;
  if (p.authType !== undefined) w.t = p.authType;
  if (p.bizAppid !== undefined) w.b = p.bizAppid;
  if (p.categoryList?.length) w.c = p.categoryList;
  if (p.returnUrl !== undefined) w.r = p.returnUrl;
  if (p.requiredSets !== undefined) w.q = p.requiredSets;
  const payload = Buffer.from(JSON.stringify(w)).toString('base64url');
  return `${payload}.${mac(secretKeys[0]!, payload).toString('base64url')}`;
}

export type LinkCheck = { ok: true; link: LinkParams } | { ok: false; reason: 'bad_request' | 'link_expired' };

export function verifyLink(token: string, secretKeys: readonly string[], nowMs: number): LinkCheck {
  const [payload, sig, extra] = token.split('.');
  if (!payload || !sig || extra !== undefined || token.length > 4096) return { ok: false, reason: 'bad_request' };
  const given = Buffer.from(sig, 'base64url');
  const valid = secretKeys.some((k) => {
    const expected = mac(k, payload);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!valid) return { ok: false, reason: 'bad_request' };
  let w: Wire;
  try {
    w = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Wire;
  } catch {
    return { ok: false, reason: 'bad_request' };
  }
  if (typeof w.e !== 'number') return { ok: false, reason: 'bad_request' };
  if (w.e * 1000 < nowMs) return { ok: false, reason: 'link_expired' };
  return {
    ok: true,
    link: { state: w.s, authType: w.t, bizAppid: w.b, categoryList: w.c, returnUrl: w.r, requiredSets: w.q, exp: w.e },
  };
}

/**
 * Adds query parameters to a URL before its fragment: `https://a.example/#/done` becomes
 * `https://a.example/?x=1#/done`, so a hash-router front end still gets them on the server side and
 * in `location.search` (spec 4.4).
 */
export function withQuery(url: string, params: Record<string, string>): string {
  const hash = url.indexOf('#');
  const base = hash === -1 ? url : url.slice(0, hash);
  const fragment = hash === -1 ? '' : url.slice(hash);
  const q = new URLSearchParams(params).toString();
  if (q === '') return url;
  return `${base}${base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?'}${q}${fragment}`;
}
