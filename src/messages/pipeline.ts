import type { Config } from '../config.js';
import type { Platform } from '../platform.js';
import type { Store } from '../store/types.js';
import { nowSeconds, type Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { XmlObject } from '../xml/parse.js';
import { sendCustomerServiceText } from './customer-service.js';
import { dedupeKey, type MessageDedupe } from './dedupe.js';
import { answerQueryAuthCode, releaseTestAccount, releaseTestAnswer, releaseTestUserName } from './release-test.js';
import { isReply, renderReply } from './reply.js';
import type { HandlerResult, MessageRouter } from './router.js';
import { messageTypeOf, toMessage, type WxMessage } from './types.js';
import { errorFields } from '../util/log-error.js';

export interface MessagePipelineOptions {
  config: Config;
  store: Store;
  logger: Logger;
  clock: Clock;
  router: MessageRouter;
  dedupe: MessageDedupe;
  platform?: Platform;
}

export type PipelineOutcome =
  | { outcome: 'refused'; detail: string; type: string }
  | { outcome: 'duplicate'; type: string }
  /** `replyXml`: the plaintext passive reply to encrypt, if any. */
  | { outcome: 'stored'; type: string; replyXml?: string };

/** How long an authorizer's gh_ id is remembered for the ToUserName check. */
const USERNAME_TTL_MS = 60_000;

/**
 * One authorizer message after its signature and decryption passed: ToUserName check → dedupe claim
 * → stored once → typed → release responder or the registered handlers (within the time budget) →
 * the plaintext reply. The HTTP layer encrypts the reply and answers.
 */
export class MessagePipeline {
  private readonly userNames = new Map<string, { name: string | undefined; until: number }>();
  private readonly background = new Set<Promise<unknown>>();

  constructor(readonly o: MessagePipelineOptions) {}

  /** Resolves when background work (release-test customer-service sends) has finished. */
  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  async handle(appid: string, fields: XmlObject, plaintext: string): Promise<PipelineOutcome> {
    const { store, config, clock, logger, dedupe } = this.o;
    const type = messageTypeOf(fields);
    // Known gh_ ids and the in-memory dedupe answer synchronously: awaited only when they are promises.
    const known = this.userNameOf(appid);
    const expected = typeof known === 'object' ? await known : known;
    if (expected !== undefined && fields.ToUserName !== expected) {
      return { outcome: 'refused', type, detail: `the decrypted ToUserName is not the gh_ id of ${appid}` };
    }
    const key = dedupeKey(appid, fields);
    const claim = dedupe.claim(key);
    if (!(typeof claim === 'boolean' ? claim : await claim)) return { outcome: 'duplicate', type };
    let stored: 'stored' | 'duplicate';
    try {
      stored = await store.recordMessage({
        componentAppid: config.componentAppid,
        authorizerAppid: appid,
        dedupeKey: key,
        type,
        fromUser: typeof fields.FromUserName === 'string' ? fields.FromUserName : '',
        createTime: Number(fields.CreateTime) || 0,
        receivedAt: clock.now(),
        payload: plaintext,
      });
    } catch (err) {
      // Not stored: give the claim back so WeChat's retry is processed (the caller answers 503).
      await dedupe.release(key);
      throw err;
    }
    if (stored === 'duplicate') return { outcome: 'duplicate', type };
    // Nobody to deliver to (no handler for its kind, not a release-test account): the message is stored and
    // answered `success` without building its typed form, the costliest step left per message.
    const releaseCase = config.releaseTestResponder && releaseTestAccount(appid, typeof fields.ToUserName === 'string' ? fields.ToUserName : undefined) !== undefined;
    if (!releaseCase && !this.o.router.wants(appid, typeof fields.MsgType === 'string' ? fields.MsgType : '', typeof fields.Event === 'string' ? fields.Event : undefined)) {
      return { outcome: 'stored', type };
    }

    const message = toMessage(appid, fields, plaintext);
    if (message.type === 'other' && message.reason) logger.warn({ authorizerAppid: appid, type, reason: message.reason }, 'message fields do not match their schema; delivered as other');

    let result: HandlerResult;
    const release = config.releaseTestResponder ? releaseTestAnswer(message) : undefined;
    if (release && 'queryAuthCode' in release) {
      this.track(this.queryAuthCode(appid, message.fromUserName, release.queryAuthCode));
      result = undefined;
    } else if (release) {
      // A test account's mini-program audit results still reach the handlers (the fleet's state machine), or a
      // deploy to it would wait for the next poll; the answer stays the one the release test expects.
      if (message.type.startsWith('event.weapp_audit_')) await this.dispatch(message, appid, type);
      result = release.reply;
    } else {
      result = await this.dispatch(message, appid, type);
    }
    const replyXml = this.render(result, message.fromUserName, message.toUserName);
    if (logger.isLevelEnabled('debug')) logger.debug({ push: 'authorizer', authorizerAppid: appid, type, replied: replyXml !== undefined }, 'message accepted');
    return replyXml === undefined ? { outcome: 'stored', type } : { outcome: 'stored', type, replyXml };
  }

  private async dispatch(message: WxMessage, appid: string, type: string): Promise<HandlerResult> {
    const d = await this.o.router.dispatch(message, this.o.config.messageReplyBudgetMs);
    if (d.error !== undefined) {
      this.o.logger.error({ err: d.error, authorizerAppid: appid, type, timedOut: d.timedOut === true }, 'message handler failed; answered success');
    }
    return d.result;
  }

  private render(result: HandlerResult, user: string, account: string): string | undefined {
    if (result === undefined || result === '' || result === 'success') return undefined;
    if (typeof result === 'string') return result;
    if (!isReply(result)) return undefined;
    return renderReply(result, { user, account, createTime: nowSeconds(this.o.clock) });
  }

  private async queryAuthCode(appid: string, fromUserName: string, code: string): Promise<void> {
    const { platform, logger } = this.o;
    if (!platform) {
      logger.error({ authorizerAppid: appid }, 'release test: QUERY_AUTH_CODE needs the platform (credentials); nothing sent');
      return;
    }
    try {
      await answerQueryAuthCode(
        { queryAuth: (c) => platform.queryAuth(c, 'push'), sendText: (a, to, content) => sendCustomerServiceText(platform, a, to, content) },
        { authorizerAppid: appid, fromUserName },
        code,
        (err, what) => logger.warn({ ...errorFields(err), authorizerAppid: appid }, what),
      );
      logger.info({ authorizerAppid: appid }, 'release test: customer-service reply sent');
    } catch (err) {
      logger.error({ ...errorFields(err), authorizerAppid: appid }, 'release test: customer-service reply failed');
    }
  }

  private track(p: Promise<unknown>): void {
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  /** The gh_ id of `appid` when known: the test accounts' by table, others' from api_get_authorizer_info (cached). */
  private userNameOf(appid: string): string | undefined | Promise<string | undefined> {
    const fixed = releaseTestUserName(appid);
    if (fixed !== undefined) return fixed;
    const now = this.o.clock.now();
    const cached = this.userNames.get(appid);
    if (cached && cached.until > now) return cached.name;
    return this.readUserName(appid, now);
  }

  private async readUserName(appid: string, now: number): Promise<string | undefined> {
    let name: string | undefined;
    try {
      const record = await this.o.store.getAuthorizer(this.o.config.componentAppid, appid);
      const value = record?.info?.user_name;
      name = typeof value === 'string' && value.startsWith('gh_') ? value : undefined;
    } catch (err) {
      this.o.logger.warn({ err, authorizerAppid: appid }, 'cannot read the authorizer for the ToUserName check');
      return undefined;
    }
    if (this.userNames.size > 10_000) this.userNames.clear();
    this.userNames.set(appid, { name, until: now + USERNAME_TTL_MS });
    return name;
  }
}
