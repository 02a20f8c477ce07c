export interface AuthUrlInput {
  componentAppid: string;
  preAuthCode: string;
  redirectUri: string;
  /** 1 official accounts, 2 mini programs, 3 both (default); other integers pass through. */
  authType?: number;
  /** Restrict to one account; the doc says it excludes auth_type, so only one is sent. */
  bizAppid?: string;
  categoryList?: number[];
}

/** PC scan page (spec 4.1): `…/cgi-bin/componentloginpage?…`. */
export function pcAuthUrl(mpBase: string, i: AuthUrlInput): string {
  const q = new URLSearchParams({ component_appid: i.componentAppid, pre_auth_code: i.preAuthCode, redirect_uri: i.redirectUri });
  appendScope(q, i);
  return `${mpBase}/cgi-bin/componentloginpage?${q}`;
}

/** Mobile link opened inside WeChat (spec 4.2, current host and path). */
export function mobileAuthUrl(openBase: string, i: AuthUrlInput): string {
  const q = new URLSearchParams({ action: 'bindcomponent', no_scan: '1', component_appid: i.componentAppid, pre_auth_code: i.preAuthCode, redirect_uri: i.redirectUri });
  appendScope(q, i);
  return `${openBase}/wxaopen/safe/bindcomponent?${q}#wechat_redirect`;
}

function appendScope(q: URLSearchParams, i: AuthUrlInput): void {
  if (i.bizAppid) q.set('biz_appid', i.bizAppid);
  else q.set('auth_type', String(i.authType ?? 3));
  if (i.categoryList?.length) q.set('category_list', i.categoryList.join('|'));
}
