import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { WeChatApiError, WxOpenError } from '../../errors.js';
import { deriveStateKeys, signState, verifyState } from '../../authorize/state.js';
import type { Platform } from '../../platform.js';
import type { AuthorizerRecord } from '../../store/types.js';
import type { AppContext } from '../context.js';
import { escapeHtml, page } from '../html.js';
import { TokenBuckets } from '../rate-limit.js';

/** A link is good this long: the pre_auth_code in it lives 600–1800 s (spec 3.3), plus time to click. */
const STATE_TTL_MS = 60 * 60_000;
/** Verified links remembered at once (one exchange each); links are rate-limited, so this is ample. */
const MAX_USED_STATES = 10_000;
const MAX_CLIENTS = 10_000;

interface UsedState {
  authCode: string;
  expiresAtMs: number;
  exchange: Promise<AuthorizerRecord>;
}

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
  const { platform, config, clock, refusals } = ctx;
  const stateKeys = deriveStateKeys(config.secretKeys);
  const perClient = new TokenBuckets({ capacity: config.authorizeLinksPerMinute, perMs: 60_000, clock, maxKeys: MAX_CLIENTS });
  const total = new TokenBuckets({ capacity: config.authorizeLinksPerMinuteTotal, perMs: 60_000, clock, maxKeys: 1 });
  // Only states that verified are kept (nothing a stranger sends can grow this): each link allows one
  // exchange; a reload with the same code shares it, another code is refused.
  const used = new Map<string, UsedState>();
  const remember = (nonce: string, entry: UsedState): void => {
    const now = clock.now();
    for (const [k, v] of used) {
      if (used.size < MAX_USED_STATES && v.expiresAtMs > now) break;
      used.delete(k);
    }
    used.set(nonce, entry);
  };
  const refuse = (reply: FastifyReply, status: number, title: string, html: string) => reply.code(status).type('text/html').send(page(title, html));
  const authorizedPage = (reply: FastifyReply, record: AuthorizerRecord) =>
    reply.type('text/html').send(
      page(
        'Authorized',
        `<p>Account <code>${escapeHtml(record.authorizerAppid)}</code> authorized this platform.</p>
          <p>Granted permission sets: ${record.funcInfo.map((id) => `<code>${id}</code>`).join(' ') || 'none'}</p>`,
      ),
    );

  app.get('/authorize', async (_req, reply) => {
    const link = (label: string, q: string) => `<a class="button" href="/authorize/go?${q}">${label}</a>`;
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
    // Each link spends an api_create_preauthcode (a daily quota): per client, then in total.
    const client = req.ip ?? 'unknown';
    const limited = perClient.take(client);
    const allowed = limited.ok ? total.take('all') : limited;
    if (!allowed.ok) {
      refusals.warn('authorize_rate_limited', { ip: client, retryAfterSeconds: allowed.retryAfterSeconds, scope: limited.ok ? 'total' : 'client' }, 'authorization link refused (rate limit)');
      void reply.header('retry-after', String(allowed.retryAfterSeconds));
      return refuse(reply, 429, 'Too many requests', `<p>Too many authorization links were requested. Try again in ${allowed.retryAfterSeconds} s.</p>`);
    }
    const { preAuthCode } = await platform.createPreAuthCode();
    const state = signState(stateKeys, config.componentAppid, clock.now(), STATE_TTL_MS);
    const url = platform.authorizeUrl({
      preAuthCode,
      redirectUri: `${config.publicUrl}/authorize/callback?state=${state}`,
      mobile: q.data.mobile === '1',
      authType: q.data.auth_type === undefined ? undefined : Number(q.data.auth_type),
      bizAppid: q.data.biz_appid,
      categoryList: q.data.category_list?.split('|').map(Number),
    });
    return reply.redirect(url, 302);
  });

  app.get('/authorize/callback', async (req, reply) => {
    const query = req.query as Record<string, unknown>;
    // The state first: a callback this platform did not send the merchant to costs no WeChat call.
    const checked = verifyState(stateKeys, config.componentAppid, query.state, clock.now());
    if (!checked.ok) {
      refusals.warn(`authorize_state_${checked.reason}`, { reason: checked.reason, ip: req.ip }, 'authorization callback refused: no valid state');
      return refuse(
        reply,
        400,
        'Authorization failed',
        `<p>This callback did not come from an authorization link of this platform, or the link expired (state ${checked.reason}). Start again from <a href="/authorize">/authorize</a>.</p>`,
      );
    }
    const authCode = query.auth_code;
    if (typeof authCode !== 'string' || authCode.length === 0 || authCode.length > 512) {
      return refuse(reply, 400, 'Authorization failed', '<p>The callback has no <code>auth_code</code>.</p>');
    }
    let entry = used.get(checked.nonce);
    if (entry !== undefined && entry.authCode !== authCode) {
      refusals.warn('authorize_state_reused', { ip: req.ip }, 'authorization callback refused: link already used');
      return refuse(reply, 400, 'Authorization failed', '<p>This authorization link was already used. Start again from <a href="/authorize">/authorize</a>.</p>');
    }
    if (entry === undefined) {
      const fresh: UsedState = { authCode, expiresAtMs: checked.expiresAtMs, exchange: platform.queryAuth(authCode, 'callback') };
      // A transient failure frees the link for a reload; a code WeChat calls invalid keeps it used, so
      // a junk code repeated on a valid link costs WeChat nothing more. Handled here, so a failure whose
      // reload never comes is not an unhandled rejection.
      fresh.exchange.catch((err: unknown) => {
        if (!isInvalidCode(err) && used.get(checked.nonce) === fresh) used.delete(checked.nonce);
      });
      remember(checked.nonce, fresh);
      entry = fresh;
    }
    try {
      return authorizedPage(reply, await entry.exchange);
    } catch (err) {
      if (isInvalidCode(err)) {
        refusals.warn('authorize_invalid_code', { errcode: err.errcode }, 'authorization callback with an invalid or expired code');
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

function isInvalidCode(err: unknown): err is WeChatApiError {
  return err instanceof WeChatApiError && [61009, 61010, 40029].includes(err.errcode);
}
