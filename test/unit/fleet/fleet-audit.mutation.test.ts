import { describe, expect, it } from 'vitest';
import { answered, auditEvent, deploy, fleetWorlds, settle, T0, type FleetWorld } from './fleet-world.js';

const world = fleetWorlds();

/** Counts the reads of a merchant's rows: one per try of `onAuditEvent` (each try after the first waits 100 ms). */
function countReads(w: FleetWorld): { reads: number } {
  const seen = { reads: 0 };
  const find = w.store.findFleetTargetsByAppid.bind(w.store);
  w.store.findFleetTargetsByAppid = async (...args) => {
    seen.reads++;
    return find(...args);
  };
  return seen;
}

describe('Fleet: audit results pushed by WeChat (mutation)', () => {
  it('reads the merchant once when none of its rows is a submission still being written', async () => {
    const w = await world({}, ['wxa1']);
    const auditing = await w.fleet.createJob(deploy({ options: { release: false } }));
    await w.setTarget(auditing.jobId, 'wxa1', { state: 'audit_submitted', auditid: 4, nextAt: T0 + 600_000 });
    // Another job has the merchant committed, with no submission in flight.
    const other = await w.fleet.createJob(deploy({ options: { release: false } }));
    await w.setTarget(other.jobId, 'wxa1', { state: 'committed' });
    const seen = countReads(w);
    await w.fleet.onAuditEvent(auditEvent('event.weapp_audit_success', 'wxa1', { SuccTime: 1 }));
    expect(seen.reads).toBe(1);
    expect((await w.row(auditing.jobId, 'wxa1')).state).toBe('approved');
    expect((await w.row(other.jobId, 'wxa1')).state).toBe('committed');
  });

  it('a write lost to a race is tried again even while another job’s submission of the merchant is still being written', async () => {
    const w = await world({}, ['wxa1']);
    const submitting = await w.fleet.createJob(deploy({ options: { release: false } }));
    await w.setTarget(submitting.jobId, 'wxa1', { state: 'committed', intent: 'submit', intentAt: T0, leaseUntil: T0 + 60_000 });
    const auditing = await w.fleet.createJob(deploy({ options: { release: false } }));
    await w.setTarget(auditing.jobId, 'wxa1', { state: 'audit_submitted', auditid: 4 });
    const update = w.store.updateFleetTarget.bind(w.store);
    let raced = false;
    w.store.updateFleetTarget = async (c, jobId, appid, version, patch) => {
      if (!raced && jobId === auditing.jobId && patch.state === 'approved') {
        raced = true;
        // Another writer bumps the row between our read and our write; meanwhile the other submission lands.
        await update(c, jobId, appid, version, { updatedAt: T0 + 1 });
        await w.setTarget(submitting.jobId, 'wxa1', { state: 'audit_submitted', auditid: 5, intent: null, intentAt: null, leaseUntil: null });
      }
      return update(c, jobId, appid, version, patch);
    };
    const seen = countReads(w);
    await w.fleet.onAuditEvent(auditEvent('event.weapp_audit_success', 'wxa1', { SuccTime: 1 }));
    expect(raced).toBe(true);
    // One waiting row plus one lost write: a second read, which moves both.
    expect(seen.reads).toBe(2);
    expect((await w.row(auditing.jobId, 'wxa1')).state).toBe('approved');
    expect((await w.row(submitting.jobId, 'wxa1')).state).toBe('approved');
  });

  it('queues the merchant’s next step only when it is due now: an approval is released at once, a delay or a rejection queues nothing', async () => {
    const w = await world({ scanMs: 600_000 }, ['wxa1', 'wxa2', 'wxa3']);
    const job = await w.fleet.createJob(deploy());
    for (const appid of ['wxa1', 'wxa2', 'wxa3']) await w.setTarget(job.jobId, appid, { state: 'audit_submitted', auditid: 1, nextAt: T0 + 600_000 });
    // Once the first scan has read its page of due merchants (it will not read again before scanMs).
    const scanned = answered(w, 'dueFleetTargets');
    await w.fleet.start();
    // The only scan before the results found nothing due: whatever runs next was queued by the results.
    await scanned;
    const stepReads: string[] = [];
    const get = w.store.getFleetTarget.bind(w.store);
    w.store.getFleetTarget = async (c, jobId, appid) => {
      stepReads.push(appid);
      return get(c, jobId, appid);
    };

    await w.fleet.onAuditEvent(auditEvent('event.weapp_audit_fail', 'wxa3', { Reason: 'icon', FailTime: 1 }));
    await w.fleet.onAuditEvent(auditEvent('event.weapp_audit_delay', 'wxa1', { Reason: 'more checks', DelayTime: 1 }));
    await w.fleet.onAuditEvent(auditEvent('event.weapp_audit_success', 'wxa2', { SuccTime: 1 }));
    await settle();

    // Only the approved merchant was run (its row read by its step), and it was released without a scan.
    expect(stepReads).toEqual(['wxa2']);
    expect(w.wechat.calls).toEqual(['wxa2:release']);
    expect((await w.row(job.jobId, 'wxa2')).state).toBe('released');
    expect(await w.row(job.jobId, 'wxa1')).toMatchObject({ state: 'delayed', nextAt: T0 + 600_000 });
    expect(await w.row(job.jobId, 'wxa3')).toMatchObject({ state: 'rejected', nextAt: null });
  });
});
