import { createHash } from 'node:crypto';
import { WeChatHttp, type WeChatHttpOptions, type WeChatRequest } from './api/http.js';
import { mobileAuthUrl, pcAuthUrl, type AuthUrlInput } from './authorize/auth-url.js';
import type { Config } from './config.js';
import { SecretBox } from './crypto/secret-box.js';
import { AuthorizerTokenManager, type TokenOptions } from './credentials/authorizer-token.js';
import { ComponentTokenManager } from './credentials/component-token.js';
import { DEFAULT_CREDENTIAL_OPTIONS, type CredentialContext, type CredentialOptions } from './credentials/context.js';
import { PlatformEvents } from './credentials/events.js';
import { BackgroundRefresher, DEFAULT_REFRESHER_OPTIONS, type RefresherOptions } from './credentials/refresher.js';
import { WeChatApiError } from './errors.js';
import { createLockBackend } from './lock/create-lock.js';
import { RedisTokenCache, type TokenCache } from './lock/token-cache.js';
import type { LockBackend } from './lock/types.js';
import type { PushEmitter } from './push/emitter.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import type { AuthorizerRecord, Store } from './store/types.js';
import { systemClock, type Clock } from './util/clock.js';
import { parseXml } from './xml/parse.js';
import { createLogger, type Logger } from './util/logger.js';
import { PlatformApi, type AuthorizerClient, type ComponentApi, type PlatformApiOptions } from './platform-api.js';

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
}

/** Authorization codes live 10 minutes (spec 3.9); remember exchanges that long. */
const CODE_MEMORY_MS = 10 * 60_000;

type CallRequest = Omit<WeChatRequest, 'query'> & { query?: WeChatRequest['query'] };

interface QueryAuthAnswer {
  authorization_info: {
    authorizer_appid: string;
    authorizer_access_token?: string;
    expires_in?: number;
    authorizer_refresh_token: string;
    func_info?: { funcscope_category?: { id?: number } }[];
  };
}

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
  readonly ctx: CredentialContext;
  /** Typed API clients, rate limiter, mini-program login, JS-SDK and OAuth (src/platform-api.ts). */
  readonly api: PlatformApi;
  private readonly ownsLock: boolean;
  private readonly codeExchanges = new Map<string, Promise<AuthorizerRecord>>();

  constructor(readonly o: PlatformOptions) {
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
      options: { ...DEFAULT_CREDENTIAL_OPTIONS, ...o.credentials },
    };
    this.component = new ComponentTokenManager(this.ctx);
    this.authorizers = new AuthorizerTokenManager(this.ctx, this.component);
    this.refresher = new BackgroundRefresher(this.ctx, this.component, this.authorizers, { ...DEFAULT_REFRESHER_OPTIONS, ...o.refresher });
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
    const r = await this.callComponent<{ pre_auth_code: string; expires_in: number }>({
      method: 'POST',
      path: '/cgi-bin/component/api_create_preauthcode',
      body: { component_appid: this.componentAppid },
    });
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
  queryAuth(authorizationCode: string, source: 'callback' | 'push'): Promise<AuthorizerRecord> {
    // The callback's auth_code and the authorized push's AuthorizationCode are the same single-use
    // code, arriving in parallel (spec 4.3): both callers share one exchange.
    const existing = this.codeExchanges.get(authorizationCode);
    if (existing) return existing;
    const run = this.exchangeCode(authorizationCode, source).catch(async (err: unknown) => {
      if (err instanceof WeChatApiError && (err.errcode === 61009 || err.errcode === 61010)) {
        const done = await this.findExchanged(authorizationCode);
        if (done) return done;
      }
      throw err;
    });
    this.codeExchanges.set(authorizationCode, run);
    const forget = setTimeout(() => this.codeExchanges.delete(authorizationCode), CODE_MEMORY_MS);
    forget.unref();
    return run;
  }

  /**
   * Another instance may have exchanged the code first (it got the push, we got the callback): find the
   * push that carried this code and the authorization it produced.
   */
  private async findExchanged(code: string): Promise<AuthorizerRecord | undefined> {
    for (const infoType of ['authorized', 'updateauthorized']) {
      for (const push of await this.ctx.store.listPushes(this.componentAppid, { infoType, limit: 100 })) {
        if (!push.payload.includes(code) || push.authorizerAppid === null) continue;
        const fields = parseXml(push.payload);
        if (fields.AuthorizationCode !== code) continue;
        const record = await this.ctx.store.getAuthorizer(this.componentAppid, push.authorizerAppid);
        if (record?.status === 'authorized' && record.authorizedAt >= push.receivedAt - CODE_MEMORY_MS) return record;
      }
    }
    return undefined;
  }

  private async exchangeCode(authorizationCode: string, source: 'callback' | 'push'): Promise<AuthorizerRecord> {
    const r = await this.callComponent<QueryAuthAnswer>({
      method: 'POST',
      path: '/cgi-bin/component/api_query_auth',
      body: { component_appid: this.componentAppid, authorization_code: authorizationCode },
    });
    const info = r.authorization_info;
    const appid = info.authorizer_appid;
    const aad = `${this.componentAppid}:${appid}`;
    const at = this.ctx.clock.now();
    const funcInfo = (info.func_info ?? []).map((f) => Number(f.funcscope_category?.id)).filter((n) => Number.isInteger(n));
    const record = await this.ctx.store.saveAuthorization({
      componentAppid: this.componentAppid,
      authorizerAppid: appid,
      funcInfo,
      refreshTokenEnc: this.ctx.box.seal(info.authorizer_refresh_token, aad),
      accessTokenEnc: info.authorizer_access_token ? this.ctx.box.seal(info.authorizer_access_token, aad) : null,
      accessExpiresAt: info.authorizer_access_token && info.expires_in ? at + info.expires_in * 1000 : null,
      at,
    });
    this.authorizers.forget(appid);
    await this.refreshAuthorizerInfo(appid).catch((err: unknown) => this.ctx.logger.warn({ err, authorizerAppid: appid }, 'api_get_authorizer_info failed'));
    this.ctx.logger.info({ authorizerAppid: appid, funcInfo, source }, 'authorizer authorized');
    this.events.emit('authorizer.authorized', { authorizerAppid: appid, funcInfo, source });
    return record;
  }

  /** Stores the account's profile (nick_name, user_name, type…) from api_get_authorizer_info. */
  async refreshAuthorizerInfo(appid: string): Promise<Record<string, unknown>> {
    const r = await this.callComponent<{ authorizer_info?: Record<string, unknown> }>({
      method: 'POST',
      path: '/cgi-bin/component/api_get_authorizer_info',
      body: { component_appid: this.componentAppid, authorizer_appid: appid },
    });
    const info = r.authorizer_info ?? {};
    await this.ctx.store.updateAuthorizerInfo(this.componentAppid, appid, info, this.ctx.clock.now());
    return info;
  }

  /** Keeps the authorizer list in sync with authorization pushes. */
  attachPushHandlers(pushes: PushEmitter): void {
    pushes.on('authorized', async (e) => void (await this.queryAuth(e.authorizationCode, 'push')));
    pushes.on('updateauthorized', async (e) => void (await this.queryAuth(e.authorizationCode, 'push')));
    pushes.on('unauthorized', async (e) => {
      await this.ctx.store.setAuthorizerStatus(this.componentAppid, e.authorizerAppid, 'unauthorized', 'unauthorized push', this.ctx.clock.now());
      this.authorizers.forget(e.authorizerAppid);
      this.events.emit('authorizer.unauthorized', { authorizerAppid: e.authorizerAppid });
    });
  }

  async close(): Promise<void> {
    await this.refresher.stop();
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
