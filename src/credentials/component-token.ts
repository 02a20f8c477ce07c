import { componentTokenAnswer, okAnswer } from '../api/answers.js';
import { TicketMissingError, WeChatApiError } from '../errors.js';
import { coordinate } from '../lock/coordinate.js';
import { errorFields } from '../util/log-error.js';
import type { CredentialContext } from './context.js';

interface CachedToken {
  token: string;
  expiresAt: number;
  obtainedAt: number;
  readAt: number;
}

export interface TokenInfo {
  token: string;
  expiresAt: number;
  obtainedAt: number;
}

/**
 * component_access_token: shared through the store, refreshed before expiry by exactly one caller
 * across all instances, from the newest stored ticket.
 */
export class ComponentTokenManager {
  private cached: CachedToken | undefined;
  /**
   * A token WeChat issued that the store refused to write (read-only, down). Each one costs quota that
   * cannot be reset, so it is served from memory until it expires and written when the store recovers.
   */
  private unsaved: TokenInfo | undefined;
  private lastPersistTry = 0;
  constructor(private readonly ctx: CredentialContext) {}

  private usable(expiresAt: number): boolean {
    return expiresAt - this.ctx.options.refreshAheadMs > this.ctx.clock.now();
  }

  async get(options: { force?: boolean } = {}): Promise<string> {
    return (await this.info(options)).token;
  }

  async info(options: { force?: boolean } = {}): Promise<TokenInfo> {
    const now = this.ctx.clock.now();
    const c = this.cached;
    if (!options.force && c && this.usable(c.expiresAt) && now - c.readAt < this.ctx.options.memoryCacheMs) return c;
    if (options.force && c) await this.invalidate(c.obtainedAt);
    const info = await coordinate<TokenInfo>({
      lock: this.ctx.lock,
      key: `cat:${this.ctx.componentAppid}`,
      current: () => this.current(),
      refresh: () => this.refresh(),
      leaseMs: this.ctx.options.lockLeaseMs,
      maxWaitMs: this.ctx.options.lockMaxWaitMs,
      pollMs: this.ctx.options.lockPollMs,
      onLeaseLost: (key) => {
        this.ctx.metrics.leasesLost.inc({ kind: 'component' });
        this.ctx.logger.warn({ key }, 'refresh lease lost while refreshing; another instance may refresh too');
      },
    });
    this.cached = { ...info, readAt: this.ctx.clock.now() };
    return info;
  }

  /**
   * A new token now, even if the stored one is valid: obtained first, then committed in place of the
   * old one, so a failure (WeChat unreachable) leaves the stored token untouched. Same single flight
   * as `info()`; a token another caller obtained after this call began counts as the new one.
   */
  async forceRefresh(): Promise<TokenInfo> {
    const since = this.ctx.clock.now();
    const newer = async () => {
      const r = await this.readStore();
      return r && r.obtainedAt >= since ? r : undefined;
    };
    for (let attempt = 0; ; attempt++) {
      const info = await coordinate<TokenInfo>({
        lock: this.ctx.lock,
        key: `cat:${this.ctx.componentAppid}`,
        current: newer,
        refresh: () => this.refresh(),
        leaseMs: this.ctx.options.lockLeaseMs,
        maxWaitMs: this.ctx.options.lockMaxWaitMs,
        pollMs: this.ctx.options.lockPollMs,
      });
      // Joining a plain info() already in flight can hand back the old token: go round once more.
      if (info.obtainedAt >= since || attempt > 0) {
        this.cached = { ...info, readAt: this.ctx.clock.now() };
        return info;
      }
    }
  }

  /** After 40001/42001/40014: drop the token that failed, unless someone already replaced it. */
  async invalidate(obtainedAt: number): Promise<void> {
    if (this.cached?.obtainedAt === obtainedAt) this.cached = undefined;
    if (this.unsaved?.obtainedAt === obtainedAt) this.unsaved = undefined;
    const cached = await this.fromCache();
    if (cached?.obtainedAt === obtainedAt) await this.cacheOp((c) => c.delete(this.cacheKey));
    await this.ctx.store.invalidateComponentToken(this.ctx.componentAppid, obtainedAt);
  }

  /**
   * Namespaced by the API host as well: a token is only valid at the WeChat (or sandbox) that issued
   * it, so a dev or sandbox deployment sharing a Redis can never hand production a foreign token.
   */
  private get cacheKey(): string {
    return `cat:${this.ctx.componentAppid}:${this.ctx.apiNamespace}`;
  }

  /** Cache failures only cost a store read: the store is the truth. */
  private async cacheOp<T>(op: (cache: NonNullable<CredentialContext['cache']>) => Promise<T>): Promise<T | undefined> {
    if (!this.ctx.cache) return undefined;
    try {
      return await op(this.ctx.cache);
    } catch (err) {
      this.ctx.logger.warn({ err }, 'token cache unavailable; using the store');
      return undefined;
    }
  }

  private async fromCache(): Promise<{ tokenEnc: string; expiresAt: number; obtainedAt: number } | undefined> {
    const raw = await this.cacheOp((c) => c.get(this.cacheKey));
    return raw ? (JSON.parse(raw) as { tokenEnc: string; expiresAt: number; obtainedAt: number }) : undefined;
  }

  /** The obtainedAt of a token string this process handed out, to invalidate exactly that one. */
  obtainedAtOf(token: string): number | undefined {
    return this.cached?.token === token ? this.cached.obtainedAt : undefined;
  }

  /** True while a token WeChat issued is held only in memory because the store refused it. */
  get holdsUnsaved(): boolean {
    return this.unsaved !== undefined && this.usable(this.unsaved.expiresAt);
  }

  private async current(): Promise<TokenInfo | undefined> {
    if (this.unsaved && !this.usable(this.unsaved.expiresAt)) this.unsaved = undefined;
    if (!this.unsaved) return this.readStore();
    const now = this.ctx.clock.now();
    // At most one write attempt per 5 s: a down store is not hammered by every caller.
    if (now - this.lastPersistTry >= 5_000) {
      this.lastPersistTry = now;
      await this.persist(this.unsaved);
    }
    return this.unsaved ?? this.readStore();
  }

  /**
   * Writes a token unless the store already holds a newer one; held in memory while the store refuses. Once the store
   * accepts, nothing stays held: whatever was held is no newer than this token, and the store now has this
   * one or a newer one.
   */
  private async persist(info: TokenInfo): Promise<void> {
    const { ctx } = this;
    const tokenEnc = ctx.box.seal(info.token, ctx.componentAppid);
    let written = false;
    try {
      const stored = await ctx.store.getComponentToken(ctx.componentAppid);
      if (!stored || stored.obtainedAt < info.obtainedAt) {
        await ctx.store.saveComponentToken({ componentAppid: ctx.componentAppid, tokenEnc, expiresAt: info.expiresAt, obtainedAt: info.obtainedAt });
        written = true;
      }
    } catch (err) {
      ctx.metrics.storeWriteFailures.inc({ what: 'component_token' });
      ctx.logger.error({ error: (err as Error).message }, 'store refused the component_access_token; serving it from memory until the store recovers');
      this.unsaved = info;
      return;
    }
    const held = this.unsaved;
    this.unsaved = undefined;
    if (held?.obtainedAt === info.obtainedAt) {
      ctx.logger.info(
        written
          ? 'stored the component_access_token kept in memory while the store was refusing writes'
          : 'dropped the component_access_token kept in memory: the store holds a newer one',
      );
    }
    // Only a token just written goes to the cache: an older one there would shadow the newer stored one.
    if (written) await this.cacheOp((c) => c.set(this.cacheKey, JSON.stringify({ tokenEnc, expiresAt: info.expiresAt, obtainedAt: info.obtainedAt }), info.expiresAt - ctx.clock.now()));
  }

  private async readStore(): Promise<TokenInfo | undefined> {
    let r = await this.fromCache();
    if (!r || !this.usable(r.expiresAt)) {
      r = await this.ctx.store.getComponentToken(this.ctx.componentAppid);
      if (!r || !this.usable(r.expiresAt)) return undefined;
      const fill = { tokenEnc: r.tokenEnc, expiresAt: r.expiresAt, obtainedAt: r.obtainedAt };
      await this.cacheOp((c) => c.set(this.cacheKey, JSON.stringify(fill), fill.expiresAt - this.ctx.clock.now()));
    }
    return { token: this.ctx.box.open(r.tokenEnc, this.ctx.componentAppid), expiresAt: r.expiresAt, obtainedAt: r.obtainedAt };
  }

  private async ticket(): Promise<string> {
    const t = await this.ctx.store.getTicket(this.ctx.componentAppid);
    if (!t) throw new TicketMissingError('none has been received yet');
    const age = this.ctx.clock.now() - t.receivedAt;
    if (age > this.ctx.options.ticketTtlMs) throw new TicketMissingError(`the newest is ${Math.round(age / 60_000)} min old (valid 12 h)`);
    return t.ticket;
  }

  private async refresh(): Promise<TokenInfo> {
    const { ctx } = this;
    let ticket = await this.ticket();
    let answer: { component_access_token: string; expires_in: number };
    try {
      answer = await this.request(ticket);
    } catch (err) {
      // 61005/61006: a newer ticket may have arrived since we read it; retry once with the newest.
      if (!(err instanceof WeChatApiError) || (err.errcode !== 61005 && err.errcode !== 61006)) throw this.count(err);
      const newest = await this.ticket();
      if (newest === ticket) {
        ctx.logger.error({ errcode: err.errcode }, 'component_verify_ticket rejected and no newer one stored; asking WeChat to push one');
        await this.startPushTicket().catch((e: unknown) => ctx.logger.error(errorFields(e), 'api_start_push_ticket failed'));
        throw this.count(err);
      }
      ticket = newest;
      answer = await this.request(ticket).catch((e: unknown) => {
        throw this.count(e);
      });
    }
    const obtainedAt = ctx.clock.now();
    const info = { token: answer.component_access_token, expiresAt: obtainedAt + answer.expires_in * 1000, obtainedAt };
    this.lastPersistTry = obtainedAt;
    await this.persist(info);
    ctx.metrics.tokenRefreshes.inc({ kind: 'component', outcome: 'ok' });
    ctx.events.emit('token.refreshed', { kind: 'component', appid: ctx.componentAppid, expiresAt: info.expiresAt });
    ctx.logger.info({ kind: 'component', expiresAt: new Date(info.expiresAt).toISOString() }, 'token refreshed');
    return info;
  }

  private count(err: unknown): unknown {
    this.ctx.metrics.tokenRefreshes.inc({ kind: 'component', outcome: err instanceof WeChatApiError ? String(err.errcode) : 'error' });
    return err;
  }

  private request(ticket: string): Promise<{ component_access_token: string; expires_in: number }> {
    return this.ctx.http.request({
      method: 'POST',
      path: '/cgi-bin/component/api_component_token',
      answer: componentTokenAnswer,
      body: { component_appid: this.ctx.componentAppid, component_appsecret: this.ctx.componentSecret, component_verify_ticket: ticket },
      idempotent: true,
    });
  }

  /** Asks WeChat to push a ticket now (spec 2.1; the field is component_secret). */
  async startPushTicket(): Promise<void> {
    await this.ctx.http.request({
      method: 'POST',
      path: '/cgi-bin/component/api_start_push_ticket',
      answer: okAnswer,
      body: { component_appid: this.ctx.componentAppid, component_secret: this.ctx.componentSecret },
      idempotent: true,
    });
  }

  /** At start: when no ticket younger than its TTL is stored, ask WeChat to push one at once. */
  async ensureTicket(): Promise<'present' | 'requested'> {
    const t = await this.ctx.store.getTicket(this.ctx.componentAppid);
    if (t && this.ctx.clock.now() - t.receivedAt < this.ctx.options.ticketTtlMs) return 'present';
    await this.startPushTicket();
    return 'requested';
  }
}
