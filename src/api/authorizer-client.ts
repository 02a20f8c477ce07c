import { z } from 'zod';
import { OkAnswer, type ApiCaller } from './client.js';
import { ApiQuotaAnswer } from './component-admin.js';
import { oaMenuApi } from './oa-menu.js';
import { oaMessageApi } from './oa-message.js';
import { oaQrcodeApi } from './oa-qrcode.js';
import { oaUserApi } from './oa-user.js';
import { wxaBasicApi } from './wxa-basic.js';
import { wxaCodeApi } from './wxa-code.js';
import { wxaPrivacyApi } from './wxa-privacy.js';
import { wxaSettingsApi } from './wxa-settings.js';

export const JsapiTicketAnswer = z.looseObject({ ticket: z.string(), expires_in: z.number() });

/**
 * The API groups bound to one authorizer's access token: `platform.authorizer(appid).wxa.commit(…)`.
 * Mini-program groups under `wxa`, `domains`, `testers`, `privacy`, `basic`; official-account groups
 * under `message`, `menu`, `user`, `qrcode`.
 */
export function createAuthorizerApi(c: ApiCaller) {
  const settings = wxaSettingsApi(c);
  return {
    appid: c.subject,
    wxa: wxaCodeApi(c),
    domains: { modify: settings.modifyDomain, get: settings.getDomain, setWebview: settings.setWebviewDomain },
    testers: { bind: settings.bindTester, unbind: settings.unbindTester, list: settings.listTesters },
    privacy: wxaPrivacyApi(c),
    basic: wxaBasicApi(c),
    message: oaMessageApi(c),
    menu: oaMenuApi(c),
    user: oaUserApi(c),
    qrcode: oaQrcodeApi(c),
    quota: {
      /** Resets this authorizer's daily quotas with its own token (10 a month in all, 48006). */
      clear: () => c.call({ method: 'POST', path: '/cgi-bin/clear_quota', body: { appid: c.subject } }, OkAnswer),
      get: (cgiPath: string) => c.call({ method: 'POST', path: '/cgi-bin/openapi/quota/get', body: { cgi_path: cgiPath }, idempotent: true }, ApiQuotaAnswer),
    },
    /** Raw jsapi/wx_card ticket fetch; `platform.jssdk` caches and signs. */
    getTicket: (type: 'jsapi' | 'wx_card' = 'jsapi') => c.call({ method: 'GET', path: '/cgi-bin/ticket/getticket', query: { type } }, JsapiTicketAnswer),
  };
}
export type AuthorizerApi = ReturnType<typeof createAuthorizerApi>;
