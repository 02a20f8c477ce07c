import { z } from 'zod';
import { OkAnswer, type ApiCaller } from './client.js';
import type { WeChatHttp } from './http.js';

/** Component-level authorizer info/list/options (spec 3.5–3.7) and quotas (spec 3.8, 9.2). */

const FuncInfo = z.array(z.looseObject({ funcscope_category: z.looseObject({ id: z.number() }) }));
export const AuthorizerInfoAnswer = z.looseObject({
  authorizer_info: z.looseObject({
    nick_name: z.string().optional(),
    user_name: z.string(),
    principal_name: z.string().optional(),
    service_type_info: z.looseObject({ id: z.number() }).optional(),
    verify_type_info: z.looseObject({ id: z.number() }).optional(),
    account_status: z.number().optional(),
    MiniProgramInfo: z.looseObject({}).optional(),
  }),
  authorization_info: z.looseObject({
    // Legacy answers say `appid` (spec 3.5): accept both.
    authorizer_appid: z.string().optional(),
    appid: z.string().optional(),
    func_info: FuncInfo.optional(),
  }),
});
export const AuthorizerListAnswer = z.looseObject({
  total_count: z.number(),
  list: z.array(z.looseObject({ authorizer_appid: z.string(), refresh_token: z.string().optional(), auth_time: z.number().optional() })),
});
export const AuthorizerOptionAnswer = z.looseObject({ authorizer_appid: z.string().optional(), option_name: z.string(), option_value: z.string() });
export const ApiQuotaAnswer = z.looseObject({
  quota: z.looseObject({ daily_limit: z.number(), used: z.number(), remain: z.number() }),
  rate_limit: z.looseObject({}).optional(),
  component_rate_limit: z.looseObject({}).optional(),
});
export type AuthorizerInfoAnswer = z.infer<typeof AuthorizerInfoAnswer>;
export type AuthorizerListAnswer = z.infer<typeof AuthorizerListAnswer>;
export type ApiQuotaAnswer = z.infer<typeof ApiQuotaAnswer>;
export type AuthorizerOptionName = 'location_report' | 'voice_recognize' | 'customer_service';

export function componentAdminApi(c: ApiCaller, o: { componentAppid: string; componentSecret: string; http: WeChatHttp }) {
  const component_appid = o.componentAppid;
  return {
    getAuthorizerInfo: (authorizerAppid: string) =>
      c.call(
        { method: 'POST', path: '/cgi-bin/component/api_get_authorizer_info', body: { component_appid, authorizer_appid: authorizerAppid }, idempotent: true },
        AuthorizerInfoAnswer,
      ),
    /** `count` ≤ 500; page until offset ≥ total_count. */
    getAuthorizerList: (offset = 0, count = 100) =>
      c.call({ method: 'POST', path: '/cgi-bin/component/api_get_authorizer_list', body: { component_appid, offset, count }, idempotent: true }, AuthorizerListAnswer),
    getAuthorizerOption: (authorizerAppid: string, optionName: AuthorizerOptionName) =>
      c.call(
        {
          method: 'POST',
          path: '/cgi-bin/component/api_get_authorizer_option',
          body: { component_appid, authorizer_appid: authorizerAppid, option_name: optionName },
          idempotent: true,
        },
        AuthorizerOptionAnswer,
      ),
    setAuthorizerOption: (authorizerAppid: string, optionName: AuthorizerOptionName, optionValue: string) =>
      c.call(
        {
          method: 'POST',
          path: '/cgi-bin/component/api_set_authorizer_option',
          body: { component_appid, authorizer_appid: authorizerAppid, option_name: optionName, option_value: optionValue },
          idempotent: true,
        },
        OkAnswer,
      ),
    /** `/cgi-bin/clear_quota` with the component token: resets `appid`'s quota (default the component's own). */
    clearQuota: (appid: string = component_appid) => c.call({ method: 'POST', path: '/cgi-bin/clear_quota', tokenParam: 'access_token', body: { appid } }, OkAnswer),
    /**
     * `/cgi-bin/component/clear_quota/v2`: by secret, no token, for when the component token itself is
     * out of quota. Omit `appid` to reset the component. 10 resets a month in all (48006).
     */
    clearQuotaBySecret: async (appid?: string) => {
      // Stryker disable next-line ConditionalExpression: `{ appid: undefined }` is dropped by JSON.stringify, so the body on the wire is the same
      const body = { component_appid, appsecret: o.componentSecret, ...(appid !== undefined && { appid }) };
      return OkAnswer.parse(await o.http.request({ method: 'POST', path: '/cgi-bin/component/clear_quota/v2', body }));
    },
    /** Legacy `/cgi-bin/component/clear_quota` (older SDKs); prefer the two above. */
    clearQuotaLegacy: () => c.call({ method: 'POST', path: '/cgi-bin/component/clear_quota', body: { component_appid } }, OkAnswer),
    getApiQuota: (cgiPath: string) => c.call({ method: 'POST', path: '/cgi-bin/openapi/quota/get', tokenParam: 'access_token', body: { cgi_path: cgiPath }, idempotent: true }, ApiQuotaAnswer),
  };
}
export type ComponentAdminApi = ReturnType<typeof componentAdminApi>;
