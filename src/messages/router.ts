import type { Reply } from './reply.js';
import type { TypedMessages, WxMessage } from './types.js';

/** What a handler may answer: a reply value, raw passive-reply XML (legacy), or nothing (`success`). */
export type HandlerResult = Reply | string | undefined | void;
export type MessageHandlerFn<M extends WxMessage = WxMessage> = (message: M) => HandlerResult | Promise<HandlerResult>;

type MessageTypes = Extract<keyof TypedMessages, `message.${string}`>;
type EventTypes = Extract<keyof TypedMessages, `event.${string}`>;

/** Routing patterns: an exact type, `message.*`, `event.*` or `*`. */
export type Pattern = keyof TypedMessages | 'message.*' | 'event.*' | '*' | `event.${string}` | `message.${string}`;

export interface HandlerOptions {
  /** Only messages to these authorizers (appid or list); default all. */
  appid?: string | readonly string[];
}

interface Route {
  pattern: string;
  handler: MessageHandlerFn;
  appids: ReadonlySet<string> | undefined;
}

export interface DispatchResult {
  result: HandlerResult;
  /** How many handlers ran (0: nobody listens for this type). */
  ran: number;
  error?: unknown;
  timedOut?: boolean;
}

export class HandlerTimeoutError extends Error {
  readonly code = 'WXO_ERR_MESSAGE_HANDLER_TIMEOUT';
  constructor(budgetMs: number) {
    super(`message handler did not answer within ${budgetMs} ms`);
    this.name = 'HandlerTimeoutError';
  }
}

/**
 * Type → handlers. The handlers whose pattern matches a message run one after another in registration
 * order; the first that returns a reply answers and the rest are skipped, like a middleware chain (so
 * a `*` logger registered first sees everything). The chain has one time budget (WeChat waits 5 s).
 */
export class MessageRouter {
  private readonly routes: Route[] = [];

  on<K extends keyof TypedMessages>(type: K, handler: MessageHandlerFn<TypedMessages[K]>, options?: HandlerOptions): this;
  on(type: 'message.*', handler: MessageHandlerFn<TypedMessages[MessageTypes] | TypedMessages['other']>, options?: HandlerOptions): this;
  on(type: 'event.*', handler: MessageHandlerFn<TypedMessages[EventTypes] | TypedMessages['other']>, options?: HandlerOptions): this;
  on(type: '*' | Pattern, handler: MessageHandlerFn, options?: HandlerOptions): this;
  on(type: string, handler: MessageHandlerFn<never>, options: HandlerOptions = {}): this {
    const appids = options.appid === undefined ? undefined : new Set(typeof options.appid === 'string' ? [options.appid] : options.appid);
    this.routes.push({ pattern: type, handler: handler as MessageHandlerFn, appids });
    return this;
  }

  /** Removes a handler registered with `on`. */
  off(type: string, handler: MessageHandlerFn<never>): this {
    const i = this.routes.findIndex((r) => r.pattern === type && r.handler === (handler as MessageHandlerFn));
    if (i >= 0) this.routes.splice(i, 1);
    return this;
  }

  get size(): number {
    return this.routes.length;
  }

  /** Handlers that would see `message`, in registration order. */
  private chain(message: WxMessage): MessageHandlerFn[] {
    const family = message.msgType === 'event' ? 'event.*' : 'message.*';
    // An unknown kind is still reachable by its raw name (`event.some_new_event`), by `other` and by wildcards.
    const exact =
      message.type === 'other' ? (message.msgType === 'event' ? `event.${message.event ?? ''}` : `message.${message.msgType}`) : message.type;
    const out: MessageHandlerFn[] = [];
    for (const r of this.routes) {
      const p = r.pattern;
      const matches = p === '*' || p === family || p === exact || (p === 'other' && message.type === 'other');
      if (matches && (!r.appids || r.appids.has(message.authorizerAppid))) out.push(r.handler);
    }
    return out;
  }

  /**
   * Whether any handler could see a message with these raw fields, decided before the message is typed (typing
   * is the costliest step of a message nobody receives). Types are `event.<Event>` / `message.<MsgType>`, so the
   * raw names suffice; an `other` handler may want anything.
   */
  wants(authorizerAppid: string, msgType: string, event: string | undefined): boolean {
    const family = msgType === 'event' ? 'event.*' : 'message.*';
    const exact = msgType === 'event' ? `event.${event ?? ''}` : `message.${msgType}`;
    for (const r of this.routes) {
      const p = r.pattern;
      if ((p === '*' || p === family || p === exact || p === 'other') && (!r.appids || r.appids.has(authorizerAppid))) return true;
    }
    return false;
  }

  hasHandlers(message: WxMessage): boolean {
    return this.chain(message).length > 0;
  }

  /**
   * Runs the chain within `budgetMs`. Never rejects: a throwing or late handler yields `error` (and no
   * reply); the late handler keeps running in the background and its answer is dropped.
   */
  async dispatch(message: WxMessage, budgetMs: number): Promise<DispatchResult> {
    const chain = this.chain(message);
    if (chain.length === 0) return { result: undefined, ran: 0 };
    let ran = 0;
    const run = async (): Promise<HandlerResult> => {
      for (const handler of chain) {
        ran++;
        const result = await handler(message);
        if (result !== undefined) return result;
      }
      return undefined;
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HandlerTimeoutError(budgetMs)), budgetMs);
    });
    const work = run();
    try {
      return { result: await Promise.race([work, deadline]), ran };
    } catch (error) {
      // The late chain may still fail later; nobody awaits it any more.
      work.catch(() => undefined);
      return { result: undefined, ran, error, ...(error instanceof HandlerTimeoutError && { timedOut: true }) };
    } finally {
      clearTimeout(timer);
    }
  }
}
