import { decodeAesKey } from '../crypto/aes-key.js';
import { buildEncryptedReply } from '../crypto/reply.js';
import { SecretBox } from '../crypto/secret-box.js';
import { sealCode, sealCodeInPayload, sealedCodeOf } from '../push/authorization-code.js';
import { pushDedupeKey } from '../push/dedupe-key.js';
import { orderingTime } from '../push/event-time.js';
import { PushSchemaError, toPushEvent, type PushEvent } from '../push/events.js';
import { openPush, type OpenedPush, type RefusedPush } from '../push/verify-push.js';
import { nowSeconds } from '../util/clock.js';
import { MessagePipeline } from '../messages/pipeline.js';
import type { AppContext } from './context.js';
import { refusePush, statusForPushFailure, SUCCESS, type ClientIp, type PushAnswer, type PushUrl } from './refusal.js';
import { APPID } from '../util/appid.js';

export interface PushHandlers {
  /** The authorization-event URL (授权事件接收URL). */
  component(query: Record<string, unknown>, body: string, ip: ClientIp): PushAnswer | Promise<PushAnswer>;
  /** The message & event URL (`…/wechat/authorizer/$APPID$`): stored once, typed, routed, maybe answered. */
  authorizer(appid: string, query: Record<string, unknown>, body: string, ip: ClientIp): PushAnswer | Promise<PushAnswer>;
  /** A body over the limit, refused before it is read whole. */
  tooLarge(url: PushUrl, ip: ClientIp): PushAnswer;
  /** The authorizer-message pipeline (for `settled()` and tests). */
  messages: MessagePipeline;
}

/**
 * Both push URLs, independent of the HTTP layer (the Fastify routes and the raw fast path share them).
 * Nothing is persisted unless every check passed; `success` is answered only after the push is durable.
 */
export function createPushHandlers(ctx: AppContext): PushHandlers {
  const { config, store, metrics, clock, pushes, logger } = ctx;
  // Decoded once: the key never changes while the app runs.
  const aesKeys = config.encodingAesKeys.map((k) => decodeAesKey(k));
  // The platform's box when there is one (the same keys either way): authorization codes are stored sealed.
  const box = ctx.platform?.ctx.box ?? new SecretBox(config.secretKeys);
  /** What the push log keeps: the XML as decrypted, but an authorization code only sealed. */
  const storedPayload = (event: PushEvent, plaintext: string): string => {
    if (event.type !== 'authorized' && event.type !== 'updateauthorized') return plaintext;
    const sealed = sealCodeInPayload(plaintext, event.authorizationCode, () => {
      const value = sealCode(box, config.componentAppid, event.authorizationCode);
      sealedCodeOf.set(event, value);
      return value;
    });
    if (sealed !== undefined) return sealed;
    logger.warn({ infoType: event.type, authorizerAppid: event.authorizerAppid }, 'could not seal the AuthorizationCode in the stored push; it is stored as it came');
    return plaintext;
  };
  const pipeline = new MessagePipeline({ config, store, logger, clock, router: ctx.router, dedupe: ctx.dedupe, platform: ctx.platform });
  // Labelled children resolved once per label set: prom-client otherwise hashes the labels per call.
  const durations = { component: metrics.pushDuration.labels({ url: 'component' }), authorizer: metrics.pushDuration.labels({ url: 'authorizer' }) };
  // Nested by label instead of one joined key: no string is built per push.
  const counters: Record<PushUrl, Map<string, Map<string, { inc(): void }>>> = { component: new Map(), authorizer: new Map() };
  const count = (url: PushUrl, type: string, outcome: string): void => {
    let byOutcome = counters[url].get(type);
    if (!byOutcome) counters[url].set(type, (byOutcome = new Map()));
    let child = byOutcome.get(outcome);
    if (!child) byOutcome.set(outcome, (child = metrics.pushes.labels({ url, type, outcome })));
    child.inc();
  };
  const open = (query: Record<string, unknown>, body: string): OpenedPush | RefusedPush =>
    openPush(query, body, {
      token: config.token,
      aesKeys,
      appid: config.componentAppid,
      nowSeconds: nowSeconds(clock),
      maxSkewSeconds: config.pushMaxSkewSeconds,
      maxBodyLength: config.bodyLimitBytes,
    });

  // Synchronous up to the store: a refused (forged, stale, malformed) push is answered without a promise
  // chain (a small saving per refusal in bench/push.ts's forged case; the rest is Node's HTTP layer).
  function component(query: Record<string, unknown>, body: string, ip: ClientIp): PushAnswer | Promise<PushAnswer> {
    const url = 'component';
    const opened = open(query, body);
    if (!opened.ok) return refusePush(ctx, url, opened.reason, opened.detail, statusForPushFailure(opened.reason), ip);
    const { fields, plaintext } = opened;
    if (fields.AppId !== config.componentAppid) return refusePush(ctx, url, 'appid_mismatch', 'the decrypted AppId is not this component', 401, ip);
    let event;
    try {
      event = toPushEvent(fields, plaintext);
    } catch (err) {
      if (err instanceof PushSchemaError) return refusePush(ctx, url, 'bad_event', err.message, 400, ip);
      throw err;
    }
    return accept(url, event, plaintext);
  }

  async function accept(url: PushUrl, event: PushEvent, plaintext: string): Promise<PushAnswer> {
    const infoType = event.type === 'other' ? event.infoType : event.type;
    const authorizerAppid = 'authorizerAppid' in event ? (event.authorizerAppid ?? null) : null;
    const receivedAt = clock.now();
    const outcome =
      event.type === 'component_verify_ticket'
        ? // A CreateTime outside the skew is not trusted for ordering: one far-future ticket would supersede all later ones.
          await store.recordTicket({ componentAppid: config.componentAppid, ticket: event.ticket, createTime: orderingTime(event.createTime, receivedAt, config.pushMaxSkewSeconds), receivedAt })
        : await store.recordPush({
            componentAppid: config.componentAppid,
            dedupeKey: pushDedupeKey(plaintext, event.createTime),
            infoType,
            authorizerAppid,
            createTime: event.createTime,
            receivedAt,
            payload: storedPayload(event, plaintext),
          });
    count(url, infoType, outcome);
    // Tickets come every 10 minutes and are the bulk of this URL: their line is debug (a write per push on the
    // hot path otherwise); authorization changes are rare and stay at info.
    if (event.type !== 'component_verify_ticket') logger.info({ push: url, infoType, outcome, authorizerAppid: authorizerAppid ?? undefined }, 'push accepted');
    else if (logger.isLevelEnabled('debug')) logger.debug({ push: url, infoType, outcome }, 'push accepted');
    if (outcome === 'stored') pushes.emit(event);
    return SUCCESS;
  }

  function authorizer(appid: string, query: Record<string, unknown>, body: string, ip: ClientIp): PushAnswer | Promise<PushAnswer> {
    const url = 'authorizer';
    if (!APPID.test(appid)) return refusePush(ctx, url, 'missing_params', 'the path must end with an authorizer appid', 400, ip);
    const opened = open(query, body);
    if (!opened.ok) return refusePush(ctx, url, opened.reason, opened.detail, statusForPushFailure(opened.reason), ip);
    const { fields, plaintext } = opened;
    return pipeline.handle(appid, fields, plaintext).then((r) => {
      // A message for another account (its ToUserName is not this authorizer's gh_ id) is refused like a wrong appid.
      if (r.outcome === 'refused') return refusePush(ctx, url, 'appid_mismatch', r.detail, 401, ip);
      count(url, r.type, r.outcome);
      if (r.outcome === 'duplicate' || r.replyXml === undefined) return SUCCESS;
      const sealed = buildEncryptedReply(r.replyXml, {
        token: config.token,
        encodingAesKey: aesKeys[0]!,
        appid: config.componentAppid,
        timestamp: String(nowSeconds(clock)),
      });
      return { status: 200, contentType: 'application/xml; charset=utf-8', body: sealed };
    });
  }

  const timed =
    <A extends unknown[], R extends PushAnswer | Promise<PushAnswer>>(url: PushUrl, fn: (...args: A) => R) =>
    (...args: A): R => {
      const started = performance.now();
      const observe = (): void => durations[url].observe((performance.now() - started) / 1000);
      let result: R;
      try {
        result = fn(...args);
      } catch (err) {
        observe();
        throw err;
      }
      // then(ok, fail) rather than finally: two promises fewer per push.
      if (result instanceof Promise) {
        return result.then(
          (answer) => {
            observe();
            return answer;
          },
          (err: unknown) => {
            observe();
            throw err;
          },
        ) as R;
      }
      observe();
      return result;
    };

  return {
    component: timed('component', component),
    authorizer: timed('authorizer', authorizer),
    tooLarge: (url, ip) => refusePush(ctx, url, 'xml_too_large', `body exceeds ${config.bodyLimitBytes} bytes`, 413, ip),
    messages: pipeline,
  };
}
