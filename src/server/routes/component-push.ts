import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { decodeAesKey } from '../../crypto/aes-key.js';
import { PushSchemaError, toPushEvent } from '../../push/events.js';
import { openPush } from '../../push/verify-push.js';
import { nowSeconds } from '../../util/clock.js';
import type { AppContext } from '../context.js';
import { refusePush, statusForPushFailure } from '../refusal.js';

/**
 * The authorization-event URL (授权事件接收URL): verify, decrypt, check the appid, store once, answer
 * `success`, then fan the event out. Nothing is persisted unless every check passed.
 */
export async function componentPushRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const { config, store, metrics, clock, pushes, logger } = ctx;
  // Decoded once: the key never changes while the app runs.
  const aesKeys = config.encodingAesKeys.map((k) => decodeAesKey(k));
  const url = 'component';

  app.post('/wechat/component', async (request, reply): Promise<FastifyReply> => {
    const stop = metrics.pushDuration.startTimer({ url });
    try {
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
      if (fields.AppId !== config.componentAppid) {
        return refusePush(ctx, reply, url, 'appid_mismatch', 'the decrypted AppId is not this component', 401);
      }
      let event;
      try {
        event = toPushEvent(fields, plaintext);
      } catch (err) {
        if (err instanceof PushSchemaError) return refusePush(ctx, reply, url, 'bad_event', err.message, 400);
        throw err;
      }
      const infoType = event.type === 'other' ? event.infoType : event.type;
      const receivedAt = clock.now();
      const outcome = await store.recordPush(
        {
          componentAppid: config.componentAppid,
          dedupeKey: createHash('sha1').update(plaintext).digest('hex'),
          infoType,
          authorizerAppid: 'authorizerAppid' in event ? (event.authorizerAppid ?? null) : null,
          createTime: event.createTime,
          receivedAt,
          payload: plaintext,
        },
        event.type === 'component_verify_ticket'
          ? { componentAppid: config.componentAppid, ticket: event.ticket, createTime: event.createTime, receivedAt }
          : undefined,
      );
      metrics.pushes.inc({ url, type: infoType, outcome });
      logger.info({ push: url, infoType, outcome, authorizerAppid: (event as { authorizerAppid?: string }).authorizerAppid }, 'push accepted');
      if (outcome === 'stored') pushes.emit(event);
      return reply.type('text/plain').send('success');
    } finally {
      stop();
    }
  });
}
