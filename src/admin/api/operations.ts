import type { FastifyInstance } from 'fastify';
import { AdminForbiddenError, AdminNotAvailableError, AdminNotFoundError } from './errors.js';
import type { AdminContext } from '../context.js';
import { keyView, SCOPES, type Scope } from '../credentials.js';
import { authErrors, errorSchema, keySchema, pushSchema, reconcileReportSchema, security } from './schemas.js';
import { APPID_PATTERN } from '../../util/appid.js';

/** WeChat pushes every 10 min; a ticket is usable 12 h (spec 3.9). */
const TICKET_STALE_S = 30 * 60;
const TICKET_TTL_S = 12 * 3600;


export async function ticketStatus(ctx: AdminContext): Promise<{ status: 'missing' | 'fresh' | 'stale' | 'expired'; ageSeconds: number | null; receivedAt: number | null }> {
  const t = await ctx.store.getTicket(ctx.config.componentAppid);
  if (!t) return { status: 'missing', ageSeconds: null, receivedAt: null };
  const age = Math.max(0, Math.round((ctx.clock.now() - t.receivedAt) / 1000));
  return { status: age > TICKET_TTL_S ? 'expired' : age > TICKET_STALE_S ? 'stale' : 'fresh', ageSeconds: age, receivedAt: t.receivedAt };
}

export async function operationsApi(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const { store, config } = ctx;
  const c = config.componentAppid;

  // The banner prints this address: its root says where the description is instead of a bare 404.
  app.get(
    '/api/v1',
    {
      config: { access: 'any' },
      schema: {
        tags: ['status'],
        summary: 'The API root: where its OpenAPI document and its reference pages are',
        security,
        response: { 200: { type: 'object', properties: { name: { type: 'string' }, openapi: { type: 'string' }, docs: { type: 'string' } }, required: ['name', 'openapi', 'docs'] }, ...authErrors },
      },
    },
    async () => ({ name: 'wxopen operator API', openapi: '/docs/json', docs: '/docs' }),
  );

  app.get<{ Querystring: { info_type?: string; authorizer_appid?: string; limit?: number } }>(
    '/api/v1/pushes',
    {
      config: { access: 'bearer', scope: 'pushes:read' },
      schema: {
        tags: ['pushes'],
        summary: 'Authorization-event pushes received (newest first); tickets are state, not history',
        security,
        querystring: {
          type: 'object',
          properties: {
            info_type: { type: 'string', maxLength: 64 },
            authorizer_appid: { type: 'string', maxLength: 32 },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          },
        },
        response: { 200: { type: 'object', properties: { pushes: { type: 'array', items: pushSchema } } }, ...authErrors },
      },
    },
    async (req) => {
      const { info_type, authorizer_appid, limit = 50 } = req.query;
      const p = req.principal!;
      const rows = await store.listPushes(c, { infoType: info_type, limit: authorizer_appid || p.authorizers ? 1000 : limit });
      const visible = rows.filter((r) => (!authorizer_appid || r.authorizerAppid === authorizer_appid) && (p.authorizers === null || (r.authorizerAppid !== null && p.authorizers.includes(r.authorizerAppid))));
      return {
        pushes: visible.slice(0, limit).map((r) => ({ id: r.id, info_type: r.infoType, authorizer_appid: r.authorizerAppid, create_time: r.createTime, received_at: new Date(r.receivedAt).toISOString() })),
      };
    },
  );

  app.get<{ Querystring: { authorizer_appid?: string; limit?: number } }>(
    '/api/v1/messages',
    {
      config: { access: 'bearer', scope: 'pushes:read' },
      schema: {
        tags: ['pushes'],
        summary: 'User messages and events received at the message URL (the message log), newest first',
        security,
        querystring: { type: 'object', properties: { authorizer_appid: { type: 'string', maxLength: 32 }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } } },
        response: { 200: { type: 'object', properties: { messages: { type: 'array', items: { type: 'object', additionalProperties: true } } } }, 501: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      if (!ctx.listMessages) throw new AdminNotAvailableError('the message log is not available in this build; GET /api/v1/pushes lists authorization events');
      const p = req.principal!;
      const a = req.query.authorizer_appid;
      if (p.authorizers !== null && (!a || !p.authorizers.includes(a))) throw new AdminForbiddenError('this key must name one of its authorizers (authorizer_appid)');
      return { messages: await ctx.listMessages({ authorizerAppid: a, limit: req.query.limit ?? 50 }) };
    },
  );

  app.get(
    '/api/v1/status',
    {
      config: { access: 'bearer', scope: 'status:read' },
      schema: {
        tags: ['status'],
        summary: 'Ticket, component token and authorizer counts',
        security,
        response: {
          200: {
            type: 'object',
            properties: {
              mode: { type: 'string' },
              component_appid: { type: 'string' },
              ticket: { type: 'object', properties: { status: { type: 'string', enum: ['missing', 'fresh', 'stale', 'expired'] }, age_seconds: { type: ['integer', 'null'] }, received_at: { type: ['string', 'null'] }, hint: { type: 'string' } } },
              component_token: { type: 'object', properties: { status: { type: 'string', enum: ['none', 'valid', 'expired'] }, expires_at: { type: ['string', 'null'] }, obtained_at: { type: ['string', 'null'] } } },
              authorizers: { type: 'object', additionalProperties: { type: 'integer' } },
              last_reconcile: { anyOf: [{ type: 'null' }, reconcileReportSchema] },
            },
          },
          ...authErrors,
        },
      },
    },
    async () => {
      const [ticket, token, counts] = await Promise.all([ticketStatus(ctx), store.getComponentToken(c), store.countAuthorizers(c)]);
      const now = ctx.clock.now();
      return {
        mode: config.mode,
        component_appid: c,
        ticket: {
          status: ticket.status,
          age_seconds: ticket.ageSeconds,
          received_at: ticket.receivedAt === null ? null : new Date(ticket.receivedAt).toISOString(),
          ...(ticket.status !== 'fresh' && { hint: `WeChat must be able to POST to ${config.publicUrl}/wechat/component` }),
        },
        component_token: {
          status: !token ? 'none' : token.expiresAt > now ? 'valid' : 'expired',
          expires_at: token ? new Date(token.expiresAt).toISOString() : null,
          obtained_at: token ? new Date(token.obtainedAt).toISOString() : null,
        },
        authorizers: counts,
        last_reconcile: ctx.lastReconcile ?? null,
      };
    },
  );

  app.post(
    '/api/v1/reconcile',
    {
      config: { access: 'bearer', scope: 'reconcile' },
      schema: {
        tags: ['reconciliation'],
        summary: 'Page through api_get_authorizer_list and fix drift both ways; answers the report',
        security,
        response: { 200: reconcileReportSchema, ...authErrors },
      },
    },
    async (req) => ctx.runReconcile(req.principal!),
  );
  app.get(
    '/api/v1/reconcile',
    {
      config: { access: 'bearer', scope: 'reconcile' },
      schema: { tags: ['reconciliation'], summary: 'The last reconciliation report of this process', security, response: { 200: reconcileReportSchema, 404: errorSchema, ...authErrors } },
    },
    async () => {
      if (!ctx.lastReconcile) throw new AdminNotFoundError('no reconciliation has run in this process yet');
      return ctx.lastReconcile;
    },
  );

  // Keys and the audit trail: the operator's own token only.
  const operatorOnly = (p: { operator: boolean }) => {
    if (!p.operator) throw new AdminForbiddenError('only the operator token manages keys');
  };
  app.get(
    '/api/v1/keys',
    { config: { access: 'bearer' }, schema: { tags: ['keys'], summary: 'API keys (never their secrets)', security, response: { 200: { type: 'object', properties: { keys: { type: 'array', items: keySchema } } }, ...authErrors } } },
    async (req) => {
      operatorOnly(req.principal!);
      return { keys: (await ctx.auth.listKeys()).map(keyView) };
    },
  );
  app.post<{ Body: { name: string; scopes: Scope[]; authorizers?: string[] } }>(
    '/api/v1/keys',
    {
      config: { access: 'bearer' },
      schema: {
        tags: ['keys'],
        summary: 'Create a scoped API key; the secret is shown once',
        security,
        body: {
          type: 'object',
          required: ['name', 'scopes'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 64 },
            scopes: { type: 'array', minItems: 1, items: { type: 'string', enum: [...SCOPES] } },
            authorizers: { type: 'array', items: { type: 'string', pattern: APPID_PATTERN }, maxItems: 1000, description: 'limit the key to these authorizers (default all)' },
          },
        },
        response: { 201: { type: 'object', properties: { key: { type: 'string' }, ...keySchema.properties } }, 400: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      operatorOnly(req.principal!);
      const { key, record } = await ctx.auth.createKey({ name: req.body.name, scopes: req.body.scopes, authorizers: req.body.authorizers ?? null });
      await ctx.audit(req.principal!, 'key.create', record.keyId, { scopes: record.scopes });
      return reply.code(201).send({ key, ...keyView(record) });
    },
  );
  app.delete<{ Params: { id: string } }>(
    '/api/v1/keys/:id',
    {
      config: { access: 'bearer' },
      schema: { tags: ['keys'], summary: 'Revoke an API key', security, params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 32 } } }, response: { 200: keySchema, 404: errorSchema, ...authErrors } },
    },
    async (req) => {
      operatorOnly(req.principal!);
      if (!(await ctx.auth.revokeKey(req.params.id))) throw new AdminNotFoundError(`no active key ${req.params.id}`);
      await ctx.audit(req.principal!, 'key.revoke', req.params.id);
      return keyView((await store.getApiKey(c, req.params.id))!);
    },
  );
  app.get<{ Querystring: { key_id?: string; action?: string; target?: string; limit?: number } }>(
    '/api/v1/audit',
    {
      config: { access: 'bearer' },
      schema: {
        tags: ['keys'],
        summary: 'Audit trail: token reads, forced refreshes, keys, links (newest first)',
        security,
        querystring: { type: 'object', properties: { key_id: { type: 'string' }, action: { type: 'string' }, target: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } } },
        response: {
          200: {
            type: 'object',
            properties: {
              entries: {
                type: 'array',
                items: { type: 'object', properties: { id: { type: 'integer' }, at: { type: 'string' }, key_id: { type: 'string' }, action: { type: 'string' }, target: { type: ['string', 'null'] }, detail: { type: ['string', 'null'] } } },
              },
            },
          },
          ...authErrors,
        },
      },
    },
    async (req) => {
      operatorOnly(req.principal!);
      const q = req.query;
      const rows = await store.listAudit(c, { keyId: q.key_id, action: q.action, target: q.target, limit: q.limit ?? 50 });
      return { entries: rows.map((r) => ({ id: r.id, at: new Date(r.at).toISOString(), key_id: r.keyId, action: r.action, target: r.target, detail: r.detail })) };
    },
  );
}
