import type { PushFailure } from '../push/verify-push.js';
import type { AppContext } from './context.js';

export type RefusalReason = PushFailure | 'bad_event' | 'unsupported_media_type';
export type PushUrl = 'component' | 'authorizer';

/** What a push handler answers, independent of the HTTP layer that writes it. */
export interface PushAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** The client's address, resolved only when a refusal is logged (reading headers costs on the hot path). */
export type ClientIp = () => string | undefined;

export const SUCCESS: PushAnswer = { status: 200, contentType: 'text/plain; charset=utf-8', body: 'success' };

export function statusForPushFailure(reason: PushFailure): number {
  switch (reason) {
    case 'bad_signature':
    case 'stale':
    case 'appid_mismatch':
      return 401;
    case 'xml_too_large':
      return 413;
    default:
      return 400;
  }
}

/** One place that turns a refused push into its status, JSON body, log line and metric. */
export function refusePush(ctx: AppContext, url: PushUrl, reason: RefusalReason, detail: string, status: number, ip: ClientIp): PushAnswer {
  ctx.metrics.pushes.inc({ url, type: 'unknown', outcome: reason });
  // Rate-limited per reason: a flood of junk must not become a flood of log lines (log-limiter.ts).
  ctx.refusals.warn(reason, { push: url, reason, status, detail, ip: ip() }, 'push refused');
  return {
    status,
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify({ error: `WXO_ERR_PUSH_${reason.toUpperCase()}`, reason, message: detail }),
  };
}
