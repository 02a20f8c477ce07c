import type { FastifyReply } from 'fastify';
import type { PushFailure } from '../push/verify-push.js';
import type { AppContext } from './context.js';

export type RefusalReason = PushFailure | 'bad_event' | 'unsupported_media_type';

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
export function refusePush(
  ctx: AppContext,
  reply: FastifyReply,
  url: string,
  reason: RefusalReason,
  detail: string,
  status: number,
): FastifyReply {
  ctx.metrics.pushes.inc({ url, type: 'unknown', outcome: reason });
  ctx.logger.warn({ push: url, reason, status, detail, ip: reply.request.ip }, 'push refused');
  return reply.code(status).send({ error: `WXO_ERR_PUSH_${reason.toUpperCase()}`, reason, message: detail });
}
