import { PushBodyConsumedError } from '../errors.js';
import { BAD_PATH, BODY_TIMEOUT, matchPushPath, NOT_FOUND, parseQuery, splitTarget, type PushEndpoint } from '../server/push-endpoint.js';
import type { PushAnswer } from '../server/refusal.js';
import { basePathOf, endpointOf, type AdapterOptions, type PushHostInput } from './host.js';

export type { PushHost, PushHostInput, AdapterOptions } from './host.js';

export interface WebHandlerOptions extends AdapterOptions {
  /**
   * The client's address for refusal logs; a `Request` carries none. E.g. Bun's
   * `server.requestIP(request)?.address`, or a header your own proxy sets.
   */
  clientIp?: (request: Request) => string | undefined;
}

/**
 * The push URLs as a Web-standard handler, `(request: Request) => Promise<Response>`: a Next.js route
 * handler, Hono (`c.req.raw`), Bun.serve, Deno.serve, Cloudflare-style `fetch`. It reads the body
 * itself (with the server's limit and deadline) and answers exactly what the server answers; any
 * other path or method gets a JSON 404.
 */
export function createWebHandler(host: PushHostInput, options: WebHandlerOptions = {}): (request: Request) => Promise<Response> {
  const endpoint = endpointOf(host);
  const basePath = basePathOf(options);
  return async (request) => {
    const { path, search } = splitTarget(request.url);
    const target = matchPushPath(path, basePath);
    if (target === undefined || request.method !== 'POST') return toResponse(NOT_FOUND);
    if (target === 'bad_path') return toResponse(BAD_PATH);
    const e = await endpoint();
    const ip = () => options.clientIp?.(request);
    try {
      const body = await readBody(request, e);
      if (body === 'too_large') return toResponse(e.tooLarge(target.url, ip));
      if (body === 'timeout') return toResponse(BODY_TIMEOUT);
      return toResponse(await e.answer(target, parseQuery(search), body, ip));
    } catch (err) {
      return toResponse(e.fail(err, path));
    }
  };
}

function toResponse(a: PushAnswer): Response {
  return new Response(a.body, { status: a.status, headers: { 'content-type': a.contentType } });
}

/** The body with the endpoint's limit (declared or counted) and deadline; never more than the limit in memory. */
async function readBody(request: Request, e: PushEndpoint): Promise<Uint8Array | 'too_large' | 'timeout'> {
  const stream = request.body;
  if (Number(request.headers.get('content-length') ?? 0) > e.bodyLimit) {
    stream?.cancel().catch(() => undefined);
    return 'too_large';
  }
  if (stream === null) return new Uint8Array(0);
  if (request.bodyUsed) throw new PushBodyConsumedError('Web');
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => undefined);
  }, e.bodyTimeoutMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (timedOut) return 'timeout';
      if (done) break;
      size += value.byteLength;
      if (size > e.bodyLimit) {
        reader.cancel().catch(() => undefined);
        return 'too_large';
      }
      chunks.push(value);
    }
  } finally {
    clearTimeout(timer);
  }
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body;
}
