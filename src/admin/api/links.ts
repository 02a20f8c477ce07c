import type { FastifyInstance } from 'fastify';
import { signLink } from '../../authorize/link.js';
import { WxOpenError } from '../../errors.js';
import type { AdminContext } from '../context.js';
import { authErrors, errorSchema, security } from './schemas.js';
import { APPID_PATTERN } from '../../util/appid.js';

class LinkRequestError extends WxOpenError {
  readonly code = 'WXO_ERR_BAD_REQUEST';
  override readonly statusCode = 400;
}

interface LinkBody {
  state?: string;
  auth_type?: number;
  biz_appid?: string;
  category_list?: number[];
  return_url?: string;
  required_sets?: number[];
  expires_in?: number;
}

/**
 * Authorization links for one merchant. The link is a signed token (src/authorize/link.ts), so the
 * public page honours exactly these parameters and a merchant cannot change them.
 */
export async function linkApi(app: FastifyInstance, ctx: AdminContext): Promise<void> {
  const { config, clock } = ctx;
  app.post<{ Body: LinkBody }>(
    '/api/v1/authorization-links',
    {
      config: { access: 'bearer', scope: 'links:create' },
      schema: {
        tags: ['authorization links'],
        summary: 'Create an authorization link for a merchant',
        description:
          '`auth_type` and `biz_appid` are mutually exclusive (WeChat: send only one); giving both is refused with 400. After the callback the merchant is sent to `return_url` with `authorizer_appid`, `state` and `missing` (permission sets still missing) added before any `#` fragment.',
        security,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', maxLength: 256, description: 'opaque; returned on return_url' },
            auth_type: { type: 'integer', minimum: 1, maximum: 999, description: '1 official accounts only, 2 mini programs only, 3 both' },
            biz_appid: { type: 'string', pattern: APPID_PATTERN, description: 'restrict to this one account' },
            category_list: { type: 'array', items: { type: 'integer', minimum: 1 }, maxItems: 100, description: 'permission-set ids to ask for' },
            return_url: { type: 'string', maxLength: 1024, pattern: '^https?://', description: 'where to send the merchant after the callback' },
            required_sets: { type: 'array', items: { type: 'integer', minimum: 1 }, maxItems: 100, description: 'sets the merchant must grant (default WXOPEN_REQUIRED_PERMISSION_SETS)' },
            expires_in: { type: 'integer', minimum: 60, maximum: 30 * 86400, default: 7 * 86400, description: 'seconds' },
          },
        },
        response: {
          201: { type: 'object', properties: { url: { type: 'string', description: 'our /authorize page for this merchant (PC scan and mobile)' }, expires_at: { type: 'string' } } },
          400: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      if (b.auth_type !== undefined && b.biz_appid !== undefined) {
        throw new LinkRequestError('auth_type and biz_appid are mutually exclusive (send only one)');
      }
      if (b.return_url !== undefined && !URL.canParse(b.return_url)) throw new LinkRequestError('return_url must be an absolute http(s) URL');
      const exp = Math.floor(clock.now() / 1000) + (b.expires_in ?? 7 * 86400);
      const token = signLink(
        { state: b.state, authType: b.auth_type, bizAppid: b.biz_appid, categoryList: b.category_list, returnUrl: b.return_url, requiredSets: b.required_sets, exp },
        config.secretKeys,
      );
      const url = `${config.publicUrl}/authorize?link=${encodeURIComponent(token)}`;
      await ctx.audit(req.principal!, 'link.create', b.biz_appid ?? null, { state: b.state, auth_type: b.auth_type });
      return reply.code(201).send({ url, expires_at: new Date(exp * 1000).toISOString() });
    },
  );
}
