import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../util/logger.js';
import { clientIp, type TrustFn } from './client-ip.js';
import type { PushHandlers } from './push-handlers.js';
import type { ClientIp, PushAnswer } from './refusal.js';

const AUTHORIZER_PREFIX = '/wechat/authorizer/';
const UNAVAILABLE: PushAnswer = { status: 503, contentType: 'application/json; charset=utf-8', body: '{"error":"WXO_ERR_INTERNAL","message":"temporarily unavailable"}' };
const TIMEOUT: PushAnswer = { status: 408, contentType: 'application/json; charset=utf-8', body: '{"error":"WXO_ERR_REQUEST_TIMEOUT","message":"the body did not arrive in time"}' };

export interface FastPushOptions {
  bodyLimit: number;
  logger: Logger;
  trust: TrustFn;
  /** The body must be complete this long after the headers (WeChat waits 5 s for an answer). */
  bodyTimeoutMs: number;
}

/**
 * Answers the two push URLs straight from node:http, ahead of Fastify's request pipeline. Hand-written
 * because it is the hottest path and measured: the same handlers behind Fastify's routing, hooks and
 * reply serialization ran at ~0.7 of a bare node:http server (bench/push.ts); here they run at the
 * handler's own cost. It only reads the body (with the same limit), parses the query and writes the
 * handler's answer; every decision stays in push-handlers.ts. Anything else goes to Fastify, and so
 * does any path it cannot read (e.g. malformed percent-encoding), so such a request gets exactly
 * Fastify's answer. It never throws: a throw here would end the process (node:http calls it bare).
 */
export function createFastPush(handlers: PushHandlers, options: FastPushOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return function fastPushSafe(req, res) {
    try {
      return fastPush(req, res);
    } catch (err) {
      // Only a bug lands here; the answer is the same 503 as a failed handler, never a dead process.
      if (res.headersSent) res.destroy();
      else fail(res, req.url ?? '', err);
      return true;
    }
  };

  function fastPush(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST' || req.url === undefined || !req.url.startsWith('/wechat/')) return false;
    const q = req.url.indexOf('?');
    const path = q < 0 ? req.url : req.url.slice(0, q);
    let run: (query: Record<string, unknown>, body: string, ip: ClientIp) => PushAnswer | Promise<PushAnswer>;
    let url: 'component' | 'authorizer';
    if (path === '/wechat/component') {
      url = 'component';
      run = handlers.component;
    } else if (path.startsWith(AUTHORIZER_PREFIX) && path.indexOf('/', AUTHORIZER_PREFIX.length) < 0) {
      url = 'authorizer';
      const appid = decodePathSegment(path.slice(AUTHORIZER_PREFIX.length));
      if (appid === undefined) return false;
      run = (query, body, ip) => handlers.authorizer(appid, query, body, ip);
    } else {
      return false;
    }
    const ip: ClientIp = () => clientIp(req, options.trust);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > options.bodyLimit) {
      write(res, handlers.tooLarge(url, ip), true);
      req.resume();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    // A client that sends half a body holds a socket and a buffer: cut it off (a slow-loris defence
    // on the one URL anybody can post to), independent of the listener's longer requestTimeout.
    const timer = setTimeout(() => {
      refused = true;
      write(res, TIMEOUT, true);
      req.destroy();
    }, options.bodyTimeoutMs);
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > options.bodyLimit) {
        refused = true;
        clearTimeout(timer);
        write(res, handlers.tooLarge(url, ip), true);
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      clearTimeout(timer);
      res.destroy();
    });
    req.on('close', () => clearTimeout(timer));
    req.on('end', () => {
      clearTimeout(timer);
      if (refused) return;
      const body = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      const query = q < 0 ? {} : Object.fromEntries(new URLSearchParams(req.url!.slice(q + 1)));
      let answer: PushAnswer | Promise<PushAnswer>;
      try {
        answer = run(query, body, ip);
      } catch (err) {
        return fail(res, path, err);
      }
      // The trailing catch: a throw while writing must not become an unhandled rejection.
      if (answer instanceof Promise) answer.then((a) => write(res, a, false), (err: unknown) => fail(res, path, err)).catch(() => res.destroy());
      else write(res, answer, false);
    });
    return true;
  }

  function fail(res: ServerResponse, path: string, err: unknown): void {
    options.logger.error({ err, url: path }, 'request failed');
    write(res, UNAVAILABLE, false);
  }
}

/** `decodeURIComponent` without the throw: `undefined` for malformed escapes. */
function decodePathSegment(segment: string): string | undefined {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function write(res: ServerResponse, a: PushAnswer, close: boolean): void {
  if (res.headersSent) return;
  const headers: Record<string, string | number> = { 'content-type': a.contentType, 'content-length': Buffer.byteLength(a.body) };
  if (close) headers.connection = 'close';
  res.writeHead(a.status, headers);
  res.end(a.body);
}
