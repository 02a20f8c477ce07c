import type { FastifyReply, FastifyRequest } from 'fastify';
import { verifyLink, type LinkParams } from '../../authorize/link.js';
import type { Config } from '../../config.js';
import { pickLang, type Lang } from '../../i18n/index.js';
import type { Logger } from '../../util/logger.js';
import { errorJson, errorPage, PAGE_ERROR_STATUS, pageErrorKind, type PageErrorKind } from './error-page.js';
import { wantsJson } from './layout.js';

export function requestLang(req: FastifyRequest): Lang {
  return pickLang(req.headers['accept-language'], (req.query as Record<string, unknown> | undefined)?.lang);
}

/** A merchant-facing failure: an HTML page in the merchant's language, JSON only when asked for. */
export function sendPageError(req: FastifyRequest, reply: FastifyReply, kind: PageErrorKind, options: { code?: string; againHref?: string } = {}): FastifyReply {
  const status = PAGE_ERROR_STATUS[kind];
  if (wantsJson(req.headers.accept)) return reply.code(status).send(errorJson(kind, options.code));
  return reply.code(status).type('text/html; charset=utf-8').send(errorPage(requestLang(req), kind, options));
}

/** Maps a thrown error to the page a merchant sees, logging what the operator needs. */
export function sendThrown(req: FastifyRequest, reply: FastifyReply, err: unknown, logger: Logger, againHref?: string): FastifyReply {
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
