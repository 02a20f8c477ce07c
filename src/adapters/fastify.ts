import type { FastifyError, FastifyPluginAsync } from 'fastify';
import { pushRoutes } from '../server/routes/push.js';
import { basePathOf, endpointOf, type AdapterOptions, type PushHostInput } from './host.js';

export type { PushHost, PushHostInput, AdapterOptions } from './host.js';

export interface WxOpenFastifyOptions extends AdapterOptions {
  /** `createWxOpen()`'s `wx` (or its promise). */
  wx: PushHostInput;
}

/**
 * The push URLs as a Fastify plugin: `await app.register(wxopenFastify, { wx })` adds POST
 * `<basePath>/component` and `<basePath>/authorizer/:appid` (Fastify's own `prefix` option applies
 * on top) with the server's own routes. Encapsulated on purpose (no fastify-plugin): its raw-body
 * parser and its 413 answer stay inside and leave the host's JSON parsing alone. The client address is
 * `request.ip` (the host's `trustProxy`).
 */
export const wxopenFastify: FastifyPluginAsync<WxOpenFastifyOptions> = async (scope, options) => {
  const endpoint = await endpointOf(options.wx)();
  // WeChat posts XML with varying content types (or none): every body is kept as the signed bytes.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: endpoint.bodyLimit }, (_req, body, done) => done(null, body));
  scope.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.statusCode !== 413) throw error; // the host's error handler answers the rest
    const a = endpoint.tooLarge(request.url.includes('/authorizer/') ? 'authorizer' : 'component', () => request.ip);
    return reply.code(a.status).type(a.contentType).header('connection', 'close').send(a.body);
  });
  await pushRoutes(scope, endpoint, basePathOf(options));
};
