/**
 * A ticket WeChat rejects (61006) with no newer one stored: the operator is told, WeChat is asked to push one,
 * a failure of that request is logged too, and the refresh is counted under its errcode. A token cache sees
 * each token with the time it has left. Against the sandbox, frozen clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TokenCache } from '../../src/lock/token-cache.js';
import { captureLogger } from '../helpers/logs.js';
import { startWorld, type World } from '../helpers/world.js';

const T0 = Date.UTC(2026, 0, 15, 2, 0, 0);
const START_PUSH = '/cgi-bin/component/api_start_push_ticket';

let w: World;
afterEach(async () => {
  await w?.close();
});

describe('a rejected ticket', () => {
  it('is logged with its errcode, asks WeChat for a push (whose failure is logged too), and is counted', async () => {
    const { logger, lines } = captureLogger('info');
    w = await startWorld({ sandbox: { clock: { now: () => T0 } }, logger });
    await w.store.recordTicket({ componentAppid: w.config.componentAppid, ticket: 'ticket@@@not-issued-by-wechat', createTime: Math.floor(T0 / 1000) + 3600, receivedAt: T0 });
    w.sandbox.faults.set(START_PUSH, { type: 'http_error', status: 502 });
    const pushes = w.sandbox.counters.get(START_PUSH);
    await expect(w.platform.componentToken()).rejects.toMatchObject({ errcode: 61006 });
    expect(w.sandbox.counters.get(START_PUSH)).toBeGreaterThan(pushes);
    const said = (msg: string) => lines.filter((l) => l.msg === msg);
    expect(said('component_verify_ticket rejected and no newer one stored; asking WeChat to push one').map((l) => [l.level, l.errcode])).toEqual([[50, 61006]]);
    // WeChat answering 502 is anticipated: one line with the host, no stack.
    expect(said('api_start_push_ticket failed').map((l) => [l.level, l.code, l.error, l.host, l.err])).toEqual([
      [50, 'WXO_ERR_UPSTREAM', `${START_PUSH}: HTTP 502 from ${w.sandbox.url}`, w.sandbox.url, undefined],
    ]);
    const m = await w.platform.ctx.metrics.tokenRefreshes.get();
    expect(m.values.filter((v) => v.labels.kind === 'component').map((v) => [v.labels.outcome, v.value])).toEqual([['61006', 1]]);
  });
});

describe('token cache', () => {
  it('is given each component token with the time it has left, and serves it to the next reader', async () => {
    const sets: { key: string; ttlMs: number }[] = [];
    const map = new Map<string, string>();
    const cache: TokenCache = {
      get: async (k) => map.get(k),
      set: async (k, v, ttlMs) => {
        sets.push({ key: k, ttlMs });
        map.set(k, v);
      },
      delete: async (k) => void map.delete(k),
      close: async () => undefined,
    };
    w = await startWorld({ sandbox: { clock: { now: () => T0 } }, platform: { cache } });
    await w.sandbox.pushTicket();
    await w.settle();
    await w.platform.componentToken();
    expect(sets).toHaveLength(1);
    expect(sets[0]!.key).toMatch(new RegExp(`^cat:${w.config.componentAppid}:`));
    // The sandbox issues 7200 s tokens on a frozen clock: exactly that long is left.
    expect(sets[0]!.ttlMs).toBe(7_200_000);
  });
});
