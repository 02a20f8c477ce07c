/**
 * Authorizer token refreshes as the operator counts them (wxopen_token_refreshes_total by outcome), the version
 * a refresh hands out, the in-memory copy never outliving the refresh-ahead margin, and the error a flagged
 * authorizer raises. Against the sandbox, frozen clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ReauthorizationRequiredError } from '../../src/errors.js';
import { startWorld, type World } from '../helpers/world.js';

const AAT = '/cgi-bin/component/api_authorizer_token';
const T0 = Date.UTC(2026, 0, 15, 2, 0, 0);
const MINUTE = 60_000;

let w: World;
afterEach(async () => {
  await w?.close();
});

async function ready(): Promise<string> {
  w = await startWorld({ sandbox: { clock: { now: () => T0 } } });
  await w.sandbox.pushTicket();
  await w.settle();
  const appid = w.sandbox.accounts.find((a) => a.testGroup === undefined)!.appid;
  await w.sandbox.authorize(appid);
  await w.settle();
  return appid;
}

async function refreshes(): Promise<Record<string, number>> {
  const m = await w.platform.ctx.metrics.tokenRefreshes.get();
  return Object.fromEntries(m.values.filter((v) => v.labels.kind === 'authorizer').map((v) => [String(v.labels.outcome), v.value]));
}

describe('authorizer token refreshes', () => {
  it('count ok, each errcode and "error" apart; a refresh hands out the next version', async () => {
    const appid = await ready();
    const before = (await w.store.getAuthorizer(w.config.componentAppid, appid))!.version;
    const info = await w.platform.authorizers.forceRefresh(appid);
    expect(info.version).toBe(before + 1);
    expect((await w.store.getAuthorizer(w.config.componentAppid, appid))!.version).toBe(before + 1);
    expect(await refreshes()).toEqual({ ok: 1 });
    w.sandbox.faults.set(AAT, { type: 'system_busy' });
    await expect(w.platform.authorizers.forceRefresh(appid)).rejects.toMatchObject({ errcode: -1 });
    w.sandbox.faults.clear();
    w.sandbox.faults.set(AAT, { type: 'body', body: { nonsense: true } });
    await expect(w.platform.authorizers.forceRefresh(appid)).rejects.toThrow();
    w.sandbox.faults.clear();
    expect(await refreshes()).toEqual({ ok: 1, '-1': 1, error: 1 });
  });

  it('61003 flags the authorizer: counted by errcode, and the error names it', async () => {
    const appid = await ready();
    w.sandbox.setPlatform({ componentPushUrl: 'http://127.0.0.1:9/lost', authorizerPushUrl: 'http://127.0.0.1:9/lost/$APPID$' });
    await w.sandbox.revoke(appid);
    const err = await w.platform.authorizers.forceRefresh(appid).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReauthorizationRequiredError);
    expect(err).toMatchObject({ authorizerAppid: appid, status: 'needs_reauthorization', reason: '61003' });
    expect(await refreshes()).toEqual({ '61003': 1 });
  });

  it('a token in memory is not served once it is inside the refresh-ahead margin, even if read moments ago', async () => {
    const appid = await ready();
    const first = await w.platform.authorizers.info(appid);
    const calls = w.sandbox.counters.get(AAT, appid);
    // 10 s before the margin: the copy is read again from the store (still usable) and kept.
    await w.sandbox.advance(first.expiresAt - 10 * MINUTE - 10_000 - w.sandbox.clock.now());
    expect((await w.platform.authorizers.info(appid)).token).toBe(first.token);
    expect(w.sandbox.counters.get(AAT, appid)).toBe(calls);
    // 20 s later (the copy is 20 s old, younger than the 30 s memory cache) it is inside the margin: renewed.
    await w.sandbox.advance(20_000);
    const second = await w.platform.authorizers.info(appid);
    expect(second.token).not.toBe(first.token);
    expect(w.sandbox.counters.get(AAT, appid)).toBe(calls + 1);
  });

  it('invalidate drops the copy in memory only when it is the version that failed', async () => {
    const appid = await ready();
    const first = await w.platform.authorizers.info(appid);
    const calls = w.sandbox.counters.get(AAT, appid);
    await w.platform.authorizers.invalidate(appid, first.version - 1);
    expect((await w.platform.authorizers.info(appid)).token).toBe(first.token);
    expect(w.sandbox.counters.get(AAT, appid)).toBe(calls);
    await w.platform.authorizers.invalidate(appid, first.version);
    const next = await w.platform.authorizers.info(appid);
    expect(next.token).not.toBe(first.token);
    expect(w.sandbox.counters.get(AAT, appid)).toBe(calls + 1);
  });
});
