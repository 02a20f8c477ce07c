import type { FastifyReply, FastifyRequest } from 'fastify';
import { OPERATOR_KEY_ID, SCOPES, type Principal } from '../credentials.js';
import { sameOrigin, sameToken } from '../session.js';
import { dashLang } from './lang.js';
import { messagePage } from './pages.js';

export type Form = Record<string, string | undefined>;

/** A dashboard session acts as the operator. */
export const operatorPrincipal: Principal = { keyId: OPERATOR_KEY_ID, operator: true, scopes: new Set(SCOPES), authorizers: null };

/** A state-changing form: a session, our own origin, and the session's CSRF token. */
export function csrfOk(req: FastifyRequest): boolean {
  return req.session !== null && sameOrigin(req) && sameToken((req.body as Form | undefined)?.csrf, req.session.csrf);
}

export function csrfRefused(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(403).type('text/html; charset=utf-8').send(messagePage(dashLang(req), '403', 'CSRF check failed: reload the page and try again.'));
}

export function sendPage(reply: FastifyReply, html: string, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(html);
}

/** A failure as one line for a redirect's `?error=` (no `[wxopen]` prefix, bounded). */
export function errorParam(err: unknown): string {
  return encodeURIComponent((err instanceof Error ? err.message : String(err)).replace(/^\[wxopen\] /, '').slice(0, 300));
}

/** Positive integer ids from forms and paths; anything else is undefined. */
export function intId(v: unknown): number | undefined {
  return typeof v === 'string' && /^\d{1,12}$/.test(v) ? Number(v) : typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}
