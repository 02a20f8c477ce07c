/**
 * What the token managers tell the operator when the shared pieces under them misbehave: a refresh lease lost
 * while WeChat was answering (another instance may refresh too) is counted and logged once per refresh, and a
 * token cache that fails is logged and bypassed (the store is the truth). Against the sandbox, frozen clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TokenCache } from '../../src/lock/token-cache.js';
import type { LockBackend } from '../../src/lock/types.js';
import { captureLogger } from '../helpers/logs.js';
import { startWorld, type World } from '../helpers/world.js';

const TOKEN = '/cgi-bin/component/api_component_token';
const AAT = '/cgi-bin/component/api_authorizer_token';
const T0 = Date.UTC(2026, 0, 15, 2, 0, 0);
const LOST = 'refresh lease lost while refreshing; another instance may refresh too';

let w: World;
afterEach(async () => {
  await w?.close();
});

/** Every lease is granted and every renewal finds it gone (the session died, or another holder took it). */
function losingLock(): LockBackend & { renewals: number } {
  const lock = {
    kind: 'memory' as const,
    renewals: 0,
    async tryAcquire() {
      return {
        lost: false,
        renew: async () => {
          lock.renewals++;
          return false;
        },
        release: async () => undefined,
      };
    },
    async close() {},
  };
  return lock;
}

async function leasesLost(world: World, kind: string): Promise<number> {
  const text = await world.platform.ctx.metrics.registry.getSingleMetricAsString('wxopen_lock_leases_lost_total');
  return Number(new RegExp(`kind="${kind}"} (\\d+)`).exec(text)?.[1] ?? 0);
}

describe('refresh lease lost', () => {
  it('a slow component token refresh whose lease cannot be renewed is counted and logged once, and still answers', async () => {
    const { logger, lines } = captureLogger('info');
    const lock = losingLock();
    w = await startWorld({ sandbox: { clock: { now: () => T0 } }, logger, platform: { lock, credentials: { lockLeaseMs: 30 } } });
    await w.sandbox.pushTicket();
    await w.settle();
    w.sandbox.faults.set(TOKEN, { type: 'latency', ms: 120 });
    expect(await w.platform.componentToken()).toMatch(/.+/);
    // Renewed every 10 ms (a third of the lease, at least 10): several failed renewals, one report.
    expect(lock.renewals).toBeGreaterThan(1);
    expect(lines.filter((l) => l.msg === LOST).map((l) => [l.level, l.key])).toEqual([[40, `cat:${w.config.componentAppid}`]]);
    expect(await leasesLost(w, 'component')).toBe(1);
    expect(await leasesLost(w, 'authorizer')).toBe(0);
  });

  it('the same for an authorizer token refresh', async () => {
    const { logger, lines } = captureLogger('info');
    w = await startWorld({ sandbox: { clock: { now: () => T0 } }, logger, platform: { lock: losingLock(), credentials: { lockLeaseMs: 30 } } });
    await w.sandbox.pushTicket();
    await w.settle();
    const appid = w.sandbox.accounts.find((a) => a.testGroup === undefined)!.appid;
    await w.sandbox.authorize(appid);
    await w.settle();
    await w.platform.componentToken();
    lines.length = 0;
    w.sandbox.faults.set(AAT, { type: 'latency', ms: 120 });
    expect(await w.platform.authorizerToken(appid, { force: true })).toMatch(/.+/);
    expect(lines.filter((l) => l.msg === LOST).map((l) => [l.level, l.key])).toEqual([[40, `aat:${w.config.componentAppid}:${appid}`]]);
    expect(await leasesLost(w, 'authorizer')).toBe(1);
  });
});

describe('token cache unavailable', () => {
  it('every cache failure is logged and the store answers instead', async () => {
    const { logger, lines } = captureLogger('info');
    let calls = 0;
    const broken: TokenCache = {
      get: async () => {
        calls++;
        throw new Error('cache down');
      },
      set: async () => {
        calls++;
        throw new Error('cache down');
      },
      delete: async () => {
        calls++;
        throw new Error('cache down');
      },
      close: async () => undefined,
    };
    w = await startWorld({ sandbox: { clock: { now: () => T0 } }, logger, platform: { cache: broken } });
    await w.sandbox.pushTicket();
    await w.settle();
    const token = await w.platform.componentToken();
    expect(token).toMatch(/.+/);
    expect(calls).toBeGreaterThan(0);
    const warned = lines.filter((l) => l.msg === 'token cache unavailable; using the store');
    expect(warned).toHaveLength(calls);
    expect(warned.map((l) => [l.level, (l.err as { message: string }).message])[0]).toEqual([40, 'cache down']);
    // A forced refresh (which invalidates through the cache) still works, and the stored token is the new one.
    const forced = await w.platform.componentToken({ force: true });
    expect(forced).not.toBe(token);
    expect(w.sandbox.counters.get(TOKEN)).toBe(2);
  });
});
