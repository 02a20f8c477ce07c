import type { PushEvent, PushEventMap, PushEventType } from './events.js';

type Handler<E> = (event: E) => void | Promise<void>;
export type PushErrorHandler = (error: AggregateError, event: PushEvent) => void;

/**
 * Typed fan-out of verified pushes (octokit-style `on` / `onAny` / `onError`). Handlers run after the
 * push is durably stored and `success` is answered, so a slow or failing handler never makes WeChat
 * retry; their failures are collected into one AggregateError for `onError`.
 */
export class PushEmitter {
  private readonly handlers = new Map<PushEventType, Handler<PushEvent>[]>();
  private readonly anyHandlers: Handler<PushEvent>[] = [];
  private readonly errorHandlers: PushErrorHandler[] = [];
  private readonly pending = new Set<Promise<void>>();

  on<T extends PushEventType>(type: T, handler: Handler<PushEventMap[T]>): () => void {
    const list = this.handlers.get(type) ?? [];
    list.push(handler as Handler<PushEvent>);
    this.handlers.set(type, list);
    return () => list.splice(list.indexOf(handler as Handler<PushEvent>) >>> 0, 1);
  }

  onAny(handler: Handler<PushEvent>): void {
    this.anyHandlers.push(handler);
  }

  onError(handler: PushErrorHandler): void {
    this.errorHandlers.push(handler);
  }

  /** Starts the handlers without waiting for them; `drain()` waits for all started so far. */
  emit(event: PushEvent): void {
    const all = [...(this.handlers.get(event.type) ?? []), ...this.anyHandlers];
    if (all.length === 0) return;
    const run = Promise.allSettled(all.map(async (h) => h(event))).then((results) => {
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      if (errors.length === 0) return;
      const error = new AggregateError(errors, `[wxopen] ${errors.length} handler(s) failed for ${event.type}`);
      for (const h of this.errorHandlers) h(error, event);
    });
    this.pending.add(run);
    void run.finally(() => this.pending.delete(run));
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
