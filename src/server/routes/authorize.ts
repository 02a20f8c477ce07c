import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { withQuery } from '../../authorize/link.js';
import type { Platform } from '../../platform.js';
import type { AppContext } from '../context.js';
import { authorizePage } from '../pages/authorize-page.js';
import { callbackPage, missingSets } from '../pages/callback-page.js';
import { linkFromQuery, requestLang, sendPageError, sendThrown } from '../pages/respond.js';

const goQuery = z.object({
  mobile: z.enum(['0', '1']).optional(),
  auth_type: z.string().regex(/^\d{1,3}$/).optional(),
  biz_appid: z.string().regex(/^wx[0-9a-zA-Z]{16}$/).optional(),
  category_list: z.string().regex(/^\d+(\|\d+)*$/).optional(),
  link: z.string().optional(),
  lang: z.string().optional(),
});

/**
 * One-click authorization. WeChat only opens its page when the Referer is the platform's domain, so
 * `/authorize` is a page of ours whose links go through `/authorize/go`, which makes a fresh
 * single-use pre_auth_code and redirects. The callback is a server path (no fragment: spec 4.4).
 * An operator's link (`?link=`, signed) fixes the account type, permission sets and return URL.
 */
export async function authorizeRoutes(app: FastifyInstance, ctx: AppContext & { platform: Platform }): Promise<void> {
  const { platform, config, logger, clock } = ctx;
  const platformName = config.platformName ?? config.componentAppid;

  app.get('/authorize', async (req, reply) => {
    const l = linkFromQuery(req.query, config, clock.now());
    if ('error' in l) return sendPageError(req, reply, l.error);
    return reply.type('text/html; charset=utf-8').send(authorizePage({ lang: requestLang(req), platformName, link: l.link }));
  });

  app.get('/authorize/go', async (req, reply) => {
    const q = goQuery.safeParse(req.query);
    if (!q.success) return sendPageError(req, reply, 'bad_request');
    const l = linkFromQuery(req.query, config, clock.now());
    if ('error' in l) return sendPageError(req, reply, l.error);
    const p = l.link?.params;
    const again = l.link ? `/authorize?link=${encodeURIComponent(l.link.token)}` : '/authorize';
    try {
      const { preAuthCode } = await platform.createPreAuthCode();
      const url = platform.authorizeUrl({
        preAuthCode,
        // The link travels in the callback's own query; WeChat appends auth_code with `&` (spec 4.4).
        redirectUri: `${config.publicUrl}/authorize/callback${l.link ? `?link=${encodeURIComponent(l.link.token)}` : ''}`,
        mobile: q.data.mobile === '1',
        authType: p ? p.authType : q.data.auth_type === undefined ? undefined : Number(q.data.auth_type),
        bizAppid: p ? p.bizAppid : q.data.biz_appid,
        categoryList: p ? p.categoryList : q.data.category_list?.split('|').map(Number),
      });
      return reply.redirect(url, 302);
    } catch (err) {
      return sendThrown(req, reply, err, logger, again);
    }
  });

  app.get('/authorize/callback', async (req, reply) => {
    const authCode = (req.query as Record<string, unknown>).auth_code;
    const l = linkFromQuery(req.query, config, clock.now());
    // An expired link must not lose a completed authorization: the code is still exchanged, only the
    // link's return URL is dropped.
    const link = 'link' in l ? l.link : undefined;
    const again = link ? `/authorize?link=${encodeURIComponent(link.token)}` : '/authorize';
    if (typeof authCode !== 'string' || authCode.length === 0 || authCode.length > 512) {
      return sendPageError(req, reply, 'missing_code', { againHref: again });
    }
    try {
      const exchanged = await platform.queryAuth(authCode, 'callback');
      const record = (await ctx.store.getAuthorizer(config.componentAppid, exchanged.authorizerAppid)) ?? exchanged;
      const required = link?.params.requiredSets ?? config.requiredPermissionSets;
      const missing = missingSets(required, record.funcInfo);
      const returnUrl = link?.params.returnUrl;
      const continueUrl = returnUrl
        ? withQuery(returnUrl, {
            authorizer_appid: record.authorizerAppid,
            ...(link?.params.state !== undefined && { state: link.params.state }),
            ...(missing.length && { missing: missing.join(',') }),
          })
        : undefined;
      if (req.headers.accept?.includes('application/json') && !req.headers.accept.includes('text/html')) {
        return reply.send({ authorizerAppid: record.authorizerAppid, funcInfo: record.funcInfo, missing, continueUrl: continueUrl ?? null });
      }
      return reply
        .type('text/html; charset=utf-8')
        .send(callbackPage({ lang: requestLang(req), record, required, continueUrl, againHref: again }));
    } catch (err) {
      return sendThrown(req, reply, err, logger, again);
    }
  });
}
