import type { FastifyInstance, FastifyReply } from 'fastify';
import { PUSH_BASE_PATH, type PushEndpoint } from '../push-endpoint.js';
import type { PushAnswer } from '../refusal.js';

/**
 * Fastify routes for both push URLs over the shared endpoint. In a listening server the raw fast path
 * (fast-push.ts) answers these first; the routes serve `inject()`, any server built without it, and
 * the Fastify plugin (`wxopen/fastify`), which mounts them in a host's own app.
 */
export async function pushRoutes(app: FastifyInstance, endpoint: PushEndpoint, basePath: string = PUSH_BASE_PATH): Promise<void> {
  // Fastify leaves the body undefined when none was sent; the endpoint (like the fast path) reads ''.
  const bodyOf = (body: unknown): string | Buffer => (typeof body === 'string' || Buffer.isBuffer(body) ? body : '');
  const send = (reply: FastifyReply, a: PushAnswer) => reply.code(a.status).type(a.contentType).send(a.body);
  app.post(`${basePath}/component`, async (request, reply) =>
    send(reply, await endpoint.answer({ url: 'component' }, request.query as Record<string, unknown>, bodyOf(request.body), () => request.ip)),
  );
  app.post<{ Params: { appid: string } }>(`${basePath}/authorizer/:appid`, async (request, reply) =>
    send(reply, await endpoint.answer({ url: 'authorizer', appid: request.params.appid }, request.query as Record<string, unknown>, bodyOf(request.body), () => request.ip)),
  );
}
