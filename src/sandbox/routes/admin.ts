import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SandboxContext } from '../context.js';
import type { SandboxControls } from '../controls.js';
import { WxReject } from '../errors.js';
import type { Fault } from '../faults.js';
import type { AuditOutcome } from '../options.js';

export const ADMIN_PREFIX = '/sandbox/admin';

class AdminError extends Error {}

function body(request: FastifyRequest): Record<string, unknown> {
  const raw = typeof request.body === 'string' ? request.body.trim() : '';
  if (raw === '') return {};
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new AdminError('body must be a JSON object');
}

function str(b: Record<string, unknown>, name: string, required = true): string | undefined {
  const v = b[name];
  if (typeof v === 'string' && v !== '') return v;
  if (required) throw new AdminError(`${name} (string) is required`);
  return undefined;
}

/** Why a state-changing admin request looks cross-site, or undefined when it is acceptable. */
export function crossSiteRefusal(request: FastifyRequest): string | undefined {
  const host = request.headers.host;
  for (const header of ['origin', 'referer'] as const) {
    const value = request.headers[header];
    if (value === undefined || value === '') continue;
    let sameOrigin = false;
    try {
      sameOrigin = value !== 'null' && host !== undefined && new URL(value).host === host;
    } catch {
      sameOrigin = false;
    }
    if (!sameOrigin) return `cross-site request refused (${header} ${value} is not this sandbox)`;
    // One same-origin header is enough: browsers send Origin on every cross-origin POST.
    break;
  }
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const length = Number(request.headers['content-length'] ?? '0');
  const hasBody = length > 0 || request.headers['transfer-encoding'] !== undefined;
  if (type === '' ? hasBody : type !== 'application/json') return `admin calls take application/json${type ? `, not ${type}` : ''}`;
  return undefined;
}

/**
 * Operator endpoints, the HTTP twin of `SandboxControls`. Not part of WeChat: not counted, never
 * faulted. Errors answer 400 `{error}`.
 */
export async function adminRoutes(app: FastifyInstance, ctx: SandboxContext, controls: SandboxControls): Promise<void> {
  const { state } = ctx;
  const p = (path: string) => `${ADMIN_PREFIX}${path}`;

  // State-changing admin calls come from scripts and curl, never from another site's page: refuse
  // the shapes a cross-site form or no-cors fetch can send, and any foreign Origin/Referer.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return;
    if (!request.url.startsWith(ADMIN_PREFIX)) return;
    const refusal = crossSiteRefusal(request);
    if (refusal) return reply.code(403).send({ error: refusal });
  });

  app.setErrorHandler((error, _request, reply: FastifyReply) => {
    if (error instanceof AdminError || error instanceof TypeError) return reply.code(400).send({ error: error.message });
    if (error instanceof WxReject) return reply.code(400).send({ error: error.message, errcode: error.errcode });
    // Fastify's own refusals (a body over the limit: 413, bad JSON: 400) keep their status; only a bug is a 500.
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return reply.code(status).send({ error: (error as Error).message });
    return reply.code(500).send({ error: (error as Error).message });
  });

  app.get(p(''), async () => ({
    endpoints: [
      'GET  /sandbox/admin/state',
      'GET  /sandbox/admin/accounts',
      'GET  /sandbox/admin/clock',
      'POST /sandbox/admin/clock/advance {"seconds":N}',
      'GET  /sandbox/admin/counters',
      'POST /sandbox/admin/counters/reset',
      'GET  /sandbox/admin/faults',
      'POST /sandbox/admin/faults {"path","type":"latency|system_busy|http_error|drop|rate_limit|body|ip_not_whitelisted","ms"?,"status"?,"perMinute"?,"body"?,"times"?,"appid"?}',
      'DELETE /sandbox/admin/faults[?path=]',
      'POST /sandbox/admin/push-ticket',
      'POST /sandbox/admin/authorize {"appid","func_ids"?}',
      'POST /sandbox/admin/revoke {"appid"}',
      'POST /sandbox/admin/js-code {"appid","openid"?}',
      'POST /sandbox/admin/message {"appid","fields":{...}}',
      'POST /sandbox/admin/messages {"appid","from"?,"type":"text|image|voice|video|shortvideo|location|link|event|…","content"?,"event"?,"event_key"?,"fields"?}',
      'POST /sandbox/admin/release-test {"appid","event"?}',
      'GET  /sandbox/admin/sent-messages[?appid=]',
      'GET  /sandbox/admin/pushes',
      'POST /sandbox/admin/platform {"componentPushUrl","authorizerPushUrl"}',
      'POST /sandbox/admin/refresh-token-mode {"mode":"stable|rotate","graceSeconds"?}',
      'POST /sandbox/admin/audit-outcome {"appid","outcome":"success|fail|delay","reason"?}',
      'POST /sandbox/admin/drafts {"user_version"?,"user_desc"?}',
    ],
  }));

  app.get(p('/state'), async () => ({
    component_appid: state.component.appid,
    now: ctx.clock.now(),
    clock_offset_ms: ctx.clock.offset(),
    platform: state.platform ?? null,
    settings: state.settings,
    latest_ticket: state.latestTicket ?? null,
    authorizations: [...state.authorizations.values()].map((a) => ({
      appid: a.appid,
      func_ids: a.funcIds,
      revoked: a.revoked,
      auth_time: Math.floor(a.authTime / 1000),
    })),
    templates: state.templates.templates.length,
    drafts: state.templates.drafts.length,
  }));

  app.get(p('/accounts'), async () => ({ accounts: [...state.accounts.values()] }));
  app.get(p('/clock'), async () => ({ now: ctx.clock.now(), offset_ms: ctx.clock.offset() }));
  app.post(p('/clock/advance'), async (request) => {
    const seconds = body(request).seconds;
    if (typeof seconds !== 'number' || !(seconds >= 0)) throw new AdminError('seconds (number >= 0) is required');
    await controls.advance(seconds * 1000);
    return { now: ctx.clock.now(), offset_ms: ctx.clock.offset() };
  });

  app.get(p('/counters'), async () => ctx.counters.all());
  app.post(p('/counters/reset'), async () => {
    ctx.counters.reset();
    return { ok: true };
  });

  app.get(p('/faults'), async () => ({ faults: controls.faults.list() }));
  app.post(p('/faults'), async (request) => {
    const { path, ...fault } = body(request);
    if (typeof path !== 'string' || path === '') throw new AdminError('path (string) is required');
    controls.faults.set(path, fault as unknown as Fault);
    return { faults: controls.faults.list() };
  });
  app.delete(p('/faults'), async (request) => {
    const path = (request.query as Record<string, unknown>).path;
    controls.faults.clear(typeof path === 'string' ? path : undefined);
    return { faults: controls.faults.list() };
  });

  app.post(p('/push-ticket'), async () => ({ ticket: await controls.pushTicket() }));
  app.post(p('/authorize'), async (request) => {
    const b = body(request);
    const funcIds = b.func_ids;
    if (funcIds !== undefined && (!Array.isArray(funcIds) || funcIds.some((id) => !Number.isInteger(id)))) {
      throw new AdminError('func_ids must be an array of integers');
    }
    const r = await controls.authorize(str(b, 'appid')!, funcIds as number[] | undefined);
    return { auth_code: r.authCode, expires_in: r.expiresIn, pre_auth_code: r.preAuthCode, event: r.event ?? null, delivery: r.delivery ?? null };
  });
  app.post(p('/revoke'), async (request) => ({ delivery: await controls.revoke(str(body(request), 'appid')!) }));
  app.post(p('/js-code'), async (request) => {
    const b = body(request);
    const { code, openid } = controls.mintJsCode(str(b, 'appid')!, str(b, 'openid', false));
    return { js_code: code, openid };
  });
  app.post(p('/message'), async (request) => {
    const b = body(request);
    const fields = b.fields ?? {};
    if (typeof fields !== 'object' || fields === null) throw new AdminError('fields must be an object');
    return controls.sendMessage(str(b, 'appid')!, fields as Record<string, string | number>);
  });
  app.post(p('/messages'), async (request) => {
    const b = body(request);
    const appid = str(b, 'appid')!;
    const type = str(b, 'type')!;
    const extra = b.fields ?? {};
    if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) throw new AdminError('fields must be an object');
    const fields: Record<string, string | number> = { ...(extra as Record<string, string | number>), MsgType: type };
    const from = str(b, 'from', false);
    if (from !== undefined) fields.FromUserName = from;
    const content = str(b, 'content', false);
    if (content !== undefined) fields.Content = content;
    if (type === 'event') fields.Event = str(b, 'event')!;
    const eventKey = str(b, 'event_key', false);
    if (eventKey !== undefined) fields.EventKey = eventKey;
    if (type === 'text' && fields.Content === undefined) throw new AdminError('content (string) is required for a text message');
    return controls.sendMessage(appid, fields);
  });
  app.post(p('/release-test'), async (request) => {
    const b = body(request);
    return controls.runReleaseTest(str(b, 'appid')!, { ...(str(b, 'event', false) !== undefined && { event: str(b, 'event', false)! }) });
  });
  app.get(p('/sent-messages'), async (request) => {
    const appid = (request.query as Record<string, unknown>).appid;
    return { messages: controls.sentMessages(typeof appid === 'string' ? appid : undefined) };
  });
  app.get(p('/pushes'), async () => ({ pushes: state.pushLog }));
  app.post(p('/platform'), async (request) => {
    const b = body(request);
    const authorizerPushUrl = str(b, 'authorizerPushUrl')!;
    if (!authorizerPushUrl.includes('$APPID$')) throw new AdminError('authorizerPushUrl must contain $APPID$');
    const entryDomain = str(b, 'entryDomain', false);
    controls.setPlatform({ componentPushUrl: str(b, 'componentPushUrl')!, authorizerPushUrl, ...(entryDomain !== undefined && { entryDomain }) });
    return { platform: state.platform };
  });
  app.post(p('/refresh-token-mode'), async (request) => {
    const b = body(request);
    if (b.mode !== 'stable' && b.mode !== 'rotate') throw new AdminError('mode must be stable or rotate');
    const grace = b.graceSeconds;
    if (grace !== undefined && (typeof grace !== 'number' || grace < 0)) throw new AdminError('graceSeconds must be a number >= 0');
    controls.setRefreshTokenMode(b.mode, grace === undefined ? undefined : grace * 1000);
    return { mode: state.settings.refreshTokenMode, grace_ms: state.settings.refreshTokenGraceMs };
  });
  app.post(p('/audit-outcome'), async (request) => {
    const b = body(request);
    const outcome = b.outcome;
    if (outcome !== 'success' && outcome !== 'fail' && outcome !== 'delay') throw new AdminError('outcome must be success, fail or delay');
    controls.setAuditOutcome(str(b, 'appid')!, outcome as AuditOutcome, str(b, 'reason', false));
    return { ok: true };
  });
  app.post(p('/drafts'), async (request) => {
    const b = body(request);
    return { draft: controls.addDraft({ ...(typeof b.user_version === 'string' && { user_version: b.user_version }), ...(typeof b.user_desc === 'string' && { user_desc: b.user_desc }) }) };
  });
}
