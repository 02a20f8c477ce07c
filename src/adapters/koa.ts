import type { IncomingMessage } from 'node:http';
import { BAD_PATH, matchPushPath, parseQuery, splitTarget } from '../server/push-endpoint.js';
import type { PushAnswer } from '../server/refusal.js';
import { basePathOf, endpointOf, type AdapterOptions, type PushHostInput } from './host.js';
import { answerNodePush } from './node.js';

export type { PushHost, PushHostInput, AdapterOptions } from './host.js';

/** The parts of a Koa (2 or 3) context used here; structural, so no @types/koa is needed. */
export interface KoaLikeContext {
  req: IncomingMessage;
  method: string;
  originalUrl: string;
  /** Koa's client address (it follows `app.proxy`). */
  ip: string;
  /** Read for `rawBody` / `body` when a body parser ran first. */
  request: object;
  status: number;
  body: unknown;
  set(field: string, value: string): void;
}

export type KoaLikeMiddleware = (ctx: KoaLikeContext, next: () => Promise<unknown>) => Promise<void>;

/**
 * The push URLs as Koa middleware: `app.use(createKoaMiddleware(wx))`. It answers POST
 * `<basePath>/component` and `<basePath>/authorizer/:appid` and calls `next()` for everything else.
 * Mount it before body parsers; after @koa/bodyparser or koa-bodyparser it answers from
 * `ctx.request.rawBody` (a string body in `ctx.request.body` works too); after a parser that kept
 * only an object it answers 503 and logs the fix.
 */
export function createKoaMiddleware(host: PushHostInput, options: AdapterOptions = {}): KoaLikeMiddleware {
  const endpoint = endpointOf(host);
  const basePath = basePathOf(options);
  return async (ctx, next) => {
    if (ctx.method !== 'POST') return void (await next());
    const { path, search } = splitTarget(ctx.originalUrl);
    const target = matchPushPath(path, basePath);
    if (target === undefined) return void (await next());
    if (target === 'bad_path') return send(ctx, BAD_PATH, false);
    const e = await endpoint();
    const request = ctx.request as { rawBody?: unknown; body?: unknown };
    const parsed = typeof request.rawBody === 'string' ? request.rawBody : request.body;
    const a = await answerNodePush(e, target, parseQuery(search), ctx.req, parsed, () => ctx.ip, 'Koa');
    if (a === undefined) return void ctx.req.destroy();
    send(ctx, a.answer, a.close);
  };
}

function send(ctx: KoaLikeContext, a: PushAnswer, close: boolean): void {
  ctx.status = a.status;
  // Set before the body: Koa keeps a Content-Type that is already there.
  ctx.set('Content-Type', a.contentType);
  if (close) ctx.set('Connection', 'close');
  ctx.body = a.body;
}
