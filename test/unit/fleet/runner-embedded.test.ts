import { describe, expect, it } from 'vitest';
import { EmbeddedQueue } from '../../../src/fleet/runner-embedded.js';
import type { WorkItem } from '../../../src/fleet/work-queue.js';

const item = (version: number, rank = 1): WorkItem => ({ jobId: 'fj_1', appid: 'wx1', version, rank });

describe('EmbeddedQueue', () => {
  it('queues the next version of a merchant while its previous step is still finishing', async () => {
    const q = new EmbeddedQueue();
    const ran: number[] = [];
    let next: (() => void) | undefined;
    const second = new Promise<void>((r) => (next = r));
    await q.start(async (it) => {
      ran.push(it.version);
      // The runner queues the follow-up step from inside the step that produced it (commit → submit).
      if (it.version === 0) await q.add(item(2, 2), 4);
      else next?.();
    });
    await q.add(item(0), 4);
    await second;
    expect(ran).toEqual([0, 2]);
    await q.close();
  });

  it('drops a duplicate or older version of a merchant already queued', async () => {
    const q = new EmbeddedQueue();
    const ran: number[] = [];
    let release: (() => void) | undefined;
    const gate = new Promise<void>((r) => (release = r));
    await q.start(async (it) => {
      ran.push(it.version);
      await gate;
    });
    await q.add(item(3), 1);
    expect(q.has(item(3))).toBe(true);
    expect(q.has(item(2))).toBe(true);
    expect(q.has(item(4))).toBe(false);
    await q.add(item(3), 1);
    await q.add(item(1), 1);
    release?.();
    await q.close();
    expect(ran).toEqual([3]);
    expect(await q.pending()).toBe(0);
  });
});
