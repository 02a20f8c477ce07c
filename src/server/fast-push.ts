import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../util/logger.js';
import { clientIp, type TrustFn } from './client-ip.js';
import { readPushBody, writeNodeAnswer } from './node-body.js';
import { matchPushPath, parseQuery, type PushEndpoint } from './push-endpoint.js';
import type { ClientIp } from './refusal.js';

export interface FastPushOptions {
  logger: Logger;
  trust: TrustFn;
}

/**
 * Answers the two push URLs straight from node:http, ahead of Fastify's request pipeline. Hand-written
 * because it is the hottest path and measured: the same handlers behind Fastify's routing, hooks and
 * reply serialization ran at ~0.7 of a bare node:http server (bench/push.ts); here they run at the
 * handler's own cost. It only reads the body (node-body.ts, with the endpoint's limit and deadline),
 * parses the query and writes the endpoint's answer; every decision stays in push-endpoint.ts and
 * push-handlers.ts. Anything else goes to Fastify, and so does any path it cannot read (e.g.
 * malformed percent-encoding), so such a request gets exactly Fastify's answer. It never throws: a
 * throw here would end the process (node:http calls it bare).
 */
export function createFastPush(endpoint: PushEndpoint, options: FastPushOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return function fastPushSafe(req, res) {
    try {
      return fastPush(req, res);
    } catch (err) {
      // Only a bug lands here; the answer is the same 503 as a failed handler, never a dead process.
      if (res.headersSent) res.destroy();
      else writeNodeAnswer(res, endpoint.fail(err, req.url ?? ''), false);
      return true;
    }
  };

  function fastPush(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST' || req.url === undefined || !req.url.startsWith('/wechat/')) return false;
    const q = req.url.indexOf('?');
    const path = q < 0 ? req.url : req.url.slice(0, q);
    const target = matchPushPath(path);
    if (target === undefined || target === 'bad_path') return false;
    const ip: ClientIp = () => clientIp(req, options.trust);
    readPushBody(req, endpoint, target, ip, (outcome) => {
      if (!outcome.ok) {
        if ('aborted' in outcome) return void res.destroy();
        writeNodeAnswer(res, outcome.answer, true);
        if (outcome.cut) req.destroy();
        return;
      }
      const query = parseQuery(q < 0 ? '' : req.url!.slice(q + 1));
      const answer = endpoint.answer(target, query, outcome.body, ip);
      // The trailing catch: a throw while writing must not become an unhandled rejection.
      if (answer instanceof Promise) answer.then((a) => writeNodeAnswer(res, a, false)).catch(() => res.destroy());
      else writeNodeAnswer(res, answer, false);
    });
    return true;
  }
}
