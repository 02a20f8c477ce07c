import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { WeChatApiError } from '../../errors.js';
import { withQuery } from '../../authorize/link.js';
import { deriveStateKeys, signState, verifyState } from '../../authorize/state.js';
import type { Platform } from '../../platform.js';
import type { AuthorizerRecord } from '../../store/types.js';
import { isLang } from '../../i18n/index.js';
import type { AppContext } from '../context.js';
import { authorizePage } from '../pages/authorize-page.js';
import { callbackPage, missingSets } from '../pages/callback-page.js';
import { linkFromQuery, requestLang, sendPageError, sendThrown } from '../pages/respond.js';
import { TokenBuckets } from '../rate-limit.js';
import { databaseOutage } from '../../store/outage.js';
import { APPID } from '../../util/appid.js';

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
  biz_appid: z.string().regex(APPID).optional(),
  category_list: z.string().regex(/^\d+(\|\d+)*$/).optional(),
  link: z.string().optional(),
  lang: z.string().optional(),
});

/**
 * One-click authorization. WeChat only opens its page when the Referer is the platform's domain, so
 * `/authorize` is a page of ours whose links go through `/authorize/go`, which makes a fresh
 * single-use pre_auth_code and redirects. The callback is a server path (no fragment: spec 4.4).
 * An operator's link (`?link=`, signed) fixes the account type, permission sets and return URL; every
 * link carries a signed, expiring `state`, so a callback we did not send costs no WeChat call.
 */
export async function authorizeRoutes(app: FastifyInstance, ctx: AppContext & { platform: Platform }): Promise<void> {
  const { platform, config, logger, clock, refusals } = ctx;
  const platformName = config.platformName ?? config.componentAppid;
  const stateKeys = deriveStateKeys(config.secretKeys);
  const pageLog = { logger, outage: databaseOutage(ctx.store, logger) };
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
    // Each link spends an api_create_preauthcode (a daily quota): per client, then in total.
    const client = req.ip ?? 'unknown';
    const limited = perClient.take(client);
    const allowed = limited.ok ? total.take('all') : limited;
    if (!allowed.ok) {
      refusals.warn('authorize_rate_limited', { ip: client, retryAfterSeconds: allowed.retryAfterSeconds, scope: limited.ok ? 'total' : 'client' }, 'authorization link refused (rate limit)');
      void reply.header('retry-after', String(allowed.retryAfterSeconds));
      return sendPageError(req, reply, 'rate_limited', { againHref: again, retryAfterSeconds: allowed.retryAfterSeconds });
    }
    try {
      const { preAuthCode } = await platform.createPreAuthCode();
      const state = signState(stateKeys, config.componentAppid, clock.now(), STATE_TTL_MS);
      const url = platform.authorizeUrl({
        preAuthCode,
        // State and link travel in the callback's own query; WeChat appends auth_code with `&` (spec 4.4).
        // A language chosen on our page (?lang=) comes back too: the callback may have no Accept-Language to go on.
        redirectUri: `${config.publicUrl}/authorize/callback?state=${state}${l.link ? `&link=${encodeURIComponent(l.link.token)}` : ''}${isLang(q.data.lang) ? `&lang=${q.data.lang}` : ''}`,
        mobile: q.data.mobile === '1',
        authType: p ? p.authType : q.data.auth_type === undefined ? undefined : Number(q.data.auth_type),
        bizAppid: p ? p.bizAppid : q.data.biz_appid,
        categoryList: p ? p.categoryList : q.data.category_list?.split('|').map(Number),
      });
      return reply.redirect(url, 302);
    } catch (err) {
      return sendThrown(req, reply, err, pageLog, again);
    }
  });

  app.get('/authorize/callback', async (req, reply) => {
    const query = req.query as Record<string, unknown>;
    // An expired operator link must not lose a completed authorization: the code is still exchanged,
    // only the link's return URL is dropped.
    const l = linkFromQuery(query, config, clock.now());
    const link = 'link' in l ? l.link : undefined;
    const again = link ? `/authorize?link=${encodeURIComponent(link.token)}` : '/authorize';
    // The state first: a callback this platform did not send the merchant to costs no WeChat call.
    const checked = verifyState(stateKeys, config.componentAppid, query.state, clock.now());
    if (!checked.ok) {
      refusals.warn(`authorize_state_${checked.reason}`, { reason: checked.reason, ip: req.ip }, 'authorization callback refused: no valid state');
      return sendPageError(req, reply, 'state_invalid', { againHref: again, code: `state_${checked.reason}` });
    }
    const authCode = query.auth_code;
    if (typeof authCode !== 'string' || authCode.length === 0 || authCode.length > 512) {
      return sendPageError(req, reply, 'missing_code', { againHref: again });
    }
    let entry = used.get(checked.nonce);
    if (entry !== undefined && entry.authCode !== authCode) {
      refusals.warn('authorize_state_reused', { ip: req.ip }, 'authorization callback refused: link already used');
      return sendPageError(req, reply, 'link_used', { againHref: again });
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
      const exchanged = await entry.exchange;
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
      if (isInvalidCode(err)) refusals.warn('authorize_invalid_code', { errcode: err.errcode }, 'authorization callback with an invalid or expired code');
      return sendThrown(req, reply, err, pageLog, again);
    }
  });
}

function isInvalidCode(err: unknown): err is WeChatApiError {
  return err instanceof WeChatApiError && [61009, 61010, 40029].includes(err.errcode);
}
