/**
 * Authorizer tokens WeChat issued while the store refused writes: served from memory, written again at most
 * every 5 s (each failure counted), and logged once written. Time is the sandbox's frozen clock; memory
 * copies are not trusted at all (memoryCacheMs 0), so every call goes through the held tokens.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/create-store.js';
import type { RefreshedTokensInput, Store } from '../../src/store/types.js';
import { captureLogger } from '../helpers/logs.js';
import { startWorld, type World } from '../helpers/world.js';

const AAT = '/cgi-bin/component/api_authorizer_token';
const T0 = Date.UTC(2026, 0, 15, 2, 0, 0);

let w: World;
afterEach(async () => {
  await w?.close();
});

describe('authorizer tokens held while the store refuses them', () => {
  it('are served, retried every 5 s, and logged when written', async () => {
    const base = await createStore('sqlite::memory:');
    let refuse = false;
    let saves = 0;
    const store = Object.create(base) as Store;
    store.saveRefreshedTokens = async (input: RefreshedTokensInput) => {
      saves++;
      if (refuse) throw new Error('attempt to write a readonly database');
      return base.saveRefreshedTokens(input);
    };
    const { logger, lines } = captureLogger('info');
    w = await startWorld({ sandbox: { clock: { now: () => T0 } }, store: async () => store, logger, platform: { credentials: { lockPollMs: 5, memoryCacheMs: 0 } } });
    await w.sandbox.pushTicket();
    await w.settle();
    const appid = w.sandbox.accounts.find((a) => a.type === 'miniprogram' && a.testGroup === undefined)!.appid;
    await w.sandbox.authorize(appid);
    await w.settle();
    const failures = async () => (await w.platform.ctx.metrics.storeWriteFailures.get()).values.find((v) => v.labels.what === 'authorizer_tokens')?.value ?? 0;
    const stored = async () => {
      const r = (await base.getAuthorizer(w.config.componentAppid, appid))!;
      return w.platform.ctx.box.open(r.accessTokenEnc!, `${w.config.componentAppid}:${appid}`);
    };
    await w.platform.authorizers.get(appid);
    const old = await stored();

    refuse = true;
    saves = 0;
    const held = await w.platform.authorizers.info(appid, { force: true });
    expect(held.token).not.toBe(old);
    expect(saves).toBe(1);
    expect(await failures()).toBe(1);
    expect(lines.filter((l) => l.level === 50).map((l) => [l.msg, l.authorizerAppid])).toEqual([
      ['store refused the refreshed authorizer tokens; serving them from memory until the store recovers', appid],
    ]);
    const calls = w.sandbox.counters.get(AAT, appid);

    await w.sandbox.advance(4_999);
    expect(await w.platform.authorizers.get(appid)).toBe(held.token);
    expect(saves).toBe(1);
    await w.sandbox.advance(1);
    expect(await w.platform.authorizers.get(appid)).toBe(held.token);
    expect(saves).toBe(2);
    expect(await failures()).toBe(2);

    refuse = false;
    await w.sandbox.advance(4_999);
    expect(await w.platform.authorizers.get(appid)).toBe(held.token);
    expect(saves).toBe(2);
    await w.sandbox.advance(1);
    expect(await w.platform.authorizers.get(appid)).toBe(held.token);
    expect(saves).toBe(3);
    expect(await stored()).toBe(held.token);
    expect(lines.filter((l) => l.msg === 'stored the authorizer tokens kept in memory while the store was refusing writes').map((l) => [l.authorizerAppid, l.outcome])).toEqual([[appid, 'saved']]);
    // No second token was asked of WeChat for any of this.
    expect(w.sandbox.counters.get(AAT, appid)).toBe(calls);
  });
});
