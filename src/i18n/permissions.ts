/**
 * Permission sets (权限集) by `func_info[].funcscope_category.id`, for display only (spec 11): names
 * are the current official ones, English glosses from the spec. The list is open: an unknown id is
 * shown as its number, never refused.
 */
const SETS: ReadonlyArray<readonly [number, string, string]> = [
  [1, '消息管理', 'Message management'],
  [2, '用户管理', 'User management'],
  [3, '账号服务', 'Account services'],
  [4, '网页服务', 'Web (H5) services'],
  [5, '微信小店', 'WeChat store'],
  [6, '微信多客服', 'Multi-agent customer service'],
  [7, '群发与通知', 'Mass send and notifications'],
  [8, '微信卡券', 'Cards and coupons'],
  [9, '微信扫一扫', 'Scan'],
  [10, '微信连WIFI', 'Wi-Fi connect'],
  [11, '素材管理', 'Material management'],
  [12, '微信摇周边', 'Shake nearby'],
  [13, '微信门店', 'Stores (POI)'],
  [15, '菜单管理', 'Custom menu'],
  [17, '获取小程序码', 'Mini-program codes'],
  [18, '小程序开发与数据分析', 'Mini-program development and data analysis'],
  [19, '小程序客服管理', 'Mini-program customer service'],
  [22, '城市服务', 'City services'],
  [23, '广告管理', 'Ads management'],
  [24, '开放平台账号管理', 'Open Platform account management'],
  [25, '开放平台账号管理', 'Open Platform account management (mini program)'],
  [26, '微信电子发票', 'E-invoices'],
  [27, '快速注册小程序', 'Fast mini-program registration'],
  [30, '小程序基本信息管理', 'Mini-program basic info'],
  [31, '小程序认证名称检测', 'Mini-program verification name check'],
  [33, '小程序关联管理', 'Linked mini programs'],
  [34, '微信商品库管理', 'Product library'],
  [36, '微信卡路里管理', 'WeChat Calorie'],
  [37, '附近的小程序管理', 'Nearby mini programs'],
  [40, '小程序插件管理', 'Mini-program plugins'],
  [41, '好物圈管理', 'Haowuquan management'],
  [44, '好物圈', 'Haowuquan'],
  [45, '微信物流服务', 'Logistics'],
  [46, '微信一物一码', 'One item, one code'],
  [47, '微信财政电子票据', 'Fiscal e-receipts'],
  [48, '微信财政电子票据管理', 'Fiscal e-receipts (mini program)'],
  [49, '小程序云开发管理', 'Cloud development'],
  [51, '小程序即时配送', 'Instant delivery'],
  [52, '小程序直播管理', 'Live streaming'],
  [54, '服务号对话管理', 'Service-account conversations'],
  [65, '小程序广告管理', 'Mini-program ads'],
  [66, '微信服务市场管理', 'WeChat service market'],
  [67, '微信服务市场管理', 'WeChat service market (mini program)'],
  [70, '标准版交易组件商品管理', 'Trade component: products'],
  [71, '标准版交易组件订单物流与售后管理', 'Trade component: orders, logistics, after-sales'],
  [73, '标准版交易组件接入', 'Trade component onboarding'],
  [76, '小程序违规与交易投诉管理', 'Violations and complaints'],
  [81, '试用小程序快速认证', 'Trial mini-program fast verification'],
  [84, '标准版交易组件优惠券管理', 'Trade component: coupons'],
  [85, '自定义版交易组件管理', 'Custom trade component'],
  [86, '小商店装修', 'Mini store decoration'],
  [88, '小程序链接管理', 'Mini-program links (URL Scheme / URL Link)'],
  [89, '服务号订阅通知', 'Subscribe notifications'],
  [93, '小程序联盟管理', 'Affiliate (联盟)'],
  [99, '云开发短信服务', 'Cloud-dev SMS'],
  [102, '云开发微信支付', 'Cloud-dev WeChat Pay'],
  [104, '标准版组件资金链路', 'Trade component fund flow'],
  [105, '城市服务', 'City services (mini program)'],
  [107, '连接器电商场景接入', 'Connector, e-commerce'],
  [112, '红包封面管理', 'Red-packet covers'],
  [113, '就医助手', 'Medical assistant'],
  [116, '获取自定义版交易组件数据', 'Custom trade component data'],
  [117, '小程序图像处理', 'Image processing'],
  [118, '硬件服务', 'Hardware services'],
  [119, '小程序支付管理服务', 'Mini-program payment management'],
  [120, '小程序购物订单', 'Mini-program shopping orders'],
  [121, '公众号购物订单', 'Official-account shopping orders'],
  [129, '视频号小店商品管理', 'Channels store: products'],
  [130, '视频号小店物流管理', 'Channels store: logistics'],
  [131, '视频号小店订单与售后管理', 'Channels store: orders and after-sales'],
  [132, '视频号小店优惠券管理', 'Channels store: coupons'],
  [133, '视频号商品橱窗管理', 'Channels showcase'],
  [135, '流量主代运营权限集', 'Ad-publisher operation'],
  [138, '视频号小店资金管理', 'Channels store: funds'],
  [139, '小程序运费险', 'Freight insurance'],
  [140, '小程序推广员', 'Promoters'],
  [141, '视频号小店优选联盟', 'Channels store affiliate'],
  [142, '小程序发货管理服务', 'Shipping-info management'],
  [143, '视频号留资组件管理', 'Channels lead-capture component'],
  [144, '小程序学生认证权限集', 'Student verification'],
  [151, '小程序交易保障', 'Transaction guarantee'],
  [153, '微短剧小程序资源管理', 'Short-drama media'],
  [156, '小程序备案服务', 'ICP filing'],
  [157, '小程序虚拟支付管理权限', 'Virtual payment'],
  [159, '视频号电子面单管理', 'Channels e-waybills'],
  [160, '视频号留资服务的直播数据', 'Channels lead-capture live data'],
  [161, '微信客服管理', 'WeChat customer service'],
  [176, '达人数据', 'Creator data'],
  [177, '视频号商品橱窗管理', 'Channels product showcase'],
  [185, '小程序管理微信小店会员', 'WeChat store membership'],
  [189, '带货助手橱窗商品管理', 'Shopping assistant: showcase products'],
  [190, '带货助手订单管理', 'Shopping assistant: orders'],
];

const BY_ID = new Map(SETS.map(([id, zh, en]) => [id, { zh, en }]));

export type Lang = 'zh-CN' | 'en';

/** The display name of a permission set, e.g. `18` → `小程序开发与数据分析`; unknown ids keep their number. */
export function permissionName(id: number, lang: Lang): string {
  const n = BY_ID.get(id);
  if (!n) return lang === 'en' ? `Permission set ${id}` : `权限集 ${id}`;
  return lang === 'en' ? n.en : n.zh;
}

export function knownPermissionIds(): number[] {
  return SETS.map(([id]) => id);
}
