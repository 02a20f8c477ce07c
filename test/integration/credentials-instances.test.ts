/**
 * Two instances on one store: each trusts its in-memory token for memoryCacheMs (30 s), then re-reads the
 * store and serves the token the other instance refreshed. Time is the sandbox's frozen clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Platform } from '../../src/platform.js';
import { createLogger } from '../../src/util/logger.js';
import { startWorld, type World } from '../helpers/world.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 15, 2, 0, 0);

let w: World;
let other: Platform | undefined;
afterEach(async () => {
  await other?.close();
  other = undefined;
  await w?.close();
});

describe('in-memory token copies', () => {
  it('serve the memory copy for 30 s, then the token another instance committed', async () => {
    w = await startWorld({ sandbox: { clock: { now: () => T0 } } });
    await w.sandbox.pushTicket();
    await w.settle();
    const appid = w.sandbox.accounts.find((a) => a.type === 'miniprogram' && a.testGroup === undefined)!.appid;
    await w.sandbox.authorize(appid);
    await w.settle();
    other = new Platform({ config: w.config, store: w.store, logger: createLogger({ level: 'silent' }), clock: w.sandbox.clock, http: { busyBackoffMs: 5 }, credentials: { lockPollMs: 5 } });
    const cat = await w.platform.component.get();
    const aat = await w.platform.authorizers.get(appid);
    await w.sandbox.advance(MINUTE);
    const newCat = (await other.component.forceRefresh()).token;
    const newAat = (await other.authorizers.forceRefresh(appid)).token;
    // Our copies were read 60 s ago: stale, so the store is read again.
    expect(await w.platform.component.get()).toBe(newCat);
    expect(await w.platform.authorizers.get(appid)).toBe(newAat);
    expect(cat).not.toBe(newCat);
    expect(aat).not.toBe(newAat);
    // Just read: trusted for 30 s while the other instance refreshes again.
    await w.sandbox.advance(1);
    const thirdCat = (await other.component.forceRefresh()).token;
    const thirdAat = (await other.authorizers.forceRefresh(appid)).token;
    expect(await w.platform.component.get()).toBe(newCat);
    expect(await w.platform.authorizers.get(appid)).toBe(newAat);
    await w.sandbox.advance(30_000 - 2);
    expect(await w.platform.component.get()).toBe(newCat);
    expect(await w.platform.authorizers.get(appid)).toBe(newAat);
    await w.sandbox.advance(1);
    expect(await w.platform.component.get()).toBe(thirdCat);
    expect(await w.platform.authorizers.get(appid)).toBe(thirdAat);
  });
});
