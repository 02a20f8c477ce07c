import type { FastifyInstance, FastifyReply } from 'fastify';
import { decodeAesKey } from '../../crypto/aes-key.js';
import { buildEncryptedReply } from '../../crypto/reply.js';
import { openPush } from '../../push/verify-push.js';
import { nowSeconds } from '../../util/clock.js';
import { RecentKeys } from '../../util/lru-ttl.js';
import type { AppContext } from '../context.js';
import { refusePush, statusForPushFailure } from '../refusal.js';

const APPID = /^wx[0-9a-zA-Z]{16}$/;
const DEDUPE_TTL_MS = 10 * 60 * 1000;

/**
 * The message & event URL (`…/wechat/authorizer/$APPID$`): user messages and events of every
 * authorizer, encrypted with the component's key. WeChat retries a message it got no answer to, so
 * a repeat (MsgId, or FromUserName+CreateTime for events: spec 9.3) is answered `success` unprocessed.
 */
export async function authorizerPushRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const { config, metrics, clock, logger } = ctx;
  // Decoded once: the key never changes while the app runs.
  const aesKeys = config.encodingAesKeys.map((k) => decodeAesKey(k));
  const url = 'authorizer';
  const recent = new RecentKeys(DEDUPE_TTL_MS, 100_000, clock);

  app.post<{ Params: { appid: string } }>('/wechat/authorizer/:appid', async (request, reply): Promise<FastifyReply> => {
    const stop = metrics.pushDuration.startTimer({ url });
    try {
      const { appid } = request.params;
      if (!APPID.test(appid)) return refusePush(ctx, reply, url, 'missing_params', 'the path must end with an authorizer appid', 400);
      const opened = openPush(request.query as Record<string, unknown>, request.body as string, {
        token: config.token,
        aesKeys,
        appid: config.componentAppid,
        nowSeconds: nowSeconds(clock),
        maxSkewSeconds: config.pushMaxSkewSeconds,
        maxBodyLength: config.bodyLimitBytes,
      });
      if (!opened.ok) return refusePush(ctx, reply, url, opened.reason, opened.detail, statusForPushFailure(opened.reason));
      const { fields, plaintext } = opened;
      const msgType = typeof fields.MsgType === 'string' ? fields.MsgType : 'unknown';
      const type = msgType === 'event' && typeof fields.Event === 'string' ? `event.${fields.Event}` : msgType;
      const key =
        typeof fields.MsgId === 'string'
          ? `${appid}:m:${fields.MsgId}`
          : `${appid}:e:${String(fields.FromUserName)}:${String(fields.CreateTime)}:${String(fields.Event)}`;
      if (!recent.add(key)) {
        metrics.pushes.inc({ url, type, outcome: 'duplicate' });
        return reply.type('text/plain').send('success');
      }
      metrics.pushes.inc({ url, type, outcome: 'stored' });
      let answer: string | undefined;
      for (const handler of ctx.onMessage) {
        try {
          answer = await handler({ authorizerAppid: appid, fields, raw: plaintext });
        } catch (err) {
          logger.error({ err, push: url, authorizerAppid: appid, type }, 'message handler failed');
        }
        if (answer !== undefined) break;
      }
      logger.debug({ push: url, authorizerAppid: appid, type, replied: answer !== undefined }, 'message accepted');
      if (answer === undefined || answer === '' || answer === 'success') return reply.type('text/plain').send('success');
      const sealed = buildEncryptedReply(answer, {
        token: config.token,
        encodingAesKey: aesKeys[0]!,
        appid: config.componentAppid,
        timestamp: String(nowSeconds(clock)),
      });
      return reply.type('application/xml').send(sealed);
    } finally {
      stop();
    }
  });
}
