/**
 * WeChat's errcodes as the spec (sections 8, 12.1, 13.3, 15.2, 16.2) documents them: meaning in Chinese
 * and English, whether a retry can help, and the class that says how to react. Pure data: `WeChatApiError`
 * (src/errors.ts) reads it, so every errcode any call raises carries its meaning.
 */

/** How to react (spec 8 handling key): token → refresh once; permission → the merchant re-authorizes; … */
export type ErrcodeClass =
  | 'busy'
  | 'token'
  | 'permission'
  | 'reauthorize'
  | 'whitelist'
  | 'quota'
  | 'rate'
  | 'ticket'
  | 'config'
  | 'param'
  | 'state'
  | 'window'
  | 'unknown';

export interface ErrcodeInfo {
  zh: string;
  en: string;
  class: ErrcodeClass;
  /** A later retry of the same request can succeed (busy, minute-rate, privacy task pending). */
  retryable: boolean;
}

const e = (zh: string, en: string, cls: ErrcodeClass, retryable = false): ErrcodeInfo => ({ zh, en, class: cls, retryable });

export const ERRCODES: Readonly<Record<number, ErrcodeInfo>> = {
  [-1]: e('系统繁忙', 'system error, retry later', 'busy', true),
  40001: e('access_token 无效或不是最新', 'invalid credential: access_token is invalid or not the latest', 'token'),
  40002: e('不合法的凭证类型 / 暂无生成权限', 'invalid grant_type (links: no permission to generate)', 'param'),
  40003: e('不合法的 openid', 'invalid openid', 'param'),
  40008: e('不合法的消息类型', 'invalid message type', 'param'),
  40013: e('不合法的 appid', 'invalid appid (or the appid does not match the token)', 'config'),
  40014: e('不合法的 access_token', 'invalid access_token', 'token'),
  40016: e('不合法的按钮个数', 'invalid button count', 'param'),
  40017: e('不合法的按钮类型', 'invalid button type', 'param'),
  40018: e('不合法的按钮名字长度', 'invalid button name length', 'param'),
  40029: e('code 无效', 'invalid code: get a new one (wx.login / OAuth again)', 'param'),
  40030: e('不合法的 refresh_token', 'invalid refresh_token (OAuth: authorize again)', 'param'),
  40037: e('template_id 不正确', 'invalid template_id', 'param'),
  40097: e('参数错误', 'invalid args', 'param'),
  40125: e('AppSecret 无效', 'invalid appsecret', 'config'),
  40163: e('code 已被使用', 'code has been used: do not retry with the same code', 'param'),
  40164: e('调用接口的 IP 不在白名单中', 'caller IP is not in the whitelist', 'whitelist'),
  41001: e('缺少 access_token', 'access_token missing', 'token'),
  41002: e('缺少 appid', 'appid missing', 'param'),
  41004: e('缺少 AppSecret', 'appsecret missing', 'config'),
  41033: e('非第三方快速注册的小程序', 'invalid register type (not a fast-registered mini program)', 'config'),
  42001: e('access_token 已过期', 'access_token expired', 'token'),
  42003: e('oauth2.0 code 超时', 'OAuth code expired: authorize again', 'param'),
  44002: e('POST 数据包为空', 'empty post data (send {} as the body)', 'param'),
  45009: e('接口调用超过每日限额', 'daily API quota reached: wait for the reset or clear_quota', 'quota'),
  45011: e('接口调用过于频繁（分钟级）', 'minute rate limit reached: retry after about 60 s', 'rate', true),
  45015: e('回复时间超过限制或用户已取消关注', 'outside the customer-service window, or the user unfollowed', 'window'),
  45047: e('客服接口下行条数超过上限', 'customer-service window message quota used up', 'window'),
  46003: e('不存在的菜单数据', 'menu does not exist', 'state'),
  47001: e('数据格式错误', 'data format error', 'param'),
  47003: e('参数值不符合限制要求', 'argument invalid', 'param'),
  48001: e('api 功能未授权', 'api unauthorized: the account lacks this API (verification, entity, wrong token kind), or the permission set is not granted', 'permission'),
  48006: e('clear_quota 本月次数已用完', 'clear_quota monthly limit (10) reached', 'quota'),
  48017: e('IP 已下线', 'retired WeChat IP: use the DNS names', 'config'),
  61003: e('此公众号/小程序未授权给该第三方平台', 'component is not authorized by this account', 'reauthorize'),
  61004: e('调用 IP 未在第三方平台白名单中', 'access clientip is not registered: add the egress IP to the platform whitelist', 'whitelist'),
  61005: e('component_verify_ticket 已过期', 'component ticket is expired', 'ticket', true),
  61006: e('component_verify_ticket 无效', 'component ticket is invalid', 'ticket', true),
  61007: e('权限集未授权给第三方平台', 'api is unauthorized to component: the merchant has not granted the permission set', 'permission'),
  61009: e('授权码无效', 'authorization code is invalid', 'reauthorize'),
  61010: e('授权码已过期', 'authorization code is expired', 'reauthorize'),
  61011: e('无效的第三方平台', 'invalid component', 'config'),
  61012: e('选项名称无效', 'invalid option name', 'param'),
  61013: e('选项值无效', 'invalid option value', 'param'),
  61016: e('接口所属权限集需要第三方平台确认', 'function category of API needs to be confirmed by the component', 'permission'),
  61023: e('refresh_token 无效', 'refresh_token is invalid: the merchant must authorize again', 'reauthorize'),
  61025: e('只读选项', 'read-only option', 'param'),
  61039: e('隐私接口检查任务未完成，请稍等一分钟再重试', 'privacy detection task not finished: retry in a minute', 'state', true),
  61040: e('隐私接口无权限或未配置', 'privacy API not permitted or not declared in ext.json', 'config'),
  76022: e('不支持查询该 cgi_path', 'cgi_path not supported by quota/get (e.g. /sns/*)', 'param'),
  85001: e('微信号不存在或不支持搜索', 'WeChat id does not exist or cannot be searched', 'param'),
  85002: e('小程序体验者数量已达上限', 'tester limit of the mini program reached', 'param'),
  85003: e('该微信号绑定的小程序数量已达上限', 'this user tests too many mini programs', 'param'),
  85004: e('微信号已经绑定', 'already a tester', 'param'),
  85009: e('已有审核中的版本', 'a version is already under audit', 'state'),
  85012: e('无效的审核 id', 'invalid audit id', 'param'),
  85013: e('无效的自定义配置 ext_json', 'invalid ext_json', 'param'),
  85014: e('无效的模板编号', 'invalid template id', 'param'),
  85015: e('版本输入错误 / 非小程序帐号', 'invalid version, or not a mini-program account', 'config'),
  85016: e('域名数量超过限制', 'domain count exceeds the limit', 'config'),
  85017: e('没有新增域名', 'no domain to modify', 'config'),
  85018: e('域名未在第三方平台设置', 'domain is not set on the third-party platform', 'config'),
  85019: e('没有审核版本', 'no audited version to release', 'state'),
  85020: e('审核状态未满足发布', 'status does not allow release', 'state'),
  85023: e('审核列表填写的项目数不在 1-5 以内', 'item_list count is not between 1 and 5', 'param'),
  85052: e('小程序已发布', 'this version has already been released', 'state'),
  85058: e('无有效的审核单', 'no valid audit_id exist (escalate to WeChat)', 'state'),
  85064: e('找不到模板', 'template not found', 'param'),
  85065: e('模板库已满', 'template library is full (200): delete old templates', 'config'),
  85077: e('小程序类目信息失效', 'invalid category', 'config'),
  85079: e('小程序没有线上版本', 'no online version', 'state'),
  85080: e('小程序提交的审核未审核通过', 'audit not passed', 'state'),
  85081: e('无效的发布比例', 'invalid gray_percentage', 'param'),
  85082: e('当前的发布比例需要比之前设置的高', 'gray_percentage must increase', 'param'),
  85085: e('提审次数已达上限', 'monthly submit-audit quota reached (queryquota)', 'quota'),
  85086: e('提交代码审核之前需提前上传代码', 'must commit before submit audit', 'state'),
  86000: e('不是由第三方代小程序进行调用', 'should be called only by a third party', 'config'),
  86001: e('不存在第三方的已经提交的代码', 'no committed code', 'state'),
  86002: e('小程序还未设置昵称、头像、简介', 'nickname, avatar or introduction not set', 'config'),
  86007: e('小程序禁止提交', 'mini program is banned from submission', 'config'),
  86008: e('服务商被处罚', 'provider penalized', 'config'),
  86009: e('服务商被处罚', 'provider penalized', 'config'),
  86010: e('服务商被处罚', 'provider penalized', 'config'),
  86069: e('owner_setting 必填字段缺失', 'owner_setting required field missing', 'param'),
  86071: e('privacy_ver 参数无效', 'invalid privacy_ver', 'param'),
  86072: e('store_expire_timestamp 参数无效', 'invalid store_expire_timestamp', 'param'),
  86074: e('现网隐私协议不存在', 'no live privacy guideline yet (privacy_ver=1)', 'state'),
  87011: e('现网已经在灰度发布，不能进行版本回退', 'cannot revert: a gray release is in progress', 'state'),
  87012: e('该版本不能回退', 'no version can be reverted', 'state'),
  87013: e('撤回次数达到上限', 'undo audit limit reached (5/day, 10/month)', 'quota'),
  89019: e('业务域名无更改', 'webview domain: no change', 'config'),
  89020: e('尚未设置小程序业务域名', 'no business domain configured on the platform', 'config'),
  89021: e('请求保存的域名不是第三方平台中已设置的域名或子域名', 'not a configured (sub)domain of the platform', 'config'),
  89029: e('业务域名数量超过限制', 'more than 100 webview domains', 'config'),
  89231: e('个人小程序不支持调用 setwebviewdomain', 'personal mini programs cannot set webview domains', 'config'),
  89401: e('系统不稳定，请稍后再试', 'system unstable, retry later', 'busy', true),
  89402: e('该审核单不在待审核队列', 'the audit is not in the queue', 'state'),
  89403: e('本单属于平台不支持加急种类', 'this audit type cannot be sped up', 'state'),
  89404: e('本单已加速成功', 'already sped up', 'state'),
  89405: e('本月加急额度已用完', 'monthly speed-up quota used up', 'quota'),
  9410010: e('long_data 超过长度限制', 'long_data too long', 'param'),
  9410011: e('过期时间超过限制', 'expire_seconds too long', 'param'),
  9410012: e('short_key 无效或已过期', 'short_key invalid or expired', 'param'),
  9402203: e('标准模板 ext_json 有非法字段', 'standard template ext_json error (only extAppid/ext/window)', 'param'),
};

export function errcodeInfo(errcode: number): ErrcodeInfo {
  return ERRCODES[errcode] ?? e('未知错误', 'undocumented errcode', 'unknown');
}

/** Permission-set names (spec 11.1, 11.2) for display; the id list is open, unknown ids stay numbers. */
export const PERMISSION_SET_NAMES: Readonly<Record<number, string>> = {
  1: '消息管理', 2: '用户管理', 3: '账号服务', 4: '网页服务', 5: '微信小店', 6: '微信多客服', 7: '群发与通知',
  8: '微信卡券', 9: '微信扫一扫', 10: '微信连WIFI', 11: '素材管理', 12: '微信摇周边', 13: '微信门店', 15: '菜单管理',
  17: '获取小程序码', 18: '小程序开发与数据分析', 19: '小程序客服管理', 22: '城市服务', 23: '广告管理',
  24: '开放平台账号管理', 25: '开放平台账号管理', 26: '微信电子发票', 27: '快速注册小程序', 30: '小程序基本信息管理',
  31: '小程序认证名称检测', 33: '小程序关联管理', 34: '微信商品库管理', 36: '微信卡路里管理', 37: '附近的小程序管理',
  40: '小程序插件管理', 41: '好物圈管理', 44: '好物圈', 45: '微信物流服务', 46: '微信一物一码', 47: '微信财政电子票据',
  48: '微信财政电子票据管理', 49: '小程序云开发管理', 51: '小程序即时配送', 52: '小程序直播管理', 54: '服务号对话管理',
  65: '小程序广告管理', 66: '微信服务市场管理', 67: '微信服务市场管理', 70: '标准版交易组件商品管理',
  71: '标准版交易组件订单物流与售后管理', 73: '标准版交易组件接入', 76: '小程序违规与交易投诉管理', 81: '试用小程序快速认证',
  84: '标准版交易组件优惠券管理', 85: '自定义版交易组件管理', 86: '小商店装修', 88: '小程序链接管理', 89: '服务号订阅通知',
  93: '小程序联盟管理', 100: '(服务号接口权限 100)', 101: '(服务号接口权限 101)', 113: '就医助手', 185: '小程序管理微信小店会员',
};

export interface PermissionSet {
  id: number;
  name: string;
}

/**
 * Which sets an on-behalf API needs (spec 12.2–12.5; any one of them suffices). Keys are API paths
 * without the query. jscode2session and getticket list no set.
 */
export const API_PERMISSION_SETS: Readonly<Record<string, readonly number[]>> = {
  ...Object.fromEntries(
    [
      'commit', 'get_page', 'security/get_code_privacy_info', 'submit_audit', 'get_auditstatus', 'get_latest_auditstatus',
      'undocodeaudit', 'speedupaudit', 'queryquota', 'release', 'revertcoderelease', 'grayrelease', 'revertgrayrelease',
      'getgrayreleaseplan', 'change_visitstatus', 'getvisitstatus', 'modify_domain', 'setwebviewdomain', 'bind_tester',
      'unbind_tester', 'memberauth', 'get_category',
    ].map((p) => [`/wxa/${p}`, [18]]),
  ),
  '/wxa/get_qrcode': [18, 86],
  '/cgi-bin/wxopen/getcategory': [30],
  '/cgi-bin/component/getprivacysetting': [18],
  '/cgi-bin/component/setprivacysetting': [18],
  '/cgi-bin/component/uploadprivacyextfile': [18],
  '/cgi-bin/account/getaccountbasicinfo': [3, 30],
  '/wxa/generatescheme': [88],
  '/wxa/generate_urllink': [88],
  '/cgi-bin/message/custom/send': [1, 6, 19, 100, 101],
  '/cgi-bin/message/template/send': [7, 100, 101],
  '/cgi-bin/menu/create': [15],
  '/cgi-bin/menu/get': [15],
  '/cgi-bin/menu/delete': [15],
  '/cgi-bin/get_current_selfmenu_info': [1, 3, 15],
  '/cgi-bin/user/info': [2, 100],
  '/cgi-bin/user/info/batchget': [2, 100],
  '/cgi-bin/qrcode/create': [3],
  '/cgi-bin/shorten/gen': [3, 17],
  '/cgi-bin/shorten/fetch': [3, 17],
};

export function permissionSetsFor(path: string): PermissionSet[] {
  // Stryker disable next-line StringLiteral: every id in API_PERMISSION_SETS has a name today; the fallback text is for ids added later
  return (API_PERMISSION_SETS[path] ?? []).map((id) => ({ id, name: PERMISSION_SET_NAMES[id] ?? `权限集 ${id}` }));
}

/**
 * The egress IP WeChat names in a 61004/40164 errmsg. Its wording varies ("access clientip is not
 * registered requestIP: 1.2.3.4 rid: …", "invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist"), so
 * take the first dotted IPv4 literal (the rid is hex with dashes, never dotted), else an IPv6 after a label.
 */
export function egressIpFrom(errmsg: string): string | undefined {
  const v4 = /(?<![\d.])((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})(?![\d.])/.exec(errmsg)?.[1];
  // A `:` after the label is a separator only when an address does not start with it (`ipv6 ::1`).
  return v4 ?? /(?:requestip|clientip|ipv6|invalid ip)[\s=]*(?::(?=\s|[0-9a-f]))?\s*\[?([0-9a-f]*:[0-9a-f:]+)/i.exec(errmsg)?.[1];
}

/** The `rid: …` request id suffix WeChat support asks for. */
export function ridFrom(errmsg: string): string | undefined {
  return /rid:\s*([\w-]+)/.exec(errmsg)?.[1];
}
