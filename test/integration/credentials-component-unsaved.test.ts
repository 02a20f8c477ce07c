/**
 * component_access_token when the store refuses writes (each token costs quota that cannot be reset):
 * served from memory, written at most every 5 s, logged when written; and a 61005 with no newer ticket asks
 * WeChat to push one. Frozen base clock; memory copies not trusted (memoryCacheMs 0).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WeChatApiError } from '../../src/errors.js';
import { createStore } from '../../src/store/create-store.js';
import type { Store } from '../../src/store/types.js';
import { captureLogger } from '../helpers/logs.js';
import { startWorld, type World } from '../helpers/world.js';

const TOKEN = '/cgi-bin/component/api_component_token';
const T0 = Date.UTC(2026, 0, 15, 2, 0, 0);

let w: World;
afterEach(async () => {
  await w?.close();
});

describe('component token and a refusing store', () => {
  it('is served from memory, written again after 5 s, and logged when stored', async () => {
    const base = await createStore('sqlite::memory:');
    let refuse = false;
    let saves = 0;
    const store = Object.create(base) as Store;
    store.saveComponentToken = async (input) => {
      saves++;
      if (refuse) throw new Error('attempt to write a readonly database');
      return base.saveComponentToken(input);
    };
    const { logger, lines } = captureLogger('info');
    w = await startWorld({ sandbox: { clock: { now: () => T0 } }, store: async () => store, logger, platform: { credentials: { lockPollMs: 5, memoryCacheMs: 0 } } });
    await w.sandbox.pushTicket();
    await w.settle();
    const failures = async () => (await w.platform.ctx.metrics.storeWriteFailures.get()).values.find((v) => v.labels.what === 'component_token')?.value ?? 0;

    refuse = true;
    const token = await w.platform.component.get();
    expect(saves).toBe(1);
    expect(await failures()).toBe(1);
    expect(w.platform.component.holdsUnsaved).toBe(true);
    expect(lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual(['store refused the component_access_token; serving it from memory until the store recovers']);
    refuse = false;
    await w.sandbox.advance(4_999);
    expect(await w.platform.component.get()).toBe(token);
    expect(saves).toBe(1);
    expect(await base.getComponentToken(w.config.componentAppid)).toBeUndefined();
    await w.sandbox.advance(1);
    expect(await w.platform.component.get()).toBe(token);
    expect(saves).toBe(2);
    expect(w.platform.component.holdsUnsaved).toBe(false);
    expect((await base.getComponentToken(w.config.componentAppid))?.expiresAt).toBe(T0 + 7200_000);
    expect(lines.filter((l) => l.msg === 'stored the component_access_token kept in memory while the store was refusing writes')).toHaveLength(1);
    expect(w.sandbox.counters.get(TOKEN)).toBe(1);
  });
});

describe('61005', () => {
  it('with no newer ticket: asks WeChat to push one and reports the 61005', async () => {
    w = await startWorld({ sandbox: { clock: { now: () => T0 } } });
    await w.sandbox.pushTicket();
    await w.settle();
    w.sandbox.faults.set(TOKEN, { type: 'body', body: { errcode: 61005, errmsg: 'component ticket is expired' } });
    const err = await w.platform.component.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeChatApiError);
    expect((err as WeChatApiError).errcode).toBe(61005);
    expect(w.sandbox.counters.get('/cgi-bin/component/api_start_push_ticket')).toBe(1);
    expect(await w.platform.ctx.metrics.registry.getSingleMetricAsString('wxopen_token_refreshes_total')).toMatch(/kind="component",outcome="61005"} 1/);
  });
});
