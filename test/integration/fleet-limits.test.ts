import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetValidationError } from '../../src/fleet/index.js';
import { startFleetWorld, type FleetWorld } from '../helpers/fleet-world.js';
import { untilValue } from '../helpers/wait.js';

// Long enough that no audit finishes by itself while a slow machine is still submitting.
const AUDIT_MS = 3_600_000;

describe('fleet: quotas, missed pushes, withdraw, validation', () => {
  let w: FleetWorld;
  let templateId: number;

  beforeAll(async () => {
    w = await startFleetWorld({ n: 16, sandbox: { auditQuotaPerMonth: 3, auditDelaySeconds: AUDIT_MS / 1000 }, wx: { fleet: { scanMs: 50, retryBackoffMs: 10 } } });
    const draft = w.sandbox.addDraft({ user_version: '3.1.0' });
    templateId = w.sandbox.state.templates.addToTemplate(draft.draft_id, 0).template_id;
  }, 60_000);
  afterAll(async () => w?.close());

  it('checks everything before sending anything, and lists every problem', async () => {
    const err = await w.wx.fleet
      .createJob({
        templateId,
        userVersion: '',
        targets: { appids: [w.appids[0]!, 'wx0000000000000000'] },
        extJson: { byAppid: { [w.appids[0]!]: '{"extAppid":"wxsomeoneelse"}' } },
        options: { grayPercentage: 0 },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FleetValidationError);
    const fields = (err as FleetValidationError).issues.map((i) => `${i.appid ?? ''}:${i.field}`);
    expect(fields).toEqual(
      expect.arrayContaining([':userVersion', ':options.grayPercentage', 'wx0000000000000000:targets', `${w.appids[0]}:extJson`]),
    );
    expect(await w.wx.fleet.listJobs()).toHaveLength(0);
    expect(w.sandbox.counters.get('/wxa/commit')).toBe(0);
  });

  it('pauses on the audit quota (queryquota) and goes on when resumed', async () => {
    const targets = w.appids.slice(0, 5);
    const job = await w.wx.fleet.createJob({ templateId, userVersion: '3.1.0', targets: { appids: targets }, options: { release: false } });
    // Paused when the fourth merchant finds no quota left, while the first three submissions may still be answered.
    const p = await untilValue('paused with 3 submitted', () => w.wx.fleet.progress(job.id), (q) => q.job.status === 'paused' && q.counts.audit_submitted === 3);
    expect(p.job.pause).toMatchObject({ code: 'audit_quota' });
    expect(p.counts).toMatchObject({ audit_submitted: 3, committed: 2 });
    expect(w.sandbox.counters.get('/wxa/submit_audit')).toBe(3);
    w.sandbox.state.settings.auditQuotaPerMonth = 10;
    await w.wx.fleet.resume(job.id);
    await untilValue('all submitted', () => w.wx.fleet.progress(job.id), (q) => q.counts.audit_submitted === 5);
    await w.sandbox.advance(AUDIT_MS);
    const done = await untilValue('done', () => w.wx.fleet.getJob(job.id), (j) => j.status === 'done');
    expect(done.status).toBe('done');
    expect((await w.wx.fleet.progress(job.id)).counts.approved).toBe(5);
    for (const id of targets) expect(w.sandbox.counters.get('/wxa/submit_audit', id)).toBe(1);
  }, 60_000);

  it('finds audit results by polling get_auditstatus when no push arrives', async () => {
    w.sandbox.state.settings.auditQuotaPerMonth = 100;
    const targets = w.appids.slice(5, 9);
    const platform = w.sandbox.state.platform!;
    w.sandbox.setPlatform({ ...platform, authorizerPushUrl: `${w.wx.url}/nowhere/$APPID$` });
    try {
      const job = await w.wx.fleet.createJob({ templateId, userVersion: '3.1.0', targets: { appids: targets }, options: { pollIntervalMs: 1000 } });
      await untilValue('submitted', () => w.wx.fleet.progress(job.id), (p) => p.counts.audit_submitted === 4);
      await w.sandbox.advance(AUDIT_MS);
      await w.sandbox.advance(2000);
      await untilValue('released by polling', () => w.wx.fleet.getJob(job.id), (j) => j.status === 'done');
      expect((await w.wx.fleet.progress(job.id)).counts.released).toBe(4);
      expect(w.sandbox.counters.get('/wxa/get_auditstatus')).toBeGreaterThanOrEqual(4);
    } finally {
      w.sandbox.setPlatform(platform);
    }
  }, 60_000);

  it('withdraws audits in progress; 87013 fails only that merchant', async () => {
    const targets = w.appids.slice(9, 13);
    const job = await w.wx.fleet.createJob({ templateId, userVersion: '3.1.0', targets: { appids: targets } });
    await untilValue('submitted', () => w.wx.fleet.progress(job.id), (p) => p.counts.audit_submitted === 4);
    w.sandbox.faults.set('/wxa/undocodeaudit', { type: 'body', appid: targets[0]!, body: { errcode: 87013, errmsg: 'no quota to undo code' } });
    const r = await w.wx.fleet.withdraw(job.id);
    expect(r.done.sort()).toEqual(targets.slice(1).sort());
    expect(r.failed).toEqual([{ appid: targets[0], errcode: 87013, errmsg: 'no quota to undo code' }]);
    const p = await w.wx.fleet.progress(job.id);
    expect(p.counts).toMatchObject({ withdrawn: 3, audit_submitted: 1 });
    for (const id of targets.slice(1)) expect(w.sandbox.state.code.get(id)!.audits.at(-1)!.status).toBe(3);
  }, 60_000);
});
