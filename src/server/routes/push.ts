import type { FastifyInstance } from 'fastify';
import type { PushHandlers } from '../push-handlers.js';

/**
 * Fastify routes for both push URLs. In a listening server the raw fast path (fast-push.ts) answers
 * these first; the routes serve `inject()` and any server built without it.
 */
export async function pushRoutes(app: FastifyInstance, handlers: PushHandlers): Promise<void> {
  // Fastify leaves the body undefined when none was sent; the handlers (like the fast path) read ''.
  const bodyOf = (body: unknown): string => (typeof body === 'string' ? body : '');
  app.post('/wechat/component', async (request, reply) => {
    const a = await handlers.component(request.query as Record<string, unknown>, bodyOf(request.body), () => request.ip);
    return reply.code(a.status).type(a.contentType).send(a.body);
  });
  app.post<{ Params: { appid: string } }>('/wechat/authorizer/:appid', async (request, reply) => {
    const a = await handlers.authorizer(request.params.appid, request.query as Record<string, unknown>, bodyOf(request.body), () => request.ip);
    return reply.code(a.status).type(a.contentType).send(a.body);
  });
}
