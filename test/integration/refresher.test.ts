/**
 * The background refresher's three promises, each checked on what the sandbox saw: failures back off
 * per authorizer (doubling), refresh points are spread by jitter, and a tick never exceeds its budget
 * (the soonest-expiring first). The sandbox's base clock is frozen, so only `advance()` moves time and
 * every schedule here is exact.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RefresherOptions } from '../../src/credentials/refresher.js';
import { startWorld, type World } from '../helpers/world.js';

const AAT = '/cgi-bin/component/api_authorizer_token';
const MINUTE = 60_000;
const HOUR = 3600_000;
const T0 = Date.UTC(2026, 0, 15, 2, 0, 0);

let w: World;
afterEach(async () => {
  await w?.close();
});

async function world(refresher: Partial<RefresherOptions>): Promise<World> {
  const world = await startWorld({ sandbox: { clock: { now: () => T0 } }, platform: { refresher } });
  await world.sandbox.pushTicket();
  await world.settle();
  return world;
}

const regular = (world: World, n: number) => world.sandbox.accounts.slice(0, n).map((a) => a.appid);

async function expiry(world: World, appid: string): Promise<number> {
  return (await world.store.getAuthorizer(world.config.componentAppid, appid))!.accessExpiresAt!;
}

describe('background refresher', () => {
  it('backs off a failing authorizer (5, 10, 20 min), then refreshes it when WeChat recovers', async () => {
    w = await world({ spreadMs: 15 * MINUTE, maxPerSecond: 20, backoffMs: 5 * MINUTE, maxBackoffMs: 60 * MINUTE });
    const [busy] = regular(w, 1);
    await w.sandbox.authorize(busy!);
    await w.settle();
    const expiresAt = await expiry(w, busy!);
    // 10 minutes before expiry every token is due, whatever its jitter.
    await w.sandbox.advance(expiresAt - 10 * MINUTE - w.sandbox.clock.now());
    w.sandbox.faults.set(AAT, { type: 'system_busy', appid: busy });
    const failedAt: number[] = [];
    for (let minute = 0; minute < 30; minute++) {
      if (minute > 0) await w.sandbox.advance(MINUTE);
      const r = await w.platform.refresher.tick();
      if (r.failed) failedAt.push(minute);
    }
    expect(failedAt).toEqual([0, 5, 15]);
    // What WeChat saw: three attempts (each with the transport's own -1 retries), not thirty.
    const perAttempt = w.sandbox.counters.get(AAT, busy) / 3;
    expect(Number.isInteger(perAttempt) && perAttempt >= 1).toBe(true);
    w.sandbox.faults.clear();
    let refreshedAt = -1;
    for (let minute = 30; minute <= 40 && refreshedAt < 0; minute++) {
      await w.sandbox.advance(MINUTE);
      if ((await w.platform.refresher.tick()).refreshed) refreshedAt = minute;
    }
    expect(refreshedAt).toBe(35);
    expect(await expiry(w, busy!)).toBeGreaterThan(w.sandbox.clock.now() + HOUR);
    expect((await w.store.getAuthorizer(w.config.componentAppid, busy!))?.status).toBe('authorized');
  });

  it('spreads the refreshes of authorizers authorized at the same instant over the jitter window', async () => {
    w = await world({ spreadMs: 15 * MINUTE, maxPerSecond: 20 });
    const appids = regular(w, 8);
    for (const a of appids) await w.sandbox.authorize(a);
    await w.settle();
    const expiresAt = await expiry(w, appids[0]!);
    for (const a of appids) expect(await expiry(w, a)).toBe(expiresAt);
    const firstRefresh = new Map<string, number>();
    for (let t = w.sandbox.clock.now(); t < expiresAt; t += MINUTE) {
      await w.sandbox.advance(MINUTE);
      await w.platform.refresher.tick();
      for (const a of appids) if (!firstRefresh.has(a) && w.sandbox.counters.get(AAT, a) > 0) firstRefresh.set(a, w.sandbox.clock.now());
    }
    expect(firstRefresh.size).toBe(appids.length);
    for (const at of firstRefresh.values()) {
      // Within [expiry − 25 min, expiry − 10 min]: refresh-ahead plus up to the spread.
      expect(at).toBeGreaterThanOrEqual(expiresAt - 25 * MINUTE);
      expect(at).toBeLessThanOrEqual(expiresAt - 10 * MINUTE);
    }
    // Without jitter all eight would go in one minute.
    expect(new Set(firstRefresh.values()).size).toBeGreaterThanOrEqual(4);
  });

  it('refreshes at most its budget per tick, the soonest-expiring first, and defers the rest', async () => {
    // maxPerSecond 0.05 × 60 s interval = 3 refreshes per tick.
    w = await world({ spreadMs: 0, maxPerSecond: 0.05, intervalMs: MINUTE });
    const appids = regular(w, 8);
    for (const a of appids) {
      await w.sandbox.authorize(a);
      await w.settle();
      await w.sandbox.advance(MINUTE);
    }
    const lastExpiry = await expiry(w, appids.at(-1)!);
    // Every token is inside its refresh-ahead window now.
    await w.sandbox.advance(lastExpiry - 10 * MINUTE + 1 - w.sandbox.clock.now());
    const calls = () => appids.map((a) => w.sandbox.counters.get(AAT, a));
    const r1 = await w.platform.refresher.tick();
    expect(r1).toMatchObject({ due: 8, refreshed: 3, deferred: 5 });
    expect(calls()).toEqual([1, 1, 1, 0, 0, 0, 0, 0]);
    await w.sandbox.advance(MINUTE);
    expect(await w.platform.refresher.tick()).toMatchObject({ due: 5, refreshed: 3, deferred: 2 });
    expect(calls()).toEqual([1, 1, 1, 1, 1, 1, 0, 0]);
    await w.sandbox.advance(MINUTE);
    expect(await w.platform.refresher.tick()).toMatchObject({ due: 2, refreshed: 2, deferred: 0 });
    for (const a of appids) expect(await expiry(w, a)).toBeGreaterThan(w.sandbox.clock.now() + HOUR);
  });

  it('paces refresh starts to maxPerSecond as WeChat sees them (sandbox clock, no real-time sleeps)', async () => {
    // The pacing wait moves the sandbox clock, one sleeper at a time, each only once the previous
    // refresh has reached WeChat: the times the sandbox records are then exactly the schedule.
    const sleepers: { at: number; wake: () => void }[] = [];
    w = await world({ spreadMs: 0, maxPerSecond: 20, concurrency: 8, sleepUntil: (at) => new Promise<void>((wake) => sleepers.push({ at, wake })) });
    const appids = regular(w, 6);
    for (const a of appids) await w.sandbox.authorize(a);
    await w.settle();
    await w.sandbox.advance(2 * HOUR);
    await w.sandbox.pushTicket();
    await w.settle();
    const start = w.sandbox.counters.times(AAT).length;
    let done = false;
    const tick = w.platform.refresher.tick().finally(() => (done = true));
    const seen = () => w.sandbox.counters.times(AAT).length - start;
    const waitFor = async (n: number) => {
      for (let i = 0; i < 2000 && seen() < n && !done; i++) await new Promise((r) => setTimeout(r, 1));
    };
    await waitFor(1);
    while (!done && sleepers.length > 0) {
      sleepers.sort((a, b) => a.at - b.at);
      const next = sleepers.shift()!;
      const target = seen() + 1;
      if (next.at > w.sandbox.clock.now()) await w.sandbox.advance(next.at - w.sandbox.clock.now());
      next.wake();
      await waitFor(target);
    }
    const r = await tick;
    expect(r.refreshed).toBe(6);
    const times = w.sandbox.counters.times(AAT).slice(start);
    expect(times).toHaveLength(6);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // 20 per second: one every 50 ms of WeChat's time, exactly.
    expect(gaps).toEqual([50, 50, 50, 50, 50]);
  });
});
