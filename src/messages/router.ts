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
 * Type → handlers. Handlers of a message run one after another from the most specific pattern to
 * `*` (in registration order within one pattern); the first that returns a reply answers and the rest
 * are skipped, like a middleware chain. The whole chain has one time budget (WeChat waits 5 s).
 */
export class MessageRouter {
  private readonly routes = new Map<string, Route[]>();

  on<K extends keyof TypedMessages>(type: K, handler: MessageHandlerFn<TypedMessages[K]>, options?: HandlerOptions): this;
  on(type: 'message.*', handler: MessageHandlerFn<TypedMessages[MessageTypes] | TypedMessages['other']>, options?: HandlerOptions): this;
  on(type: 'event.*', handler: MessageHandlerFn<TypedMessages[EventTypes] | TypedMessages['other']>, options?: HandlerOptions): this;
  on(type: '*' | Pattern, handler: MessageHandlerFn, options?: HandlerOptions): this;
  on(type: string, handler: MessageHandlerFn<never>, options: HandlerOptions = {}): this {
    const appids = options.appid === undefined ? undefined : new Set(typeof options.appid === 'string' ? [options.appid] : options.appid);
    let list = this.routes.get(type);
    if (!list) this.routes.set(type, (list = []));
    list.push({ handler: handler as MessageHandlerFn, appids });
    return this;
  }

  /** Removes a handler registered with `on`. */
  off(type: string, handler: MessageHandlerFn<never>): this {
    const list = this.routes.get(type);
    const i = list?.findIndex((r) => r.handler === (handler as MessageHandlerFn)) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
    return this;
  }

  get size(): number {
    let n = 0;
    for (const list of this.routes.values()) n += list.length;
    return n;
  }

  /** Handlers that would see `message`, most specific first. */
  private chain(message: WxMessage): MessageHandlerFn[] {
    const keys: string[] = [];
    if (message.type === 'other') {
      // An unknown kind is still reachable by its raw name (`event.some_new_event`) and by wildcards.
      const raw = message.msgType === 'event' ? `event.${message.event ?? ''}` : `message.${message.msgType}`;
      keys.push(raw, 'other', message.msgType === 'event' ? 'event.*' : 'message.*', '*');
    } else {
      keys.push(message.type, message.type.startsWith('event.') ? 'event.*' : 'message.*', '*');
    }
    const out: MessageHandlerFn[] = [];
    for (const key of keys) {
      for (const r of this.routes.get(key) ?? []) if (!r.appids || r.appids.has(message.authorizerAppid)) out.push(r.handler);
    }
    return out;
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
