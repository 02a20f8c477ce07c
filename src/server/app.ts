import { createServer } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { PushEmitter } from '../push/emitter.js';
import type { Platform } from '../platform.js';
import type { Store } from '../store/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { createLogger, type Logger } from '../util/logger.js';
import type { AppContext, MessageHandler } from './context.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { createFastPush } from './fast-push.js';
import { createPushHandlers } from './push-handlers.js';
import { pushRoutes } from './routes/push.js';
import { authorizeRoutes } from './routes/authorize.js';
import { healthRoutes } from './routes/health.js';

export interface BuildAppOptions {
  config: Config;
  store: Store;
  logger?: Logger;
  clock?: Clock;
  metrics?: Metrics;
  pushes?: PushEmitter;
  onMessage?: MessageHandler[];
  platform?: Platform;
}

export interface WxOpenApp {
  app: FastifyInstance;
  context: AppContext;
}

/** Builds the HTTP app without listening (tests use `app.inject()`; `listen` is the caller's). */
export async function buildApp(options: BuildAppOptions): Promise<WxOpenApp> {
  const logger = options.logger ?? createLogger({ level: options.config.logLevel });
  const context: AppContext = {
    config: options.config,
    store: options.store,
    logger,
    clock: options.clock ?? systemClock,
    // One registry: the platform's credential and upstream metrics are served by this app's /metrics.
    metrics: options.metrics ?? options.platform?.ctx.metrics ?? createMetrics(),
    pushes: options.pushes ?? new PushEmitter(),
    onMessage: options.onMessage ?? [],
    platform: options.platform,
  };
  const handlers = createPushHandlers(context);
  const fastPush = createFastPush(handlers, { bodyLimit: options.config.bodyLimitBytes, logger });
  const app = Fastify({
    // Pushes are answered by the fast path before Fastify's pipeline; everything else goes on to Fastify.
    serverFactory: (handler) => createServer((req, res) => fastPush(req, res) || handler(req, res)),
    loggerInstance: logger as FastifyBaseLogger,
    // Each push logs one structured line of its own; per-request access lines would double them.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.config.bodyLimitBytes,
    trustProxy: true,
  });

  // Per-request child loggers cost ~13 µs each (pino re-runs redaction on their bindings); every
  // line we log carries its own fields, so requests share the app logger.
  app.setChildLoggerFactory((parent) => parent);

  // WeChat posts XML with varying content types (text/xml, application/xml, none): keep every body as
  // the raw string the signature was computed over.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (request.url.startsWith('/wechat/') && status === 413) {
      const a = handlers.tooLarge(request.url.startsWith('/wechat/component') ? 'component' : 'authorizer', () => request.ip);
      return reply.code(a.status).type(a.contentType).send(a.body);
    }
    if (status >= 500) {
      logger.error({ err: error, url: request.url }, 'request failed');
      return reply.code(status === 500 ? 503 : status).send({ error: 'WXO_ERR_INTERNAL', message: 'temporarily unavailable' });
    }
    logger.warn({ code: error.code, url: request.url, status }, error.message);
    return reply.code(status).send({ error: error.code ?? 'WXO_ERR_BAD_REQUEST', message: error.message });
  });

  await app.register(async (scope) => healthRoutes(scope, context));
  await app.register(async (scope) => pushRoutes(scope, handlers));
  const { platform } = context;
  if (platform) {
    platform.attachPushHandlers(context.pushes);
    context.pushes.onError((error, event) => logger.error({ err: error, type: event.type }, 'push handler failed'));
    await app.register(async (scope) => authorizeRoutes(scope, { ...context, platform }));
  }
  return { app, context };
}
