import { describe, expect, it } from 'vitest';
import { Deadlines } from '../../../src/util/deadlines.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Deadlines (one timer for many short deadlines)', () => {
  it('fires each deadline once, never early and at most about one resolution late; a cancelled one never fires', async () => {
    const d = new Deadlines(10);
    const fired: Array<{ name: string; late: number }> = [];
    const start = performance.now();
    const add = (name: string, ms: number) => d.add(ms, () => fired.push({ name, late: performance.now() - (start + ms) }));
    add('b', 60);
    add('a', 20);
    const c = add('c', 40);
    expect(d.size).toBe(3);
    d.cancel(c);
    d.cancel(c);
    expect(d.size).toBe(2);
    await sleep(150);
    expect(fired.map((f) => f.name)).toEqual(['a', 'b']);
    for (const f of fired) expect(f.late).toBeGreaterThanOrEqual(0);
    expect(d.size).toBe(0);
  });

  it('stops its timer when nothing is pending and starts it again for the next deadline', async () => {
    const d = new Deadlines(5);
    const timer = () => (d as unknown as { timer: unknown }).timer;
    expect(timer()).toBeUndefined();
    let n = 0;
    d.add(5, () => n++);
    expect(timer()).toBeDefined();
    await sleep(40);
    expect(n).toBe(1);
    expect(timer()).toBeUndefined();
    const x = d.add(5, () => n++);
    expect(timer()).toBeDefined();
    d.cancel(x);
    await sleep(30);
    expect(n).toBe(1);
    expect(timer()).toBeUndefined();
  });
});
