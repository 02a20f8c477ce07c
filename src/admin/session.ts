import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { SecretBox } from '../crypto/secret-box.js';

export const SESSION_COOKIE = 'wxopen_session';
const AAD = 'wxopen admin session v1';
export const SESSION_TTL_MS = 12 * 3600_000;

export interface Session {
  /** Expiry, epoch ms. */
  exp: number;
  /** The CSRF token every state-changing form carries. */
  csrf: string;
  /** Fingerprint of the operator token the session was opened with. */
  op: string;
}

/**
 * The dashboard session is sealed (AES-GCM under the secret key), not merely signed: its CSRF token
 * never appears in clear, and a tampered or foreign cookie fails authentication.
 */
export class SessionSealer {
  private readonly box: SecretBox;
  constructor(secretKeys: readonly string[]) {
    this.box = new SecretBox(secretKeys);
  }

  create(now: number, operatorFingerprint: string): { cookie: string; session: Session } {
    const session: Session = { exp: now + SESSION_TTL_MS, csrf: randomBytes(18).toString('base64url'), op: operatorFingerprint };
    return { cookie: this.box.seal(JSON.stringify(session), AAD), session };
  }

  open(cookie: string | undefined, now: number, operatorFingerprint: string): Session | undefined {
    if (!cookie || cookie.length > 1024) return undefined;
    try {
      const s = JSON.parse(this.box.open(cookie, AAD)) as Session;
      if (typeof s.exp !== 'number' || s.exp <= now || typeof s.csrf !== 'string' || s.op !== operatorFingerprint) return undefined;
      return s;
    } catch {
      return undefined;
    }
  }
}

export function readCookie(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i !== -1 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

export function sessionCookie(value: string, secure: boolean, maxAgeSeconds = SESSION_TTL_MS / 1000): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export function sameToken(a: unknown, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Only paths of this site: `next` must not send the operator to another host after signing in. Browsers drop
 * tabs and newlines from a URL and read `\` as `/`, so "/\t/evil.example" would still be "//evil.example".
 */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\x00-\x20\x7f\\]*$/.test(next) ? next : '/';
}

/**
 * Where a browser whose session ran out while a form was open returns after signing in again: the page the form
 * was on (its Referer, when that is this site), else the overview. The form's own address is an action, not a
 * page, and a `done`/`error` notice there described an earlier action.
 */
export function returnPath(req: FastifyRequest): string {
  const referer = req.headers.referer;
  if (referer === undefined) return '/';
  try {
    const url = new URL(referer);
    if (url.host !== req.headers.host) return '/';
    url.searchParams.delete('done');
    url.searchParams.delete('error');
    return safeNext(url.pathname + url.search);
  } catch {
    return '/';
  }
}

/**
 * A state-changing form must come from our own pages: the Origin (or, lacking it, the Referer) names
 * this host. Browsers send Origin on every cross-site POST, so a forged form fails here even before
 * the token check.
 */
export function sameOrigin(req: FastifyRequest): boolean {
  const source = req.headers.origin ?? req.headers.referer;
  if (source === undefined) return true;
  try {
    return new URL(source).host === req.headers.host;
  } catch {
    return false;
  }
}
