import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { messages } from '../../i18n/index.js';
import { ticketStatus } from '../api/operations.js';
import type { AdminContext } from '../context.js';
import { OPERATOR_KEY_ID, SCOPES, type Principal } from '../credentials.js';
import { SESSION_COOKIE, safeNext, sameOrigin, sameToken, sessionCookie } from '../session.js';
import { allAuthorizers, matches, type AccountType } from '../views.js';
import { dashLang, LANG_COOKIE } from './lang.js';
import { authorizerMissingPage, authorizerPage, loginPage, messagePage, nav, overviewPage, sandboxPage } from './pages.js';

type Form = Record<string, string | undefined>;

const operator: Principal = { keyId: OPERATOR_KEY_ID, operator: true, scopes: new Set(SCOPES), authorizers: null };

const isSecure = (req: FastifyRequest) => req.protocol === 'https';

/**
 * The dashboard: server-rendered, behind a login. Every state-changing form carries the session's CSRF
 * token and must come from our own origin; the cookie is HttpOnly and SameSite=Strict besides.
 */
export async function dashboardRoutes(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const { store, config, clock } = ctx;
  const c = config.componentAppid;
  const sandbox = ctx.sandboxAdmin !== undefined;
  const hide = { hide: true };

  const csrfOk = (req: FastifyRequest): boolean => req.session !== null && sameOrigin(req) && sameToken((req.body as Form | undefined)?.csrf, req.session.csrf);
  const csrfRefused = (req: FastifyRequest, reply: FastifyReply) =>
    reply.code(403).type('text/html; charset=utf-8').send(messagePage(dashLang(req), '403', 'CSRF check failed: reload the page and try again.'));
  const navFor = (req: FastifyRequest) => nav(dashLang(req), req.session?.csrf, sandbox);

  app.get('/login', { config: { access: 'public' }, schema: hide }, async (req, reply) =>
    reply.type('text/html; charset=utf-8').send(loginPage(dashLang(req), { next: safeNext((req.query as Form).next), expired: (req.query as Form).expired === '1' })),
  );
  app.post('/login', { config: { access: 'public' }, schema: hide }, async (req, reply) => {
    const form = (req.body ?? {}) as Form;
    if (!sameOrigin(req)) return csrfRefused(req, reply);
    await ctx.auth.refresh();
    if (typeof form.token !== 'string' || !ctx.auth.isOperatorToken(form.token)) {
      ctx.logger.warn({ ip: req.ip }, 'dashboard sign-in refused');
      return reply.code(401).type('text/html; charset=utf-8').send(loginPage(dashLang(req), { next: safeNext(form.next), failed: true }));
    }
    const { cookie } = ctx.sessions.create(clock.now(), ctx.auth.operatorFingerprint());
    await ctx.audit(operator, 'dashboard.login', null);
    return reply.header('set-cookie', sessionCookie(cookie, isSecure(req))).redirect(safeNext(form.next), 303);
  });
  app.post('/logout', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    if (!csrfOk(req)) return csrfRefused(req, reply);
    return reply.header('set-cookie', sessionCookie('', isSecure(req), 0)).redirect('/login', 303);
  });
  app.get('/lang', { config: { access: 'public' }, schema: hide }, async (req, reply) => {
    const to = (req.query as Form).to === 'en' ? 'en' : 'zh-CN';
    return reply.header('set-cookie', `${LANG_COOKIE}=${to}; Path=/; SameSite=Strict; Max-Age=31536000`).redirect('/', 303);
  });

  app.get('/', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    const q = req.query as Form;
    const lang = dashLang(req);
    const permission = q.permission && /^\d{1,4}$/.test(q.permission) ? Number(q.permission) : undefined;
    const type = q.type === 'official' || q.type === 'miniprogram' ? (q.type as AccountType) : undefined;
    const filter = { q: q.q?.slice(0, 100) || undefined, type, status: q.status || undefined, permission };
    const [ticket, token, counts, pushes, all] = await Promise.all([
      ticketStatus(ctx),
      store.getComponentToken(c),
      store.countAuthorizers(c),
      store.listPushes(c, { limit: 15 }),
      allAuthorizers(store, c),
    ]);
    return reply.type('text/html; charset=utf-8').send(
      overviewPage({
        lang,
        nav: navFor(req),
        now: clock.now(),
        publicUrl: config.publicUrl,
        mode: config.mode,
        componentAppid: c,
        ticket,
        token,
        counts,
        authorizers: all.filter((a) => matches(a, filter)).slice(0, 500),
        totalAuthorizers: all.length,
        filter,
        pushes,
        flagged: all.filter((a) => a.status === 'needs_reauthorization'),
        missing: all.filter((a) => a.status === 'missing_upstream'),
        csrf: req.session!.csrf,
        lastReconcile: ctx.lastReconcile,
        notice: q.done === 'reconcile' ? messages(lang).sandboxDone : undefined,
      }),
    );
  });

  app.get<{ Params: { appid: string } }>('/authorizers/:appid', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    const lang = dashLang(req);
    const record = await store.getAuthorizer(c, req.params.appid);
    if (!record) return reply.code(404).type('text/html; charset=utf-8').send(authorizerMissingPage({ lang, nav: navFor(req), appid: req.params.appid }));
    const [allPushes, recentMessages] = await Promise.all([store.listPushes(c, { limit: 500 }), store.listMessages(c, { authorizerAppid: record.authorizerAppid, limit: 20 })]);
    const pushes = allPushes.filter((p) => p.authorizerAppid === record.authorizerAppid).slice(0, 20);
    const q = req.query as Form;
    return reply.type('text/html; charset=utf-8').send(
      authorizerPage({
        lang,
        nav: navFor(req),
        now: clock.now(),
        record,
        pushes,
        messages: recentMessages,
        csrf: req.session!.csrf,
        notice: q.done === 'refreshed' ? messages(lang).refreshed : undefined,
        error: q.error,
        sandboxBase: ctx.config.mode === 'sandbox' ? ctx.config.mpBase : undefined,
      }),
    );
  });

  app.post<{ Params: { appid: string } }>('/authorizers/:appid/refresh', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    if (!csrfOk(req)) return csrfRefused(req, reply);
    const appid = req.params.appid;
    const back = `/authorizers/${encodeURIComponent(appid)}`;
    try {
      await ctx.platform.authorizers.info(appid, { force: true });
      await ctx.platform.refreshAuthorizerInfo(appid).catch(() => undefined);
      await ctx.audit(operator, 'authorizer.refresh', appid);
      return reply.redirect(`${back}?done=refreshed`, 303);
    } catch (err) {
      return reply.redirect(`${back}?error=${encodeURIComponent((err as Error).message.replace(/^\[wxopen\] /, '').slice(0, 300))}`, 303);
    }
  });

  app.post('/reconcile', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    if (!csrfOk(req)) return csrfRefused(req, reply);
    try {
      await ctx.runReconcile(operator);
      return reply.redirect('/?done=reconcile', 303);
    } catch (err) {
      return reply.code(502).type('text/html; charset=utf-8').send(messagePage(dashLang(req), messages(dashLang(req)).reconcile, (err as Error).message));
    }
  });

  if (!ctx.sandboxAdmin) return;
  const sb = ctx.sandboxAdmin;
  const call = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${sb.url}/sandbox/admin${path}`, {
      method,
      headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(sb.token && { authorization: `Bearer ${sb.token}` }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    let data: Record<string, unknown> = {};
    try {
      data = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // not JSON
    }
    if (!res.ok) throw new Error(`${method} /sandbox/admin${path}: HTTP ${res.status}${typeof data.error === 'string' ? `: ${data.error}` : ''}`);
    return data;
  };

  app.get('/sandbox', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    const q = req.query as Form;
    const lang = dashLang(req);
    let error = q.error;
    let state: Record<string, unknown> = {};
    let faults: unknown[] = [];
    let accounts: Array<{ appid: string; nickName: string }> = [];
    try {
      [state, faults, accounts] = await Promise.all([
        call('GET', '/state'),
        call('GET', '/faults').then((r) => (r.faults as unknown[]) ?? []),
        call('GET', '/accounts').then((r) => (r.accounts as Array<{ appid: string; nickName: string }>) ?? []),
      ]);
    } catch (err) {
      error = (err as Error).message;
    }
    const names = new Map(accounts.map((a) => [a.appid, a.nickName || a.appid]));
    const auths = ((state.authorizations as Array<{ appid: string; revoked: boolean }>) ?? []).map((a) => ({ appid: a.appid, name: names.get(a.appid) ?? a.appid, revoked: a.revoked }));
    return reply.type('text/html; charset=utf-8').send(
      sandboxPage({
        lang,
        nav: navFor(req),
        csrf: req.session!.csrf,
        clock: typeof state.now === 'number' ? { now: state.now, offsetMs: Number(state.clock_offset_ms ?? 0) } : undefined,
        authorizations: auths,
        faults,
        notice: q.done ? messages(lang).sandboxDone : undefined,
        error,
      }),
    );
  });

  app.post<{ Params: { action: string } }>('/sandbox/:action', { config: { access: 'session' }, schema: hide }, async (req, reply) => {
    if (!csrfOk(req)) return csrfRefused(req, reply);
    const f = (req.body ?? {}) as Form;
    try {
      switch (req.params.action) {
        case 'revoke':
          await call('POST', '/revoke', { appid: f.appid });
          break;
        case 'advance':
          await call('POST', '/clock/advance', { seconds: Number(f.seconds) });
          break;
        case 'fault':
          await call('POST', '/faults', { path: f.path, type: f.type, times: Number(f.times ?? 1) || 1, ...(f.type === 'http_error' && { status: 502 }), ...(f.type === 'latency' && { ms: 2000 }), ...(f.type === 'rate_limit' && { perMinute: 1 }) });
          break;
        case 'clear-faults':
          await call('DELETE', '/faults');
          break;
        case 'message':
          // The messages sandbox endpoint (POST /sandbox/admin/messages): a user sends a text message.
          await call('POST', '/messages', { appid: f.appid, text: f.text, fields: { MsgType: 'text', Content: f.text ?? '' } });
          break;
        default:
          return reply.code(404).send({ error: 'WXO_ERR_NOT_FOUND' });
      }
      await ctx.audit(operator, `sandbox.${req.params.action}`, f.appid ?? null);
      return reply.redirect('/sandbox?done=1', 303);
    } catch (err) {
      return reply.redirect(`/sandbox?error=${encodeURIComponent((err as Error).message.slice(0, 300))}`, 303);
    }
  });
}
