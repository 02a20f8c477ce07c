import type { IncomingMessage, ServerResponse } from 'node:http';
import { BAD_PATH, matchPushPath, parseQuery, splitTarget } from '../server/push-endpoint.js';
import { writeNodeAnswer } from '../server/node-body.js';
import { basePathOf, endpointOf, type AdapterOptions, type PushHostInput } from './host.js';
import { answerNodePush } from './node.js';

export type { PushHost, PushHostInput, AdapterOptions } from './host.js';

/** The parts of an Express (4 or 5) request read here; structural, so no @types/express is needed. */
export interface ExpressLikeRequest extends IncomingMessage {
  originalUrl?: string;
  /** Express's client address (it follows the app's `trust proxy` setting). */
  ip?: string;
  /** Set by a body parser, if one ran first. */
  body?: unknown;
}

export type ExpressLikeNext = (err?: unknown) => void;

export type ExpressLikeMiddleware = (req: ExpressLikeRequest, res: ServerResponse, next: ExpressLikeNext) => void;

/**
 * The push URLs as Express middleware: `app.use(createExpressMiddleware(wx))`. It answers POST
 * `<basePath>/component` and `<basePath>/authorizer/:appid` and passes everything else on. Mount it
 * before body parsers; after `express.raw()` or `express.text()` it answers from their string or
 * Buffer, after a parser that skipped the content type it reads the stream itself, and after one
 * that made an object of the body it answers 503 and logs the fix.
 */
export function createExpressMiddleware(host: PushHostInput, options: AdapterOptions = {}): ExpressLikeMiddleware {
  const endpoint = endpointOf(host);
  const basePath = basePathOf(options);
  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    const { path, search } = splitTarget(req.originalUrl ?? req.url ?? '/');
    const target = matchPushPath(path, basePath);
    if (target === undefined) return next();
    if (target === 'bad_path') return writeNodeAnswer(res, BAD_PATH, false);
    const ip = () => req.ip ?? req.socket.remoteAddress;
    Promise.resolve(endpoint())
      .then((e) => answerNodePush(e, target, parseQuery(search), req, req.body, ip, 'Express'))
      .then((a) => (a === undefined ? res.destroy() : writeNodeAnswer(res, a.answer, a.close)))
      .catch(next);
  };
}
