/**
 * What the background refresher tells the operator: a summary line per pass that had work, and a warning
 * per failing authorizer with the errcode and when it is tried again; nothing for a pass with no work, and no
 * backoff warning for an authorizer that must authorize again (it is never retried). Frozen base clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger } from '../helpers/logs.js';
import { startWorld, type World } from '../helpers/world.js';

const AAT = '/cgi-bin/component/api_authorizer_token';
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 15, 2, 0, 0);

let w: World;
afterEach(async () => {
  await w?.close();
});

describe('refresher reports', () => {
  it('logs each pass with work, and each failure with its errcode and backoff', async () => {
    const { logger, lines } = captureLogger('info');
    w = await startWorld({ sandbox: { clock: { now: () => T0 } }, logger, platform: { refresher: { backoffMs: 7 * MINUTE, maxBackoffMs: 60 * MINUTE } } });
    await w.sandbox.pushTicket();
    await w.settle();
    const [a, b] = w.sandbox.accounts.filter((x) => x.testGroup === undefined).slice(0, 2).map((x) => x.appid);
    await w.sandbox.authorize(a!);
    await w.sandbox.authorize(b!);
    await w.settle();
    lines.length = 0;
    expect(await w.platform.refresher.tick()).toEqual({ due: 0, refreshed: 0, failed: 0, deferred: 0 });
    expect(lines.filter((l) => l.msg === 'refresher pass')).toEqual([]);
    const expiresAt = (await w.store.getAuthorizer(w.config.componentAppid, a!))!.accessExpiresAt!;
    await w.sandbox.advance(expiresAt - 10 * MINUTE - w.sandbox.clock.now());
    w.sandbox.faults.set(AAT, { type: 'system_busy', appid: a });
    const r = await w.platform.refresher.tick();
    expect(r).toEqual({ due: 2, refreshed: 1, failed: 1, deferred: 0 });
    const pass = lines.filter((l) => l.msg === 'refresher pass');
    expect(pass.map((l) => [l.level, l.due, l.refreshed, l.failed, l.deferred])).toEqual([[30, 2, 1, 1, 0]]);
    const warn = lines.filter((l) => l.msg === 'authorizer token refresh failed; backing off');
    expect(warn.map((l) => [l.level, l.authorizerAppid, l.errcode, l.retryInMs])).toEqual([[40, a, -1, 7 * MINUTE]]);
  });

  it('does not back off (or warn about) an authorizer that must authorize again', async () => {
    const { logger, lines } = captureLogger('info');
    w = await startWorld({ sandbox: { clock: { now: () => T0 } }, logger });
    await w.sandbox.pushTicket();
    await w.settle();
    const a = w.sandbox.accounts.find((x) => x.testGroup === undefined)!.appid;
    await w.sandbox.authorize(a);
    await w.settle();
    // Revoked at WeChat while the push was lost: the refresh meets 61003.
    w.sandbox.setPlatform({ componentPushUrl: 'http://127.0.0.1:9/lost', authorizerPushUrl: 'http://127.0.0.1:9/lost/$APPID$' });
    await w.sandbox.revoke(a);
    const expiresAt = (await w.store.getAuthorizer(w.config.componentAppid, a))!.accessExpiresAt!;
    await w.sandbox.advance(expiresAt - 10 * MINUTE - w.sandbox.clock.now());
    expect(await w.platform.refresher.tick()).toMatchObject({ due: 1, failed: 1 });
    expect(lines.filter((l) => l.msg === 'authorizer token refresh failed; backing off')).toEqual([]);
    expect((await w.store.getAuthorizer(w.config.componentAppid, a))?.status).toBe('needs_reauthorization');
  });
});

describe('refresher concurrency', () => {
  it('never has more refreshes in flight than its concurrency', async () => {
    let inflight = 0;
    let most = 0;
    const counting: typeof fetch = async (input, init) => {
      if (!String(input).includes(AAT)) return fetch(input, init);
      inflight++;
      most = Math.max(most, inflight);
      try {
        const res = await fetch(input, init);
        for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
        return res;
      } finally {
        inflight--;
      }
    };
    w = await startWorld({ sandbox: { clock: { now: () => T0 } }, platform: { fetch: counting, refresher: { concurrency: 2, maxPerSecond: 1000 } } });
    await w.sandbox.pushTicket();
    await w.settle();
    const appids = w.sandbox.accounts.filter((x) => x.testGroup === undefined).slice(0, 5).map((x) => x.appid);
    for (const a of appids) await w.sandbox.authorize(a);
    await w.settle();
    const expiresAt = Math.max(...(await Promise.all(appids.map(async (a) => (await w.store.getAuthorizer(w.config.componentAppid, a))!.accessExpiresAt!))));
    await w.sandbox.advance(expiresAt - 10 * MINUTE - w.sandbox.clock.now());
    most = 0;
    expect(await w.platform.refresher.tick()).toMatchObject({ due: 5, refreshed: 5 });
    expect(most).toBe(2);
  });
});
