import type { z } from 'zod';
import { authorizerListAnswer, authorizerTokenAnswer } from '../api/answers.js';
import { AuthorizerNotFoundError, ReauthorizationRequiredError, WeChatApiError } from '../errors.js';
import { coordinate } from '../lock/coordinate.js';
import type { AuthorizerRecord, RefreshedTokensInput } from '../store/types.js';
import type { ComponentTokenManager } from './component-token.js';
import type { CredentialContext } from './context.js';
import { errorFields } from '../util/log-error.js';

/** Codes from api_authorizer_token that mean the refresh token itself is dead (spec 8). */
const DEAD_REFRESH_TOKEN = new Set([61023]);
/** Codes that mean the account no longer authorizes the platform. */
const NOT_AUTHORIZED = new Set([61003]);

type AuthorizerTokenAnswer = z.output<typeof authorizerTokenAnswer>;
/** 200 pages of 500: more authorizers than any platform may have (WeChat caps a component's list). */
const MAX_LIST_PAGES = 200;

export interface TokenOptions {
  /** Refresh even if the stored token looks valid (after WeChat said it is not). */
  force?: boolean;
  /** With force: the version of the token that failed; a newer one is not dropped. */
  failedVersion?: number;
  minValidMs?: number;
}

export interface AuthorizerTokenInfo {
  token: string;
  expiresAt: number;
  version: number;
}

/**
 * authorizer_access_token per authorizer. The refresh token WeChat returns is committed in the same
 * transaction as the access token, before the access token reaches any caller, and every refresh
 * token ever returned is also appended to a log. A refresh token WeChat no longer accepts (61023) is
 * recovered from api_get_authorizer_list or the log before the authorizer is flagged.
 */
export class AuthorizerTokenManager {
  private readonly cache = new Map<string, AuthorizerTokenInfo & { readAt: number }>();
  /** Refresh results the store refused: WeChat may have rotated the refresh token, so they must not be dropped. */
  private readonly unsaved = new Map<string, { input: RefreshedTokensInput; info: AuthorizerTokenInfo; triedAt: number }>();
  constructor(
    private readonly ctx: CredentialContext,
    private readonly component: ComponentTokenManager,
  ) {}

  private aad(appid: string): string {
    return `${this.ctx.componentAppid}:${appid}`;
  }

  async get(appid: string, options: TokenOptions = {}): Promise<string> {
    return (await this.info(appid, options)).token;
  }

  /**
   * A token valid for at least `minValidMs` (default: the refresh-ahead margin); the background
   * refresher asks for more, with per-authorizer jitter, so refreshes spread out over time.
   */
  async info(appid: string, options: TokenOptions = {}): Promise<AuthorizerTokenInfo> {
    const now = this.ctx.clock.now();
    const margin = Math.max(this.ctx.options.refreshAheadMs, options.minValidMs ?? 0);
    const c = this.cache.get(appid);
    if (!options.force && c && c.expiresAt - margin > now && now - c.readAt < this.ctx.options.memoryCacheMs) return c;
    const held = this.unsaved.get(appid);
    if (held) {
      const served = await this.retryUnsaved(appid, held, now);
      if (served && !options.force && served.expiresAt - margin > now) return served;
    }
    if (options.force) {
      const r = await this.ctx.store.getAuthorizer(this.ctx.componentAppid, appid);
      if (r) await this.invalidate(appid, options.failedVersion ?? r.version);
    }
    const info = await coordinate<AuthorizerTokenInfo>({
      lock: this.ctx.lock,
      key: `aat:${this.ctx.componentAppid}:${appid}`,
      current: async () => this.usable(await this.record(appid), margin),
      refresh: () => this.refresh(appid),
      leaseMs: this.ctx.options.lockLeaseMs,
      maxWaitMs: this.ctx.options.lockMaxWaitMs,
      pollMs: this.ctx.options.lockPollMs,
      onLeaseLost: (key) => {
        this.ctx.metrics.leasesLost.inc({ kind: 'authorizer' });
        this.ctx.logger.warn({ key }, 'refresh lease lost while refreshing; another instance may refresh too');
      },
    });
    this.cache.set(appid, { ...info, readAt: this.ctx.clock.now() });
    return info;
  }

  /**
   * A new token now, even if the stored one is valid: obtained first, then committed with its refresh
   * token in one versioned write, so a failure leaves the stored tokens untouched (never drop first).
   * Same single flight as `info()`; a refresh someone else committed after this call began counts.
   */
  async forceRefresh(appid: string): Promise<AuthorizerTokenInfo> {
    const before = (await this.record(appid)).version;
    const margin = this.ctx.options.refreshAheadMs;
    for (let attempt = 0; ; attempt++) {
      const info = await coordinate<AuthorizerTokenInfo>({
        lock: this.ctx.lock,
        key: `aat:${this.ctx.componentAppid}:${appid}`,
        current: async () => {
          const r = await this.record(appid);
          return r.version > before ? this.usable(r, margin) : undefined;
        },
        refresh: () => this.refresh(appid),
        leaseMs: this.ctx.options.lockLeaseMs,
        maxWaitMs: this.ctx.options.lockMaxWaitMs,
        pollMs: this.ctx.options.lockPollMs,
      });
      // Joining a plain info() already in flight can hand back the old token: go round once more. A token the
      // store refused to record keeps the old version but is new: asking again would only spend another refresh.
      if (info.version > before || attempt > 0 || this.unsaved.get(appid)?.info === info) {
        this.cache.set(appid, { ...info, readAt: this.ctx.clock.now() });
        return info;
      }
    }
  }

  /** After a token-invalid errcode: clear the access token only if it is still the one that failed. */
  async invalidate(appid: string, version: number): Promise<void> {
    if (this.cache.get(appid)?.version === version) this.cache.delete(appid);
    await this.ctx.store.invalidateAuthorizerAccessToken(this.ctx.componentAppid, appid, version);
  }

  versionOf(appid: string, token: string): number | undefined {
    const c = this.cache.get(appid);
    return c?.token === token ? c.version : undefined;
  }

  forget(appid: string): void {
    this.cache.delete(appid);
    this.unsaved.delete(appid);
  }

  /** Writes held tokens when the store accepts again (at most every 5 s); returns them while still usable. */
  private async retryUnsaved(
    appid: string,
    held: { input: RefreshedTokensInput; info: AuthorizerTokenInfo; triedAt: number },
    now: number,
  ): Promise<AuthorizerTokenInfo | undefined> {
    if (now - held.triedAt >= 5_000) {
      held.triedAt = now;
      try {
        const outcome = await this.ctx.store.saveRefreshedTokens(held.input);
        this.unsaved.delete(appid);
        this.cache.delete(appid);
        this.ctx.logger.info({ authorizerAppid: appid, outcome }, 'stored the authorizer tokens kept in memory while the store was refusing writes');
        return undefined;
      } catch {
        this.ctx.metrics.storeWriteFailures.inc({ what: 'authorizer_tokens' });
      }
    }
    return held.info.expiresAt > now ? held.info : undefined;
  }

  private async record(appid: string): Promise<AuthorizerRecord> {
    const r = await this.ctx.store.getAuthorizer(this.ctx.componentAppid, appid);
    if (!r) throw new AuthorizerNotFoundError(appid);
    if (r.status !== 'authorized' || r.refreshTokenEnc === null) throw new ReauthorizationRequiredError(appid, r.status, r.statusReason);
    return r;
  }

  private usable(r: AuthorizerRecord, margin: number): AuthorizerTokenInfo | undefined {
    if (r.accessTokenEnc === null || r.accessExpiresAt === null) return undefined;
    if (r.accessExpiresAt - margin <= this.ctx.clock.now()) return undefined;
    return { token: this.ctx.box.open(r.accessTokenEnc, this.aad(r.authorizerAppid)), expiresAt: r.accessExpiresAt, version: r.version };
  }

  private async refresh(appid: string): Promise<AuthorizerTokenInfo> {
    const r = await this.record(appid);
    // A refresh the store refused to record may have rotated the refresh token: then only the held copy has the
    // one WeChat accepts (the stored one may already be dead), so it is used for as long as the row is unchanged.
    const held = this.unsaved.get(appid);
    const refreshTokenEnc = held && held.input.expectedVersion === r.version ? held.input.refreshTokenEnc : r.refreshTokenEnc!;
    try {
      return await this.refreshWith(r, this.ctx.box.open(refreshTokenEnc, this.aad(appid)));
    } catch (err) {
      if (err instanceof WeChatApiError && DEAD_REFRESH_TOKEN.has(err.errcode)) return this.recover(r, err);
      if (err instanceof WeChatApiError && NOT_AUTHORIZED.has(err.errcode)) throw await this.flag(appid, err);
      this.ctx.metrics.tokenRefreshes.inc({ kind: 'authorizer', outcome: err instanceof WeChatApiError ? String(err.errcode) : 'error' });
      throw err;
    }
  }

  private async refreshWith(r: AuthorizerRecord, refreshToken: string): Promise<AuthorizerTokenInfo> {
    const { ctx } = this;
    const appid = r.authorizerAppid;
    const answer = await this.callRefresh(appid, refreshToken);
    const at = ctx.clock.now();
    const expiresAt = at + answer.expires_in * 1000;
    // Persist whatever refresh token comes back (spec 3.4), and an unchanged one if none does.
    const newRefresh = answer.authorizer_refresh_token || refreshToken;
    const accessTokenEnc = ctx.box.seal(answer.authorizer_access_token, this.aad(appid));
    const input: RefreshedTokensInput = {
      componentAppid: ctx.componentAppid,
      authorizerAppid: appid,
      expectedVersion: r.version,
      refreshTokenEnc: ctx.box.seal(newRefresh, this.aad(appid)),
      accessTokenEnc,
      accessExpiresAt: expiresAt,
      at,
    };
    let outcome: 'saved' | 'conflict';
    try {
      outcome = await ctx.store.saveRefreshedTokens(input);
    } catch (err) {
      // WeChat has issued (and maybe rotated) tokens: keep them in memory, serve them, write them later.
      const info = { token: answer.authorizer_access_token, expiresAt, version: r.version };
      this.unsaved.set(appid, { input, info, triedAt: at });
      this.cache.set(appid, { ...info, readAt: at });
      ctx.metrics.storeWriteFailures.inc({ what: 'authorizer_tokens' });
      ctx.logger.error({ authorizerAppid: appid, error: (err as Error).message }, 'store refused the refreshed authorizer tokens; serving them from memory until the store recovers');
      return info;
    }
    ctx.metrics.tokenRefreshes.inc({ kind: 'authorizer', outcome: outcome === 'saved' ? 'ok' : 'conflict' });
    // Whatever was held is older than what was just written (or than the row that moved on).
    this.unsaved.delete(appid);
    if (outcome === 'conflict') {
      // The row changed under us (a re-authorization). The new refresh token is in the log; hand out
      // the access token WeChat just issued, which is valid.
      ctx.logger.warn({ authorizerAppid: appid }, 'authorizer row changed during refresh; kept both refresh tokens');
      const now = await ctx.store.getAuthorizer(ctx.componentAppid, appid);
      return { token: answer.authorizer_access_token, expiresAt, version: now?.version ?? r.version };
    }
    ctx.events.emit('token.refreshed', { kind: 'authorizer', appid, expiresAt });
    return { token: answer.authorizer_access_token, expiresAt, version: r.version + 1 };
  }

  private async callRefresh(appid: string, refreshToken: string): Promise<AuthorizerTokenAnswer> {
    const body = { component_appid: this.ctx.componentAppid, authorizer_appid: appid, authorizer_refresh_token: refreshToken };
    const call = async (cat: string) =>
      this.ctx.http.request({
        method: 'POST',
        path: '/cgi-bin/component/api_authorizer_token',
        answer: authorizerTokenAnswer,
        query: { component_access_token: cat },
        body,
        idempotent: true,
      });
    const cat = await this.component.info();
    try {
      return await call(cat.token);
    } catch (err) {
      if (!(err instanceof WeChatApiError) || err.kind !== 'token') throw err;
      await this.component.invalidate(cat.obtainedAt);
      return call(await this.component.get());
    }
  }

  /**
   * 61023: our refresh token is dead. The current one may still be known to WeChat's authorizer list
   * (e.g. we crashed after WeChat rotated it but before our commit) or to our log. Try those; only
   * then flag the authorizer. No retry loop: a flagged authorizer is not refreshed again.
   */
  private async recover(r: AuthorizerRecord, cause: WeChatApiError): Promise<AuthorizerTokenInfo> {
    const appid = r.authorizerAppid;
    const tried = new Set([this.ctx.box.open(r.refreshTokenEnc!, this.aad(appid))]);
    const candidates: { token: string; source: 'list' | 'log' }[] = [];
    const listed = await this.fromAuthorizerList(appid).catch((err: unknown) => {
      this.ctx.logger.warn({ ...errorFields(err), authorizerAppid: appid }, 'api_get_authorizer_list failed during refresh-token recovery');
      return undefined;
    });
    if (listed) candidates.push({ token: listed, source: 'list' });
    for (const logged of await this.ctx.store.recentRefreshTokens(this.ctx.componentAppid, appid, 5)) {
      candidates.push({ token: this.ctx.box.open(logged.refreshTokenEnc, this.aad(appid)), source: 'log' });
    }
    for (const c of candidates) {
      if (tried.has(c.token)) continue;
      tried.add(c.token);
      try {
        const info = await this.refreshWith(r, c.token);
        this.ctx.logger.warn({ authorizerAppid: appid, source: c.source }, 'recovered a refresh token WeChat still accepts');
        this.ctx.events.emit('authorizer.refresh_token_recovered', { authorizerAppid: appid, source: c.source });
        return info;
      } catch (err) {
        if (!(err instanceof WeChatApiError && DEAD_REFRESH_TOKEN.has(err.errcode))) throw err;
      }
    }
    throw await this.flag(appid, cause);
  }

  private async fromAuthorizerList(appid: string): Promise<string | undefined> {
    const count = 500;
    // A validated total_count ends the paging; the page cap also bounds an answer that lies about it.
    for (let offset = 0, pages = 0; pages < MAX_LIST_PAGES; offset += count, pages++) {
      const cat = await this.component.get();
      const page = await this.ctx.http.request({
        method: 'POST',
        path: '/cgi-bin/component/api_get_authorizer_list',
        query: { component_access_token: cat },
        body: { component_appid: this.ctx.componentAppid, offset, count },
        idempotent: true,
        answer: authorizerListAnswer,
      });
      const hit = page.list.find((a) => a.authorizer_appid === appid);
      if (hit) return hit.refresh_token || undefined;
      if (page.list.length === 0 || offset + count >= page.total_count) return undefined;
    }
    return undefined;
  }

  private async flag(appid: string, cause: WeChatApiError): Promise<ReauthorizationRequiredError> {
    const { ctx } = this;
    await ctx.store.setAuthorizerStatus(ctx.componentAppid, appid, 'needs_reauthorization', `${cause.errcode} ${cause.errmsg}`.slice(0, 200), ctx.clock.now());
    this.cache.delete(appid);
    ctx.metrics.reauthorizationRequired.inc({ errcode: String(cause.errcode) });
    ctx.metrics.tokenRefreshes.inc({ kind: 'authorizer', outcome: String(cause.errcode) });
    ctx.events.emit('authorizer.needs_reauthorization', { authorizerAppid: appid, errcode: cause.errcode, errmsg: cause.errmsg });
    ctx.logger.error({ authorizerAppid: appid, errcode: cause.errcode }, 'authorizer needs re-authorization');
    return new ReauthorizationRequiredError(appid, 'needs_reauthorization', String(cause.errcode));
  }
}
