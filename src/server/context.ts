import type { Config } from '../config.js';
import type { Platform } from '../platform.js';
import type { PushEmitter } from '../push/emitter.js';
import type { Store } from '../store/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { XmlObject } from '../xml/parse.js';
import type { Metrics } from '../observability/metrics.js';
import type { LogLimiter } from '../util/log-limiter.js';
import type { MessageDedupe } from '../messages/dedupe.js';
import type { MessageRouter } from '../messages/router.js';

/** A user message or event delivered to `/wechat/authorizer/:appid`, already verified and decrypted. */
export interface AuthorizerMessage {
  authorizerAppid: string;
  fields: XmlObject;
  raw: string;
}

/**
 * Answers a message: return passive-reply XML (it is encrypted before it is sent) or `undefined` for
 * `success`. It must be fast (WeChat waits 5 s); slow work belongs in a background job.
 */
export type MessageHandler = (message: AuthorizerMessage) => string | undefined | Promise<string | undefined>;

/** What the routes need; built once by `buildApp`. */
export interface AppContext {
  config: Config;
  store: Store;
  logger: Logger;
  clock: Clock;
  metrics: Metrics;
  pushes: PushEmitter;
  /** Legacy raw handlers; they run as `*` handlers of `router`. */
  onMessage: MessageHandler[];
  /** Refusal log lines, rate-limited per reason. */
  refusals: LogLimiter;
  /** Typed message handlers (`router.on('message.text', …)`). */
  router: MessageRouter;
  /** Retries of one message reach handlers once: in-process, or shared through Redis. */
  dedupe: MessageDedupe;
  /** Credentials and WeChat calls; when present the authorization routes are served. */
  platform?: Platform;
}
