import { randomBytes } from 'node:crypto';
import { decryptMessage } from '../crypto/message-cipher.js';
import { computeMsgSignature, safeCompare } from '../crypto/msg-signature.js';
import { signPush } from '../crypto/reply.js';
import type { Logger } from '../util/logger.js';
import { buildXml, type XmlInputObject } from '../xml/build.js';
import { parseXml, type XmlObject } from '../xml/parse.js';
import { epochSeconds } from './clock.js';
import { openidFor, type PushRecord, type SandboxState } from './state.js';

/** WeChat gives up on a push URL after 5 s (spec 9.3). */
const PUSH_TIMEOUT_MS = 5000;
const PUSH_LOG_MAX = 1000;

export interface Delivery {
  ok: boolean;
  status?: number;
  body?: string;
  contentType?: string;
  error?: string;
}

/** A message sent to the platform's message URL and what the platform answered. */
export interface MessageReply extends Delivery {
  /** The decrypted passive reply, when the platform sent one. */
  reply?: XmlObject;
  /** Why a non-empty answer is not a valid encrypted reply (spec 1.3), if it is not. */
  replyError?: string;
}

function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Posts encrypted, signed pushes to the platform the way WeChat does. A failed delivery is logged in
 * the push log and never throws: WeChat does not care whether the platform was up.
 */
export class Pusher {
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly state: SandboxState,
    private readonly logger?: Logger,
  ) {}

  /** Resolves when every push started so far has been delivered or has failed. */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** To the authorization-event URL: envelope `<AppId>`. */
  pushComponent(fields: XmlInputObject): Promise<Delivery> {
    const url = this.state.platform?.componentPushUrl;
    return this.track(this.deliver('component', url, fields, String(fields.InfoType), undefined, {}));
  }

  /** To the message URL with `$APPID$` replaced: envelope `<ToUserName>` (the account's gh_ id). */
  pushAuthorizer(appid: string, fields: XmlInputObject, openid?: string): Promise<Delivery> {
    const template = this.state.platform?.authorizerPushUrl;
    const url = template?.replaceAll('$APPID$', appid);
    const type = fields.MsgType === 'event' ? String(fields.Event) : String(fields.MsgType);
    const extra = { toUserName: String(fields.ToUserName), ...(openid !== undefined && { openid }) };
    return this.track(this.deliver('authorizer', url, fields, type, appid, extra));
  }

  /** An event to an authorizer's message URL, filling the header fields WeChat always sends. */
  pushEvent(appid: string, fields: Record<string, string | number>): Promise<Delivery> {
    const account = this.state.account(appid);
    return this.pushAuthorizer(appid, {
      ToUserName: account.userName,
      FromUserName: openidFor(appid, 'wechat-system'),
      CreateTime: epochSeconds(this.state.clock),
      MsgType: 'event',
      ...fields,
    });
  }

  /** A user message to the message URL; the reply is checked and decrypted like WeChat would. */
  async sendMessage(appid: string, fields: Record<string, string | number>): Promise<MessageReply> {
    const account = this.state.account(appid);
    const openid = String(fields.FromUserName ?? openidFor(appid, 'demo-user'));
    const message: XmlInputObject = {
      ToUserName: account.userName,
      FromUserName: openid,
      CreateTime: epochSeconds(this.state.clock),
      MsgType: 'text',
      ...fields,
    };
    if (message.MsgType !== 'event' && message.MsgId === undefined) message.MsgId = String(randomBytes(6).readUIntBE(0, 6));
    // The user acted: WeChat opens (or resets) the customer-service window before it pushes.
    this.state.csWindows.userAction(appid, account.type, openid, message as Record<string, string | number | undefined>);
    const delivery = await this.pushAuthorizer(appid, message, openid);
    return { ...delivery, ...this.openReply(delivery.body) };
  }

  private openReply(body: string | undefined): Pick<MessageReply, 'reply' | 'replyError'> {
    if (body === undefined || body === '' || body === 'success') return {};
    const { token, encodingAesKey, appid } = this.state.component;
    try {
      const outer = parseXml(body);
      const { Encrypt: encrypt, MsgSignature: signature, TimeStamp: timestamp, Nonce: nonce } = outer;
      if (typeof encrypt !== 'string') return { replyError: 'reply is not encrypted (safe mode needs <Encrypt>)' };
      if (typeof signature !== 'string' || typeof timestamp !== 'string' || typeof nonce !== 'string') {
        return { replyError: 'reply lacks MsgSignature, TimeStamp or Nonce' };
      }
      if (!safeCompare(computeMsgSignature(token, timestamp, nonce, encrypt), signature)) return { replyError: 'reply MsgSignature does not match' };
      return { reply: parseXml(decryptMessage(encrypt, encodingAesKey, appid).message) };
    } catch (err) {
      return { replyError: `reply cannot be opened: ${(err as Error).message}` };
    }
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inflight.add(promise);
    void promise.finally(() => this.inflight.delete(promise));
    return promise;
  }

  private async deliver(
    target: PushRecord['target'],
    url: string | undefined,
    fields: XmlInputObject,
    type: string,
    appid: string | undefined,
    envelope: { toUserName?: string; openid?: string },
  ): Promise<Delivery> {
    const record: PushRecord = { at: this.state.clock.now(), target, url: url ?? '', type, ...(appid !== undefined && { appid }) };
    this.state.pushLog.push(record);
    if (this.state.pushLog.length > PUSH_LOG_MAX) this.state.pushLog.shift();
    const fail = (error: string): Delivery => {
      record.error = error;
      this.logger?.warn({ target, type, appid, error }, 'sandbox push not delivered');
      return { ok: false, error, ...(record.status !== undefined && { status: record.status }) };
    };
    if (url === undefined) return fail('no platform URL configured');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return fail(`invalid platform URL ${url}`);
    }
    if (!this.state.settings.allowRemotePush && !isLoopback(parsed)) return fail(`refused to push to non-loopback host ${parsed.hostname}`);
    const { token, encodingAesKey, appid: componentAppid } = this.state.component;
    const push = signPush(buildXml(fields), {
      token,
      encodingAesKey,
      appid: componentAppid,
      timestamp: String(this.state.settings.pushTimestamps === 'real' ? Math.floor(Date.now() / 1000) : epochSeconds(this.state.clock)),
      ...envelope,
    });
    for (const [k, v] of Object.entries(push.query)) parsed.searchParams.set(k, v);
    try {
      const res = await fetch(parsed, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: push.body,
        signal: AbortSignal.timeout(PUSH_TIMEOUT_MS),
      });
      const body = await res.text();
      record.status = res.status;
      if (!res.ok) return { ...fail(`HTTP ${res.status}`), body };
      const contentType = res.headers.get('content-type') ?? undefined;
      return { ok: true, status: res.status, body, ...(contentType !== undefined && { contentType }) };
    } catch (err) {
      // fetch hides the reason (ECONNREFUSED, timeout…) in `cause`.
      const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
      return fail([(err as Error).message, cause?.code ?? cause?.message].filter(Boolean).join(': '));
    }
  }
}
