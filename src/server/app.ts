import { createServer, type ServerOptions } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { PushEmitter } from '../push/emitter.js';
import type { Platform } from '../platform.js';
import type { Store } from '../store/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import { createLogger, type Logger } from '../util/logger.js';
import { LogLimiter } from '../util/log-limiter.js';
import { trustFunction } from './client-ip.js';
import type { AppContext, MessageHandler } from './context.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { createFastPush } from './fast-push.js';
import { createPushHandlers } from './push-handlers.js';
import { createPushEndpoint, type PushEndpoint } from './push-endpoint.js';
import { pushRoutes } from './routes/push.js';
import { authorizeRoutes } from './routes/authorize.js';
import { healthRoutes } from './routes/health.js';
import { faviconRoute } from '../util/favicon.js';
import { MemoryMessageDedupe, RedisMessageDedupe, type MessageDedupe } from '../messages/dedupe.js';
import { MessageRouter } from '../messages/router.js';
import type { MessagePipeline } from '../messages/pipeline.js';
import { merchantApiRoutes } from './routes/merchant-api.js';
import { messages } from '../i18n/index.js';
import { errorPage } from './pages/error-page.js';
import { wantsPage } from './pages/layout.js';
import { requestLang } from './pages/respond.js';
import { errorFields } from '../util/log-error.js';
import { databaseOutage } from '../store/outage.js';

export interface BuildAppOptions {
  config: Config;
  store: Store;
  logger?: Logger;
  clock?: Clock;
  metrics?: Metrics;
  pushes?: PushEmitter;
  onMessage?: MessageHandler[];
  platform?: Platform;
  /** Refusal log lines per reason per interval (default 10 per 10 s), then one summary line. */
  refusalLog?: { perInterval: number; intervalMs: number };
  /** Typed message handlers; default a new, empty router. */
  router?: MessageRouter;
  /** Default: shared through Redis when WXOPEN_REDIS_URL is set, else in-process. */
  dedupe?: MessageDedupe;
}

export interface WxOpenApp {
  app: FastifyInstance;
  context: AppContext;
  /** The authorizer-message pipeline: `messages.settled()` waits for background replies. */
  messages: MessagePipeline;
  /** The push URLs without HTTP: what the fast path, the routes and the adapters (`wxopen/web`, …) answer with. */
  push: PushEndpoint;
}

/** Builds the HTTP app without listening (tests use `app.inject()`; `listen` is the caller's). */
export async function buildApp(options: BuildAppOptions): Promise<WxOpenApp> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
  const refusals = new LogLimiter({ perInterval: 10, intervalMs: 10_000, ...options.refusalLog, clock, logger });
  const router = options.router ?? new MessageRouter();
  for (const handler of options.onMessage ?? []) router.on('*', (m) => handler(m));
  const dedupe =
    options.dedupe ??
    (options.config.redisUrl
      ? RedisMessageDedupe.fromUrl(options.config.redisUrl, `wxopen:msg:${options.config.componentAppid}:`, (err) =>
          logger.warn(errorFields(err), 'message dedupe: Redis unavailable; relying on the message log'),
        )
      : new MemoryMessageDedupe(clock));
  const context: AppContext = {
    config: options.config,
    store: options.store,
    logger,
    clock,
    // One registry: the platform's credential and upstream metrics are served by this app's /metrics.
    metrics: options.metrics ?? options.platform?.ctx.metrics ?? createMetrics(),
    pushes: options.pushes ?? new PushEmitter(),
    onMessage: options.onMessage ?? [],
    refusals,
    router,
    dedupe,
    platform: options.platform,
  };
  const handlers = createPushHandlers(context);
  const trust = trustFunction(config.trustProxy);
  // A database outage is logged once by the tracker, and answered with what it is rather than 'internal'.
  const outage = databaseOutage(options.store, logger);
  const push = createPushEndpoint(handlers, { bodyLimit: config.bodyLimitBytes, bodyTimeoutMs: config.pushTimeoutMs, logger, outage });
  const fastPush = createFastPush(push, { logger, trust });
  const app = Fastify({
    // Pushes are answered by the fast path before Fastify's pipeline; everything else goes on to Fastify.
    // The factory applies the same server options Fastify's own factory would (it skips them for ours).
    serverFactory: (handler, fastifyOptions) => {
      const opts = fastifyOptions as { http?: ServerOptions; requestTimeout?: number; keepAliveTimeout?: number; connectionTimeout?: number; maxRequestsPerSocket?: number };
      const serverOptions: ServerOptions = {
        ...opts.http,
        requestTimeout: opts.requestTimeout,
        headersTimeout: config.headersTimeoutMs,
        keepAliveTimeout: opts.keepAliveTimeout,
        // Node checks the two timeouts above only this often (30 s by default).
        connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(config.headersTimeoutMs / 4))),
      };
      const server = createServer(serverOptions, (req, res) => fastPush(req, res) || handler(req, res));
      if (opts.connectionTimeout) server.setTimeout(opts.connectionTimeout);
      if (opts.maxRequestsPerSocket) server.maxRequestsPerSocket = opts.maxRequestsPerSocket;
      return server;
    },
    loggerInstance: logger as FastifyBaseLogger,
    // Each push logs one structured line of its own; per-request access lines would double them.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    // Never by default: anyone can write X-Forwarded-For (the operator names the proxies).
    trustProxy: config.trustProxy === false ? false : trust,
  });

  // Bounded shutdown: Fastify closes idle keep-alive sockets at once; a client still sending (a slow
  // loris, half a body) gets `shutdownGraceMs`, then every connection is cut.
  let graceTimer: NodeJS.Timeout | undefined;
  const refusalFlush = setInterval(() => refusals.flush(), 10_000);
  refusalFlush.unref();
  app.addHook('preClose', (done) => {
    graceTimer = setTimeout(() => app.server.closeAllConnections(), config.shutdownGraceMs);
    graceTimer.unref();
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    clearTimeout(graceTimer);
    clearInterval(refusalFlush);
    refusals.flush(true);
    done();
  });

  // Per-request child loggers cost ~13 µs each (pino re-runs redaction on their bindings); every
  // line we log carries its own fields, so requests share the app logger.
  app.setChildLoggerFactory((parent) => parent);

  // WeChat posts XML with varying content types (text/xml, application/xml, none): keep every body as
  // the raw string the signature was computed over.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  // A browser at an address that is not a page gets one (in its language); anything else gets the JSON
  // every other refusal here has, not Fastify's own shape.
  app.setNotFoundHandler((request, reply) => {
    if (wantsPage(request)) {
      const lang = requestLang(request);
      return reply.code(404).type('text/html; charset=utf-8').send(errorPage(lang, 'not_found', { againText: messages(lang).toAuthorize }));
    }
    // The path only: a query (a push's signature, a code) is not echoed back to whoever sent it to the wrong place.
    const path = request.url.split('?', 1)[0]!.slice(0, 200);
    // HEAD is named as GET so that its Content-Length is the one GET's body has.
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    return reply.code(404).send({ error: 'WXO_ERR_NOT_FOUND', message: `no route ${method} ${path}` });
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (request.url.startsWith('/wechat/') && status === 413) {
      const a = handlers.tooLarge(request.url.startsWith('/wechat/component') ? 'component' : 'authorizer', () => request.ip);
      return reply.code(a.status).type(a.contentType).send(a.body);
    }
    const unavailable = outage.failed(error);
    // Anyone can reach this listener: the database's host and name are for the operator's log and API only.
    if (unavailable) return reply.code(503).send({ error: unavailable.code, message: 'the database is unreachable; try again shortly' });
    if (status >= 500) {
      logger.error({ err: error, url: request.url }, 'request failed');
      return reply.code(status === 500 ? 503 : status).send({ error: 'WXO_ERR_INTERNAL', message: 'temporarily unavailable' });
    }
    refusals.warn(error.code ?? `http_${status}`, { code: error.code, url: request.url.slice(0, 200), status }, error.message);
    return reply.code(status).send({ error: error.code ?? 'WXO_ERR_BAD_REQUEST', message: error.message });
  });

  app.addHook('onClose', async () => {
    await handlers.messages.settled();
    if (options.dedupe === undefined) await dedupe.close();
  });

  await app.register(async (scope) => healthRoutes(scope, context));
  faviconRoute(app);
  await app.register(async (scope) => pushRoutes(scope, push));
  const { platform } = context;
  if (platform) {
    platform.attachPushHandlers(context.pushes);
    context.pushes.onError((error, event) => logger.error({ err: error, type: event.type }, 'push handler failed'));
    await app.register(async (scope) => authorizeRoutes(scope, { ...context, platform }));
    await app.register(async (scope) => merchantApiRoutes(scope, { ...context, platform }));
  }
  return { app, context, messages: handlers.messages, push };
}
