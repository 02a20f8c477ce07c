import { createHash } from 'node:crypto';
import { authorizerInfoAnswer, parseAnswer, preAuthCodeAnswer, queryAuthAnswer } from './api/answers.js';
import { WeChatHttp, type WeChatHttpOptions, type WeChatRequest } from './api/http.js';
import { mobileAuthUrl, pcAuthUrl, type AuthUrlInput } from './authorize/auth-url.js';
import type { Config } from './config.js';
import { SecretBox } from './crypto/secret-box.js';
import { AuthorizerTokenManager, type TokenOptions } from './credentials/authorizer-token.js';
import { ComponentTokenManager } from './credentials/component-token.js';
import { credentialOptions, type CredentialContext, type CredentialOptions } from './credentials/context.js';
import { PlatformEvents } from './credentials/events.js';
import { ExchangeQueue, type ExchangeQueueOptions } from './credentials/exchanges.js';
import { awaitExchanged } from './credentials/exchanged-elsewhere.js';
import { BackgroundRefresher, DEFAULT_REFRESHER_OPTIONS, type RefresherOptions } from './credentials/refresher.js';
import { sealedCodeOf } from './push/authorization-code.js';
import { orderingTime } from './push/event-time.js';
import { WeChatApiError } from './errors.js';
import { createLockBackend } from './lock/create-lock.js';
import { RedisTokenCache, type TokenCache } from './lock/token-cache.js';
import type { LockBackend } from './lock/types.js';
import type { PushEmitter } from './push/emitter.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import type { AuthorizerRecord, Store } from './store/types.js';
import { systemClock, type Clock } from './util/clock.js';
import { LogLimiter } from './util/log-limiter.js';
import { createLogger, type Logger } from './util/logger.js';
import { PlatformApi, type AuthorizerClient, type ComponentApi, type PlatformApiOptions } from './platform-api.js';
import { errorFields } from './util/log-error.js';

export interface PlatformOptions extends PlatformApiOptions {
  config: Config;
  store: Store;
  logger?: Logger;
  clock?: Clock;
  metrics?: Metrics;
  lock?: LockBackend;
  /** Shared token cache; default Redis when WXOPEN_REDIS_URL is set. */
  cache?: TokenCache;
  fetch?: typeof fetch;
  credentials?: Partial<CredentialOptions>;
  refresher?: Partial<RefresherOptions>;
  http?: Partial<Omit<WeChatHttpOptions, 'bases'>>;
  exchanges?: Partial<Omit<ExchangeQueueOptions, 'orderingTime'>>;
}

const PREAUTH_PATH = '/cgi-bin/component/api_create_preauthcode';
const QUERY_AUTH_PATH = '/cgi-bin/component/api_query_auth';

type CallRequest = Omit<WeChatRequest, 'query'> & { query?: WeChatRequest['query'] };

/**
 * The SDK: one third-party platform's credentials and calls. Tokens come from the shared store and are
 * refreshed by one caller across all instances; every call that WeChat answers with a token-invalid
 * code invalidates that token (only if it is still current) and is retried once.
 */
export class Platform {
  readonly events = new PlatformEvents();
  readonly http: WeChatHttp;
  readonly component: ComponentTokenManager;
  readonly authorizers: AuthorizerTokenManager;
  readonly refresher: BackgroundRefresher;
  /** Durable exchanges of pushed authorization codes, retried within the code's life. */
  readonly exchanges: ExchangeQueue;
  readonly ctx: CredentialContext;
  /** Typed API clients, rate limiter, mini-program login, JS-SDK and OAuth (src/platform-api.ts). */
  readonly api: PlatformApi;
  private readonly ownsLock: boolean;
  /** Exchanges in flight only (deleted when settled): nothing is kept for a code, and no failure is cached. */
  private readonly codeExchanges = new Map<string, Promise<AuthorizerRecord>>();

  constructor(readonly o: PlatformOptions) {
    // Checked before anything is opened (a Redis connection, a lock file), so a bad option leaks nothing.
    const options = credentialOptions(o.credentials);
    const logger = o.logger ?? createLogger({ level: o.config.logLevel });
    const metrics = o.metrics ?? createMetrics({ defaultMetrics: false });
    const clock = o.clock ?? systemClock;
    this.http = new WeChatHttp({
      bases: [o.config.apiBase, ...o.config.apiBackupBases],
      logger,
      fetch: o.fetch,
      onAttempt: (path, outcome) => metrics.upstream.inc({ path, outcome }),
      ...o.http,
    });
    this.ownsLock = o.lock === undefined;
    this.ctx = {
      componentAppid: o.config.componentAppid,
      componentSecret: o.config.componentSecret,
      store: o.store,
      http: this.http,
      lock: o.lock ?? createLockBackend({ redisUrl: o.config.redisUrl, databaseUrl: o.config.databaseUrl, clock }),
      cache: o.cache ?? (o.config.redisUrl ? RedisTokenCache.fromUrl(o.config.redisUrl) : undefined),
      apiNamespace: createHash('sha1').update(o.config.apiBase).digest('hex').slice(0, 8),
      box: new SecretBox(o.config.secretKeys),
      clock,
      logger,
      metrics,
      events: this.events,
      options,
    };
    this.component = new ComponentTokenManager(this.ctx);
    this.authorizers = new AuthorizerTokenManager(this.ctx, this.component);
    this.refresher = new BackgroundRefresher(this.ctx, this.component, this.authorizers, { ...DEFAULT_REFRESHER_OPTIONS, ...o.refresher });
    this.exchanges = new ExchangeQueue(this.ctx, (code, eventTime, authorizerAppid) => this.exchangeOrdered(code, eventTime, authorizerAppid), {
      sweepMs: 15_000,
      firstRetryMs: 1_000,
      maxRetryMs: 60_000,
      ...o.exchanges,
      orderingTime: (createTime, receivedAt) => this.orderingTime(createTime, receivedAt),
    });
    // A dropped database connection is a metric and a line, never the end of the process. A database restart
    // drops every pooled connection at once: one line a minute per source, the rest counted in a summary.
    const dropped = new LogLimiter({ perInterval: 1, intervalMs: 60_000, clock, logger, maxKeys: 2, summary: 'connection losses not logged (rate limit)' });
    o.store.onConnectionError?.((err) => {
      metrics.connectionErrors.inc({ source: 'store' });
      dropped.warn('store', { source: 'store', error: err.message }, 'database connection lost; the pool reconnects');
    });
    if (this.ownsLock) {
      this.ctx.lock.onConnectionError?.((err) => {
        metrics.connectionErrors.inc({ source: 'lock' });
        dropped.warn('lock', { source: 'lock', error: err.message }, 'lock connection lost; a lease on it is treated as lost');
      });
    }
    this.api = new PlatformApi(this.ctx, o.config, this.http, this.component, this.authorizers, o);
  }

  /** Typed API groups bound to one authorizer's token, plus its mini-program login and JS-SDK. */
  authorizer(appid: string): AuthorizerClient {
    return this.api.authorizer(appid);
  }

  /** Component-level APIs: template library, authorizer info/list/options, clear_quota, openapi quota. */
  get componentApi(): ComponentApi {
    return this.api.componentApi;
  }

  get login(): PlatformApi['login'] {
    return this.api.login;
  }

  get jssdk(): PlatformApi['jssdk'] {
    return this.api.jssdk;
  }

  get oauth(): PlatformApi['oauth'] {
    return this.api.oauth;
  }

  /** CreateTime when within the push skew of receipt, else the receive time (Unix s). */
  orderingTime(createTime: number, receivedAt: number): number {
    return orderingTime(createTime, receivedAt, this.o.config.pushMaxSkewSeconds);
  }

  get componentAppid(): string {
    return this.ctx.componentAppid;
  }

  componentToken(options: { force?: boolean } = {}): Promise<string> {
    return this.component.get(options);
  }

  authorizerToken(appid: string, options: TokenOptions = {}): Promise<string> {
    return this.authorizers.get(appid, options);
  }

  /**
   * Calls a component-level API with the component token in `tokenParam` (spec 3.0:
   * `component_access_token` for /cgi-bin/component/* and /sns/*, `access_token` for /wxa/*template*).
   */
  async callComponent<T = Record<string, unknown>>(req: CallRequest, tokenParam: 'component_access_token' | 'access_token' = 'component_access_token'): Promise<T> {
    const first = await this.component.info();
    try {
      return await this.http.request<T>({ ...req, query: { ...req.query, [tokenParam]: first.token } });
    } catch (err) {
      if (!(err instanceof WeChatApiError) || err.kind !== 'token') throw err;
      await this.component.invalidate(first.obtainedAt);
      const fresh = await this.component.get();
      return this.http.request<T>({ ...req, query: { ...req.query, [tokenParam]: fresh } });
    }
  }

  /** Calls an API on an authorizer's behalf with its access token, retrying once on a token error. */
  async callAuthorizer<T = Record<string, unknown>>(appid: string, req: CallRequest): Promise<T> {
    const first = await this.authorizers.info(appid);
    try {
      return await this.http.request<T>({ ...req, query: { ...req.query, access_token: first.token } });
    } catch (err) {
      if (!(err instanceof WeChatApiError) || err.kind !== 'token') throw err;
      const fresh = await this.authorizers.info(appid, { force: true, failedVersion: first.version });
      return this.http.request<T>({ ...req, query: { ...req.query, access_token: fresh.token } });
    }
  }

  /** A fresh pre_auth_code (single use: one per authorization link). */
  async createPreAuthCode(): Promise<{ preAuthCode: string; expiresIn: number }> {
    const r = parseAnswer(
      preAuthCodeAnswer,
      await this.callComponent({ method: 'POST', path: PREAUTH_PATH, body: { component_appid: this.componentAppid } }),
      PREAUTH_PATH,
    );
    return { preAuthCode: r.pre_auth_code, expiresIn: r.expires_in };
  }

  authorizeUrl(input: Omit<AuthUrlInput, 'componentAppid'> & { mobile?: boolean }): string {
    const i = { ...input, componentAppid: this.componentAppid };
    return input.mobile ? mobileAuthUrl(this.o.config.openBase, i) : pcAuthUrl(this.o.config.mpBase, i);
  }

  /**
   * Exchanges an authorization code (callback `auth_code` or push `AuthorizationCode`) and stores the
   * authorizer: refresh token, access token and granted func_info in one transaction.
   */
  queryAuth(authorizationCode: string, source: 'callback' | 'push', eventTime?: number): Promise<AuthorizerRecord> {
    // The callback's auth_code and the authorized push's AuthorizationCode are the same single-use
    // code, arriving in parallel (spec 4.3): both callers share one exchange while it is in flight.
    // Only in flight: a failure is not remembered (the next caller tries again), and no code is kept.
    const existing = this.codeExchanges.get(authorizationCode);
    if (existing) return existing;
    const run = this.exchangeCode(authorizationCode, source, eventTime)
      .catch(async (err: unknown) => {
        if (err instanceof WeChatApiError && (err.errcode === 61009 || err.errcode === 61010)) {
          // Another instance (or the other path) spent the code first and may not have committed yet: its
          // authorization is waited for in the store, briefly, before the code is called used.
          const started = performance.now();
          const found = await awaitExchanged(this.ctx, authorizationCode);
          if (found) {
            // The normal outcome of two instances racing for one code: not a failure, so not a warning.
            this.ctx.logger.info(
              { authorizerAppid: found.record.authorizerAppid, source, errcode: err.errcode, looks: found.looks, waitedMs: Math.round(performance.now() - started) },
              'authorization code exchanged by another instance; using its authorization',
            );
            return found.record;
          }
        }
        throw err;
      })
      .finally(() => this.codeExchanges.delete(authorizationCode));
    this.codeExchanges.set(authorizationCode, run);
    return run;
  }

  /** How many code exchanges are in flight (memory is bounded by them). */
  get exchangesInFlight(): number {
    return this.codeExchanges.size;
  }

  /**
   * A pushed code, in event order: skipped when a newer event already set the authorizer's state
   * (the stored row says so), else exchanged and applied only if still not superseded.
   */
  private async exchangeOrdered(code: string, eventTime: number, authorizerAppid: string | null): Promise<AuthorizerRecord | undefined> {
    // Checked when the code is about to be sent, not per push: the push path stays a durable write, and a
    // newer event that landed while the code waited its turn is seen too.
    if (authorizerAppid !== null) {
      const stored = await this.ctx.store.getAuthorizer(this.componentAppid, authorizerAppid).catch(() => undefined);
      if (stored?.eventTime != null && stored.eventTime > eventTime) {
        // Older than what set the row: exchanging would spend the code only to be discarded (counted stale by the queue).
        this.ctx.logger.warn({ authorizerAppid, eventTime, storedEventTime: stored.eventTime }, 'stale authorization push ignored: a newer event already set this authorizer');
        return undefined;
      }
    }
    return this.queryAuth(code, 'push', eventTime);
  }

  private async exchangeCode(authorizationCode: string, source: 'callback' | 'push', eventTime?: number): Promise<AuthorizerRecord> {
    const r = parseAnswer(
      queryAuthAnswer,
      await this.callComponent({
        method: 'POST',
        path: QUERY_AUTH_PATH,
        body: { component_appid: this.componentAppid, authorization_code: authorizationCode },
      }),
      QUERY_AUTH_PATH,
    );
    const info = r.authorization_info;
    const appid = info.authorizer_appid;
    const aad = `${this.componentAppid}:${appid}`;
    const at = this.ctx.clock.now();
    const funcInfo = (info.func_info ?? []).map((f) => f.funcscope_category.id);
    // A callback is the merchant acting now; a push is ordered by its (trusted) CreateTime.
    const { outcome, record } = await this.ctx.store.applyAuthorization({
      componentAppid: this.componentAppid,
      authorizerAppid: appid,
      funcInfo,
      refreshTokenEnc: this.ctx.box.seal(info.authorizer_refresh_token, aad),
      accessTokenEnc: info.authorizer_access_token ? this.ctx.box.seal(info.authorizer_access_token, aad) : null,
      accessExpiresAt: info.authorizer_access_token && info.expires_in ? at + info.expires_in * 1000 : null,
      at,
      eventTime: eventTime ?? Math.floor(at / 1000),
    });
    if (outcome === 'stale') {
      this.ctx.metrics.codeExchanges.inc({ outcome: 'stale' });
      this.ctx.logger.warn({ authorizerAppid: appid, eventTime, storedEventTime: record.eventTime, source }, 'stale authorization event: a newer event already set this authorizer; kept the newer state');
      return record;
    }
    this.authorizers.forget(appid);
    await this.refreshAuthorizerInfo(appid).catch((err: unknown) => this.ctx.logger.warn({ ...errorFields(err), authorizerAppid: appid }, 'api_get_authorizer_info failed'));
    this.ctx.logger.info({ authorizerAppid: appid, funcInfo, source }, 'authorizer authorized');
    this.events.emit('authorizer.authorized', { authorizerAppid: appid, funcInfo, source });
    return record;
  }

  /** Stores the account's profile (nick_name, user_name, type…) from api_get_authorizer_info. */
  async refreshAuthorizerInfo(appid: string): Promise<Record<string, unknown>> {
    const path = '/cgi-bin/component/api_get_authorizer_info';
    const r = parseAnswer(authorizerInfoAnswer, await this.callComponent({ method: 'POST', path, body: { component_appid: this.componentAppid, authorizer_appid: appid } }), path);
    const info = r.authorizer_info;
    await this.ctx.store.updateAuthorizerInfo(this.componentAppid, appid, info, this.ctx.clock.now());
    return info;
  }

  /** Keeps the authorizer list in sync with authorization pushes. */
  attachPushHandlers(pushes: PushEmitter): void {
    const exchange = async (e: { authorizationCode: string; authorizerAppid: string; createTime: number }) => {
      const receivedAt = this.ctx.clock.now();
      const eventTime = this.orderingTime(e.createTime, receivedAt);
      await this.exchanges.submit(e.authorizationCode, { authorizerAppid: e.authorizerAppid, createTime: e.createTime, eventTime, receivedAt, codeEnc: sealedCodeOf.get(e) });
    };
    pushes.on('authorized', exchange);
    pushes.on('updateauthorized', exchange);
    pushes.on('unauthorized', async (e) => {
      const at = this.ctx.clock.now();
      const eventTime = this.orderingTime(e.createTime, at);
      const outcome = await this.ctx.store.revokeAuthorization(this.componentAppid, e.authorizerAppid, eventTime, 'unauthorized push', at);
      if (outcome === 'stale') {
        this.ctx.logger.warn({ authorizerAppid: e.authorizerAppid, eventTime }, 'stale unauthorized push ignored: the authorizer authorized again after it');
        return;
      }
      this.authorizers.forget(e.authorizerAppid);
      if (outcome === 'revoked') this.events.emit('authorizer.unauthorized', { authorizerAppid: e.authorizerAppid });
    });
  }

  async close(): Promise<void> {
    await this.refresher.stop();
    await this.exchanges.stop();
    if (this.ownsLock) await this.ctx.lock.close();
    if (this.o.cache === undefined) await this.ctx.cache?.close();
    await this.api.close();
  }
}

/** Opens the configured store and a Platform on it; `close()` closes both. */
export async function openPlatform(
  config: Config,
  options: Omit<PlatformOptions, 'config' | 'store'> = {},
): Promise<{ platform: Platform; store: Store; close(): Promise<void> }> {
  const { createStore } = await import('./store/create-store.js');
  const store = await createStore(config.databaseUrl);
  const platform = new Platform({ ...options, config, store });
  return {
    platform,
    store,
    async close() {
      await platform.close();
      await store.close();
    },
  };
}
