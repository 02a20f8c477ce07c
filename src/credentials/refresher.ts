import { createHash } from 'node:crypto';
import { ReauthorizationRequiredError } from '../errors.js';
import { errorFields } from '../util/log-error.js';
import type { AuthorizerTokenManager } from './authorizer-token.js';
import type { ComponentTokenManager } from './component-token.js';
import type { CredentialContext } from './context.js';

export interface RefresherOptions {
  /** How often to look for tokens to renew. */
  intervalMs: number;
  /** Refreshes are spread over this window before the refresh-ahead point, by a hash of the appid. */
  spreadMs: number;
  concurrency: number;
  /**
   * Upstream budget: refreshes start at most this often per second (paced on the clock), so a tick
   * does at most `maxPerSecond × interval` of them.
   */
  maxPerSecond: number;
  /** First backoff after a retryable failure (-1, 5xx, 45009); doubles up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  /**
   * Waits until the clock reads `atMs`; paces the refreshes. Default: a timer. Simulations pass one
   * that moves their clock instead.
   */
  sleepUntil?: (atMs: number) => Promise<void>;
  /** Called as each refresh is scheduled to start (metrics, simulations). */
  onStart?: (authorizerAppid: string, atMs: number) => void;
}

export const DEFAULT_REFRESHER_OPTIONS: RefresherOptions = {
  intervalMs: 60_000,
  spreadMs: 15 * 60_000,
  concurrency: 8,
  maxPerSecond: 20,
  backoffMs: 30_000,
  maxBackoffMs: 30 * 60_000,
};

export interface TickResult {
  due: number;
  refreshed: number;
  failed: number;
  deferred: number;
}

/**
 * Fraction in [0, 1) fixed per key. The refresher keys it by appid and the token's expiry, so every
 * instance computes the same slot for a token, and each new token of an authorizer gets a new slot.
 */
export function jitter(key: string): number {
  return createHash('sha1').update(key).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Renews tokens before they expire, for every authorizer, without bursts: each token's refresh
 * point is shifted by its own jitter, a tick does at most `maxPerSecond × interval` refreshes (the
 * soonest-expiring first) with bounded concurrency, and failures back off per authorizer. Flagged
 * authorizers are never retried.
 *
 * The jitter is drawn per token (appid + expiry), not once per appid: ticks quantize refresh points to
 * `spreadMs / intervalMs` slots, and with a per-appid jitter the authorizers that shared a slot and an
 * expiry (authorized together, or refreshed together after an outage) stayed in lockstep forever —
 * about N/15 calls in one tick and none in the next, colliding into full-budget ticks
 * (bench/tokens.ts: 10k authorizers used 220 of 1440 ticks). Redrawing each cycle mixes them again.
 */
export class BackgroundRefresher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<TickResult> | undefined;
  private readonly backoff = new Map<string, { until: number; delay: number }>();

  constructor(
    private readonly ctx: CredentialContext,
    private readonly component: ComponentTokenManager,
    private readonly authorizers: AuthorizerTokenManager,
    private readonly o: RefresherOptions = DEFAULT_REFRESHER_OPTIONS,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick().catch((err: unknown) => this.ctx.logger.error(errorFields(err), 'refresher tick failed')), this.o.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass; overlapping calls share the pass in progress. */
  tick(): Promise<TickResult> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<TickResult> {
    const { ctx, o } = this;
    const now = ctx.clock.now();
    const result: TickResult = { due: 0, refreshed: 0, failed: 0, deferred: 0 };
    const hasTicket = await ctx.store.getTicket(ctx.componentAppid);
    if (!hasTicket) return result;
    await this.component.info().catch((err: unknown) => ctx.logger.warn(errorFields(err), 'component token refresh failed'));
    const budget = Math.max(1, Math.floor((o.maxPerSecond * o.intervalMs) / 1000));
    const horizon = now + ctx.options.refreshAheadMs + o.spreadMs;
    const due: { appid: string; minValidMs: number; expiresAt: number }[] = [];
    for (let after: string | undefined; ; ) {
      const page = await ctx.store.listAuthorizers(ctx.componentAppid, { status: 'authorized', accessExpiringBefore: horizon, after, limit: 500 });
      for (const a of page) {
        const expiresAt = a.accessExpiresAt ?? 0;
        const minValidMs = ctx.options.refreshAheadMs + Math.floor(jitter(`${a.authorizerAppid}:${expiresAt}`) * o.spreadMs);
        if (expiresAt - minValidMs > now) continue;
        if ((this.backoff.get(a.authorizerAppid)?.until ?? 0) > now) continue;
        due.push({ appid: a.authorizerAppid, minValidMs, expiresAt });
      }
      if (page.length < 500) break;
      after = page[page.length - 1]!.authorizerAppid;
    }
    result.due = due.length;
    // Over budget, the tokens closest to expiry go first; the rest wait for the next tick.
    if (due.length > budget) due.sort((a, b) => a.expiresAt - b.expiresAt);
    const batch = due.slice(0, budget);
    result.deferred = due.length - batch.length;
    let next = 0;
    const spacingMs = 1000 / o.maxPerSecond;
    let slot = ctx.clock.now();
    const sleepUntil = o.sleepUntil ?? ((at: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, at - ctx.clock.now()))));
    const worker = async () => {
      while (next < batch.length) {
        const item = batch[next++]!;
        // Each start takes the next free slot, so the calls WeChat sees never exceed the budget rate.
        const at = Math.max(slot, ctx.clock.now());
        slot = at + spacingMs;
        o.onStart?.(item.appid, at);
        if (at > ctx.clock.now()) await sleepUntil(at);
        try {
          await this.authorizers.info(item.appid, { minValidMs: item.minValidMs });
          this.backoff.delete(item.appid);
          result.refreshed++;
        } catch (err) {
          result.failed++;
          this.onFailure(item.appid, err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency, batch.length) }, worker));
    if (result.due > 0) ctx.logger.info({ ...result }, 'refresher pass');
    return result;
  }

  private onFailure(appid: string, err: unknown): void {
    if (err instanceof ReauthorizationRequiredError) return;
    const prev = this.backoff.get(appid)?.delay ?? 0;
    const delay = Math.min(this.o.maxBackoffMs, prev === 0 ? this.o.backoffMs : prev * 2);
    this.backoff.set(appid, { until: this.ctx.clock.now() + delay, delay });
    this.ctx.logger.warn(
      { authorizerAppid: appid, ...errorFields(err), retryInMs: delay },
      'authorizer token refresh failed; backing off',
    );
  }
}
