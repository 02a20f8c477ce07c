import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MessageRetention, type RetentionOptions } from '../../../src/messages/retention.js';
import type { Store } from '../../../src/store/types.js';
import { captureLogger } from '../../helpers/logs.js';
import { ManualClock } from '../../helpers/platform.js';

const DAY = 86_400_000;
const NOW = 1_700_000_000_000;

/**
 * A retention over a store that only answers pruneMessages: each call is recorded when it is made, and answered
 * by `answer` (a count, an error to throw, or a promise the test settles).
 */
function world(o: Partial<RetentionOptions> = {}, answer: (call: number) => number | Error | Promise<number> = () => 0) {
  const calls: [string, number, number][] = [];
  const store = {
    pruneMessages: async (componentAppid: string, before: number, limit: number) => {
      calls.push([componentAppid, before, limit]);
      const a = answer(calls.length);
      if (a instanceof Error) throw a;
      return a;
    },
  } as unknown as Store;
  const { logger, lines } = captureLogger('debug');
  const retention = new MessageRetention({ store, componentAppid: 'wxcomponent', retentionDays: 7, clock: new ManualClock(NOW), logger, ...o });
  return { retention, calls, lines };
}

/** One turn of the event loop (setImmediate is not faked), so pending promise chains have run. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('MessageRetention', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('start() prunes every 10 minutes by default, once however often it is called; stop() ends it', async () => {
    const w = world();
    w.retention.start();
    vi.advanceTimersByTime(599_999);
    expect(w.calls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(w.calls).toEqual([['wxcomponent', NOW - 7 * DAY, 500]]);
    await turn();
    w.retention.start();
    vi.advanceTimersByTime(600_000);
    expect(w.calls).toHaveLength(2);
    await w.retention.stop();
    vi.advanceTimersByTime(10 * 600_000);
    expect(w.calls).toHaveLength(2);
    // Started again after stop(), it runs again.
    w.retention.start();
    vi.advanceTimersByTime(600_000);
    expect(w.calls).toHaveLength(3);
    await w.retention.stop();
  });

  it('start() runs at intervalMs when given', async () => {
    const w = world({ intervalMs: 1000 });
    w.retention.start();
    vi.advanceTimersByTime(999);
    expect(w.calls).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(w.calls).toHaveLength(1);
    await w.retention.stop();
  });

  it('start() sets no timer when messages are kept forever', async () => {
    const w = world({ retentionDays: 0 });
    w.retention.start();
    expect(vi.getTimerCount()).toBe(0);
    await w.retention.stop();
  });

  it('stop() waits for the pass under way', async () => {
    let finish!: (n: number) => void;
    const w = world({}, () => new Promise<number>((resolve) => (finish = resolve)));
    w.retention.start();
    vi.advanceTimersByTime(600_000);
    expect(w.calls).toHaveLength(1);
    let stopped = false;
    const stopping = w.retention.stop().then(() => (stopped = true));
    await turn();
    expect(stopped).toBe(false);
    finish(3);
    await stopping;
    expect(w.lines.find((l) => l.msg === 'message retention: pruned old messages')).toMatchObject({ level: 30, deleted: 3, retentionDays: 7 });
  });

  it('a failed batch is logged with what was deleted before it; the pass ends and reports that count', async () => {
    const w = world({ batchSize: 10 }, (call) => (call === 1 ? 10 : new Error('database is locked')));
    expect(await w.retention.runOnce()).toBe(10);
    expect(w.calls).toHaveLength(2);
    expect(w.lines.find((l) => l.msg === 'message retention: pruning failed; retrying at the next run')).toMatchObject({
      level: 40,
      deleted: 10,
      err: { message: 'database is locked' },
    });
    expect(w.lines.find((l) => l.msg === 'message retention: pruned old messages')).toMatchObject({ deleted: 10, retentionDays: 7 });
  });

  it('batches until one is not full, at most maxBatches (200 by default) per pass; nothing deleted, nothing logged', async () => {
    const short = world({ batchSize: 5 }, (call) => (call === 1 ? 5 : 4));
    expect(await short.retention.runOnce()).toBe(9);
    expect(short.calls.map((c) => c[2])).toEqual([5, 5]);

    const capped = world({ batchSize: 5, maxBatches: 3 }, () => 5);
    expect(await capped.retention.runOnce()).toBe(15);
    expect(capped.calls).toHaveLength(3);

    const dflt = world({}, () => 500);
    expect(await dflt.retention.runOnce()).toBe(200 * 500);
    expect(dflt.calls).toHaveLength(200);

    const none = world();
    expect(await none.retention.runOnce()).toBe(0);
    expect(none.lines).toEqual([]);
  });
});
