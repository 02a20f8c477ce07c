import { hash } from 'node:crypto';
import { WeChatApiError } from '../errors.js';
import type { AuthorizerRecord, ExchangeRecord } from '../store/types.js';
import { timeOrderedKey } from '../util/time-key.js';
import { codeFromPayload, openCode, sealCode } from '../push/authorization-code.js';
import type { CredentialContext } from './context.js';
import { errorFields } from '../util/log-error.js';

/** Authorization codes live 10 minutes (spec 3.9): retrying after that only burns calls. */
export const CODE_LIFE_MS = 10 * 60_000;

export interface ExchangeQueueOptions {
  /** How often the sweep re-reads durable state (pending exchanges, pushes with no exchange row). */
  sweepMs: number;
  firstRetryMs: number;
  maxRetryMs: number;
  /** Ordering time (Unix s) of a stored push, from its CreateTime and receive time. */
  orderingTime(createTime: number, receivedAt: number): number;
  /** Exchanges sent to WeChat at once (default 4); the others wait their turn. */
  maxConcurrent?: number;
  /** Exchanges waiting for a turn in memory (default 1000); past that a code waits in its row for the sweep. */
  maxWaiting?: number;
}

/** `authorizerAppid`: the push's, when it named one (for the ordering check before the code is spent). */
export type Exchange = (code: string, eventTime: number, authorizerAppid: string | null) => Promise<AuthorizerRecord | undefined>;

/**
 * Durable authorization-code exchanges. A code from an `authorized`/`updateauthorized` push is written
 * to the store before it is exchanged; a transient failure (-1, 5xx, network, store) is retried with
 * backoff from that row, by this process's timer and by every instance's sweep, within the code's
 * life; a final failure is logged as an error with a metric and an event. The sweep also turns stored
 * pushes that have no exchange row yet (a crash between answering WeChat and recording it) into rows,
 * so a crash at any point loses no authorization.
 */
export class ExchangeQueue {
  private timer: NodeJS.Timeout | undefined;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly inflight = new Map<string, Promise<AuthorizerRecord | undefined>>();
  private sweeping: Promise<void> | undefined;
  private stopped = false;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /**
   * After a transient failure (WeChat unreachable, no ticket yet, -1) nothing is sent until this instant:
   * the codes that arrive meanwhile are only recorded, and the sweep at its end tries them. Without it a
   * burst of authorizations while WeChat is down cost a failing call (and a lock, a warning, a row write)
   * per push; now it costs one per backoff step.
   */
  private holdUntil = 0;
  private failures = 0;
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: CredentialContext,
    private readonly exchange: Exchange,
    private readonly o: ExchangeQueueOptions,
  ) {}

  /**
   * The row's key: the push's CreateTime (so the index grows at its end), then a hash of the code (the
   * code itself is a credential, kept only sealed). The sweep rebuilds the same key from the stored push.
   */
  key(code: string, createTime: number): string {
    return timeOrderedKey(createTime, hash('sha256', `${this.ctx.componentAppid}:${code}`, 'hex'));
  }

  start(): void {
    if (this.timer) return;
    this.stopped = false;
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), this.o.sweepMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    // Each waiter is handed a turn, finds the queue stopped and leaves its row for the next start.
    for (const wake of this.waiting.splice(0)) {
      this.running++;
      wake();
    }
    await this.sweeping;
    await Promise.allSettled([...this.inflight.values()]);
  }

  /**
   * A code from an authentic push (`createTime`: its CreateTime): record it durably, then exchange it (retried on
   * transient failure). `codeEnc`: the code already sealed (with `codeAad`) for the push log, reused as is.
   */
  async submit(code: string, p: { authorizerAppid: string | null; createTime: number; eventTime: number; receivedAt: number; codeEnc?: string | undefined }): Promise<AuthorizerRecord | undefined> {
    const record: ExchangeRecord = {
      componentAppid: this.ctx.componentAppid,
      codeKey: this.key(code, p.createTime),
      codeEnc: p.codeEnc ?? sealCode(this.ctx.box, this.ctx.componentAppid, code),
      authorizerAppid: p.authorizerAppid,
      eventTime: p.eventTime,
      receivedAt: p.receivedAt,
      expiresAt: p.receivedAt + CODE_LIFE_MS,
      nextAttemptAt: p.receivedAt,
      attempts: 0,
      state: 'pending',
      lastError: null,
    };
    try {
      if (!(await this.ctx.store.recordExchange(record))) {
        const existing = await this.ctx.store.getExchange(this.ctx.componentAppid, record.codeKey);
        if (existing && existing.state !== 'pending') return undefined;
      }
    } catch (err) {
      // Still exchanged now; the stored push lets the sweep find it again if this attempt fails.
      this.ctx.logger.error({ err, authorizerAppid: p.authorizerAppid ?? undefined }, 'could not record the authorization code to exchange; exchanging it now');
    }
    // Held: the row is due now, so the sweep at the end of the hold sends it.
    if (this.held()) return undefined;
    return this.attempt(record, code);
  }

  /** One pass over durable state: pushes without an exchange row, then due retries. */
  sweep(): Promise<void> {
    this.sweeping ??= this.pass()
      .catch((err: unknown) => this.ctx.logger.warn(errorFields(err), 'exchange sweep failed; retrying at the next one'))
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async pass(): Promise<void> {
    const { ctx } = this;
    const now = ctx.clock.now();
    for (const infoType of ['authorized', 'updateauthorized']) {
      for (const push of await ctx.store.listPushes(ctx.componentAppid, { infoType, limit: 200 })) {
        if (push.receivedAt + CODE_LIFE_MS <= now) continue;
        let stored: ReturnType<typeof codeFromPayload>;
        try {
          stored = codeFromPayload(push.payload, ctx.box, ctx.componentAppid);
        } catch (err) {
          // Sealed with a key no longer configured: this push cannot be recovered, the others still can.
          ctx.logger.warn({ err, authorizerAppid: push.authorizerAppid ?? undefined }, 'could not open the authorization code of a stored push');
          continue;
        }
        if (stored === undefined) continue;
        await ctx.store.recordExchange({
          componentAppid: ctx.componentAppid,
          codeKey: this.key(stored.code, push.createTime),
          // A sealed code's ciphertext is the row's as it stands (same associated data): no open and re-seal.
          codeEnc: stored.sealed ?? sealCode(ctx.box, ctx.componentAppid, stored.code),
          authorizerAppid: push.authorizerAppid,
          eventTime: this.o.orderingTime(push.createTime, push.receivedAt),
          receivedAt: push.receivedAt,
          expiresAt: push.receivedAt + CODE_LIFE_MS,
          nextAttemptAt: now,
        });
      }
    }
    for (const due of await ctx.store.dueExchanges(ctx.componentAppid, now, 50)) {
      // The rest waits for the hold's end (or the next start); pruning does not: a long outage must not keep
      // every old row.
      if (this.stopped || this.held()) break;
      const code = openCode(ctx.box, ctx.componentAppid, due.codeEnc);
      await this.attempt(due, code);
    }
    await ctx.store.pruneExchanges(ctx.componentAppid, now - 24 * 3600_000);
  }

  private held(): boolean {
    return this.ctx.clock.now() < this.holdUntil;
  }

  private attempt(r: ExchangeRecord, code: string): Promise<AuthorizerRecord | undefined> {
    const running = this.inflight.get(r.codeKey);
    if (running) return running;
    // Too many waiting already: the row is durable and due, the sweep sends it.
    if (this.running >= (this.o.maxConcurrent ?? 4) && this.waiting.length >= (this.o.maxWaiting ?? 1000)) return Promise.resolve(undefined);
    const run = this.turn(r, code).finally(() => this.inflight.delete(r.codeKey));
    this.inflight.set(r.codeKey, run);
    return run;
  }

  /** `run` when a turn is free; a hold that began while it waited leaves the row for the sweep. */
  private async turn(r: ExchangeRecord, code: string): Promise<AuthorizerRecord | undefined> {
    // A finishing run hands its turn to the first waiter (the count stays), so a newcomer cannot slip in between.
    if (this.running >= (this.o.maxConcurrent ?? 4)) await new Promise<void>((wake) => this.waiting.push(wake));
    else this.running++;
    try {
      if (this.held() || this.stopped) return undefined;
      return await this.run(r, code);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** The queue-wide backoff after a transient failure, as long as the row's own; a success ends it. */
  private hold(delay: number): void {
    this.failures++;
    this.holdUntil = this.ctx.clock.now() + delay;
    if (!this.timer || this.stopped) return;
    clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => void this.sweep(), delay);
    this.holdTimer.unref();
  }

  private async run(r: ExchangeRecord, code: string): Promise<AuthorizerRecord | undefined> {
    const { ctx } = this;
    const attempts = r.attempts + 1;
    const log = { authorizerAppid: r.authorizerAppid ?? undefined, attempt: attempts };
    if (ctx.clock.now() >= r.expiresAt) return this.fail(r, attempts, 'the code expired before it could be exchanged');
    try {
      const record = await this.exchange(code, r.eventTime, r.authorizerAppid);
      this.failures = 0;
      this.holdUntil = 0;
      await this.save(r, { state: 'done', attempts, nextAttemptAt: r.expiresAt, lastError: null });
      ctx.metrics.codeExchanges.inc({ outcome: record ? 'done' : 'stale' });
      return record;
    } catch (err) {
      const why = describe(err);
      // 61009/61010 "code used": another instance may be exchanging it right now and not have committed
      // yet; a few tries let its stored authorization be found before this is called a loss.
      const usedElsewhere = err instanceof WeChatApiError && (err.errcode === 61009 || err.errcode === 61010) && attempts < 3;
      if (!isTransient(err) && !usedElsewhere) return this.fail(r, attempts, why, err);
      const delay = Math.min(this.o.maxRetryMs, this.o.firstRetryMs * 2 ** (attempts - 1));
      if (isTransient(err)) this.hold(Math.min(this.o.maxRetryMs, this.o.firstRetryMs * 2 ** this.failures));
      const at = ctx.clock.now() + delay;
      if (at >= r.expiresAt) return this.fail(r, attempts, `${why}; no retry fits in the code's life`, err);
      await this.save(r, { state: 'pending', attempts, nextAttemptAt: at, lastError: why });
      ctx.metrics.codeExchanges.inc({ outcome: 'retry' });
      ctx.logger.warn({ ...log, retryInMs: delay, error: why }, 'authorization code exchange failed; will retry');
      // A started queue sweeps when its hold ends, and sends this row then if it is due by then: a timer of
      // its own as well would send the same code twice at that instant.
      const swept = this.timer !== undefined && this.holdUntil >= at;
      if (!this.stopped && !swept) {
        const t = setTimeout(() => {
          this.retryTimers.delete(t);
          void this.attempt({ ...r, attempts, nextAttemptAt: at, lastError: why }, code).catch(() => undefined);
        }, delay);
        t.unref();
        this.retryTimers.add(t);
      }
      return undefined;
    }
  }

  private async fail(r: ExchangeRecord, attempts: number, why: string, err?: unknown): Promise<undefined> {
    const { ctx } = this;
    await this.save(r, { state: 'failed', attempts, nextAttemptAt: r.expiresAt, lastError: why });
    ctx.metrics.codeExchanges.inc({ outcome: 'failed' });
    // Loud: WeChat considers the merchant authorized and we hold no token. The merchant must authorize again.
    ctx.logger.error(
      { authorizerAppid: r.authorizerAppid ?? undefined, attempts, error: why, errcode: err instanceof WeChatApiError ? err.errcode : undefined },
      'authorization lost: the code could not be exchanged',
    );
    ctx.events.emit('authorizer.exchange_failed', { authorizerAppid: r.authorizerAppid, attempts, error: why });
    return undefined;
  }

  private async save(r: ExchangeRecord, u: { state: ExchangeRecord['state']; attempts: number; nextAttemptAt: number; lastError: string | null }): Promise<void> {
    try {
      await this.ctx.store.updateExchange(this.ctx.componentAppid, r.codeKey, { ...u, at: this.ctx.clock.now() });
    } catch (err) {
      // The row stays pending: the sweep retries it, and a done code answers 61010, which finds the record.
      this.ctx.logger.warn({ err }, 'could not update the exchange record');
    }
  }
}

/** -1, quota, HTTP 5xx, network, lock, store: worth another try. Other errcodes (40029, 61010…) are final. */
export function isTransient(err: unknown): boolean {
  if (err instanceof WeChatApiError) return err.kind === 'busy' || err.kind === 'quota' || err.kind === 'token';
  return true;
}

function describe(err: unknown): string {
  if (err instanceof WeChatApiError) return `errcode ${err.errcode}`;
  if (err instanceof Error) return `${(err as { code?: string }).code ?? err.name}: ${err.message}`.slice(0, 300);
  return String(err).slice(0, 300);
}
