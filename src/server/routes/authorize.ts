import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { WeChatApiError, WxOpenError } from '../../errors.js';
import type { Platform } from '../../platform.js';
import type { AppContext } from '../context.js';
import { escapeHtml, page } from '../html.js';

const goQuery = z.object({
  mobile: z.enum(['0', '1']).optional(),
  auth_type: z.string().regex(/^\d{1,3}$/).optional(),
  biz_appid: z.string().regex(/^wx[0-9a-zA-Z]{16}$/).optional(),
  category_list: z.string().regex(/^\d+(\|\d+)*$/).optional(),
});

/**
 * One-click authorization. WeChat only opens its page when the Referer is the platform's domain, so
 * `/authorize` is a page of ours whose links go through `/authorize/go`, which makes a fresh
 * single-use pre_auth_code and redirects. The callback is a server path (no fragment: spec 4.4).
 */
export async function authorizeRoutes(app: FastifyInstance, ctx: AppContext & { platform: Platform }): Promise<void> {
  const { platform, config, logger } = ctx;

  app.get('/authorize', async (_req, reply) => {
    // referrerpolicy="origin": WeChat opens its page only when the Referer names this domain (spec 14.2).
    const link = (label: string, q: string) => `<a class="button" href="/authorize/go?${q}" referrerpolicy="origin">${label}</a>`;
    return reply.type('text/html').send(
      page(
        'Authorize this platform',
        `<p>Choose how the merchant authorizes <code>${escapeHtml(config.componentAppid)}</code>.</p>
        <p>${link('PC: scan QR code', 'auth_type=3')} ${link('PC: official accounts only', 'auth_type=1')} ${link('PC: mini programs only', 'auth_type=2')}</p>
        <p>${link('Mobile (inside WeChat)', 'mobile=1&auth_type=3')}</p>`,
      ),
    );
  });

  app.get('/authorize/go', async (req, reply) => {
    const q = goQuery.safeParse(req.query);
    if (!q.success) return reply.code(400).type('text/html').send(page('Bad request', `<p>${escapeHtml(q.error.issues[0]?.message ?? 'invalid query')}</p>`));
    const { preAuthCode } = await platform.createPreAuthCode();
    const url = platform.authorizeUrl({
      preAuthCode,
      redirectUri: `${config.publicUrl}/authorize/callback`,
      mobile: q.data.mobile === '1',
      authType: q.data.auth_type === undefined ? undefined : Number(q.data.auth_type),
      bizAppid: q.data.biz_appid,
      categoryList: q.data.category_list?.split('|').map(Number),
    });
    return reply.redirect(url, 302);
  });

  app.get('/authorize/callback', async (req, reply) => {
    const authCode = (req.query as Record<string, unknown>).auth_code;
    if (typeof authCode !== 'string' || authCode.length === 0 || authCode.length > 512) {
      return reply.code(400).type('text/html').send(page('Authorization failed', '<p>The callback has no <code>auth_code</code>.</p>'));
    }
    try {
      const record = await platform.queryAuth(authCode, 'callback');
      return reply.type('text/html').send(
        page(
          'Authorized',
          `<p>Account <code>${escapeHtml(record.authorizerAppid)}</code> authorized this platform.</p>
          <p>Granted permission sets: ${record.funcInfo.map((id) => `<code>${id}</code>`).join(' ') || 'none'}</p>`,
        ),
      );
    } catch (err) {
      if (err instanceof WeChatApiError && [61009, 61010, 40029].includes(err.errcode)) {
        logger.warn({ errcode: err.errcode }, 'authorization callback with an invalid or expired code');
        return reply
          .code(400)
          .type('text/html')
          .send(page('Authorization failed', `<p>The authorization code is invalid or expired (WeChat ${err.errcode}). Start again from <a href="/authorize">/authorize</a>.</p>`));
      }
      if (err instanceof WxOpenError && err.statusCode < 500) {
        return reply.code(err.statusCode).type('text/html').send(page('Authorization failed', `<p>${escapeHtml(err.message)}</p>`));
      }
      throw err;
    }
  });
}
