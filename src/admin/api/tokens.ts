import type { FastifyInstance } from 'fastify';
import { AuthorizerNotFoundError } from '../../errors.js';
import { AdminForbiddenError, AdminNotAvailableError } from './errors.js';
import type { AdminContext, RouteAuth } from '../context.js';
import { canRead } from '../credentials.js';
import { appidParam, authErrors, errorSchema, security } from './schemas.js';

const tokens: RouteAuth = { access: 'bearer', scope: 'tokens:read' };


const tokenAnswer = {
  type: 'object',
  properties: {
    access_token: { type: 'string' },
    expires_at: { type: 'string', format: 'date-time' },
    expires_in: { type: 'integer', description: 'seconds left' },
  },
} as const;

/**
 * The token service: the operator's other services read tokens here instead of calling WeChat, so
 * there is one refresher and no stampede. Every read is logged and audited with the reading key.
 */
export async function tokenApi(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const { platform, clock } = ctx;
  const left = (expiresAt: number) => Math.max(0, Math.floor((expiresAt - clock.now()) / 1000));
  const force = { type: 'object', properties: { force: { type: 'boolean', default: false, description: 'refresh now even if the stored token is valid' } } } as const;

  app.get<{ Params: { appid: string }; Querystring: { force?: boolean } }>(
    '/api/v1/authorizers/:appid/access-token',
    {
      config: tokens,
      schema: {
        tags: ['token service'],
        summary: "An authorizer's access token (refreshed ahead of expiry by one caller across all instances)",
        security,
        params: appidParam,
        querystring: force,
        response: { 200: { type: 'object', properties: { authorizer_appid: { type: 'string' }, ...tokenAnswer.properties } }, 404: errorSchema, 409: errorSchema, 503: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const { appid } = req.params;
      if (!canRead(req.principal!, appid)) throw new AuthorizerNotFoundError(appid);
      const info = await platform.authorizers.info(appid, { force: req.query.force === true });
      await ctx.audit(req.principal!, 'token.read.authorizer', appid, req.query.force ? { force: true } : undefined);
      return { authorizer_appid: appid, access_token: info.token, expires_at: new Date(info.expiresAt).toISOString(), expires_in: left(info.expiresAt) };
    },
  );

  app.get<{ Querystring: { force?: boolean } }>(
    '/api/v1/component/access-token',
    {
      config: tokens,
      schema: {
        tags: ['token service'],
        summary: 'The component_access_token (keys restricted to some authorizers may not read it)',
        security,
        querystring: force,
        response: { 200: { type: 'object', properties: { component_appid: { type: 'string' }, ...tokenAnswer.properties } }, 503: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      if (req.principal!.authorizers !== null) throw new AdminForbiddenError('this key is limited to some authorizers and may not read the component token');
      const info = await platform.component.info({ force: req.query.force === true });
      await ctx.audit(req.principal!, 'token.read.component', platform.componentAppid, req.query.force ? { force: true } : undefined);
      return { component_appid: platform.componentAppid, access_token: info.token, expires_at: new Date(info.expiresAt).toISOString(), expires_in: left(info.expiresAt) };
    },
  );

  app.get<{ Params: { appid: string } }>(
    '/api/v1/authorizers/:appid/jsapi-ticket',
    {
      config: tokens,
      schema: {
        tags: ['token service'],
        summary: "An official account's jsapi_ticket for JS-SDK signatures (cached and refreshed once across instances)",
        security,
        params: appidParam,
        response: { 200: { type: 'object', properties: { authorizer_appid: { type: 'string' }, ticket: { type: 'string' }, expires_at: { type: 'string' }, expires_in: { type: 'integer' } } }, 404: errorSchema, 501: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const { appid } = req.params;
      if (!canRead(req.principal!, appid)) throw new AuthorizerNotFoundError(appid);
      if (!ctx.jsapiTicket) throw new AdminNotAvailableError('no jsapi_ticket provider is configured in this build');
      const t = await ctx.jsapiTicket(appid);
      await ctx.audit(req.principal!, 'token.read.jsapi_ticket', appid);
      return { authorizer_appid: appid, ticket: t.ticket, expires_at: new Date(t.expiresAt).toISOString(), expires_in: left(t.expiresAt) };
    },
  );
}

