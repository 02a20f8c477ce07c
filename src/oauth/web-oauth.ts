import { z } from 'zod';
import type { ApiCaller } from '../api/client.js';
import { WeChatApiError, WxOpenError } from '../errors.js';

/** The OAuth code was refused (invalid, expired or used): send the user through authorize again. */
export class OAuthCodeError extends WxOpenError {
  readonly code = 'WXO_ERR_OAUTH_CODE';
  override readonly statusCode = 400;
  constructor(
    readonly reason: 'invalid_code' | 'code_used',
    cause: WeChatApiError,
  ) {
    super(`OAuth code ${reason === 'code_used' ? 'already used (40163)' : 'invalid or expired (40029)'}: redirect the user to the authorize URL again`, { cause });
  }
}

export const OAuthTokenAnswer = z.looseObject({
  access_token: z.string(),
  expires_in: z.number(),
  refresh_token: z.string(),
  openid: z.string(),
  scope: z.string(),
  unionid: z.string().optional(),
});
export const SnsUserInfo = z.looseObject({
  openid: z.string(),
  nickname: z.string(),
  sex: z.number().optional(),
  province: z.string().optional(),
  city: z.string().optional(),
  country: z.string().optional(),
  headimgurl: z.string().optional(),
  privilege: z.array(z.string()).optional(),
  unionid: z.string().optional(),
});
export type OAuthTokenAnswer = z.infer<typeof OAuthTokenAnswer>;
export type SnsUserInfo = z.infer<typeof SnsUserInfo>;

export interface AuthorizeUrlInput {
  /** The official account the user authorizes (the authorizer). */
  appid: string;
  redirectUri: string;
  scope: 'snsapi_base' | 'snsapi_userinfo';
  state?: string;
}

export interface OAuthOptions {
  componentAppid: string;
  openBase: string;
  /** Component-token caller (`component_access_token`). */
  component: ApiCaller;
  /** A caller for /sns/userinfo whose token is the user's OAuth access_token, supplied per call. */
  user(accessToken: string): ApiCaller;
}

const rethrowCode = (err: unknown): never => {
  if (err instanceof WeChatApiError && (err.errcode === 40029 || err.errcode === 42003)) throw new OAuthCodeError('invalid_code', err);
  if (err instanceof WeChatApiError && err.errcode === 40163) throw new OAuthCodeError('code_used', err);
  throw err;
};

/** Official-account web OAuth on the authorizer's behalf (spec 6.2). */
export class OfficialAccountOAuth {
  constructor(private readonly o: OAuthOptions) {}

  /** WeChat checks the parameter order; `#wechat_redirect` ends it. */
  authorizeUrl(i: AuthorizeUrlInput): string {
    const q = [
      `appid=${encodeURIComponent(i.appid)}`,
      `redirect_uri=${encodeURIComponent(i.redirectUri)}`,
      'response_type=code',
      `scope=${i.scope}`,
      `state=${encodeURIComponent(i.state ?? '')}`,
      `component_appid=${encodeURIComponent(this.o.componentAppid)}`,
    ].join('&');
    return `${this.o.openBase}/connect/oauth2/authorize?${q}#wechat_redirect`;
  }

  /** Exchanges the callback's single-use `code` (40029/40163 → OAuthCodeError 400). */
  exchangeCode(appid: string, code: string): Promise<OAuthTokenAnswer> {
    return this.o.component
      .call(
        {
          method: 'GET',
          path: '/sns/oauth2/component/access_token',
          query: { appid, code, grant_type: 'authorization_code', component_appid: this.o.componentAppid },
          idempotent: false,
          subject: appid,
        },
        OAuthTokenAnswer,
      )
      .catch(rethrowCode);
  }

  refresh(appid: string, refreshToken: string): Promise<OAuthTokenAnswer> {
    return this.o.component.call(
      {
        method: 'GET',
        path: '/sns/oauth2/component/refresh_token',
        query: { appid, grant_type: 'refresh_token', component_appid: this.o.componentAppid, refresh_token: refreshToken },
        idempotent: false,
        subject: appid,
      },
      OAuthTokenAnswer,
    );
  }

  /** Needs scope snsapi_userinfo. */
  userInfo(accessToken: string, openid: string, lang: 'zh_CN' | 'zh_TW' | 'en' = 'zh_CN'): Promise<SnsUserInfo> {
    return this.o.user(accessToken).call({ method: 'GET', path: '/sns/userinfo', query: { openid, lang }, noTokenRefresh: true, subject: openid }, SnsUserInfo);
  }
}
