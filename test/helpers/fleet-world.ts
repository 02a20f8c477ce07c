import { createHash } from 'node:crypto';
import type { SandboxAccount } from '../../src/sandbox/accounts.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';
import { createWxOpen, type CreateWxOpenOptions, type WxOpen } from '../../src/server/create.js';
import { TEST_COMPONENT } from './component.js';

const FOOD = { first_class: '餐饮服务', second_class: '点餐平台', first_id: 220, second_id: 221 };

/** `n` deterministic mini programs (appid from a hash of the index), ready for submit_audit. */
export function fleetAccounts(n: number, prefix = 'fleet'): SandboxAccount[] {
  return Array.from({ length: n }, (_, i) => {
    const h = createHash('sha1').update(`${prefix}-${i}`).digest('hex');
    return {
      appid: `wx${h.slice(0, 16)}`,
      userName: `gh_${h.slice(16, 28)}`,
      nickName: `门店${i}`,
      type: 'miniprogram' as const,
      principalName: `商户${i}有限公司`,
      categories: [FOOD],
    };
  });
}

/** The env of a platform pointed at `sandbox`. */
export function platformEnv(sandbox: Sandbox, extra: Record<string, string | number> = {}): Record<string, string | number> {
  const c = sandbox.state.component;
  return {
    WXOPEN_COMPONENT_APPID: c.appid,
    WXOPEN_COMPONENT_SECRET: c.secret,
    WXOPEN_TOKEN: c.token,
    WXOPEN_ENCODING_AES_KEY: c.encodingAesKey,
    WXOPEN_SECRET_KEY: 'ab'.repeat(32),
    WXOPEN_PUBLIC_URL: 'http://127.0.0.1:1',
    WXOPEN_DATABASE_URL: 'sqlite::memory:',
    WXOPEN_API_BASE: sandbox.url,
    WXOPEN_API_BACKUP_BASES: '',
    WXOPEN_MP_BASE: sandbox.url,
    WXOPEN_OPEN_BASE: sandbox.url,
    PORT: 0,
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.WXOPEN_TEST_LOG ?? 'silent',
    ...extra,
  };
}

export interface FleetWorld {
  sandbox: Sandbox;
  wx: WxOpen;
  appids: string[];
  close(): Promise<void>;
}

/** The sandbox with `n` mini programs, all authorized to a createWxOpen platform that runs the fleet. */
export async function startFleetWorld(o: {
  n: number;
  sandbox?: SandboxOptions;
  env?: Record<string, string | number>;
  wx?: Omit<CreateWxOpenOptions, 'config'>;
}): Promise<FleetWorld> {
  const accounts = fleetAccounts(o.n);
  const sandbox = await startSandbox({ component: TEST_COMPONENT, ticketIntervalMs: 0, auditQuotaPerMonth: 100_000, quotas: { '*': 1_000_000 }, accounts, ...o.sandbox });
  const wx = await createWxOpen({ config: platformEnv(sandbox, o.env), clock: sandbox.clock, ...o.wx });
  await wx.listen({ port: 0, host: '127.0.0.1' });
  wx.config.publicUrl = wx.url!;
  sandbox.setPlatform({ componentPushUrl: `${wx.url}/wechat/component`, authorizerPushUrl: `${wx.url}/wechat/authorizer/$APPID$` });
  await sandbox.settled();
  const appids = accounts.map((a) => a.appid);
  await authorizeAll(sandbox, wx, appids);
  return {
    sandbox,
    wx,
    appids,
    async close() {
      await wx.close();
      await sandbox.close();
    },
  };
}

/** Each merchant confirms the authorization page; resolves once the platform stored them all. */
export async function authorizeAll(sandbox: Sandbox, wx: WxOpen, appids: readonly string[]): Promise<void> {
  for (let i = 0; i < appids.length; i += 20) await Promise.all(appids.slice(i, i + 20).map((a) => sandbox.authorize(a)));
  for (;;) {
    const counts = await wx.store.countAuthorizers(wx.config.componentAppid);
    if (counts.authorized >= appids.length) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
