import type { AccountType } from './accounts.js';

/**
 * Permission sets (funcscope_category ids, spec 3.3) the authorization page offers, per account type, under
 * their current official names (spec 11.1; the same as the dashboard's). 20 and 21 are retired (spec 11.3)
 * but kept so older integrations can still be tried.
 */
export const FUNC_SETS: Readonly<Record<AccountType, ReadonlyArray<{ id: number; name: string }>>> = {
  official: [
    { id: 1, name: '消息管理' },
    { id: 2, name: '用户管理' },
    { id: 3, name: '账号服务' },
    { id: 4, name: '网页服务' },
    { id: 6, name: '微信多客服' },
    { id: 7, name: '群发与通知' },
    { id: 11, name: '素材管理' },
    { id: 15, name: '菜单管理' },
  ],
  miniprogram: [
    { id: 17, name: '获取小程序码' },
    { id: 18, name: '小程序开发与数据分析' },
    { id: 19, name: '小程序客服管理' },
    { id: 20, name: '微信登录权限（旧）' },
    { id: 21, name: '数据分析权限（旧）' },
    { id: 30, name: '小程序基本信息管理' },
    { id: 88, name: '小程序链接管理' },
  ],
};

/**
 * Which permission sets an authorizer API needs, by account type: the call passes when the authorizer
 * granted at least one listed id. A set the account could grant but did not is 61007 ("api is
 * unauthorized to component", spec 12.1); an empty list means the account type lacks the API itself,
 * which is 48001. `any` means any granted set will do. The single place to change the mapping.
 */
export type PermissionRule = 'any' | Readonly<Record<AccountType, readonly number[]>>;

const CODE_MANAGEMENT: PermissionRule = { official: [], miniprogram: [18] };
const mp = (...ids: number[]): PermissionRule => ({ official: [], miniprogram: ids });
const oa = (...ids: number[]): PermissionRule => ({ official: ids, miniprogram: [] });

export const API_PERMISSIONS: Readonly<Record<string, PermissionRule>> = {
  ...Object.fromEntries(
    [
      'commit', 'get_page', 'get_category', 'submit_audit', 'get_auditstatus', 'get_latest_auditstatus', 'undocodeaudit',
      'release', 'revertcoderelease', 'grayrelease', 'revertgrayrelease', 'getgrayreleaseplan', 'queryquota', 'speedupaudit',
      'change_visitstatus', 'getvisitstatus', 'modify_domain', 'setwebviewdomain', 'bind_tester', 'unbind_tester', 'memberauth',
      'security/get_code_privacy_info', 'getversioninfo',
    ].map((p) => [`/wxa/${p}`, CODE_MANAGEMENT]),
  ),
  '/wxa/get_qrcode': mp(18, 86),
  '/cgi-bin/component/getprivacysetting': CODE_MANAGEMENT,
  '/cgi-bin/component/setprivacysetting': CODE_MANAGEMENT,
  '/cgi-bin/wxopen/getcategory': mp(30),
  '/cgi-bin/account/getaccountbasicinfo': { official: [3], miniprogram: [30] },
  '/wxa/generatescheme': mp(88),
  '/wxa/generate_urllink': mp(88),
  '/cgi-bin/message/custom/send': { official: [1, 6], miniprogram: [19] },
  '/cgi-bin/message/template/send': oa(7),
  '/cgi-bin/menu/create': oa(15),
  '/cgi-bin/menu/get': oa(15),
  '/cgi-bin/menu/delete': oa(15),
  '/cgi-bin/user/info': oa(2),
  '/cgi-bin/user/info/batchget': oa(2),
  '/cgi-bin/qrcode/create': oa(3),
  '/cgi-bin/shorten/gen': { official: [3], miniprogram: [17] },
  '/cgi-bin/shorten/fetch': { official: [3], miniprogram: [17] },
  '/cgi-bin/ticket/getticket': 'any',
};

export type PermissionCheck = 'ok' | 'account_lacks_api' | 'set_not_granted';

/** How `granted` fares against the rule for `path`; paths without a rule need no permission. */
export function checkPermission(path: string, type: AccountType, granted: readonly number[]): PermissionCheck {
  const rule = API_PERMISSIONS[path];
  if (rule === undefined) return 'ok';
  if (rule === 'any') return granted.length > 0 ? 'ok' : 'set_not_granted';
  if (rule[type].length === 0) return 'account_lacks_api';
  return rule[type].some((id) => granted.includes(id)) ? 'ok' : 'set_not_granted';
}

/** True when `granted` satisfies the rule for `path`. */
export function isPermitted(path: string, type: AccountType, granted: readonly number[]): boolean {
  return checkPermission(path, type, granted) === 'ok';
}
