import type { AccountType } from './accounts.js';

/** Permission sets (funcscope_category ids, spec 3.3) the authorization page offers, per account type. */
export const FUNC_SETS: Readonly<Record<AccountType, ReadonlyArray<{ id: number; name: string }>>> = {
  official: [
    { id: 1, name: '消息管理权限' },
    { id: 2, name: '用户管理权限' },
    { id: 3, name: '帐号服务权限' },
    { id: 4, name: '网页服务权限' },
    { id: 6, name: '多客服权限' },
    { id: 7, name: '群发与通知权限' },
    { id: 11, name: '素材管理权限' },
    { id: 15, name: '自定义菜单权限' },
  ],
  miniprogram: [
    { id: 17, name: '小程序帐号管理权限' },
    { id: 18, name: '小程序开发管理与数据分析权限' },
    { id: 19, name: '小程序客服消息管理权限' },
    { id: 20, name: '小程序登录权限' },
    { id: 21, name: '小程序数据分析权限' },
    { id: 30, name: '小程序基本信息设置权限' },
  ],
};

/**
 * Which permission set an authorizer API needs, by account type: the call passes when the authorizer
 * granted at least one listed id, and gets 48001 otherwise (an empty list means the API does not
 * exist for that account type). `any` means any granted set will do. The single place to change the
 * mapping.
 */
export type PermissionRule = 'any' | Readonly<Record<AccountType, readonly number[]>>;

const CODE_MANAGEMENT: PermissionRule = { official: [], miniprogram: [18] };

export const API_PERMISSIONS: Readonly<Record<string, PermissionRule>> = {
  '/wxa/commit': CODE_MANAGEMENT,
  '/wxa/get_page': CODE_MANAGEMENT,
  '/wxa/get_qrcode': CODE_MANAGEMENT,
  '/wxa/get_category': CODE_MANAGEMENT,
  '/wxa/submit_audit': CODE_MANAGEMENT,
  '/wxa/get_auditstatus': CODE_MANAGEMENT,
  '/wxa/get_latest_auditstatus': CODE_MANAGEMENT,
  '/wxa/undocodeaudit': CODE_MANAGEMENT,
  '/wxa/release': CODE_MANAGEMENT,
  '/wxa/revertcoderelease': CODE_MANAGEMENT,
  '/wxa/grayrelease': CODE_MANAGEMENT,
  '/wxa/revertgrayrelease': CODE_MANAGEMENT,
  '/wxa/getgrayreleaseplan': CODE_MANAGEMENT,
  '/wxa/queryquota': CODE_MANAGEMENT,
  '/wxa/modify_domain': CODE_MANAGEMENT,
  '/wxa/bind_tester': CODE_MANAGEMENT,
  '/wxa/unbind_tester': CODE_MANAGEMENT,
  '/wxa/memberauth': CODE_MANAGEMENT,
  '/cgi-bin/message/custom/send': { official: [1], miniprogram: [19] },
  '/cgi-bin/ticket/getticket': 'any',
  '/sns/component/jscode2session': { official: [], miniprogram: [20] },
};

/** True when `granted` satisfies the rule for `path`; paths without a rule need no permission. */
export function isPermitted(path: string, type: AccountType, granted: readonly number[]): boolean {
  const rule = API_PERMISSIONS[path];
  if (rule === undefined) return true;
  if (rule === 'any') return granted.length > 0;
  return rule[type].some((id) => granted.includes(id));
}
