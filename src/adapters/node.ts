import type { IncomingMessage } from 'node:http';
import { PushBodyConsumedError } from '../errors.js';
import { readPushBodyAsync } from '../server/node-body.js';
import type { PushEndpoint, PushTarget } from '../server/push-endpoint.js';
import type { ClientIp, PushAnswer } from '../server/refusal.js';

/** What to write back; `close` asks for `Connection: close` (a refused body may still be arriving). */
export interface NodeAnswer {
  answer: PushAnswer;
  close: boolean;
}

/**
 * Answers a push on a node:http request whose body a framework may have handled already:
 * - `parsed` is a string or bytes (express.raw/express.text, koa's `rawBody`): answered from it;
 * - the stream is unread (no parser, or one that skipped this content type): read here, with the
 *   server's limit and deadline;
 * - otherwise a parser turned it into an object and the signed bytes are gone: 503, logged with the fix.
 * `undefined` when the client went away before its body arrived.
 */
export async function answerNodePush(
  endpoint: PushEndpoint,
  target: PushTarget,
  query: Record<string, unknown>,
  req: IncomingMessage,
  parsed: unknown,
  ip: ClientIp,
  host: string,
): Promise<NodeAnswer | undefined> {
  if (typeof parsed === 'string' || parsed instanceof Uint8Array) return { answer: await endpoint.answer(target, query, parsed, ip), close: false };
  if (req.readableDidRead || req.readableEnded || (req as { _body?: unknown })._body === true) {
    return { answer: endpoint.fail(new PushBodyConsumedError(host), req.url ?? ''), close: false };
  }
  const outcome = await readPushBodyAsync(req, endpoint, target, ip);
  if (!outcome.ok) return 'aborted' in outcome ? undefined : { answer: outcome.answer, close: true };
  return { answer: await endpoint.answer(target, query, outcome.body, ip), close: false };
}
