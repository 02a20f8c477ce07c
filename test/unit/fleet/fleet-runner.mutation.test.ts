import { describe, expect, it, vi } from 'vitest';
import type { FleetTarget } from '../../../src/fleet/model.js';
import type { FleetTargetRecord } from '../../../src/store/types.js';
import { fleetTargetRecord } from './fixtures.js';
import { answered, auditEvent, C, countScans, deploy, fleetWorlds, settle, T0, until, type FleetWorld } from './fleet-world.js';

const world = fleetWorlds();

/** A scan page size (the fleet's SCAN_PAGE). */
const PAGE = 1_000;

/**
 * Fills every page of due merchants up to the full PAGE with rows of a job this fleet is not running (as when
 * more than 100 jobs run), so each scan believes more merchants are due than it fetched.
 */
function fullPages(w: FleetWorld): void {
  const due = w.store.dueFleetTargets.bind(w.store);
  const elsewhere = (i: number, now: number): FleetTargetRecord => fleetTargetRecord(C, 'fj_elsewhere', `wxo${i}`, now);
  w.store.dueFleetTargets = async (c, now, limit) => {
    const rows = await due(c, now, limit);
    return [...rows, ...Array.from({ length: limit - rows.length }, (_, i) => elsewhere(i, now))];
  };
}

/** Holds the first scan in its read of due merchants until `release()`. */
function holdFirstPage(w: FleetWorld): { entered: Promise<void>; release: () => void } {
  const due = w.store.dueFleetTargets.bind(w.store);
  let enter!: () => void;
  const entered = new Promise<void>((r) => (enter = r));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  w.store.dueFleetTargets = async (...args) => {
    enter();
    await gate;
    return due(...args);
  };
  return { entered, release };
}

describe('Fleet: the runner (mutation)', () => {
  it('each step it runs is a target event from the state the merchant left', async () => {
    const w = await world({}, ['wxa1']);
    const job = await w.fleet.createJob(deploy({ options: { submitAudit: false } }));
    await w.fleet.start();
    expect(await w.fleet.idle(job.jobId, 5)).toMatchObject({ status: 'done' });
    const moves = w.events.filter((e) => e.name === 'target').map((e) => [(e.args[0] as FleetTarget).appid, (e.args[0] as FleetTarget).state, e.args[1]]);
    expect(moves).toEqual([['wxa1', 'committed', 'pending']]);
  });

  it('start() again arms no second scan loop', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const w = await world({ scanMs: 50 });
    await w.fleet.start();
    await w.fleet.start();
    expect(w.fleet.runnerKind).toBe('embedded');
    expect(vi.getTimerCount()).toBe(1);
    await w.fleet.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a gray release goes before submissions, like a full release', async () => {
    const w = await world({}, ['wxa0', 'wxa1', 'wxa2', 'wxa3']);
    const job = await w.fleet.createJob(deploy({ options: { concurrency: 1, grayPercentage: 20 } }));
    // Due in this order: wxa0 (starts at once, alone), wxa2 (to submit), wxa1 (to commit), wxa3 (approved, to gray-release).
    await w.setTarget(job.jobId, 'wxa0', { nextAt: T0 - 10 });
    await w.setTarget(job.jobId, 'wxa2', { state: 'committed', nextAt: T0 - 5 });
    await w.setTarget(job.jobId, 'wxa3', { state: 'approved', auditid: 5 });
    await w.fleet.start();
    await until(() => w.wechat.count('commit') === 2, 'both commits');
    expect(w.wechat.calls.filter((c) => !c.endsWith(':queryQuota')).slice(0, 5)).toEqual([
      'wxa0:commit',
      'wxa3:grayRelease',
      'wxa2:submitAudit',
      'wxa0:submitAudit',
      'wxa1:commit',
    ]);
  });

  it('after a step, the merchant’s next step is queued only when it is due now', async () => {
    const w = await world({ scanMs: 600_000 }, ['wxa1', 'wxa2']);
    const job = await w.fleet.createJob(deploy({ options: { concurrency: 1 } }));
    await w.setTarget(job.jobId, 'wxa1', { nextAt: T0 - 10 });
    const reads: string[] = [];
    const get = w.store.getFleetTarget.bind(w.store);
    w.store.getFleetTarget = async (c, jobId, appid) => {
      reads.push(appid);
      return get(c, jobId, appid);
    };
    let readsBeforeSecondCommit: string[] = [];
    w.wechat.then('commit', () => ((readsBeforeSecondCommit = [...reads]), { errcode: 0 }), 'wxa2');
    await w.fleet.start();
    await until(() => w.wechat.count('commit') === 2, 'the second commit');
    // wxa1: committed, then submitted at once (due now); its audit is looked at only in 10 min, so no third step
    // of wxa1 went ahead of wxa2's commit.
    expect(readsBeforeSecondCommit).toEqual(['wxa1', 'wxa1', 'wxa2']);
    expect(w.wechat.calls.filter((c) => !c.endsWith(':queryQuota')).slice(0, 3)).toEqual(['wxa1:commit', 'wxa1:submitAudit', 'wxa2:commit']);
  });

  it('a step that ends while its job is paused queues nothing: a resume elsewhere is picked up by the next scan', async () => {
    const w = await world({ scanMs: 600_000 }, ['wxa1']);
    const job = await w.fleet.createJob(deploy({ options: { release: false } }));
    // The operator pauses the job while wxa1's commit is at WeChat.
    w.wechat.then('commit', async () => {
      await w.fleet.pause(job.jobId);
      return { errcode: 0 };
    });
    // As the step reads the job after its commit (paused), another instance resumes it, and a second passes.
    const get = w.store.getFleetJob.bind(w.store);
    w.store.getFleetJob = async (c, jobId) => {
      const r = await get(c, jobId);
      if (r?.status === 'paused') {
        await w.store.updateFleetJob(C, jobId, { status: 'running', pause: null, updatedAt: w.clock.now() }, ['paused']);
        w.clock.advance(1_000);
      }
      return r;
    };
    await w.fleet.start();
    await until(() => w.events.some((e) => e.name === 'target' && (e.args[0] as FleetTarget).state === 'committed'), 'the commit');
    await settle();
    expect(w.wechat.count('submitAudit')).toBe(0);
    expect((await w.row(job.jobId, 'wxa1')).state).toBe('committed');
    w.fleet.kick();
    await until(() => w.wechat.count('submitAudit') === 1, 'the submission found by the scan');
    expect((await w.row(job.jobId, 'wxa1')).state).toBe('audit_submitted');
  });

  it('with more merchants due than one page, the next page is fetched once fewer than 2 × concurrency steps are left here', async () => {
    const w = await world({ scanMs: 600_000 }, ['wxa1', 'wxa2', 'wxa3']);
    fullPages(w);
    const seen = countScans(w);
    const job = await w.fleet.createJob(deploy({ options: { submitAudit: false, concurrency: 1 } }));
    const scansAtCommit: number[] = [];
    for (let i = 0; i < 3; i++) w.wechat.then('commit', () => (scansAtCommit.push(seen.scans), { errcode: 0 }));
    await w.fleet.start();
    // All three queued by the first scan, one at a time: each step ends with itself and those after it here
    // (3, 2, then 1); only the last is below 2 × 1, and it scans again, which finds the job done.
    await until(() => scansAtCommit.length === 3, 'three commits');
    expect(scansAtCommit).toEqual([1, 1, 1]);
    await until(async () => (await w.fleet.getJob(job.jobId)).status === 'done', 'the scan after the last step', 2_000);
    await settle();
    expect(seen.scans).toBe(2);
  });

  it('a step that ends before the first scan has read its page starts no second scan', async () => {
    const w = await world({ scanMs: 600_000 }, ['wxa1']);
    const job = await w.fleet.createJob(deploy());
    await w.setTarget(job.jobId, 'wxa1', { state: 'audit_submitted', auditid: 1, nextAt: T0 + 600_000 });
    const held = holdFirstPage(w);
    const seen = countScans(w);
    const done = new Promise<void>((r) => w.fleet.once('done', () => r()));
    await w.fleet.start();
    await held.entered;
    // Approved while the first scan waits for its page: the release runs at once and ends before that page.
    await w.fleet.onAuditEvent(auditEvent('event.weapp_audit_success', 'wxa1', { SuccTime: 1 }));
    await until(async () => (await w.row(job.jobId, 'wxa1')).state === 'released', 'the release');
    await settle();
    held.release();
    await done;
    await settle();
    expect(seen.scans).toBe(1);
  });

  it('a scan leaves a job running while one of its merchants is still auditing', async () => {
    const w = await world({ scanMs: 600_000 }, ['wxa1', 'wxa2']);
    const job = await w.fleet.createJob(deploy());
    await w.setTarget(job.jobId, 'wxa1', { state: 'released', auditid: 1, nextAt: null });
    await w.setTarget(job.jobId, 'wxa2', { state: 'audit_submitted', auditid: 2, nextAt: T0 + 600_000 });
    const wasCounted = answered(w, 'countFleetTargets');
    await w.fleet.start();
    await wasCounted;
    await settle();
    expect(await w.fleet.getJob(job.jobId)).toMatchObject({ status: 'running', finishedAt: null });
    expect(w.events.filter((e) => e.name === 'done')).toEqual([]);
  });

  it('a step that finds no audit quota after an operator paused the job keeps that pause and hands its merchant back as it was', async () => {
    const w = await world({}, ['wxa1']);
    const job = await w.fleet.createJob(deploy({ options: { release: false } }));
    const before = await w.setTarget(job.jobId, 'wxa1', { state: 'committed' });
    w.wechat.then('queryQuota', async () => {
      await w.fleet.pause(job.jobId);
      return { rest: 0, limit: 20, speedup_rest: 0, speedup_limit: 0 };
    });
    await w.fleet.start();
    // Claimed (one version), then handed back (another).
    await until(async () => (await w.row(job.jobId, 'wxa1')).version === before.version + 2, 'the step to end');
    expect(await w.row(job.jobId, 'wxa1')).toMatchObject({ state: 'committed', intent: null, leaseUntil: null, attempts: 0, errcode: null, errmsg: null, nextAt: T0 });
    expect((await w.fleet.getJob(job.jobId)).pause).toMatchObject({ code: 'manual' });
    expect(w.events.filter((e) => e.name === 'paused').map((e) => (e.args[0] as { code: string }).code)).toEqual(['manual']);
    expect(w.logged('fleet step could not run; retried after its lease')).toEqual([]);
  });
});
