export type AccountType = 'official' | 'miniprogram';

export interface AccountCategory {
  first_class: string;
  second_class: string;
  third_class?: string;
  first_id: number;
  second_id: number;
  third_id?: number;
}

/** A simulated merchant account (official account or mini program) that can authorize the platform. */
export interface SandboxAccount {
  appid: string;
  /** The gh_ original id: ToUserName of its messages. */
  userName: string;
  /** Empty for a mini program whose basic info is not set yet (submit_audit then fails with 86002). */
  nickName: string;
  type: AccountType;
  principalName: string;
  alias?: string;
  signature?: string;
  /** service_type_info.id (spec 3.5): OA 0/1/2; mini program 0. */
  serviceTypeId?: number;
  /** verify_type_info.id: -1 unverified, 0 WeChat-verified. */
  verifyTypeId?: number;
  /** account_status: 1 normal, 14 deleted, 16 banned, 18 warned, 19 frozen. */
  accountStatus?: number;
  /** Mini program categories, as get_category lists them. */
  categories?: AccountCategory[];
  /** Full-network-release test group (spec 7), 1–5, for WeChat's dedicated test accounts. */
  testGroup?: number;
}

const TOOLS_CATEGORY: AccountCategory = { first_class: '工具', second_class: '效率', first_id: 287, second_id: 612 };
const FOOD_CATEGORY: AccountCategory = { first_class: '餐饮服务', second_class: '点餐平台', first_id: 220, second_id: 221 };

/** The five full-network-release test groups of spec section 7, as WeChat names them. */
const RELEASE_TEST_GROUPS: ReadonlyArray<readonly [string, string, string, string]> = [
  ['wx570bc396a51b8ff8', 'gh_3c884a361561', 'wxd101a85aa106f53e', 'gh_8dad206e9538'],
  ['wx9252c5e0bb1836fc', 'gh_c0f28a78b318', 'wxc39235c15087f6f3', 'gh_905ae9d01059'],
  ['wx8e1097c5bc82cde9', 'gh_3f222ed8d140', 'wx7720d01d4b2a4500', 'gh_393666f1fdf4'],
  ['wx14550af28c71a144', 'gh_26128078e9ab', 'wx05d483572dcd5d8b', 'gh_39abb5d4e1b7'],
  ['wxa35b9c23cfe664eb', 'gh_2b3713f184a6', 'wx5910277cae6fd970', 'gh_7818dcb60240'],
];

export function defaultAccounts(): SandboxAccount[] {
  const merchants: SandboxAccount[] = [
    {
      appid: 'wx3a7f2c9e1b4d6f80',
      userName: 'gh_5e2a9c7b1d3f',
      nickName: '青木咖啡',
      type: 'official',
      principalName: '上海青木餐饮管理有限公司',
      alias: 'qingmu_coffee',
      signature: '每一杯都是新鲜烘焙',
      serviceTypeId: 2,
      verifyTypeId: 0,
    },
    {
      appid: 'wx8b1e4d2f6a9c3057',
      userName: 'gh_a17c3e5b9d24',
      nickName: '山海书店',
      type: 'official',
      principalName: '杭州山海文化传播有限公司',
      serviceTypeId: 0,
      verifyTypeId: -1,
    },
    {
      appid: 'wx5c9d0e3a7f1b2846',
      userName: 'gh_7f4b2d9e1c68',
      nickName: '青木咖啡点单',
      type: 'miniprogram',
      principalName: '上海青木餐饮管理有限公司',
      signature: '在线点单，到店自取',
      categories: [FOOD_CATEGORY],
    },
    {
      appid: 'wx2e6f8a1c4b7d9035',
      userName: 'gh_3d8e6a2f5c91',
      nickName: '随手记账本',
      type: 'miniprogram',
      principalName: '深圳随手科技有限公司',
      signature: '简单好用的记账工具',
      categories: [TOOLS_CATEGORY],
    },
    {
      appid: 'wx7d3b5f9e2a6c1048',
      userName: 'gh_c62e9f1a4b87',
      nickName: '',
      type: 'miniprogram',
      principalName: '成都新芽网络科技有限公司',
      categories: [TOOLS_CATEGORY],
    },
  ];
  const testAccounts = RELEASE_TEST_GROUPS.flatMap(([oa, oaUser, mp, mpUser], i): SandboxAccount[] => [
    { appid: oa, userName: oaUser, nickName: `全网发布测试公众号${i + 1}`, type: 'official', principalName: '腾讯测试', serviceTypeId: 2, verifyTypeId: 0, testGroup: i + 1 },
    { appid: mp, userName: mpUser, nickName: `全网发布测试小程序${i + 1}`, type: 'miniprogram', principalName: '腾讯测试', categories: [TOOLS_CATEGORY], testGroup: i + 1 },
  ]);
  return [...merchants, ...testAccounts];
}
