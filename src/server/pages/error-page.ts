import { TicketMissingError, UpstreamError, WeChatApiError } from '../../errors.js';
import { messages, type Lang } from '../../i18n/index.js';
import { esc, shell } from './layout.js';

export type PageErrorKind =
  | 'bad_request'
  | 'link_expired'
  | 'code_invalid'
  | 'missing_code'
  | 'no_ticket'
  | 'unreachable'
  | 'rate_limited'
  | 'state_invalid'
  | 'link_used'
  | 'internal'
  | 'unavailable'
  | 'not_found'
  | 'dashboard_not_found'
  | 'database_unavailable';

export const PAGE_ERROR_STATUS: Record<PageErrorKind, number> = {
  bad_request: 400,
  link_expired: 410,
  code_invalid: 400,
  missing_code: 400,
  no_ticket: 503,
  unreachable: 502,
  rate_limited: 429,
  state_invalid: 400,
  link_used: 400,
  internal: 500,
  unavailable: 503,
  not_found: 404,
  dashboard_not_found: 404,
  database_unavailable: 503,
};

/** Pages that are not about an authorization: their title is only their own. */
const OWN_TITLE: ReadonlySet<PageErrorKind> = new Set(['not_found', 'dashboard_not_found', 'database_unavailable']);

/** What a merchant should be told about a failure while authorizing. */
export function pageErrorKind(err: unknown): { kind: PageErrorKind; code?: string } {
  if (err instanceof TicketMissingError) return { kind: 'no_ticket', code: err.code };
  if (err instanceof UpstreamError) return { kind: 'unreachable', code: err.code };
  if (err instanceof WeChatApiError) {
    const code = `${err.errcode}`;
    if ([61009, 61010, 40029, 40163].includes(err.errcode)) return { kind: 'code_invalid', code };
    if (err.kind === 'ticket') return { kind: 'no_ticket', code };
    if (err.kind === 'quota' || err.errcode === 45011) return { kind: 'rate_limited', code };
    if (err.kind === 'busy') return { kind: 'unreachable', code };
    return { kind: 'internal', code };
  }
  const status = (err as { statusCode?: number } | undefined)?.statusCode;
  if (status === 429) return { kind: 'rate_limited' };
  return { kind: 'internal' };
}

export interface ErrorPageOptions {
  code?: string;
  againHref?: string;
  againText?: string;
  /** The Retry-After sent with the page, told to the reader instead of the kind's general advice. */
  retryAfterSeconds?: number;
}

export function errorPage(lang: Lang, kind: PageErrorKind, options: ErrorPageOptions = {}): string {
  const m = messages(lang);
  const e = m.errors[kind] ?? m.errors.internal!;
  const again = options.againHref ?? '/authorize';
  const title = OWN_TITLE.has(kind) ? e.title : `${e.title} · ${m.errorTitle}`;
  return shell(
    lang,
    title,
    `<div class="panel"><h1>${esc(e.title)}</h1>
<p id="what">${esc(e.what)}</p><p id="todo"><strong>${esc(options.retryAfterSeconds === undefined ? e.todo : m.retryIn(options.retryAfterSeconds))}</strong></p>
${options.code ? `<p class="muted">${esc(m.errorCode)}: <code>${esc(options.code)}</code></p>` : ''}
<p><a class="button" href="${esc(again)}">${esc(options.againText ?? m.startAgain)}</a></p></div>`,
    { narrow: true },
  );
}

/** The JSON twin for clients that ask for it. */
export function errorJson(kind: PageErrorKind, code?: string): Record<string, unknown> {
  return { error: `WXO_ERR_AUTHORIZE_${kind.toUpperCase()}`, reason: kind, message: messages('en').errors[kind]?.what, ...(code && { code }) };
}
