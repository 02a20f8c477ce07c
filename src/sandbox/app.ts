import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { SANDBOX_DEFAULTS } from '../config.js';
import { faviconRoute } from '../util/favicon.js';
import { defaultAccounts } from './accounts.js';
import { createSandboxClock, type SandboxClock } from './clock.js';
import type { SandboxContext } from './context.js';
import { createControls, type SandboxControls } from './controls.js';
import { Counters } from './counters.js';
import { WxReject, wxError } from './errors.js';
import { FaultTable } from './faults.js';
import { callAppid, routePath } from './guards.js';
import { DEFAULT_PLATFORM_DOMAINS, type SandboxComponent, type SandboxOptions } from './options.js';
import { authPageRoutes } from './pages.js';
import { persistSandbox } from './persistence.js';
import { Pusher } from './pusher.js';
import { QuotaBook } from './quotas.js';
import { ADMIN_PREFIX, adminRoutes } from './routes/admin.js';
import { AVATAR_PREFIX, avatarRoutes } from './routes/avatar.js';
import { componentRoutes } from './routes/component.js';
import { miscRoutes } from './routes/misc.js';
import { codeRoutes } from './routes/wxa-code.js';
import { settingsRoutes } from './routes/wxa-settings.js';
import { templateRoutes } from './routes/wxa-template.js';
import { basicRoutes } from './routes/wxa-basic.js';
import { privacyRoutes } from './routes/wxa-privacy.js';
import { officialAccountRoutes } from './routes/oa.js';
import { snsOAuthRoutes } from './routes/sns-oauth.js';
import { Scheduler } from './scheduler.js';
import { SandboxState } from './state.js';
import { TemplateLibrary } from './templates.js';

const BODY_LIMIT_BYTES = 2 * 1024 * 1024;

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export const DEFAULT_SANDBOX_COMPONENT: SandboxComponent = {
  appid: SANDBOX_DEFAULTS.WXOPEN_COMPONENT_APPID,
  secret: SANDBOX_DEFAULTS.WXOPEN_COMPONENT_SECRET,
  token: SANDBOX_DEFAULTS.WXOPEN_TOKEN,
  encodingAesKey: SANDBOX_DEFAULTS.WXOPEN_ENCODING_AES_KEY,
};

export interface SandboxApp {
  app: FastifyInstance;
  context: SandboxContext;
  controls: SandboxControls;
  clock: SandboxClock;
}

/** Builds the simulated WeChat without listening and without the first ticket push (`startSandbox` does both). */
export async function buildSandboxApp(options: SandboxOptions = {}): Promise<SandboxApp> {
  const clock = createSandboxClock(options.clock);
  const templates = new TemplateLibrary(() => Math.floor(clock.now() / 1000));
  const state = new SandboxState(
    options.component ?? DEFAULT_SANDBOX_COMPONENT,
    clock,
    {
      refreshTokenMode: options.refreshTokenMode ?? 'stable',
      refreshTokenGraceMs: options.refreshTokenGraceMs ?? 0,
      ticketIntervalMs: options.ticketIntervalMs ?? 600_000,
      auditDelaySeconds: options.auditDelaySeconds ?? 60,
      auditOutcome: options.auditOutcome ?? 'success',
      preAuthCodeTtlSeconds: options.preAuthCodeTtlSeconds ?? 600,
      privacyCheckSeconds: options.privacyCheckSeconds ?? 0,
      auditQuotaPerMonth: options.auditQuotaPerMonth ?? 20,
      platformDomains: options.platformDomains ?? DEFAULT_PLATFORM_DOMAINS,
      allowRemotePush: options.allowRemotePush ?? false,
      pushTimestamps: options.pushTimestamps ?? 'sandbox',
      entryDomainCheck: options.entryDomainCheck ?? true,
    },
    options.accounts ?? defaultAccounts(),
    templates,
  );
  if (options.platform) state.platform = { ...options.platform };
  state.csWindows.enforce = options.customerServiceWindow ?? true;
  // Two drafts waiting in the draft box, as if a developer had uploaded from DevTools.
  templates.addDraft({ user_version: '1.0.0', user_desc: '首个版本' });
  templates.addDraft({ user_version: '1.1.0', user_desc: '新增会员页', pages: ['pages/index/index', 'pages/member/member'] });

  const pusher = new Pusher(state, options.logger);
  const context: SandboxContext = {
    state,
    clock,
    quotas: new QuotaBook(clock, options.quotas),
    counters: new Counters(clock),
    faults: new FaultTable(clock),
    pusher,
    scheduler: new Scheduler(state, pusher),
    logger: options.logger,
    publicUrl: options.publicUrl?.replace(/\/+$/, ''),
  };
  for (const { path, fault } of options.faults ?? []) context.faults.set(path, fault);
  const persistence = options.stateFile ? persistSandbox(context, options.stateFile, options.logger) : undefined;
  if (persistence) clock.onAdvance(() => persistence.touch());
  const controls = createControls(context);

  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger as FastifyBaseLogger } : { logger: false }),
    bodyLimit: BODY_LIMIT_BYTES,
  });
  // Keep every body as a string: WeChat's own checks (empty body → 44002, bad JSON → 47001) need the raw text.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async () => context.scheduler.tick());
  // WeChat's Date header, from the sandbox clock: advancing it shows a skewed clock to the doctor.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('date', new Date(clock.now()).toUTCString());
  });
  if (persistence) app.addHook('onResponse', async () => persistence.touch());
  app.addHook('preHandler', async (request, reply) => {
    const path = routePath(request);
    if (path.startsWith(ADMIN_PREFIX)) {
      if (options.adminToken !== undefined && !bearerMatches(request.headers.authorization, options.adminToken)) {
        return reply.code(401).send({ error: 'WXO_ERR_UNAUTHORIZED' });
      }
      return;
    }
    // A browser showing an avatar or asking for the icon of the authorization page: not an API call to count or to fault.
    if (path.startsWith(AVATAR_PREFIX) || path === '/favicon.ico') return;
    const appid = callAppid(context, request);
    context.counters.record(path, appid);
    for (const action of context.faults.actionsFor(path, appid)) {
      switch (action.type) {
        case 'latency':
          await new Promise((resolve) => setTimeout(resolve, action.ms));
          break;
        case 'drop':
          reply.hijack();
          request.raw.socket.destroy();
          return reply;
        case 'http_error':
          return reply.code(action.status).type('text/html').send(`<html><body><h1>${action.status}</h1></body></html>`);
        case 'system_busy':
          return reply.send(wxError(-1));
        case 'rate_limited':
          return reply.send(wxError(45011));
        case 'body':
          return reply.type('application/json').send(JSON.stringify(action.body));
        case 'ip_not_whitelisted': {
          // WeChat's wording, with the address the request came from (IPv4-mapped on a dual-stack socket).
          const ip = (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
          return reply.send(wxError(61004, `invalid ip ${ip} ipv6 ::ffff:${ip}, not in whitelist`));
        }
      }
    }
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    if (error instanceof WxReject) return reply.code(200).send(wxError(error.errcode, error.errmsg));
    const status = error.statusCode ?? 500;
    if (status < 500) return reply.code(200).send(wxError(47001));
    options.logger?.error({ err: error, url: request.url }, 'sandbox route failed');
    return reply.code(200).send(wxError(-1));
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(wxError(40066)));

  await app.register(async (scope) => componentRoutes(scope, context));
  await app.register(async (scope) => templateRoutes(scope, context));
  await app.register(async (scope) => codeRoutes(scope, context));
  await app.register(async (scope) => settingsRoutes(scope, context));
  await app.register(async (scope) => miscRoutes(scope, context));
  await app.register(async (scope) => privacyRoutes(scope, context));
  await app.register(async (scope) => basicRoutes(scope, context));
  await app.register(async (scope) => officialAccountRoutes(scope, context));
  await app.register(async (scope) => snsOAuthRoutes(scope, context));
  await app.register(async (scope) => authPageRoutes(scope, context));
  await app.register(async (scope) => avatarRoutes(scope, context));
  faviconRoute(app);
  await app.register(async (scope) => adminRoutes(scope, context, controls));
  app.addHook('onClose', async () => {
    context.scheduler.stop();
    await pusher.settled();
    persistence?.flush();
    persistence?.stop();
  });
  return { app, context, controls, clock };
}
