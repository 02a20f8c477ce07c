import type { FastifyInstance } from 'fastify';
import { AuthorizerNotFoundError } from '../../errors.js';
import type { AdminContext, RouteAuth } from '../context.js';
import { canRead } from '../credentials.js';
import { allAuthorizers, authorizerView, matches, type AccountType } from '../views.js';
import { appidParam, authErrors, authorizerSchema, errorSchema, pushSchema, security } from './schemas.js';
import { errorFields } from '../../util/log-error.js';

const read: RouteAuth = { access: 'bearer', scope: 'authorizers:read' };
const write: RouteAuth = { access: 'bearer', scope: 'authorizers:write' };

export async function authorizerApi(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const { store, config, platform } = ctx;
  const c = config.componentAppid;

  app.get<{ Querystring: { type?: AccountType; status?: string; permission?: number; q?: string; limit?: number; offset?: number } }>(
    '/api/v1/authorizers',
    {
      config: read,
      schema: {
        tags: ['authorizers'],
        summary: 'List authorizers, filtered by type, status, granted permission set or a search string',
        security,
        querystring: {
          type: 'object',
          properties: {
            type: { type: 'string', enum: ['official', 'miniprogram', 'unknown'] },
            status: { type: 'string', enum: ['authorized', 'needs_reauthorization', 'unauthorized', 'missing_upstream'] },
            permission: { type: 'integer', minimum: 0, description: 'permission-set id (func_info) the authorizer must have granted' },
            q: { type: 'string', maxLength: 100, description: 'substring of appid, name, gh_ id or principal' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
            offset: { type: 'integer', minimum: 0, default: 0 },
          },
        },
        response: { 200: { type: 'object', properties: { total: { type: 'integer' }, authorizers: { type: 'array', items: authorizerSchema } } }, 400: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const q = req.query;
      const all = (await allAuthorizers(store, c)).filter((r) => canRead(req.principal!, r.authorizerAppid) && matches(r, q));
      const offset = q.offset ?? 0;
      return { total: all.length, authorizers: all.slice(offset, offset + (q.limit ?? 100)).map(authorizerView) };
    },
  );

  app.get<{ Params: { appid: string } }>(
    '/api/v1/authorizers/:appid',
    {
      config: read,
      schema: {
        tags: ['authorizers'],
        summary: 'One authorizer: profile (api_get_authorizer_info), permission sets, token expiry, recent events',
        security,
        params: appidParam,
        response: {
          200: {
            type: 'object',
            properties: {
              ...authorizerSchema.properties,
              profile: { type: ['object', 'null'], additionalProperties: true },
              recent_events: { type: 'array', items: pushSchema },
            },
          },
          404: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req) => {
      const { appid } = req.params;
      const r = canRead(req.principal!, appid) ? await store.getAuthorizer(c, appid) : undefined;
      if (!r) throw new AuthorizerNotFoundError(appid);
      const pushes = (await store.listPushes(c, { limit: 200 })).filter((p) => p.authorizerAppid === appid).slice(0, 20);
      return {
        ...authorizerView(r),
        profile: r.info,
        recent_events: pushes.map((p) => ({ id: p.id, info_type: p.infoType, authorizer_appid: p.authorizerAppid, create_time: p.createTime, received_at: new Date(p.receivedAt).toISOString() })),
      };
    },
  );

  app.post<{ Params: { appid: string } }>(
    '/api/v1/authorizers/:appid/refresh',
    {
      config: write,
      schema: {
        tags: ['authorizers'],
        summary: 'Force a refresh of the access token and of the profile',
        security,
        params: appidParam,
        response: { 200: { type: 'object', properties: { authorizer_appid: { type: 'string' }, access_token_expires_at: { type: 'string' } } }, 404: errorSchema, 409: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const { appid } = req.params;
      if (!canRead(req.principal!, appid)) throw new AuthorizerNotFoundError(appid);
      const info = await platform.authorizers.info(appid, { force: true });
      await platform.refreshAuthorizerInfo(appid).catch((err: unknown) => ctx.logger.warn({ ...errorFields(err), authorizerAppid: appid }, 'api_get_authorizer_info failed'));
      await ctx.audit(req.principal!, 'authorizer.refresh', appid);
      return { authorizer_appid: appid, access_token_expires_at: new Date(info.expiresAt).toISOString() };
    },
  );

  const optionSchema = {
    tags: ['authorizers'],
    security,
    params: { type: 'object', required: ['appid', 'name'], properties: { ...appidParam.properties, name: { type: 'string', enum: ['location_report', 'voice_recognize', 'customer_service'] } } },
    response: { 200: { type: 'object', properties: { authorizer_appid: { type: 'string' }, option_name: { type: 'string' }, option_value: { type: 'string' } } }, 404: errorSchema, ...authErrors },
  };
  app.get<{ Params: { appid: string; name: string } }>(
    '/api/v1/authorizers/:appid/options/:name',
    { config: read, schema: { ...optionSchema, summary: 'Read an authorizer option (api_get_authorizer_option)' } },
    async (req) => {
      const { appid, name } = req.params;
      if (!canRead(req.principal!, appid)) throw new AuthorizerNotFoundError(appid);
      const r = await platform.callComponent<{ option_value: string | number }>({
        method: 'POST',
        path: '/cgi-bin/component/api_get_authorizer_option',
        body: { component_appid: c, authorizer_appid: appid, option_name: name },
      });
      return { authorizer_appid: appid, option_name: name, option_value: String(r.option_value) };
    },
  );
  app.put<{ Params: { appid: string; name: string }; Body: { value: string } }>(
    '/api/v1/authorizers/:appid/options/:name',
    {
      config: write,
      schema: { ...optionSchema, summary: 'Set an authorizer option (api_set_authorizer_option)', body: { type: 'object', required: ['value'], properties: { value: { type: 'string', pattern: '^\\d{1,2}$' } } } },
    },
    async (req) => {
      const { appid, name } = req.params;
      if (!canRead(req.principal!, appid)) throw new AuthorizerNotFoundError(appid);
      await platform.callComponent({
        method: 'POST',
        path: '/cgi-bin/component/api_set_authorizer_option',
        body: { component_appid: c, authorizer_appid: appid, option_name: name, option_value: req.body.value },
      });
      await ctx.audit(req.principal!, 'authorizer.option', appid, { name, value: req.body.value });
      return { authorizer_appid: appid, option_name: name, option_value: req.body.value };
    },
  );
}
