import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config.js';
import { createFleet } from '../../../src/fleet/create.js';
import type { Fleet } from '../../../src/fleet/fleet.js';
import type { Platform } from '../../../src/platform.js';
import { createStore } from '../../../src/store/create-store.js';
import type { Store } from '../../../src/store/types.js';
import { C, fakeWeChat } from './fleet-world.js';

/** createFleet wires a Fleet from a platform: its authorizers (every page of them), its clients, its defaults. */
describe('createFleet', () => {
  let store: Store;
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
    await store.close();
  });

  async function setup(authorized: number) {
    store = await createStore('sqlite::memory:');
    const at = Date.now();
    for (let i = 0; i < authorized; i++) {
      await store.saveAuthorization({ componentAppid: C, authorizerAppid: `wx${String(i).padStart(5, '0')}`, funcInfo: [18], refreshTokenEnc: 'r', accessTokenEnc: null, accessExpiresAt: null, at });
    }
    await store.saveAuthorization({ componentAppid: C, authorizerAppid: 'wxgone', funcInfo: [18], refreshTokenEnc: 'r', accessTokenEnc: null, accessExpiresAt: null, at });
    await store.setAuthorizerStatus(C, 'wxgone', 'unauthorized', 'unauthorized event', at);
    const wechat = fakeWeChat();
    const asked: string[] = [];
    const platform = { authorizer: (appid: string) => (asked.push(appid), { wxa: wechat.client(appid) }) , componentApi: { templates: { getTemplateList: async () => ({ template_list: [{ template_id: 1 }] }) } } } as unknown as Platform;
    const config = { componentAppid: C, logLevel: 'silent', redisUrl: undefined } as unknown as Config;
    fleet = createFleet({ platform, store, config, scanMs: 20 });
    return { wechat, asked, fleet };
  }

  it('targets every authorized merchant across pages of 1,000, and none that left', async () => {
    const { fleet } = await setup(1_001);
    const before = Date.now();
    const job = await fleet.createJob({ templateId: 1, userVersion: '1.0.0', targets: { all: true } });
    expect(job.total).toBe(1_001);
    // The system clock by default.
    expect(job.createdAt).toBeGreaterThanOrEqual(before);
    expect(job.createdAt).toBeLessThanOrEqual(Date.now());
    const gone = await fleet.createJob({ templateId: 1, userVersion: '1.0.0', targets: { appids: ['wxgone'] } }).catch((e: unknown) => e);
    expect(gone).toMatchObject({ issues: [{ appid: 'wxgone', field: 'targets', problem: 'not an authorizer of this platform' }] });
  });

  it('acts for each merchant through the platform client, with the embedded runner when there is no Redis', async () => {
    const { fleet, wechat, asked } = await setup(2);
    const job = await fleet.createJob({ templateId: 1, userVersion: '1.0.0', targets: { all: true }, options: { submitAudit: false } });
    await fleet.start();
    expect(fleet.runnerKind).toBe('embedded');
    expect(await fleet.idle(job.jobId, 5)).toMatchObject({ status: 'done' });
    expect(wechat.calls.sort()).toEqual(['wx00000:commit', 'wx00001:commit']);
    expect([...new Set(asked)].sort()).toEqual(['wx00000', 'wx00001']);
  });
});
