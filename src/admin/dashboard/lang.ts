import type { FastifyRequest } from 'fastify';
import { pickLang, type Lang } from '../../i18n/index.js';
import { readCookie } from '../session.js';

export const LANG_COOKIE = 'wxopen_lang';

/** `?lang=` first, then the language chosen in the nav (cookie), then Accept-Language; Chinese by default. */
export function dashLang(req: FastifyRequest): Lang {
  const q = (req.query as Record<string, unknown> | undefined)?.lang;
  return pickLang(req.headers['accept-language'], q ?? readCookie(req, LANG_COOKIE));
}
