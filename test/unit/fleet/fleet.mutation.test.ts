import { describe, expect, it, vi } from 'vitest';
import { auditEvent, countScans, deploy, fleetWorlds, settle, T0, until } from './fleet-world.js';

const world = fleetWorlds();
const delayed = (appid: string) => auditEvent('event.weapp_audit_delay', appid, { Reason: 'more checks' });

describe('Fleet: the scan loop (mutation)', () => {
  it('a kick while a scan runs is not lost: another scan follows at once, not at the next interval', async () => {
    const w = await world({ scanMs: 600_000 });
    const due = w.store.dueFleetTargets.bind(w.store);
    let reads = 0;
    let entered!: () => void;
    const inFirstScan = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    w.store.dueFleetTargets = async (...args) => {
      reads++;
      const rows = await due(...args);
      if (reads === 1) {
        entered();
        await gate;
      }
      return rows;
    };
    await w.fleet.start();
    await inFirstScan;
    // The first scan has read an empty page; this job's kick lands while it is still running.
    const job = await w.fleet.createJob(deploy({ options: { submitAudit: false } }));
    release();
    await until(async () => (await w.fleet.listTargets(job.jobId, { state: 'committed' })).length === 3, 'the three commits of the scan after', 2_000);
    expect(reads).toBe(2);
  });

  it('a kick as a scan ends is never lost, whatever microtask it lands in', async () => {
    // The scan's last look at its rescan flag and its no longer counting as running must be one step: a kick
    // in between set the flag after the look and started nothing, so the work waited for the next interval.
    const later = (hops: number, f: () => void): void => (hops === 0 ? f() : queueMicrotask(() => later(hops - 1, f)));
    const scansAfterKick: number[] = [];
    for (let hops = 0; hops < 30; hops++) {
      const w = await world({ scanMs: 600_000 }, ['wxa1']);
      const job = await w.fleet.createJob(deploy());
      await w.setTarget(job.jobId, 'wxa1', { state: 'audit_submitted', auditid: 1, nextAt: T0 + 600_000 });
      const seen = countScans(w);
      // The first scan's last read (the job's counts, nothing being due): the kick comes `hops` microtasks after it.
      const count = w.store.countFleetTargets.bind(w.store);
      let kicked: (() => void) | undefined;
      const kick = new Promise<void>((r) => (kicked = r));
      w.store.countFleetTargets = async (...args) => {
        const counts = await count(...args);
        const once = kicked;
        kicked = undefined;
        if (once) {
          later(hops, () => {
            w.fleet.kick();
            once();
          });
        }
        return counts;
      };
      await w.fleet.start();
      await kick;
      await settle();
      scansAfterKick.push(seen.scans);
    }
    expect(scansAfterKick).toEqual(Array.from({ length: 30 }, () => 2));
  });

  it('a step that finishes starts no scan when the last page was not full', async () => {
    const w = await world({ scanMs: 600_000 });
    const seen = countScans(w);
    await w.fleet.createJob(deploy({ options: { submitAudit: false, concurrency: 2 } }));
    // The third merchant starts only once one of the first two has finished, including what follows its step.
    const scansAtCommit: number[] = [];
    for (let i = 0; i < 3; i++) w.wechat.then('commit', () => (scansAtCommit.push(seen.scans), { errcode: 0 }));
    await w.fleet.start();
    await until(() => scansAtCommit.length === 3, 'three commits');
    expect(scansAtCommit).toEqual([1, 1, 1]);
  });

  it('scans every 2 s by default, re-arms after each scan, and stop() leaves no timer, even mid-scan', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const w = await world({ scanMs: undefined });
    const due = w.store.dueFleetTargets.bind(w.store);
    let reads = 0;
    let gate: Promise<void> | undefined;
    w.store.dueFleetTargets = async (...args) => {
      reads++;
      await gate;
      return due(...args);
    };
    await w.fleet.start();
    await vi.waitFor(() => expect(reads).toBe(1));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_999);
    expect(reads).toBe(1);
    vi.advanceTimersByTime(1);
    await vi.waitFor(() => expect(reads).toBe(2));
    // The scan the timer started arms the next one when it ends.
    await vi.waitFor(() => expect(vi.getTimerCount()).toBe(1));

    // Stopped while the timer's scan is still reading: nothing is armed after it.
    let release!: () => void;
    gate = new Promise<void>((r) => (release = r));
    vi.advanceTimersByTime(2_000);
    await vi.waitFor(() => expect(reads).toBe(3));
    expect(vi.getTimerCount()).toBe(0);
    const stopped = w.fleet.stop();
    release();
    await stopped;
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stop() clears the armed timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const w = await world({ scanMs: 50 });
    const seen = countScans(w);
    await w.fleet.start();
    await vi.waitFor(() => expect(seen.scans).toBe(1));
    expect(vi.getTimerCount()).toBe(1);
    await w.fleet.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('Fleet: what it reads (mutation)', () => {
  it('keeps a job it read for 1 s of its clock, then reads it again', async () => {
    const w = await world({}, ['wxa1', 'wxa2', 'wxa3']);
    const job = await w.fleet.createJob(deploy());
    for (const appid of ['wxa1', 'wxa2', 'wxa3']) await w.setTarget(job.jobId, appid, { state: 'audit_submitted', auditid: 1, nextAt: T0 + 600_000 });
    const get = w.store.getFleetJob.bind(w.store);
    let reads = 0;
    w.store.getFleetJob = (c, id) => {
      reads++;
      return get(c, id);
    };
    await w.fleet.onAuditEvent(delayed('wxa1'));
    expect(reads).toBe(1);
    w.clock.advance(999);
    await w.fleet.onAuditEvent(delayed('wxa2'));
    expect(reads).toBe(1);
    w.clock.advance(1);
    await w.fleet.onAuditEvent(delayed('wxa3'));
    expect(reads).toBe(2);
    expect((await w.fleet.listTargets(job.jobId, { state: 'delayed' })).map((t) => t.appid)).toEqual(['wxa1', 'wxa2', 'wxa3']);
  });

  it('progress lists the first 100 failed or rejected merchants, skipping the others', async () => {
    const appids = Array.from({ length: 102 }, (_, i) => `wx${String(i).padStart(3, '0')}`);
    const w = await world({}, appids);
    const job = await w.fleet.createJob(deploy());
    // wx000 stays pending; wx001…wx101 fail (101 of them), wx050 is rejected instead.
    for (const appid of appids.slice(1)) {
      await w.setTarget(job.jobId, appid, appid === 'wx050' ? { state: 'rejected', reason: 'icon' } : { state: 'failed', errcode: 85013, errmsg: 'bad', errorStep: 'commit' });
    }
    const p = await w.fleet.progress(job.jobId);
    expect(p.counts).toMatchObject({ pending: 1, failed: 100, rejected: 1 });
    expect(p.failures.map((f) => f.appid)).toEqual(appids.slice(1, 101));
  });

  it('a job all of whose merchants are settled is finished by the scan, while another job has merchants due', async () => {
    const w = await world({ scanMs: 600_000 }, ['wxa1', 'wxa2']);
    const settled = await w.fleet.createJob(deploy({ targets: { appids: ['wxa1'] } }));
    await w.setTarget(settled.jobId, 'wxa1', { state: 'released', auditid: 1, nextAt: null });
    const busy = await w.fleet.createJob(deploy({ targets: { appids: ['wxa2'] }, options: { submitAudit: false } }));
    const count = w.store.countFleetTargets.bind(w.store);
    const counted: string[] = [];
    w.store.countFleetTargets = (c, jobId) => {
      counted.push(jobId);
      return count(c, jobId);
    };
    let release!: (v: unknown) => void;
    w.wechat.then('commit', () => new Promise((r) => (release = r)));
    await w.fleet.start();
    await until(async () => (await w.fleet.getJob(settled.jobId)).status === 'done', 'the settled job done by the first scan', 2_000);
    // Only the job with nothing due was counted; the busy one has work queued.
    expect(counted).toEqual([settled.jobId]);
    expect(w.events.filter((e) => e.name === 'done').map((e) => e.args[0])).toEqual([{ jobId: settled.jobId }]);
    await until(() => w.wechat.count('commit') === 1, 'the busy job’s commit');
    release({ errcode: 0 });
    expect((await w.fleet.getJob(busy.jobId)).status).toBe('running');
  });

  it('rates are spent per job: two jobs with the same rate each get their own bucket', async () => {
    const w = await world({}, ['wxa1', 'wxa2']);
    const options = { submitAudit: false, rates: 'wxa/commit=1/h' };
    const a = await w.fleet.createJob(deploy({ targets: { appids: ['wxa1'] }, options }));
    const b = await w.fleet.createJob(deploy({ targets: { appids: ['wxa2'] }, options }));
    await w.fleet.start();
    for (const job of [a, b]) expect(await w.fleet.idle(job.jobId, 5)).toMatchObject({ status: 'done' });
    expect(w.wechat.calls.sort()).toEqual(['wxa1:commit', 'wxa2:commit']);
    expect(await w.metric('fleetSteps', { step: 'commit', outcome: 'retry' })).toBe(0);
  });
});
