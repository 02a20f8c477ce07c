import type { DatabaseOutage } from '../store/outage.js';
import type { Logger } from '../util/logger.js';
import type { PushHandlers } from './push-handlers.js';
import type { ClientIp, PushAnswer, PushUrl } from './refusal.js';

/** Where the server serves the push URLs: `/wechat/component` and `/wechat/authorizer/:appid`. */
export const PUSH_BASE_PATH = '/wechat';

export type PushTarget = { url: 'component' } | { url: 'authorizer'; appid: string };

const json = (status: number, error: string, message: string): PushAnswer => ({
  status,
  contentType: 'application/json; charset=utf-8',
  body: JSON.stringify({ error, message }),
});
/** A handler failed (e.g. the store is down): WeChat retries a push that is not answered 2xx. */
export const UNAVAILABLE = json(503, 'WXO_ERR_INTERNAL', 'temporarily unavailable');
/** The store is unreachable: the outage is logged once, and the push URL is public, so the database is not named. */
export const DATABASE_DOWN = json(503, 'WXO_ERR_DATABASE_UNAVAILABLE', 'the database is unreachable; WeChat retries this push');
export const BODY_TIMEOUT = json(408, 'WXO_ERR_REQUEST_TIMEOUT', 'the body did not arrive in time');
/** For hosts without a router of their own (the Web handler); a push URL asked with another method gets it too. */
export const NOT_FOUND = json(404, 'WXO_ERR_NOT_FOUND', 'not a push URL (POST <base>/component or <base>/authorizer/:appid)');
export const BAD_PATH = json(400, 'WXO_ERR_BAD_URL', 'the path has a malformed percent-escape');

const COMPONENT: PushTarget = { url: 'component' };

/**
 * Which push URL a path names: `<base>/component` or `<base>/authorizer/<appid>` (one segment).
 * `undefined` when it is none of them; `'bad_path'` when the appid has a malformed percent-escape.
 */
export function matchPushPath(path: string, basePath: string = PUSH_BASE_PATH): PushTarget | 'bad_path' | undefined {
  if (!path.startsWith(basePath)) return undefined;
  const at = basePath.length;
  if (path.length === at + 10 && path.endsWith('/component')) return COMPONENT;
  if (!path.startsWith('/authorizer/', at)) return undefined;
  const start = at + 12;
  if (path.indexOf('/', start) >= 0) return undefined;
  const segment = path.slice(start);
  if (!segment.includes('%')) return { url: 'authorizer', appid: segment };
  try {
    return { url: 'authorizer', appid: decodeURIComponent(segment) };
  } catch {
    return 'bad_path';
  }
}

/** A request target (`/path?query`, or an absolute URL as in `Request.url`) split into path and query string. */
export function splitTarget(target: string): { path: string; search: string } {
  let t = target;
  if (!t.startsWith('/')) {
    // An absolute URL: the path starts at the first '/' after the scheme's '//'.
    const slash = t.indexOf('/', t.indexOf('//') + 2);
    t = slash < 0 ? '/' : t.slice(slash);
  }
  const hash = t.indexOf('#');
  if (hash >= 0) t = t.slice(0, hash);
  const q = t.indexOf('?');
  return q < 0 ? { path: t, search: '' } : { path: t.slice(0, q), search: t.slice(q + 1) };
}

/**
 * A query string as `Object.fromEntries(new URLSearchParams(search))` reads it (last value wins), without its
 * cost when nothing needs decoding. Hand-written because it runs per push and measured: URLSearchParams plus
 * fromEntries cost ~3x the signature check on WeChat's three-parameter query. A string with `%` or `+` goes
 * through URLSearchParams itself, so decoding never differs. The result has no prototype: a `__proto__`
 * parameter is a key like any other, as fromEntries makes it.
 */
export function parseQuery(search: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (search === '') return out;
  if (search.includes('%') || search.includes('+')) {
    for (const [k, v] of new URLSearchParams(search)) out[k] = v;
    return out;
  }
  let start = 0;
  while (start <= search.length) {
    let end = search.indexOf('&', start);
    if (end < 0) end = search.length;
    if (end > start) {
      const eq = search.indexOf('=', start);
      if (eq < 0 || eq > end) out[search.slice(start, end)] = '';
      else out[search.slice(start, eq)] = search.slice(eq + 1, end);
    }
    start = end + 1;
  }
  return out;
}

/**
 * The push URLs as one HTTP-free function pair: the server's fast path, its Fastify routes and every
 * adapter (Web, Express, Koa, Fastify plugin) only read the body and write the answer; every decision
 * (limits, verification, storage, replies, statuses) is made here and in push-handlers.ts.
 */
export interface PushEndpoint {
  /** Bodies over this many bytes are answered 413 (`tooLarge`) without being read whole. */
  readonly bodyLimit: number;
  /** The body must be complete this long after the headers (WeChat waits 5 s for an answer). */
  readonly bodyTimeoutMs: number;
  /**
   * Answers one push whose body has been read (bytes, or the raw string). Never throws or rejects:
   * an unexpected failure is logged and answered 503 so WeChat retries, as the server does.
   */
  answer(target: PushTarget, query: Record<string, unknown>, body: string | Uint8Array, ip: ClientIp): PushAnswer | Promise<PushAnswer>;
  /** The answer to a body over `bodyLimit`. */
  tooLarge(url: PushUrl, ip: ClientIp): PushAnswer;
  /** Logs an unexpected failure of the HTTP layer and returns the 503 answer. */
  fail(err: unknown, path: string): PushAnswer;
}

export function createPushEndpoint(handlers: PushHandlers, options: { bodyLimit: number; bodyTimeoutMs: number; logger: Logger; outage?: DatabaseOutage }): PushEndpoint {
  const { bodyLimit, logger, outage } = options;
  const fail = (err: unknown, path: string): PushAnswer => {
    // WeChat retries every refused push: a stack per retry during an outage would say the same thing each time.
    if (outage?.failed(err)) return DATABASE_DOWN;
    logger.error({ err, url: path }, 'request failed');
    return UNAVAILABLE;
  };
  const pathOf = (t: PushTarget): string => (t.url === 'component' ? `${PUSH_BASE_PATH}/component` : `${PUSH_BASE_PATH}/authorizer/${t.appid}`);
  return {
    bodyLimit,
    bodyTimeoutMs: options.bodyTimeoutMs,
    answer(target, query, body, ip) {
      try {
        if (typeof body !== 'string' && body.byteLength > bodyLimit) return handlers.tooLarge(target.url, ip);
        const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
        const a = target.url === 'component' ? handlers.component(query, text, ip) : handlers.authorizer(target.appid, query, text, ip);
        return a instanceof Promise ? a.catch((err: unknown) => fail(err, pathOf(target))) : a;
      } catch (err) {
        return fail(err, pathOf(target));
      }
    },
    tooLarge: handlers.tooLarge,
    fail,
  };
}
