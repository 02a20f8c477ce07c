import { createAuthorizerApi, type AuthorizerApi } from './api/authorizer-client.js';
import { ApiCaller, type ApiCallerDeps, type TokenProvider } from './api/client.js';
import { componentAdminApi } from './api/component-admin.js';
import type { WeChatHttp } from './api/http.js';
import { MemoryRateLimitBackend, parseRateLimits, RateLimiter, RedisRateLimitBackend, type RateLimitBackend } from './api/rate-limit.js';
import { wxaTemplateApi } from './api/wxa-template.js';
import type { Config } from './config.js';
import type { AuthorizerTokenManager } from './credentials/authorizer-token.js';
import type { ComponentTokenManager } from './credentials/component-token.js';
import type { CredentialContext } from './credentials/context.js';
import { JsSdk, type JssdkConfig } from './jssdk/jssdk.js';
import { MiniProgramLogin, type LoginResult } from './login/mini-login.js';
import { OfficialAccountOAuth } from './oauth/web-oauth.js';

export interface PlatformApiOptions {
  /** Rate-limit store for typed API calls; default Redis when WXOPEN_REDIS_URL is set, else memory. */
  rateLimitBackend?: RateLimitBackend;
  /** Typed API calls: retries of idempotent calls after 5xx/network failures, and their first backoff. */
  api?: Partial<Pick<ApiCallerDeps, 'upstreamRetries' | 'backoffMs' | 'sleep'>> & { rateLimitSleep?: (ms: number) => Promise<void> };
  /** JS-SDK domains per authorizer appid, used when the store has none (`platform.jssdk.setDomains`). */
  jssdkDomains?: Readonly<Record<string, readonly string[]>>;
}

/** `platform.authorizer(appid)`: the API groups on its token, plus login and JS-SDK for that account. */
export type AuthorizerClient = AuthorizerApi & {
  login: {
    code2session(code: string): Promise<LoginResult>;
    decrypt(sessionId: string, encryptedData: string, iv: string): Promise<Record<string, unknown>>;
  };
  jssdk: {
    sign(url: string, options?: { nonceStr?: string; timestamp?: number }): Promise<JssdkConfig>;
    ticket(): Promise<string>;
  };
};

export type ComponentApi = ReturnType<typeof buildComponentApi>;

function buildComponentApi(c: ApiCaller, ctx: CredentialContext, http: WeChatHttp) {
  return {
    templates: wxaTemplateApi(c),
    ...componentAdminApi(c, { componentAppid: ctx.componentAppid, componentSecret: ctx.componentSecret, http }),
  };
}

/**
 * What acts for merchants on top of the platform's credentials: the typed API clients with their rate
 * limiter, mini-program login, JS-SDK and official-account OAuth. The Platform owns one.
 */
export class PlatformApi {
  readonly limiter: RateLimiter;
  readonly login: MiniProgramLogin;
  readonly jssdk: JsSdk;
  readonly oauth: OfficialAccountOAuth;
  readonly componentApi: ComponentApi;
  private readonly deps: ApiCallerDeps;
  private readonly clients = new Map<string, AuthorizerClient>();

  constructor(
    private readonly ctx: CredentialContext,
    config: Config,
    http: WeChatHttp,
    private readonly component: ComponentTokenManager,
    private readonly authorizers: AuthorizerTokenManager,
    private readonly o: PlatformApiOptions,
  ) {
    this.limiter = new RateLimiter({
      rules: parseRateLimits(config.apiRateLimits),
      backend: o.rateLimitBackend ?? (config.redisUrl ? RedisRateLimitBackend.fromUrl(config.redisUrl, `wxopen:rate:${ctx.apiNamespace}:`) : new MemoryRateLimitBackend()),
      clock: ctx.clock,
      maxWaitMs: config.apiRateLimitMaxWaitMs,
      sleep: o.api?.rateLimitSleep,
    });
    this.deps = { http, metrics: ctx.metrics, logger: ctx.logger, clock: ctx.clock, limiter: this.limiter, ...o.api };
    // The component token goes in component_access_token (or access_token where a call says so, spec 3.0).
    const componentCaller = new ApiCaller(this.deps, {
      subject: ctx.componentAppid,
      param: 'component_access_token',
      current: async () => {
        const t = await component.info();
        return { value: t.token, invalidate: () => component.invalidate(t.obtainedAt) };
      },
    });
    this.componentApi = buildComponentApi(componentCaller, ctx, http);
    this.login = new MiniProgramLogin({
      componentAppid: ctx.componentAppid,
      store: ctx.store,
      box: ctx.box,
      clock: ctx.clock,
      component: componentCaller,
      sessionTtlMs: config.loginSessionTtlSeconds * 1000,
    });
    this.jssdk = new JsSdk({
      componentAppid: ctx.componentAppid,
      store: ctx.store,
      box: ctx.box,
      clock: ctx.clock,
      lock: ctx.lock,
      fetchTicket: (appid) => this.authorizer(appid).getTicket('jsapi'),
      domains: o.jssdkDomains,
      lockLeaseMs: ctx.options.lockLeaseMs,
      lockMaxWaitMs: ctx.options.lockMaxWaitMs,
      lockPollMs: ctx.options.lockPollMs,
    });
    this.oauth = new OfficialAccountOAuth({
      componentAppid: ctx.componentAppid,
      openBase: config.openBase,
      component: componentCaller,
      // The user's OAuth token is not ours to refresh: token errors surface as they are.
      user: (accessToken) => new ApiCaller(this.deps, { subject: 'sns-user', param: 'access_token', current: async () => ({ value: accessToken, invalidate: async () => {} }) }),
    });
  }

  /**
   * Typed API groups acting for one authorizer, bound to its access token (refreshed once on
   * 40001/40014/42001, and only if it is still the token that failed), plus its login and JS-SDK.
   */
  authorizer(appid: string): AuthorizerClient {
    let client = this.clients.get(appid);
    if (!client) {
      const provider: TokenProvider = {
        subject: appid,
        param: 'access_token',
        current: async () => {
          const t = await this.authorizers.info(appid);
          return { value: t.token, invalidate: () => this.authorizers.invalidate(appid, t.version) };
        },
      };
      client = {
        ...createAuthorizerApi(new ApiCaller(this.deps, provider)),
        login: {
          code2session: (code) => this.login.code2session(appid, code),
          decrypt: (sessionId, encryptedData, iv) => this.login.decrypt(appid, sessionId, encryptedData, iv),
        },
        jssdk: {
          sign: (url, options) => this.jssdk.sign(appid, url, options),
          ticket: () => this.jssdk.ticket(appid),
        },
      };
      this.clients.set(appid, client);
    }
    return client;
  }

  async close(): Promise<void> {
    if (this.o.rateLimitBackend === undefined) await this.limiter.close();
  }
}
