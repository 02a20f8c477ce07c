import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportToCsv } from '../../src/fleet/index.js';
import { startFleetWorld, type FleetWorld } from '../helpers/fleet-world.js';
import { untilValue } from '../helpers/wait.js';

const FAST = { scanMs: 50, retryBackoffMs: 10, leaseMs: 30_000 };
// Long enough that no audit finishes by itself while a slow machine is still submitting.
const AUDIT_MS = 3_600_000;

function template(w: FleetWorld): number {
  const draft = w.sandbox.addDraft({ user_version: '2.0.0' });
  return w.sandbox.state.templates.addToTemplate(draft.draft_id, 0).template_id;
}

describe('fleet: 200 mini programs against the sandbox, with injected failures', () => {
  let w: FleetWorld;
  let badExt: string[];
  let badCategory: string[];
  let rejected: string[];
  let busy: string[];
  let delayed: string[];
  let fine: string[];

  beforeAll(async () => {
    w = await startFleetWorld({ n: 200, sandbox: { auditDelaySeconds: AUDIT_MS / 1000 }, wx: { fleet: FAST } });
    const a = w.appids;
    badExt = a.slice(0, 10);
    badCategory = a.slice(10, 20);
    rejected = a.slice(20, 30);
    busy = a.slice(30, 35);
    delayed = a.slice(35, 40);
    fine = a.slice(40);
    for (const id of badExt) w.sandbox.faults.set('/wxa/commit', { type: 'body', appid: id, body: { errcode: 85013, errmsg: 'invalid ext_json' } });
    for (const id of badCategory) w.sandbox.faults.set('/wxa/submit_audit', { type: 'body', appid: id, body: { errcode: 85077, errmsg: 'invalid category' } });
    for (const id of busy) w.sandbox.faults.set('/wxa/commit', { type: 'system_busy', appid: id });
    for (const [i, id] of rejected.entries()) w.sandbox.setAuditOutcome(id, 'fail', `reason-${i}: 页面内容不完整`);
    for (const id of delayed) w.sandbox.setAuditOutcome(id, 'delay', '审核排队中');
  }, 120_000);
  afterAll(async () => w?.close());

  it('ends every merchant in the right state, with WeChat reasons, committing and submitting each exactly once', async () => {
    const ext = Object.fromEntries(w.appids.map((id, i) => [id, { extAppid: id, ext: { shop: i } }]));
    const job = await w.wx.fleet.createJob({
      templateId: template(w),
      userVersion: '2.0.0',
      userDesc: 'spring',
      targets: { all: true },
      extJson: { byAppid: ext },
      options: { audit: { item_list: [{ address: 'pages/index/index', tag: '点餐', first_id: 220, second_id: 221, first_class: '餐饮服务', second_class: '点餐平台', title: '首页' }], privacy_api_not_use: true } },
    });
    expect(job.total).toBe(200);
    const submittedCount = 200 - badExt.length - busy.length - badCategory.length;
    await untilValue('all audits submitted', () => w.wx.fleet.progress(job.id), (p) => p.counts.audit_submitted === submittedCount && p.counts.failed === 25);

    await w.sandbox.advance(AUDIT_MS);
    await untilValue('first audit results', () => w.wx.fleet.progress(job.id), (p) => p.counts.released === fine.length && p.counts.rejected === rejected.length && p.counts.delayed === delayed.length);
    await w.sandbox.advance(AUDIT_MS);
    const done = await untilValue('job done', () => w.wx.fleet.getJob(job.id), (j) => j.status === 'done');
    expect(done.finishedAt).not.toBeNull();

    const p = await w.wx.fleet.progress(job.id);
    expect(p.counts).toMatchObject({ released: fine.length + delayed.length, rejected: 10, failed: 25, pending: 0, committed: 0, audit_submitted: 0 });
    expect(p.settled).toBe(200);
    const byAppid = new Map((await w.wx.fleet.report(job.id)).map((t) => [t.appid, t]));
    for (const id of badExt) expect(byAppid.get(id)).toMatchObject({ state: 'failed', error: { errcode: 85013, step: 'commit' } });
    for (const id of badCategory) expect(byAppid.get(id)).toMatchObject({ state: 'failed', error: { errcode: 85077, step: 'submit' } });
    for (const id of busy) expect(byAppid.get(id)).toMatchObject({ state: 'failed', error: { errcode: -1, step: 'commit' } });
    for (const [i, id] of rejected.entries()) expect(byAppid.get(id)?.reason).toBe(`reason-${i}: 页面内容不完整`);
    expect(p.failures.find((f) => f.appid === rejected[0])).toMatchObject({ state: 'rejected', reason: 'reason-0: 页面内容不完整' });

    // WeChat's side: each merchant's code, audit and release happened once, with its own ext_json as a string.
    const c = w.sandbox.counters;
    for (const id of [...fine, ...rejected, ...delayed]) {
      expect(c.get('/wxa/commit', id)).toBe(1);
      expect(c.get('/wxa/submit_audit', id)).toBe(1);
    }
    for (const id of [...fine, ...delayed]) expect(c.get('/wxa/release', id)).toBe(1);
    for (const id of badExt) expect(c.get('/wxa/submit_audit', id)).toBe(0);
    const code = w.sandbox.state.code.get(fine[0]!)!;
    expect(JSON.parse(code.online!.version.extJson)).toEqual(ext[fine[0]!]);
    expect(code.online!.version.userVersion).toBe('2.0.0');
    expect(reportToCsv(await w.wx.fleet.report(job.id)).split('\n')[0]).toBe('appid,state,auditid,errcode,errmsg,error_step,reason,updated_at');
  }, 120_000);

  it('retries the failed merchants once the cause is gone', async () => {
    const [job] = await w.wx.fleet.listJobs({ limit: 1 });
    w.sandbox.faults.clear('/wxa/commit');
    const { retried } = await w.wx.fleet.retry(job!.id, { appids: badExt });
    expect(retried.sort()).toEqual([...badExt].sort());
    await untilValue('retried merchants submitted', () => w.wx.fleet.progress(job!.id), (p) => p.counts.audit_submitted === badExt.length);
    await w.sandbox.advance(AUDIT_MS);
    await untilValue('retried merchants released', () => w.wx.fleet.getJob(job!.id), (j) => j.status === 'done');
    for (const id of badExt) {
      expect(w.sandbox.counters.get('/wxa/commit', id)).toBe(2);
      expect(w.sandbox.counters.get('/wxa/submit_audit', id)).toBe(1);
    }
    const rolled = await w.wx.fleet.rollback(job!.id, { appids: badExt.slice(0, 2) });
    expect(rolled.done).toHaveLength(0);
    expect(rolled.failed.map((f) => f.errcode)).toEqual([87012, 87012]);
  }, 60_000);
});
