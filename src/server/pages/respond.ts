import type { FastifyReply, FastifyRequest } from 'fastify';
import { verifyLink, type LinkParams } from '../../authorize/link.js';
import type { Config } from '../../config.js';
import { messages, pickLang, type Lang } from '../../i18n/index.js';
import type { DatabaseOutage } from '../../store/outage.js';
import type { Logger } from '../../util/logger.js';
import { errorJson, errorPage, PAGE_ERROR_STATUS, pageErrorKind, type ErrorPageOptions, type PageErrorKind } from './error-page.js';
import { wantsJson } from './layout.js';

export function requestLang(req: FastifyRequest): Lang {
  return pickLang(req.headers['accept-language'], (req.query as Record<string, unknown> | undefined)?.lang);
}

/** A merchant-facing failure: an HTML page in the merchant's language, JSON only when asked for. */
export function sendPageError(req: FastifyRequest, reply: FastifyReply, kind: PageErrorKind, options: ErrorPageOptions = {}): FastifyReply {
  const status = PAGE_ERROR_STATUS[kind];
  if (wantsJson(req.headers.accept)) return reply.code(status).send(errorJson(kind, options.code));
  return reply.code(status).type('text/html; charset=utf-8').send(errorPage(requestLang(req), kind, options));
}

/**
 * Maps a thrown error to the page a merchant sees, logging what the operator needs. A database outage is the
 * outage tracker's to log (once, not a stack per merchant's reload) and the merchant is told to come back.
 */
export function sendThrown(req: FastifyRequest, reply: FastifyReply, err: unknown, log: { logger: Logger; outage: DatabaseOutage }, againHref?: string): FastifyReply {
  const unavailable = log.outage.failed(err);
  // The same address again: the route matched, so it is one of ours (/authorize/…), and a reload retries.
  if (unavailable) return sendPageError(req, reply, 'unavailable', { code: unavailable.code, againHref: req.url, againText: messages(requestLang(req)).tryAgain });
  const { logger } = log;
  const { kind, code } = pageErrorKind(err);
  if (kind === 'internal') logger.error({ err, url: req.url.split('?')[0] }, 'authorization page failed');
  else logger.warn({ kind, code, url: req.url.split('?')[0] }, 'authorization page could not complete');
  return sendPageError(req, reply, kind, { code, againHref });
}

export type LinkLookup = { link?: { token: string; params: LinkParams } } | { error: 'bad_request' | 'link_expired' };

/** Reads and verifies `?link=` (an operator's signed authorization link); absent is fine. */
export function linkFromQuery(query: unknown, config: Config, now: number): LinkLookup {
  const token = (query as Record<string, unknown> | undefined)?.link;
  if (token === undefined) return {};
  if (typeof token !== 'string') return { error: 'bad_request' };
  const r = verifyLink(token, config.secretKeys, now);
  return r.ok ? { link: { token, params: r.link } } : { error: r.reason };
}
