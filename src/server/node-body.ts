import type { IncomingMessage, ServerResponse } from 'node:http';
import { Deadlines } from '../util/deadlines.js';
import { BODY_TIMEOUT, type PushEndpoint, type PushTarget } from './push-endpoint.js';
import type { ClientIp, PushAnswer } from './refusal.js';

/** Body deadlines of every read in progress in this process, swept every 50 ms (a 408 comes at most that late). */
const bodyDeadlines = new Deadlines(50);

/**
 * A push body read from node:http: the bytes, or the refusal to write instead (413 over the limit,
 * 408 when it does not arrive in time; both close the connection), or nothing when the client went
 * away (`aborted`: there is nobody to answer).
 */
export type BodyOutcome = { ok: true; body: Buffer } | { ok: false; answer: PushAnswer; cut: boolean } | { ok: false; aborted: true };

/**
 * Reads a push body with the endpoint's limit and deadline. Callback-based on purpose: the server's
 * fast path calls it per push and a promise per body is measurable there (bench/push.ts); the
 * Express and Koa adapters wrap it in one. `cut` asks the caller to destroy the request after writing
 * the answer (a client still sending half a body must not keep the socket).
 */
export function readPushBody(req: IncomingMessage, endpoint: PushEndpoint, target: PushTarget, ip: ClientIp, done: (outcome: BodyOutcome) => void): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > endpoint.bodyLimit) {
    // Drained, not read: the answer goes out at once and the connection closes after it.
    req.resume();
    done({ ok: false, answer: endpoint.tooLarge(target.url, ip), cut: false });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  // A client that sends half a body holds a socket and a buffer: cut it off (a slow-loris defence
  // on the one URL anybody can post to), independent of the listener's longer requestTimeout.
  const timer = bodyDeadlines.add(endpoint.bodyTimeoutMs, () => {
    settled = true;
    done({ ok: false, answer: BODY_TIMEOUT, cut: true });
  });
  req.on('data', (chunk: Buffer) => {
    if (settled) return;
    size += chunk.length;
    if (size > endpoint.bodyLimit) {
      settled = true;
      bodyDeadlines.cancel(timer);
      done({ ok: false, answer: endpoint.tooLarge(target.url, ip), cut: false });
      return;
    }
    chunks.push(chunk);
  });
  req.on('error', () => {
    bodyDeadlines.cancel(timer);
    if (settled) return;
    settled = true;
    done({ ok: false, aborted: true });
  });
  req.on('close', () => {
    bodyDeadlines.cancel(timer);
    if (settled) return;
    settled = true;
    done({ ok: false, aborted: true });
  });
  req.on('end', () => {
    bodyDeadlines.cancel(timer);
    if (settled) return;
    settled = true;
    done({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
  });
}

/** `readPushBody` as a promise, for hosts whose middleware is async anyway. */
export function readPushBodyAsync(req: IncomingMessage, endpoint: PushEndpoint, target: PushTarget, ip: ClientIp): Promise<BodyOutcome> {
  return new Promise((resolve) => readPushBody(req, endpoint, target, ip, resolve));
}

/** Writes an answer on node:http (`close`: `Connection: close`, for a refused body that may still be arriving). */
export function writeNodeAnswer(res: ServerResponse, a: PushAnswer, close: boolean): void {
  if (res.headersSent) return;
  const headers: Record<string, string | number> = { 'content-type': a.contentType, 'content-length': Buffer.byteLength(a.body) };
  if (close) headers.connection = 'close';
  res.writeHead(a.status, headers);
  res.end(a.body);
}
