import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { WxOpenError } from '../errors.js';
import { authorizerApi } from './api/authorizers.js';
import { linkApi } from './api/links.js';
import { operationsApi } from './api/operations.js';
import { templateApi } from './api/templates.js';
import { deployApi } from './api/deploys.js';
import { tokenApi } from './api/tokens.js';
import type { AdminContext, AdminDeps } from './context.js';
import { AdminAuth, OPERATOR_KEY_ID, SCOPES, allows, type Principal } from './credentials.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { templatePages } from './dashboard/templates.js';
import { deployPages } from './dashboard/deploys.js';
import { loginPage } from './dashboard/pages.js';
import { reconcileAuthorizers } from './reconcile.js';
import { SESSION_COOKIE, SessionSealer, readCookie, returnPath } from './session.js';
import { dashLang } from './dashboard/lang.js';
import { messages } from '../i18n/index.js';
import { errorPage } from '../server/pages/error-page.js';
import { acceptsHtml, wantsPage } from '../server/pages/layout.js';
import { databaseOutage } from '../store/outage.js';
import { faviconRoute } from '../util/favicon.js';

// The same WXO_ERR_* codes as every other refusal (errors.ts), so a client matches one set of codes.
const UNAUTHORIZED = { error: 'WXO_ERR_UNAUTHORIZED' };

/**
 * Addresses programs read (the API and its OpenAPI document): they answer JSON whatever a browser's Accept
 * says, so a script that sends one (or a browser opening /api/v1) never has to parse a login page.
 */
export function isApiPath(url: string): boolean {
  const path = url.split('?', 1)[0]!;
  return path === '/api' || path.startsWith('/api/') || path === '/docs/json' || path === '/docs/yaml';
}

/** The plugin's policy with inline styles allowed (style-src only: no other directive changes). */
export function docsCsp(header: string): string {
  return header.replace(/style-src ([^;]*)/, (_all, sources: string) => `style-src ${sources.trim()} 'unsafe-inline'`);
}

function bearerOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/**
 * The operator surface: dashboard, /api/v1 (+ OpenAPI at /docs), /metrics. Served on its own listener
 * (loopback by default) so nothing here is reachable where WeChat and merchants are; every route
 * still requires the operator token, a scoped API key, or a dashboard session.
 */
export interface AdminRoute {
  method: string;
  url: string;
  access: string;
}

export async function buildAdminApp(deps: AdminDeps, options: { auth?: AdminAuth } = {}): Promise<{ app: FastifyInstance; context: AdminContext; routes: AdminRoute[] }> {
  const { config, store, logger, clock } = deps;
  const auth = options.auth ?? new AdminAuth(store, config.componentAppid, () => clock.now());
  const context: AdminContext = {
    ...deps,
    // The platform's own jsapi_ticket cache and message log, unless the embedder supplies others.
    jsapiTicket: deps.jsapiTicket ?? ((appid) => deps.platform.jssdk.ticketInfo(appid)),
    listMessages:
      deps.listMessages ??
      (async ({ authorizerAppid, limit }) =>
        (await store.listMessages(config.componentAppid, { authorizerAppid, limit })).map((m) => ({
          id: m.id,
          authorizer_appid: m.authorizerAppid,
          type: m.type,
          from_user: m.fromUser,
          create_time: m.createTime,
          received_at: new Date(m.receivedAt).toISOString(),
          payload: m.payload,
        }))),
    auth,
    sessions: new SessionSealer(config.secretKeys),
    lastReconcile: undefined,
    async audit(principal: Principal, action: string, target: string | null, detail?: Record<string, unknown>) {
      logger.info({ keyId: principal.keyId, action, target }, 'operator action');
      await store.recordAudit({ componentAppid: config.componentAppid, at: clock.now(), keyId: principal.keyId, action, target, detail: detail ? JSON.stringify(detail) : null });
    },
    async runReconcile(principal: Principal) {
      const report = await reconcileAuthorizers(deps.platform);
      context.lastReconcile = report;
      await context.audit(principal, 'reconcile', null, { added: report.added.length, restored: report.restored.length, markedMissing: report.markedMissing.length });
      return report;
    },
  };

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 256 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });
  app.setChildLoggerFactory((parent) => parent);
  // The route table, so tests can check every route refuses an anonymous caller.
  const routes: AdminRoute[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url, access: r.config?.access ?? 'any' });
  });
  app.decorateRequest('principal', null);
  app.decorateRequest('session', null);
  // Dashboard forms post urlencoded; parsed here (the format is small and fixed).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const refuse = (req: FastifyRequest, reply: FastifyReply, access: string): FastifyReply => {
    // A browser gets the login page (then comes back here), at a dashboard page or any address that is not
    // API-only; an API client gets 401 JSON. HEAD gets GET's headers.
    const page = !isApiPath(req.url) && (access === 'session' || (access === 'any' && acceptsHtml(req.headers.accept)));
    if (page && (req.method === 'GET' || req.method === 'HEAD')) {
      return reply.code(401).type('text/html; charset=utf-8').send(loginPage(dashLang(req), { next: req.url }));
    }
    // A form a browser posted after its session ran out: a JSON body would be a dead end for the operator. The
    // login page says why and then returns to the form's page; the form is not replayed (its CSRF token died too).
    if (page && req.method === 'POST' && acceptsHtml(req.headers.accept)) {
      return reply.redirect(`/login?${new URLSearchParams({ next: returnPath(req), expired: '1' })}`, 303);
    }
    return reply.code(401).header('www-authenticate', 'Bearer').send(UNAUTHORIZED);
  };

  app.addHook('onRequest', async (req, reply) => {
    const access = req.routeOptions.config?.access ?? 'any';
    if (access === 'public') return;
    const bearer = bearerOf(req);
    if (bearer !== undefined && access !== 'session') req.principal = (await auth.authenticate(bearer)) ?? null;
    if (!req.principal && access !== 'bearer') {
      await auth.refresh();
      const s = context.sessions.open(readCookie(req, SESSION_COOKIE), clock.now(), auth.operatorFingerprint());
      if (s) {
        req.session = s;
        req.principal = { keyId: OPERATOR_KEY_ID, operator: true, scopes: new Set(SCOPES), authorizers: null };
      }
    }
    if (!req.principal) return refuse(req, reply, access);
    const scope = req.routeOptions.config?.scope;
    if (scope && !allows(req.principal, scope)) return reply.code(403).send({ error: 'WXO_ERR_FORBIDDEN', message: `this key lacks the ${scope} scope` });
  });

  app.setNotFoundHandler((req, reply) => {
    if (wantsPage(req) && !isApiPath(req.url)) {
      const lang = dashLang(req);
      return reply.code(404).type('text/html; charset=utf-8').send(errorPage(lang, 'dashboard_not_found', { againHref: '/', againText: messages(lang).toDashboard }));
    }
    return reply.code(404).send({ error: 'WXO_ERR_NOT_FOUND' });
  });
  const outage = databaseOutage(store, logger);
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    // Logged once per outage by the tracker; the operator is told what is wrong instead of 'internal'.
    const unavailable = outage.failed(error);
    if (unavailable) {
      if (wantsPage(req) && !isApiPath(req.url)) {
        const lang = dashLang(req);
        const again = req.method === 'GET' || req.method === 'HEAD' ? req.url : returnPath(req);
        return reply.code(503).type('text/html; charset=utf-8').send(errorPage(lang, 'database_unavailable', { code: unavailable.code, againHref: again, againText: messages(lang).tryAgain }));
      }
      return reply.code(503).send({ error: unavailable.code, message: unavailable.detail });
    }
    if (error instanceof WxOpenError) {
      if (error.statusCode >= 500 && error.statusCode !== 501 && error.statusCode !== 503) logger.warn({ code: error.code, url: req.url.split('?')[0] }, error.detail);
      // WeChat's errcode (85064, 85065…) and a deploy's validation issues ride along for API clients.
      const { errcode, issues } = error as { errcode?: unknown; issues?: unknown };
      return reply.code(error.statusCode).send({ error: error.code, message: error.detail, ...(typeof errcode === 'number' && { errcode }), ...(Array.isArray(issues) && { issues }) });
    }
    if (error.validation || (error.statusCode && error.statusCode < 500)) {
      return reply.code(error.statusCode ?? 400).send({ error: 'WXO_ERR_BAD_REQUEST', message: error.message });
    }
    logger.error({ err: error, url: req.url.split('?')[0] }, 'admin request failed');
    return reply.code(500).send({ error: 'WXO_ERR_INTERNAL' });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'wxopen operator API',
        version: '1',
        description:
          'The operator surface of a WeChat third-party platform: authorizers, authorization links, pushes, status, reconciliation and the token service. Authenticate with `Authorization: Bearer <WXOPEN_ADMIN_TOKEN or an API key>`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      tags: [
        { name: 'authorizers' },
        { name: 'token service' },
        { name: 'authorization links' },
        { name: 'pushes' },
        { name: 'status' },
        { name: 'reconciliation' },
        { name: 'keys' },
        { name: 'templates' },
        { name: 'deploys' },
      ],
    },
  });
  // Swagger UI applies inline styles as it renders (its policy from the plugin blocked one: a console error on every
  // visit). Inline styles only, and only on /docs; scripts keep the plugin's strict script-src, other pages their own.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, transformStaticCSP: docsCsp });

  await app.register(async (scope) => authorizerApi(scope, context));
  await app.register(async (scope) => tokenApi(scope, context));
  await app.register(async (scope) => linkApi(scope, context));
  await app.register(async (scope) => operationsApi(scope, context));
  await app.register(async (scope) => templateApi(scope, context));
  await app.register(async (scope) => deployApi(scope, context));

  faviconRoute(app, { config: { access: 'public' }, schema: { hide: true } });
  app.get('/metrics', { config: { access: 'any', scope: 'metrics' }, schema: { hide: true } }, async (_req, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(body);
  });
  await app.register(async (scope) => dashboardRoutes(scope, context));
  await app.register(async (scope) => templatePages(scope, context));
  await app.register(async (scope) => deployPages(scope, context));
  return { app, context, routes };
}
