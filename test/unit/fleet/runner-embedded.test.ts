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

  it('runs nothing before start; close waits for the step in progress and drops the ones waiting', async () => {
    const q = new EmbeddedQueue();
    await q.add(item(1), 1);
    expect(await q.pending()).toBe(0);
    const ran: number[] = [];
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    let done = false;
    await q.start(async (it) => {
      ran.push(it.version);
      if (it.version === 1) await gate;
      done = it.version === 1;
    });
    await q.add(item(1), 1);
    await q.add({ ...item(1), appid: 'wx2' }, 1);
    expect(await q.pending()).toBe(2);
    let closed = false;
    const closing = q.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false);
    finish();
    await closing;
    expect(done).toBe(true);
    expect(ran).toEqual([1]);
  });

  it('runs each job at its own concurrency, side by side with other jobs', async () => {
    const q = new EmbeddedQueue();
    let running = 0;
    let peak = 0;
    const gates: Array<() => void> = [];
    await q.start(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((r) => gates.push(r));
      running--;
    });
    for (const appid of ['a', 'b', 'c']) await q.add({ jobId: 'fj_1', appid, version: 0, rank: 1 }, 2);
    await q.add({ jobId: 'fj_2', appid: 'a', version: 0, rank: 1 }, 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(running).toBe(3);
    while (gates.length) {
      gates.shift()!();
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 20));
    while (gates.length) gates.shift()!();
    await q.close();
    expect(peak).toBe(3);
  });

  it('forgets a merchant once its step is done, so the same version may run again later', async () => {
    const q = new EmbeddedQueue();
    const ran: number[] = [];
    await q.start(async (it) => {
      ran.push(it.version);
    });
    await q.add(item(5), 1);
    await new Promise((r) => setTimeout(r, 10));
    expect(q.has(item(5))).toBe(false);
    expect(await q.pending()).toBe(0);
    await q.add(item(5), 1);
    await new Promise((r) => setTimeout(r, 10));
    expect(ran).toEqual([5, 5]);
    await q.close();
  });

  it('a step finishing after its next version was queued leaves that version marked as queued', async () => {
    const q = new EmbeddedQueue();
    const ran: number[] = [];
    let finishFirst!: () => void;
    const first = new Promise<void>((r) => (finishFirst = r));
    let secondStarted!: () => void;
    const started = new Promise<void>((r) => (secondStarted = r));
    let finishSecond!: () => void;
    const second = new Promise<void>((r) => (finishSecond = r));
    await q.start(async (it) => {
      ran.push(it.version);
      if (it.version === 0) await first;
      else {
        secondStarted();
        await second;
      }
    });
    await q.add(item(0), 1);
    await q.add(item(1, 2), 1);
    finishFirst();
    await started;
    // Version 0 is done; version 1 still runs: the scanner must not add it again.
    expect(q.has(item(1))).toBe(true);
    expect(await q.pending()).toBe(1);
    await q.add(item(1, 2), 1);
    finishSecond();
    await q.close();
    expect(ran).toEqual([0, 1]);
  });
});
